{#
    umami_source(table_name)

    The raw table `table_name` of the `umami` source, or an empty relation with the same
    columns when the loader has not created the table yet. dlt creates a table only when
    rows of its kind arrived (a website with no events, a run that rejected nothing), and a
    missing table must read as "no rows", not fail the build. The column names and types
    come from the source's YAML (`data_type` on every column), the raw tables' contract.
#}
{% macro umami_source(table_name) %}
    {%- set relation = source('umami', table_name) -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set existing = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {%- if existing is not none -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set node = graph.sources.values()
        | selectattr('source_name', 'equalto', 'umami')
        | selectattr('name', 'equalto', table_name)
        | first -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
        {%- if not column.data_type -%}
            {{ exceptions.raise_compiler_error("umami_source: source column " ~ table_name ~ "." ~ column.name ~ " has no data_type") }}
        {%- endif -%}
        {%- do columns.append("cast(null as " ~ column.data_type ~ ") as " ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {#- an alias: PostgreSQL before 16 rejects a subquery in FROM without one -#}
    {{ return("(select " ~ columns | join(", ") ~ " where false) as " ~ adapter.quote("empty_" ~ table_name)) }}
{% endmacro %}
