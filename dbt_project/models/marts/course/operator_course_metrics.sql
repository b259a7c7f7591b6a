{{
    operator_course_metrics_sql(
        ref('analytics_courses_seen'),
        ref('analytics_course_window_stats'),
    )
}}
