with

source as (

    select * from {{ source('umami', 'rejected_rows') }}

),

renamed as (

    select
        -- ids
        cast(_dlt_id as text) as rejected_row_id,
        cast(run_id as text) as sync_run_id,

        -- strings
        cast(endpoint as text) as endpoint,
        cast(reason as text) as reason,

        -- json
        cast(payload as jsonb) as payload,

        -- timestamps (UTC)
        cast(rejected_at as timestamptz) as rejected_at,

        -- dlt
        cast(_dlt_load_id as text) as dlt_load_id

    from source

)

select * from renamed
