"""``UmamiSimulator`` (a server on a background thread, for tests and benchmarks) and ``serve`` (the
foreground entry point behind ``python -m umami_sim``)."""

from __future__ import annotations

import json
import random
import signal
import threading
from collections.abc import Iterable
from types import FrameType

from .app import App, Config
from .bulk import BulkFillResult, FillSpec, fill
from .client import JsonClient
from .faults import Fault, FaultInjector
from .request import Request
from .server import SimServer
from .store import Store
from .traffic import BROWSER_USER_AGENT, prepared_payloads


class UmamiSimulator:
    """A local Umami-compatible server.

    ``db_path`` None keeps everything in memory; a file keeps data (and the id secret) across runs.
    ``seed`` makes ids and tie orders reproducible. ``faults`` are active from the start.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        db_path: str | None = None,
        version: str = "3.1.0",
        cloud: bool = False,
        api_key: str | None = None,
        seed: int | None = None,
        faults: Iterable[Fault] = (),
        username: str = "admin",
        password: str = "umami",
        rate_limit: int = 50,
        rate_window_s: float = 15.0,
    ) -> None:
        config = Config(
            version=version,
            cloud=cloud,
            api_key=api_key,
            username=username,
            password=password,
            rate_limit=rate_limit,
            rate_window_s=rate_window_s,
        )
        self._address = (host, port)
        self.store = Store(db_path)
        self.faults = FaultInjector(list(faults))
        self.app = App(config, self.store, self.faults, random.Random(seed))
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> UmamiSimulator:
        if self._server is None:
            self._server = SimServer(self._address, self.app)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="umami-sim",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stopping.set()
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None
        self.store.close()

    def __enter__(self) -> UmamiSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses and accounts -------------------------------------------------------------

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """The API root: ``…/api`` (self-hosted) or ``…/v1`` (cloud)."""
        return self.root_url + self.app.config.prefix

    @property
    def send_url(self) -> str:
        return self.root_url + "/api/send"

    @property
    def admin_url(self) -> str:
        return self.root_url + "/__sim"

    @property
    def username(self) -> str:
        return self.app.config.username

    @property
    def password(self) -> str:
        return self.app.config.password

    @property
    def api_key(self) -> str | None:
        return self.app.config.api_key

    @property
    def version(self) -> str:
        return self.app.config.version

    def token(self) -> str:
        """A valid bearer token without a login request."""
        return self.app.tokens.issue()

    def invalidate_tokens(self) -> None:
        """Every bearer token issued so far stops working (401 until the client logs in again)."""
        self.app.tokens.revoke_all()

    # --- data -------------------------------------------------------------------------------

    def create_website(
        self, name: str = "umami-sim", domain: str = "course.example.com", website_id: str | None = None
    ) -> str:
        return self.app.accounts.create_website(name, domain, website_id).id

    def send(
        self, body: object, headers: dict[str, str] | None = None, client_ip: str = "127.0.0.1"
    ) -> tuple[int, object]:
        """One ``/api/send`` in process (same code path, no HTTP, no faults, not counted)."""
        request = Request(
            "POST",
            "/api/send",
            {},
            headers or {"User-Agent": BROWSER_USER_AGENT},
            json.dumps(body).encode(),
            client_ip,
        )
        response = self.app.handle(request)
        return response.status, json.loads(response.body) if response.body else None

    def send_dataset(self, dataset: dict, website_id: str, over_http: bool = True) -> list[dict[str, object]]:
        """Send a dataset's payloads in ``seq`` order (``__WEBSITE_ID__`` replaced), with its
        ``send_headers``; returns ``[{"seq", "status", "body"}]``. ``over_http=False`` uses ``send``."""
        headers = {k: v for k, v in dataset.get("send_headers", {}).items() if v is not None}
        headers.setdefault("User-Agent", BROWSER_USER_AGENT)
        answers = []
        if not over_http:
            for seq, body in prepared_payloads(dataset, website_id):
                status, answer = self.send(body, headers)
                answers.append({"seq": seq, "status": status, "body": answer})
            return answers
        with JsonClient(self.root_url) as client:
            for seq, body in prepared_payloads(dataset, website_id):
                status, answer = client.post("/api/send", body, headers)
                answers.append({"seq": seq, "status": status, "body": answer})
        return answers

    def bulk_fill(self, website_id: str, spec: FillSpec | None = None) -> BulkFillResult:
        """Insert synthetic ``course_visit`` events directly, not via /api/send (see ``umami_sim.bulk``)."""
        return fill(self.app, website_id, spec)

    # --- faults and counters ----------------------------------------------------------------

    def add_fault(self, fault: Fault | None = None, **options: object) -> None:
        """``add_fault(Fault("status", status=503, count=2))`` or
        ``add_fault(kind="reset", path="/events")``."""
        self.faults.add(fault or Fault.from_dict(options))

    def set_faults(self, faults: Iterable[Fault]) -> None:
        self.faults.set(list(faults))

    def clear_faults(self) -> None:
        self.faults.clear()

    def active_faults(self) -> list[Fault]:
        return self.faults.active()

    def request_count(self, path_substring: str | None = None) -> int:
        """HTTP requests received whose path contains ``path_substring`` (all when None)."""
        return self.faults.request_count(path_substring)

    def stats(self) -> dict[str, object]:
        return self.faults.stats()

    def reset_counters(self) -> None:
        self.faults.reset_counters()


def serve(
    host: str = "127.0.0.1",
    port: int = 3000,
    db_path: str | None = None,
    version: str = "3.1.0",
    cloud: bool = False,
    api_key: str | None = None,
    seed: int | None = None,
    faults: Iterable[Fault] = (),
    username: str = "admin",
    password: str = "umami",
) -> None:
    """Run a simulator in the foreground until SIGINT or SIGTERM; prints where it listens."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    sim = UmamiSimulator(
        host=host,
        port=port,
        db_path=db_path,
        version=version,
        cloud=cloud,
        api_key=api_key,
        seed=seed,
        faults=faults,
        username=username,
        password=password,
    )
    try:
        sim.start()
        print(
            f"Umami simulator (v{sim.version}{', cloud' if cloud else ''}) listening on {sim.base_url}",
            flush=True,
        )
        if cloud:
            print(f"API key: {api_key} (header x-umami-api-key)", flush=True)
        else:
            print(f"Account: {sim.username} / {sim.password}", flush=True)
        print(f"Collection: {sim.send_url}   Admin: {sim.admin_url}", flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        sim.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("Umami simulator stopped", flush=True)
