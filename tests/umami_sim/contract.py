"""Replaying the contract captures against the simulator, and comparing answers with them."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from urllib3.util import SKIP_HEADER

from tests.umami_sim.helpers import Api
from umami_sim import UmamiSimulator, prepared_payloads

ALL_TIME = {"startAt": "0", "endAt": "9999999999999", "pageSize": "100000"}
_ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_JWT = re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$")
_CACHE_FROM = re.compile(r"<cache-jwt returned to (?P<name>[\w.]+)>")


class Wildcard:
    """A captured value that depends on wall-clock time or a secret: only its shape is compared."""

    def __init__(self, what: str, check: Callable[[object], bool]) -> None:
        self.what = what
        self.check = check

    def __repr__(self) -> str:
        return f"<any {self.what}>"


ANY_ISO_TIME = Wildcard("ISO time", lambda v: isinstance(v, str) and _ISO_MS.match(v) is not None)
ANY_JWT = Wildcard("JWT", lambda v: isinstance(v, str) and _JWT.match(v) is not None)


def any_token(length: int) -> Wildcard:
    return Wildcard(f"{length}-character token", lambda v: isinstance(v, str) and len(v) == length)


@dataclass
class Replay:
    sim: UmamiSimulator
    api: Api
    captures: list[dict]
    ids: dict[str, str] = field(default_factory=dict)  # captured generated id -> the simulator's
    visit_pairs: list[tuple[str, str, str]] = field(default_factory=list)  # (capture, captured, ours)
    answers: dict[str, requests.Response] = field(default_factory=dict)  # our answers to write captures

    def map_ids(self, value: object) -> object:
        if isinstance(value, str):
            return self.ids.get(value, value)
        if isinstance(value, list):
            return [self.map_ids(v) for v in value]
        if isinstance(value, dict):
            return {k: self.map_ids(v) for k, v in value.items()}
        return value

    def map_path(self, path: str) -> str:
        return "/".join(self.ids.get(part, part) for part in path.split("/"))

    def issue(self, capture: dict) -> requests.Response:
        """The captured request, against the simulator (ids mapped, same auth kind)."""
        request = capture["request"]
        path = self.map_path(request["path"]).removeprefix("/api")
        if request["method"] == "GET":
            return self.api.get(path, request["query"], auth=request["auth"])
        return self.api.post(path, self.map_ids(request.get("body")), auth=request["auth"])


def load_captures(contract_dir: Path) -> list[dict]:
    lines = (contract_dir / "captures.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def is_write(capture: dict) -> bool:
    name = capture["name"]
    return name.startswith(("send.", "websites.create", "auth.login"))


def replay(sim: UmamiSimulator, captures: list[dict], dataset: dict) -> Replay:
    """Log in, create the websites, feed the dataset and the scratch sends, then map every id."""
    api = Api(sim.base_url)
    result = Replay(sim, api, captures)
    by_name = {c["name"]: c for c in captures}
    for capture in captures:
        name, request = capture["name"], capture["request"]
        if name.startswith("auth.login"):
            result.answers[name] = answer = api.http.post(f"{sim.base_url}/auth/login", json=request["body"])
            if answer.status_code == 200:
                api.token = answer.json()["token"]
                result.ids[capture["response"]["body"]["user"]["id"]] = answer.json()["user"]["id"]
        elif name.startswith("websites.create"):
            result.answers[name] = answer = api.post("/websites", request["body"])
            result.ids[capture["response"]["body"]["id"]] = answer.json()["id"]
        elif name == "send.001":
            _send_dataset(result, dataset, by_name)
        elif name.startswith("send.") and not re.fullmatch(r"send\.\d{3}", name):
            headers = {"Content-Type": "application/json"}
            for header, value in (request.get("headers") or {}).items():
                cache_of = _CACHE_FROM.fullmatch(value or "")
                if cache_of:
                    value = result.answers[cache_of["name"]].json()["cache"]
                headers[header] = SKIP_HEADER if value is None else value  # None: no such header at all
            answer = api.http.post(
                sim.root_url + request["path"],
                data=json.dumps(result.map_ids(request["body"])),
                headers=headers,
            )
            _record_send(result, capture, answer)
    _map_events(result)
    return result


def _send_dataset(result: Replay, dataset: dict, by_name: dict[str, dict]) -> None:
    """dataset.json in seq order with its send_headers; each body must be the captured send's body."""
    website = result.ids[by_name["websites.create"]["response"]["body"]["id"]]
    headers = dataset["send_headers"]
    for seq, body in prepared_payloads(dataset, website):
        capture = by_name[f"send.{seq:03d}"]
        assert result.map_ids(capture["request"]["body"]) == body, f"dataset seq {seq} differs from its capture"
        answer = result.api.http.post(result.sim.root_url + "/api/send", json=body, headers=headers)
        _record_send(result, capture, answer)


def _record_send(result: Replay, capture: dict, answer: requests.Response) -> None:
    result.answers[capture["name"]] = answer
    captured = capture["response"]["body"]
    if capture["response"]["status"] == 200 and "sessionId" in captured and answer.status_code == 200:
        ours = answer.json()
        result.ids.setdefault(captured["sessionId"], ours["sessionId"])
        result.visit_pairs.append((capture["name"], captured["visitId"], ours["visitId"]))


