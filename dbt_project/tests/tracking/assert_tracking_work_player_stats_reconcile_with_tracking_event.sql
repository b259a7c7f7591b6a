-- Distinct players per work: tracking_work_player_stat equals count(distinct user_id) and
-- count(*) over the work_play_start facts of each work, and tracking_work_player_daily_stat
-- equals the work_play_start rows of tracking_daily_stat. One row per disagreement.

with

plays as (

    select
        scope_id as work_id,
        count(*) as play_count,
        count(distinct user_id) as player_count
    from {{ ref('tracking_event') }}
    where event_key = 'work_play_start'
    group by 1

),

all_time as (

    select
        'all_time' as check_name,
        coalesce(plays.work_id, stats.work_id) as work_id,
        cast(null as date) as day_key,
        plays.play_count as expected_play_count,
        stats.play_count,
        plays.player_count as expected_player_count,
        stats.player_count
    from plays
    full outer join {{ ref('tracking_work_player_stat') }} as stats
        on plays.work_id = stats.work_id

),

daily_plays as (

    select
        day_key,
        scope_id as work_id,
        event_count,
        distinct_user_count
    from {{ ref('tracking_daily_stat') }}
    where event_key = 'work_play_start'

),

daily as (

    select
        'daily' as check_name,
        coalesce(daily_plays.work_id, stats.work_id) as work_id,
        coalesce(daily_plays.day_key, stats.day_key) as day_key,
        daily_plays.event_count as expected_play_count,
        stats.play_count,
        daily_plays.distinct_user_count as expected_player_count,
        stats.player_count
    from daily_plays
    full outer join {{ ref('tracking_work_player_daily_stat') }} as stats
        on
            daily_plays.day_key = stats.day_key
            and daily_plays.work_id = stats.work_id

),

checks as (

    select * from all_time
    union all
    select * from daily

)

select * from checks
where
    expected_play_count is distinct from play_count
    or expected_player_count is distinct from player_count
