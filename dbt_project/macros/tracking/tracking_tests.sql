{#
    Generic tests of the tracking marts (tracking plan, rule 5). They report the key and the
    kind of finding, never the value itself: a failing test must not copy a secret into logs
    or into a stored-failures table. They check the rows this run wrote (see
    tracking_test_rows_filter), each distinct value once, in one pass.
#}

{# The first kind of sensitive value a lower-cased text expression matches; null when none. #}
{% macro tracking_sensitive_value_finding(lowered_expression) -%}
    case
        {%- for name, guard, pattern in tracking_sensitive_value_patterns() %}
            when
                {{ tracking_sensitive_value_guard(guard, lowered_expression) }}
                and {{ lowered_expression }} ~ '{{ pattern }}'
                then '{{ name }}'
        {%- endfor %}
    end
{%- endmacro %}

{#
    metadata_json (a jsonb object) holds no sensitive key and no sensitive value at any depth,
    and its routes carry no query string.
#}
{% test tracking_no_sensitive_metadata(model, column_name) %}

    with

    checked as (

        select {{ column_name }} as metadata
        from {{ model }}
        where {{ tracking_test_rows_filter() }}

    ),

    objects as (

        select jsonb_path_query(metadata, 'strict $.** ? (@.type() == "object")') as json_object
        from checked

    ),

    entries as (

        select distinct
            entry.key as metadata_key,
            jsonb_typeof(entry.value) as value_type,
            lower(entry.value #>> '{}') as lowered_value
        from objects
        cross join lateral jsonb_each(objects.json_object) as entry

    ),

    findings as (

        select
            '(metadata_json)' as metadata_key,
            'not_a_json_object' as finding
        from checked
        where jsonb_typeof(metadata) <> 'object'

        union all

        select
            metadata_key,
            case
                when lower(metadata_key) ~ '{{ tracking_sensitive_key_pattern() }}' then 'sensitive_key'
                when metadata_key in ('route', 'sourceRoute') and lowered_value ~ '[?#]' then 'route_with_query'
                when value_type in ('string', 'number')
                    then {{ tracking_sensitive_value_finding('lowered_value') }}
            end as finding
        from entries

    )

    select
        metadata_key,
        finding,
        count(*) as occurrences
    from findings
    where finding is not null
    group by 1, 2

{% endtest %}

{# A text column holds no value that looks sensitive (phone number, token, e-mail, ...). #}
{% test tracking_no_sensitive_value(model, column_name) %}

    with

    checked as (

        select distinct lower({{ column_name }}) as lowered_value
        from {{ model }}
        where
            {{ tracking_test_rows_filter() }}
            and {{ column_name }} is not null

    ),

    findings as (

        select {{ tracking_sensitive_value_finding('lowered_value') }} as finding
        from checked

    )

    select
        finding,
        count(*) as occurrences
    from findings
    where finding is not null
    group by 1

{% endtest %}
