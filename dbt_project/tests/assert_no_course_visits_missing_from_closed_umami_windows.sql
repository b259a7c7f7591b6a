{{ config(severity=var('reconciliation_severity', 'error')) }}

-- Fails when, for a closed window (the loader has loaded past its end), the warehouse holds
-- fewer raw course_visit events than Umami reports: in total, or for a shifu_bid value Umami
-- lists. Events lost between Umami and the warehouse (lossy paging, a skipped slice) show here.

select
    check_name,
    window_type,
    window_end_date,
    property_value,
    umami_count,
    warehouse_count
from {{ ref('umami_reconciliation') }}
where
    is_closed
    and check_name in ('window_events', 'shifu_bid_events')
    and warehouse_count < umami_count
