with

source as (

    select * from {{ source('umami', 'events') }}

),

properties as (

    select
        -- ids
        cast(source.event_id as text) as event_id,
        cast(property.key as text) as property_key,

        -- strings
        cast(source.event_name as text) as event_name,
        cast(property.value ->> 'string_value' as text) as string_value,

        -- numerics
        cast(property.value ->> 'data_type' as integer) as data_type,
        cast(property.value ->> 'number_value' as numeric) as number_value,

        -- timestamps (UTC)
        cast(property.value ->> 'date_value' as timestamptz) as date_value,
        cast(source.created_at as timestamptz) as event_at

    from source
    cross join lateral jsonb_each(
        case when jsonb_typeof(source.properties) = 'object' then source.properties end
    ) as property

)

select * from properties
