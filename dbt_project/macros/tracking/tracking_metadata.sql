{#
    metadata_json of tracking_event: low-sensitivity fields only (tracking plan, rule 5).

    An allow-list, not a deny-list: a property reaches metadata_json only when its key is listed
    here, and then only when its value does not look sensitive (value patterns below, and the
    loader's "[redacted]" marker). Everything else is dropped. Umami stores nested objects
    flattened (`asset.assetKind`); the `asset.*` fields are put back under one `asset` object.
    Values get their JSON type back: numbers, booleans ("true"/"false"), strings; `route` and
    `sourceRoute` lose their query string and fragment.

    What looks sensitive is the seed sensitive_metadata_rules (below), matched against the
    lower-cased key or value.
#}

{# ---- the allow-list ------------------------------------------------------------------------ #}

{# Allowed on every event: the plan's fields and the work-play fields. #}
{% macro tracking_metadata_fields() %}
    {{- return([
        'route', 'method', 'status', 'operation', 'assetOperation',
        'playType', 'workId', 'sourceRoute', 'runId', 'ownerUserId', 'profileId', 'levelId', 'mode',
    ]) -}}
{% endmacro %}

{# Allowed under `asset` (Umami keys `asset.<field>`). #}
{% macro tracking_metadata_asset_fields() %}
    {{- return([
        'operation', 'operationFamily', 'assetObjectId', 'assetKind', 'objectKey', 'bucket',
        'contentType', 'contentLength', 'version', 'bindingId', 'entityKind', 'entityId', 'slot',
        'ownerUserId', 'profileId',
    ]) -}}
{% endmacro %}

{# Allowed on course_visit only: its low-sensitivity fields. #}
{% macro tracking_metadata_course_visit_fields() %}
    {{- return(['shifu_bid', 'outline_item_bid', 'entry_type', 'preview_mode']) -}}
{% endmacro %}

{# Fields that hold a route: query string and fragment are cut off. #}
{% macro tracking_metadata_route_fields() %}
    {{- return(['route', 'sourceRoute']) -}}
{% endmacro %}

{# ---- what sensitive looks like --------------------------------------------------------------- #}

{#
    The rules come from the seed sensitive_metadata_rules, the vocabulary the loader reads too
    (loader/umami/sensitive.py explains the columns and the regular-expression dialect). At
    parse time the macro only records the dependency on the seed (ref), so `dbt build` loads it
    first; at execution it reads the seed's table (run_query on the seed's relation: inside a
    unit test, ref() would name the test's own fixture, which no query can read).

    sensitive_metadata_rules() -> {'key': [pattern], 'value': [[finding, guard, pattern]]}
    where guard is 'digits>=7' or a list of substrings (tracking_sensitive_value_guard).
#}
{% macro sensitive_metadata_rules() %}
    {%- set rules = {'key': [], 'value': []} -%}
    {%- if not execute -%}
        {%- do ref('sensitive_metadata_rules') -%}
        {{- return(rules) -}}
    {%- endif -%}
    {#- a unit test's graph is empty: the seed is then where dbt builds it, the target schema -#}
    {%- set seed = (graph.get('nodes') or {}).get('seed.' ~ project_name ~ '.sensitive_metadata_rules')
                   or {'database': target.database, 'schema': target.schema, 'alias': 'sensitive_metadata_rules'} -%}
    {%- set relation = api.Relation.create(database=seed.database, schema=seed.schema, identifier=seed.alias) -%}
    {%- set result = run_query(
        "select rule, finding, coalesce(guard, ''), pattern from " ~ relation
        ~ " where rule in ('key', 'value') order by rule, finding, pattern"
    ) -%}
    {%- for rule, finding, guard, pattern in result.rows -%}
        {%- set pattern = pattern | replace("'", "''") -%}
        {%- if rule == 'key' -%}
            {%- do rules.key.append(pattern) -%}
        {%- else -%}
            {%- set guard = guard | trim -%}
            {%- do rules.value.append([finding, guard if guard == 'digits>=7' else guard.split(), pattern]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not rules.key or not rules.value -%}
        {{ exceptions.raise_compiler_error("the seed sensitive_metadata_rules has no key rule or no value rule: run `dbt seed`") }}
    {%- endif -%}
    {{- return(rules) -}}
{% endmacro %}

{#
    Key names that are never metadata (one pattern, matched against the lower-cased key,
    `asset.x` included): the allow-list is checked against it, and a test checks metadata_json's
    keys with it.
#}
{% macro tracking_sensitive_key_pattern() %}
    {%- set patterns = sensitive_metadata_rules().key -%}
    {{- return('(' ~ patterns | join(')|(') ~ ')' if patterns else '^$') -}}
{% endmacro %}

{#
    [finding, guard, pattern] of values that are never metadata, whatever their key. A value is
    sensitive when it matches a pattern. The guard is a cheap necessary condition checked first
    (PostgreSQL's regular expressions cost about a microsecond per call, and most values need
    none). It never changes what matches, only what is tried.
#}
{% macro tracking_sensitive_value_patterns() %}
    {{- return(sensitive_metadata_rules().value) -}}
{% endmacro %}

{# The SQL condition of a guard on a lower-cased text expression (see tracking_sensitive_value_patterns). #}
{% macro tracking_sensitive_value_guard(guard, lowered_expression) -%}
    {%- if guard == 'digits>=7' -%}
        length({{ lowered_expression }}) - length(translate({{ lowered_expression }}, '0123456789', '')) >= 7
    {%- else -%}
        {%- set conditions = [] -%}
        {%- for literal in guard -%}
            {%- do conditions.append(dbt.position("'" ~ literal ~ "'", lowered_expression) ~ " > 0") -%}
        {%- endfor -%}
        ({{ conditions | join(' or ') }})
    {%- endif -%}
{%- endmacro %}

{#
    True when a text looks sensitive; false for null. lowered_expression, when given, is the
    same text already lower-cased (computed once by the caller); the patterns are lower-case and
    matched against it.
#}
{% macro tracking_is_sensitive_value(text_expression, lowered_expression=none) -%}
    {%- set lowered = lowered_expression or 'lower(' ~ text_expression ~ ')' -%}
    case
        when {{ text_expression }} is null then false
        else
            {%- for name, guard, pattern in tracking_sensitive_value_patterns() %}
                ({{ tracking_sensitive_value_guard(guard, lowered) }} and {{ regex_matches(lowered, pattern) }})
                {%- if not loop.last %} or{% endif %}
            {%- endfor %}
    end
{%- endmacro %}

{# ---- SQL ------------------------------------------------------------------------------------ #}

{# The text of a route without query string and fragment. #}
{% macro tracking_route_path(text_expression) -%}
    split_part(split_part({{ text_expression }}, '#', 1), '?', 1)
{%- endmacro %}

{#
    The properties the ids and the scope rules read. The model reads them once per event into
    columns (tracking_property_columns, in a one-row lateral subquery that PostgreSQL does not
    inline, so it is evaluated once per row instead of once per reference): for a key k,
    prop_<slug>_text (the string_value; routes without query string and fragment),
    prop_<slug>_lowered (lower-cased), prop_<slug>_type (data_type) and prop_<slug>_number
    (number_value).
#}
{% macro tracking_rule_property_keys() %}
    {{- return([
        'shifu_bid', 'workId', 'profileId', 'asset.profileId', 'ownerUserId', 'asset.ownerUserId', 'playType',
        'status', 'route', 'sourceRoute', 'module', 'moduleKey',
    ]) -}}
{% endmacro %}

{% macro tracking_property_slug(key) -%}
    prop_{{ key | lower | replace('.', '__') }}
{%- endmacro %}

{% macro tracking_property_columns(properties_expression) -%}
    {%- set route_fields = tracking_metadata_route_fields() -%}
    {%- for key in tracking_rule_property_keys() -%}
        {%- set slug = tracking_property_slug(key) -%}
        {%- set raw_text = json_text(properties_expression, [key, 'string_value']) -%}
        {%- set text = tracking_route_path(raw_text) if key in route_fields else raw_text %}
        {{ text }} as {{ slug }}_text,
        lower({{ text }}) as {{ slug }}_lowered,
        {{ json_text(properties_expression, [key, 'data_type']) }} as {{ slug }}_type,
        {{ json_text(properties_expression, [key, 'number_value']) }} as {{ slug }}_number
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#
    A string id from a property column set: the text when it was sent as a non-empty JSON string
    that does not look sensitive, else null. Numbers, booleans and nulls are not ids (as for
    shifu_bid in the course marts).
#}
{% macro tracking_property_id(key) -%}
    {%- set slug = tracking_property_slug(key) -%}
    case
        when
            {{ slug }}_type = '1'
            and {{ slug }}_text <> ''
            and not {{ tracking_is_sensitive_value(slug ~ '_text', slug ~ '_lowered') }}
            then {{ slug }}_text
    end
{%- endmacro %}

{#
    metadata_json of an event (a scalar subquery over its properties): the allow-listed keys
    present, each kept only when its value does not look sensitive and is not JSON null, with its
    JSON type back (numbers, booleans, strings); `asset.*` nested under `asset`; the course_visit
    fields only when event_key_expression is 'course_visit'; {} when nothing is left. Works on
    the keys present only, so an event pays for what it sent, not for the whole allow-list.
#}
{% macro tracking_metadata_json(properties_expression, event_key_expression) -%}
    {%- set key_pattern = tracking_sensitive_key_pattern() -%}
    {%- set general_keys = tracking_metadata_fields() -%}
    {%- set asset_keys = [] -%}
    {%- for field in tracking_metadata_asset_fields() -%}
        {%- do asset_keys.append('asset.' ~ field) -%}
    {%- endfor -%}
    {%- set course_keys = tracking_metadata_course_visit_fields() -%}
    {%- for key in general_keys + asset_keys + course_keys if execute -%}
        {%- if modules.re.search(key_pattern, key | lower) -%}
            {{ exceptions.raise_compiler_error("tracking metadata allow-list: '" ~ key ~ "' looks like a sensitive key") }}
        {%- endif -%}
    {%- endfor -%}
    {%- set quoted_general = "'" ~ (general_keys + asset_keys) | join("', '") ~ "'" -%}
    {%- set quoted_course = "'" ~ course_keys | join("', '") ~ "'" -%}
    {%- set quoted_routes = "'" ~ tracking_metadata_route_fields() | join("', '") ~ "'" -%}
    {{- return(adapter.dispatch('tracking_metadata_object', 'course_analytics')(
        properties_expression, event_key_expression, quoted_general, quoted_course, quoted_routes
    )) -}}
{%- endmacro %}

{#
    The metadata_json expression itself (adapter.dispatch). quoted_general, quoted_course and
    quoted_routes are the allowed keys (asset.* included), the course_visit keys and the route
    keys, each a list of quoted literals.
#}
{% macro default__tracking_metadata_object(properties_expression, event_key_expression, quoted_general, quoted_course, quoted_routes) -%}
    (
        select
            coalesce(
                jsonb_object_agg(field.property_key, field.json_value)
                    filter (where field.asset_field is null),
                cast('{}' as jsonb)
            )
            || case
                when bool_or(field.asset_field is not null)
                    then jsonb_build_object(
                        'asset',
                        jsonb_object_agg(field.asset_field, field.json_value)
                            filter (where field.asset_field is not null)
                    )
                else cast('{}' as jsonb)
            end
        from (
            select
                property.property_key,
                case
                    when property.property_key like 'asset.%' then substr(property.property_key, 7)
                end as asset_field,
                case
                    when property.data_type = '3' then to_jsonb(property.text_value = 'true')
                    when
                        property.data_type = '2'
                        and property.number_text ~ '^-?[0-9]{1,30}([.][0-9]{1,30})?$'
                        then to_jsonb(trim_scale(cast(property.number_text as numeric)))
                    else to_jsonb(property.text_value)
                end as json_value
            from (
                select
                    entry.key as property_key,
                    entry.value ->> 'data_type' as data_type,
                    case
                        when entry.key in ({{ quoted_routes }})
                            then {{ tracking_route_path("entry.value ->> 'string_value'") }}
                        else entry.value ->> 'string_value'
                    end as text_value,
                    lower(
                        case
                            when entry.key in ({{ quoted_routes }})
                                then {{ tracking_route_path("entry.value ->> 'string_value'") }}
                            else entry.value ->> 'string_value'
                        end
                    ) as lowered_value,
                    coalesce(entry.value ->> 'number_value', entry.value ->> 'string_value') as number_text
                from jsonb_each({{ properties_expression }}) as entry (key, value)
                where
                    jsonb_typeof(entry.value) = 'object'
                    and (
                        entry.key in ({{ quoted_general }})
                        or ({{ event_key_expression }} = 'course_visit' and entry.key in ({{ quoted_course }}))
                    )
                offset 0
            ) as property
            where
                property.text_value is not null
                and not (property.data_type = '5' and property.text_value = 'null')
                and not {{ tracking_is_sensitive_value('property.text_value', 'property.lowered_value') }}
        ) as field
    )
{%- endmacro %}

{#
    Spark: the properties read once as a map of VARIANTs (only an object's value has a
    string_value, as jsonb_each's objects above), the fields kept bound by a one-element
    transform, and the object written as text. Its keys' order is not jsonb's; the JSON is the same.
#}
{% macro spark__tracking_metadata_object(properties_expression, event_key_expression, quoted_general, quoted_course, quoted_routes) -%}
    {%- set string_value = "variant_get(entry.value, '$.string_value', 'string')" -%}
    {%- set json_value -%}
        case
            when field.data_type = '3' then cast(field.text_value = 'true' as string)
            when
                field.data_type = '2'
                and {{ regex_matches('field.number_text', '^-?[0-9]{1,30}([.][0-9]{1,30})?$') }}
                then {{ spark_trimmed_decimal_text('field.number_text') }}
            else {{ spark_json_string('field.text_value') }}
        end
    {%- endset -%}
    element_at(transform(
        array(filter(
            transform(
                map_entries(from_json({{ properties_expression }}, 'map<string, variant>')),
                entry -> named_struct(
                    'key', entry.key,
                    'data_type', variant_get(entry.value, '$.data_type', 'string'),
                    'text_value', case
                        when entry.key in ({{ quoted_routes }}) then {{ tracking_route_path(string_value) }}
                        else {{ string_value }}
                    end,
                    'number_text', coalesce(variant_get(entry.value, '$.number_value', 'string'), {{ string_value }})
                )
            ),
            field -> (
                field.key in ({{ quoted_general }})
                or ({{ event_key_expression }} = 'course_visit' and field.key in ({{ quoted_course }}))
            )
            and field.text_value is not null
            and not (field.data_type = '5' and field.text_value = 'null')
            and not {{ tracking_is_sensitive_value('field.text_value') }}
        )),
        fields -> concat('{', array_join(concat(
            transform(
                filter(fields, field -> field.key not like 'asset.%'),
                field -> concat({{ spark_json_string('field.key') }}, ': ', {{ json_value }})
            ),
            case
                when exists(fields, field -> field.key like 'asset.%')
                    then array(concat('"asset": {', array_join(transform(
                        filter(fields, field -> field.key like 'asset.%'),
                        field -> concat({{ spark_json_string('substr(field.key, 7)') }}, ': ', {{ json_value }})
                    ), ', '), '}'))
                else cast(array() as array<string>)
            end
        ), ', '), '}')
    ), 1)
{%- endmacro %}

{#
    Spark: the text of a decimal number without its leading zeros, trailing fractional zeros
    and the sign of a zero, as PostgreSQL's trim_scale(numeric) prints it (007.50 -> 7.5,
    -0.0 -> 0). number_text matches -?[0-9]+([.][0-9]+)?.
#}
{% macro spark_trimmed_decimal_text(number_text) -%}
    {%- set integer_part = "regexp_replace(regexp_extract(" ~ number_text ~ ", '^-?([0-9]+)', 1), '^0+(?=[0-9])', '')" -%}
    {%- set fraction = "regexp_replace(regexp_extract(" ~ number_text ~ ", '[.]([0-9]+)$', 1), '0+$', '')" -%}
    concat(
        case when {{ number_text }} like '-%' and ({{ integer_part }} <> '0' or {{ fraction }} <> '') then '-' else '' end,
        {{ integer_part }},
        case when {{ fraction }} <> '' then concat('.', {{ fraction }}) else '' end
    )
{%- endmacro %}
