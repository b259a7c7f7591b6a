"""Fixtures for the producer kit's browser tests: headless Chromium and the test site on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.browser import StaticServer, wait_for

ROOT = Path(__file__).resolve().parents[2]
PAGES = Path(__file__).resolve().parent / "pages"


@pytest.fixture(scope="session")
def site() -> Iterator[StaticServer]:
    """The real module at /producer/, the test doubles at /pages/, the learner app at /learn/…"""
    routes = {"/producer": ROOT / "producer", "/pages": PAGES, "/learn": PAGES / "learner.html"}
    with StaticServer(routes) as server:
        yield server


class LearnerPage:
    """The learner course page in one browser tab."""

    def __init__(self, driver, site: StaticServer) -> None:
        self.driver = driver
        self.site = site

    def open(self, path: str = "/learn/course", *, tracker: str = "recording", storage: str = "ok", visit=None):
        query = {"tracker": tracker, "storage": storage}
        if visit is not None:
            query["visit"] = json.dumps(visit)
        self.driver.get(self.site.url(path) + "?" + urlencode(query))
        self.wait_for_load()
        return self

    def wait_for_load(self) -> None:
        wait_for(self.driver, "return document.readyState === 'complete'")

    def reload(self) -> LearnerPage:
        self.driver.refresh()
        self.wait_for_load()
        return self

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def visit(self, **props: Any) -> dict:
        return self.js("return window.app.visit(arguments[0])", props)

    def navigate(self, path: str, **props: Any) -> dict:
        return self.js("return window.app.navigate(arguments[0], arguments[1])", path, props)

    def calls(self) -> list[dict]:
        return self.js("return window.__umamiCalls")

    def events(self) -> list[list]:
        """The ``track`` calls' arguments, in order."""
        return [call["args"] for call in self.calls() if call["name"] == "track"]

    def errors(self) -> list[str]:
        return self.js("return window.__errors")

    def ready(self) -> bool:
        return self.js("return document.body.dataset.ready === '1'")

    def storage(self) -> dict:
        return self.js(
            "const out = {}; for (let i = 0; i < sessionStorage.length; i++) {"
            " const k = sessionStorage.key(i); out[k] = sessionStorage.getItem(k); } return out"
        )

    def settle(self) -> None:
        """Let pending promise callbacks (the tracker's) run."""
        self.driver.execute_async_script("const done = arguments[0]; setTimeout(done, 0)")

    def new_tab(self) -> LearnerPage:
        self.driver.switch_to.new_window("tab")
        return self


@pytest.fixture
def page(browser, site: StaticServer) -> Iterator[LearnerPage]:
    """A fresh tab (so a fresh sessionStorage) on the learner site; closed after the test."""
    home = browser.current_window_handle
    browser.switch_to.new_window("tab")
    try:
        yield LearnerPage(browser, site)
    finally:
        for handle in browser.window_handles:
            if handle != home:
                browser.switch_to.window(handle)
                browser.close()
        browser.switch_to.window(home)
