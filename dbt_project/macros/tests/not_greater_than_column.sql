{# Fails for every row where column_name is greater than the other column of the same row. #}
{% test not_greater_than_column(model, column_name, other_column) %}

    select
        {{ column_name }},
        {{ other_column }}
    from {{ model }}
    where {{ column_name }} > {{ other_column }}

{% endtest %}
