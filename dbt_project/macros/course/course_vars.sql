{#
    Run-specific values, resolved once at compile time so every model of a run agrees and the
    SQL carries constants (a created_at range predicate the planner can match to the index on
    umami_raw.events (event_name, created_at)).

    vars (dbt_project.yml):
      as_of              ISO-8601 instant, UTC when no offset is given; default: the run's start
      sync_time          ISO-8601 instant; default: the run's start
      rebuild_from_date  YYYY-MM-DD (UTC); default: as_of_date - (lookback_days - 1)
      lookback_days      default 3
#}

{% macro _course_parse_instant(value, var_name) %}
    {%- set dt_module = modules.datetime -%}
    {%- if value is none or value == '' -%}
        {%- set parsed = run_started_at -%}
    {%- elif value is string -%}
        {%- set iso = '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,6})?)?)?([Zz]|[+-]\\d{2}(:?\\d{2})?)?$' -%}
        {%- if not modules.re.match(iso, value | trim) -%}
            {{ exceptions.raise_compiler_error("var '" ~ var_name ~ "' must be an ISO-8601 instant such as 2026-11-19T23:59:59Z, got: " ~ value) }}
        {%- endif -%}
        {%- set parsed = dt_module.datetime.fromisoformat(value | trim) -%}
    {%- elif value.hour is defined -%}
        {%- set parsed = value -%}
    {%- else -%}
        {%- set parsed = dt_module.datetime(value.year, value.month, value.day) -%}
    {%- endif -%}
    {%- if parsed.tzinfo is none -%}
        {%- set parsed = parsed.replace(tzinfo=modules.pytz.utc) -%}
    {%- endif -%}
    {{- return(parsed.astimezone(modules.pytz.utc)) -}}
{% endmacro %}

{% macro _course_parse_date(value, var_name) %}
    {%- if value is string -%}
        {%- if not modules.re.match('^\\d{4}-\\d{2}-\\d{2}$', value | trim) -%}
            {{ exceptions.raise_compiler_error("var '" ~ var_name ~ "' must be a date YYYY-MM-DD, got: " ~ value) }}
        {%- endif -%}
        {{- return(modules.datetime.datetime.strptime(value | trim, '%Y-%m-%d').date()) -}}
    {%- elif value.date is defined and value.hour is defined -%}
        {{- return(value.date()) -}}
    {%- else -%}
        {{- return(value) -}}
    {%- endif -%}
{% endmacro %}

{# ---- python values ------------------------------------------------------------------------ #}

{% macro course_as_of() %}
    {{- return(_course_parse_instant(var('as_of', none), 'as_of')) -}}
{% endmacro %}

{% macro course_as_of_date() %}
    {{- return(course_as_of().date()) -}}
{% endmacro %}

{% macro course_sync_time() %}
    {{- return(_course_parse_instant(var('sync_time', none), 'sync_time')) -}}
{% endmacro %}

{% macro course_lookback_days() %}
    {%- set days = var('lookback_days', 3) | int -%}
    {%- if days < 1 -%}
        {{ exceptions.raise_compiler_error("var 'lookback_days' must be >= 1, got: " ~ var('lookback_days')) }}
    {%- endif -%}
    {{- return(days) -}}
{% endmacro %}

{% macro course_rebuild_from_date() %}
    {%- set value = var('rebuild_from_date', none) -%}
    {%- if value is none or value == '' -%}
        {{- return(course_as_of_date() - modules.datetime.timedelta(days=course_lookback_days() - 1)) -}}
    {%- endif -%}
    {{- return(_course_parse_date(value, 'rebuild_from_date')) -}}
{% endmacro %}

{# ---- SQL literals ------------------------------------------------------------------------- #}

{% macro course_timestamp_literal(value) -%}
    cast('{{ value.isoformat() }}' as timestamptz)
{%- endmacro %}

{% macro course_date_literal(value) -%}
    cast('{{ value.isoformat() }}' as date)
{%- endmacro %}

{% macro course_as_of_ts() -%}
    {{ course_timestamp_literal(course_as_of()) }}
{%- endmacro %}

{% macro course_as_of_date_sql() -%}
    {{ course_date_literal(course_as_of_date()) }}
{%- endmacro %}

{% macro course_sync_time_ts() -%}
    {{ course_timestamp_literal(course_sync_time()) }}
{%- endmacro %}

{% macro course_rebuild_from_date_sql() -%}
    {{ course_date_literal(course_rebuild_from_date()) }}
{%- endmacro %}

{# The first instant of rebuild_from_date (UTC): the created_at range predicate of a rebuild. #}
{% macro course_rebuild_from_ts() -%}
    {%- set d = course_rebuild_from_date() -%}
    {{ course_timestamp_literal(modules.datetime.datetime(d.year, d.month, d.day, tzinfo=modules.pytz.utc)) }}
{%- endmacro %}

{# The windows of analytics_course_window_stats: (window_type, days), ending on as_of_date. #}
{% macro course_windows() %}
    {{- return([('last_7_days', 7), ('last_30_days', 30), ('last_90_days', 90)]) -}}
{% endmacro %}

{% macro course_source_name() -%}
    '{{ var("source_name", "umami") | replace("'", "''") }}'
{%- endmacro %}

{# A deterministic surrogate key: md5 of a JSON array of the values (no separator collisions). #}
{% macro course_surrogate_key(fields) -%}
    md5(cast(jsonb_build_array({{ fields | join(', ') }}) as text))
{%- endmacro %}

