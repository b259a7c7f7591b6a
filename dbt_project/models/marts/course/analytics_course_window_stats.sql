{#
    Exact distinct users and countable visits per course over the UTC-date windows ending on
    as_of_date: last_N_days = [as_of_date - (N - 1), as_of_date]. One row per window type per
    course ever seen in a countable visit up to as_of, 0 when the window has none.
#}

{%- set windows = course_windows() -%}
{%- set longest_window_days = windows | map(attribute=1) | max -%}

with

windows as (

    {% for window_type, days in windows %}
        select
            '{{ window_type }}' as window_type,
            {{ course_days_before_as_of(days - 1) }} as window_start_date,
            {{ course_as_of_date_sql() }} as window_end_date
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

courses as (

    select shifu_bid from {{ ref('analytics_courses_seen') }}
    where first_countable_visit_at <= {{ course_as_of_ts() }}

),

user_days as (

    select * from {{ ref('int_course_visits_aggregated_to_user_days') }}
    where
        stat_date
        between {{ course_days_before_as_of(longest_window_days - 1) }}
        and {{ course_as_of_date_sql() }}

),

-- one pass over the longest window, one distinct count per window (a join to the windows
-- would repeat every recent row once per window)
window_totals as (

    select
        shifu_bid,
        {% for window_type, days in windows %}
            {%- set window_start = course_days_before_as_of(days - 1) %}
            count(distinct case when stat_date >= {{ window_start }} then user_id end) as visitor_count_{{ days }},
            sum(case when stat_date >= {{ window_start }} then visit_count end) as visit_count_{{ days }}
            {%- if not loop.last %},{% endif %}
        {% endfor %}
    from user_days
    group by 1

),

final as (

    select
        {{ course_surrogate_key(['windows.window_type', 'courses.shifu_bid', course_source_name()]) }} as id,
        windows.window_type,
        courses.shifu_bid,
        cast(coalesce(case windows.window_type
            {% for window_type, days in windows %}
                when '{{ window_type }}' then window_totals.visitor_count_{{ days }}
            {% endfor %}
        end, 0) as bigint) as visitor_count,
        cast(coalesce(case windows.window_type
            {% for window_type, days in windows %}
                when '{{ window_type }}' then window_totals.visit_count_{{ days }}
            {% endfor %}
        end, 0) as bigint) as visit_count,
        {{ course_source_name() }} as source,
        windows.window_start_date,
        windows.window_end_date,
        {{ course_sync_time_ts() }} as synced_at
    from courses
    cross join windows
    left join window_totals
        on courses.shifu_bid = window_totals.shifu_bid

)

select * from final