def _event_key(row: dict) -> tuple:
    return (
        row["websiteId"],
        row["sessionId"],
        row["createdAt"],
        row["eventName"],
        row["urlPath"],
        row["hasData"],
    )


def _event_data_key(row: dict) -> tuple:
    props = sorted(json.dumps(p, sort_keys=True) for p in row["eventProperties"])
    return (row["websiteId"], row["eventName"], *props)


def _map_events(result: Replay) -> None:
    """Captured event ids -> ours, by content: same website, session, time, name, path and hasData
    (for events seen only in /event-data answers: same website, name and properties)."""
    ours: dict[tuple, str] = {}
    ours_by_data: dict[tuple, str] = {}
    for website in {
        result.ids[c["response"]["body"]["id"]] for c in result.captures if c["name"].startswith("websites.create")
    }:
        for row in result.api.json(f"/websites/{website}/events", **ALL_TIME)["data"]:
            assert _event_key(row) not in ours, f"two events share the content key {_event_key(row)}"
            ours[_event_key(row)] = row["id"]
        for row in result.api.json(f"/websites/{website}/event-data", **ALL_TIME)["data"]:
            ours_by_data[_event_data_key(row)] = row["eventId"]
    for capture in result.captures:
        body = capture["response"]["body"]
        path = capture["request"]["path"]
        rows = body.get("data") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            continue
        for row in rows:
            mapped = result.map_ids(row)
            if path.endswith("/events"):
                result.ids.setdefault(row["id"], ours.get(_event_key(mapped), row["id"]))
            elif path.endswith("/event-data"):
                result.ids.setdefault(row["eventId"], ours_by_data.get(_event_data_key(mapped), row["eventId"]))


# --- comparison ---------------------------------------------------------------------------


def list_key(path: str) -> Callable[[dict], object] | None:
    """How a list answer is ordered (its rows with equal keys come in arbitrary order)."""
    keys: dict[str, Callable[[dict], object]] = {
        "/events": lambda r: r["createdAt"],
        "/event-data": lambda r: r["eventProperties"][0]["createdAt"],
        "/sessions": lambda r: r["createdAt"],
        "/event-data/values": lambda r: r["total"],
        "/metrics": lambda r: r["y"],
        "/metrics/expanded": lambda r: (r["visitors"], r["visits"]),
    }
    return next((key for suffix, key in keys.items() if path.endswith(suffix)), None)


def canonical(row: object) -> str:
    """A row as sorted JSON; event properties compare as a multiset (their order is arbitrary)."""
    if isinstance(row, dict) and "eventProperties" in row:
        row = {
            **row,
            "eventProperties": sorted(row["eventProperties"], key=lambda p: json.dumps(p, sort_keys=True)),
        }
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


def page_group(capture: dict) -> tuple:
    """Captures that read the same list (same path and query except paging)."""
    query = {k: v for k, v in capture["request"]["query"].items() if k not in ("page", "pageSize")}
    return capture["request"]["path"], tuple(sorted(query.items()))


def tie_groups(captures: list[dict]) -> dict[tuple, dict[object, set[str]]]:
    """For each list read: every row the captures show, by ordering key (the known tie groups)."""
    groups: dict[tuple, dict[object, set[str]]] = defaultdict(lambda: defaultdict(set))
    for capture in captures:
        key = list_key(capture["request"]["path"])
        body = capture["response"]["body"]
        if key is not None and isinstance(body, dict) and isinstance(body.get("data"), list):
            for row in body["data"]:
                groups[page_group(capture)][key(row)].add(canonical(row))
    return groups


def assert_same(expected: object, actual: object, where: str = "body") -> None:
    """Same JSON types and values everywhere; a Wildcard checks only the shape."""
    if isinstance(expected, Wildcard):
        assert expected.check(actual), f"{where}: {actual!r} is not {expected!r}"
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        assert list(expected) == list(actual), f"{where}: keys {list(actual)} != {list(expected)}"
        for k in expected:
            assert_same(expected[k], actual[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        assert len(expected) == len(actual), f"{where}: {len(actual)} items != {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_same(e, a, f"{where}[{i}]")
    else:
        assert type(expected) is type(actual) and expected == actual, f"{where}: {actual!r} != {expected!r}"


def assert_same_list(
    expected: list,
    actual: list,
    key: Callable[[dict], object],
    known: dict[object, set[str]] | None = None,
    where: str = "data",
) -> None:
    """Same order of keys; rows with equal keys compare as multisets. With ``known`` (a paged read),
    a tie group that is only partly on the page may hold any of the group's rows, each at most once."""
    assert [key(r) for r in actual] == [key(r) for r in expected], f"{where}: ordering keys differ"
    by_key_expected: dict[object, list[str]] = defaultdict(list)
    by_key_actual: dict[object, list[str]] = defaultdict(list)
    for row in expected:
        by_key_expected[key(row)].append(canonical(row))
    for row in actual:
        by_key_actual[key(row)].append(canonical(row))
    for k, rows in by_key_expected.items():
        ours = by_key_actual[k]
        group = known.get(k, set()) if known else set()
        if len(group) > len(rows):
            assert len(set(ours)) == len(ours), f"{where}: a tied row repeats within one page at {k}"
            assert set(ours) <= group, f"{where}: rows at {k} are not from the tie group"
        else:
            assert Counter(ours) == Counter(rows), f"{where}: rows at {k} differ:\n{ours}\n!=\n{rows}"
