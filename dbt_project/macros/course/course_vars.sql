{#
    The run's values, as the pipeline resolved them (flows: the run's SyncWindow): dbt derives
    none of them, it writes them into the SQL as literals (so every model of a run agrees, and the
    planner sees constants: a created_at range it can match to the index on
    umami_raw.events (event_name, created_at)). Date arithmetic on them is SQL's.

    vars (dbt_project.yml):
      as_of              ISO-8601 instant (UTC): events after it are ignored
      as_of_date         its UTC date, YYYY-MM-DD (given with as_of)
      sync_time          ISO-8601 instant written to synced_at / created_at / updated_at
      rebuild_from_date  YYYY-MM-DD (UTC): incremental models rebuild every date >= it

    Without as_of (a `dbt build` by hand), as_of and as_of_date are the run's start; without
    sync_time, the run's start; without rebuild_from_date, every date is rebuilt.
#}

{% macro _course_var_text(name) %}
    {%- set value = var(name, none) -%}
    {%- if value is none or value | string | trim == '' -%}
        {{- return(none) -}}
    {%- endif -%}
    {#- a literal in SQL: a quote would end it -#}
    {{- return(value | string | trim | replace("'", "''")) -}}
{% endmacro %}

{% macro course_as_of_text() %}
    {{- return(_course_var_text('as_of') or run_started_at.isoformat()) -}}
{% endmacro %}

{% macro course_as_of_date_text() %}
    {%- set as_of_date = _course_var_text('as_of_date') -%}
    {%- if as_of_date is none and _course_var_text('as_of') is not none -%}
        {{ exceptions.raise_compiler_error("var 'as_of' needs var 'as_of_date' (its UTC date): dbt derives neither") }}
    {%- endif -%}
    {{- return(as_of_date or run_started_at.date().isoformat()) -}}
{% endmacro %}

{% macro course_sync_time_text() %}
    {{- return(_course_var_text('sync_time') or run_started_at.isoformat()) -}}
{% endmacro %}

{% macro course_rebuild_from_date_text() %}
    {{- return(_course_var_text('rebuild_from_date') or '0001-01-01') -}}
{% endmacro %}

{# ---- SQL literals ------------------------------------------------------------------------- #}

{% macro course_as_of_ts() -%}
    {{ instant_literal(course_as_of_text()) }}
{%- endmacro %}

{% macro course_as_of_date_sql() -%}
    {{ date_literal(course_as_of_date_text()) }}
{%- endmacro %}

{% macro course_sync_time_ts() -%}
    {{ instant_literal(course_sync_time_text()) }}
{%- endmacro %}

{% macro course_rebuild_from_date_sql() -%}
    {{ date_literal(course_rebuild_from_date_text()) }}
{%- endmacro %}

{# The first instant of rebuild_from_date (UTC): the created_at range predicate of a rebuild. #}
{% macro course_rebuild_from_ts() -%}
    {{ instant_literal(course_rebuild_from_date_text() ~ 'T00:00:00+00:00') }}
{%- endmacro %}

{# as_of_date minus `days` days, as a date (SQL's arithmetic on the literal, dbt's cross-database dateadd). #}
{% macro course_days_before_as_of(days) -%}
    cast({{ dbt.dateadd('day', -(days | int), course_as_of_date_sql()) }} as date)
{%- endmacro %}

{# The windows of analytics_course_window_stats: (window_type, days), ending on as_of_date. #}
{% macro course_windows() %}
    {{- return([('last_7_days', 7), ('last_30_days', 30), ('last_90_days', 90)]) -}}
{% endmacro %}

{% macro course_source_name() -%}
    '{{ var("source_name", "umami") | replace("'", "''") }}'
{%- endmacro %}
