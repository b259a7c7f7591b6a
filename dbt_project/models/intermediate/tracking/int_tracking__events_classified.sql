{{ config(materialized=long_view_materialization()) }}

{#
    Every raw Umami event, whatever its name, as a tracking fact candidate: its scope, user,
    owner, profile and module from the event catalog and its properties, its low-sensitivity
    metadata, its business day, and the first exclusion reason that applies (null: a fact).
    daily_login de-duplication happens in tracking_event. A view: consumers filter on
    occurred_at, which PostgreSQL pushes down to umami_raw.events.created_at.

    Each step that costs (reading the properties, the sensitive-value checks, the rules) sits in
    a one-row lateral subquery ended by lateral_evaluate_once(): `limit 1` on PostgreSQL, which
    then does not inline it and evaluates it once per event, where an inlined expression would be
    evaluated again at every reference; nothing on Spark, which evaluates it once as it is. (The
    subqueries return one row, so the LIMIT picks nothing: noqa AM09, ST05.)
#}

{% set work_play_exempt = tracking_work_play_in_scope_modules() %}

with

events as (

    select * from {{ ref('stg_umami__events') }}

),

sessions as (

    select * from {{ ref('stg_umami__sessions') }}

),

catalog as (

    select * from {{ ref('tracking_event_catalog') }}

),

joined as (

    select
        events.event_id as source_event_id,
        events.event_name as event_key,
        events.event_at as occurred_at,
        events.url_path,
        sessions.distinct_id,
        catalog.scope_kind as catalog_scope_kind,
        catalog.event_key is not null as is_catalogued,
        -- the plan's asset events (/api/assets/...) share one module, 'asset'
        case
            when catalog.entry like '/api/assets/%' then 'asset'
            else catalog.module
        end as catalog_module_key,
        case
            when {{ json_is_object('events.properties') }} then events.properties
            else cast('{}' as {{ type_json() }})
        end as properties
    from events
    left join sessions
        on events.session_id = sessions.session_id
    left join catalog
        on events.event_name = catalog.event_key

),

checked as (

    select
        ids.*,
        joined.source_event_id,
        joined.event_key,
        joined.occurred_at,
        joined.url_path,
        joined.properties,
        joined.is_catalogued,
        joined.catalog_scope_kind,
        joined.catalog_module_key,
        property_columns.prop_route_text,
        property_columns.prop_sourceroute_text,
        coalesce(property_columns.prop_module_text, property_columns.prop_modulekey_text) as module_property
    from joined
    cross join
        lateral (  -- noqa: ST05
            select {{ tracking_property_columns('joined.properties') }}
            {{ lateral_evaluate_once() }}  -- noqa: AM09
        ) as property_columns
    cross join
        lateral (  -- noqa: ST05
            select
                -- a distinct id that looks like a phone number, an e-mail or a token is no user id
                case
                    when joined.distinct_id <> '' and not {{ tracking_is_sensitive_value('joined.distinct_id') }}
                        then joined.distinct_id
                end as user_id,
                {{ tracking_property_id('shifu_bid') }} as shifu_bid,
                {{ tracking_property_id('workId') }} as work_id,
                coalesce(
                    {{ tracking_property_id('profileId') }},
                    {{ tracking_property_id('asset.profileId') }}
                ) as profile_id,
                coalesce(
                    {{ tracking_property_id('ownerUserId') }},
                    {{ tracking_property_id('asset.ownerUserId') }}
                ) as owner_user_id,
                {{ tracking_property_id('playType') }} as play_type,
                {{ tracking_property_status() }} as http_status
            {{ lateral_evaluate_once() }}  -- noqa: AM09
        ) as ids

),

scoped as (

    select
        *,
        coalesce(catalog_scope_kind, 'user') as scope_kind,
        case coalesce(catalog_scope_kind, 'user')
            when 'course' then shifu_bid
            when 'work' then coalesce(profile_id, work_id)
            else user_id
        end as scope_id,
        case
            when event_key = 'work_play_start' then play_type
            else catalog_module_key
        end as module_key
    from checked

),

classified as (

    select
        scoped.source_event_id,
        scoped.event_key,
        scoped.is_catalogued,
        scoped.scope_kind,
        scoped.scope_id,
        scoped.user_id,
        scoped.owner_user_id,
        scoped.profile_id,
        scoped.module_key,
        derived.metadata_json,
        scoped.occurred_at,
        derived.day_key,
        derived.exclusion_reason
    from scoped
    cross join
        lateral (  -- noqa: ST05
            select
                {{ tracking_metadata_json('scoped.properties', 'scoped.event_key') }} as metadata_json,
                {{ tracking_day_key('scoped.occurred_at') }} as day_key,
                -- the first reason that applies; null: the event is a fact
                case
                    when {{ tracking_is_admin_route(
                        ['scoped.url_path', 'scoped.prop_route_text', 'scoped.prop_sourceroute_text']
                    ) }}
                        then 'admin_route'
                    when
                        scoped.event_key = 'work_play_start'
                        and {{ tracking_names_out_of_scope_module(
                            ['scoped.url_path', 'scoped.prop_route_text', 'scoped.prop_sourceroute_text',
                             'scoped.module_property', 'scoped.play_type'],
                            exempt=work_play_exempt
                        ) }}
                        then 'out_of_scope_module'
                    when
                        scoped.event_key <> 'work_play_start'
                        and {{ tracking_names_out_of_scope_module(
                            ['scoped.url_path', 'scoped.prop_route_text', 'scoped.prop_sourceroute_text',
                             'scoped.module_property', 'scoped.event_key']
                        ) }}
                        then 'out_of_scope_module'
                    when scoped.http_status not between 200 and 299 then 'non_2xx_status'
                    when scoped.event_key = 'daily_login' and scoped.user_id is null then 'daily_login_without_user'
                    when scoped.scope_kind in ('course', 'work') and scoped.scope_id is null then 'missing_scope_id'
                end as exclusion_reason
            {{ lateral_evaluate_once() }}  -- noqa: AM09
        ) as derived

)

select * from classified
