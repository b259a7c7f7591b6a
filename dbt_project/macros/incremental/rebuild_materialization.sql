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

{#
    The materialization of an intermediate model whose SQL is too long for a Spark view: a view
    on PostgreSQL; a table on Spark, whose Derby metastore keeps a view's text in at most 32,700
    characters (int_tracking__events_classified's, the sensitive-value rules inlined, is longer).
#}
{% macro long_view_materialization() -%}
    {{ return(adapter.dispatch('long_view_materialization', 'course_analytics')()) }}
{%- endmacro %}

{% macro default__long_view_materialization() -%}
    {{ return('view') }}
{%- endmacro %}

{% macro spark__long_view_materialization() -%}
    {{ return('table') }}
{%- endmacro %}
