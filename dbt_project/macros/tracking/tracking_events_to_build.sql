{#
    The classified tracking events a tracking mart builds from: those matching `condition`, up
    to the as-of instant, and on an incremental run only from the first rebuilt instant on (so
    the rows match the days replace_rebuilt_range deletes).
#}
{% macro tracking_classified_events_to_build(condition) %}
    select * from {{ ref('int_tracking__events_classified') }}
    where
        {{ condition }}
        and occurred_at <= {{ course_as_of_ts() }}
        {% if is_incremental() %}
            and occurred_at >= {{ tracking_rebuild_from_ts() }}
        {% endif %}
{% endmacro %}
