"""The registries are the single source: every Format, DocType and CiteFormat entry reaches
every place that lists formats, types or citation formats, with nothing to add elsewhere."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli import main
from indexer.add import check_metadata
from indexer.add_options import AddError
from indexer.build import run_index
from indexer.discover import discover
from indexer.extract import SUPPORTED_SUFFIXES, extract_file
from indexer.fetch import fetch
from kb.citeformats import CITE_FORMAT_IDS, CITE_FORMATS
from kb.doctypes import DOC_TYPES, TYPE_LABELS, TYPE_PLURALS, TYPES, normalise_type, type_entry
from kb.formats import (
    FORMATS,
    MACRO_MEDIA_TYPES,
    download_suffix,
    format_for_suffix,
    get_format,
)
from kb.library import DocInfo
from kb.models import DocumentMetadata
from kb.settings import Settings
from tests.conftest import ROOT, make_public, write
from tests.office_samples import sample_bytes
from tests.test_extract import text_pdf
from tests.test_web import page
from webui.originals import format_label, original_file

MEETING = "meetings/2024-04-24-forum-meeting"
OFFICE_SAMPLES = ("docx", "pptx", "xlsx", "odt", "odp", "ods", "eml")


def sample(format_id: str) -> bytes:
    """A small file of the format, titled "Title"; a new format needs a sample here."""
    if format_id in OFFICE_SAMPLES:
        return sample_bytes(format_id, "Title", "Body text.")
    return {
        "markdown": b"# Title\n\nBody text.",
        "html": b"<h1>Title</h1><p>Body text.</p>",
        "pdf": text_pdf([["Title", "Body text."]]),
        "text": b"Title\n\nBody text.",
    }[format_id]


# ---- formats ------------------------------------------------------------------------------------


def test_every_suffix_is_discovered_and_dispatched_to_its_format(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    written = {}
    for fmt in FORMATS:
        for suffix in fmt.suffixes:
            for name in (f"{fmt.id}-{suffix[1:]}{suffix}", f"UPPER-{suffix[1:]}{suffix.upper()}"):
                (corpus / name).write_bytes(sample(fmt.id))
                written[name] = fmt.id
    files, problems = discover(corpus)
    assert problems == []
    assert {f.rel for f in files} == set(written)
    for file in files:
        extraction = extract_file(file.path)
        assert extraction.format == written[file.rel], file.rel
        assert "Body text." in " ".join(b.text for b in extraction.blocks), file.rel


def test_suffixes_and_content_types_name_one_format() -> None:
    suffixes = [s for fmt in FORMATS for s in fmt.suffixes]
    assert len(suffixes) == len(set(suffixes)) and all(s == s.lower() for s in suffixes)
    assert {s: format_for_suffix(s).id for s in suffixes} == SUPPORTED_SUFFIXES
    content_types = [t for fmt in FORMATS for t in fmt.content_types]
    assert len(content_types) == len(set(content_types))
    for fmt in FORMATS:
        assert get_format(fmt.id) is fmt
        for content_type in fmt.content_types:
            assert download_suffix(b"<p>x</p>", content_type) == fmt.suffixes[0]
        if fmt.magic:  # a file says what it is, whatever the server says
            assert download_suffix(fmt.magic + b"1.7", "text/html") == fmt.suffixes[0]
    assert download_suffix(b"PK\x03\x04", "application/zip") is None


def test_kb_add_saves_a_download_by_its_formats_content_type(tmp_path: Path) -> None:
    import http.server
    import threading

    accepted: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            accepted.append(self.headers.get("Accept", ""))
            content_type = self.path.strip("/").replace("_", "/")
            self.send_response(200)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"Body text")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        for n, fmt in enumerate(FORMATS):
            for content_type in fmt.content_types:
                folder = tmp_path / f"{n}-{content_type.replace('/', '_')}"
                folder.mkdir()
                path = fetch(url + content_type.replace("/", "_"), folder, timeout=5, max_bytes=99)
                assert path.name == f"download{fmt.suffixes[0]}"
        with pytest.raises(AddError, match="kb cannot index application/zip") as refused:
            fetch(url + "application_zip", tmp_path, timeout=5, max_bytes=99)
        # The request asks for, and the refusal names, exactly the registry's formats.
        assert all(f.label in str(refused.value) for f in FORMATS)
        offered = {part.split(";")[0] for part in accepted[-1].split(",")}
        assert {t for f in FORMATS for t in f.content_types} <= offered
    finally:
        server.shutdown()
        server.server_close()


def test_extractors_load_lazily_and_kb_never_imports_indexer() -> None:
    for fmt in FORMATS:
        module, _, function = fmt.extractor.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), fmt.extractor
    code = (
        "import sys, kb.formats, kb.doctypes, kb.citeformats; assert 'indexer' not in sys.modules;"
        "import indexer.extract; print(sorted({'bs4', 'pypdf'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_originals_are_served_as_their_format_says(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    settings = Settings.resolve(corpus, tmp_path / "index")

    def info(name: str, format_id: str) -> DocInfo:
        (corpus / name).write_bytes(b"x")
        return DocInfo("x", name, format_id, DocumentMetadata(title="x"), "", None, 1)

    for fmt in FORMATS:
        for suffix in fmt.suffixes:
            for recorded in (fmt.id, "unknown"):  # an unknown format falls back to the suffix
                doc = info(f"a{suffix}", recorded)
                original = original_file(settings, doc)
                expected = MACRO_MEDIA_TYPES.get(suffix, fmt.media_type)
                assert (original.mimetype, original.as_attachment) == (
                    expected,
                    fmt.as_attachment,
                )
                assert format_label(doc) == fmt.label
    # A macro-enabled Office file is never served as the plain kind.
    assert original_file(settings, info("m.docm", "docx")).mimetype == (
        "application/vnd.ms-word.document.macroEnabled.12"
    )
    assert set(MACRO_MEDIA_TYPES) == {".docm", ".pptm", ".xlsm"}
    # Originals are untrusted: what a browser would run is never shown as a page.
    assert get_format("html").as_attachment
    doc = info("a.rtf", "rtf")
    original = original_file(settings, doc)
    assert (original.mimetype, original.as_attachment) == ("application/octet-stream", True)
    assert format_label(doc) == "RTF"


# ---- document types -----------------------------------------------------------------------------


def test_every_name_of_a_type_names_only_that_type() -> None:
    names: dict[str, str] = {}
    for entry in TYPES:
        for name in (entry.id, entry.folder, entry.label, *entry.aliases):
            assert normalise_type(name) == entry.id, name
            assert names.setdefault(name.lower(), entry.id) == entry.id, name
    assert tuple(t.id for t in TYPES) == DOC_TYPES
    assert type_entry("no-such-type").id == "other"


@pytest.fixture(scope="module")
def typed_index(tmp_path_factory) -> Settings:
    """Two documents of every type, each type told only by the folder it lies in."""
    base = tmp_path_factory.mktemp("typed")
    for entry in TYPES:
        for n in (1, 2):
            write(base / "corpus" / entry.folder / f"note-{n}.md", f"# Note {n}\n\nPlain words.\n")
    make_public(base / "corpus")  # labelled on anonymous web pages
    settings = Settings.resolve(base / "corpus", base / "index")
    assert run_index(settings, workers=1).summary["failed"] == 0
    return settings


def test_every_type_is_read_from_its_folder_and_labelled_on_the_web(typed_index) -> None:
    from webui import create_app

    client = create_app(typed_index, check_interval=0).test_client()
    data = client.get("/api/search?q=plain").get_json()
    assert {f["value"]: f["label"] for f in data["facets"]["type"]} == dict(TYPE_LABELS)
    assert {f["value"]: f["count"] for f in data["facets"]["type"]} == dict.fromkeys(DOC_TYPES, 2)
    home = page(client, "/")
    cards = home.find("a", class_="type-card")
    assert [a["href"] for a in cards] == [f"/search?type={t}" for t in DOC_TYPES]
    for plural in TYPE_PLURALS.values():
        assert f"2 {plural}" in home.text
    for entry in TYPES:
        assert f"Type: {entry.label}" in page(client, f"/search?q=plain&type={entry.id}").text


def test_every_type_is_offered_by_kb_add_and_kb_search(runner, tmp_path: Path) -> None:
    add_help = runner.invoke(main, ["add", "--help"], terminal_width=400).output
    search_help = runner.invoke(main, ["search", "--help"], terminal_width=400).output
    for entry in TYPES:
        assert re.search(rf"\b{entry.id}\b", add_help) and re.search(
            rf"\b{entry.id}\b", search_help
        )
        assert f"{entry.folder}/" in add_help
        for name in (entry.id, entry.label, entry.folder):
            assert check_metadata(tmp_path, doc_type=name).type == entry.id
    with pytest.raises(AddError) as error:
        check_metadata(tmp_path, doc_type="memo")
    assert str(error.value).endswith(f"use one of {', '.join(DOC_TYPES)}")


# ---- citation formats ---------------------------------------------------------------------------


def test_citation_formats_have_distinct_ids_and_extensions() -> None:
    assert len(set(CITE_FORMAT_IDS)) == len(CITE_FORMATS)
    assert len({f.extension for f in CITE_FORMATS}) == len(CITE_FORMATS)


def test_every_citation_format_is_offered_by_kb_cite(runner, bundled_index: Settings) -> None:
    where = ["--corpus", str(bundled_index.corpus), "--index", str(bundled_index.index)]
    help_text = runner.invoke(main, ["cite", "--help"], terminal_width=400).output
    assert f"[{'|'.join(CITE_FORMAT_IDS)}]" in help_text
    every = runner.invoke(main, [*where, "cite", MEETING, "--all"]).stdout
    assert re.findall(r"^== (.+) ==$", every, re.M) == list(CITE_FORMAT_IDS)
    for fmt in CITE_FORMATS:
        one = runner.invoke(main, [*where, "cite", MEETING, "--format", fmt.id])
        assert one.exit_code == 0 and one.stdout.strip() in every


def test_every_citation_format_is_offered_by_the_web(client) -> None:
    doc = page(client, f"/doc/{MEETING}")
    menu = [a for a in doc.find("a") if "download" in a and "format=" in a["href"]]
    offered = [re.search(r"format=([\w-]+)", a["href"])[1] for a in menu[: len(CITE_FORMATS)]]
    assert offered == list(CITE_FORMAT_IDS)
    cite_page = page(client, f"/cite/{MEETING}")
    assert len(cite_page.find("section", class_="cite-format")) == len(CITE_FORMATS)
    for fmt in CITE_FORMATS:
        assert f"Download {fmt.label}" in cite_page.text
    listed = client.get(f"/api/cite/{MEETING}").get_json()["formats"]
    assert [(f["format"], f["label"], f["media_type"]) for f in listed] == [
        (fmt.id, fmt.label, fmt.media_type) for fmt in CITE_FORMATS
    ]
    for fmt, item in zip(CITE_FORMATS, listed, strict=True):
        assert item["file_name"].endswith(f".{fmt.extension}")
        response = client.get(f"/api/cite/{MEETING}?format={fmt.id}&download=1")
        assert response.mimetype == fmt.media_type
        assert response.headers["Content-Disposition"].endswith(f".{fmt.extension}")
        assert response.get_data(as_text=True) == item["text"] + "\n"
