{#
    Custom incremental strategy `tracking_replace_days` (incremental_strategy='tracking_replace_days').

    Deletes every target row whose `rebuild_column` (model config, default day_key) is >= the
    first rebuilt business day (tracking_rebuild_from_day_sql: the business day of
    rebuild_from_date 00:00 UTC) and inserts the freshly computed rows, in the incremental
    materialization's single transaction. Like the course marts' replace_date_range, but on
    business days: a row of a rebuilt day that no longer has data disappears, so an incremental
    run and a --full-refresh agree. The models select exactly the rows of those days.
#}
{% macro get_incremental_tracking_replace_days_sql(arg_dict) %}
    {%- set target_relation = arg_dict["target_relation"] -%}
    {%- set temp_relation = arg_dict["temp_relation"] -%}
    {%- set dest_columns = arg_dict["dest_columns"] -%}
    {%- set rebuild_column = config.get('rebuild_column', 'day_key') -%}
    {%- set columns_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}

    delete from {{ target_relation }}
    where {{ adapter.quote(rebuild_column) }} >= {{ tracking_rebuild_from_day_sql() }};

    insert into {{ target_relation }} ({{ columns_csv }})
    select {{ columns_csv }}
    from {{ temp_relation }}
{% endmacro %}


{#
    The classified tracking events a tracking mart builds from: those matching `condition`, up
    to the as-of instant, and on an incremental run only from the first rebuilt instant on (so
    the rows match the days tracking_replace_days deletes).
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
