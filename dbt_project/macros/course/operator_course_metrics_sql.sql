{#
    The operator page's read: one row per course seen in any course_visit with a non-empty
    string shifu_bid, with visit_count_30d = the last_30_days visitor_count (distinct
    logged-in users; label zh-CN 近30天访问人数, en-US Visitors (30d)), 0 when the course has no
    synced window row. Takes the two relations it reads so publish_marts can re-create the
    same view over the published tables.
#}
{% macro operator_course_metrics_sql(courses_relation, window_stats_relation) %}

with

courses as (

    select shifu_bid from {{ courses_relation }}

),

window_30d as (

    select * from {{ window_stats_relation }}
    where
        window_type = 'last_30_days'
        and source = {{ course_source_name() }}

),

current_window as (

    select
        max(window_start_date) as window_start_date,
        max(window_end_date) as window_end_date
    from window_30d

),

final as (

    select
        courses.shifu_bid,
        cast(coalesce(window_30d.visitor_count, 0) as bigint) as visit_count_30d,
        coalesce(window_30d.window_start_date, current_window.window_start_date) as window_start_date,
        coalesce(window_30d.window_end_date, current_window.window_end_date) as window_end_date,
        window_30d.synced_at
    from courses
    cross join current_window
    left join window_30d
        on courses.shifu_bid = window_30d.shifu_bid

)

select * from final

{% endmacro %}
