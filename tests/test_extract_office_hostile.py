"""Hostile and broken Office files: each is refused with a reason that says why, nothing is
inflated past the limits, no entity is expanded and no external entity is read."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from indexer.extract import Skipped, extract_file
from indexer.extract.office_limits import MAX_PART_UNCOMPRESSED
from tests.office_samples import docx_bytes, odt_bytes, pptx_bytes, xlsx_bytes

GIB = 1024**3
_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")


def _rewrite(package: bytes, replace: dict[str, bytes], add: dict[str, bytes] = {}) -> bytes:  # noqa: B006
    """The package with some parts replaced and others added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = replace.get(info.filename, src.read(info))
            dst.writestr(info.filename, data, zipfile.ZIP_DEFLATED)
        for name, data in add.items():
            dst.writestr(name, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _zip_with_bomb(package: bytes, name: str, size: int) -> bytes:
    """The package plus a part `name` that really inflates to `size` zero bytes.

    Written by hand: its deflate stream repeats one independently compressed 16 MB block of
    zeros, so building a multi-gigabyte bomb takes a second, not a minute.
    """
    chunk = 16 * 1024 * 1024
    assert size % chunk == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = block * (size // chunk) + compressor.flush(zlib.Z_FINISH)
    crc, zeros = 0, bytes(chunk)
    for _ in range(size // chunk):
        crc = zlib.crc32(zeros, crc)
    entries: list[tuple[bytes, int, int, int, int, int]] = []  # name, crc, csize, usize, offset
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src:
        members = [(i.filename, src.read(i)) for i in src.infolist()]
    for member, data in [*((m, zlib.compress(d)[2:-4]) for m, d in members), (name, stream)]:
        raw = dict(members).get(member)
        usize = len(raw) if raw is not None else size
        mcrc = zlib.crc32(raw) if raw is not None else crc
        encoded = member.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, mcrc, len(data),
                              usize, len(encoded), 0) + encoded)  # fmt: skip
        out.write(data)
        entries.append((encoded, 0, mcrc, len(data), usize, offset))
    directory = out.tell()
    for encoded, _, mcrc, csize, usize, offset in entries:
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, mcrc,
                              csize, usize, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)  # fmt: skip
    end = out.tell()
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                          end - directory, directory, 0))  # fmt: skip
    return out.getvalue()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refused(path: Path) -> str:
    started = time.process_time()
    with pytest.raises(Skipped) as refused:
        extract_file(path)
    assert time.process_time() - started < 5, "refusing must not inflate anything"
    return refused.value.reason


# ---- zip bombs ----------------------------------------------------------------------------------


def test_a_docx_whose_part_inflates_to_gigabytes_is_refused_before_inflating(tmp_path):
    package = docx_bytes("Bomb", [("Section", "Body text.")])
    bomb = _zip_with_bomb(package, "word/media/image1.png", 2 * GIB)
    assert len(bomb) < 4 * 1024 * 1024  # a small file on disk
    with zipfile.ZipFile(io.BytesIO(bomb)) as zf:  # a genuine zip, really that big inside
        assert zf.getinfo("word/media/image1.png").file_size == 2 * GIB
        with zf.open("word/media/image1.png") as part:
            assert part.read(1024 * 1024) == bytes(1024 * 1024)
    reason = _refused(_write(tmp_path, "bomb.docx", bomb))
    assert reason.startswith("refused Word file: part word/media/image1.png inflates to")
    assert "zip bomb" in reason


def test_many_parts_that_together_inflate_past_the_limit_are_refused(tmp_path):
    package = xlsx_bytes({"Sheet": [["Body text."]]})
    size = MAX_PART_UNCOMPRESSED // 2 // (16 * 1024 * 1024) * 16 * 1024 * 1024
    for n in range(4):
        package = _zip_with_bomb(package, f"xl/media/zeros{n}.bin", size)
    reason = _refused(_write(tmp_path, "bomb.xlsx", package))
    assert reason.startswith("refused Excel file: parts inflate to") and "zip bomb" in reason


