"""Raw events for the tracking marts' end-to-end tests, and what the marts must make of them.

Two sources of raw events, stored the way the loader stores them (``umami_raw.events`` with
Umami's flattened ``properties``, ``umami_raw.sessions`` with the distinct id):

* the contract dataset (``tests/data/umami-contract/dataset.json``): every named custom event
  (course_visit, work_play_start, daily_login, the wrong-case Course_Visit). Their expected facts
  are computed here from the dataset's payloads, independently of the dbt SQL;
* events planted by these tests (:data:`PLANTED`), each with its expected fact or exclusion
  written out by hand: sensitive metadata (phone numbers, JWTs, a signed URL, bearer tokens, a
  connection string, "[redacted]" markers, an invite code in a query string), admin routes,
  RPG/combat modules, failed operations, duplicate and guest daily_logins, big-fish,
  visual-novel and rpg plays.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.dbt.raw_umami import WEBSITE_ID, dataset_raw_rows, encode_properties, load_dataset

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)
LOADED_AT = datetime(2026, 11, 20, 0, 5, tzinfo=UTC)
COURSE_VISIT_FIELDS = ("shifu_bid", "outline_item_bid", "entry_type", "preview_mode")
WORK_PLAY_FIELDS = (
    "operation",
    "playType",
    "workId",
    "sourceRoute",
    "runId",
    "ownerUserId",
    "profileId",
    "levelId",
    "mode",
)

# -- planted sensitive values: none of them may appear anywhere in the tracking marts ------------

PHONE = "13800138000"
PHONE_AS_VALUE = "13912345678"
PHONE_AS_DISTINCT_ID = "13700001111"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1LTkwMDEiLCJleHAiOjE3OTUxMzI4MDB9.c2lnbmF0dXJlLXBsYW50ZWQ"
OSS_KEY_ID = "LTAI5tPlantedKey42"
SIGNED_URL = (
    "https://media.oss-cn-shanghai.aliyuncs.com/u/9001/a.png"
    f"?OSSAccessKeyId={OSS_KEY_ID}&Expires=1795132800&Signature=cGxhbnRlZC1zaWduYXR1cmU%3D"
)
UPLOAD_POLICY = "eyJleHBpcmF0aW9uIjoiMjAyNi0xMS0yMFQwMDowMDowMFoiLCJjb25kaXRpb25zIjpbXX0="
API_KEY = "sk-livePlantedApiKey0123456789"
DB_PASSWORD = "S3cretPlantedPw"
CONNECTION_STRING = f"postgresql://app:{DB_PASSWORD}@db.internal:5432/app"
INVITE_CODE = "INV-PLANTED-7788"
TICKET = "TICKET-PLANTED-1"
REDACTED = "[redacted]"

SENSITIVE_VALUES = (
    PHONE,
    PHONE_AS_VALUE,
    PHONE_AS_DISTINCT_ID,
    JWT,
    OSS_KEY_ID,
    SIGNED_URL,
    "Signature=",
    UPLOAD_POLICY,
    API_KEY,
    DB_PASSWORD,
    CONNECTION_STRING,
    INVITE_CODE,
    TICKET,
    REDACTED,
)

SESSIONS = {
    "trk-s-u9001": "u-9001",
    "trk-s-u9003": "u-9003",
    "trk-s-guest": None,
    "trk-s-phoneid": PHONE_AS_DISTINCT_ID,  # a frontend that identified with a phone number
}


# the published tracking marts, in the order their tests read them
TRACKING_MARTS = (
    "tracking_event",
    "tracking_event_exclusion",
    "tracking_daily_stat",
    "tracking_work_player_daily_stat",
    "tracking_work_player_stat",
    "analytics_date_dimension",
    "tracking_event_key_coverage",
)


@dataclass(frozen=True)
class Planted:
    event_id: str
    event_key: str
    session_id: str
    at: str  # ISO instant, UTC
    url_path: str
    data: Mapping[str, Any] | None
    # what the marts must make of it: a fact (the tracking_event columns to check) or a reason
    fact: Mapping[str, Any] | None = None
    exclusion: str | None = None
    fact_id: str | None = None  # tracking_event.event_id when it is not the Umami id
    note: str = ""

    @property
    def occurred_at(self) -> datetime:
        return datetime.fromisoformat(self.at.replace("Z", "+00:00"))


U = "trk-s-u9001"
PLANTED: tuple[Planted, ...] = (
    Planted(
        "trk-phone-key",
        "auth_phone_code_send",
        U,
        "2026-11-18T01:00:00Z",
        "/api/auth/phone/send-code",
        {
            "route": "/api/auth/phone/send-code",
            "method": "POST",
            "status": 200,
            "phone": PHONE,
            "operation": "send_code",
        },
        fact={
            "scope_kind": "user",
            "scope_id": "u-9001",
            "user_id": "u-9001",
            "module_key": "auth",
            "metadata_json": {
                "route": "/api/auth/phone/send-code",
                "method": "POST",
                "status": 200,
                "operation": "send_code",
            },
        },
        note="phone number under a sensitive key",
    ),
    Planted(
        "trk-phone-value",
        "profile_identity_update",
        U,
        "2026-11-18T01:05:00Z",
        "/api/profile/me",
        {"route": "/api/profile/me", "method": "PATCH", "status": 200, "operation": PHONE_AS_VALUE},
        fact={"module_key": "profile", "metadata_json": {"route": "/api/profile/me", "method": "PATCH", "status": 200}},
        note="phone number as the value of an allowed key",
    ),
    Planted(
        "trk-jwt",
        "auth_refresh_success",
        U,
        "2026-11-18T01:10:00Z",
        "/api/auth/refresh",
        {"route": "/api/auth/refresh", "method": "POST", "status": 200, "refreshToken": JWT, "mode": JWT},
        fact={"metadata_json": {"route": "/api/auth/refresh", "method": "POST", "status": 200}},
        note="JWT under a token key and under an allowed key",
    ),
    Planted(
        "trk-signed-url",
        "asset_upload_confirm",
        U,
        "2026-11-18T01:15:00Z",
        "/api/assets/objects/confirm",
        {
            "route": "/api/assets/objects/confirm",
            "status": 201,
            "assetOperation": "confirm",
            "asset": {
                "assetKind": "image",
                "contentLength": 2048,
                "objectKey": SIGNED_URL,
                "uploadPolicy": UPLOAD_POLICY,
            },
        },
        fact={
            "module_key": "asset",
            "metadata_json": {
                "route": "/api/assets/objects/confirm",
                "status": 201,
                "assetOperation": "confirm",
                "asset": {"assetKind": "image", "contentLength": 2048},
            },
        },
        note="signed URL under an allowed asset key, upload policy under another",
    ),
    Planted(
        "trk-bearer",
        "llm_request",
        U,
        "2026-11-18T01:20:00Z",
        "/api/llm/chat/completions",
        {
            "route": "/api/llm/chat/completions",
            "status": 200,
            "operation": f"Bearer {API_KEY}",
            "authorization": f"Bearer {API_KEY}",
        },
        fact={"module_key": "ai_asset", "metadata_json": {"route": "/api/llm/chat/completions", "status": 200}},
        note="bearer token",
    ),
    Planted(
        "trk-connection",
        "runtime_settings_update",
        U,
        "2026-11-18T01:25:00Z",
        "/api/runtime/settings",
        {
            "route": "/api/runtime/settings",
            "method": "PUT",
            "status": 204,
            "runId": CONNECTION_STRING,
            "databaseUrl": CONNECTION_STRING,
        },
        fact={
            "module_key": "runtime",
            "metadata_json": {"route": "/api/runtime/settings", "method": "PUT", "status": 204},
        },
        note="connection string",
    ),
    Planted(
        "trk-redacted",
        "auth_phone_login_success",
        U,
        "2026-11-18T01:30:00Z",
        "/api/auth/phone/login",
        {"route": "/api/auth/phone/login", "status": 200, "phone": REDACTED, "operation": REDACTED},
        fact={"metadata_json": {"route": "/api/auth/phone/login", "status": 200}},
        note="the loader's [redacted] marker",
    ),
    Planted(
        "trk-route-query",
        "task_center_view",
        U,
        "2026-11-18T01:35:00Z",
        "/api/profile/tasks",
        {"route": f"/api/profile/tasks?inviteCode={INVITE_CODE}&tab=all", "status": 200},
        fact={"metadata_json": {"route": "/api/profile/tasks", "status": 200}},
        note="route loses its query string (an invite code)",
    ),
    Planted(
        "trk-admin-path",
        "task_center_view",
        U,
        "2026-11-18T02:00:00Z",
        "/admin/tasks",
        {"status": 200},
        exclusion="admin_route",
        note="admin page path",
    ),
    Planted(
        "trk-admin-route",
        "auth_me_view",
        U,
        "2026-11-18T02:05:00Z",
        "/api/auth/me",
        {"route": "/api/admin/users?page=1", "status": 200},
        exclusion="admin_route",
        note="admin API route",
    ),
    Planted(
        "trk-rpg-route",
        "custom_world_route_success",
        U,
        "2026-11-18T02:10:00Z",
        "/api/runtime/rpg/battle",
        {"route": "/api/runtime/rpg/battle", "status": 200},
        exclusion="out_of_scope_module",
        note="RPG route family",
    ),
    Planted(
        "trk-rpg-key",
        "rpg_battle_start",
        U,
        "2026-11-18T02:15:00Z",
        "/rpg",
        None,
        exclusion="out_of_scope_module",
        note="unknown RPG event key",
    ),
    Planted(
        "trk-combat-module",
        "play_stats_view",
        U,
        "2026-11-18T02:20:00Z",
        "/api/profile/play-stats",
        {"module": "combat", "status": 200},
        exclusion="out_of_scope_module",
        note="combat module property",
    ),
    Planted(
        "trk-status-500",
        "llm_request",
        U,
        "2026-11-18T02:25:00Z",
        "/api/llm/chat/completions",
        {"route": "/api/llm/chat/completions", "status": 500},
        exclusion="non_2xx_status",
        note="HTTP 500",
    ),
    Planted(
        "trk-status-text",
        "recharge_order_create",
        U,
        "2026-11-18T02:30:00Z",
        "/api/profile/recharge/orders",
        {"status": "failed"},
        exclusion="non_2xx_status",
        note="a status that is not a 2xx number",
    ),
    Planted(
        "trk-login-1",
        "daily_login",
        U,
        "2026-11-18T15:59:59Z",
        "/",
        None,
        fact={"scope_kind": "user", "scope_id": "u-9001", "user_id": "u-9001", "day_key": date(2026, 11, 18)},
        fact_id="daily-login:u-9001:2026-11-18",
        note="last second of Shanghai 11-18",
    ),
    Planted(
        "trk-login-2",
        "daily_login",
        U,
        "2026-11-18T16:00:00Z",
        "/",
        None,
        fact={"day_key": date(2026, 11, 19)},
        fact_id="daily-login:u-9001:2026-11-19",
        note="first second of Shanghai 11-19",
    ),
    Planted(
        "trk-login-3",
        "daily_login",
        U,
        "2026-11-19T03:00:00Z",
        "/",
        {"source": "app"},
        exclusion="duplicate_daily_login",
        note="second login of Shanghai 11-19",
    ),
    Planted(
        "trk-login-guest",
        "daily_login",
        "trk-s-guest",
        "2026-11-19T04:00:00Z",
        "/",
        None,
        exclusion="daily_login_without_user",
        note="a login without a user is no login",
    ),
    Planted(
        "trk-play-big-1",
        "work_play_start",
        U,
        "2026-11-18T03:00:00Z",
        "/w/prof-big",
        {
            "workId": "w-big",
            "profileId": "prof-big",
            "playType": "big-fish",
            "operation": "start",
            "sourceRoute": f"/api/runtime/big-fish/start?ticket={TICKET}",
            "ownerUserId": "u-9002",
        },
        fact={
            "scope_kind": "work",
            "scope_id": "prof-big",
            "user_id": "u-9001",
            "owner_user_id": "u-9002",
            "profile_id": "prof-big",
            "module_key": "big-fish",
            "metadata_json": {
                "workId": "w-big",
                "profileId": "prof-big",
                "playType": "big-fish",
                "operation": "start",
                "sourceRoute": "/api/runtime/big-fish/start",
                "ownerUserId": "u-9002",
            },
        },
        note="big-fish plays are tracked by design",
    ),
    Planted(
        "trk-play-big-2",
        "work_play_start",
        U,
        "2026-11-19T03:00:00Z",
        "/w/prof-big",
        {"workId": "w-big", "profileId": "prof-big", "playType": "big-fish"},
        fact={"scope_id": "prof-big"},
        note="same player again",
    ),
    Planted(
        "trk-play-big-3",
        "work_play_start",
        "trk-s-u9003",
        "2026-11-19T04:00:00Z",
        "/w/prof-big",
        {"workId": "w-big", "profileId": "prof-big", "playType": "big-fish"},
        fact={"scope_id": "prof-big", "user_id": "u-9003"},
        note="a second player",
    ),
    Planted(
        "trk-play-vn-guest",
        "work_play_start",
        "trk-s-guest",
        "2026-11-19T05:00:00Z",
        "/w/w-vn",
        {"workId": "w-vn", "playType": "visual-novel", "sourceRoute": "/api/runtime/visual-novel/play"},
        fact={"scope_kind": "work", "scope_id": "w-vn", "user_id": None, "module_key": "visual-novel"},
        note="a guest play: a play, not a player",
    ),
    Planted(
        "trk-play-rpg",
        "work_play_start",
        U,
        "2026-11-19T05:30:00Z",
        "/w/w-rpg",
        {"workId": "w-rpg", "playType": "rpg"},
        exclusion="out_of_scope_module",
        note="rpg is not one of work_play_start's in-scope modules",
    ),
    Planted(
        "trk-asset-bind",
        "asset_bind",
        U,
        "2026-11-19T06:00:00Z",
        "/api/assets/objects/bind",
        {
            "status": 200,
            "asset": {
                "operation": "bind",
                "bindingId": "b-1",
                "entityKind": "character",
                "entityId": "c-1",
                "slot": "avatar",
                "ownerUserId": "u-9001",
                "profileId": "prof-1",
            },
        },
        fact={
            "module_key": "asset",
            "profile_id": "prof-1",
            "owner_user_id": "u-9001",
            "metadata_json": {
                "status": 200,
                "asset": {
                    "operation": "bind",
                    "bindingId": "b-1",
                    "entityKind": "character",
                    "entityId": "c-1",
                    "slot": "avatar",
                    "ownerUserId": "u-9001",
                    "profileId": "prof-1",
                },
            },
        },
        note="asset facts nest under asset",
    ),
    Planted(
        "trk-course-preview",
        "course_visit",
        U,
        "2026-11-19T07:00:00Z",
        "/c/shifu-alpha",
        {"shifu_bid": "shifu-alpha", "preview_mode": True, "entry_type": "catalog", "phone": PHONE},
        fact={
            "scope_kind": "course",
            "scope_id": "shifu-alpha",
            "module_key": "learner_frontend",
            "metadata_json": {"shifu_bid": "shifu-alpha", "preview_mode": True, "entry_type": "catalog"},
        },
        note="a creator preview breaks the contract but is a fact (flagged in metadata)",
    ),
    Planted(
        "trk-phone-distinct-id",
        "auth_me_view",
        "trk-s-phoneid",
        "2026-11-19T08:00:00Z",
        "/api/auth/me",
        {"status": 200},
        fact={"user_id": None, "scope_id": None, "metadata_json": {"status": 200}},
        note="a distinct id that is a phone number is no user id",
    ),
)


def planted_raw_rows() -> dict[str, list[dict[str, Any]]]:
    events = [
        {
            "event_id": p.event_id,
            "website_id": WEBSITE_ID,
            "session_id": p.session_id,
            "event_name": p.event_key,
            "created_at": p.occurred_at,
            "url_path": p.url_path,
            "has_data": bool(p.data),
            "properties": encode_properties(p.data),
            "loaded_at": LOADED_AT,
        }
        for p in PLANTED
    ]
    sessions = [
        {
            "session_id": sid,
            "website_id": WEBSITE_ID,
            "distinct_id": distinct_id,
            "first_at": datetime(2026, 11, 18, tzinfo=UTC),
            "found": True,
            "fetched_at": LOADED_AT,
        }
        for sid, distinct_id in SESSIONS.items()
    ]
    return {"events": events, "sessions": sessions}


# -- the contract dataset: expected facts, computed from the payloads -----------------------------


def day_key(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


@dataclass
class Expected:
    """What tracking_event and tracking_event_exclusion must hold for a set of raw events."""

    facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # tracking_event.event_id -> columns
    exclusions: dict[str, str] = field(default_factory=dict)  # source event id -> reason
    source_of: dict[str, str] = field(default_factory=dict)  # source event id -> seq note / planted id


def _metadata(name: str, data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The dataset events carry only course_visit and work-play fields (and daily_login's `source`)."""
    data = data or {}
    if name == "course_visit":
        return {k: data[k] for k in COURSE_VISIT_FIELDS if data.get(k) is not None}
    return {k: data[k] for k in WORK_PLAY_FIELDS if isinstance(data.get(k), str) and data[k]}


