"""Web load: `kb serve` (waitress) under 20 concurrent clients, against a trivial route.

    .venv/bin/python benchmarks/load.py            # bundled corpus 30 s, then 100k passages
    .venv/bin/python benchmarks/load.py --quick    # bundled corpus, 5 s per run
    .venv/bin/python benchmarks/load.py --processes 2 --threads 2   # `kb serve` options
    .venv/bin/python benchmarks/load.py --json     # one JSON object on stdout

Loopback only and bounded in time. The server is the real `kb serve` command (waitress; its
defaults, 1 process of 8 threads, unless told otherwise) in its own process(es), with one
extra route, `/_bench/ceiling`, that returns "ok" through the same Flask app and server: the
most requests/s this stack can serve at all. Each client (a thread holding one keep-alive
connection, sending its next request as soon as the last is answered) requests the search
page (`/search?q=...`, rendered HTML with facets and highlighted passages) for the benchmark
queries of benchmarks/query.py in turn, then the ceiling route for as long. The server's
resident memory (all its processes together) is sampled throughout (peak reported), and the
CPU time the server and the clients use per request is measured. Clients and server share
the machine's cores, as they would on one small server.

The clients never pause, so the latency is set by the throughput: with C clients the mean
latency is C / (requests/s), and a p95 of 150 ms for 20 clients needs well over 133 requests/s.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing

from benchmarks import query as bq  # noqa: E402
from benchmarks import synthetic  # noqa: E402
from kb.settings import Settings  # noqa: E402

HOST = "127.0.0.1"
CLIENTS = 20
SECONDS = 30.0
QUICK_SECONDS = 5.0
TARGET_RPS, TARGET_P95_MS, TARGET_RSS_MB = 100.0, 150.0, 300.0


def serve(corpus: str, index: str, port: int, *options: str) -> None:
    """The server process: `kb serve` with the ceiling route added to its app."""
    import webui
    from cli import main

    create_app = webui.create_app

    def with_ceiling(*args, **kwargs):
        app = create_app(*args, **kwargs)
        app.add_url_rule("/_bench/ceiling", "bench_ceiling", lambda: "ok")
        return app

    webui.create_app = with_ceiling
    main(["--corpus", corpus, "--index", index, "serve", "--host", HOST, "--port", str(port),
          *options])  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _proc_stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()


class Server:
    def __init__(self, settings: Settings, options: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        cmd = [sys.executable, __file__, "--serve", str(settings.corpus), str(settings.index),
               str(self.port), *options]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.peak_rss_kb = 0  # all the server's processes together
        self.peak_anon_kb = 0  # private memory: RSS less the index files mapped into memory
        self.peak_pss_kb = 0  # RSS with pages shared between processes counted once
        self._stop = threading.Event()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("kb serve exited before answering")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
                conn.request("GET", "/search?q=warm")  # opens the index (the first snapshot)
                conn.getresponse().read()
                break
            time.sleep(0.2)
        threading.Thread(target=self._sample, daemon=True).start()

    def pids(self) -> list[int]:
        """The server process and its worker processes (`kb serve --processes`)."""
        pids = [self.proc.pid]
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as fh:
                pids += [int(p) for p in fh.read().split()]
        except OSError:
            pass
        return pids

    def memory_kb(self) -> dict[str, int]:
        out = {"Rss": 0, "Anonymous": 0, "Pss": 0}
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as fh:
                    for line in fh:
                        name = line.split(":")[0]
                        if name in out:
                            out[name] += int(line.split()[1])
            except OSError:
                pass
        return out

    def cpu_s(self) -> float:
        """CPU seconds the server has used (user + system, all its processes)."""
        total = 0
        for pid in self.pids():
            try:
                fields = _proc_stat(pid)
                total += int(fields[11]) + int(fields[12])
            except (OSError, ValueError, IndexError):
                pass
        return total / os.sysconf("SC_CLK_TCK")

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            memory = self.memory_kb()
            self.peak_rss_kb = max(self.peak_rss_kb, memory["Rss"])
            self.peak_anon_kb = max(self.peak_anon_kb, memory["Anonymous"])
            self.peak_pss_kb = max(self.peak_pss_kb, memory["Pss"])

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def hammer(port: int, paths: list[str], clients: int, seconds: float) -> dict:
    """`clients` threads, each on its own keep-alive connection, for `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    deadline = time.monotonic() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        n = i * 7
        while time.monotonic() < deadline:
            path = paths[n % len(paths)]
            n += 1
            started = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
            latencies[i].append((time.perf_counter() - started) * 1000)
            if not ok:
                errors[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ms = sorted(x for per in latencies for x in per)
    return {
        "requests": len(ms),
        "rps": round(len(ms) / wall, 1),
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
        "p95_ms": round(bq._pct(ms, 0.95), 1) if ms else None,
        "max_ms": round(ms[-1], 1) if ms else None,
        "errors": sum(errors),
    }


def search_paths(settings: Settings) -> list[str]:
    vocab = bq.read_vocabulary(settings, random.Random(bq.SEED))
    paths = []
    for q in bq.make_queries(vocab, bq.SEED):
        params = [("q", q.q)] + [(name, v) for name, values in q.filters for v in values]
        paths.append("/search?" + urllib.parse.urlencode(params))
    return paths


def run(
    label: str, settings: Settings, clients: int, seconds: float, log,
    options: tuple[str, ...] = (),
) -> dict:  # fmt: skip
    paths = search_paths(settings)
    server = Server(settings, options)
    try:
        hammer(server.port, paths[::7], clients, min(2.0, seconds / 3))  # warm-up
        cpu, own_cpu = server.cpu_s(), time.process_time()
        search = hammer(server.port, paths, clients, seconds)
        search_cpu, client_cpu = server.cpu_s() - cpu, time.process_time() - own_cpu
        load_average = os.getloadavg()[0]
        cpu = server.cpu_s()
        ceiling = hammer(server.port, ["/_bench/ceiling"], clients, seconds)
        ceiling_cpu = server.cpu_s() - cpu
    finally:
        server.stop()
    out = {
        **search,
        # The server's CPU per search request: what it costs whatever else runs on the machine
        # (one process serves on one core at a time, Python's GIL, so 1000 / this is the
        # most requests/s one idle core gives).
        "server_cpu_ms_per_request": (
            round(search_cpu * 1000 / search["requests"], 2) if search["requests"] else None
        ),
        # What the clients themselves cost: if this were near the server's figure, the load
        # generator, not the server, would be what is measured.
        "client_cpu_ms_per_request": (
            round(client_cpu * 1000 / search["requests"], 2) if search["requests"] else None
        ),
        "load_average": round(load_average, 2),
        "ceiling_rps": ceiling["rps"],
        # waitress and Flask alone: what any request costs the server
        "ceiling_server_cpu_ms_per_request": (
            round(ceiling_cpu * 1000 / ceiling["requests"], 2) if ceiling["requests"] else None
        ),
        "ceiling_p50_ms": ceiling["p50_ms"],
        "ceiling_errors": ceiling["errors"],
        "ratio_of_ceiling": round(search["rps"] / ceiling["rps"], 2) if ceiling["rps"] else None,
        "server_rss_mb": round(server.peak_rss_kb / 1024, 1),
        "server_anon_mb": round(server.peak_anon_kb / 1024, 1),
        "server_pss_mb": round(server.peak_pss_kb / 1024, 1),
        "serve_options": " ".join(options) or "(defaults)",
        "clients": clients,
        "seconds": seconds,
        "passages": None,
    }
    log(
        f"\n{label}: {clients} clients, {seconds:.0f} s each, loopback, "
        f"kb serve {out['serve_options']}"
    )
    log(f"  {'route':<22}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'errors':>8}")
    log(f"  {'/search?q=… (HTML)':<22}{search['rps']:>8.1f}{search['p50_ms']:>9.1f}"
        f"{search['p95_ms']:>9.1f}{search['max_ms']:>9.1f}{search['errors']:>8}")  # fmt: skip
    log(f"  {'/_bench/ceiling':<22}{ceiling['rps']:>8.1f}{ceiling['p50_ms']:>9.1f}"
        f"{ceiling['p95_ms']:>9.1f}{ceiling['max_ms']:>9.1f}{ceiling['errors']:>8}")  # fmt: skip
    log(
        f"  CPU per search request: server {out['server_cpu_ms_per_request']} ms, clients "
        f"{out['client_cpu_ms_per_request']} ms; load average {load_average:.1f} (1 min); "
        f"server CPU per ceiling request {out['ceiling_server_cpu_ms_per_request']} ms"
    )
    log(
        f"  search / ceiling: {out['ratio_of_ceiling']}; kb serve peak RSS {out['server_rss_mb']} MB"
        f" (private {out['server_anon_mb']} MB, the rest mapped files; PSS "
        f"{out['server_pss_mb']} MB)"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        serve(*argv[1:3], int(argv[3]), *argv[4:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"bundled corpus, {QUICK_SECONDS:.0f} s per run"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--processes", type=int, help="kb serve --processes (default: its own)")
    parser.add_argument("--threads", type=int, help="kb serve --threads (default: its own)")
    parser.add_argument("--seconds", type=float, help=f"per run (default {SECONDS:.0f})")
    parser.add_argument("--synthetic", type=int, default=None,
                        help="also serve the synthetic index of this many passages "
                             "(default 100000; 0: skip; --quick skips it)")  # fmt: skip
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    seconds = args.seconds or (QUICK_SECONDS if args.quick else SECONDS)
    size = args.synthetic if args.synthetic is not None else (0 if args.quick else 100_000)
    options: tuple[str, ...] = ()
    if args.processes:
        options += ("--processes", str(args.processes))
    if args.threads:
        options += ("--threads", str(args.threads))
    bundled = bq.indexed(ROOT / "corpus", "bundled", log)
    out = run("bundled corpus", bundled, args.clients, seconds, log, options)
    out["cores"] = os.cpu_count()
    if size:
        settings = synthetic.build(size, log=log)
        big = run(f"synthetic {size:,} passages", settings, args.clients, seconds, log, options)
        big["passages"] = size
        out["synthetic"] = big
    checks = {
        f"rps >= {TARGET_RPS:.0f}": out["rps"] >= TARGET_RPS,
        "zero errors": out["errors"] == 0,
        f"p95 <= {TARGET_P95_MS:.0f} ms": (out["p95_ms"] or 1e9) <= TARGET_P95_MS,
    }
    if size:
        checks[f"RSS at {size:,} passages <= {TARGET_RSS_MB:.0f} MB"] = (
            out["synthetic"]["server_rss_mb"] <= TARGET_RSS_MB
        )
    out["targets"] = {k: "met" if v else "NOT met" for k, v in checks.items()}
    log("\n" + "\n".join(f"target {k}: {v}" for k, v in out["targets"].items()))
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
