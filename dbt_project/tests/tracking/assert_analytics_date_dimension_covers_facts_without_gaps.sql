-- analytics_date_dimension has one row per day with no gap, from at least the first to at
-- least the last day_key of tracking_event and the as_of business day. One row per problem.

with

dimension as (

    select
        min(day_key) as first_day_key,
        max(day_key) as last_day_key,
        count(*) as day_count
    from {{ ref('analytics_date_dimension') }}

),

facts as (

    select
        min(day_key) as first_day_key,
        max(day_key) as last_day_key
    from {{ ref('tracking_event') }}

),

problems as (

    select 'gap_or_duplicate' as problem
    from dimension
    where {{ add_days('first_day_key', 'cast(day_count as integer) - 1') }} <> last_day_key

    union all

    select 'facts_before_first_day' as problem
    from dimension
    cross join facts
    where facts.first_day_key < dimension.first_day_key

    union all

    select 'facts_after_last_day' as problem
    from dimension
    cross join facts
    where facts.last_day_key > dimension.last_day_key

    union all

    select 'as_of_day_missing' as problem
    from dimension
    where
        {{ tracking_as_of_day_sql() }} not between dimension.first_day_key and dimension.last_day_key
        or dimension.day_count = 0

)

select * from problems
