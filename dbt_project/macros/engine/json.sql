{#
    JSON values that the tests and the tracking marts inspect (adapter.dispatch; default__ is
    PostgreSQL's jsonb). On Spark a JSON document is text (type_json) and a JSON value is a
    VARIANT (parse_json): unlike get_json_object it keeps a string apart from a number.
#}

{# True when a JSON document is an object; null for null. #}
{% macro json_is_object(expression) -%}
    {{ return(adapter.dispatch('json_is_object', 'course_analytics')(expression)) }}
{%- endmacro %}

{% macro default__json_is_object(expression) -%}
    jsonb_typeof({{ expression }}) = 'object'
{%- endmacro %}

{# json_object_keys: null for any other JSON value and for text that is no JSON. #}
{% macro spark__json_is_object(expression) -%}
    (case when {{ expression }} is not null then json_object_keys({{ expression }}) is not null end)
{%- endmacro %}

{# The JSON value under `key` of a JSON document (JSON null stays a value; absent: null). #}
{% macro json_value_at(expression, key) -%}
    {{ return(adapter.dispatch('json_value_at', 'course_analytics')(expression, key)) }}
{%- endmacro %}

{% macro default__json_value_at(expression, key) -%}
    ({{ expression }} -> '{{ key }}')
{%- endmacro %}

{% macro spark__json_value_at(expression, key) -%}
    variant_get(parse_json({{ expression }}), {{ spark_json_path([key]) }})
{%- endmacro %}

{# The type of a JSON value: object, array, string, number, boolean or null. #}
{% macro json_value_type(value_expression) -%}
    {{ return(adapter.dispatch('json_value_type', 'course_analytics')(value_expression)) }}
{%- endmacro %}

{% macro default__json_value_type(value_expression) -%}
    jsonb_typeof({{ value_expression }})
{%- endmacro %}

{% macro spark__json_value_type(value_expression) -%}
    case
        when {{ value_expression }} is null then null
        when schema_of_variant({{ value_expression }}) like 'OBJECT%' then 'object'
        when schema_of_variant({{ value_expression }}) like 'ARRAY%' then 'array'
        when schema_of_variant({{ value_expression }}) = 'STRING' then 'string'
        when schema_of_variant({{ value_expression }}) = 'BOOLEAN' then 'boolean'
        when schema_of_variant({{ value_expression }}) = 'VOID' then 'null'
        else 'number'
    end
{%- endmacro %}

{# A JSON value as text: a string unquoted, anything else as JSON. #}
{% macro json_value_text(value_expression) -%}
    {{ return(adapter.dispatch('json_value_text', 'course_analytics')(value_expression)) }}
{%- endmacro %}

{% macro default__json_value_text(value_expression) -%}
    ({{ value_expression }} #>> '{}')
{%- endmacro %}

{% macro spark__json_value_text(value_expression) -%}
    variant_get({{ value_expression }}, '$', 'string')
{%- endmacro %}

{# Spark: a text as a JSON string (quoted and escaped): to_json of a one-element array, its
   brackets cut (as in spark__course_surrogate_key). #}
{% macro spark_json_string(text_expression) -%}
    regexp_extract(to_json(array(cast({{ text_expression }} as string))), '^\\[(.*)\\]$', 1)
{%- endmacro %}
