{#
    The end of a one-row lateral subquery whose expressions should be evaluated once per outer row.
    PostgreSQL inlines a lateral subquery without FROM into the outer query, so an expression
    referenced several times is evaluated several times; `limit 1` keeps it a subquery, evaluated
    once. Spark's optimizer already evaluates such a subquery once, and a LIMIT turns each one into
    a correlated subquery it decorrelates with extra window, join and aggregate operators (31
    windows and 15 joins for int_tracking__events_classified, against 4 and 2 without): nothing.
#}
{% macro lateral_evaluate_once() -%}
    {{ return(adapter.dispatch('lateral_evaluate_once', 'course_analytics')()) }}
{%- endmacro %}

{% macro default__lateral_evaluate_once() -%}
    limit 1
{%- endmacro %}

{% macro spark__lateral_evaluate_once() -%}
{%- endmacro %}
