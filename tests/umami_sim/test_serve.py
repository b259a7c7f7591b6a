"""The foreground entry point: ``python -m umami_sim`` prints where it listens and stops cleanly."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_python_m_umami_sim(stop_signal: signal.Signals) -> None:
    fault = json.dumps({"kind": "status", "status": 503, "path": "/heartbeat"})
    command = [sys.executable, "-m", "umami_sim", "--host", "127.0.0.1", "--port", "0", "--fault", fault]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+/api)", first)
        assert match, first
        base = match.group(1)
        assert "admin / umami" in process.stdout.readline()
        assert requests.get(f"{base}/heartbeat", timeout=5).status_code == 503
        assert requests.get(f"{base}/heartbeat", timeout=5).json() == {"ok": True}
        login = requests.post(f"{base}/auth/login", json={"username": "admin", "password": "umami"}, timeout=5)
        assert login.status_code == 200
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "stopped" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
