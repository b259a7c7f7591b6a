{#
    Aggregates that differ by engine (adapter.dispatch; default__ is PostgreSQL's).

    last_non_null(value, order_by): the value of the group's last row with a non-null value in
    the order of `order_by` (a list of expressions, each ascending; the last row wins), null
    when every value is null. The order must be total (end it with a unique column).
#}
{% macro last_non_null(value, order_by) -%}
    {{ return(adapter.dispatch('last_non_null', 'course_analytics')(value, order_by)) }}
{%- endmacro %}

{% macro default__last_non_null(value, order_by) -%}
    (
        array_agg({{ value }} order by {{ order_by | join(' desc, ') }} desc)
        filter (where {{ value }} is not null)
    )[1]
{%- endmacro %}

{% macro spark__last_non_null(value, order_by) -%}
    max_by({{ value }}, struct({{ order_by | join(', ') }})) filter (where {{ value }} is not null)
{%- endmacro %}
