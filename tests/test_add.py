"""`kb add`: files and URLs (served by a local HTTP server) into the corpus and the index."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cli import main
from kb.library import Library
from kb.settings import Settings

from .conftest import BUNDLED_CORPUS, write

ROOT = Path(__file__).resolve().parents[1]
PDF = (BUNDLED_CORPUS / "guides/extend-lifespan-of-it-products.pdf").read_bytes()
PAGE = b"""<!doctype html><html lang="en"><head><title>Green IT buying guide</title></head>
<body><h1>Green IT buying guide</h1><h2>Warranty</h2>
<p>Ask for a five-year zebrafinch warranty on laptops and repair them before replacing.</p>
</body></html>"""

# path -> (status, content type, body, seconds to wait before answering)
ROUTES: dict[str, tuple[int, str, bytes, float]] = {
    "/guides/green-it-buying.html": (200, "text/html; charset=utf-8", PAGE, 0),
    "/": (200, "text/html", PAGE, 0),
    "/files/directive.pdf": (200, "application/pdf", PDF, 0),
    "/missing": (404, "text/html", b"<h1>Not found</h1>", 0),
    "/slow": (200, "text/html", PAGE, 3),
    "/big": (200, "application/pdf", b"%PDF-1.4\n" + b"0" * 3_000_000, 0),
    "/logo.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, 0),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, ctype, body, delay = ROUTES.get(self.path, (404, "text/plain", b"no", 0))
        time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if self.path != "/big":  # /big streams without a length: the limit is counted
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout, too large): that is the point

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def kb(runner, settings, *args):
    return runner.invoke(
        main, ["--corpus", str(settings.corpus), "--index", str(settings.index), *args]
    )


def files_under(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}  # fmt: skip


def show(runner, settings, doc_id) -> dict:
    result = kb(runner, settings, "show", doc_id, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


NOTE = """
    # Buying refurbished laptops

    Refurbished laptops with a kingfisher warranty last as long as new ones.
    """


def test_add_file_with_metadata(runner, small_index: Settings, tmp_path: Path):
    source = write(tmp_path / "in" / "refurbished-laptops.md", NOTE)
    result = kb(runner, small_index, "add", str(source), "--type", "guide", "--date",
                "2024-05-02", "--org", "Inter IKEA", "--topic", "product-lifespan",
                "--lang", "en")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "added  guides/refurbished-laptops  " in result.output
    assert "http://127.0.0.1:5000/doc/guides/refurbished-laptops" in result.output
    placed = small_index.corpus / "guides/refurbished-laptops.md"
    assert placed.read_bytes() == source.read_bytes()
    sidecar = tomllib.loads((placed.parent / (placed.name + ".meta.toml")).read_text())
    assert sidecar == {"type": "guide", "date": sidecar["date"], "language": "en",
                       "organisations": ["ikea"], "topics": ["product-lifespan"]}  # fmt: skip
    assert str(sidecar["date"]) == "2024-05-02"
    doc = show(runner, small_index, "guides/refurbished-laptops")
    assert (doc["type"], doc["date"]) == ("guide", "2024-05-02")
    assert doc["organisations"][0] in ("ikea", "IKEA")
    search = json.loads(kb(runner, small_index, "search", "kingfisher", "--json").output)
    assert [r["doc_id"] for r in search["results"]] == ["guides/refurbished-laptops"]


def test_add_without_type_uses_what_the_file_says_else_article(runner, small_index, tmp_path):
    meeting = write(tmp_path / "minutes.md", "---\ntype: meeting\n---\n# Minutes\n\nWe met.\n")
    plain = write(tmp_path / "refurbished.md", NOTE)
    result = kb(runner, small_index, "add", str(meeting), str(plain), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["path"] for s in data["sources"]] == [
        "meetings/minutes.md",
        "articles/refurbished.md",
    ]
    assert data["index"]["summary"]["added"] == 2
    assert not list(small_index.corpus.glob("**/*.meta.toml"))  # no flags, no sidecar


def test_add_refuses_to_overwrite_a_different_file_unless_replace(runner, small_index, tmp_path):
    source = write(tmp_path / "lifespan.md", NOTE)
    original = (small_index.corpus / "guides/lifespan.md").read_bytes()
    result = kb(runner, small_index, "add", str(source), "--type", "guide")
    assert result.exit_code == 2
    assert "a different file guides/lifespan.md is already in the corpus" in result.output
    assert "--replace" in result.output
    assert (small_index.corpus / "guides/lifespan.md").read_bytes() == original

    result = kb(runner, small_index, "add", str(source), "--type", "guide", "--replace")
    assert result.exit_code == 0, result.output
    assert "replaced  guides/lifespan" in result.output
    assert (small_index.corpus / "guides/lifespan.md").read_bytes() == source.read_bytes()
    assert show(runner, small_index, "guides/lifespan")["title"] == "Buying refurbished laptops"


def test_adding_the_same_file_again_changes_nothing_but_can_describe_it(runner, small_index):
    source = small_index.corpus / "guides/lifespan.md"
    copy = source.parent.parent.parent / "lifespan-copy.md"
    copy.write_bytes(source.read_bytes())
    result = kb(runner, small_index, "add", str(copy))
    assert result.exit_code == 0, result.output
    assert "unchanged  guides/lifespan" in result.output  # found by content, not copied again
    assert not (small_index.corpus / "articles/lifespan-copy.md").exists()

    result = kb(runner, small_index, "add", str(copy), "--title", "Make IT last")
    assert result.exit_code == 0, result.output
    assert "described  guides/lifespan" in result.output
    assert show(runner, small_index, "guides/lifespan")["title"] == "Make IT last"


def test_add_a_corpus_file_in_place(runner, small_settings: Settings):
    result = kb(runner, small_settings, "add", str(small_settings.corpus / "notes/readme.txt"),
                "--title", "Phone notes")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (small_settings.corpus / "notes/readme.txt.meta.toml").is_file()
    assert show(runner, small_settings, "notes/readme")["title"] == "Phone notes"
    assert not (small_settings.corpus / "articles/readme.txt").exists()


def test_add_refuses_a_name_that_would_change_another_documents_id(runner, small_index, tmp_path):
    source = write(tmp_path / "lifespan.txt", "Lifespan notes\n\nShort ones.\n")
    result = kb(runner, small_index, "add", str(source), "--type", "guide")
    assert result.exit_code == 2
    assert "guides/lifespan.md already has the document id guides/lifespan" in result.output
    result = kb(runner, small_index, "add", str(source), "--type", "guide", "--name", "notes")
    assert result.exit_code == 0, result.output
    assert (small_index.corpus / "guides/notes.txt").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--date", "someday"], "--date 'someday' is not a date"),
        (["--type", "poem"], "--type 'poem' is not a type"),
        (["--org", "acme"], "--org 'acme' is not in"),
        (["--topic", "cooking"], "--topic 'cooking' is not in"),
        (["--lang", "xx"], "--lang 'xx' is not a language"),
    ],
)
def test_add_explains_bad_options(runner, small_index, tmp_path, args, message):
    source = write(tmp_path / "note.md", NOTE)
    result = kb(runner, small_index, "add", str(source), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (small_index.corpus / "articles/note.md").exists()


def test_add_refuses_what_kb_cannot_index(runner, small_index, tmp_path):
    empty = tmp_path / "empty.md"
    empty.write_text("")
    result = kb(runner, small_index, "add", str(empty), str(tmp_path / "nowhere.md"),
                str(tmp_path))  # fmt: skip
    assert result.exit_code == 2
    assert "empty.md: kb cannot index it: empty file" in result.output
    assert "nowhere.md: no such file" in result.output
    assert "not a file" in result.output


def test_add_web_page_keeps_its_url(runner, small_index, server):
    url = f"{server}/guides/green-it-buying.html"
    result = kb(runner, small_index, "add", url, "--json")
    assert result.exit_code == 0, result.output
    source = json.loads(result.output)["sources"][0]
    # No --type: "guide" in the page's title sends it to guides/.
    assert source == source | {"status": "added", "path": "guides/green-it-buying.html",
                               "doc_id": "guides/green-it-buying", "source_url": url}  # fmt: skip
    sidecar = small_index.corpus / "guides/green-it-buying.html.meta.toml"
    assert tomllib.loads(sidecar.read_text())["source_url"] == url
    doc = show(runner, small_index, "guides/green-it-buying")
    assert (doc["title"], doc["source_url"]) == ("Green IT buying guide", url)

    # A URL without a useful file name is named after the page's title.
    result = kb(runner, small_index, "add", f"{server}/", "--type", "article")
    assert result.exit_code == 0, result.output
    assert (small_index.corpus / "articles/green-it-buying-guide.html").is_file()


def test_add_pdf_from_url(runner, small_index, server):
    result = kb(runner, small_index, "add", f"{server}/files/directive.pdf", "--type", "directive",
                "--title", "Lifespan directive")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (small_index.corpus / "directives/directive.pdf").read_bytes() == PDF
    doc = show(runner, small_index, "directives/directive")
    assert doc["title"] == "Lifespan directive" and doc["page_count"] >= 1


@pytest.mark.parametrize(
    "path, options, message",
    [
        ("/missing", [], "the server answered HTTP 404"),
        ("/slow", ["--timeout", "0.5"], "no answer within 0.5 seconds"),
        ("/big", ["--max-mb", "1"], "too large"),
        ("/logo.png", [], "kb cannot index image/png"),
    ],
)
def test_url_failures_are_explained_and_write_nothing(runner, small_index, server, path,
                                                      options, message):  # fmt: skip
    corpus_before = files_under(small_index.corpus)
    index_before = files_under(small_index.index)
    result = kb(runner, small_index, "add", f"{server}{path}", *options)
    assert result.exit_code == 2, result.output
    assert message in result.output  # how long it takes: benchmarks/bounds.py
    assert files_under(small_index.corpus) == corpus_before
    index_after = files_under(small_index.index)
    index_after.pop("LOCK", None), index_before.pop("LOCK", None)
    assert index_after == index_before


def test_one_failing_source_does_not_stop_the_others(runner, small_index, server):
    result = kb(runner, small_index, "add", f"{server}/missing",
                f"{server}/guides/green-it-buying.html")  # fmt: skip
    assert result.exit_code == 1
    assert "HTTP 404" in result.output
    assert "added  guides/green-it-buying" in result.output
    assert "guides/green-it-buying" in Library(small_index).snapshot().catalogue


def test_kb_add_as_a_process(small_index: Settings, server):
    result = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "--corpus",
         str(small_index.corpus), "--index", str(small_index.index), "add",
         f"{server}/guides/green-it-buying.html", "--type", "guide", "--org", "ikea"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "added  guides/green-it-buying  http://127.0.0.1:5000/doc/guides/green-it-buying" in (
        result.stdout
    )


def test_add_checks_reading_lists_as_index_does(runner, small_index, tmp_path):
    """`kb add` runs the same indexing as `kb index`: a reading list ref it resolves is no
    longer reported, one still broken stays reported by the add, by status and by index."""
    write(small_index.corpus / "reading-lists/new.toml", """
        title = "New"
        [[item]]
        ref = "guides/refurbished-laptops"
        note = "Added soon."
        [[item]]
        ref = "guides/nothing-here"
        note = "Gone."
        """)  # fmt: skip
    assert kb(runner, small_index, "index").exit_code == 0

    def refs(data: dict) -> list[tuple]:
        return [(p["file"], p["item"], p["ref"]) for p in data["reading_list_problems"]]

    still_broken = [("reading-lists/new.toml", 2, "guides/nothing-here")]
    source = write(tmp_path / "refurbished-laptops.md", NOTE)
    result = kb(runner, small_index, "add", str(source), "--type", "guide", "--json")
    assert result.exit_code == 0, result.output
    assert refs(json.loads(result.output)["index"]) == still_broken
    assert refs(json.loads(kb(runner, small_index, "status", "--json").output)) == still_broken
    assert refs(json.loads(kb(runner, small_index, "index", "--json").output)) == still_broken


@pytest.mark.parametrize(
    "text", ["a\x7fb", "tab\tand\nnewline", 'quote " and \\', "\x00\x1f", "Å ø 𐀀"]
)
def test_written_sidecars_are_valid_toml_whatever_the_text(text: str) -> None:
    from indexer.sidecars import sidecar_text

    assert tomllib.loads(sidecar_text({"title": text, "visibility": "members"}))["title"] == text
