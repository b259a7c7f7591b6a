{#
    One row per business day (day_key, the calendar date in var business_timezone) from the
    first to the last day_key of tracking_event, widened to include the as_of business day and
    by var date_dimension_margin_days on both sides, with the day's ISO week, month, quarter
    and year: keys and first/last days. Weekly, monthly, quarterly and yearly roll-ups are
    joins on day_key.
#}

{%- set margin_days = tracking_date_dimension_margin_days() -%}

with

facts_range as (

    select
        min(day_key) as first_day_key,
        max(day_key) as last_day_key
    from {{ ref('tracking_event') }}

),

bounds as (

    select
        {{ add_days(
            'least(coalesce(first_day_key, ' ~ tracking_as_of_day_sql() ~ '), ' ~ tracking_as_of_day_sql() ~ ')',
            -margin_days
        ) }} as first_day,
        {{ add_days(
            'greatest(coalesce(last_day_key, ' ~ tracking_as_of_day_sql() ~ '), ' ~ tracking_as_of_day_sql() ~ ')',
            margin_days
        ) }} as last_day
    from facts_range

),

days as (

    {{ date_series('bounds', 'first_day', 'last_day', 'day_key') }}

),

parts as (

    select
        day_key,
        cast(day_key as timestamp) as day_start,
        cast({{ iso_day_of_week('day_key') }} as integer) as iso_day_of_week
    from days

),

calendar as (

    select
        day_key,
        iso_day_of_week,
        cast(extract(day from day_key) as integer) as day_of_month,
        cast(extract(doy from day_key) as integer) as day_of_year,
        -- ISO 8601 week-numbering year and week (week 1 holds the year's first Thursday)
        cast({{ iso_year('day_key') }} as integer) as iso_year,
        cast(extract(week from day_key) as integer) as iso_week,
        cast(extract(month from day_key) as integer) as month_number,
        cast(extract(quarter from day_key) as integer) as quarter_number,
        cast(extract(year from day_key) as integer) as year_number,
        cast(date_trunc('month', day_start) as date) as month_start_date,
        cast(date_trunc('month', day_start) + interval '1 month' - interval '1 day' as date) as month_end_date,
        cast(date_trunc('quarter', day_start) as date) as quarter_start_date,
        cast(date_trunc('quarter', day_start) + interval '3 months' - interval '1 day' as date) as quarter_end_date,
        cast(date_trunc('year', day_start) as date) as year_start_date,
        cast(date_trunc('year', day_start) + interval '1 year' - interval '1 day' as date) as year_end_date,
        {{ calendar_text('day_key', 'day_name') }} as day_name,
        iso_day_of_week in (6, 7) as is_weekend,
        {{ calendar_text('day_key', 'iso_week') }} as iso_week_key,
        {{ add_days('day_key', '1 - iso_day_of_week') }} as iso_week_start_date,
        {{ add_days('day_key', '7 - iso_day_of_week') }} as iso_week_end_date,
        {{ calendar_text('day_key', 'month') }} as month_key,
        {{ calendar_text('day_key', 'quarter') }} as quarter_key,
        {{ calendar_text('day_key', 'year') }} as year_key
    from parts

),

final as (

    select
        day_key,
        iso_day_of_week as day_of_week,
        day_name,
        is_weekend,
        day_of_month,
        day_of_year,

        -- ISO week (Monday to Sunday)
        iso_year,
        iso_week,
        iso_week_key,
        iso_week_start_date,
        iso_week_end_date,

        -- calendar month
        month_number,
        month_key,
        month_start_date,
        month_end_date,

        -- calendar quarter
        quarter_number,
        quarter_key,
        quarter_start_date,
        quarter_end_date,

        -- calendar year
        year_number,
        year_key,
        year_start_date,
        year_end_date
    from calendar

)

select * from final
