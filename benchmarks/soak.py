"""Soak test: many concurrent clients against a real `kb serve` (waitress) on loopback, first on
a steady index, then while `kb index --rebuild` runs again and again.

    .venv/bin/python benchmarks/soak.py                          # 60 s per phase, 50 clients
    .venv/bin/python benchmarks/soak.py --seconds 15 --clients 20
    .venv/bin/python benchmarks/soak.py --json                   # one JSON object on stdout

The server indexes and serves a temporary copy of the bundled corpus plus a few generated notes
that contain the word `soakmarker`. Every client holds one keep-alive connection and mixes
search pages (with facets and paging), document pages, `/api/search`, `/api/doc` and
`/api/suggest`. Any answer other than 200, and any connection error, is an error (a 503 too).

In the second phase another thread adds a batch of marker notes, runs `kb index --rebuild`,
removes the batch, rebuilds again, and so on (at least twice). Probes among the requests ask
`/api/search?q=soakmarker` and `/healthz`: each answer must be the count of one complete
generation, the one before a rebuild or the one after it, never anything in between, which
is what a half-built index would show.

Exit code 0 when both phases had no error and every probe saw a complete generation; else 1.
Only loopback is used; the run is bounded by --seconds (plus the rebuild in progress at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "corpus"
KB = [sys.executable, "-c", "from cli import main; main()"]
MARKER = "soakmarker"
BASE_NOTES = 10  # marker notes always in the corpus
BATCH_NOTES = 10  # marker notes added and removed between rebuilds
MIN_REBUILDS = 2
REQUEST_TIMEOUT = 30.0

QUERIES = [
    "weighting climate criteria",
    "upphandling",
    '"circular economy"',
    "repair laptops",
    "lifespan",
    "procure*",
    "klimakrav anskaffelse",
    "org:ikea",
    "year:2024 procurement",
    "title:strategy",
    "type:guide reuse",
    "sustainable IT -phones",
    "members share experiences",
    "take-back refurbished",
    "skovde",
]
FACETS = [
    {},
    {},
    {"type": "meeting"},
    {"year": "2024"},
    {"lang": "en"},
    {"type": "guide", "topic": "climate"},
    {"sort": "newest"},
    {"page": "2"},
    {"page": "2", "size": "5"},
]
PREFIXES = ["pro", "clim", "upph", "re", "sk", "circ", "su", "ik", "we", "for"]
# (kind, weight): what a member's browser and a script using the API ask for.
MIX = [
    ("search", 30),
    ("doc", 15),
    ("api_search", 20),
    ("api_doc", 10),
    ("suggest", 15),
    ("probe", 7),
    ("health", 3),
]


# ---- a real `kb serve` ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kb_command(corpus: Path, index: Path, *args: str) -> list[str]:
    return [*KB, "--corpus", str(corpus), "--index", str(index), *args]


@dataclass
class KbServer:
    """`kb serve` in its own process on 127.0.0.1, stopped with SIGTERM (then SIGKILL)."""

    corpus: Path
    index: Path
    threads: int = 8
    port: int = 0
    log: Path | None = None
    proc: subprocess.Popen | None = None
    _log_file: object = None

    def start(self, timeout: float = 30.0) -> KbServer:
        self.port = self.port or free_port()
        if self.log is None:
            fd, name = tempfile.mkstemp(prefix="kb-serve-", suffix=".log")
            os.close(fd)
            self.log = Path(name)
        self._log_file = open(self.log, "wb")  # noqa: SIM115 (closed in stop)
        args = kb_command(self.corpus, self.index, "serve", "--host", "127.0.0.1",
                          "--port", str(self.port), "--threads", str(self.threads))  # fmt: skip
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kb serve exited with {self.proc.returncode}: {self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("kb serve did not start listening") from None
                time.sleep(0.05)

    def stop(self) -> int | None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return self.proc.returncode if self.proc else None

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace") if self.log else ""
        except OSError:
            return ""

    def __enter__(self) -> KbServer:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
        if self.log is not None:
            with contextlib.suppress(OSError):
                self.log.unlink()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)


def http_request(
    port: int,
    target: str | bytes,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 15.0,
    raw_head: bytes | None = None,
) -> Reply:
    """One request on its own connection, with the request line exactly as given (no
    normalisation, no encoding: `target` goes on the wire byte for byte)."""
    if raw_head is None:
        target_bytes = target if isinstance(target, bytes) else target.encode("latin-1")
        lines = [method.encode() + b" " + target_bytes + b" HTTP/1.1"]
        all_headers = {"Host": f"127.0.0.1:{port}", "Connection": "close"}
        if body:
            all_headers["Content-Length"] = str(len(body))
        all_headers.update(headers or {})
        lines += [f"{k}: {v}".encode("latin-1") for k, v in all_headers.items()]
        raw_head = b"\r\n".join(lines) + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the server may answer (413) and close first
            sock.sendall(raw_head + body)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)


# ---- the corpus -----------------------------------------------------------------------------


def note_text(i: int, batch: bool) -> str:
    kind = "batch" if batch else "base"
    return (
        f"---\ntitle: Soak note {kind} {i}\ntype: article\nlanguage: en\ndate: 2024-05-{i % 28 + 1:02d}\n"
        f"---\n# Soak note {kind} {i}\n\nA {MARKER} note about repair, reuse and procurement of "
        f"laptops, number {i}, written for the soak test.\n"
    )


def prepare_corpus(workdir: Path) -> tuple[Path, Path]:
    """A copy of the bundled corpus with BASE_NOTES marker notes; indexed with `kb index`."""
    corpus, index = workdir / "corpus", workdir / "index"
    shutil.copytree(BUNDLED, corpus, copy_function=shutil.copy2)
    for i in range(BASE_NOTES):
        path = corpus / "articles" / f"soak-base-{i:02d}.md"
        path.write_text(note_text(i, batch=False), encoding="utf-8")
    result = subprocess.run(kb_command(corpus, index, "index", "-q"), cwd=ROOT,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"kb index failed ({result.returncode}): {result.stderr}")
    return corpus, index


def set_batch(corpus: Path, present: bool) -> None:
    for i in range(BATCH_NOTES):
        path = corpus / "articles" / f"soak-batch-{i:02d}.md"
        if present:
            path.write_text(note_text(i, batch=True), encoding="utf-8")
        else:
            path.unlink(missing_ok=True)


# ---- the clients ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


@dataclass
class Recorder:
    """What the clients saw, shared between their threads."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    probe_totals: dict[int, int] = field(default_factory=dict)
    health_documents: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, kind: str, ms: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(ms)

    def error(self, kind: str, target: str, what: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.error_samples) < 20:
                self.error_samples.append(f"{kind} {target}: {what}")

    def seen(self, table: dict[int, int], value: int) -> None:
        with self.lock:
            table[value] = table.get(value, 0) + 1

    def summary(self, seconds: float) -> dict:
        every = sorted(ms for values in self.latencies.values() for ms in values)
        requests = len(every) + self.errors

        def figures(values: list[float]) -> dict:
            values = sorted(values)
            return {
                "requests": len(values),
                "p50_ms": round(percentile(values, 50), 1),
                "p95_ms": round(percentile(values, 95), 1),
                "p99_ms": round(percentile(values, 99), 1),
                "max_ms": round(values[-1], 1) if values else 0.0,
            }

        return {
            "seconds": round(seconds, 1),
            "requests": requests,
            "errors": self.errors,
            "error_samples": self.error_samples,
            "rps": round(requests / seconds, 1) if seconds else 0.0,
            **{k: v for k, v in figures(every).items() if k != "requests"},
            "by_kind": {kind: figures(v) for kind, v in sorted(self.latencies.items())},
            "probe_totals": {str(k): v for k, v in sorted(self.probe_totals.items())},
            "health_documents": {str(k): v for k, v in sorted(self.health_documents.items())},
        }


