"""SIGTERM to the server lets requests already received finish before it exits."""

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
def wait_until_serving(port: int, path: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1).read()
            return
        except OSError:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)


def test_sigterm_finishes_requests_in_flight():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", APP, str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        wait_until_serving(port, "/ok")
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


PROCESSES_APP = textwrap.dedent(
    """
    import os, sys, time
    from flask import Flask
    from webui.server import listening_sockets, serve_processes

    def make_app():
        app = Flask("slow")

        @app.get("/slow")
        def slow():
            time.sleep(1.5)
            return "finished"

        @app.get("/pid")
        def pid():
            return str(os.getpid())

        return app

    serve_processes(make_app, listening_sockets("127.0.0.1", int(sys.argv[1])), 2, threads=2)
    print("stopped", flush=True)
    """
)


def children(pid: int) -> set[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return {int(p) for p in fh.read().split()}


@pytest.mark.slow
def test_sigterm_drains_every_worker_process():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", PROCESSES_APP, str(port)],
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
        time.sleep(0.5)  # the requests are being handled
        proc.send_signal(signal.SIGTERM)
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
