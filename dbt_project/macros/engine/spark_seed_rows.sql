{#
    Seeds on Spark: dbt-spark's session method binds an empty CSV field as the text 'None'
    instead of NULL (its cursor formats every parameter as text). The rows are written here as
    literals cast to the table's column types, NULL for an empty field, in one INSERT per seed
    (the seeds are small).
#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set relation = api.Relation.create(schema=model.schema, identifier=model.alias) -%}
    {%- set types = adapter.get_columns_in_relation(relation) | map(attribute='dtype') | list -%}
    {%- set rows = [] -%}
    {%- for row in agate_table.rows -%}
        {%- set values = [] -%}
        {%- for value in row -%}
            {%- if value is none -%}
                {%- do values.append('null') -%}
            {%- else -%}
                {%- set text = value | string | lower if (value is sameas true or value is sameas false) else value | string -%}
                {%- do values.append("cast('" ~ (text | replace("\\", "\\\\") | replace("'", "\\'")) ~ "' as " ~ types[loop.index0] ~ ")") -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do rows.append('(' ~ values | join(', ') ~ ')') -%}
    {%- endfor -%}
    {%- if rows -%}
        {%- do adapter.add_query("insert into " ~ relation ~ " values " ~ rows | join(', '), abridge_sql_log=True) -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
