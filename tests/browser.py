"""Browser test helpers: headless Chromium through Selenium, and a loopback static HTTP server.

A plain module (no fixtures): a test folder's conftest.py builds its fixtures from these, as
tests/producer/conftest.py does. Chromium and chromedriver are Debian's (``apt-get install -y
chromium chromium-driver``); Selenium is always given the driver's path, so Selenium Manager never
tries to download a browser or a driver. A missing piece raises ``BrowserMissing``, whose message
says how to install it: browser tests fail with it, they are never skipped.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Mapping
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = "apt-get install -y chromium chromium-driver"
# Needed on this closed network and as root: no sandbox, nothing that phones home.
CHROME_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


class BrowserMissing(RuntimeError):
    """Chromium, chromedriver or Selenium is not installed; the message says how to install it."""


def browser_problem(chromium: str = CHROMIUM, chromedriver: str = CHROMEDRIVER) -> str | None:
    """Why a browser test cannot run here (with the install command), or None when it can."""
    missing = [path for path in (chromium, chromedriver) if not Path(path).is_file()]
    if missing:
        return (
            f"the browser tests need headless Chromium and its driver; missing: {', '.join(missing)}. "
            f"Install them with: {INSTALL_HINT}"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the browser tests need Selenium: install the dev extra (pip install -e '.[dev]')"
    return None


class ChromiumFactory:
    """Starts headless Chromium sessions, each with a fresh temporary profile; ``close()`` ends them all."""

    def __init__(self, chromium: str = CHROMIUM, chromedriver: str = CHROMEDRIVER) -> None:
        self.chromium = chromium
        self.chromedriver = chromedriver
        self._sessions: list[tuple[WebDriver, Path]] = []

    def new_driver(self, window_size: tuple[int, int] = (1280, 900)) -> WebDriver:
        problem = browser_problem(self.chromium, self.chromedriver)
        if problem:
            raise BrowserMissing(problem)
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        profile = Path(tempfile.mkdtemp(prefix="ca-chromium-"))
        options = webdriver.ChromeOptions()
        options.binary_location = self.chromium
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for console_errors()
        for argument in (*CHROME_ARGUMENTS, f"--user-data-dir={profile}", "--window-size={},{}".format(*window_size)):
            options.add_argument(argument)
        try:
            driver = webdriver.Chrome(service=Service(executable_path=self.chromedriver), options=options)
        except Exception as exc:
            shutil.rmtree(profile, ignore_errors=True)
            raise BrowserMissing(f"headless Chromium did not start ({exc}); is it installed? {INSTALL_HINT}") from exc
        self._sessions.append((driver, profile))
        return driver

    def close(self) -> None:
        while self._sessions:
            driver, profile = self._sessions.pop()
            try:
                driver.quit()
            finally:
                shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver: WebDriver) -> list[str]:
    """The console's errors since the last call (Chromium hands each entry out once)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for(driver: WebDriver, script: str, timeout: float = 10.0) -> None:
    """Wait until the JavaScript ``script`` (e.g. ``return document.readyState === 'complete'``) is truthy."""
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


class StaticServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) for test pages; a context manager.

    ``routes`` maps URL prefixes to paths: a folder serves its files below the prefix, a file is
    served for every path below the prefix (a single-page app's fallback). The longest matching
    prefix wins; anything else is 404. Nothing is cached.
    """

    def __init__(self, routes: Mapping[str, Path | str]) -> None:
        self.routes = sorted(((prefix.rstrip("/") or "/", Path(path)) for prefix, path in routes.items()), reverse=True)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="static-server", daemon=True)
        self.requests: list[str] = []

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def resolve(self, url_path: str) -> Path | None:
        """The file served for a URL path, or None."""
        path = unquote(urlsplit(url_path).path)
        for prefix, target in self.routes:
            if prefix != "/" and path != prefix and not path.startswith(prefix + "/"):
                continue
            if target.is_file():
                return target
            rest = path[len(prefix) :].lstrip("/") if prefix != "/" else path.lstrip("/")
            candidate = (target / rest).resolve()
            if candidate.is_file() and candidate.is_relative_to(target.resolve()):
                return candidate
            return None
        return None

    def start(self) -> StaticServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",  # module scripts need a JavaScript MIME type
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, site: StaticServer, *args: object, **kwargs: object) -> None:
        self.site = site
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        self.site.requests.append(self.path)
        path = self.site.resolve(self.path)
        if path is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        body = path.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", _CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.send_error(HTTPStatus.METHOD_NOT_ALLOWED)

    def log_message(self, format: str, *args: object) -> None:
        pass
