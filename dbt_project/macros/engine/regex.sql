{#
    A regular-expression match (adapter.dispatch; default__ is PostgreSQL's). `pattern` is the
    text of a SQL string literal as PostgreSQL reads it (a quote doubled), in the dialect both
    engines share (loader/umami/sensitive.py): PostgreSQL's ARE and Java's regular expressions
    read it alike, but for the POSIX class [[:space:]], written \s for Java.
#}
{% macro regex_matches(text_expression, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'course_analytics')(text_expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(text_expression, pattern) -%}
    {{ text_expression }} ~ '{{ pattern }}'
{%- endmacro %}

{# Spark's string literals read backslash escapes: each backslash and quote is escaped. #}
{% macro spark__regex_matches(text_expression, pattern) -%}
    {%- set java = pattern | replace("''", "'") | replace('[[:space:]]', '\\s') -%}
    {{ text_expression }} rlike '{{ java | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}
