"""Read-only replicas (docs/scaling.md): two real `kb serve` processes on two copies of one
index; a new generation shipped to one of them with scripts/ship-generation.sh is served
without a restart, and no request fails while it switches."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.build import run_index
from kb.lock import writer_lock
from kb.settings import Settings
from kb.store import CURRENT, PREVIOUS
from tests.conftest import ROOT, write
from tests.test_serve_binding import free_port

SHIP = ROOT / "scripts" / "ship-generation.sh"
STARTUP_SECONDS = 30
NEW_DOC = "notes/zebra-crossings"


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def found(port: int) -> bool:
    status, body = get(port, "/api/search?q=zebrafinch")
    assert status == 200, body[:500]
    return json.loads(body)["total"] > 0


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[tuple[int, subprocess.Popen]]:
    """`kb serve` on loopback for this replica's corpus and index; (port, process)."""
    port = free_port()
    command = [sys.executable, "-c", "from cli import main; main()",
               "--corpus", str(settings.corpus), "--index", str(settings.index),
               "serve", "--port", str(port)]  # fmt: skip
    env = {**os.environ, "KB_INSIGHTS": "off"}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            with contextlib.suppress(OSError):
                if get(port, "/healthz")[0] == 200:
                    break
            if proc.poll() is not None:
                pytest.fail(f"kb serve exited with {proc.returncode}: {proc.communicate()}")
            if time.monotonic() > deadline:
                pytest.fail(f"kb serve did not answer in {STARTUP_SECONDS} s")
            time.sleep(0.1)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def ship(writer: Settings, replica: Settings) -> str:
    done = subprocess.run([str(SHIP), str(writer.index), str(replica.index)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def replica_of(writer: Settings, folder: Path) -> Settings:
    """A replica: a copy of the writer's corpus (its configuration and originals) and of its
    current generation, shipped as docs/scaling.md says."""
    shutil.copytree(writer.corpus, folder / "corpus")
    replica = Settings.resolve(folder / "corpus", folder / "index")
    assert "serving gen-000001" in ship(writer, replica)
    return replica


class Poller(threading.Thread):
    """Asks a server, as fast as it answers, for the search page, the JSON search and the
    home page; records every status and whether the new document was found."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port, self.stop, self.statuses, self.seen = port, threading.Event(), [], []

    def run(self) -> None:
        while not self.stop.is_set():
            for path in ("/search?q=zebrafinch", "/", "/doc/guides/lifespan"):
                self.statuses.append((path, get(self.port, path)[0]))
            self.seen.append(found(self.port))


def test_a_replica_serves_a_shipped_generation_without_restart(small_settings, tmp_path):
    writer = small_settings
    run_index(writer, workers=1)
    one, two = replica_of(writer, tmp_path / "one"), replica_of(writer, tmp_path / "two")

    # The writer indexes a new document (committed into its current generation, as every
    # incremental run does); the replicas' corpus copies get the file (for its original).
    new_file = write(writer.corpus / f"{NEW_DOC}.md", "# Zebra crossings\n\nZebrafinch repairs.\n")
    run_index(writer, workers=1)
    for replica in (one, two):
        shutil.copy(new_file, replica.corpus / f"{NEW_DOC}.md")

    with serving(one) as (port_one, _), serving(two) as (port_two, proc_two):
        assert not found(port_one) and not found(port_two)
        poller = Poller(port_two)
        poller.start()
        while len(poller.seen) < 3:  # requests before the switch
            time.sleep(0.05)
        assert "serving gen-000002" in ship(writer, two)
        deadline = time.monotonic() + 20
        while not (poller.seen and poller.seen[-1]):
            assert time.monotonic() < deadline, "the replica never served the new generation"
            time.sleep(0.05)
        after = len(poller.seen)
        while len(poller.seen) < after + 3:  # and some after it
            time.sleep(0.05)
        poller.stop.set()
        poller.join(timeout=30)

        assert proc_two.poll() is None, "the replica was not restarted"
        assert {status for _, status in poller.statuses} == {200}, [
            s for s in poller.statuses if s[1] != 200
        ]
        first = poller.seen.index(True)
        assert not any(poller.seen[:first]) and all(poller.seen[first:]), poller.seen
        assert get(port_two, f"/doc/{NEW_DOC}")[0] == 200
        # The other replica still serves its own copy, untouched.
        assert not found(port_one) and get(port_one, f"/doc/{NEW_DOC}")[0] == 404

    pointers = {name: (two.index / name).read_text().strip() for name in (CURRENT, PREVIOUS)}
    assert pointers == {CURRENT: "gen-000002", PREVIOUS: "gen-000001"}
    assert sorted(p.name for p in two.index.iterdir() if p.name.startswith("gen-")) == [
        "gen-000001", "gen-000002"
    ]  # fmt: skip
    assert not list(two.index.glob(".incoming-*"))


def test_older_generations_are_removed_and_the_writer_lock_is_respected(small_settings, tmp_path):
    writer = small_settings
    run_index(writer, workers=1)
    replica = replica_of(writer, tmp_path / "replica")
    for n in (2, 3):
        assert f"serving gen-00000{n}" in ship(writer, replica)
    assert sorted(p.name for p in replica.index.iterdir() if p.name.startswith("gen-")) == [
        "gen-000002", "gen-000003"
    ]  # fmt: skip
    # While `kb index` holds the writer lock, shipping waits for it (the copy is consistent).
    started = time.monotonic()
    with writer_lock(writer.index):
        shipper = subprocess.Popen([str(SHIP), str(writer.index), str(replica.index)],
                                   stdout=subprocess.PIPE, text=True)  # fmt: skip
        time.sleep(1.0)
        assert shipper.poll() is None, "shipping did not wait for the writer lock"
    out, _ = shipper.communicate(timeout=60)
    assert shipper.returncode == 0 and "serving gen-000004" in out
    assert time.monotonic() - started >= 1.0
