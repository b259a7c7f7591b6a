"""tests/browser.py itself: the missing-browser message and the static server."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser import INSTALL_HINT, BrowserMissing, ChromiumFactory, StaticServer, browser_problem


def test_a_missing_browser_is_a_failure_that_says_how_to_install_it(tmp_path: Path) -> None:
    assert INSTALL_HINT == "apt-get install -y chromium chromium-driver"
    problem = browser_problem(chromium=str(tmp_path / "chromium"), chromedriver="/usr/bin/chromedriver")
    assert problem is not None and INSTALL_HINT in problem and str(tmp_path / "chromium") in problem
    with pytest.raises(BrowserMissing, match="apt-get install -y chromium chromium-driver"):
        ChromiumFactory(chromedriver=str(tmp_path / "chromedriver")).new_driver()


def test_this_machine_has_the_browser() -> None:
    assert browser_problem() is None


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], b""


def test_static_server_routes_folders_and_fallback_files(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "m.js").write_text("export const x = 1;")
    (tmp_path / "app.html").write_text("<p>app</p>")
    (tmp_path / "secret.txt").write_text("outside")
    with StaticServer({"/static": tmp_path / "js", "/app": tmp_path / "app.html"}) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        status, content_type, body = _get(server.url("/static/m.js"))
        assert (status, content_type, body) == (200, "text/javascript; charset=utf-8", b"export const x = 1;")
        assert _get(server.url("/app/any/route"))[2] == b"<p>app</p>"
        assert _get(server.url("/app"))[2] == b"<p>app</p>"
        assert _get(server.url("/static/../secret.txt"))[0] == 404
        assert _get(server.url("/static/%2e%2e/secret.txt"))[0] == 404
        assert _get(server.url("/appendix"))[0] == 404
        assert _get(server.url("/nothing"))[0] == 404
        assert "/static/m.js" in server.requests
