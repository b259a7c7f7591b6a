"""The simulator's own admin endpoints (no auth, loopback clients only):

* ``GET /__sim/faults`` lists the active faults; ``POST`` adds (a fault object, a list of them, or
  ``{"faults": [...]}``), ``PUT`` replaces them all, ``DELETE`` clears them;
* ``GET /__sim/stats`` reports requests served per path and faults fired; ``DELETE`` resets them;
* ``POST /__sim/tokens/invalidate`` revokes every bearer token.
"""

from __future__ import annotations

import ipaddress

from . import responses
from .auth import Tokens
from .faults import Fault, FaultInjector
from .request import Request
from .responses import Response, json_response


def handle(request: Request, faults: FaultInjector, tokens: Tokens) -> Response:
    if not _is_loopback(request.client_ip):
        return responses.error(403, "Forbidden", "forbidden")
    path, method = request.path.rstrip("/"), request.method
    try:
        if path == "/__sim/faults":
            return _faults(request, faults)
        if path == "/__sim/stats" and method in ("GET", "DELETE"):
            if method == "DELETE":
                faults.reset_counters()
            return json_response(faults.stats())
        if path == "/__sim/tokens/invalidate" and method == "POST":
            tokens.revoke_all()
            return json_response({"ok": True})
    except (TypeError, ValueError) as exc:
        return responses.error(400, str(exc), "bad-request")
    return responses.not_found()


def _faults(request: Request, faults: FaultInjector) -> Response:
    if request.method in ("POST", "PUT"):
        new = [Fault.from_dict(item) for item in _fault_items(request.json())]
        if request.method == "PUT":
            faults.set(new)
        else:
            for fault in new:
                faults.add(fault)
    elif request.method == "DELETE":
        faults.clear()
    elif request.method != "GET":
        return responses.method_not_allowed()
    return json_response({"faults": [f.to_dict() for f in faults.active()]})


def _fault_items(body: object) -> list[dict[str, object]]:
    if isinstance(body, dict) and "faults" in body:
        body = body["faults"]
    items = body if isinstance(body, list) else [body]
    if not all(isinstance(item, dict) for item in items):
        raise ValueError('expected a fault object, a list of them, or {"faults": [...]}')
    return items


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