def pick_target(rng: random.Random, doc_ids: list[str]) -> tuple[str, str]:
    kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
    if kind in ("search", "api_search"):
        params = {"q": rng.choice(QUERIES), **rng.choice(FACETS)}
        path = "/search" if kind == "search" else "/api/search"
        return kind, f"{path}?{urlencode(params)}"
    if kind in ("doc", "api_doc"):
        doc_id = quote(rng.choice(doc_ids), safe="/")
        highlight = f"?q={quote(rng.choice(QUERIES))}" if rng.random() < 0.3 else ""
        return kind, f"{'/doc' if kind == 'doc' else '/api/doc'}/{doc_id}{highlight}"
    if kind == "suggest":
        return kind, f"/api/suggest?q={quote(rng.choice(PREFIXES))}"
    if kind == "probe":
        return kind, f"/api/search?q={MARKER}&size=1"
    return kind, "/healthz"


def client_loop(port: int, stop: threading.Event, seed: int, doc_ids: list[str],
                rec: Recorder) -> None:  # fmt: skip
    """One client: a keep-alive connection, requests one after the other until `stop`."""
    rng = random.Random(seed)
    conn: http.client.HTTPConnection | None = None
    while not stop.is_set():
        kind, target = pick_target(rng, doc_ids)
        started = time.perf_counter()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
            conn.request("GET", target)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            rec.error(kind, target, f"{type(exc).__name__}: {exc}")
            if conn is not None:
                conn.close()
            conn = None
            continue
        ms = (time.perf_counter() - started) * 1000
        if response.status != 200:
            rec.error(kind, target, f"HTTP {response.status}: {body[:160]!r}")
        else:
            try:
                if kind == "probe":
                    rec.seen(rec.probe_totals, json.loads(body)["total"])
                elif kind == "health":
                    rec.seen(rec.health_documents, json.loads(body)["documents"])
            except (ValueError, KeyError) as exc:
                rec.error(kind, target, f"bad JSON: {exc}")
            else:
                rec.ok(kind, ms)
        if response.will_close:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()


