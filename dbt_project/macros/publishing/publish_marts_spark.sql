{#
    spark__publish_marts(full_refresh): publishing on Spark, run like publish_marts after a
    successful `dbt build`. Spark has no transactions, so no mart is ever changed in place:

      1. every published table is copied whole from the build schema to a new version,
         <marts_schema>.<name>__v<N> (N: the next publication's number);
      2. <marts_schema>.<name> is a view, re-pointed at version N (a metastore change each);
         the views of strategy view are re-created over the published names;
      3. the publication is recorded in <marts_schema>.mart_publications;
      4. the versions before N are dropped.

    A failure before step 2 leaves every view on the previous version (an orphan version N is
    replaced by the next publish); readers never see a half-copied table. A crash during step 2
    leaves some marts on N and some on N-1 until the next publish. full_refresh changes nothing
    here: every publication is a whole copy.
#}
{% macro spark__publish_marts(full_refresh) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set build_schema = target.schema -%}
    {%- set marts_schema = _publish_marts_schema() -%}
    {%- set full_refresh = _publish_flag(full_refresh) -%}
    {%- set entries = _publish_entries() -%}
    {%- set publications = marts_schema ~ '.mart_publications' -%}

    {%- do run_query("create database if not exists " ~ marts_schema) -%}
    {%- do run_query(
        "create table if not exists " ~ publications ~ " (publication_id bigint, published_at timestamp, "
        ~ "as_of timestamp, sync_time timestamp, rebuild_from_date date, full_refresh boolean, "
        ~ "build_schema string, build_run_id bigint, relations string) using parquet"
    ) -%}
    {%- set version = run_query("select coalesce(max(publication_id), 0) + 1 from " ~ publications).columns[0].values()[0] | int -%}

    {%- set report = [] -%}
    {%- for entry in entries.tables -%}
        {%- set versioned = marts_schema ~ '.' ~ entry.name ~ '__v' ~ version -%}
        {%- do run_query("drop table if exists " ~ versioned) -%}
        {%- do run_query("create table " ~ versioned ~ " using parquet as select * from " ~ build_schema ~ "." ~ entry.name) -%}
    {%- endfor -%}
    {%- for entry in entries.tables -%}
        {%- do run_query("create or replace view " ~ marts_schema ~ "." ~ entry.name ~ " as select * from "
                         ~ marts_schema ~ "." ~ entry.name ~ "__v" ~ version) -%}
        {%- do report.append({'relation': entry.name, 'strategy': 'version', 'version': version}) -%}
    {%- endfor -%}
    {%- for entry in entries.views -%}
        {%- do run_query("create or replace view " ~ marts_schema ~ "." ~ entry.name ~ " as " ~ _publish_view_sql(entry, marts_schema)) -%}
        {%- do report.append({'relation': entry.name, 'strategy': 'view'}) -%}
    {%- endfor -%}

    {%- do run_query(
        "insert into " ~ publications ~ " select " ~ version ~ ", current_timestamp(), "
        ~ course_as_of_ts() ~ ", " ~ course_sync_time_ts() ~ ", " ~ course_rebuild_from_date_sql() ~ ", "
        ~ (full_refresh | string | lower) ~ ", '" ~ build_schema | replace("'", "") ~ "', cast(null as bigint), '"
        ~ tojson(report) | replace("'", "") ~ "'"
    ) -%}

    {%- for table in run_query("show tables in " ~ marts_schema).columns['tableName'].values() -%}
        {%- set name, sep, number = table.rpartition('__v') -%}
        {%- if sep and number.isdigit() and number | int < version -%}
            {%- do run_query("drop table if exists " ~ marts_schema ~ "." ~ table) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do log("publish_marts: published " ~ report | length ~ " relations to " ~ marts_schema ~ " as version " ~ version, info=True) -%}
    {{ return(report) }}
{% endmacro %}
