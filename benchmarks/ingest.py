"""Extraction throughput per format over ../shared/realcorpus, and pypdf against pdftotext.

    .venv/bin/python benchmarks/ingest.py            # every file (about a minute and a half)
    .venv/bin/python benchmarks/ingest.py --quick    # a fixed sample (well under a minute)
    .venv/bin/python benchmarks/ingest.py --json     # one JSON object on stdout

Extraction runs sequentially in this process, so the figures are per core. pdftotext
(poppler-utils) runs on the same PDFs that our extractor indexed, one subprocess per file,
so its figures include process start-up, as they would if we shelled out to it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing

from indexer.extract import SUPPORTED_SUFFIXES, extract_file  # noqa: E402
from indexer.extract.base import ExtractionProblem  # noqa: E402

REALCORPUS = ROOT.parent / "shared" / "realcorpus"
MEGABYTE = 1024 * 1024
# --quick: every Nth text file, and only the PDFs up to this size (plus all of pdf-bad).
QUICK_TEXT_STRIDE = 4
QUICK_PDF_MAX_BYTES = 1 * MEGABYTE


@dataclass
class FormatStats:
    """Totals for one format."""

    files: int = 0
    indexed: int = 0
    skipped: int = 0
    failed: int = 0
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    slowest_file: str = ""
    slowest_seconds: float = 0.0

    @property
    def megabytes(self) -> float:
        return self.bytes / MEGABYTE

    def rates(self) -> dict[str, float | None]:
        if self.seconds <= 0:
            return {"pages_per_second": None, "mb_per_second": None}
        return {
            "pages_per_second": self.pages / self.seconds if self.pages else None,
            "mb_per_second": self.megabytes / self.seconds,
        }


@dataclass
class PdftotextComparison:
    """pypdf (our extractor) and pdftotext timed on the same PDFs."""

    available: bool
    pdfs: int = 0
    pypdf_seconds: float = 0.0
    pdftotext_seconds: float = 0.0
    pdftotext_failures: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if not self.available or self.pdftotext_seconds <= 0:
            return None
        return self.pypdf_seconds / self.pdftotext_seconds


def corpus_files(corpus: Path, quick: bool) -> list[Path]:
    files = sorted(
        p
        for p in corpus.rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and p.parent != corpus
    )
    if not quick:
        return files
    texts = [p for p in files if p.suffix.lower() != ".pdf"][::QUICK_TEXT_STRIDE]
    pdfs = [
        p
        for p in files
        if p.suffix.lower() == ".pdf"
        and ("pdf-bad" in p.parts or p.stat().st_size <= QUICK_PDF_MAX_BYTES)
    ]
    return texts + pdfs


def time_extraction(
    files: list[Path], corpus: Path
) -> tuple[dict[str, FormatStats], dict[Path, float]]:
    """Extract every file once; per-format totals and the seconds of each indexed PDF."""
    stats: dict[str, FormatStats] = {}
    indexed_pdfs: dict[Path, float] = {}
    for path in files:
        kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
        entry = stats.setdefault(kind, FormatStats())
        started = time.perf_counter()
        try:
            extraction = extract_file(path)
        except ExtractionProblem as problem:
            extraction = None
            outcome = problem.status
        else:
            outcome = "indexed"
        seconds = time.perf_counter() - started
        entry.files += 1
        entry.bytes += path.stat().st_size
        entry.seconds += seconds
        setattr(entry, outcome, getattr(entry, outcome) + 1)
        if extraction is not None and extraction.page_count:
            entry.pages += extraction.page_count
        if seconds > entry.slowest_seconds:
            entry.slowest_seconds = seconds
            entry.slowest_file = path.relative_to(corpus).as_posix()
        if kind == "pdf" and extraction is not None:
            indexed_pdfs[path] = seconds
    return stats, indexed_pdfs


def compare_with_pdftotext(indexed_pdfs: dict[Path, float], corpus: Path) -> PdftotextComparison:
    executable = shutil.which("pdftotext")
    if executable is None:
        return PdftotextComparison(available=False)
    comparison = PdftotextComparison(available=True)
    for path, pypdf_seconds in indexed_pdfs.items():
        started = time.perf_counter()
        result = subprocess.run(
            [executable, "-q", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            timeout=120,
            check=False,
        )
        comparison.pdftotext_seconds += time.perf_counter() - started
        comparison.pypdf_seconds += pypdf_seconds
        comparison.pdfs += 1
        if result.returncode != 0:
            comparison.pdftotext_failures.append(path.relative_to(corpus).as_posix())
    return comparison


def _rate(value: float | None, unit: str) -> str:
    return f"{value:8.1f} {unit}" if value is not None else f"{'—':>8} {unit}"


def print_report(
    stats: dict[str, FormatStats], comparison: PdftotextComparison, quick: bool, wall: float
) -> None:
    print(f"Extraction over {REALCORPUS} ({'quick sample' if quick else 'every file'})")
    header = (
        f"{'format':<9}{'files':>6}{'ok':>5}{'skip':>5}{'fail':>5}{'pages':>7}{'MB':>8}{'s':>8}"
    )
    print(header + f"{'pages/s':>14}{'MB/s':>12}  slowest")
    for kind in sorted(stats):
        s = stats[kind]
        rates = s.rates()
        print(
            f"{kind:<9}{s.files:>6}{s.indexed:>5}{s.skipped:>5}{s.failed:>5}"
            f"{s.pages or '—':>7}{s.megabytes:>8.1f}{s.seconds:>8.2f}"
            f"{_rate(rates['pages_per_second'], 'p/s'):>14}{_rate(rates['mb_per_second'], 'MB/s'):>12}"
            f"  {s.slowest_file} ({s.slowest_seconds:.2f} s)"
        )
    print(f"total wall time {wall:.1f} s")
    print()
    if not comparison.available:
        print("pdftotext not installed (Debian: apt-get install poppler-utils); comparison skipped")
        return
    print(f"pypdf against pdftotext on the same {comparison.pdfs} indexed PDFs:")
    print(f"  pypdf (extract_pdf, incl. clean-up)  {comparison.pypdf_seconds:8.2f} s")
    print(f"  pdftotext (one process per file)     {comparison.pdftotext_seconds:8.2f} s")
    if comparison.ratio is not None:
        print(f"  ratio pypdf / pdftotext              {comparison.ratio:8.1f} x")
    if comparison.pdftotext_failures:
        print(f"  pdftotext failed on: {', '.join(comparison.pdftotext_failures)}")


def as_json(
    stats: dict[str, FormatStats], comparison: PdftotextComparison, quick: bool, wall: float
) -> dict[str, object]:
    return {
        "corpus": str(REALCORPUS),
        "quick": quick,
        "wall_seconds": wall,
        "formats": {
            kind: {**asdict(s), "megabytes": s.megabytes, **s.rates()}
            for kind, s in sorted(stats.items())
        },
        "pdftotext": {
            "available": comparison.available,
            "pdfs": comparison.pdfs,
            "pypdf_seconds": comparison.pypdf_seconds,
            "pdftotext_seconds": comparison.pdftotext_seconds,
            "ratio_pypdf_over_pdftotext": comparison.ratio,
            "pdftotext_failures": comparison.pdftotext_failures,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fixed sample, under a minute")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)
    if not REALCORPUS.is_dir():
        print(f"{REALCORPUS} not found; nothing to measure", file=sys.stderr)
        return 2
    started = time.perf_counter()
    stats, indexed_pdfs = time_extraction(corpus_files(REALCORPUS, args.quick), REALCORPUS)
    comparison = compare_with_pdftotext(indexed_pdfs, REALCORPUS)
    wall = time.perf_counter() - started
    if args.json:
        if not comparison.available:
            print("pdftotext not installed", file=sys.stderr)
        print(json.dumps(as_json(stats, comparison, args.quick, wall), indent=2))
    else:
        print_report(stats, comparison, args.quick, wall)
    return 0


if __name__ == "__main__":
    sys.exit(main())
