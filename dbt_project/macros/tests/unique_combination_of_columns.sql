{#
    Fails for every combination of the given columns that occurs more than once
    (null counts as a value: two rows with the same nulls are duplicates).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

    {%- set columns_csv = combination_of_columns | join(', ') -%}

    select
        {{ columns_csv }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1

{% endtest %}
