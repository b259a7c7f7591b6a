{{
    config(
        materialized=rebuild_materialization(),
        incremental_strategy='delete+insert',
        unique_key='shifu_bid',
        on_schema_change='fail',
    )
}}

{#
    Every course ever seen in a course_visit with a non-empty string shifu_bid (guests and
    previews included), up to as_of. Incremental: the rebuilt created_at range is read and
    merged with the existing rows (first_* keeps the earliest, last_* the latest), so a course
    never disappears.
#}

with

course_visits as (

    select * from {{ ref('int_course_visits_classified') }}
    where
        shifu_bid <> ''
        and event_at <= {{ course_as_of_ts() }}
        {% if is_incremental() %}
            and event_at >= {{ course_rebuild_from_ts() }}
        {% endif %}

),

seen as (

    select
        shifu_bid,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at,
        min(case when visit_class = 'countable' then event_at end) as first_countable_visit_at,
        max(case when visit_class = 'countable' then event_at end) as last_countable_visit_at
    from course_visits
    group by 1

),

{% if is_incremental() %}

    previous as (

        select * from {{ this }}
        where shifu_bid in (select seen.shifu_bid from seen)

    ),

{% endif %}

final as (

    select
        seen.shifu_bid,
        {% if is_incremental() %}
            least(seen.first_seen_at, previous.first_seen_at) as first_seen_at,
            greatest(seen.last_seen_at, previous.last_seen_at) as last_seen_at,
            least(
                seen.first_countable_visit_at, previous.first_countable_visit_at
            ) as first_countable_visit_at,
            greatest(
                seen.last_countable_visit_at, previous.last_countable_visit_at
            ) as last_countable_visit_at
        {% else %}
            seen.first_seen_at,
            seen.last_seen_at,
            seen.first_countable_visit_at,
            seen.last_countable_visit_at
        {% endif %}
    from seen
    {% if is_incremental() %}
        left join previous
            on seen.shifu_bid = previous.shifu_bid
    {% endif %}

)

select * from final
