{#
    Custom incremental strategy `replace_date_range` (incremental_strategy='replace_date_range').

    Deletes every target row whose `rebuild_column` (model config, default stat_date) is
    >= rebuild_from_date and inserts the freshly computed rows, in the incremental
    materialization's single transaction. Unlike the built-in delete+insert (which deletes only
    the keys present in the new batch), a row in the rebuilt range that no longer has data is
    removed, so an incremental run and a --full-refresh agree on keys and counts.
#}
{% macro get_incremental_replace_date_range_sql(arg_dict) %}
    {%- set target_relation = arg_dict["target_relation"] -%}
    {%- set temp_relation = arg_dict["temp_relation"] -%}
    {%- set dest_columns = arg_dict["dest_columns"] -%}
    {%- set rebuild_column = config.get('rebuild_column', 'stat_date') -%}
    {%- set columns_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}

    delete from {{ target_relation }}
    where {{ adapter.quote(rebuild_column) }} >= {{ course_rebuild_from_date_sql() }};

    insert into {{ target_relation }} ({{ columns_csv }})
    select {{ columns_csv }}
    from {{ temp_relation }}
{% endmacro %}
