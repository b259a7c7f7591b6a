"""`course-analytics docs`: dbt's documentation site generated from the warehouse and served on
127.0.0.1, opened in headless Chromium; every model, seed, source and column is described."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.analyst.conftest import CLI, Published
from tests.browser import wait_for

MARTS = ("analytics_course_daily_stats", "analytics_course_window_stats", "tracking_daily_stat", "tracking_event")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def docs_site(published: Published, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    log = tmp_path_factory.mktemp("docs") / "docs.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [CLI, "docs", "--port", str(port)], env=published.env, stdout=output, stderr=subprocess.STDOUT, cwd="/"
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        yield url, published.home / "dbt" / "target"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_served_site_shows_each_mart_with_its_description_and_columns(docs_site, browser, artifacts_dir) -> None:
    url, target = docs_site
    manifest = json.loads((target / "manifest.json").read_text())
    for mart in MARTS:
        node = manifest["nodes"][f"model.course_analytics.{mart}"]
        opening = " ".join(node["description"].split()[:5])
        browser.get(url + f"#!/model/{node['unique_id']}")
        wait_for(browser, f"return document.body.innerText.includes({json.dumps(opening)})", timeout=60)
        browser.save_screenshot(str(artifacts_dir / f"dbt-docs-{mart}.png"))
        text = browser.execute_script("return document.body.innerText")
        assert mart in text
        for column in node["columns"]:
            assert column in text, (mart, column)  # the columns table, from the catalog


def test_the_catalog_holds_every_mart_from_the_warehouse(docs_site) -> None:
    url, _ = docs_site
    with urllib.request.urlopen(url + "catalog.json", timeout=10) as answer:
        catalog = json.load(answer)
    tables = {node["metadata"]["name"]: node for node in catalog["nodes"].values()}
    for mart in MARTS:
        assert mart in tables, sorted(tables)
        assert tables[mart]["columns"], mart


def test_every_model_seed_source_and_column_is_described(docs_site) -> None:
    _, target = docs_site
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    nodes = {
        key: n
        for key, n in [*manifest["nodes"].items(), *manifest["sources"].items()]
        if n["resource_type"] in ("model", "seed", "source") and n["package_name"] == "course_analytics"
    }
    assert len(nodes) > 20
    undescribed = [key for key, n in nodes.items() if not n["description"].strip()]
    # every column the warehouse holds (the catalog), described in the project's YAML
    built = {**catalog["nodes"], **catalog["sources"]}
    for key, node in nodes.items():
        described = {name.lower(): c["description"].strip() for name, c in node["columns"].items()}
        columns = built[key]["columns"] if key in built else node["columns"]
        undescribed += [f"{key}.{name}" for name in columns if not described.get(name.lower())]
    assert undescribed == []
