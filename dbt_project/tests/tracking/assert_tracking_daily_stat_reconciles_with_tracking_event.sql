-- Rule 1: tracking_daily_stat agrees exactly with tracking_event: the same (day_key,
-- event_key, scope_kind, scope_id) groups, with the same fact and distinct-user counts.
-- Checks the days from the first one the latest run wrote or rebuilt (every day with var
-- tracking_test_all_rows; macros/tracking/tracking_vars.sql). One row per disagreeing group.

{% set first_day_key = tracking_test_first_day_key([ref('tracking_event'), ref('tracking_daily_stat')]) %}

with

fact_groups as (

    select
        {{ course_surrogate_key(['day_key', 'event_key', 'scope_kind', 'scope_id']) }} as daily_stat_id,
        day_key,
        event_key,
        scope_kind,
        scope_id,
        count(*) as event_count,
        count(distinct user_id) as distinct_user_count
    from {{ ref('tracking_event') }}
    where day_key >= {{ first_day_key }}
    group by 2, 3, 4, 5

),

stats as (

    select * from {{ ref('tracking_daily_stat') }}
    where day_key >= {{ first_day_key }}

),

compared as (

    select
        fact_groups.event_count as fact_event_count,
        stats.event_count as stat_event_count,
        fact_groups.distinct_user_count as fact_distinct_user_count,
        stats.distinct_user_count as stat_distinct_user_count,
        coalesce(fact_groups.day_key, stats.day_key) as day_key,
        coalesce(fact_groups.event_key, stats.event_key) as event_key,
        coalesce(fact_groups.scope_kind, stats.scope_kind) as scope_kind,
        coalesce(fact_groups.scope_id, stats.scope_id) as scope_id
    from fact_groups
    full outer join stats
        on fact_groups.daily_stat_id = stats.daily_stat_id

)

select * from compared
where
    fact_event_count is distinct from stat_event_count
    or fact_distinct_user_count is distinct from stat_distinct_user_count
