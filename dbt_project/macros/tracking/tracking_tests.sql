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
                and {{ regex_matches(lowered_expression, pattern) }}
                then '{{ name }}'
        {%- endfor %}
    end
{%- endmacro %}

{#
    The entries of every object in a JSON column of `relation`, at any depth, each distinct
    (metadata_key, value_type, lowered_value) once: value_type is the JSON type of the value,
    lowered_value its text lower-cased.
#}
{% macro tracking_metadata_entries(relation, column) -%}
    {{ return(adapter.dispatch('tracking_metadata_entries', 'course_analytics')(relation, column)) }}
{%- endmacro %}

{% macro default__tracking_metadata_entries(relation, column) -%}
    select distinct
        entry.key as metadata_key,
        jsonb_typeof(entry.value) as value_type,
        lower(entry.value #>> '{}') as lowered_value
    from (
        select jsonb_path_query({{ column }}, 'strict $.** ? (@.type() == "object")') as json_object
        from {{ relation }}
    ) as objects
    cross join lateral jsonb_each(objects.json_object) as entry
{%- endmacro %}

{#
    Spark has no recursive JSON path: the top object's entries and those of the objects it
    holds (metadata_json's `asset`), which is as deep as metadata_json goes. Anything deeper,
    and any array, is not read: its entry has value_type 'not_checked', a finding.
#}
{% macro spark__tracking_metadata_entries(relation, column) -%}
    {%- set map_type = "'map<string, variant>'" -%}
    select distinct
        entries.metadata_key,
        case
            when entries.value_type = 'array' or (entries.depth = 2 and entries.value_type = 'object') then 'not_checked'
            else entries.value_type
        end as value_type,
        entries.lowered_value
    from (
        select
            entry.key as metadata_key,
            entry.depth,
            {{ json_value_type('entry.value') }} as value_type,
            lower({{ json_value_text('entry.value') }}) as lowered_value
        from (
            select
                top_entry.key,
                top_entry.value,
                1 as depth
            from {{ relation }}
            lateral view explode(from_json({{ column }}, {{ map_type }})) top_entry as key, value

            union all

            select
                nested_entry.key,
                nested_entry.value,
                2 as depth
            from {{ relation }}
            lateral view explode(from_json({{ column }}, {{ map_type }})) top_entry as key, value
            lateral view explode(from_json(to_json(top_entry.value), {{ map_type }})) nested_entry as key, value
        ) as entry
    ) as entries
{%- endmacro %}

{#
    metadata_json (a JSON object) holds no sensitive key and no sensitive value at any depth,
    and its routes carry no query string.
#}
{% test tracking_no_sensitive_metadata(model, column_name) %}

    with

    checked as (

        select {{ column_name }} as metadata
        from {{ model }}
        where {{ tracking_test_rows_filter() }}

    ),

    entries as (

        {{ tracking_metadata_entries('checked', 'metadata') }}

    ),

    findings as (

        select
            '(metadata_json)' as metadata_key,
            'not_a_json_object' as finding
        from checked
        where not {{ json_is_object('metadata') }}

        union all

        select
            metadata_key,
            case
                when {{ regex_matches('lower(metadata_key)', tracking_sensitive_key_pattern()) }} then 'sensitive_key'
                when value_type = 'not_checked' then 'nesting_not_checked'
                when metadata_key in ('route', 'sourceRoute') and {{ regex_matches('lowered_value', '[?#]') }}
                    then 'route_with_query'
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