def run_clients(port: int, clients: int, doc_ids: list[str], stop: threading.Event,
                seed: int) -> tuple[Recorder, float]:  # fmt: skip
    """`clients` threads until `stop` is set; returns what they saw and the elapsed seconds."""
    rec = Recorder()
    threads = [
        threading.Thread(
            target=client_loop,
            args=(port, stop, seed * 1000 + i, doc_ids, rec),
            name=f"soak-client-{i}",
            daemon=True,
        )
        for i in range(clients)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rec, time.monotonic() - started


# ---- the rebuilds -----------------------------------------------------------------------------


@dataclass
class Rebuilds:
    durations: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)  # marker total after each rebuild


def rebuild_loop(corpus: Path, index: Path, deadline: float, hard_deadline: float,
                 out: Rebuilds) -> None:  # fmt: skip
    """Toggle the batch of marker notes and rebuild, until the deadline has passed and at
    least MIN_REBUILDS rebuilds are done (or the hard deadline passed)."""
    present = False
    while True:
        present = not present
        set_batch(corpus, present)
        started = time.monotonic()
        try:
            result = subprocess.run(kb_command(corpus, index, "index", "--rebuild", "-q"),
                                    cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
        except subprocess.TimeoutExpired:
            out.failures.append("kb index --rebuild timed out")
            return
        out.durations.append(time.monotonic() - started)
        if result.returncode != 0:
            said = (result.stdout.strip()[-600:] + "\n" + result.stderr.strip()[-600:]).strip()
            out.failures.append(f"exit {result.returncode}: {said}")
            return
        out.expected.append(BASE_NOTES + (BATCH_NOTES if present else 0))
        now = time.monotonic()
        if (now >= deadline and len(out.durations) >= MIN_REBUILDS) or now >= hard_deadline:
            return


# ---- the scenario -----------------------------------------------------------------------------


def stable_doc_ids(port: int) -> list[str]:
    data = http_request(port, "/api/search?sort=newest&size=50").json()
    ids = [hit["doc_id"] for hit in data["results"]]
    return [i for i in ids if "soak-batch" not in i]


def wait_for(port: int, target: str, check: Callable[[Reply], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException, ValueError, KeyError):
            if check(http_request(port, target)):
                return True
        time.sleep(0.1)
    return False


def run_soak(workdir: Path, seconds: float, clients: int, threads: int = 8,
             log: Callable[[str], None] = lambda s: None) -> dict:  # fmt: skip
    """Both phases; a JSON-ready report. `ok` is whether every promise held."""
    corpus, index = prepare_corpus(workdir)
    report: dict = {"seconds_per_phase": seconds, "clients": clients, "server_threads": threads,
                    "cpus": os.cpu_count(), "problems": []}  # fmt: skip
    problems: list[str] = report["problems"]
    with KbServer(corpus, index, threads=threads) as server:
        port = server.port
        if not wait_for(port, "/healthz", lambda r: r.status == 200, 30):
            raise RuntimeError(f"kb serve does not answer /healthz: {server.output()[-2000:]}")
        doc_ids = stable_doc_ids(port)
        documents = http_request(port, "/healthz").json()["documents"]

        log(f"steady: {clients} clients for {seconds:g} s against kb serve --threads {threads}")
        stop = threading.Event()
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        rec, elapsed = run_clients(port, clients, doc_ids, stop, seed=1)
        steady = report["steady"] = rec.summary(elapsed)
        if steady["errors"]:
            problems.append(
                f"steady: {steady['errors']} errors, e.g. {steady['error_samples'][:3]}"
            )
        if set(rec.probe_totals) - {BASE_NOTES}:
            problems.append(f"steady: marker totals {sorted(rec.probe_totals)}")

        log(f"rebuild: the same while kb index --rebuild runs (at least {MIN_REBUILDS} times)")
        rebuilds = Rebuilds()
        stop = threading.Event()
        deadline = time.monotonic() + seconds

        def rebuild_then_stop() -> None:
            try:
                rebuild_loop(corpus, index, deadline, deadline + 240, rebuilds)
            finally:
                stop.set()

        rebuilder = threading.Thread(target=rebuild_then_stop, name="soak-rebuilds")
        rebuilder.start()
        rec, elapsed = run_clients(port, clients, doc_ids, stop, seed=2)
        rebuilder.join()
        during = report["rebuild"] = rec.summary(elapsed)
        during["rebuilds"] = len(rebuilds.durations)
        during["rebuild_seconds"] = [round(d, 2) for d in rebuilds.durations]
        during["rebuild_failures"] = rebuilds.failures
        allowed_totals = {BASE_NOTES, BASE_NOTES + BATCH_NOTES}
        allowed_docs = {documents, documents + BATCH_NOTES}
        if during["errors"]:
            problems.append(
                f"rebuild: {during['errors']} errors, e.g. {during['error_samples'][:3]}"
            )
        if rebuilds.failures:
            problems.append(f"rebuild: kb index --rebuild failed: {rebuilds.failures}")
        if len(rebuilds.durations) < MIN_REBUILDS:
            problems.append(f"rebuild: only {len(rebuilds.durations)} rebuilds")
        if set(rec.probe_totals) - allowed_totals:
            problems.append(f"rebuild: marker totals {sorted(rec.probe_totals)} not all in "
                            f"{sorted(allowed_totals)}: a half-built index was served")  # fmt: skip
        if set(rec.health_documents) - allowed_docs:
            problems.append(f"rebuild: /healthz documents {sorted(rec.health_documents)} not all "
                            f"in {sorted(allowed_docs)}")  # fmt: skip
        if rebuilds.expected:
            final = rebuilds.expected[-1]
            fresh = wait_for(port, f"/api/search?q={MARKER}&size=1",
                             lambda r: r.status == 200 and r.json()["total"] == final, 5)  # fmt: skip
            during["serves_last_rebuild"] = fresh
            if not fresh:
                problems.append(f"rebuild: the server never served the last rebuild ({final})")
        server_exit = server.stop()
        if server_exit != 0:
            problems.append(f"kb serve exited with {server_exit} on SIGTERM")
        if problems:
            report["server_log_tail"] = server.output()[-3000:]
    report["ok"] = not problems
    return report


def table(report: dict) -> str:
    head = f"{'phase':<9} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    lines = [
        f"kb soak: {report['clients']} clients, kb serve --threads {report['server_threads']}, "
        f"{report['seconds_per_phase']:g} s per phase, {report['cpus']} CPUs, loopback",
        head,
        "-" * len(head),
    ]
    for phase in ("steady", "rebuild"):
        s = report.get(phase)
        if s:
            lines.append(f"{phase:<9} {s['requests']:>9} {s['errors']:>7} {s['rps']:>8.1f} "
                         f"{s['p50_ms']:>8.1f} {s['p95_ms']:>8.1f} {s['p99_ms']:>8.1f} {s['max_ms']:>8.1f}")  # fmt: skip
    for phase in ("steady", "rebuild"):
        s = report.get(phase)
        if not s:
            continue
        lines.append(f"\n{phase} by request kind:")
        for kind, f in s["by_kind"].items():
            lines.append(f"  {kind:<11} {f['requests']:>8} req  p50 {f['p50_ms']:>7.1f}  "
                         f"p95 {f['p95_ms']:>7.1f}  p99 {f['p99_ms']:>7.1f}  max {f['max_ms']:>7.1f} ms")  # fmt: skip
    r = report.get("rebuild")
    if r:
        lines.append(f"\nrebuilds during the second phase: {r['rebuilds']} "
                     f"({', '.join(f'{d:.1f}' for d in r['rebuild_seconds'])} s)")  # fmt: skip
        lines.append(f"marker totals seen: {r['probe_totals']} (complete generations: "
                     f"{BASE_NOTES} or {BASE_NOTES + BATCH_NOTES})")  # fmt: skip
        lines.append(f"/healthz documents seen: {r['health_documents']}")
    lines.append("\nOK: no errors, only complete generations served" if report["ok"]
                 else "FAILED:\n  " + "\n  ".join(report["problems"]))  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--threads", type=int, default=8, help="kb serve --threads")
    parser.add_argument("--workdir", type=Path, help="where the corpus and index go (temporary)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    quiet = args.json

    def log(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    with contextlib.ExitStack() as stack:
        workdir = args.workdir
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kb-soak-")))
        elif workdir.exists() and any(workdir.iterdir()):
            parser.error(f"--workdir {workdir} is not empty")
        workdir.mkdir(parents=True, exist_ok=True)
        report = run_soak(workdir, args.seconds, args.clients, args.threads, log)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
