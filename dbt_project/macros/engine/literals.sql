{#
    What differs by engine, in one place (adapter.dispatch: <adapter>__name, else default__name).
    The default implementations are PostgreSQL's.
#}

{# An ISO-8601 instant (text, with its offset) as a timestamp-with-time-zone literal. #}
{% macro instant_literal(text) -%}
    {{ return(adapter.dispatch('instant_literal', 'course_analytics')(text)) }}
{%- endmacro %}

{% macro default__instant_literal(text) -%}
    cast('{{ text }}' as {{ type_instant() }})
{%- endmacro %}

{# A YYYY-MM-DD date (text) as a date literal. #}
{% macro date_literal(text) -%}
    {{ return(adapter.dispatch('date_literal', 'course_analytics')(text)) }}
{%- endmacro %}

{% macro default__date_literal(text) -%}
    cast('{{ text }}' as date)
{%- endmacro %}

{# A deterministic surrogate key: md5 of a JSON array of the values (no separator collisions). #}
{% macro course_surrogate_key(fields) -%}
    {{ return(adapter.dispatch('course_surrogate_key', 'course_analytics')(fields)) }}
{%- endmacro %}

{% macro default__course_surrogate_key(fields) -%}
    md5(cast(jsonb_build_array({{ fields | join(', ') }}) as {{ dbt.type_string() }}))
{%- endmacro %}

{# Spark: string to timestamp parses ISO-8601 with its offset; the session's zone is UTC. #}
{% macro spark__instant_literal(text) -%}
    cast('{{ text }}' as timestamp)
{%- endmacro %}

{# The same text as PostgreSQL's jsonb array (elements separated by ", "), so the keys are equal on
   both engines: each value as text rendered by to_json as a one-element array, its brackets cut. #}
{% macro spark__course_surrogate_key(fields) -%}
    {%- set elements = [] -%}
    {%- for field in fields -%}
        {%- set element = 'to_json(array(cast(' ~ field ~ ' as string)))' -%}
        {%- do elements.append('substring(' ~ element ~ ', 2, length(' ~ element ~ ') - 2)') -%}
    {%- endfor -%}
    md5(concat('[', concat_ws(', ', {{ elements | join(', ') }}), ']'))
{%- endmacro %}
