-- Rule 3: only successful operations are events: where metadata carries an HTTP status, it is
-- a number from 200 to 299. Checks the rows the latest run wrote (every row with var
-- tracking_test_all_rows).

with

checked as (

    select
        event_id,
        event_key,
        {{ json_value_at('metadata_json', 'status') }} as http_status
    from {{ ref('tracking_event') }}
    where {{ tracking_test_rows_filter() }}

)

select * from checked
where
    http_status is not null
    and not (
        {{ json_value_type('http_status') }} = 'number'
        and cast({{ json_value_text('http_status') }} as {{ type_number() }}) between 200 and 299
    )
