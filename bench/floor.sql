-- The floor: the numbers the marts hold, computed from umami_raw with as little work as exact
-- answers allow, into scratch tables in schema bench_floor (dropped and re-created each run).
--
--   bench_floor.course_daily_stats   = analytics_course_daily_stats  (stat_date, shifu_bid, visit_count, visitor_count)
--   bench_floor.course_window_stats  = analytics_course_window_stats (window_type, shifu_bid, visitor_count, visit_count)
--   bench_floor.tracking_daily_stat  = tracking_daily_stat (day_key, event_key, scope_kind, scope_id,
--                                                           event_count, distinct_user_count)
--
-- No tests, no publishing, no surrogate keys or timestamps, no tracking_event rows or metadata:
-- two passes over the raw events (course visits, then every event), each aggregated on the way.
-- The semantics are the models' (docs/benchmarks.md, "The floor"); bench/floor.py checks every
-- number against the published marts.
--
-- Variables, psql-style (bench/floor.py fills them in):
--   :'as_of'              the instant the marts were built as of (ISO-8601 with offset)
--   :'as_of_date'         its UTC date
--   :'business_timezone'  the IANA zone of day_key (the dbt var business_timezone)
--   :catalog_rows         the event catalog's (event_key, scope_kind) rows (seed tracking_event_catalog)
--   :looks_sensitive      a boolean expression over `lowered`, a lower-cased text: the value rules of
--                         the seed sensitive_metadata_rules, each guard before its pattern

drop schema if exists bench_floor cascade;
create schema bench_floor;

-- A text that looks like a phone number, a token, a key...: no id. An SQL-bodied function: the
-- planner inlines it where it is called, repeating the argument at every guard, so callers pass
-- a column computed once (a lower() call there would run twenty times).
create function bench_floor.looks_sensitive(lowered text) returns boolean
language sql immutable parallel safe
return :looks_sensitive;

-- ---- course marts (UTC days) -------------------------------------------------------------------

-- Countable visits up to as_of, one row per (UTC day, course, user): a course_visit whose session
-- Umami answered with a non-empty distinct id, not a preview, with shifu_bid a non-empty string.
create temporary table course_user_days as
select
    (events.created_at at time zone 'UTC')::date as stat_date,
    events.properties -> 'shifu_bid' ->> 'string_value' as shifu_bid,
    sessions.distinct_id as user_id,
    count(*) as visits
from umami_raw.events as events
inner join umami_raw.sessions as sessions on events.session_id = sessions.session_id
where
    events.event_name = 'course_visit'
    and events.created_at <= :'as_of'::timestamptz
    and sessions.found
    and sessions.distinct_id <> ''
    and (events.properties -> 'shifu_bid' ->> 'data_type')::integer = 1
    and events.properties -> 'shifu_bid' ->> 'string_value' <> ''
    and (events.properties -> 'preview_mode' ->> 'string_value') is distinct from 'true'
group by 1, 2, 3;

create table bench_floor.course_daily_stats as
select
    stat_date,
    shifu_bid,
    sum(visits)::bigint as visit_count,
    count(*)::bigint as visitor_count
from course_user_days
group by 1, 2;

-- Exact distinct users per window: a user is in last_N_days when their last visit day in the
-- longest window is in it. Every course with a countable visit gets a row per window, 0 if none.
create table bench_floor.course_window_stats as
with

per_user as (
    select
        shifu_bid,
        max(stat_date) as last_day,
        sum(visits) filter (where stat_date > :'as_of_date'::date - 7) as visits_7,
        sum(visits) filter (where stat_date > :'as_of_date'::date - 30) as visits_30,
        sum(visits) as visits_90
    from course_user_days
    where stat_date > :'as_of_date'::date - 90
    group by shifu_bid, user_id
),

per_course as (
    select
        shifu_bid,
        count(*) filter (where last_day > :'as_of_date'::date - 7) as visitors_7,
        count(*) filter (where last_day > :'as_of_date'::date - 30) as visitors_30,
        count(*) as visitors_90,
        sum(visits_7) as visits_7,
        sum(visits_30) as visits_30,
        sum(visits_90) as visits_90
    from per_user
    group by shifu_bid
),

