"""An e-mail's attachments are documents of their own, linked to their message: indexed,
exactly as visible as the message, and gone with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import run_index
from kb.access import Principal
from kb.documents import load_document
from kb.errors import NotFound
from kb.library import Library
from kb.settings import Settings
from kb.view import view_of
from tests.conftest import write
from tests.office_samples import docx_bytes, eml_bytes

MAIL = "notes/forum-mail"
MINUTES = f"{MAIL}/.attachments/minutes-docx"
CONFIG = """
[visibility]
default = "members"

[visibility.folders]
"public" = "public"
"""


def _mail(*attachments: tuple[str, str, bytes]) -> bytes:
    return eml_bytes("Minutes of the April forum", "The minutes are attached.",
                     attachments=attachments)  # fmt: skip


MINUTES_DOCX = (
    "minutes.docx",
    "application/octet-stream",
    docx_bytes("Minutes", [("Decisions", "Handelsbanken joined the network.")]),
)
# An attachment that declares itself public must not be more visible than its message.
PUBLIC_NOTE = (
    "note.md",
    "text/markdown",
    b"---\ntitle: A public note\nvisibility: public\n---\n\nShared with everyone, it says.\n",
)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    write(corpus / "kb.toml", CONFIG)
    (corpus / "notes").mkdir()
    (corpus / "notes/forum-mail.eml").write_bytes(_mail(MINUTES_DOCX, PUBLIC_NOTE))
    write(corpus / "public/welcome.md", "# Welcome\n\nA public page about the network.\n")
    return corpus


def _index(corpus: Path, tmp_path: Path) -> Settings:
    settings = Settings.resolve(corpus, tmp_path / "index")
    report = run_index(settings, workers=1)
    assert report.summary["failed"] == 0, report.to_dict()
    return settings


def test_an_attachment_is_a_document_that_names_its_message(corpus, tmp_path):
    settings = _index(corpus, tmp_path)
    view = view_of(Library(settings).snapshot(), Principal.shell())
    message = view.catalogue[MAIL]
    assert message.meta.attachments == (MINUTES, f"{MAIL}/.attachments/note-md")
    minutes = view.catalogue[MINUTES]
    assert minutes.meta.part_of == MAIL and minutes.format == "docx"
    assert minutes.title == "Minutes" and minutes.path == "notes/forum-mail.eml/minutes.docx"
    text = " ".join(p.text for p in load_document(view, MINUTES).passages)
    assert "Handelsbanken joined the network." in text
    message_text = " ".join(p.text for p in load_document(view, MAIL).passages)
    assert "Handelsbanken" not in message_text and "minutes.docx" in message_text


def test_an_attachment_is_exactly_as_visible_as_its_message(corpus, tmp_path):
    settings = _index(corpus, tmp_path)
    snapshot = Library(settings).snapshot()
    shell = view_of(snapshot, Principal.shell())
    assert {shell.catalogue[i].meta.visibility for i in shell.catalogue[MAIL].meta.attachments} == {
        "members"
    }
    anonymous = view_of(snapshot, Principal.anonymous())
    for doc_id in (MAIL, MINUTES, f"{MAIL}/.attachments/note-md"):
        assert doc_id not in anonymous.catalogue
        with pytest.raises(NotFound):
            load_document(anonymous, doc_id)
    assert "public/welcome" in anonymous.catalogue
    member = view_of(snapshot, Principal.member("anna@example.org", "ikea"))
    assert {MAIL, MINUTES} <= set(member.catalogue)


def test_attachments_leave_the_index_with_their_message(corpus, tmp_path):
    settings = _index(corpus, tmp_path)
    mail = corpus / "notes/forum-mail.eml"
    mail.write_bytes(_mail(MINUTES_DOCX))  # the note is no longer attached
    report = run_index(settings, workers=1)
    assert report.summary["failed"] == 0
    catalogue = Library(settings).snapshot().catalogue
    assert MINUTES in catalogue and f"{MAIL}/.attachments/note-md" not in catalogue
    assert catalogue[MAIL].meta.attachments == (MINUTES,)
    mail.unlink()
    run_index(settings, workers=1)
    catalogue = Library(settings).snapshot().catalogue
    assert not any(doc_id.startswith(MAIL) for doc_id in catalogue)
    assert "public/welcome" in catalogue


def test_a_rebuilt_index_keeps_attachments_that_did_not_change(corpus, tmp_path):
    settings = _index(corpus, tmp_path)
    report = run_index(settings, workers=1)  # nothing changed
    assert report.summary["unchanged"] == 2
    assert MINUTES in Library(settings).snapshot().catalogue


def test_the_document_pages_link_message_and_attachments(corpus, tmp_path):
    from webui import create_app

    (corpus / "public/forum-mail.eml").write_bytes(_mail(MINUTES_DOCX))
    settings = _index(corpus, tmp_path)
    app = create_app(settings, check_interval=0)
    app.config["TESTING"] = True
    client = app.test_client()
    message = client.get("/doc/public/forum-mail").get_data(as_text=True)
    assert 'href="/doc/public/forum-mail/.attachments/minutes-docx">Minutes</a>' in message
    attachment = client.get("/doc/public/forum-mail/.attachments/minutes-docx")
    assert attachment.status_code == 200
    assert 'href="/doc/public/forum-mail">Minutes of the April forum</a>' in attachment.get_data(
        as_text=True
    )
    api = client.get("/api/doc/public/forum-mail").get_json()
    assert (
        api["attachments"]
        == [{"doc_id": "public/forum-mail/.attachments/minutes-docx", "title": "Minutes"}]
        and api["part_of"] is None
    )
    api = client.get("/api/doc/public/forum-mail/.attachments/minutes-docx").get_json()
    assert api["part_of"] == {"doc_id": "public/forum-mail", "title": "Minutes of the April forum"}
    # A members-only message and its attachments answer an anonymous reader like nothing.
    assert client.get(f"/doc/{MAIL}").status_code == 404
    assert client.get(f"/doc/{MINUTES}").status_code == 404
    assert client.get("/doc/notes/forum-mail/.attachments/nothing").status_code == 404


def test_the_index_report_names_a_messages_attachments(corpus, tmp_path):
    settings = Settings.resolve(corpus, tmp_path / "index")
    report = run_index(settings, workers=1)
    files = {f["path"]: f for f in report.to_dict()["files"]}
    assert files["notes/forum-mail.eml"]["attachments"] == [
        MINUTES,
        f"{MAIL}/.attachments/note-md",
    ]
    assert files["public/welcome.md"]["attachments"] == []
