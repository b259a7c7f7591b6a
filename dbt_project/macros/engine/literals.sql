{#
    What differs by engine, in one place (adapter.dispatch: <adapter>__name, else default__name).
    The default implementations are PostgreSQL's.
#}

{# An ISO-8601 instant (text, with its offset) as a timestamp-with-time-zone literal. #}
{% macro instant_literal(text) -%}
    {{ return(adapter.dispatch('instant_literal', 'course_analytics')(text)) }}
{%- endmacro %}

{% macro default__instant_literal(text) -%}
    cast('{{ text }}' as timestamptz)
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
    md5(cast(jsonb_build_array({{ fields | join(', ') }}) as text))
{%- endmacro %}
