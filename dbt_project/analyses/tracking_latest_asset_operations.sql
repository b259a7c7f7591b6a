-- The latest asset operations (module_key = 'asset'), newest first, with the operation and
-- the low-sensitivity asset facts from metadata_json.
-- vars: analysis_limit (default 100)

select
    event_id,
    event_key,
    user_id,
    profile_id,
    owner_user_id,
    day_key,
    occurred_at,
    metadata_json,
    coalesce(metadata_json ->> 'assetOperation', metadata_json -> 'asset' ->> 'operation') as asset_operation,
    metadata_json -> 'asset' ->> 'assetKind' as asset_kind,
    metadata_json -> 'asset' ->> 'assetObjectId' as asset_object_id
from {{ ref('tracking_event') }}
where module_key = 'asset'
order by 7 desc, 1 desc
limit {{ var('analysis_limit', 100) | int }}
