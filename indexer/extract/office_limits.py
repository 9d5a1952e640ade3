"""Checks every Office and OpenDocument file passes before a library parses it.

The formats are zip packages of XML parts, and the libraries that read them (python-docx,
python-pptx, openpyxl, odfpy) trust both the zip and the XML. A hostile or broken file is
refused here with a reason a coordinator can act on:

- not a zip at all: a legacy binary `.doc/.xls/.ppt` (an OLE2 container) under a new name,
  an encrypted Office file (also OLE2, with an `EncryptedPackage` stream), a Word lock file,
  plain text;
- a zip bomb: the parts' declared sizes are checked before anything is inflated. Python's
  `zipfile`, which every library here uses, never inflates a part past its declared size (it
  stops there and the CRC check fails), so the declared sizes bound the real work;
- a truncated or damaged zip (no central directory, CRC errors);
- an encrypted OpenDocument file (its manifest lists encryption data);
- an XML part with a document type declaration. Office XML never has one; a DTD is how
  entity expansion ("billion laughs") and external entities (reading a local file, fetching
  a URL) get in, so no part that declares one reaches a parser.
"""

from __future__ import annotations

import contextlib
import functools
import pyexpat
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from .base import Extraction, Failed, Skipped
from .limits import TimeLimitExceeded, cpu_time_limit

# A real deck with embedded video stays far below these; a bomb is far above.
MAX_TOTAL_UNCOMPRESSED = 512 * 1024 * 1024
MAX_PART_UNCOMPRESSED = 256 * 1024 * 1024
MAX_PARTS = 20_000
# Deflate reaches about 1000:1 at best on real data; far more means crafted repetition.
MAX_RATIO = 1200
_RATIO_FLOOR = 16 * 1024 * 1024  # small parts may compress as they like
# An XML prolog (declaration, comments) is tiny; one this long is hiding something.
_MAX_PROLOG = 1024 * 1024
_XML_SUFFIXES = (".xml", ".rels", ".vml")
# How a part whose name does not say XML may still be XML (a package may name its parts as
# it likes in [Content_Types].xml): its first bytes, after any byte order mark and blanks.
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_ZIP_MAGIC = b"PK\x03\x04"
# Stream names in an OLE2 directory (UTF-16LE), and what a file holding them is.
_OLE_STREAMS = (
    ("EncryptedPackage", None),
    ("WordDocument", "a legacy Word .doc"),
    ("Workbook", "a legacy Excel .xls"),
    ("Book", "a legacy Excel .xls"),
    ("PowerPoint Document", "a legacy PowerPoint .ppt"),
)
PASSWORD_PROTECTED = "password-protected"


def _a(label: str) -> str:
    """The label with its article: "a Word", "an Excel"."""
    return f"{'an' if label[:1] in 'AEIOU' else 'a'} {label}"


def _describe_bytes(head: bytes) -> str:
    """What a file that is not a zip package seems to be, from its first bytes."""
    if head.startswith(b"%PDF-"):
        return "a PDF"
    if head[:1] in (b"\x0f", b"\x10", b"\x11", b"\x12") or head[:2] == b"\x00\x00":
        return "an Office lock file (~$ owner file)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown binary data"
    if text.lstrip().startswith("<"):
        return "XML or HTML text"
    return "plain text"


def _ole_kind(path: Path) -> str | None:
    """What an OLE2 container holds: None when it is an encrypted Office file."""
    data = path.read_bytes()
    for stream, kind in _OLE_STREAMS:
        if stream.encode("utf-16-le") in data:
            return kind
    return "an OLE2 compound file"


