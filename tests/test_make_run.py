"""`make run` from the README really serves the bundled corpus on its port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import ROOT
from tests.prerequisites import needs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@needs("make")
def test_make_run_serves_search(tmp_path):
    port = free_port()
    env = {**os.environ, "KB_INDEX": str(tmp_path / "index")}
    proc = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.load(r)
                    break
            except OSError:
                time.sleep(0.5)
        assert health is not None, proc.stdout.read() if proc.poll() is not None else "no answer"
        assert health["documents"] >= 14
        url = f"http://127.0.0.1:{port}/search?q=human+rights+due+diligence"
        with urllib.request.urlopen(url, timeout=10) as r:
            page = r.read().decode()
        assert "Samsung" in page
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}" in out
