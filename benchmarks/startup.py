"""Start-up: the `kb` commands a user or a coordinator runs often, each its own process.

    .venv/bin/python benchmarks/startup.py                       # 5 rounds
    .venv/bin/python benchmarks/startup.py --quick               # 2 rounds
    .venv/bin/python benchmarks/startup.py --base /path/to/checkout   # before / after
    .venv/bin/python benchmarks/startup.py --json                # one JSON object on stdout

Times `kb --help`, `kb search` on the bundled corpus, and on a copy of the real corpus
(../shared/realcorpus without its office collection, which `benchmarks/ingest_office.py`
covers) a no-change `kb index` and one after 5 files changed (the files and the change of
`benchmarks/ingest.py`), next to Recoll's `recollindex` on the same copy and the same
change. Each round runs every case once for this checkout and, with --base, once for the
other checkout (same Python and packages: the other checkout comes first on PYTHONPATH),
alternating which goes first, so that both see the same load. Figures are wall time
(median and best of the rounds) and the process's CPU time, in milliseconds.

For where the time goes within one run: `.venv/bin/python -X importtime -m cli ...` (imports)
and cProfile over `cli.main` (see docs/benchmarks.md, "Start-up").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing

from benchmarks.ingest import REALCORPUS, _change, _changeable, _restore  # noqa: E402

WORKDIR = Path(tempfile.gettempdir()) / "kb-bench-startup"
REAL_FOLDERS = ("html", "md", "nordic", "pdf", "pdf-bad")  # the real corpus but its office files


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one command, which must succeed (exit 0 or 1)."""
    cpu, started = _cpu(), time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, _cpu() - cpu


class Checkout:
    """`kb` of one checkout, run with this Python (its packages) and that checkout's code."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, "PYTHONPATH": str(root)}
        # The environment of this process is not the one a user starts `kb` from.
        self.env.pop("OPENBLAS_NUM_THREADS", None)

    def kb(self, *args: str) -> tuple[float, float]:
        cmd = [sys.executable, "-c", "from cli import main; main()", *args]
        return _timed(cmd, self.root, self.env)


class Recoll:
    """recollindex with a private configuration over one folder (as benchmarks/ingest.py)."""

    def __init__(self, corpus: Path, confdir: Path) -> None:
        self.confdir = confdir
        self.env = {**os.environ, "RECOLL_CONFDIR": str(confdir), "HOME": str(confdir)}
        self.cmd = [shutil.which("recollindex") or "recollindex", "-c", str(confdir)]
        if not (confdir / "xapiandb").exists():
            confdir.mkdir(parents=True, exist_ok=True)
            (confdir / "recoll.conf").write_text(
                f"topdirs = {corpus}\nloglevel = 1\nnoaspell = 1\nidxniceprio = 0\n", "utf-8"
            )
            _timed([*self.cmd, "-z"], ROOT, self.env)

    def index(self) -> tuple[float, float]:
        return _timed(self.cmd, ROOT, self.env)


def _after_change(corpus: Path, run: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    """`run` timed after 5 files of `corpus` changed; then the files are restored and `run`
    again (untimed), so the next round starts from the same index."""
    saved = _change(_changeable(corpus))
    try:
        figures = run()
    finally:
        _restore(saved)
    run()
    return figures


def prepare(work: Path, log) -> tuple[Path | None, Path, Path]:
    """The real-corpus copy and its index (built once, kept), and the bundled corpus's index."""
    bundled = work / "bundled-index"
    this = Checkout(ROOT)
    if not (bundled / "CURRENT").exists():
        this.kb("--corpus", str(ROOT / "corpus"), "--index", str(bundled), "index", "-q")
    real = work / "real"
    if not REALCORPUS.is_dir():
        log(f"{REALCORPUS} not found: the indexing runs are skipped")
        return None, work / "real-index", bundled
    if not real.exists():
        for folder in REAL_FOLDERS:
            shutil.copytree(REALCORPUS / folder, real / folder)
    index = work / "real-index"
    if not (index / "CURRENT").exists():
        log(f"building the index of {real} (once)")
        this.kb("--corpus", str(real), "--index", str(index), "index", "-q")
    return real, index, bundled


def measure(rounds: int, base: Path | None, work: Path, log) -> dict:
    real, index, bundled = prepare(work, log)
    trees = {"kb": Checkout(ROOT)} | ({"base": Checkout(base)} if base else {})
    on_bundled = ("--corpus", str(ROOT / "corpus"), "--index", str(bundled))
    cases: dict[str, Callable[[Checkout], tuple[float, float]]] = {
        "help": lambda c: c.kb("--help"),
        "search": lambda c: c.kb(*on_bundled, "search", "repair cafe"),
    }
    recoll = None
    if real is not None:
        where = ("--corpus", str(real), "--index", str(index))
        cases["no_change"] = lambda c: c.kb(*where, "index", "--json")
        cases["changed5"] = lambda c: _after_change(real, lambda: c.kb(*where, "index", "--json"))
        if shutil.which("recollindex"):
            recoll = Recoll(real, work / "recoll-conf")
        else:
            log("recollindex not installed (Debian: apt-get install recollcmd): no peer")
    runs: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for i in range(rounds):
        order = list(trees) if i % 2 == 0 else list(reversed(trees))
        for case, run in cases.items():
            for name in order:
                runs.setdefault(case, {}).setdefault(name, []).append(run(trees[name]))
        if recoll is not None:
            runs["no_change"].setdefault("recoll", []).append(recoll.index())
            runs["changed5"].setdefault("recoll", []).append(_after_change(real, recoll.index))
    out: dict = {}
    for case, by_name in runs.items():
        out[case] = {
            name: {
                "median_ms": round(1000 * statistics.median(w for w, _ in figures), 1),
                "best_ms": round(1000 * min(w for w, _ in figures), 1),
                "cpu_median_ms": round(1000 * statistics.median(c for _, c in figures), 1),
            }
            for name, figures in by_name.items()
        }
        for peer in ("recoll", "base"):
            if peer in out[case]:
                ratio = out[case]["kb"]["median_ms"] / out[case][peer]["median_ms"]
                out[case][f"kb_over_{peer}"] = round(ratio, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    parser.add_argument("--base", type=Path, help="another checkout to run next to this one")
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    load = os.getloadavg()[0]
    rounds = 2 if args.quick else args.rounds
    figures = measure(rounds, args.base.resolve() if args.base else None, args.workdir, log)
    result = {"rounds": rounds, "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
              "cases": figures}  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    log(f"{rounds} rounds, load average {load:.2f} -> {os.getloadavg()[0]:.2f}")
    log(f"{'case':<10} {'who':<7} {'median ms':>10} {'best ms':>8} {'CPU ms':>7}")
    for case, by_name in figures.items():
        for name, row in by_name.items():
            if isinstance(row, dict):
                log(f"{case:<10} {name:<7} {row['median_ms']:>10.0f} {row['best_ms']:>8.0f} "
                    f"{row['cpu_median_ms']:>7.0f}")  # fmt: skip
        for key in ("kb_over_recoll", "kb_over_base"):
            if key in by_name:
                log(f"{'':<10} {key.replace('_', ' ')}: {by_name[key]}x (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
