"""SIGTERM to the server lets requests already received finish before it exits."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request

import pytest

from tests.conftest import ROOT

APP = textwrap.dedent(
    """
    import sys, time
    from flask import Flask
    from webui.server import serve

    app = Flask("slow")

    @app.get("/slow")
    def slow():
        time.sleep(1.5)
        return "finished"

    @app.get("/ok")
    def ok():
        return "ok"

    serve(app, "127.0.0.1", int(sys.argv[1]), threads=4)
    print("stopped", flush=True)
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_sigterm_finishes_requests_in_flight():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", APP, str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ok", timeout=1).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        answers: list[str] = []

        def fetch():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/slow", timeout=10) as r:
                answers.append(r.read().decode())

        worker = threading.Thread(target=fetch)
        worker.start()
        time.sleep(0.5)  # the request is being handled
        proc.send_signal(signal.SIGTERM)
        worker.join(timeout=10)
        assert answers == ["finished"]
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stdout.read()
        with pytest.raises(OSError):  # no longer accepting
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ok", timeout=1)
    finally:
        if proc.poll() is None:
            proc.kill()