def test_a_part_that_inflates_past_its_declared_size_is_refused_as_corrupt(tmp_path):
    """zipfile stops at the declared size, so a lying header cannot inflate more than it says:
    the part then fails its CRC check."""
    document = docx_bytes("Liar", [("Section", "Body text. " * 5000)])
    with zipfile.ZipFile(io.BytesIO(document)) as zf:
        info = zf.getinfo("word/document.xml")
        declared, offset = info.file_size, info.header_offset
    data = bytearray(document)
    small = struct.pack("<I", 4096)
    data[offset + 22 : offset + 26] = small  # the local header's uncompressed size
    directory = data.rfind(struct.pack("<I", offset), 0, len(data) - 22) - 42
    assert data[directory : directory + 4] == b"PK\x01\x02"
    data[directory + 24 : directory + 28] = small  # the central directory's
    assert declared > 4096
    reason = _refused(_write(tmp_path, "liar.docx", bytes(data)))
    assert reason.startswith("corrupt Word file:") and "CRC" in reason


# ---- XML entities -------------------------------------------------------------------------------

_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""
_W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _xxe(secret: Path) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE w:document [ <!ENTITY secret SYSTEM "file://'
        + str(secret).encode()
        + b'"> ]>\n'
    )


def _docx_part(prolog: bytes, entity: bytes) -> bytes:
    return (
        prolog
        + b"<w:document "
        + _W
        + b"><w:body><w:p><w:r><w:t>"
        + entity
        + b"</w:t></w:r></w:p></w:body></w:document>"
    )


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-VALUE")
    return path


@pytest.mark.parametrize(
    ("name", "part", "build"),
    [
        ("a.docx", "word/document.xml", lambda: docx_bytes("T", [("S", "Body text.")])),
        ("a.docx", "docProps/core.xml", lambda: docx_bytes("T", [("S", "Body text.")])),
        ("a.pptx", "ppt/slides/slide1.xml", lambda: pptx_bytes([("T", "Body text.", "")])),
        ("a.xlsx", "xl/workbook.xml", lambda: xlsx_bytes({"S": [["Body text."]]})),
        ("a.odt", "content.xml", lambda: odt_bytes("T", [("S", "Body text.")])),
    ],
)
@pytest.mark.parametrize("attack", ["billion laughs", "external entity"])
def test_an_office_xml_part_declaring_entities_is_refused(
    tmp_path, secret, name, part, build, attack
):
    prolog = _LAUGHS if attack == "billion laughs" else _xxe(secret)
    entity = b"&lol9;" if attack == "billion laughs" else b"&secret;"
    package = build()
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        original = zf.read(part)
    # The attack goes into the part as it is: its root element keeps its name and namespaces.
    body = original.split(b"?>", 1)[1] if original.startswith(b"<?xml") else original
    hostile = (
        prolog + body.replace(b">", b">" + entity, 1)
        if part != "word/document.xml"
        else (_docx_part(prolog, entity))
    )
    reason = _refused(_write(tmp_path, name, _rewrite(package, {part: hostile})))
    assert f"XML part {part} declares a DTD" in reason
    assert "TOP-SECRET" not in reason


