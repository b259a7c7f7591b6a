{#
    The raw tables as the engine reads them (an on-run-start hook, dbt_project.yml).

    latest_copies(relation, keys, whole_load=false): the rows of a raw table, the latest copy of
    each key. On PostgreSQL dlt merges on the keys: the table already holds one copy. On a lake
    every load appends (loader/pipeline.py): the copy of the latest load (_dlt_load_id) wins; with
    whole_load, every row of that load for `keys` (a merge key, as dlt's delete-insert keeps them).

    raw_tables(): nothing on PostgreSQL (dlt creates the tables). On Spark one table per source
    table of the project, over the lake's parquet files (var lake_url), re-created on every run: a
    new load's files and columns are seen, and dropping one of these external tables leaves its files.
#}

{% macro latest_copies(relation, keys, whole_load=false) -%}
    {{ return(adapter.dispatch('latest_copies', 'course_analytics')(relation, keys, whole_load)) }}
{%- endmacro %}

{% macro default__latest_copies(relation, keys, whole_load) -%}
    {{ relation }}
{%- endmacro %}

{% macro spark__latest_copies(relation, keys, whole_load) -%}
    (
        select *
        from (
            select
                *,
                {{ 'dense_rank' if whole_load else 'row_number' }}() over (partition by {{ keys | join(', ') }} order by _dlt_load_id desc) as _copy_rank
            from {{ relation }}
        ) as copies
        where _copy_rank = 1
    ) as latest_copies
{%- endmacro %}

{% macro raw_tables() -%}
    {{ return(adapter.dispatch('raw_tables', 'course_analytics')()) }}
{%- endmacro %}

{% macro default__raw_tables() -%}
    select 1
{%- endmacro %}

{% macro spark__raw_tables() -%}
    {%- if execute and flags.WHICH in ['build', 'run', 'test', 'seed', 'compile', 'docs', 'show'] -%}
        {%- set lake = var('lake_url', none) -%}
        {%- if not lake -%}
            {{ exceptions.raise_compiler_error("var 'lake_url' is not set: the Spark target reads the raw tables from the lake (course-analytics sets it from LAKE_URL)") }}
        {%- endif -%}
        {#- the project's own sources (models/staging/umami/_umami__sources.yml): dlt writes
            each table to <lake>/<dataset>/<table>, and the dataset is the source's schema -#}
        {%- for source in graph.sources.values() | selectattr('package_name', 'equalto', project_name) | sort(attribute='name') -%}
            {%- do run_query("create database if not exists " ~ source.schema) -%}
            {%- do run_query("drop table if exists " ~ source.schema ~ "." ~ source.identifier) -%}
            {%- do run_query("create table " ~ source.schema ~ "." ~ source.identifier
                             ~ " using parquet options (mergeSchema 'true') location '"
                             ~ lake | replace("'", "") ~ "/" ~ source.schema ~ "/" ~ source.identifier ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
