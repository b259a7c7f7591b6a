{#
    Custom incremental strategy `replace_rebuilt_range` (incremental_strategy='replace_rebuilt_range').

    Deletes every target row whose `rebuild_column` (model config) is on or after the first
    rebuilt day and inserts the freshly computed rows, in the incremental materialization's
    single transaction. Unlike the built-in delete+insert (which deletes only the keys present
    in the new batch), a row in the rebuilt range that no longer has data is removed, so an
    incremental run and a --full-refresh agree on keys and counts.

    model config:
      rebuild_column  the date column the rows are rebuilt by (stat_date, day_key, ...)
      rebuild_days    'utc' (default): UTC dates from rebuild_from_date on;
                      'business': business days (var business_timezone) from the one holding
                      rebuild_from_date 00:00 UTC on (macros/tracking/tracking_vars.sql)
#}
{% macro get_incremental_replace_rebuilt_range_sql(arg_dict) %}
    {%- set target_relation = arg_dict["target_relation"] -%}
    {%- set temp_relation = arg_dict["temp_relation"] -%}
    {%- set dest_columns = arg_dict["dest_columns"] -%}
    {%- set rebuild_column = config.require('rebuild_column') -%}
    {%- set rebuild_days = config.get('rebuild_days', 'utc') -%}
    {%- if rebuild_days == 'utc' -%}
        {%- set first_day = course_rebuild_from_date_sql() -%}
    {%- elif rebuild_days == 'business' -%}
        {%- set first_day = tracking_rebuild_from_day_sql() -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("replace_rebuilt_range: rebuild_days must be 'utc' or 'business', got: " ~ rebuild_days) }}
    {%- endif -%}
    {%- set columns_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}

    delete from {{ target_relation }}
    where {{ adapter.quote(rebuild_column) }} >= {{ first_day }};

    insert into {{ target_relation }} ({{ columns_csv }})
    select {{ columns_csv }}
    from {{ temp_relation }}
{% endmacro %}