def sniff(path: Path, label: str) -> None:
    """Refuse a file that is not a zip package, saying what it is instead."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith(_ZIP_MAGIC):
        return
    if head.startswith(_OLE_MAGIC):
        kind = _ole_kind(path)
        if kind is None:
            raise Skipped(f"{PASSWORD_PROTECTED}: encrypted {label} file")
        raise Skipped(f"not {_a(label)} file: not a zip (detected: {kind})")
    if head.startswith(b"PK"):
        raise Skipped(f"corrupt {label} file: damaged zip")
    raise Skipped(f"not {_a(label)} file: not a zip (detected: {_describe_bytes(head)})")


def check_sizes(infos: list[zipfile.ZipInfo], label: str) -> None:
    """Refuse a package whose parts would inflate past the limits (a zip bomb)."""
    if len(infos) > MAX_PARTS:
        raise Skipped(f"refused {label} file: {len(infos)} parts (limit {MAX_PARTS})")
    total = 0
    for info in infos:
        size = info.file_size
        total += size
        if size > MAX_PART_UNCOMPRESSED:
            raise Skipped(
                f"refused {label} file: part {info.filename} inflates to {size:,} bytes "
                f"(zip bomb? limit {MAX_PART_UNCOMPRESSED:,})"
            )
        if size > _RATIO_FLOOR and size > MAX_RATIO * max(info.compress_size, 1):
            raise Skipped(
                f"refused {label} file: part {info.filename} compressed "
                f"{size // max(info.compress_size, 1):,}:1 (zip bomb?)"
            )
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise Skipped(
            f"refused {label} file: parts inflate to {total:,} bytes "
            f"(zip bomb? limit {MAX_TOTAL_UNCOMPRESSED:,})"
        )


class _PrologDone(Exception):
    """The root element started: the prolog had no document type declaration."""


class _DoctypeFound(Exception):
    pass


def _forbid(*_args: object) -> None:
    raise _DoctypeFound


def _stop(*_args: object) -> None:
    raise _PrologDone


def check_xml_prolog(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> None:
    """Refuse a part whose XML declares a DTD (or entities); reads only up to its root."""
    parser = pyexpat.ParserCreate()
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    parser.StartElementHandler = _stop
    read = 0
    try:
        with zf.open(info) as part:
            while read < _MAX_PROLOG:
                chunk = part.read(16 * 1024)
                read += len(chunk)
                parser.Parse(chunk, not chunk)
                if not chunk:
                    return
    except _PrologDone:
        return
    except _DoctypeFound:
        raise Skipped(
            f"refused {label} file: XML part {info.filename} declares a DTD "
            "(entity expansion or external entities are never read)"
        ) from None
    except pyexpat.ExpatError:
        return  # malformed but without a DTD: harmless here, the library reports it if read
    raise Skipped(f"refused {label} file: XML part {info.filename} has an oversized prolog")


def _is_xml(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether a part is XML: by its name, else by its first bytes."""
    if info.filename.lower().endswith(_XML_SUFFIXES):
        return True
    if info.is_dir() or info.file_size == 0:
        return False
    with zf.open(info) as part:
        head = part.read(64)
    if head.startswith(_BOMS[1:]):  # UTF-16: only XML would be text here
        return True
    head = head.removeprefix(_BOMS[0]).lstrip()
    return head.startswith(b"<")


def _encrypted_odf(zf: zipfile.ZipFile) -> bool:
    try:
        manifest = zf.read("META-INF/manifest.xml")
    except KeyError:
        return False
    return b"encryption-data" in manifest


@contextlib.contextmanager
def checked_package(path: Path, label: str) -> Iterator[zipfile.ZipFile]:
    """The file opened as a zip once every check above passed; refuses it otherwise.

    Raises `Skipped` with the reason. Errors while the caller reads the package (a part that
    fails its CRC check) are refused as corrupt too.
    """
    path = Path(path)
    sniff(path, label)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise Skipped(f"corrupt {label} file: {error}") from None
    with zf:
        infos = zf.infolist()
        check_sizes(infos, label)
        if _encrypted_odf(zf):
            raise Skipped(f"{PASSWORD_PROTECTED}: encrypted {label} file")
        try:
            for info in infos:
                if _is_xml(zf, info):
                    check_xml_prolog(zf, info, label)
            yield zf
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as error:
            raise Skipped(f"corrupt {label} file: {error}") from None


@contextlib.contextmanager
def time_limited(seconds: float) -> Iterator[None]:
    """Fail the file after `seconds` of CPU time (the per-file limit PDFs have too).

    The alarm can land in a finaliser, where Python swallows the exception; the deadline is
    then checked when the work ends, so a file over the limit fails either way.
    """
    try:
        with cpu_time_limit(seconds) as deadline:
            yield
            deadline.check()
    except TimeLimitExceeded:
        raise Failed(f"time limit of {seconds:g} s exceeded") from None


def with_time_limit(extract: Callable[[Path], Extraction]) -> Callable[..., Extraction]:
    """An extractor of a path called as `extract_file` calls it: `(path, time_limit=...)`,
    failing the file after `time_limit` seconds of CPU time."""

    @functools.wraps(extract)
    def limited(path: Path, *, time_limit: float = 30.0) -> Extraction:
        with time_limited(time_limit):
            return extract(path)

    return limited


LIBRARY_FAILURES: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    EOFError,
    OSError,
    AttributeError,
    TypeError,
    IndexError,
    NotImplementedError,
)
"""What the Office libraries raise on a package they cannot make sense of."""