courses as (
    select distinct shifu_bid from course_user_days
)

select
    windows.window_type,
    courses.shifu_bid,
    coalesce(windows.visitor_count, 0)::bigint as visitor_count,
    coalesce(windows.visit_count, 0)::bigint as visit_count
from courses
left join per_course on courses.shifu_bid = per_course.shifu_bid
cross join lateral (
    values
    ('last_7_days', per_course.visitors_7, per_course.visits_7),
    ('last_30_days', per_course.visitors_30, per_course.visits_30),
    ('last_90_days', per_course.visitors_90, per_course.visits_90)
) as windows (window_type, visitor_count, visit_count);

-- ---- tracking_daily_stat (business days) -------------------------------------------------------

-- A property's text when it was sent as a non-empty JSON string (an id, unless it looks sensitive).
create function bench_floor.string_property(property jsonb) returns text
language sql immutable parallel safe
return case
    when property ->> 'data_type' = '1' and property ->> 'string_value' <> '' then property ->> 'string_value'
end;

-- Whether a `status` property says the operation failed: present, not JSON null, and not a
-- 2xx status (a text that is no 3-digit status is no success).
create function bench_floor.failed_status(status jsonb) returns boolean
language sql immutable parallel safe
return case
    when status ->> 'string_value' is null then false
    when status ->> 'data_type' = '5' and status ->> 'string_value' = 'null' then false
    when
        coalesce(status ->> 'number_value', status ->> 'string_value')
        ~ '^[[:space:]]*[0-9]{3}([.]0+)?[[:space:]]*$'
        then btrim(coalesce(status ->> 'number_value', status ->> 'string_value'))::numeric::integer
        not between 200 and 299
    else true
end;

-- Whether a lower-cased text names an out-of-scope module by its leading segments (after the
-- route prefixes), `_` and spaces read as `-`; the word guard first. The second: the modules
-- whose work plays are still out of scope (big-fish and visual-novel plays are tracked).
create function bench_floor.names_module(lowered text) returns boolean
language sql immutable parallel safe
return
    (
        strpos(lowered, 'rpg') > 0 or strpos(lowered, 'fish') > 0 or strpos(lowered, 'novel') > 0
        or strpos(lowered, 'story') > 0 or strpos(lowered, 'combat') > 0
    )
    and translate(lowered, '_ ', '--')
    ~ '^/?(api/)?((runtime|creation)/)?(rpg|big-?fish|visual-?novel|story|combat)([-/?#]|$)';

create function bench_floor.names_play_module(lowered text) returns boolean
language sql immutable parallel safe
return
    (strpos(lowered, 'rpg') > 0 or strpos(lowered, 'story') > 0 or strpos(lowered, 'combat') > 0)
    and translate(lowered, '_ ', '--') ~ '^/?(api/)?((runtime|creation)/)?(rpg|story|combat)([-/?#]|$)';

create function bench_floor.admin_route(lowered text) returns boolean
language sql immutable parallel safe
return strpos(lowered, 'admin') > 0 and lowered ~ '^/?(api/)?admin([/?#]|$)';

-- The user of a session, decided once per session: a non-empty distinct id that does not look
-- sensitive.
create temporary table session_users as
select
    session_id,
    case when distinct_id <> '' and not bench_floor.looks_sensitive(lowered) then distinct_id end as user_id
from (
    select session_id, distinct_id, lower(distinct_id) as lowered from umami_raw.sessions
    offset 0
) as sessions;

analyze session_users;

