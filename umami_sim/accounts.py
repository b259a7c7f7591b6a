"""The admin user, login, and websites (``/auth/*``, ``/websites``)."""

from __future__ import annotations

from . import clock, responses
from .auth import Tokens
from .ids import IdMaker, is_uuid
from .params import Problems, paging
from .request import Request
from .responses import MISSING_STRING, Response, json_response
from .store import Store, Website


class Accounts:
    def __init__(self, store: Store, ids: IdMaker, tokens: Tokens, username: str, password: str) -> None:
        self._store = store
        self._ids = ids
        self._tokens = tokens
        self._username = username
        self._password = password
        self.user_id = ids.user(username)
        self._user_created_at = int(store.meta("user_created_at", str(clock.now_ms())))

    def user(self) -> dict[str, object]:
        created = clock.iso(self._user_created_at)
        return {"id": self.user_id, "username": self._username, "role": "admin", "createdAt": created,
                "isAdmin": True, "teams": []}  # fmt: skip

    def login(self, request: Request) -> Response:
        body = request.json()
        fields = body if isinstance(body, dict) else {}
        problems = Problems()
        for name in ("username", "password"):
            if not isinstance(fields.get(name), str):
                problems.add(name, MISSING_STRING)
        refused = problems.response()
        if refused is not None:
            return refused
        if (fields["username"], fields["password"]) != (self._username, self._password):
            return responses.unauthorized("incorrect-username-password")
        return json_response({"token": self._tokens.issue(), "user": self.user()})

    def logout(self, request: Request) -> Response:
        self._tokens.revoke(request.header("authorization"))
        return json_response({"ok": True})

    # --- websites ---------------------------------------------------------------------------

    def create_website(self, name: str, domain: str | None, website_id: str | None = None) -> Website:
        return self._store.add_website(website_id or self._ids.website(), name, domain, self.user_id,
                                       clock.now_ms())  # fmt: skip

    def website(self, website_id: str) -> Response:
        website = self._store.website(website_id)
        return json_response(None if website is None else website_json(website))

    def add_website(self, request: Request) -> Response:
        body = request.json()
        fields = body if isinstance(body, dict) else {}
        problems = Problems()
        for name, limit in (("name", 100), ("domain", 500)):
            value = fields.get(name)
            if not isinstance(value, str):
                problems.add(name, MISSING_STRING)
            elif len(value) > limit:
                problems.add(name, f"Too big: expected string to have <={limit} characters")
        website_id = fields.get("id")  # Umami accepts a caller-chosen id
        if website_id is not None and not (isinstance(website_id, str) and is_uuid(website_id)):
            problems.add("id", "Invalid UUID")
        refused = problems.response()
        if refused is not None:
            return refused
        if website_id is not None and self._store.website(website_id) is not None:
            return responses.bad_request("Website already exists.")
        return json_response(website_json(self.create_website(fields["name"], fields["domain"], website_id)))

    def websites(self, request: Request) -> Response:
        problems = Problems()
        page = paging(problems, request.query)
        refused = problems.response()
        if refused is not None:
            return refused
        websites = self._store.websites()
        shown = [website_json(w) for w in websites[page.offset : page.offset + page.page_size]]
        return json_response({"data": shown, "count": len(websites), "page": page.page, "pageSize": page.page_size})


def website_json(website: Website) -> dict[str, object]:
    created = clock.iso(website.created_at)
    return {
        "id": website.id, "name": website.name, "domain": website.domain, "resetAt": None,
        "userId": website.user_id, "teamId": None, "createdBy": website.user_id, "createdAt": created,
        "updatedAt": created, "deletedAt": None, "replayEnabled": False, "replayConfig": None, "shareId": None,
    }  # fmt: skip
