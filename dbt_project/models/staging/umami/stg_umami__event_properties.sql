with

source as (

    select * from {{ latest_copies(source('umami', 'events'), ['event_id']) }}

),

properties as (

    select
        -- ids
        cast(source.event_id as {{ dbt.type_string() }}) as event_id,
        cast(property.key as {{ dbt.type_string() }}) as property_key,

        -- strings
        cast(source.event_name as {{ dbt.type_string() }}) as event_name,
        cast({{ json_text('property.value', ['string_value']) }} as {{ dbt.type_string() }}) as string_value,

        -- numerics
        cast({{ json_text('property.value', ['data_type']) }} as integer) as data_type,
        cast({{ json_text('property.value', ['number_value']) }} as {{ type_number() }}) as number_value,

        -- timestamps (UTC)
        cast({{ json_text('property.value', ['date_value']) }} as {{ type_instant() }}) as date_value,
        cast(source.created_at as {{ type_instant() }}) as event_at

    from source
    {{ json_object_entries('source.properties', 'property') }}

)

select * from properties
