"""Ingestion: extraction per format, and whole `kb index` runs against Recoll's recollindex.

    .venv/bin/python benchmarks/ingest.py            # every file; real + 10,000-document builds
    .venv/bin/python benchmarks/ingest.py --quick    # samples: under two minutes
    .venv/bin/python benchmarks/ingest.py --json     # one JSON object on stdout
    .venv/bin/python benchmarks/ingest.py --no-synthetic  # the real corpus only
    .venv/bin/python benchmarks/ingest.py --no-office  # without the office collection's builds
    .venv/bin/python benchmarks/ingest.py --no-real --no-serial  # the parallel synthetic build only

Extraction: every file of ../shared/realcorpus (--quick: a fixed sample) extracted in this
process, so the figures are per core (PDF text comes from pdftotext when it is installed, as
in `kb index`). The PDFs indexed are then extracted again with pypdf reading the text too
(KB_PDFTOTEXT=0, what kb does without poppler-utils), and run through bare pdftotext, one
subprocess per file, for comparison.

Indexing: `kb index` as a user runs it (the venv's `kb` command, one process per run, so
Python's start-up and imports count) on a copy of the real corpus (--quick: two of its
folders, no PDFs) and on the synthetic corpus of benchmarks/reindex.py (10,000
documents of 10 sections; --quick: 200): full build serial (`--rebuild --workers 1`) and
parallel (`--rebuild`, one worker per core), no change (best of 3), and 5 files changed.
SQLite FTS5 then builds the synthetic corpus's passages, read from kb's index (title,
heading, text), in this process: the ratio of the two full builds is from one run.
Recoll (Debian `recollcmd`) indexes the same real-corpus copy with a private configuration
directory: `recollindex -z` (from scratch; it uses several threads), then incremental runs
with no change and with the same 5 files changed. Its spelling dictionary (aspell, rebuilt at
the end of every run that changed something) is turned off (`noaspell = 1`): kb builds none;
and it runs at normal priority like kb (`idxniceprio = 0`; by default it renices itself to 19,
which on a busy machine starves it). Peak memory is the summed resident memory
of the indexing process and its children (workers), sampled every 50 ms.

Office collection (../shared/realcorpus/office): per format of kb's registry, extraction, a
full `kb index` and a full `recollindex` on the same files, then the whole collection and
the ratio kb / Recoll (benchmarks/ingest_office.py, also runnable on its own).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing

from indexer.extract import SUPPORTED_SUFFIXES, extract_file  # noqa: E402
from indexer.extract.base import ExtractionProblem  # noqa: E402

# ../shared/realcorpus next to the checkout, or KB_REALCORPUS (as for the tests).
REALCORPUS = Path(os.environ.get("KB_REALCORPUS") or ROOT.parent / "shared" / "realcorpus")
WORKDIR = Path(tempfile.gettempdir()) / "kb-bench-ingest"
SYNTHETIC_DOCS, QUICK_SYNTHETIC_DOCS, SYNTHETIC_SECTIONS = 10_000, 200, 10
QUICK_REAL_FOLDERS = ("md/gsf-patterns", "nordic")
CHANGED_FILES = 5
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
    """Our PDF extractor as configured, with pypdf reading the text, and bare pdftotext,
    timed on the same PDFs."""

    available: bool
    pdfs: int = 0
    extractor_seconds: float = 0.0  # extract_pdf as kb runs it (pdftotext when installed)
    pypdf_seconds: float = 0.0  # extract_pdf with KB_PDFTOTEXT=0
    pdftotext_seconds: float = 0.0  # the bare pdftotext command
    pdftotext_failures: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if not self.available or self.pdftotext_seconds <= 0:
            return None
        return self.pypdf_seconds / self.pdftotext_seconds

    @property
    def extractor_ratio(self) -> float | None:
        if self.extractor_seconds <= 0:
            return None
        return self.pypdf_seconds / self.extractor_seconds


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


def _pypdf_only_seconds(path: Path) -> float:
    from indexer.extract import pdftotext

    saved = os.environ.get(pdftotext.ENV_SWITCH)
    os.environ[pdftotext.ENV_SWITCH] = "0"
    try:
        started = time.perf_counter()
        with contextlib.suppress(ExtractionProblem):
            extract_file(path)
        return time.perf_counter() - started
    finally:
        if saved is None:
            del os.environ[pdftotext.ENV_SWITCH]
        else:
            os.environ[pdftotext.ENV_SWITCH] = saved


def compare_with_pdftotext(indexed_pdfs: dict[Path, float], corpus: Path) -> PdftotextComparison:
    executable = shutil.which("pdftotext")
    comparison = PdftotextComparison(available=executable is not None)
    for path, extractor_seconds in indexed_pdfs.items():
        comparison.extractor_seconds += extractor_seconds
        comparison.pypdf_seconds += _pypdf_only_seconds(path)
        comparison.pdfs += 1
        if executable is None:
            continue
        started = time.perf_counter()
        result = subprocess.run(
            [executable, "-q", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            timeout=120,
            check=False,
        )
        comparison.pdftotext_seconds += time.perf_counter() - started
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
    print(f"The same {comparison.pdfs} indexed PDFs:")
    print(f"  extract_pdf as configured            {comparison.extractor_seconds:8.2f} s"
          f"   ({'pdftotext' if comparison.available else 'pypdf'} reads the text)")  # fmt: skip
    print(f"  extract_pdf, pypdf only (KB_PDFTOTEXT=0) {comparison.pypdf_seconds:4.2f} s")
    if comparison.extractor_ratio is not None:
        print(f"  ratio pypdf only / as configured     {comparison.extractor_ratio:8.1f} x")
    if not comparison.available:
        print("pdftotext not installed (Debian: apt-get install poppler-utils)")
        return
    print(f"  bare pdftotext (one process per file) {comparison.pdftotext_seconds:7.2f} s")
    if comparison.ratio is not None:
        print(f"  ratio pypdf only / bare pdftotext    {comparison.ratio:8.1f} x")
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
            "extractor_seconds": comparison.extractor_seconds,
            "pypdf_seconds": comparison.pypdf_seconds,
            "ratio_pypdf_over_extractor": comparison.extractor_ratio,
            "pdftotext_seconds": comparison.pdftotext_seconds,
            "ratio_pypdf_over_pdftotext": comparison.ratio,
            "pdftotext_failures": comparison.pdftotext_failures,
        },
    }


# ---- whole indexing runs: kb index and recollindex ---------------------------------------------


def _tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, in kB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry.name}/statm") as fh:
                rss[int(entry.name)] = int(fh.read().split()[1]) * (
                    os.sysconf("SC_PAGE_SIZE") // 1024
                )
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(
    cmd: list[str], env: dict | None = None
) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, peak tree RSS in MB, completed process) of one command; the process's
    CPU seconds (its children's included) in `completed.cpu_s`."""
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)  # fmt: skip
    peak = 0
    sampler_done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampler_done.wait(0.05):
            peak = max(peak, _tree_rss_kb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    sampler_done.set()
    sampler.join()
    done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    done.cpu_s = _children_cpu() - cpu
    return wall, peak / 1024, done


def _kb_command() -> list[str]:
    script = Path(sys.executable).with_name("kb")
    return (
        [str(script)]
        if script.is_file()
        else [sys.executable, "-c", "from cli import main; main()"]
    )


def kb_index(corpus: Path, index: Path, *args: str) -> tuple[float, float, dict]:
    cmd = [*_kb_command(), "--corpus", str(corpus), "--index", str(index), "index", "--json", *args]
    wall, rss, done = timed_run(cmd)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise SystemExit(
            f"kb index {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}"
        )
    report = json.loads(done.stdout)
    report["cpu_s"] = done.cpu_s
    return wall, rss, report


def _change(files: list[Path]) -> list[tuple[Path, bytes]]:
    """Append a paragraph to each file (text formats), keeping the originals to restore."""
    saved = [(p, p.read_bytes()) for p in files]
    for p, _ in saved:
        tail = (
            b"\n<p>Benchmark change.</p>\n"
            if p.suffix in (".html", ".htm")
            else b"\n\nBenchmark change.\n"
        )
        p.write_bytes(p.read_bytes() + tail)
    return saved


def _restore(saved: list[tuple[Path, bytes]]) -> None:
    for p, data in saved:
        p.write_bytes(data)


def _changeable(corpus: Path) -> list[Path]:
    files = sorted(p for p in corpus.rglob("*") if p.suffix in (".md", ".html", ".txt") and p.is_file()
                   and p.stat().st_size > 2000)  # fmt: skip
    step = max(1, len(files) // CHANGED_FILES)
    return files[::step][:CHANGED_FILES]


def measure_kb(corpus: Path, index: Path, serial: bool, log) -> dict:
    out: dict = {}
    if serial:
        wall, rss, report = kb_index(corpus, index, "--rebuild", "--workers", "1")
        out.update(full_serial_s=round(wall, 3), full_serial_rss_mb=round(rss, 1),
                   full_serial_cpu_s=round(report["cpu_s"], 2))  # fmt: skip
        log(f"  kb full build, serial            {wall:8.2f} s   peak {rss:7.1f} MB"
            f"   CPU {report['cpu_s']:.1f} s")  # fmt: skip
    wall, rss, report = kb_index(corpus, index, "--rebuild")
    out.update(full_s=round(wall, 3), peak_rss_mb=round(rss, 1), workers=report.get("workers"),
               full_cpu_s=round(report["cpu_s"], 2), summary=report["summary"])  # fmt: skip
    log(f"  kb full build, {report.get('workers')} workers         {wall:8.2f} s   peak {rss:7.1f} MB"
        f"   CPU {report['cpu_s']:.1f} s   ({report['summary']['indexed']} indexed)")  # fmt: skip
    runs = [kb_index(corpus, index) for _ in range(3)]
    wall, rss, report = min(runs, key=lambda r: r[0])
    assert report["up_to_date"], report["summary"]
    out.update(nochange_s=round(wall, 3), nochange_rss_mb=round(rss, 1),
               nochange_cpu_s=round(report["cpu_s"], 3))  # fmt: skip
    log(f"  kb no change (best of 3)         {wall:8.3f} s   peak {rss:7.1f} MB"
        f"   CPU {report['cpu_s']:.2f} s")  # fmt: skip
    saved = _change(_changeable(corpus))
    try:
        wall, rss, report = kb_index(corpus, index)
        out.update(changed5_s=round(wall, 3), changed5_rss_mb=round(rss, 1),
                   changed5_cpu_s=round(report["cpu_s"], 3),
                   changed5_updated=report["summary"]["updated"])  # fmt: skip
        log(f"  kb {CHANGED_FILES} files changed                {wall:8.3f} s   peak {rss:7.1f} MB"
            f"   CPU {report['cpu_s']:.2f} s   ({report['summary']['updated']} updated)")  # fmt: skip
    finally:
        _restore(saved)
    kb_index(corpus, index)  # back in step with the restored files
    return out


def passage_rows(settings) -> list[tuple]:
    """(title, heading, body, doc_id) of every passage the kb index at `settings` holds."""
    from kb import schema as f
    from kb.library import Library

    snap = Library(settings).snapshot()
    searcher = snap.searcher()
    rows = []
    for docnum in searcher.document_numbers(**{f.KIND: f.KIND_PASSAGE}):
        s = searcher.stored_fields(docnum)
        info = snap.catalogue.get(s[f.DOC_ID])
        rows.append((info.title if info else "", s.get(f.HEADING) or "", s.get(f.BODY) or "",
                     s[f.DOC_ID]))  # fmt: skip
    return rows


def measure_fts5(corpus: Path, index: Path, log) -> dict:
    """SQLite FTS5 building the passages kb just indexed: the table, every row, `optimize`
    and the commit, timed in this process (the passages are read from kb's index first)."""
    from kb.settings import Settings

    rows = passage_rows(Settings.resolve(corpus, index))
    db = index.parent / f"{index.name}.fts5.db"
    db.unlink(missing_ok=True)
    cpu, started = time.process_time(), time.perf_counter()
    conn = sqlite3.connect(str(db))
    conn.execute("CREATE VIRTUAL TABLE p USING fts5(title, heading, body, doc_id UNINDEXED, "
                 "tokenize = 'unicode61 remove_diacritics 2')")  # fmt: skip
    conn.executemany("INSERT INTO p VALUES (?, ?, ?, ?)", rows)
    conn.execute("INSERT INTO p(p) VALUES ('optimize')")
    conn.commit()
    conn.close()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    db.unlink()
    log(f"  SQLite FTS5, same {len(rows):,} passages {wall:8.2f} s   CPU {cpu:.1f} s")
    return {"fts5_full_s": round(wall, 3), "fts5_full_cpu_s": round(cpu, 2),
            "fts5_passages": len(rows)}  # fmt: skip


def measure_recoll(corpus: Path, confdir: Path, log) -> dict:
    recollindex = shutil.which("recollindex")
    if recollindex is None:
        log("  recollindex not installed (Debian: apt-get install recollcmd); Recoll skipped")
        return {"recoll_full_s": None, "recoll_nochange_s": None, "recoll_changed5_s": None,
                "recoll_peak_rss_mb": None}  # fmt: skip
    if confdir.exists():
        shutil.rmtree(confdir)
    confdir.mkdir(parents=True)
    (confdir / "recoll.conf").write_text(f"topdirs = {corpus}\nloglevel = 1\nnoaspell = 1\nidxniceprio = 0\n",
                                          encoding="utf-8")  # fmt: skip
    env = {**os.environ, "RECOLL_CONFDIR": str(confdir), "HOME": str(confdir)}
    cmd = [recollindex, "-c", str(confdir)]
    out: dict = {}
    wall, rss, done = timed_run([*cmd, "-z"], env)
    out.update(recoll_full_s=round(wall, 3), recoll_peak_rss_mb=round(rss, 1),
               recoll_full_cpu_s=round(done.cpu_s, 2))  # fmt: skip
    log(f"  recollindex -z (from scratch)    {wall:8.2f} s   peak {rss:7.1f} MB"
        f"   CPU {done.cpu_s:.1f} s")  # fmt: skip
    runs = [timed_run(cmd, env) for _ in range(3)]
    wall, rss, done = min(runs, key=lambda r: r[0])
    out.update(recoll_nochange_s=round(wall, 3), recoll_nochange_cpu_s=round(done.cpu_s, 3))
    log(f"  recollindex no change (best of 3){wall:8.3f} s   peak {rss:7.1f} MB"
        f"   CPU {done.cpu_s:.2f} s")  # fmt: skip
    saved = _change(_changeable(corpus))
    try:
        wall, rss, done = timed_run(cmd, env)
        out.update(recoll_changed5_s=round(wall, 3), recoll_changed5_cpu_s=round(done.cpu_s, 3))
        log(f"  recollindex {CHANGED_FILES} files changed       {wall:8.3f} s   peak {rss:7.1f} MB"
            f"   CPU {done.cpu_s:.2f} s")  # fmt: skip
    finally:
        _restore(saved)
    timed_run(cmd, env)
    return out


def copy_real_corpus(quick: bool) -> Path:
    """A private copy of the real corpus (files get changed); --quick: a few folders."""
    target = WORKDIR / ("real-quick" if quick else "real")
    if target.exists():
        shutil.rmtree(target)
    if quick:
        for folder in QUICK_REAL_FOLDERS:
            shutil.copytree(REALCORPUS / folder, target / folder)
    else:
        shutil.copytree(REALCORPUS, target)
    return target


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def measure_indexing(
    quick: bool, log, synthetic: bool = True, real: bool = True, serial: bool = True
) -> dict:
    out: dict = {"cores": os.cpu_count(), "load_average": _load()}
    log(f"load average (1 min) at the start: {out['load_average']}")
    if real:
        out.update(measure_real(quick, log, serial))
    if synthetic:
        out["synthetic"] = measure_synthetic(quick, log, serial)
    return out


def measure_real(quick: bool, log, serial: bool) -> dict:
    """kb's runs on a copy of the real corpus, then Recoll's on the same copy."""
    out: dict = {}
    real = copy_real_corpus(quick)
    log(f"\nIndexing the real corpus ({'Markdown, HTML and text only' if quick else 'every file'}),"
        f" a copy in {real}")  # fmt: skip
    out.update(measure_kb(real, WORKDIR / "real-index", serial=serial and not quick, log=log))
    out["load_average_after_kb"] = _load()
    log(f"  load average (1 min) after kb's runs: {out['load_average_after_kb']}")
    out.update(measure_recoll(real, WORKDIR / "recoll-conf", log))
    out["load_average_after_recoll"] = _load()
    log(f"  load average (1 min) after Recoll's runs: {out['load_average_after_recoll']}")
    for key in ("full", "nochange", "changed5"):
        kb_s, recoll_s = out.get(f"{key}_s"), out.get(f"recoll_{key}_s")
        out[f"ratio_{key}"] = round(kb_s / recoll_s, 2) if kb_s and recoll_s else None
    if out["recoll_full_s"] is not None:
        log(f"  kb / Recoll: full build {out['ratio_full']}x, no change {out['ratio_nochange']}x, "
            f"{CHANGED_FILES} changed {out['ratio_changed5']}x")  # fmt: skip
    return out


def measure_synthetic(quick: bool, log, serial: bool) -> dict:
    """kb's runs on the synthetic corpus of benchmarks/reindex.py, and SQLite FTS5 building
    the same passages right after kb's full build."""
    from benchmarks.reindex import generate

    docs = QUICK_SYNTHETIC_DOCS if quick else SYNTHETIC_DOCS
    corpus = WORKDIR / f"synthetic-{docs}"
    log(
        f"\nIndexing the synthetic corpus: {docs:,} documents x {SYNTHETIC_SECTIONS} sections in {corpus}"
    )
    generate(corpus, docs, SYNTHETIC_SECTIONS)
    index = WORKDIR / f"synthetic-{docs}-index"
    out = {"docs": docs, **measure_kb(corpus, index, serial=serial and not quick, log=log)}
    out.update(measure_fts5(corpus, index, log))
    out["ratio_fts5"] = round(out["full_s"] / out["fts5_full_s"], 1)
    log(f"  kb / SQLite FTS5: full build {out['ratio_fts5']}x")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="samples, under two minutes")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--no-extraction", action="store_true", help="only the indexing runs")
    parser.add_argument("--no-indexing", action="store_true", help="only the extraction timing")
    parser.add_argument("--no-synthetic", action="store_true",
                        help="index the real corpus only, not the synthetic one")  # fmt: skip
    parser.add_argument("--no-real", action="store_true",
                        help="index the synthetic corpus only, not the real one")  # fmt: skip
    parser.add_argument("--no-serial", action="store_true",
                        help="leave out the serial full builds (`--workers 1`)")  # fmt: skip
    parser.add_argument("--no-office", action="store_true",
                        help="skip the office collection, format by format next to Recoll")  # fmt: skip
    args = parser.parse_args(argv)
    if not REALCORPUS.is_dir():
        print(f"{REALCORPUS} not found; nothing to measure", file=sys.stderr)
        return 2

    def log(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    result: dict = {}
    if not args.no_extraction:
        started = time.perf_counter()
        stats, indexed_pdfs = time_extraction(corpus_files(REALCORPUS, args.quick), REALCORPUS)
        comparison = compare_with_pdftotext(indexed_pdfs, REALCORPUS)
        wall = time.perf_counter() - started
        if args.json:
            if not comparison.available:
                print("pdftotext not installed", file=sys.stderr)
        else:
            print_report(stats, comparison, args.quick, wall)
        result.update(as_json(stats, comparison, args.quick, wall))
    if not args.no_indexing:
        result.update(measure_indexing(args.quick, log, synthetic=not args.no_synthetic,
                                       real=not args.no_real, serial=not args.no_serial))  # fmt: skip
    if not args.no_office:
        from benchmarks.ingest_office import OFFICE, measure_office

        if OFFICE.is_dir():
            result["office"] = measure_office(log)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