-- Every named event up to as_of that no exclusion rule removes, counted per (business day, key,
-- scope, user), then per (day, key, scope). Each step computes its columns once per event
-- (offset 0 keeps the planner from merging it into the next, which would compute an expression
-- again at every use). Routes are matched on their whole text: the patterns end at [/?#] or the
-- end, so cutting the query string and fragment first would change nothing. One daily_login per
-- user and day: its scope is the user, so a (day, daily_login, user) group holds one user's
-- logins and counts 1.
create table bench_floor.tracking_daily_stat as
with

catalog (event_key, scope_kind) as (
    values :catalog_rows
),

-- the texts the rules read, lower-cased, and the candidate ids (course: shifu_bid; work:
-- profileId, else asset.profileId, else workId)
events as (
    select
        events.event_name as event_key,
        lower(events.event_name) as event_key_lowered,
        (events.created_at at time zone :'business_timezone')::date as day_key,
        coalesce(catalog.scope_kind, 'user') as scope_kind,
        session_users.user_id,
        lower(events.url_path) as url_path,
        lower(events.properties -> 'route' ->> 'string_value') as route,
        lower(events.properties -> 'sourceRoute' ->> 'string_value') as source_route,
        lower(coalesce(
            events.properties -> 'module' ->> 'string_value',
            events.properties -> 'moduleKey' ->> 'string_value'
        )) as module,
        events.properties -> 'status' as status,
        case catalog.scope_kind
            when 'course' then bench_floor.string_property(events.properties -> 'shifu_bid')
            when 'work' then bench_floor.string_property(events.properties -> 'profileId')
        end as id_1,
        case
            when catalog.scope_kind = 'work' then bench_floor.string_property(events.properties -> 'asset.profileId')
        end as id_2,
        case
            when catalog.scope_kind = 'work' then bench_floor.string_property(events.properties -> 'workId')
        end as id_3,
        case
            when events.event_name = 'work_play_start' then bench_floor.string_property(events.properties -> 'playType')
        end as play_type
    from umami_raw.events as events
    left join session_users on events.session_id = session_users.session_id
    left join catalog on events.event_name = catalog.event_key
    where events.event_name is not null and events.created_at <= :'as_of'::timestamptz
    offset 0
),

lowered as (
    select
        *,
        lower(id_1) as id_1_lowered,
        lower(id_2) as id_2_lowered,
        lower(id_3) as id_3_lowered,
        lower(play_type) as play_type_lowered
    from events
    offset 0
),

-- the scope id (ids that look sensitive are no ids) and whether a rule excludes the event:
-- an admin route, an out-of-scope module, a failed operation
scoped as (
    select
        event_key,
        day_key,
        scope_kind,
        user_id,
        case scope_kind
            when 'course' then case when not bench_floor.looks_sensitive(id_1_lowered) then id_1 end
            when 'work' then coalesce(
                case when not bench_floor.looks_sensitive(id_1_lowered) then id_1 end,
                case when not bench_floor.looks_sensitive(id_2_lowered) then id_2 end,
                case when not bench_floor.looks_sensitive(id_3_lowered) then id_3 end
            )
            else user_id
        end as scope_id,
        coalesce(
            bench_floor.admin_route(url_path)
            or bench_floor.admin_route(route)
            or bench_floor.admin_route(source_route)
            or case
                when event_key = 'work_play_start' then
                    bench_floor.names_play_module(url_path)
                    or bench_floor.names_play_module(route)
                    or bench_floor.names_play_module(source_route)
                    or bench_floor.names_play_module(module)
                    or (
                        bench_floor.names_play_module(play_type_lowered)
                        and not bench_floor.looks_sensitive(play_type_lowered)
                    )
                else
                    bench_floor.names_module(url_path)
                    or bench_floor.names_module(route)
                    or bench_floor.names_module(source_route)
                    or bench_floor.names_module(module)
                    or bench_floor.names_module(event_key_lowered)
            end
            or bench_floor.failed_status(status),
            false
        ) as excluded
    from lowered
    offset 0
),

user_days as (
    select day_key, event_key, scope_kind, scope_id, user_id, count(*) as facts
    from scoped
    where
        not excluded
        and (event_key <> 'daily_login' or user_id is not null)
        and (scope_kind not in ('course', 'work') or scope_id is not null)
    group by 1, 2, 3, 4, 5
)

select
    day_key,
    event_key,
    scope_kind,
    scope_id,
    (case when event_key = 'daily_login' then count(*) else sum(facts) end)::bigint as event_count,
    count(user_id)::bigint as distinct_user_count
from user_days
group by 1, 2, 3, 4;
