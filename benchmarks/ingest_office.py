"""The office collection (../shared/realcorpus/office), format by format, kb next to Recoll.

    .venv/bin/python benchmarks/ingest_office.py           # as below; also part of ingest.py
    .venv/bin/python benchmarks/ingest_office.py --json

For each format of kb's registry (`kb.formats`) that has files in the collection's MANIFEST,
those files are copied to a folder of their own and measured three ways: extraction in this
process (per core, as ingest.py does for the rest of the real corpus), a full `kb index
--rebuild` (a fresh process and a fresh index folder, so no OCR cache), and `recollindex -z`
on the same folder with a fresh configuration. Then the whole collection (every file of a
format kb reads) is built by both, and the ratio kb / Recoll is the figure the target (at most
2x) is about. Files of formats kb does not read are counted, not measured.

Recoll reads Office formats with its own filters and scanned PDFs with its Tesseract OCR
(`pdfocr = 1`, the same eng+swe+nor+dan packs), so both do the same work on scans. Both run
Tesseract on one thread (OMP_THREAD_LIMIT=1, what kb sets itself): on a busy two-core machine
Tesseract's own threads slow it down severalfold, which would measure the setting, not the
indexer.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing

from benchmarks.ingest import REALCORPUS, WORKDIR, kb_index, time_extraction, timed_run  # noqa: E402
from indexer.extract import SUPPORTED_SUFFIXES  # noqa: E402

OFFICE = REALCORPUS / "office"
TARGET_RATIO = 2.0
_RECOLL_CONF = """topdirs = {corpus}
loglevel = 1
noaspell = 1
idxniceprio = 0
pdfocr = 1
ocrprogs = tesseract
tesseractlang = eng+swe+nor+dan
"""


def office_files() -> list[Path]:
    """The collection's files, as its MANIFEST lists them."""
    with open(OFFICE / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        return [OFFICE / row["local_path"] for row in csv.DictReader(fh, delimiter="\t")]


def by_format(files: list[Path]) -> tuple[dict[str, list[Path]], dict[str, int]]:
    """Files grouped by kb format id; and the count of files per suffix kb does not read."""
    groups: dict[str, list[Path]] = {}
    unread: dict[str, int] = {}
    for path in files:
        kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
        if kind is None:
            unread[path.suffix.lower()] = unread.get(path.suffix.lower(), 0) + 1
        else:
            groups.setdefault(kind, []).append(path)
    return groups, unread


def _copy(files: list[Path], target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    for path in files:
        dest = target / path.relative_to(OFFICE)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    return target


def _kb_full(corpus: Path, index: Path) -> tuple[float, dict]:
    if index.exists():
        shutil.rmtree(index)  # no OCR cache from an earlier run
    wall, _, report = kb_index(corpus, index, "--rebuild")
    return wall, report


def _recoll_full(corpus: Path, confdir: Path) -> float | None:
    recollindex = shutil.which("recollindex")
    if recollindex is None:
        return None
    if confdir.exists():
        shutil.rmtree(confdir)
    confdir.mkdir(parents=True)
    (confdir / "recoll.conf").write_text(_RECOLL_CONF.format(corpus=corpus), encoding="utf-8")
    env = {**os.environ, "RECOLL_CONFDIR": str(confdir), "HOME": str(confdir)}
    wall, _, _ = timed_run([recollindex, "-c", str(confdir), "-z"], env)
    return wall


def measure_office(log) -> dict:
    """Per-format and whole-collection figures (see the module doc)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"  # for Recoll's Tesseract; kb sets it for its own
    groups, unread = by_format(office_files())
    out: dict = {"formats": {}, "unread_suffixes": unread}
    log(f"\nThe office collection {OFFICE}, per format (kb's registry), kb next to Recoll")
    log(f"{'format':<10}{'files':>6}{'ok':>5}{'skip':>5}{'fail':>5}{'extract s':>11}"
        f"{'kb build s':>12}{'Recoll s':>10}{'kb/Recoll':>11}")  # fmt: skip
    for kind, files in sorted(groups.items()):
        folder = _copy(files, WORKDIR / "office" / kind)
        stats, _ = time_extraction(sorted(folder.rglob("*.*")), folder)
        s = stats[kind]
        kb_s, _ = _kb_full(folder, WORKDIR / "office-index" / kind)
        recoll_s = _recoll_full(folder, WORKDIR / "office-recoll" / kind)
        ratio = round(kb_s / recoll_s, 2) if recoll_s else None
        out["formats"][kind] = {
            "files": s.files, "indexed": s.indexed, "skipped": s.skipped, "failed": s.failed,
            "extract_s": round(s.seconds, 3), "kb_full_s": round(kb_s, 3),
            "recoll_full_s": round(recoll_s, 3) if recoll_s else None, "ratio": ratio,
        }  # fmt: skip
        log(f"{kind:<10}{s.files:>6}{s.indexed:>5}{s.skipped:>5}{s.failed:>5}{s.seconds:>11.2f}"
            f"{kb_s:>12.2f}{recoll_s or float('nan'):>10.2f}{ratio or float('nan'):>10.2f}x")  # fmt: skip
    if unread:
        log("not read by kb (counted, not measured): "
            + ", ".join(f"{n} {suffix}" for suffix, n in sorted(unread.items())))  # fmt: skip
    everything = [p for files in groups.values() for p in files]
    folder = _copy(everything, WORKDIR / "office" / "all")
    kb_s, report = _kb_full(folder, WORKDIR / "office-index" / "all")
    recoll_s = _recoll_full(folder, WORKDIR / "office-recoll" / "all")
    ratio = round(kb_s / recoll_s, 2) if recoll_s else None
    out["whole"] = {"files": len(everything), "kb_full_s": round(kb_s, 3),
                    "recoll_full_s": round(recoll_s, 3) if recoll_s else None,
                    "ratio": ratio, "target_ratio": TARGET_RATIO,
                    "summary": report["summary"], "workers": report.get("workers")}  # fmt: skip
    if recoll_s is None:
        log("recollindex not installed (Debian: apt-get install recollcmd); Recoll skipped")
    log(f"whole collection ({len(everything)} files kb reads): kb full build {kb_s:.2f} s "
        f"({report.get('workers')} workers), Recoll {recoll_s or float('nan'):.2f} s: "
        f"kb / Recoll {ratio}x (target at most {TARGET_RATIO:g}x)")  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)
    if not OFFICE.is_dir():
        print(f"{OFFICE} not found; nothing to measure", file=sys.stderr)
        return 2

    def log(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    started = time.perf_counter()
    result = measure_office(log)
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
