"""Extraction scaling: time and peak memory to extract and split one large text file.

    .venv/bin/python benchmarks/extract_scaling.py           # 1, 5, 10, 25 and 50 MB
    .venv/bin/python benchmarks/extract_scaling.py --quick   # 1, 5 and 10 MB
    .venv/bin/python benchmarks/extract_scaling.py --json    # one JSON object on stdout

Each size is a `.txt` file made of the real corpus's Markdown and Nordic texts
(../shared/realcorpus, or `KB_REALCORPUS`), repeated until it is large enough, in two shapes:
`paragraphs` keeps the texts as they are (blank lines between paragraphs); `one-line` joins
all of it into a single line without sentence ends (`.!?…:;`), the worst case for passage
splitting (one paragraph, one sentence, cut only at spaces). Every measurement runs in a
fresh process, so that its peak resident memory is its own: `extract_file` then
`split_passages`, as the indexer does for one file (without the metadata step). Time is the
process's CPU time; linear growth shows as a steady time per MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing

REALCORPUS = Path(os.environ.get("KB_REALCORPUS") or ROOT.parent / "shared" / "realcorpus")
SOURCE_FOLDERS = ("md", "nordic")
SIZES_MB, QUICK_SIZES_MB = (1, 5, 10, 25, 50), (1, 5, 10)
SHAPES = ("paragraphs", "one-line")
MEGABYTE = 1024 * 1024
WORKDIR = Path(tempfile.gettempdir()) / "kb-bench-extract-scaling"
_NO_SENTENCE_ENDS = str.maketrans(dict.fromkeys(".!?…:;", " "))  # indexer.passages' ends


def source_text() -> str:
    """The real corpus's Markdown and Nordic texts, one after the other ("" when absent)."""
    texts = []
    for folder in SOURCE_FOLDERS:
        for path in sorted((REALCORPUS / folder).rglob("*")):
            if path.suffix.lower() in (".md", ".txt") and path.is_file():
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n\n".join(texts)


def make_file(size_mb: int, shape: str) -> Path:
    """A `.txt` file of `size_mb` MB of the source text in `shape` (made once, then reused)."""
    path = WORKDIR / f"{shape}-{size_mb}mb.txt"
    if path.is_file():
        return path
    base = source_text()
    if shape == "one-line":
        base = " ".join(base.translate(_NO_SENTENCE_ENDS).split())
    data = base.encode("utf-8")
    target = size_mb * MEGABYTE
    repeated = (data + b"\n\n" if shape == "paragraphs" else data + b" ") * (
        target // len(data) + 1
    )
    cut = repeated[:target].rfind(b" ")  # whole words, whole UTF-8 characters
    WORKDIR.mkdir(parents=True, exist_ok=True)
    path.write_bytes(repeated[:cut])
    return path


def measure_one(path: Path) -> dict:
    """Extract and split `path` in this process: CPU seconds, peak RSS, passages."""
    from indexer.extract import extract_file
    from indexer.passages import split_passages

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    extraction = extract_file(path, max_bytes=path.stat().st_size)
    extracted = time.process_time()
    passages = split_passages("bench", extraction.blocks, title=extraction.title)
    done = time.process_time()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "extract_s": round(extracted - started, 3),
        "split_s": round(done - extracted, 3),
        "total_s": round(done - started, 3),
        "peak_rss_mb": round(rss_after / 1024, 1),
        "rss_before_mb": round(rss_before / 1024, 1),
        "passages": len(passages),
    }


def _child(*args: str) -> str:
    """Run this script with `args` in a fresh process: a process's peak memory only grows, so
    making a file or measuring another size here would show in the next measurement."""
    return subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout


def run(sizes: tuple[int, ...]) -> dict:
    results = []
    for shape in SHAPES:
        for size in sizes:
            path = _child("--make", str(size), shape).strip()
            row = {"shape": shape, "size_mb": size, **json.loads(_child("--one", path))}
            row["s_per_mb"] = round(row["total_s"] / size, 3)
            results.append(row)
    return {"corpus": str(REALCORPUS), "results": results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1, 5 and 10 MB only")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--sizes", help="comma-separated sizes in MB, e.g. 1,2,4")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # a child's measurement
    parser.add_argument("--make", nargs=2, help=argparse.SUPPRESS)  # a child makes a file
    args = parser.parse_args()
    if args.make:
        print(make_file(int(args.make[0]), args.make[1]))
        return 0
    if args.one:
        print(json.dumps(measure_one(args.one)))
        return 0
    if not any((REALCORPUS / folder).is_dir() for folder in SOURCE_FOLDERS):
        print(f"skipped: the real corpus is not at {REALCORPUS} (set KB_REALCORPUS)",
              file=sys.stderr)  # fmt: skip
        return 0
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else (
        QUICK_SIZES_MB if args.quick else SIZES_MB
    )  # fmt: skip
    data = run(sizes)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"Extraction + splitting of one .txt file, text from {data['corpus']} (repeated)")
    print(f"{'shape':<11} {'MB':>4} {'extract s':>10} {'split s':>8} {'total s':>8} "
          f"{'s per MB':>9} {'peak RSS MB':>12} {'passages':>9}")  # fmt: skip
    for r in data["results"]:
        print(f"{r['shape']:<11} {r['size_mb']:>4} {r['extract_s']:>10.2f} {r['split_s']:>8.2f} "
              f"{r['total_s']:>8.2f} {r['s_per_mb']:>9.3f} {r['peak_rss_mb']:>12.1f} "
              f"{r['passages']:>9,}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