def expected_from_dataset(dataset: Mapping[str, Any], event_ids_by_seq: Mapping[int, str]) -> Expected:
    """Facts and exclusions of the dataset's named events up to AS_OF, from the payloads alone."""
    out = Expected()
    logins: dict[tuple[str, date], list[tuple[datetime, str]]] = defaultdict(list)
    for item in dataset["payloads"]:
        body = item["body"]
        payload = body["payload"]
        name = payload.get("name")
        if body.get("type") != "event" or not name:
            continue
        at = datetime.fromtimestamp(payload["timestamp"], UTC)
        if at > AS_OF:
            continue
        event_id = event_ids_by_seq[item["seq"]]
        out.source_of[event_id] = f"seq {item['seq']}: {item['note']}"
        user = payload.get("id") or None
        data = payload.get("data") or {}
        fact = {
            "event_key": name,
            "user_id": user,
            "owner_user_id": None,
            "profile_id": None,
            "occurred_at": at,
            "day_key": day_key(at),
            "source_event_id": event_id,
            "metadata_json": _metadata(name, data),
        }
        if name == "course_visit":
            shifu_bid = data.get("shifu_bid")
            if not (isinstance(shifu_bid, str) and shifu_bid):
                out.exclusions[event_id] = "missing_scope_id"
                continue
            fact |= {"scope_kind": "course", "scope_id": shifu_bid, "module_key": "learner_frontend"}
        elif name == "work_play_start":
            fact |= {
                "scope_kind": "work",
                "scope_id": data.get("profileId") or data["workId"],
                "module_key": data["playType"],
                "owner_user_id": data.get("ownerUserId"),
                "profile_id": data.get("profileId"),
            }
        elif name == "daily_login":
            if user is None:
                out.exclusions[event_id] = "daily_login_without_user"
                continue
            fact |= {"scope_kind": "user", "scope_id": user, "module_key": "auth"}
            logins[(user, fact["day_key"])].append((at, event_id))
            out.facts[event_id] = fact  # replaced below by the one kept per user and day
            continue
        else:  # not in the catalog (Course_Visit): user scope, no module
            fact |= {"scope_kind": "user", "scope_id": user, "module_key": None}
        out.facts[event_id] = fact
    for (user, day), events in logins.items():
        _, kept_id = min(events)
        for _, event_id in events:
            fact = out.facts.pop(event_id)
            if event_id == kept_id:
                out.facts[f"daily-login:{user}:{day.isoformat()}"] = fact
            else:
                out.exclusions[event_id] = "duplicate_daily_login"
    return out


def dataset_rows() -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], dict[int, str]]:
    """The dataset, its raw rows as the loader stores them, and the raw event id of each seq."""
    dataset = load_dataset()
    rows = dataset_raw_rows(dataset, LOADED_AT)
    ids = {e["_seq"]: e["event_id"] for e in rows["events"]}
    rows["events"] = [{k: v for k, v in e.items() if not k.startswith("_")} for e in rows["events"]]
    return dataset, rows, ids


def jsonish(value: Any) -> Any:
    """A jsonb value read back by psycopg2, normalised for comparison."""
    return json.loads(value) if isinstance(value, str) else value


def group_daily(facts: Iterable[Mapping[str, Any]]) -> dict[tuple, tuple[int, int]]:
    """(day_key, event_key, scope_kind, scope_id) -> (facts, distinct non-null users)."""
    groups: dict[tuple, list[Any]] = defaultdict(list)
    for f in facts:
        groups[(f["day_key"], f["event_key"], f["scope_kind"], f["scope_id"])].append(f["user_id"])
    return {k: (len(users), len({u for u in users if u is not None})) for k, users in groups.items()}
