{#
    Every raw course_visit event (event_name exactly 'course_visit'), each in exactly one
    visit_class. A view: consumers filter on event_at, which PostgreSQL pushes down to
    umami_raw.events.created_at (index on event_name, created_at).
#}

with

course_visits as (

    select * from {{ ref('stg_umami__events') }}
    where event_name = 'course_visit'

),

sessions as (

    select * from {{ ref('stg_umami__sessions') }}

),

joined as (

    select
        course_visits.event_id,
        course_visits.session_id,
        course_visits.website_id,
        course_visits.url_path,
        course_visits.event_at,
        -- a session Umami did not answer for is as unknown as a missing one
        coalesce(sessions.is_found, false) as has_session,
        -- an empty distinct id is no id: a guest
        nullif(sessions.distinct_id, '') as user_id,
        {{ json_get('course_visits.properties', ['shifu_bid']) }} as shifu_bid_property,
        {{ json_get('course_visits.properties', ['preview_mode']) }} as preview_mode_property,
        {{ json_get('course_visits.properties', ['outline_item_bid']) }} as outline_item_bid_property,
        {{ json_get('course_visits.properties', ['entry_type']) }} as entry_type_property
    from course_visits
    left join sessions
        on course_visits.session_id = sessions.session_id

),

extracted as (

    select
        event_id,
        session_id,
        website_id,
        url_path,
        event_at,
        has_session,
        user_id,
        cast({{ json_text('shifu_bid_property', ['data_type']) }} as integer) as shifu_bid_data_type,
        shifu_bid_property is not null as has_shifu_bid_key,
        {{ json_text('shifu_bid_property', ['string_value']) }} as shifu_bid_stored_value,
        -- boolean true (data_type 3) and the string "true" (data_type 1) are both preview
        coalesce({{ json_text('preview_mode_property', ['string_value']) }} = 'true', false) as is_preview,
        case
            when cast({{ json_text('outline_item_bid_property', ['data_type']) }} as integer) = 1
                then {{ json_text('outline_item_bid_property', ['string_value']) }}
        end as outline_item_bid,
        case
            when cast({{ json_text('entry_type_property', ['data_type']) }} as integer) = 1
                then {{ json_text('entry_type_property', ['string_value']) }}
        end as entry_type
    from joined

),

typed as (

    select
        *,
        case when shifu_bid_data_type = 1 then shifu_bid_stored_value end as shifu_bid
    from extracted

),

classified as (

    select
        event_id,
        session_id,
        website_id,
        user_id,
        shifu_bid,
        shifu_bid_data_type,
        shifu_bid_stored_value,
        outline_item_bid,
        entry_type,
        url_path,
        is_preview,
        event_at,
        {{ utc_date('event_at') }} as stat_date,
        -- the first reason that applies, in the oracle's order (unknown_session first:
        -- without the session row we cannot tell a guest from a user)
        case
            when not has_session then 'unknown_session'
            when user_id is null then 'guest'
            when is_preview then 'preview'
            when not has_shifu_bid_key then 'missing_shifu_bid'
            when coalesce(shifu_bid_data_type, 0) <> 1 then 'shifu_bid_not_a_string'
            when coalesce(shifu_bid, '') = '' then 'empty_shifu_bid'
            else 'countable'
        end as visit_class
    from typed

)

select * from classified
