"""The HTTP transport: a ThreadingHTTPServer speaking HTTP/1.1 (keep-alive), applying faults."""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .app import App
from .faults import RESPONSE_KINDS, Fault
from .request import Request
from .responses import JSON_TYPE, Response, json_response

_MALFORMED = b'{"data":[{"id":"'
_STATUS_BODIES = {
    429: (b'{"error":{"message":"Too many requests","code":"too-many-requests","status":429}}', JSON_TYPE),
    500: (b'{"error":{"message":"Server error","code":"server-error","status":500}}', JSON_TYPE),
}


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.stopping = threading.Event()
        super().__init__(address, _Handler)

    def handle_error(self, request: socket.socket, client_address: tuple[str, int]) -> None:
        """A client that hung up (e.g. its own timeout on a big page) is not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stalls
    server: SimServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a test run would otherwise print one line per request."""

    def _serve(self) -> None:
        app = self.server.app
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers=dict(self.headers.items()),
            body=self.rfile.read(length) if length else b"",
            client_ip=self.client_address[0],
        )
        if url.path.startswith("/__sim/"):
            self._answer(app.handle_admin(request))
            return
        faults = app.faults
        faults.record_request(url.path)
        delay = faults.latency_s(url.path)
        if delay and self.server.stopping.wait(delay):
            return
        fault = faults.take(url.path, RESPONSE_KINDS)
        if fault is None:
            response = app.handle(request)
            if response.status == 200 and faults.has(url.path, "short_page"):
                response = _shorten(response, url.path, app)
            if response.status == 200 and faults.has(url.path, "bad_rows"):
                response = _spoil(response, url.path, app)
            self._answer(response)
        elif fault.kind == "reset":
            self._reset()
        elif fault.kind == "timeout":
            self.server.stopping.wait(fault.hold_s)
            self.close_connection = True
        else:
            self._answer(_fault_response(fault, app))

    def _answer(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def _reset(self) -> None:
        """Close with a TCP reset and no answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def _fault_response(fault: Fault, app: App) -> Response:
    if fault.kind == "malformed":
        return Response(200, _MALFORMED, JSON_TYPE)
    if fault.kind == "token_expiry":
        app.tokens.revoke_all()
        return json_response({"error": {"message": "Unauthorized", "code": "unauthorized", "status": 401}}, 401)
    body, content_type = _STATUS_BODIES.get(fault.status, (b"", None))
    response = Response(fault.status, body, content_type)
    if fault.status in (429, 503):
        response.headers["Retry-After"] = str(fault.retry_after)
    return response


def _rows(response: Response) -> tuple[object, list[object] | None]:
    """A JSON answer's body and its list of rows (``data``, or the body itself), if it has rows."""
    if response.content_type != JSON_TYPE:
        return None, None
    body = json.loads(response.body)
    rows = body.get("data") if isinstance(body, dict) else body
    return body, rows if isinstance(rows, list) and rows else None


def _shorten(response: Response, path: str, app: App) -> Response:
    """Drop rows from a list answer, keeping its ``count`` (the short-page fault)."""
    body, rows = _rows(response)
    if not isinstance(body, dict) or rows is None:
        return response
    fault = app.faults.take(path, ("short_page",))
    if fault is None:
        return response
    keep = sorted(app.rng.sample(range(len(rows)), max(0, len(rows) - fault.drop_rows)))
    body["data"] = [rows[i] for i in keep]
    return json_response(body)


def _spoil(response: Response, path: str, app: App) -> Response:
    """Set the fault's ``patch`` fields on some rows of a list answer, or on an object answer
    (``/sessions/{id}``, ``/events/stats``): the bad-rows fault."""
    body, rows = _rows(response)
    whole = isinstance(body, dict) and body and not isinstance(body.get("data"), list)
    if rows is None and not whole:
        return response
    fault = app.faults.take(path, ("bad_rows",))
    if fault is None or fault.patch is None:
        return response
    if rows is None:
        return json_response({**body, **fault.patch})
    for i in app.rng.sample(range(len(rows)), min(len(rows), fault.patch_rows)):
        row = rows[i]
        rows[i] = {**row, **fault.patch} if isinstance(row, dict) else row
    return json_response(body)
