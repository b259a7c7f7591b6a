{#
    record_build_run(): an on-run-start hook (dbt_project.yml). Every `dbt build` / `dbt run`
    writes one row to <build schema>.build_runs BEFORE any model changes, so publish_marts
    knows which dates the build schema may have changed since the last publication, even for
    builds that failed their tests or crashed and were never published. Not on Spark, where
    publish_marts copies every mart whole (macros/publishing/publish_marts.sql).
#}
{% macro record_build_run() %}
    {{ return(adapter.dispatch('record_build_run', 'course_analytics')()) }}
{% endmacro %}

{% macro spark__record_build_run() %}
    select 1
{% endmacro %}

{% macro default__record_build_run() %}
    {%- if execute and flags.WHICH in ['build', 'run'] -%}
        {%- set relation = adapter.quote(target.schema) ~ '.' ~ adapter.quote('build_runs') -%}
        create schema if not exists {{ adapter.quote(target.schema) }};
        create table if not exists {{ relation }} (
            build_run_id bigint generated always as identity primary key,
            invocation_id text not null,
            started_at timestamptz not null default clock_timestamp(),
            command text not null,
            as_of timestamptz not null,
            sync_time timestamptz not null,
            rebuild_from_date date not null,
            full_refresh boolean not null
        );
        insert into {{ relation }} (invocation_id, command, as_of, sync_time, rebuild_from_date, full_refresh)
        values (
            '{{ invocation_id }}',
            '{{ flags.WHICH }}',
            {{ course_as_of_ts() }},
            {{ course_sync_time_ts() }},
            {{ course_rebuild_from_date_sql() }},
            {{ 'true' if flags.FULL_REFRESH else 'false' }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}
