{#
    publish_marts(full_refresh=false)

    Run by the pipeline AFTER `dbt build` succeeded, with the build's vars:
        dbt run-operation publish_marts --args '{full_refresh: false}' --vars '{as_of: ..., rebuild_from_date: ...}'

    In ONE transaction it makes the published schema (var marts_schema, default analytics)
    equal to the build schema's marts, as marked in each model's / seed's config
    meta.publish:
      {strategy: replace}                      copy the whole table: create <t>__publish_new
                                               with the same columns and types, fill it, swap
                                               the names, drop the old table (small marts)
      {strategy: partition, column: stat_date} replace only the rows with column >= the
                                               rebuild date (delete + insert); a full copy when
                                               the published table does not exist yet, when
                                               full_refresh, or when its columns differ
      {strategy: view, macro: m, relations: [a, b]}
                                               re-create the view over the PUBLISHED tables a, b
                                               with the SQL of macro m(a, b)
    and records the publication in <marts_schema>.mart_publications.

    The partition rebuild date is least(rebuild_from_date, the rebuild_from_date of every
    build recorded in <build schema>.build_runs (on-run-start hook record_build_run) since
    the build the last publication published): builds that changed the build schema but were
    never published (a test failed, the publish crashed) are carried over in full; a full
    copy when one of them was a --full-refresh or when no build log exists.

    Nothing is committed until the end: a crash or error at any point rolls everything back,
    so readers see either the whole old version or the whole new one. A transaction-scoped
    advisory lock serialises concurrent publishers. The run's values are the vars the models
    read (as_of, sync_time, rebuild_from_date: macros/course/course_vars.sql).
#}
{% macro publish_marts(full_refresh=false) %}
    {{ return(adapter.dispatch('publish_marts', 'course_analytics')(full_refresh)) }}
{% endmacro %}


{# The published schema (var marts_schema), never the build schema. #}
{% macro _publish_marts_schema() %}
    {%- set marts_schema = var('marts_schema', 'analytics') -%}
    {%- if marts_schema == target.schema -%}
        {{ exceptions.raise_compiler_error("publish_marts: marts_schema and the build schema are both '" ~ target.schema ~ "'") }}
    {%- endif -%}
    {{- return(marts_schema) -}}
{% endmacro %}


{# A run-operation argument as a boolean (--args gives text or a YAML boolean). #}
{% macro _publish_flag(value) %}
    {{- return((value | string | lower) in ['true', '1', 'yes']) -}}
{% endmacro %}


{# What to publish, from the project's graph: {tables: [...], views: [...]}, each {name, spec}. #}
{% macro _publish_entries() %}
    {%- set tables = [] -%}
    {%- set views = [] -%}
    {%- for node in graph.nodes.values() | sort(attribute='name') -%}
        {%- if node.resource_type in ['model', 'seed'] and node.package_name == project_name -%}
            {%- set meta = node.config.get('meta', {}) or node.get('meta', {}) or {} -%}
            {%- set spec = meta.get('publish') -%}
            {%- if spec -%}
                {%- set entry = {'name': node.alias or node.name, 'spec': spec} -%}
                {%- if spec.get('strategy') == 'view' -%}
                    {%- do views.append(entry) -%}
                {%- elif spec.get('strategy') in ['replace', 'partition'] -%}
                    {%- do tables.append(entry) -%}
                {%- else -%}
                    {{ exceptions.raise_compiler_error("publish_marts: " ~ node.name ~ " has an unknown publish strategy: " ~ spec) }}
                {%- endif -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for entry in tables -%}
        {%- set relation = adapter.get_relation(database=target.database, schema=target.schema, identifier=entry.name) -%}
        {%- if relation is none or not relation.is_table -%}
            {{ exceptions.raise_compiler_error("publish_marts: " ~ target.schema ~ "." ~ entry.name ~ " is not a table; run `dbt build` first") }}
        {%- endif -%}
    {%- endfor -%}
    {{- return({'tables': tables, 'views': views}) -}}
{% endmacro %}


{# The published relations of the views (strategy view), over the published tables. #}
{% macro _publish_view_sql(entry, marts_schema) %}
    {%- set view_macro = context.get(entry.spec.macro) -%}
    {%- if view_macro is none -%}
        {{ exceptions.raise_compiler_error("publish_marts: view " ~ entry.name ~ ": no macro named " ~ entry.spec.macro) }}
    {%- endif -%}
    {%- set inputs = [] -%}
    {%- for name in entry.spec.relations -%}
        {%- do inputs.append(api.Relation.create(database=target.database, schema=marts_schema, identifier=name)) -%}
    {%- endfor -%}
    {{- return(view_macro(*inputs)) -}}
{% endmacro %}


{% macro default__publish_marts(full_refresh) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}

    {%- set build_schema = target.schema -%}
    {%- set marts_schema = _publish_marts_schema() -%}
    {%- set full_refresh = _publish_flag(full_refresh) -%}
    {%- set from_date = course_rebuild_from_date_text() -%}
    {#- every build table must exist before anything is touched -#}
    {%- set entries = _publish_entries() -%}
    {%- set tables = entries.tables -%}
    {%- set views = entries.views -%}

    {%- set report = [] -%}
    {%- set publications = _publish_relation(marts_schema, 'mart_publications') -%}

    {#- ---- one transaction from here on ----
        dbt-postgres relies on psycopg2's implicit BEGIN but ends transactions with a bare
        COMMIT statement, after which psycopg2 sends no BEGIN again: every statement would
        commit on its own. So BEGIN and COMMIT are explicit here; an error anywhere before
        the COMMIT rolls everything back (dbt's rollback, or the server when the connection
        drops). -#}
    {%- do run_query("begin") -%}
    {%- do run_query("select pg_advisory_xact_lock(hashtext('course_analytics.publish_marts'))") -%}
    {%- do run_query("create schema if not exists " ~ adapter.quote(marts_schema)) -%}
    {%- do run_query(
        "create table if not exists " ~ publications ~ " ("
        ~ "publication_id bigint generated always as identity primary key, "
        ~ "published_at timestamptz not null default clock_timestamp(), "
        ~ "as_of timestamptz, sync_time timestamptz, rebuild_from_date date, "
        ~ "full_refresh boolean not null, build_schema text not null, build_run_id bigint, relations jsonb not null)"
    ) -%}
    {%- do run_query("alter table " ~ publications ~ " add column if not exists build_run_id bigint") -%}
    {%- set builds = _publish_unpublished_builds(build_schema, publications) -%}

    {#- views first: they depend on the tables that are about to be swapped -#}
    {%- for entry in views -%}
        {%- do run_query("drop view if exists " ~ _publish_relation(marts_schema, entry.name)) -%}
    {%- endfor -%}

    {%- for entry in tables -%}
        {%- set source = _publish_relation(build_schema, entry.name) -%}
        {%- set published_exists = _publish_table_exists(marts_schema, entry.name) -%}
        {%- if entry.spec.strategy == 'partition'
              and published_exists
              and not full_refresh
              and builds.known
              and not builds.full_refresh
              and _publish_columns(build_schema, entry.name) == _publish_columns(marts_schema, entry.name) -%}
            {%- set column = entry.spec.get('column', 'stat_date') -%}
            {#- ISO dates: the earlier one is the smaller text -#}
            {%- set effective_from = [from_date, builds.rebuild_from_date] | reject('none') | map('string') | min -%}
            {%- set target_relation = _publish_relation(marts_schema, entry.name) -%}
            {%- set columns_csv = _publish_columns(build_schema, entry.name) | map(attribute=0) | map('string') | list -%}
            {%- set quoted = [] -%}
            {%- for c in columns_csv -%}{%- do quoted.append(adapter.quote(c)) -%}{%- endfor -%}
            {%- do run_query("delete from " ~ target_relation ~ " where " ~ adapter.quote(column) ~ " >= " ~ date_literal(effective_from)) -%}
            {%- do run_query("insert into " ~ target_relation ~ " (" ~ quoted | join(', ') ~ ") select " ~ quoted | join(', ')
                             ~ " from " ~ source ~ " where " ~ adapter.quote(column) ~ " >= " ~ date_literal(effective_from)) -%}
            {%- do report.append({'relation': entry.name, 'strategy': 'partition', 'from': effective_from}) -%}
        {%- else -%}
            {%- do _publish_replace_table(build_schema, marts_schema, entry.name, published_exists) -%}
            {%- set indexes = entry.spec.get('indexes', [entry.spec.column] if entry.spec.get('column') else []) -%}
            {%- for index_column in indexes -%}
                {%- do run_query("create index on " ~ _publish_relation(marts_schema, entry.name) ~ " (" ~ adapter.quote(index_column) ~ ")") -%}
            {%- endfor -%}
            {%- do report.append({'relation': entry.name, 'strategy': 'replace' if entry.spec.strategy == 'replace' else 'full_copy'}) -%}
        {%- endif -%}
    {%- endfor -%}

    {%- for entry in views -%}
        {%- do run_query("create view " ~ _publish_relation(marts_schema, entry.name) ~ " as " ~ _publish_view_sql(entry, marts_schema)) -%}
        {%- do report.append({'relation': entry.name, 'strategy': 'view'}) -%}
    {%- endfor -%}

    {%- do run_query(
        "insert into " ~ publications
        ~ " (as_of, sync_time, rebuild_from_date, full_refresh, build_schema, build_run_id, relations) values ("
        ~ course_as_of_ts() ~ ", " ~ course_sync_time_ts() ~ ", "
        ~ course_rebuild_from_date_sql() ~ ", " ~ (full_refresh | string | lower) ~ ", "
        ~ "'" ~ build_schema | replace("'", "''") ~ "', "
        ~ (builds.last_build_run_id if builds.last_build_run_id is not none else 'null') ~ ", "
        ~ "cast('" ~ tojson(report) | replace("'", "''") ~ "' as jsonb))"
    ) -%}

    {%- do run_query("commit") -%}
    {%- do log("publish_marts: published " ~ report | length ~ " relations to " ~ marts_schema ~ " (rebuild_from_date "
               ~ from_date ~ ", full_refresh " ~ full_refresh ~ "): " ~ tojson(report), info=True) -%}
    {{ return(report) }}
{% endmacro %}


{% macro _publish_relation(schema, name) -%}
    {{ adapter.quote(schema) }}.{{ adapter.quote(name) }}
{%- endmacro %}


{% macro _publish_table_exists(schema, name) %}
    {%- set result = run_query(
        "select count(*) from pg_catalog.pg_tables where schemaname = '" ~ schema ~ "' and tablename = '" ~ name ~ "'"
    ) -%}
    {{- return(result.columns[0].values()[0] > 0) -}}
{% endmacro %}


{# [(column name, type)] in column order; equal lists mean the rows can be moved as they are. #}
{% macro _publish_columns(schema, name) %}
    {%- set result = run_query(
        "select a.attname, format_type(a.atttypid, a.atttypmod) "
        ~ "from pg_catalog.pg_attribute a join pg_catalog.pg_class c on c.oid = a.attrelid "
        ~ "join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
        ~ "where n.nspname = '" ~ schema ~ "' and c.relname = '" ~ name ~ "' and a.attnum > 0 and not a.attisdropped "
        ~ "order by a.attnum"
    ) -%}
    {%- set columns = [] -%}
    {%- for row in result.rows -%}
        {%- do columns.append([row[0], row[1]]) -%}
    {%- endfor -%}
    {{- return(columns) -}}
{% endmacro %}


{#
    What the builds since the last publication may have changed, from <build schema>.build_runs:
    {known: false} without a build log; else the least rebuild_from_date and whether any was a
    full refresh among the builds after the one the last publication published, and the
    newest build_run_id (recorded with this publication).
#}
{% macro _publish_unpublished_builds(build_schema, publications) %}
    {%- if not _publish_table_exists(build_schema, 'build_runs') -%}
        {{- return({'known': false, 'rebuild_from_date': none, 'full_refresh': false, 'last_build_run_id': none}) -}}
    {%- endif -%}
    {%- set build_runs = _publish_relation(build_schema, 'build_runs') -%}
    {%- set result = run_query(
        "with published as (select coalesce(max(build_run_id), 0) as build_run_id from " ~ publications ~ ") "
        ~ "select min(b.rebuild_from_date), coalesce(bool_or(b.full_refresh), false), "
        ~ "(select max(build_run_id) from " ~ build_runs ~ ") "
        ~ "from " ~ build_runs ~ " as b cross join published where b.build_run_id > published.build_run_id"
    ) -%}
    {%- set row = result.rows[0] -%}
    {{- return({'known': true, 'rebuild_from_date': row[0], 'full_refresh': row[1], 'last_build_run_id': row[2]}) -}}
{% endmacro %}


{% macro _publish_replace_table(build_schema, marts_schema, name, published_exists) %}
    {%- set new_name = name ~ '__publish_new' -%}
    {%- set old_name = name ~ '__publish_old' -%}
    {%- set new_relation = _publish_relation(marts_schema, new_name) -%}
    {%- do run_query("drop table if exists " ~ new_relation) -%}
    {%- do run_query("drop table if exists " ~ _publish_relation(marts_schema, old_name)) -%}
    {#- same columns, types, not-null/check constraints and defaults; no indexes (small marts) -#}
    {%- do run_query(
        "create table " ~ new_relation ~ " (like " ~ _publish_relation(build_schema, name)
        ~ " including defaults including constraints including comments)"
    ) -%}
    {%- do run_query("insert into " ~ new_relation ~ " select * from " ~ _publish_relation(build_schema, name)) -%}
    {%- if published_exists -%}
        {%- do run_query("alter table " ~ _publish_relation(marts_schema, name) ~ " rename to " ~ adapter.quote(old_name)) -%}
    {%- endif -%}
    {%- do run_query("alter table " ~ new_relation ~ " rename to " ~ adapter.quote(name)) -%}
    {%- if published_exists -%}
        {%- do run_query("drop table " ~ _publish_relation(marts_schema, old_name)) -%}
    {%- endif -%}
{% endmacro %}
