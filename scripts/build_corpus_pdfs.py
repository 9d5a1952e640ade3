"""Build the bundled sample PDFs of the corpus from their text sources.

Usage (from the repository root):

    .venv/bin/python scripts/build_corpus_pdfs.py            # build all sources
    .venv/bin/python scripts/build_corpus_pdfs.py --check    # fail if a build would change a file

Each source in ``corpus/_sources/*.txt`` starts with a TOML header between ``+++`` lines and
continues with a small Markdown-like body:

    === Page heading        starts a new page; the heading is a level-0 PDF bookmark
    ## Section heading      a heading on the page; a level-1 PDF bookmark
    - item / 1. item        list items
    **bold**                bold text inside a paragraph
    (blank line)            ends a paragraph

Header keys used for the PDF: ``output`` (path under ``corpus/``), ``title``, ``subtitle``,
``author``, ``subject``, ``keywords``, ``creation_date``. The keys ``title``, ``type``,
``date``, ``language``, ``organisations``, ``topics``, ``sample`` and ``description`` are also
written to a sidecar ``<output>.meta.toml`` next to the PDF.

Every page of the source becomes exactly one PDF page; the build fails if a page's text does
not fit, so page numbers in citations stay stable. Only the core Helvetica font is used, so
the text must be Latin-1. Output is deterministic: the creation date comes from the header and
fpdf2 derives the PDF file identifier from the content.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SOURCES = CORPUS / "_sources"

SIDECAR_KEYS = (
    "title",
    "type",
    "date",
    "language",
    "organisations",
    "topics",
    "sample",
    "description",
)
FOOTER_NOTE = "ASF Leadership for Change - sample content for the kb knowledge base"

GREEN = (11, 61, 46)
GREY = (90, 90, 90)
BLACK = (29, 29, 27)


@dataclass
class Page:
    heading: str
    # Each item is (kind, text) with kind in {"h2", "p", "li"}; "li" text keeps its marker.
    items: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Source:
    path: Path
    meta: dict
    pages: list[Page]


class SourceError(Exception):
    pass


def parse_source(path: Path) -> Source:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"\+\+\+\n(.*?)\n\+\+\+\n", text, re.S)
    if not match:
        raise SourceError(f"{path}: missing '+++' TOML header")
    meta = tomllib.loads(match.group(1))
    for key in ("output", "title", "author", "creation_date", *SIDECAR_KEYS):
        if key not in meta:
            raise SourceError(f"{path}: header lacks '{key}'")

    pages: list[Page] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            if not pages:
                raise SourceError(f"{path}: text before the first '=== ' page heading")
            pages[-1].items.append(("p", " ".join(paragraph)))
            paragraph.clear()

    first_body_line = text[: match.end()].count("\n") + 1
    for lineno, raw in enumerate(text[match.end() :].splitlines(), start=first_body_line):
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("=== "):
            flush()
            pages.append(Page(heading=line[4:].strip()))
        elif line.startswith("## "):
            flush()
            if not pages:
                raise SourceError(f"{path}:{lineno}: heading before the first page heading")
            pages[-1].items.append(("h2", line[3:].strip()))
        elif re.match(r"(-|\d+\.) ", line):
            flush()
            if not pages:
                raise SourceError(f"{path}:{lineno}: list item before the first page heading")
            pages[-1].items.append(("li", line))
        else:
            paragraph.append(line)
    flush()
    if not pages:
        raise SourceError(f"{path}: no pages")

    # Core fonts only cover Latin-1: fail early with the offending character.
    for page in pages:
        for _, item in [("h1", page.heading), *page.items]:
            for ch in item:
                if ord(ch) > 0xFF:
                    raise SourceError(f"{path}: character {ch!r} (U+{ord(ch):04X}) is not Latin-1")
    return Source(path=path, meta=meta, pages=pages)


class GuidePDF(FPDF):
    def __init__(self, short_title: str) -> None:
        super().__init__(format="A4", unit="mm")
        self.short_title = short_title

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", size=8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{FOOTER_NOTE}  |  Page {self.page_no()} of {{nb}}", align="C")


def _as_datetime(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, 12, 0, 0, tzinfo=dt.UTC)
    raise SourceError(f"creation_date must be a TOML date, got {value!r}")


def render(source: Source) -> bytes:
    meta = source.meta
    pdf = GuidePDF(meta["title"])
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(meta["title"])
    pdf.set_author(meta["author"])
    pdf.set_subject(meta.get("subject", meta["description"]))
    pdf.set_keywords(meta.get("keywords", ""))
    pdf.set_creator("scripts/build_corpus_pdfs.py")
    pdf.set_producer("fpdf2")
    pdf.set_lang(meta.get("language", "en"))
    pdf.set_creation_date(_as_datetime(meta["creation_date"]))

    for number, page in enumerate(source.pages, start=1):
        pdf.add_page()
        if number == 1:
            pdf.set_font("Helvetica", size=9)
            pdf.set_text_color(*GREY)
            pdf.multi_cell(0, 5, meta.get("subtitle", ""), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font("Helvetica", "B", 18)
            pdf.set_text_color(*GREEN)
            pdf.multi_cell(0, 8, meta["title"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(3)
        pdf.start_section(page.heading, level=0)
        pdf.set_font("Helvetica", "B", 15)
        pdf.set_text_color(*GREEN)
        pdf.multi_cell(0, 7, page.heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
        for kind, text in page.items:
            if kind == "h2":
                pdf.ln(1.5)
                pdf.start_section(text, level=1)
                pdf.set_font("Helvetica", "B", 12)
                pdf.set_text_color(*GREEN)
                pdf.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.ln(0.5)
            elif kind == "p":
                pdf.set_font("Helvetica", size=10)
                pdf.set_text_color(*BLACK)
                pdf.multi_cell(0, 5, text, markdown=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.ln(1.5)
            else:  # list item: hanging indent after the marker
                marker, body = text.split(" ", 1)
                pdf.set_font("Helvetica", size=10)
                pdf.set_text_color(*BLACK)
                pdf.set_x(pdf.l_margin + 2)
                pdf.cell(6, 5, marker)
                pdf.multi_cell(0, 5, body, markdown=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.ln(0.8)
        if pdf.page_no() != number:
            raise SourceError(
                f"{source.path}: the text of page {number} ({page.heading!r}) does not fit on one page"
            )
    return bytes(pdf.output())


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    raise SourceError(f"cannot write {value!r} to TOML")


def sidecar(source: Source) -> str:
    lines = [
        f"# Metadata for {Path(source.meta['output']).name}.",
        f"# Generated by scripts/build_corpus_pdfs.py from corpus/_sources/{source.path.name}.",
    ]
    lines += [f"{key} = {_toml_value(source.meta[key])}" for key in SIDECAR_KEYS]
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # never write a sidecar the indexer cannot read
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that would change")
    args = parser.parse_args(argv)

    sources = sorted(SOURCES.glob("*.txt"))
    if not sources:
        print(f"no sources in {SOURCES}", file=sys.stderr)
        return 1
    stale = 0
    for path in sources:
        try:
            source = parse_source(path)
            outputs = {
                CORPUS / source.meta["output"]: render(source),
                CORPUS / (source.meta["output"] + ".meta.toml"): sidecar(source).encode("utf-8"),
            }
        except SourceError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        for target, data in outputs.items():
            rel = target.relative_to(ROOT)
            if target.exists() and target.read_bytes() == data:
                print(f"unchanged {rel}")
                continue
            if args.check:
                print(f"stale     {rel}")
                stale += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            print(
                f"wrote     {rel} ({len(source.pages)} pages)"
                if target.suffix == ".pdf"
                else f"wrote     {rel}"
            )
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
