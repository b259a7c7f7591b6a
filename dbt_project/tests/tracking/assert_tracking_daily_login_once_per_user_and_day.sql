-- Rule 2: daily_login is unique per (user_id, day_key), has a user, and its id is
-- daily-login:{user_id}:{day_key}. One row per offending user and day.

with

daily_logins as (

    select * from {{ ref('tracking_event') }}
    where event_key = 'daily_login'

),

per_user_day as (

    select
        user_id,
        day_key,
        count(*) as fact_count,
        count(*) filter (
            where event_id is distinct from {{ tracking_daily_login_event_id('user_id', 'day_key') }}
        ) as malformed_id_count
    from daily_logins
    group by 1, 2

)

select * from per_user_day
where
    fact_count > 1
    or malformed_id_count > 0
    or user_id is null
