{{ config(severity='warn') }}

-- Every loaded event key is in the tracking plan's catalog (seed tracking_event_catalog).
-- Unknown keys are not dropped: their facts stay in tracking_event and this test warns,
-- listing each unknown key with its counts (see tracking_event_key_coverage).

select
    event_key,
    fact_count,
    exclusion_count,
    first_day_key,
    last_day_key
from {{ ref('tracking_event_key_coverage') }}
where
    not is_catalogued
    and fact_count + exclusion_count > 0
