{#
    Dates that differ by engine (adapter.dispatch; default__ is PostgreSQL's). On Spark an
    instant is a timestamp shown in the session's zone (UTC, flows/spark.py).
#}

{# The calendar date of an instant in an IANA time zone (a literal name). #}
{% macro zone_date(instant_expression, zone) -%}
    {{ return(adapter.dispatch('zone_date', 'course_analytics')(instant_expression, zone)) }}
{%- endmacro %}

{% macro default__zone_date(instant_expression, zone) -%}
    cast(({{ instant_expression }}) at time zone '{{ zone }}' as date)
{%- endmacro %}

{% macro spark__zone_date(instant_expression, zone) -%}
    to_date(from_utc_timestamp(to_utc_timestamp({{ instant_expression }}, current_timezone()), '{{ zone }}'))
{%- endmacro %}

{# The first instant of a date in an IANA time zone (its midnight there). #}
{% macro zone_day_start(date_expression, zone) -%}
    {{ return(adapter.dispatch('zone_day_start', 'course_analytics')(date_expression, zone)) }}
{%- endmacro %}

{% macro default__zone_day_start(date_expression, zone) -%}
    (cast({{ date_expression }} as timestamp) at time zone '{{ zone }}')
{%- endmacro %}

{% macro spark__zone_day_start(date_expression, zone) -%}
    from_utc_timestamp(to_utc_timestamp(cast({{ date_expression }} as timestamp), '{{ zone }}'), current_timezone())
{%- endmacro %}

{# A date `days` (an integer expression) later: a date, not a timestamp (unlike dbt.dateadd on PostgreSQL). #}
{% macro add_days(date_expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'course_analytics')(date_expression, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expression, days) -%}
    {{ date_expression }} + ({{ days }})
{%- endmacro %}

{% macro spark__add_days(date_expression, days) -%}
    date_add({{ date_expression }}, {{ days }})
{%- endmacro %}

{# The earliest date there is, the lower bound of "every day". #}
{% macro earliest_date() -%}
    {{ return(adapter.dispatch('earliest_date', 'course_analytics')()) }}
{%- endmacro %}

{% macro default__earliest_date() -%}
    cast('-infinity' as date)
{%- endmacro %}

{% macro spark__earliest_date() -%}
    cast('0001-01-01' as date)
{%- endmacro %}

{#
    A query of one row per date from `first_column` to `last_column` (both included) of each
    row of `relation`, the date as `date_column`.
#}
{% macro date_series(relation, first_column, last_column, date_column) -%}
    {{ return(adapter.dispatch('date_series', 'course_analytics')(relation, first_column, last_column, date_column)) }}
{%- endmacro %}

{% macro default__date_series(relation, first_column, last_column, date_column) -%}
    select {{ relation }}.{{ first_column }} + day_offset.day_number as {{ date_column }}
    from {{ relation }}
    cross join lateral generate_series(0, {{ relation }}.{{ last_column }} - {{ relation }}.{{ first_column }}) as day_offset (day_number)
{%- endmacro %}

{% macro spark__date_series(relation, first_column, last_column, date_column) -%}
    select {{ date_column }}
    from {{ relation }}
    lateral view explode(sequence({{ relation }}.{{ first_column }}, {{ relation }}.{{ last_column }}, interval 1 day)) day_series as {{ date_column }}
{%- endmacro %}

{# ISO 8601 parts of a date: day of week (Monday 1 to Sunday 7) and week-numbering year. #}
{% macro iso_day_of_week(date_expression) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'course_analytics')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expression) -%}
    extract(isodow from {{ date_expression }})
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expression) -%}
    extract(dayofweek_iso from {{ date_expression }})
{%- endmacro %}

{% macro iso_year(date_expression) -%}
    {{ return(adapter.dispatch('iso_year', 'course_analytics')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_year(date_expression) -%}
    extract(isoyear from {{ date_expression }})
{%- endmacro %}

{% macro spark__iso_year(date_expression) -%}
    extract(yearofweek from {{ date_expression }})
{%- endmacro %}

{#
    A date as the text of a calendar key: 'date' 2026-11-19, 'day_name' Thursday, 'iso_week'
    2026-W47, 'month' 2026-11, 'quarter' 2026-Q4, 'year' 2026.
#}
{% macro calendar_text(date_expression, part) -%}
    {{ return(adapter.dispatch('calendar_text', 'course_analytics')(date_expression, part)) }}
{%- endmacro %}

{% macro default__calendar_text(date_expression, part) -%}
    {%- set patterns = {
        'date': 'YYYY-MM-DD', 'day_name': 'FMDay', 'iso_week': 'IYYY-"W"IW',
        'month': 'YYYY-MM', 'quarter': 'YYYY-"Q"Q', 'year': 'YYYY',
    } -%}
    to_char({{ date_expression }}, '{{ patterns[part] }}')
{%- endmacro %}

{# Java's patterns have no ISO week-numbering year or week: those come from extract. #}
{% macro spark__calendar_text(date_expression, part) -%}
    {%- if part == 'iso_week' -%}
        concat(
            lpad(cast(extract(yearofweek from {{ date_expression }}) as string), 4, '0'), '-W',
            lpad(cast(extract(week from {{ date_expression }}) as string), 2, '0')
        )
    {%- elif part == 'quarter' -%}
        concat(date_format({{ date_expression }}, 'yyyy'), '-Q', cast(quarter({{ date_expression }}) as string))
    {%- else -%}
        {%- set patterns = {'date': 'yyyy-MM-dd', 'day_name': 'EEEE', 'month': 'yyyy-MM', 'year': 'yyyy'} -%}
        date_format({{ date_expression }}, '{{ patterns[part] }}')
    {%- endif -%}
{%- endmacro %}
