-- Every loaded event up to as_of is either a tracking fact (daily_login: the kept one) or an
-- exclusion with its reason: per event key, raw events = tracking_event rows +
-- tracking_event_exclusion rows, over the business days from the first one the latest run
-- wrote or rebuilt (every day with var tracking_test_all_rows; macros/tracking/tracking_vars.sql).
-- One row per event key whose totals do not add up.

{% set first_day_key = tracking_test_first_day_key([ref('tracking_event'), ref('tracking_event_exclusion')]) %}

with

loaded as (

    select
        event_name as event_key,
        count(*) as loaded_count
    from {{ ref('stg_umami__events') }}
    where
        event_at <= {{ course_as_of_ts() }}
        and event_at >= {{ tracking_day_start(first_day_key) }}
    group by 1

),

facts as (

    select
        event_key,
        count(*) as fact_count
    from {{ ref('tracking_event') }}
    where day_key >= {{ first_day_key }}
    group by 1

),

exclusions as (

    select
        event_key,
        count(*) as exclusion_count
    from {{ ref('tracking_event_exclusion') }}
    where day_key >= {{ first_day_key }}
    group by 1

),

event_keys as (

    select event_key from loaded
    union
    select event_key from facts
    union
    select event_key from exclusions

),

compared as (

    select
        event_keys.event_key,
        coalesce(loaded.loaded_count, 0) as loaded_count,
        coalesce(facts.fact_count, 0) as fact_count,
        coalesce(exclusions.exclusion_count, 0) as exclusion_count
    from event_keys
    left join loaded on event_keys.event_key = loaded.event_key
    left join facts on event_keys.event_key = facts.event_key
    left join exclusions on event_keys.event_key = exclusions.event_key

)

select * from compared
where loaded_count <> fact_count + exclusion_count
