{#
    Types and expressions that differ by engine (adapter.dispatch; default__ is PostgreSQL's).
    Text is dbt's own dbt.type_string().
#}

{# An instant: PostgreSQL's timestamptz; Spark's timestamp (an instant, shown in the session's UTC). #}
{% macro type_instant() -%}
    {{ return(adapter.dispatch('type_instant', 'course_analytics')()) }}
{%- endmacro %}

{% macro default__type_instant() -%}
    timestamptz
{%- endmacro %}

{% macro spark__type_instant() -%}
    timestamp
{%- endmacro %}

{# A JSON document: PostgreSQL's jsonb; JSON text on Spark (read with get_json_object). #}
{% macro type_json() -%}
    {{ return(adapter.dispatch('type_json', 'course_analytics')()) }}
{%- endmacro %}

{% macro default__type_json() -%}
    jsonb
{%- endmacro %}

{% macro spark__type_json() -%}
    string
{%- endmacro %}

{# The JSON value at `keys` (a list of object keys) of a JSON document, as JSON. #}
{% macro json_get(expression, keys) -%}
    {{ return(adapter.dispatch('json_get', 'course_analytics')(expression, keys)) }}
{%- endmacro %}

{% macro default__json_get(expression, keys) -%}
    ({{ expression }}{% for key in keys %} -> '{{ key }}'{% endfor %})
{%- endmacro %}

{# Spark: each key as ['key'] in the path, so a key holding a dot (Umami's `asset.profileId`) is one key. #}
{% macro spark_json_path(keys) -%}
    "${% for key in keys %}['{{ key }}']{% endfor %}"
{%- endmacro %}

{% macro spark__json_get(expression, keys) -%}
    get_json_object({{ expression }}, {{ spark_json_path(keys) }})
{%- endmacro %}

{# The scalar at `keys` of a JSON document, as text (a JSON string unquoted; null when absent). #}
{% macro json_text(expression, keys) -%}
    {{ return(adapter.dispatch('json_text', 'course_analytics')(expression, keys)) }}
{%- endmacro %}

{% macro default__json_text(expression, keys) -%}
    ({{ expression }}{% for key in keys[:-1] %} -> '{{ key }}'{% endfor %} ->> '{{ keys[-1] }}')
{%- endmacro %}

{% macro spark__json_text(expression, keys) -%}
    get_json_object({{ expression }}, {{ spark_json_path(keys) }})
{%- endmacro %}

{# The UTC date of an instant. #}
{% macro utc_date(expression) -%}
    {{ return(adapter.dispatch('utc_date', 'course_analytics')(expression)) }}
{%- endmacro %}

{% macro default__utc_date(expression) -%}
    cast({{ expression }} at time zone 'UTC' as date)
{%- endmacro %}

{% macro spark__utc_date(expression) -%}
    to_date(to_utc_timestamp({{ expression }}, current_timezone()))
{%- endmacro %}

{# An exact decimal of any scale: PostgreSQL's numeric; Spark's widest decimal (38 digits, 10 after the point). #}
{% macro type_number() -%}
    {{ return(adapter.dispatch('type_number', 'course_analytics')()) }}
{%- endmacro %}

{% macro default__type_number() -%}
    numeric
{%- endmacro %}

{% macro spark__type_number() -%}
    decimal(38, 10)
{%- endmacro %}

{# A join that gives one row per key of a JSON object (`alias`.key, `alias`.value as JSON); none
   when the document is not an object. Written after the FROM item that holds `expression`. #}
{% macro json_object_entries(expression, alias) -%}
    {{ return(adapter.dispatch('json_object_entries', 'course_analytics')(expression, alias)) }}
{%- endmacro %}

{% macro default__json_object_entries(expression, alias) -%}
    cross join lateral jsonb_each(
        case when jsonb_typeof({{ expression }}) = 'object' then {{ expression }} end
    ) as {{ alias }}
{%- endmacro %}

{% macro spark__json_object_entries(expression, alias) -%}
    lateral view explode(from_json({{ expression }}, 'map<string, string>')) {{ alias }} as key, value
{%- endmacro %}

{# An instant truncated to its UTC hour, as Umami prints a date value: 2026-11-19T08:00:00Z. #}
{% macro utc_hour_text(expression) -%}
    {{ return(adapter.dispatch('utc_hour_text', 'course_analytics')(expression)) }}
{%- endmacro %}

{% macro default__utc_hour_text(expression) -%}
    to_char(date_trunc('hour', {{ expression }} at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
{%- endmacro %}

{% macro spark__utc_hour_text(expression) -%}
    date_format(date_trunc('HOUR', to_utc_timestamp({{ expression }}, current_timezone())), "yyyy-MM-dd'T'HH:mm:ss'Z'")
{%- endmacro %}
