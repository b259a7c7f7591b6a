{#
    The materialization of the models rebuilt by date (config materialized=rebuild_materialization()):
    'incremental' with replace_rebuilt_range on PostgreSQL; 'table' on Spark, where they are
    rebuilt whole on every run for now (so created_at and updated_at are the run's sync_time there).
#}
{% macro rebuild_materialization() -%}
    {{ return(adapter.dispatch('rebuild_materialization', 'course_analytics')()) }}
{%- endmacro %}

{% macro default__rebuild_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__rebuild_materialization() -%}
    {{ return('table') }}
{%- endmacro %}
