{#
    grant_analyst_access(role)

        dbt run-operation grant_analyst_access --args '{role: analyst_readonly}'

    Creates (when missing) a NOLOGIN role that can read the published marts and nothing else:
    USAGE on the marts schema (var marts_schema, default analytics), SELECT on its tables and
    views, and the same by default for tables and views created there later by the role that
    runs this (the pipeline's role, which publishes). It revokes anything the role has on the
    raw schema (var raw_schema) and the build schema. Grant it to login roles:
    `grant analyst_readonly to alice;`. Idempotent.
#}
{% macro grant_analyst_access(role) %}
    {%- if not modules.re.match('^[a-z_][a-z0-9_]{0,62}$', role) -%}
        {{ exceptions.raise_compiler_error("grant_analyst_access: role must be a lower-case identifier, got: " ~ role) }}
    {%- endif -%}
    {%- set marts = adapter.quote(var('marts_schema', 'analytics')) -%}
    {%- set quoted_role = adapter.quote(role) -%}

    {%- set statements = [
        "do $grant$ begin if not exists (select from pg_catalog.pg_roles where rolname = '" ~ role ~ "') then "
            ~ "create role " ~ quoted_role ~ " nologin; end if; end $grant$",
        "alter role " ~ quoted_role ~ " nologin",
        "create schema if not exists " ~ marts,
        "grant usage on schema " ~ marts ~ " to " ~ quoted_role,
        "grant select on all tables in schema " ~ marts ~ " to " ~ quoted_role,
        "alter default privileges in schema " ~ marts ~ " grant select on tables to " ~ quoted_role,
    ] -%}
    {%- for schema in [var('raw_schema', 'umami_raw'), target.schema] -%}
        {%- set result = run_query("select count(*) from pg_catalog.pg_namespace where nspname = '" ~ schema ~ "'") -%}
        {%- if result.columns[0].values()[0] > 0 -%}
            {%- do statements.append("revoke all on all tables in schema " ~ adapter.quote(schema) ~ " from " ~ quoted_role) -%}
            {%- do statements.append("revoke all on schema " ~ adapter.quote(schema) ~ " from " ~ quoted_role) -%}
        {%- endif -%}
    {%- endfor -%}

    {#- one transaction (see publish_marts for why the BEGIN must be explicit) -#}
    {%- do run_query("begin") -%}
    {%- for statement in statements -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
    {%- do run_query("commit") -%}
    {%- do log("grant_analyst_access: " ~ role ~ " can read schema " ~ var('marts_schema', 'analytics') ~ " only", info=True) -%}
{% endmacro %}
