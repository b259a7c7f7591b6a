-- Rule 4: no admin route and no RPG, big-fish, visual-novel, story or combat module in the
-- facts (work_play_start keeps big-fish and visual-novel plays by design). Checks the facts'
-- module, event key and metadata routes, and the page path of the raw event each was built
-- from. Checks the rows the latest run wrote (every row with var tracking_test_all_rows).

{% set work_play_exempt = tracking_work_play_in_scope_modules() %}

with

checked as (

    select * from {{ ref('tracking_event') }}
    where {{ tracking_test_rows_filter() }}

),

raw_events as (

    select
        event_id,
        url_path
    from {{ ref('stg_umami__events') }}
    -- only the raw events the checked facts can come from (a constant: the created_at index)
    where event_at >= {{ tracking_day_start(tracking_test_first_day_key([ref('tracking_event')])) }}

),

facts as (

    select
        checked.event_id,
        checked.event_key,
        checked.module_key,
        raw_events.url_path,
        {{ json_text('checked.metadata_json', ['route']) }} as route_path,
        {{ json_text('checked.metadata_json', ['sourceRoute']) }} as source_route_path
    from checked
    left join raw_events
        on checked.source_event_id = raw_events.event_id

),

findings as (

    select
        event_id,
        event_key,
        case
            when {{ tracking_is_admin_route(['url_path', 'route_path', 'source_route_path']) }}
                then 'admin_route'
            when
                event_key = 'work_play_start'
                and {{ tracking_names_out_of_scope_module(
                    ['url_path', 'route_path', 'source_route_path', 'module_key'],
                    exempt=work_play_exempt
                ) }}
                then 'out_of_scope_module'
            when
                event_key <> 'work_play_start'
                and {{ tracking_names_out_of_scope_module(
                    ['url_path', 'route_path', 'source_route_path', 'module_key', 'event_key']
                ) }}
                then 'out_of_scope_module'
        end as finding
    from facts

)

select * from findings
where finding is not null