def test_the_libraries_parsers_never_expand_or_fetch_entities(secret):
    """Behind the package check, every parser kb hands Office XML to is safe on its own."""
    from defusedxml.common import DefusedXmlException
    from docx.oxml.parser import parse_xml as docx_parse
    from lxml import etree
    from openpyxl.xml.functions import fromstring as openpyxl_fromstring
    from openpyxl.xml.functions import iterparse as openpyxl_iterparse
    from pptx.oxml import parse_xml as pptx_parse

    from indexer.extract.ooxml import element_text, parse_part

    hostiles = (_docx_part(_LAUGHS, b"&lol9;"), _docx_part(_xxe(secret), b"&secret;"))
    for parse in (parse_part, docx_parse, pptx_parse, openpyxl_fromstring):
        for hostile in hostiles:
            try:
                text = element_text(parse(hostile))
            except etree.XMLSyntaxError:  # libxml2 refuses the amplification outright
                continue
            assert len(text) < 100 and "TOP-SECRET" not in text
    for hostile in hostiles:  # openpyxl streams worksheets through defusedxml
        with pytest.raises(DefusedXmlException):
            list(openpyxl_iterparse(io.BytesIO(hostile)))
    # odfpy reads content.xml with defusedxml's SAX parser.
    from odf.opendocument import load

    package = odt_bytes("T", [("S", "Body text.")])
    for hostile in hostiles:
        with pytest.raises(DefusedXmlException):
            load(io.BytesIO(_rewrite(package, {"content.xml": hostile})))


# ---- not what the name says ---------------------------------------------------------------------


def _ole(*streams: str) -> bytes:
    """The head of an OLE2 compound file whose directory names `streams`."""
    directory = b"".join(s.encode("utf-16-le").ljust(64, b"\0") for s in streams)
    return _OLE_MAGIC + bytes(504) + directory + bytes(1024)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("old.docx", _ole("Root Entry", "WordDocument", "1Table"),
         "not a Word file: not a zip (detected: a legacy Word .doc)"),
        ("old.xlsx", _ole("Root Entry", "Workbook"),
         "not an Excel file: not a zip (detected: a legacy Excel .xls)"),
        ("old.pptx", _ole("Root Entry", "PowerPoint Document"),
         "not a PowerPoint file: not a zip (detected: a legacy PowerPoint .ppt)"),
        ("locked.docx", _ole("Root Entry", "EncryptionInfo", "EncryptedPackage"),
         "password-protected: encrypted Word file"),
        ("locked.pptx", _ole("Root Entry", "EncryptionInfo", "EncryptedPackage"),
         "password-protected: encrypted PowerPoint file"),
        ("empty.docx", b"", "empty file"),
        ("~$owner.docx", b"\x0fMats Andersson" + bytes(147), "not a Word file: not a zip "
         "(detected: an Office lock file (~$ owner file))"),
        ("notes.odt", b"This is not a zip file.\n", "not an OpenDocument text file: not a zip "
         "(detected: plain text)"),
        ("report.pptx", b"%PDF-1.7\n", "not a PowerPoint file: not a zip (detected: a PDF)"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_its_format_says_what_it_is(tmp_path, name, data, reason):
    assert _refused(_write(tmp_path, name, data)) == reason


def test_an_encrypted_opendocument_file_is_password_protected(tmp_path):
    package = odt_bytes("Secret", [("S", "Body text.")])
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        manifest = zf.read("META-INF/manifest.xml")
    entry = b'manifest:full-path="content.xml" manifest:media-type="text/xml"'
    encrypted = manifest.replace(
        entry + b"/>",
        entry + b'><manifest:encryption-data manifest:checksum-type="SHA1/1K" '
        b'manifest:checksum="x"/></manifest:file-entry>',
    )
    assert encrypted != manifest
    path = _write(tmp_path, "secret.odt", _rewrite(package, {"META-INF/manifest.xml": encrypted}))
    assert _refused(path) == "password-protected: encrypted OpenDocument text file"


@pytest.mark.parametrize("name", ["cut.docx", "cut.pptx", "cut.xlsx", "cut.odt"])
def test_a_truncated_zip_is_corrupt(tmp_path, name):
    build = {
        ".docx": lambda: docx_bytes("T", [("S", "Body text.")]),
        ".pptx": lambda: pptx_bytes([("T", "Body text.", "")]),
        ".xlsx": lambda: xlsx_bytes({"S": [["Body text."]]}),
        ".odt": lambda: odt_bytes("T", [("S", "Body text.")]),
    }[Path(name).suffix]
    data = build()
    reason = _refused(_write(tmp_path, name, data[: len(data) // 2]))
    assert reason.startswith("corrupt ") and "file:" in reason


# ---- macros -------------------------------------------------------------------------------------

_VBA = b'Attribute VB_Name = "ThisDocument"\nSub AutoOpen()\n Shell "touch PWNED"\nEnd Sub\n'


@pytest.mark.parametrize(
    ("name", "build", "vba_part"),
    [
        ("macros.docm", lambda: docx_bytes("Macro memo", [("Plan", "Body text.")]),
         "word/vbaProject.bin"),
        ("macros.pptm", lambda: pptx_bytes([("Macro deck", "Body text.", "")]),
         "ppt/vbaProject.bin"),
        ("macros.xlsm", lambda: xlsx_bytes({"Plan": [["Body text."]]}), "xl/vbaProject.bin"),
    ],
)  # fmt: skip
def test_a_macro_enabled_file_is_indexed_as_text_and_its_macros_never_run(
    tmp_path, monkeypatch, name, build, vba_part
):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, name, _rewrite(build(), {}, {vba_part: _OLE_MAGIC + _VBA}))
    extraction = extract_file(path)
    text = " ".join(b.text for b in extraction.blocks)
    assert "Body text." in text
    assert "AutoOpen" not in text and "Shell" not in text
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"just a line of text without any header\n", "not an e-mail message: no headers"),
        (bytes(range(256)) * 8, "not an e-mail message: binary content"),
        (b"Subject: Nothing to say\n\n", "no text content"),
    ],
)
def test_an_e_mail_that_is_not_one_is_skipped_with_its_reason(tmp_path, data, reason):
    assert _refused(_write(tmp_path, "mail.eml", data)) == reason


