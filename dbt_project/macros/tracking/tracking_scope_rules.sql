{#
    What general tracking leaves out (tracking plan, rules 3 and 4).

      admin routes     a route, source route or page path /admin, /admin/..., /api/admin/...
      modules          var tracking_out_of_scope_modules (default rpg, big-fish, visual-novel,
                       story, combat), named by a route family (/<m>..., /api/<m>...,
                       /api/runtime/<m>..., /api/creation/<m>...: the first segment after those
                       prefixes is the module, and may continue with `-...`), by a `module` or
                       `moduleKey` property, by the event key's first word (rpg_battle_start) or
                       by a work's play type. Compared after lower-casing with `_` and spaces read
                       as `-` (big_fish = big-fish = bigfish). Only the leading segments count, so
                       a course or work id in a path (/c/story) does not.
                       work_play_start is the exception for the modules of var
                       tracking_work_play_in_scope_modules (default big-fish, visual-novel):
                       their plays are tracked by design.
      HTTP status      where the event carries a `status`, it must be 2xx.
#}

{% macro tracking_out_of_scope_modules(exempt=[]) %}
    {%- set modules_out = [] -%}
    {%- for module in var('tracking_out_of_scope_modules', ['rpg', 'big-fish', 'visual-novel', 'story', 'combat']) -%}
        {%- set name = module | string | lower | replace('_', '-') | trim -%}
        {%- if not modules.re.match('^[a-z0-9]+(-[a-z0-9]+)*$', name) -%}
            {{ exceptions.raise_compiler_error("var 'tracking_out_of_scope_modules': not a module name: " ~ module) }}
        {%- endif -%}
        {%- if name not in (exempt | map('lower') | map('replace', '_', '-') | list) -%}
            {%- do modules_out.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(modules_out) -}}
{% endmacro %}

{% macro tracking_work_play_in_scope_modules() %}
    {{- return(var('tracking_work_play_in_scope_modules', ['big-fish', 'visual-novel'])) -}}
{% endmacro %}

{#
    A regular expression matching a normalized text (see tracking_normalized_module_text) that
    names one of the modules as a whole value, a leading word or a route family; none when
    every module is exempt.
#}
{% macro tracking_module_pattern(exempt=[]) %}
    {%- set names = [] -%}
    {%- for name in tracking_out_of_scope_modules(exempt) -%}
        {%- do names.append(name | replace('-', '-?')) -%}
    {%- endfor -%}
    {%- if names | length == 0 -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return('^/?(api/)?((runtime|creation)/)?(' ~ names | join('|') ~ ')([-/?#]|$)') -}}
{% endmacro %}

{% macro tracking_normalized_module_text(text_expression) -%}
    translate(lower({{ text_expression }}), '_ ', '--')
{%- endmacro %}

{#
    True when any of the text expressions names an out-of-scope module (null texts do not).
    Guard: the text must contain the last word of a module name (rpg, fish, novel, ...) before
    the regular expression is tried.
#}
{% macro tracking_names_out_of_scope_module(text_expressions, exempt=[]) -%}
    {%- set pattern = tracking_module_pattern(exempt) -%}
    {%- set words = [] -%}
    {%- for name in tracking_out_of_scope_modules(exempt) -%}
        {%- do words.append(name.split('-') | last) -%}
    {%- endfor -%}
    {%- if pattern is none -%}
        false
    {%- else -%}
        (
            {%- for expression in text_expressions %}
                {%- set conditions = [] -%}
                {%- for word in words | unique -%}
                    {%- do conditions.append(dbt.position("'" ~ word ~ "'", "lower(" ~ expression ~ ")") ~ " > 0") -%}
                {%- endfor %}
                coalesce(
                    ({{ conditions | join(' or ') }})
                    and {{ regex_matches(tracking_normalized_module_text(expression), pattern) }},
                    false
                )
                {%- if not loop.last %} or{% endif %}
            {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{% macro tracking_admin_route_pattern() %}
    {{- return('^/?(api/)?admin([/?#]|$)') -}}
{% endmacro %}

{# True when any of the route/path text expressions is an admin route (guard: contains "admin"). #}
{% macro tracking_is_admin_route(text_expressions) -%}
    (
        {%- for expression in text_expressions %}
            coalesce(
                {{ dbt.position("'admin'", "lower(" ~ expression ~ ")") }} > 0
                and {{ regex_matches('lower(' ~ expression ~ ')', tracking_admin_route_pattern()) }},
                false
            )
            {%- if not loop.last %} or{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{#
    The HTTP status of the `status` property (tracking_property_columns) as a number: null when
    absent or JSON null, -1 when present but not a 3-digit status (a text such as "OK" is not a
    success).
#}
{% macro tracking_property_status() -%}
    {%- set slug = tracking_property_slug('status') -%}
    {%- set number_text = "coalesce(" ~ slug ~ "_number, " ~ slug ~ "_text)" -%}
    case
        when {{ slug }}_text is null then null
        when {{ slug }}_type = '5' and {{ slug }}_text = 'null' then null
        when {{ regex_matches(number_text, '^[[:space:]]*[0-9]{3}([.]0+)?[[:space:]]*$') }}
            then cast(cast(btrim({{ number_text }}) as {{ type_number() }}) as integer)
        else -1
    end
{%- endmacro %}
