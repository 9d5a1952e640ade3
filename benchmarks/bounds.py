"""Hostile input: how long kb takes on the worst inputs the tests send, against its bounds.

    .venv/bin/python benchmarks/bounds.py            # every group, the real-corpus sweep too
    .venv/bin/python benchmarks/bounds.py --quick    # without the real-corpus sweep
    .venv/bin/python benchmarks/bounds.py --json     # one JSON object on stdout

The tests check what kb answers to these inputs (a message, a 400, a 413, a clamped page, a
time-limit problem); how long it takes is measured here, where a figure on a loaded test
machine cannot fail a run that behaves correctly. Each group has a target for its slowest
case (and the web's odd-query batch and the real-corpus sweep one for their total):

    parse    bad query syntax (tests/test_query.py)                          0.5 s each
    search   malformed, long and deeply nested queries (tests/test_search.py,
             tests/test_fuzz.py), on the bundled corpus                       2 s each
    web      thousands of parameters, abusive page and size, overlong and odd
             queries (tests/test_attacks.py), through the Flask app           2 s each, 30 s the batch
    body     a request announcing a huge body, to a running `kb serve`       5 s
    add      `kb add` of an address that answers late, with --timeout 0.5
             (tests/test_add.py)                                              2.5 s
    extract  every file of ../shared/realcorpus (or KB_REALCORPUS) with the 30 s limit, two
             processes (tests/test_extract_realcorpus.py)                     35 s each, 240 s in all

Exit status 1 when a target is not met.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing

from benchmarks.soak import KbServer, http_request, kb_command  # noqa: E402

REALCORPUS = Path(os.environ.get("KB_REALCORPUS") or ROOT.parent / "shared" / "realcorpus")
TIME_LIMIT = 30.0  # the per-file extraction limit the real-corpus tests use
TARGETS = {"parse": 0.5, "search": 2.0, "web": 2.0, "web batch": 30.0, "body": 5.0, "add": 2.5,
           "extract": TIME_LIMIT + 5, "extract sweep": 240.0,
           "extract named slow PDFs": TIME_LIMIT}  # fmt: skip
# Files the real-corpus tests name as slow; each must finish within TIME_LIMIT.
SLOW_PDFS = (
    "pdf-bad/pypdf-sample-files/009-pdflatex-geotopo/GeoTopo-komprimiert.pdf",
    "pdf-bad/pypdf-resources/resources/issue-301.pdf",
)

BAD_SYNTAX = ['"unbalanced', "((", "AND", "title:", "year:abc", "type:memo", "org:nobody",
              "lang:klingon", "colour:red", "x" * 10_000, "ab\x00\x07cd", "*"]  # fmt: skip
HOSTILE_QUERIES = [
    *BAD_SYNTAX, ")))(((", "NOT NOT", "-", "zzqx " * 400, "NOT " * 300 + "climate",
    "procurement " * 48, "procurement climate repair buyer " * 12, "(" * 400, "a)" * 400,
    "NOT (" * 340, '"' * 2001, "a*" * 600, 'type:"meeting report" year:2023..2024 -org:ikea',
]  # fmt: skip
ODD_QUERIES = ["(" * 3000, ")" * 3000, '"' * 3001, "*", "a*", "?*", "NOT " * 500, "title:" * 500,
               "\x00\x01\x1b[31m", "%ff%fe", "org:" + "x" * 5000]  # fmt: skip
PAGE_ABUSE = [{"page": str(10**12)}, {"page": "-5"}, {"page": "1e9"}, {"page": "9" * 400},
              {"size": str(10**9)}, {"size": "-1"}, {"page": "NaN", "size": "inf"}]  # fmt: skip


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def slowest(cases: dict[str, float], total: bool = False) -> dict:
    """The figures of one group; `value_s` (its slowest case, or with `total` the sum of
    all) is what its target bounds."""
    name = max(cases, key=cases.get)
    figures = {"cases": len(cases), "slowest": name[:60], "slowest_s": round(cases[name], 3),
               "total_s": round(sum(cases.values()), 2)}  # fmt: skip
    return {**figures, "value_s": figures["total_s" if total else "slowest_s"]}


def bundled_index(work: Path) -> tuple[Path, Path]:
    """A copy of the bundled corpus, indexed by `kb index` as a user runs it."""
    import subprocess

    corpus, index = work / "corpus", work / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    subprocess.run(kb_command(corpus, index, "index", "-q"), cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    return corpus, index


def parse_and_search(corpus: Path, index: Path) -> dict[str, dict]:
    from kb.access import Principal
    from kb.query import QueryParser
    from kb.search import SearchRequest, open_searcher
    from kb.settings import Settings
    from kb.vocabulary import load_vocabulary

    parser = QueryParser(load_vocabulary(corpus))
    searcher = open_searcher(Settings.resolve(corpus, index), Principal.shell())
    searcher.search(SearchRequest(q="warm up"))
    parse = {q: timed(lambda q=q: parser.parse(q)) for q in BAD_SYNTAX}
    search = {q: timed(lambda q=q: searcher.search(SearchRequest(q=q))) for q in HOSTILE_QUERIES}
    return {"parse": slowest(parse), "search": slowest(search)}


def web(corpus: Path, index: Path) -> dict[str, dict]:
    from kb.settings import Settings
    from webui import create_app

    client = create_app(Settings.resolve(corpus, index), check_interval=0).test_client()
    client.get("/search?q=warm+up")
    many = "&".join(["a=1"] * 5000)
    urls = [f"/search?q=repair&{many}", f"/api/search?q=repair&{many}", f"/doc/x?{many}"]
    for params in PAGE_ABUSE:
        query = urlencode({"q": "repair", **params})
        urls += [f"/api/search?{query}", f"/search?{query}"]
    requests = {url: timed(lambda url=url: client.get(url)) for url in urls}
    batch = ["/search?q=" + "a" * 100_000, "/api/search?q=" + "a" * 100_000,
             "/api/search?q=kbxss%20" + "z" * 20_000, "/search?q=%ff%fe%ed%a0%80"]  # fmt: skip
    batch += [f"{path}?q={quote(q, safe='')}" for q in ODD_QUERIES
              for path in ("/search", "/api/search")]  # fmt: skip
    odd = {url: timed(lambda url=url: client.get(url)) for url in batch}
    return {"web": slowest(requests), "web batch": slowest(odd, total=True)}


def body(corpus: Path, index: Path) -> dict[str, dict]:
    cases = {}
    with KbServer(corpus, index, threads=4) as server:
        for length in (2 * 1024 * 1024, 999_999_999_999):
            head = f"POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
            cases[f"Content-Length {length}"] = timed(
                lambda head=head: http_request(server.port, "", raw_head=head.encode(), timeout=30)
            )
    return {"body": slowest(cases)}


class _Late(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(3)  # the stand-in for a server that answers late: kb gives up at 0.5 s
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<title>late</title>")

    def log_message(self, *args) -> None:
        pass


def add(corpus: Path, index: Path) -> dict[str, dict]:
    from click.testing import CliRunner

    from cli import main

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Late)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/slow"
    args = ["--corpus", str(corpus), "--index", str(index), "add", url, "--timeout", "0.5"]
    try:
        result = {}
        seconds = timed(lambda: result.setdefault("r", CliRunner().invoke(main, args)))
    finally:
        server.shutdown()
    assert result["r"].exit_code == 2, result["r"].output
    return {"add": slowest({"--timeout 0.5 on a 3 s answer": seconds})}


def _extract_one(relative: str) -> tuple[str, float]:
    from indexer.extract import extract_file
    from indexer.extract.base import ExtractionProblem

    started = time.perf_counter()
    with contextlib.suppress(ExtractionProblem):  # a reasoned problem is an answer too
        extract_file(REALCORPUS / relative, time_limit=TIME_LIMIT)
    return relative, time.perf_counter() - started


def extract() -> dict[str, dict]:
    files = sorted(
        (p.relative_to(REALCORPUS).as_posix() for p in REALCORPUS.rglob("*")
         if p.is_file() and p.parent != REALCORPUS),
        key=lambda f: -(REALCORPUS / f).stat().st_size,
    )  # fmt: skip
    started = time.perf_counter()
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        seconds = dict(pool.map(_extract_one, files, chunksize=4))
    wall = round(time.perf_counter() - started, 1)
    slow = {path: seconds[path] for path in SLOW_PDFS if path in seconds}
    return {
        "extract": slowest(seconds),
        "extract sweep": {**slowest(seconds), "wall_s": wall, "value_s": wall},
        "extract named slow PDFs": slowest(slow),
    }


def verdicts(groups: dict[str, dict]) -> dict[str, str]:
    out = {}
    for name, figures in groups.items():
        value, target = figures["value_s"], TARGETS[name]
        out[f"{name} <= {target:g} s"] = f"{'met' if value <= target else 'NOT met'} ({value} s)"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="without the real-corpus sweep")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    groups: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="kb-bounds-") as tmp:
        corpus, index = bundled_index(Path(tmp))
        for measure in (parse_and_search, web, body, add):
            groups.update(measure(corpus, index))
            log(f"{measure.__name__}: done")
    if not args.quick and REALCORPUS.is_dir():
        groups.update(extract())
    for name, figures in groups.items():
        log(f"{name:24} {figures['cases']:4} cases  slowest {figures['slowest_s']} s"
            f"  {figures['slowest']!r}")  # fmt: skip
    targets = verdicts(groups)
    log("\n" + "\n".join(f"target {k}: {v}" for k, v in targets.items()))
    if args.json:
        print(json.dumps({"quick": args.quick, "groups": groups, "targets": targets}, indent=2))
    return 0 if all(v.startswith("met") for v in targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