def test_an_attachment_goes_through_the_same_checks_as_a_file(tmp_path):
    """A zip bomb attached to a message is refused like one in the corpus; the message stays."""
    from tests.office_samples import eml_bytes

    bomb = _zip_with_bomb(docx_bytes("Bomb", [("S", "Body text.")]), "word/media/x.bin", GIB)
    data = eml_bytes(
        "Report", "See the attachment.", attachments=(("r.docx", "application/octet-stream", bomb),)
    )
    extraction = extract_file(_write(tmp_path, "mail.eml", data))
    assert extraction.blocks[0].text == "See the attachment."
    assert any(
        w.startswith("attachment r.docx not indexed: refused Word file")
        for w in extraction.warnings
    )


def test_a_message_s_attachments_share_one_time_limit():
    """Twenty attachments do not get twenty time limits: once the message's is spent, the
    rest are listed but not read."""
    from indexer.extract.eml import extract_eml
    from tests.office_samples import eml_bytes

    note = docx_bytes("Note", [("S", "Body text.")])
    data = eml_bytes(
        "Many", "See the attachments.", attachments=(("a.docx", "application/octet-stream", note),)
    )
    assert [name for name, _ in extract_eml(data).attachments] == ["a.docx"]
    spent = extract_eml(data, time_limit=0.0)
    assert spent.attachments == []
    assert spent.warnings == ["attachment a.docx not indexed: time limit of the message spent"]


def test_an_xml_part_with_another_name_is_checked_too(tmp_path, secret):
    """A package may give its main part any name in [Content_Types].xml; a DTD in it is
    refused all the same."""
    package = docx_bytes("T", [("S", "Body text.")])
    hostile = _docx_part(_xxe(secret), b"&secret;")
    reason = _refused(
        _write(tmp_path, "a.docx", _rewrite(package, {}, {"word/extra.bin": hostile}))
    )
    assert "XML part word/extra.bin declares a DTD" in reason
    utf16 = hostile.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    data = _rewrite(package, {}, {"word/extra.dat": utf16.encode("utf-16")})
    assert "XML part word/extra.dat declares a DTD" in _refused(_write(tmp_path, "b.docx", data))
