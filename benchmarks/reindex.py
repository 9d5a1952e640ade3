"""Re-indexing speed on a synthetic corpus: full builds, and the runs a coordinator repeats.

    .venv/bin/python benchmarks/reindex.py               # 10,000 documents, ~100,000 passages
    .venv/bin/python benchmarks/reindex.py --docs 1000   # a quick look
    .venv/bin/python benchmarks/reindex.py --json        # one JSON object on stdout

The corpus is generated deterministically (same seed, same files) under --workdir and reused
by later runs. Every step runs `kb index` as its own process, so the figures include Python's
start-up and imports, as a coordinator (or cron) sees them:

- full build, serial (`--rebuild --workers 1`) and parallel (`--rebuild`, one worker per core);
- no change (three runs; the best and the median are reported);
- one file changed, one file added, one file removed.

A second, smaller corpus (--small, 700 files by default) gives the no-change figure to
compare with Recoll's `recollindex` on a corpus of that size (about 0.15 s).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "corpus"
SEED = 20240424
KB = [sys.executable, "-c", "from cli import main; main()"]

_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "sun",
    "ber",
    "tra",
    "vel",
    "ix",
    "do",
    "re",
    "pan",
    "tor",
    "gu",
    "en",
    "sa",
    "fy",
    "lin",
    "mor",
    "ste",
    "qua",
]
_ENGLISH = [
    "climate",
    "procurement",
    "repair",
    "lifespan",
    "circular",
    "economy",
    "supplier",
    "criteria",
    "weighting",
    "laptop",
    "phone",
    "emissions",
    "reuse",
    "refurbish",
    "contract",
    "tender",
    "energy",
    "warranty",
    "take-back",
    "members",
    "network",
    "sustainable",
    "requirements",
    "follow-up",
    "battery",
    "screen",
    "recycling",
]
_SWEDISH = [
    "upphandling",
    "leverantör",
    "krav",
    "klimat",
    "livslängd",
    "återbruk",
    "cirkulär",
    "ekonomi",
    "avtal",
    "datorer",
    "hållbarhet",
    "kommun",
    "uppföljning",
    "energi",
    "reparation",
    "garanti",
]
_ORGS = ["IKEA", "Skövde kommun", "Handelsbanken", "DFØ"]
_FOLDERS = [("meetings", "meeting"), ("guides", "guide"), ("articles", "article"),
            ("directives", "directive"), ("about", "other")]  # fmt: skip


def generate(corpus: Path, docs: int, sections: int) -> None:
    """`docs` Markdown files of `sections` sections each (one passage per section), 15% of
    them Swedish, some naming member organisations; the same files for the same arguments."""
    marker = corpus / ".generated"
    wanted = f"{docs} {sections} {SEED}"
    if marker.is_file() and marker.read_text() == wanted:
        return
    if corpus.exists():
        shutil.rmtree(corpus)
    rng = random.Random(SEED)
    words = sorted({"".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))) for _ in range(4000)})
    for name in ("organisations.toml", "topics.toml"):
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BUNDLED / name, corpus / name)
    for i in range(docs):
        folder, doc_type = _FOLDERS[i % len(_FOLDERS)]
        swedish = i % 7 == 3
        real = _SWEDISH if swedish else _ENGLISH
        path = corpus / folder / f"part-{i // 500:03d}" / f"{folder[:-1]}-{i:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [
            "---",
            f"title: {rng.choice(real).capitalize()} {rng.choice(words)} {i}",
            f"type: {doc_type}",
            f"date: {2015 + i % 10}-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "---",
            "",
        ]
        for s in range(sections):
            body = [
                rng.choice(real) if rng.random() < 0.3 else rng.choice(words) for _ in range(90)
            ]
            if rng.random() < 0.1:
                body.insert(rng.randrange(len(body)), rng.choice(_ORGS))
            lines += [f"## {rng.choice(real).capitalize()} {s + 1}", "", " ".join(body) + ".", ""]
        path.write_text("\n".join(lines), encoding="utf-8")
    marker.write_text(wanted)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


_SUMMARY = re.compile(
    r"^(?:Updated|Built a new generation) (\S+): (.*) \(([\d.]+)s(?:, (\d+) workers)?\)\.$"
)


def kb_index(corpus: Path, index: Path, *args: str) -> tuple[float, dict]:
    """Run `kb index -q ARGS` as a coordinator would (no JSON of 10,000 files to print):
    (wall seconds, what its summary line says, with the CPU seconds it used)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(
        [*KB, "--corpus", str(corpus), "--index", str(index), "index", "-q", *args],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"kb index {' '.join(args)} failed:\n{result.stderr}")
    last = result.stdout.strip().splitlines()[-1]
    report: dict = {"up_to_date": last.startswith("Index is up to date"), "summary": {},
                    "elapsed_s": wall, "workers": 1}  # fmt: skip
    if match := _SUMMARY.match(last):
        for part in match.group(2).split(", "):
            count, _, key = part.partition(" ")
            report["summary"][key] = int(count)
        report["elapsed_s"] = float(match.group(3))
        report["workers"] = int(match.group(4) or 1)
    elif not report["up_to_date"]:
        raise SystemExit(f"unexpected output of kb index: {last}")
    # The process and the workers it waited for (a fork server's workers are not counted).
    report["cpu_s"] = _children_cpu() - cpu
    return wall, report


