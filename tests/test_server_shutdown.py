"""SIGTERM to the server lets requests already received finish before it exits.

The slow request of each test app holds its handler until the test lets it go: it creates a
file in a handshake folder when it starts (so the test knows it is in flight), then waits for
a `release` file there. The test sends SIGTERM, waits until the server no longer accepts
connections (it is draining), and only then releases the request: no guessed delays.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The slow handler both apps share: argv[2] is the handshake folder.
SLOW = """
def slow():
    import os, threading, time
    from pathlib import Path
    folder = Path(sys.argv[2])
    (folder / f"started-{os.getpid()}-{threading.get_ident()}").touch()
    deadline = time.monotonic() + 60
    while not (folder / "release").exists():
        if time.monotonic() > deadline:
            return "never released"
        time.sleep(0.01)
    return "finished"
"""

APP = SLOW + textwrap.dedent(
    """
    import sys
    from flask import Flask
    from webui.server import serve

    app = Flask("slow")
    app.get("/slow")(slow)

    @app.get("/ok")
    def ok():
        return "ok"

    serve(app, "127.0.0.1", int(sys.argv[1]), threads=4)
    print("stopped", flush=True)
    """
)


def in_flight(folder: Path, count: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    """Wait until `count` slow requests are being handled."""
    deadline = time.monotonic() + seconds
    while len(list(folder.glob("started-*"))) < count:
        assert proc.poll() is None, "the server ended"
        assert time.monotonic() < deadline, f"{count} slow requests were not all in flight"
        time.sleep(0.01)


def stop_accepting(port: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    """SIGTERM the server, and wait until it refuses new connections: it is draining."""
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
        except OSError:
            return
        assert time.monotonic() < deadline, "the server kept accepting after SIGTERM"
        time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def wait_until_serving(port: int, path: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1).read()
            return
        except OSError:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)


def test_sigterm_finishes_requests_in_flight(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", APP, str(port), str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_until_serving(port, "/ok")
        answers: list[str] = []

        def fetch():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/slow", timeout=10) as r:
                answers.append(r.read().decode())

        worker = threading.Thread(target=fetch)
        worker.start()
        in_flight(tmp_path, 1, proc)
        stop_accepting(port, proc)
        (tmp_path / "release").touch()
        worker.join(timeout=10)
        assert answers == ["finished"]
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stdout.read()
        with pytest.raises(OSError):  # no longer accepting
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ok", timeout=1)
    finally:
        if proc.poll() is None:
            proc.kill()


PROCESSES_APP = SLOW + textwrap.dedent(
    """
    import os, sys
    from flask import Flask
    from webui.server import listening_sockets, serve_processes

    def make_app():
        app = Flask("slow")
        app.get("/slow")(slow)

        @app.get("/pid")
        def pid():
            return str(os.getpid())

        return app

    # Three threads each: the three slow requests are handled at once, however the two
    # processes share them.
    serve_processes(make_app, listening_sockets("127.0.0.1", int(sys.argv[1])), 2, threads=3)
    print("stopped", flush=True)
    """
)


def children(pid: int) -> set[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return {int(p) for p in fh.read().split()}


@pytest.mark.slow
def test_sigterm_drains_every_worker_process(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", PROCESSES_APP, str(port), str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until_serving(port, "/pid")
        workers = children(proc.pid)
        assert len(workers) == 2
        answered_by = {
            int(urllib.request.urlopen(f"http://127.0.0.1:{port}/pid", timeout=5).read())
            for _ in range(10)
        }
        assert answered_by <= workers and proc.pid not in answered_by
        answers: list[str] = []

        def fetch():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/slow", timeout=10) as r:
                answers.append(r.read().decode())

        fetchers = [threading.Thread(target=fetch) for _ in range(3)]
        for t in fetchers:
            t.start()
        in_flight(tmp_path, 3, proc)
        stop_accepting(port, proc)
        (tmp_path / "release").touch()
        for t in fetchers:
            t.join(timeout=10)
        assert answers == ["finished"] * 3
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stdout.read()
        for pid in workers:  # gone, not left behind
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        with pytest.raises(OSError):  # no longer accepting
            urllib.request.urlopen(f"http://127.0.0.1:{port}/pid", timeout=1)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_every_worker_process_serves_a_new_index(small_index):
    """`kb serve --processes 2`: each worker reopens the index on its own after `kb index`."""
    from indexer.build import run_index
    from tests.conftest import write

    port = free_port()
    settings = ["--corpus", str(small_index.corpus), "--index", str(small_index.index)]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", *settings,
         "serve", "--port", str(port), "--processes", "2", "--threads", "2"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def total() -> int:  # a new connection each time, so both workers answer some
        url = f"http://127.0.0.1:{port}/api/search?q=kangaroo"
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)["total"]

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert {total() for _ in range(10)} == {0}
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        write(small_index.corpus / "notes/kangaroo.md", "# Kangaroo\n\nA kangaroo note.\n")
        assert run_index(small_index, workers=1).summary["failed"] == 0
        deadline = time.monotonic() + 15
        while {total() for _ in range(20)} != {1}:
            assert time.monotonic() < deadline, "a worker kept serving the old index"
            time.sleep(0.2)
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
