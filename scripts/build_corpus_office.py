"""Build the bundled sample Word document and slide deck of the corpus from text sources.

Usage (from the repository root):

    .venv/bin/python scripts/build_corpus_office.py            # build all sources
    .venv/bin/python scripts/build_corpus_office.py --check    # fail if a build would change a file

Each source in ``corpus/_sources/office/*.txt`` starts with a TOML header between ``+++``
lines. The header's ``output`` (path under ``corpus/``) says what is built: a ``.docx`` or a
``.pptx``. ``title``, ``author``, ``created`` and ``language`` become the file's core
properties, which kb reads as the document's embedded metadata; ``type``, ``organisations``,
``topics``, ``sample`` and ``description``, which Office files cannot carry, go to a sidecar
``<output>.meta.toml``.

A Word source's body: ``#``, ``##``, ``###`` headings (Title, Heading 1, Heading 2), ``- ``
bullets, paragraphs separated by blank lines. A deck source's body: ``=== Title`` starts a
slide, ``- `` or ``1. `` lines are bullets, other lines paragraphs, and a ``Notes:`` line is the
slide's speaker notes.

The output is deterministic: every zip member gets the source's date as its timestamp, and
the core properties are set from the header, so a rebuild of an unchanged source changes no
byte.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SOURCES = CORPUS / "_sources" / "office"
SIDECAR_KEYS = ("type", "organisations", "topics", "sample", "description")


def parse_source(path: Path) -> tuple[dict[str, Any], str]:
    """The TOML header and the body of a source file."""
    text = path.read_text(encoding="utf-8")
    match = re.match(r"\+\+\+\n(.*?)\n\+\+\+\n", text, re.S)
    if not match:
        raise SystemExit(f"{path}: no +++ header")
    return tomllib.loads(match.group(1)), text[match.end() :]


def _set_core_properties(properties: Any, header: dict[str, Any]) -> None:
    created = dt.datetime.combine(header["created"], dt.time(9, 0))
    properties.title = header["title"]
    properties.author = header["author"]
    properties.last_modified_by = header["author"]
    properties.language = header["language"]
    properties.created = created
    properties.modified = created
    properties.revision = 1
    properties.comments = header.get("description", "")


def build_docx(header: dict[str, Any], body: str) -> bytes:
    """A Word document: Title and Heading styles, bulleted lists, paragraphs."""
    import docx

    document = docx.Document()
    for block in re.split(r"\n\s*\n", body.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines and all(line.startswith("- ") for line in lines):
            for line in lines:
                document.add_paragraph(line[2:], style="List Bullet")
            continue
        text = " ".join(lines)
        heading = re.match(r"(#{1,3}) (.*)", text)
        if heading:
            level = len(heading.group(1))
            document.add_paragraph(heading.group(2), style="Title" if level == 1 else None)
            if level > 1:
                document.paragraphs[-1].style = document.styles[f"Heading {level - 1}"]
        else:
            document.add_paragraph(text)
    _set_core_properties(document.core_properties, header)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def build_pptx(header: dict[str, Any], body: str) -> bytes:
    """A deck with a Title and Content slide per `=== Title` section, with speaker notes."""
    from pptx import Presentation

    deck = Presentation()
    for section in re.split(r"^=== ", body.strip(), flags=re.M):
        if not section.strip():
            continue
        title, _, rest = section.partition("\n")
        lines = [line.strip() for line in rest.splitlines() if line.strip()]
        notes = [line[len("Notes:") :].strip() for line in lines if line.startswith("Notes:")]
        content = [line for line in lines if not line.startswith("Notes:")]
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title.strip()
        frame = slide.placeholders[1].text_frame
        for n, line in enumerate(content):
            paragraph = frame.paragraphs[0] if n == 0 else frame.add_paragraph()
            paragraph.text = re.sub(r"^(?:- |\d+\. )", "", line)
        if notes:
            slide.notes_slide.notes_text_frame.text = " ".join(notes)
    _set_core_properties(deck.core_properties, header)
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def normalise_zip(data: bytes, when: dt.date) -> bytes:
    """The same package with every member stamped `when`, in the same order."""
    stamp = (when.year, when.month, when.day, 9, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            dst.writestr(member, src.read(info))
    return out.getvalue()


def sidecar(header: dict[str, Any], source: Path, output: str) -> str:
    lines = [
        f"# Metadata for {Path(output).name}: what its document properties cannot say.",
        f"# Generated by scripts/build_corpus_office.py from {source.relative_to(ROOT)}.",
    ]
    for key in SIDECAR_KEYS:
        if key in header:
            value = header[key]
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, list):
                lines.append(f"{key} = [{', '.join(repr_str(v) for v in value)}]")
            else:
                lines.append(f"{key} = {repr_str(value)}")
    return "\n".join(lines) + "\n"


def repr_str(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def build(source: Path) -> dict[Path, bytes]:
    """The files one source builds: the document and its sidecar."""
    header, body = parse_source(source)
    output = header["output"]
    if output.endswith(".docx"):
        data = build_docx(header, body)
    elif output.endswith(".pptx"):
        data = build_pptx(header, body)
    else:
        raise SystemExit(f"{source}: output must be a .docx or .pptx, not {output}")
    target = CORPUS / output
    return {
        target: normalise_zip(data, header["created"]),
        target.with_name(target.name + ".meta.toml"): sidecar(header, source, output).encode(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a build would change")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SOURCES.glob("*.txt")):
        for path, data in build(source).items():
            if path.is_file() and path.read_bytes() == data:
                continue
            if args.check:
                stale.append(path)
            else:
                path.write_bytes(data)
                print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