def measure(corpus: Path, index: Path, *, serial: bool, full_builds: bool, log) -> dict:
    figures: dict = {}

    def record(key: str, label: str, wall: float, report: dict, **extra) -> None:
        figures[key] = {"seconds": round(wall, 3), "cpu_seconds": round(report["cpu_s"], 3),
                        **extra}  # fmt: skip
        log(f"{label:<28} {wall:8.3f} s wall {report['cpu_s']:8.3f} s CPU")

    if serial and full_builds:
        wall, report = kb_index(corpus, index, "--rebuild", "--workers", "1")
        record("full_serial", "full build, serial", wall, report, summary=report["summary"])
    if full_builds or not (index / "CURRENT").exists():
        wall, report = kb_index(corpus, index, "--rebuild")
        record("full_parallel", f"full build, {report['workers']} workers", wall, report,
               workers=report["workers"], cores=os.cpu_count(), summary=report["summary"])  # fmt: skip
    full = figures.get("full_parallel", {}).get("seconds")

    kb_index(corpus, index)  # settle: whatever changed since the last benchmark is indexed
    runs = [kb_index(corpus, index) for _ in range(3)]
    assert all(report["up_to_date"] for _, report in runs)
    wall, report = min(runs, key=lambda run: run[0])
    record("no_change", "no change (best of 3)", wall, report,
           median=round(statistics.median(w for w, _ in runs), 3))  # fmt: skip

    files = sorted(p for p in corpus.rglob("*.md"))
    changed = files[len(files) // 2]
    original = changed.read_text(encoding="utf-8")
    changed.write_text(original + "\n## Follow-up\n\nAbout battery replacement.\n", "utf-8")
    wall, report = kb_index(corpus, index)
    assert report["summary"]["updated"] == 1, report["summary"]
    record("one_changed", "one file changed", wall, report)

    added = changed.with_name("added-by-benchmark.md")
    added.write_text("# Added\n\nA new note about repair cafés and spare parts.\n", "utf-8")
    wall, report = kb_index(corpus, index)
    assert report["summary"]["added"] == 1, report["summary"]
    record("one_added", "one file added", wall, report)

    added.unlink()
    wall, report = kb_index(corpus, index)
    assert report["summary"]["removed"] == 1, report["summary"]
    record("one_removed", "one file removed", wall, report)

    changed.write_text(original, encoding="utf-8")  # the next benchmark starts from the same corpus
    kb_index(corpus, index)
    for key in ("no_change", "one_changed", "one_added", "one_removed"):
        if full:
            figures[key]["percent_of_full_build"] = round(100 * figures[key]["seconds"] / full, 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--sections", type=int, default=10, help="passages per document")
    parser.add_argument("--small", type=int, default=700, help="files of the no-change "
                        "comparison corpus (0: skip it)")  # fmt: skip
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "kb-bench-reindex"
    )
    parser.add_argument("--skip-serial", action="store_true", help="no serial full build")
    parser.add_argument("--skip-full", action="store_true",
                        help="reuse the index of an earlier run: no full build at all")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    def log(line: str) -> None:
        print(line, file=sys.stderr if args.json else sys.stdout, flush=True)

    results: dict = {"docs": args.docs, "sections": args.sections, "cores": os.cpu_count()}
    corpus = args.workdir / f"corpus-{args.docs}"
    log(f"corpus: {args.docs} documents x {args.sections} sections in {corpus}")
    started = time.perf_counter()
    generate(corpus, args.docs, args.sections)
    log(f"generated in {time.perf_counter() - started:.1f} s")
    results["main"] = measure(corpus, args.workdir / f"index-{args.docs}",
                              serial=not args.skip_serial, full_builds=not args.skip_full,
                              log=log)  # fmt: skip
    results["main"]["passages"] = args.docs * args.sections
    if args.small:
        small = args.workdir / f"corpus-{args.small}"
        log(f"\nno-change comparison corpus: {args.small} documents")
        generate(small, args.small, args.sections)
        index = args.workdir / f"index-{args.small}"
        if not args.skip_full or not (index / "CURRENT").exists():
            kb_index(small, index, "--rebuild")
        walls = [kb_index(small, index)[0] for _ in range(5)]  # wall: what a user waits
        results["small_no_change"] = {"docs": args.small, "seconds": min(walls),
                                      "median": statistics.median(walls)}  # fmt: skip
        log(f"no change, {args.small} files (best of 5): {min(walls):.3f} s "
            f"(median {statistics.median(walls):.3f} s)")  # fmt: skip
    main_figures = results["main"]
    ok = all(main_figures[k]["seconds"] < 1.0 for k in ("no_change", "one_changed", "one_added"))
    results["targets_met"] = ok
    log(f"\ntargets (no-change and one-file runs under 1 s): {'met' if ok else 'NOT met'}")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
