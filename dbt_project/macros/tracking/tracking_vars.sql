{#
    Run-specific values of the tracking marts. They build on the course vars
    (macros/course/course_vars.sql: as_of, sync_time, rebuild_from_date, lookback_days) and add:

      business_timezone           IANA zone of day_key (default Asia/Shanghai)
      date_dimension_margin_days  days added before and after the data's range in
                                  analytics_date_dimension (default 31)
      tracking_test_all_rows      false (default): the data tests check the rows this run
                                  wrote (when a sync_time var is given); true: every row

    rebuild_from_date is a UTC date (the loader's lookback). A business day can start before
    the UTC date does (Asia/Shanghai days start at 16:00 UTC the day before), so the tracking
    marts rebuild from the business day that contains the first instant of rebuild_from_date
    and read raw events from the first instant of that business day. For Asia/Shanghai that is
    the same date, read from 16:00 UTC of the day before.
#}

{% macro tracking_business_timezone() %}
    {%- set zone = var('business_timezone', 'Asia/Shanghai') | string | trim -%}
    {%- if not modules.re.match('^[A-Za-z][A-Za-z0-9_+/-]{0,63}$', zone) -%}
        {{ exceptions.raise_compiler_error("var 'business_timezone' must be an IANA time zone name such as Asia/Shanghai, got: " ~ zone) }}
    {%- endif -%}
    {{- return(zone) -}}
{% endmacro %}

{# The business date (day_key) of an instant expression. #}
{% macro tracking_day_key(timestamp_expression) -%}
    {{ zone_date(timestamp_expression, tracking_business_timezone()) }}
{%- endmacro %}

{# The first instant of a business date expression. #}
{% macro tracking_day_start(date_expression) -%}
    {{ zone_day_start(date_expression, tracking_business_timezone()) }}
{%- endmacro %}

{# The business date as of which the marts are built (the day_key of as_of). #}
{% macro tracking_as_of_day_sql() -%}
    {{ tracking_day_key(course_as_of_ts()) }}
{%- endmacro %}

{# The first day_key an incremental run rebuilds: the business day of rebuild_from_date 00:00 UTC. #}
{% macro tracking_rebuild_from_day_sql() -%}
    {{ tracking_day_key(course_rebuild_from_ts()) }}
{%- endmacro %}

{# The first instant of that business day: raw events are read from here on. #}
{% macro tracking_rebuild_from_ts() -%}
    {{ tracking_day_start(tracking_rebuild_from_day_sql()) }}
{%- endmacro %}

{% macro tracking_date_dimension_margin_days() %}
    {%- set days = var('date_dimension_margin_days', 31) | int -%}
    {%- if days < 0 -%}
        {{ exceptions.raise_compiler_error("var 'date_dimension_margin_days' must be >= 0, got: " ~ var('date_dimension_margin_days')) }}
    {%- endif -%}
    {{- return(days) -}}
{% endmacro %}

{#
    The rows a tracking data test checks: with a sync_time var (the pipeline always passes one),
    the rows this run wrote (every rebuilt row carries the run's sync_time in synced_at); without
    one, or with var tracking_test_all_rows, every row. Rows below the rebuilt range were
    checked by the run that wrote them and have not changed since. The generic tests in the
    marts' YAML use the same rule in their `where` config (written out there: test configs
    cannot call project macros).
#}
{% macro tracking_test_rows_filter(synced_at_column='synced_at') -%}
    {%- if var('tracking_test_all_rows', false) | string | lower in ['true', '1', 'yes']
          or var('sync_time', none) is none -%}
        true
    {%- else -%}
        {{ synced_at_column }} = {{ course_sync_time_ts() }}
    {%- endif -%}
{%- endmacro %}

{#
    The first business day a tracking data test checks, as a date literal: the earliest day_key
    among the rows this run wrote in `models` (tracking_test_rows_filter), and never later than
    the first day the run rebuilt (tracking_rebuild_from_day_sql: those days must hold every
    loaded event even when the run wrote no row). Every day with var tracking_test_all_rows, or
    without a sync_time var. Read with one query before the test runs, so that the test's own
    query compares day_key and the raw created_at with a constant: PostgreSQL then reads those
    days through their indexes (a bound from a subquery is planned as a third of the table,
    which at ten million events means reading them all).
#}
{% macro tracking_test_first_day_key(models) -%}
    {%- if tracking_test_rows_filter() | trim == 'true' -%}
        {{- return(earliest_date()) -}}
    {%- endif -%}
    {%- if not execute -%}
        {{- return(tracking_rebuild_from_day_sql()) -}}
    {%- endif -%}
    {%- set written -%}
        select cast(least(
            {%- for model in models %}
            (select min(day_key) from {{ model }} where {{ tracking_test_rows_filter() }}),
            {%- endfor %}
            {{ tracking_rebuild_from_day_sql() }}
        ) as {{ dbt.type_string() }}) as first_day_key
    {%- endset -%}
    {%- set first_day_key = run_query(written).columns[0].values()[0] -%}
    {{- return("cast('" ~ first_day_key ~ "' as date)") -}}
{%- endmacro %}
