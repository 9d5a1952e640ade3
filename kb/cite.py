"""Citations of documents and passages: plain text, Markdown, BibTeX, RIS and CSL-JSON.

A citation names the organisation or author, the year, the title, the type, the section and
(for PDFs) the page, and a permalink to the passage that carries the passage's content hash,
so a reader who follows it later is told when the passage has changed since it was cited.

BibTeX keys are derived from the author, year, first significant title word and a short hash
of the doc id, so they are stable across runs and do not change when other documents arrive.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from kb.documents import load_document, permalink
from kb.errors import NotFound
from kb.library import Snapshot
from kb.models import TYPE_LABELS
from kb.text import LANGUAGE_NAMES, fold

FORMATS = ("text", "markdown", "bibtex", "ris", "csl-json")
EXTENSIONS = {"text": "txt", "markdown": "md", "bibtex": "bib", "ris": "ris", "csl-json": "json"}
MEDIA_TYPES: dict[str, str] = {
    "text": "text/plain",
    "markdown": "text/markdown",
    "bibtex": "application/x-bibtex",
    "ris": "application/x-research-info-systems",
    "csl-json": "application/vnd.citationstyles.csl+json",
}
DEFAULT_AUTHOR = "ASF Leadership for Change"
SECTION_SEP = " › "

# kb type -> (BibTeX entry type, RIS type, CSL type)
_TYPE_MAP = {
    "meeting": ("techreport", "RPRT", "report"),
    "guide": ("techreport", "RPRT", "report"),
    "directive": ("misc", "LEGAL", "legislation"),
    "article": ("misc", "GEN", "article"),
    "other": ("misc", "GEN", "document"),
}
# ISO 639-1 -> the name babel/polyglossia knows, for biblatex's `langid`
_LANGID = {
    "en": "english",
    "sv": "swedish",
    "no": "norsk",
    "da": "danish",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "nl": "dutch",
}
# Words skipped when choosing the title word of a BibTeX key (folded, in the corpus languages).
_STOPWORDS_TEXT = """
a an the of on in and or for to how what why with your our is are from by at about
sa kan och i av med om en ett den det till pa som att hur vad
og et til skal hva er ja
"""
_KEY_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@dataclass(frozen=True)
class Citation:
    """Everything a citation format needs, computed once from the catalogue and the passage."""

    doc_id: str
    anchor: str | None
    passage_id: str | None
    title: str
    author: str
    date: str | None
    year: int | None
    type: str
    type_label: str
    section: str | None
    page: int | None
    permalink: str
    text_hash: str | None
    accessed: str
    language: str
    source_url: str | None
    key: str


def parse_ref(ref: str) -> tuple[str, str | None]:
    """`doc/id#anchor` -> ("doc/id", "anchor"); also accepts a pasted permalink.

    `http://host/doc/meetings/x?v=abc#anchor` -> ("meetings/x", "anchor").
    """
    ref = ref.strip()
    if "://" in ref:
        try:
            parts = urlsplit(ref)
        except ValueError:  # e.g. "http://[" (an unclosed IPv6 host): not a permalink
            doc_id, _, anchor = ref.partition("#")
            return doc_id.strip().strip("/"), anchor.strip() or None
        path = unquote(parts.path)
        doc_id = path.split("/doc/", 1)[1] if "/doc/" in path else path
        return doc_id.strip("/"), unquote(parts.fragment) or None
    doc_id, _, anchor = ref.partition("#")
    return doc_id.strip().strip("/"), anchor.strip() or None


def _short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def citation_key(doc_id: str, author: str, year: int | None, title: str) -> str:
    """`alfc2024forum-5b28a1`: author initials, year, first significant title word, and a hash
    of the doc id, which keeps the key unique and independent of the rest of the corpus."""
    author_words = _words(author)
    if len(author_words) > 1:
        who = "".join(w[0] for w in author_words)[:8]
    else:
        who = author_words[0][:12] if author_words else "kb"
    title_words = _words(title)
    word = next((w for w in title_words if w not in _KEY_STOPWORDS and not w.isdigit()), None)
    word = (word or (title_words[0] if title_words else "doc"))[:12]
    return f"{who}{year if year else 'nd'}{word}-{_short_hash(doc_id)}"


def _passage_key(doc_key: str, anchor: str) -> str:
    if len(anchor) <= 20 and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", anchor):
        return f"{doc_key}-{anchor}"
    slug = "-".join(_words(anchor))[:12].strip("-") or "p"
    return f"{doc_key}-{slug}-{_short_hash(anchor)}"


def cite(
    snap: Snapshot,
    doc_id: str,
    anchor: str | None,
    base_url: str,
    accessed: datetime.date | None = None,
) -> Citation:
    """The citation of a document, or of one of its passages when `anchor` is given."""
    info = snap.catalogue.get(doc_id)
    if info is None:
        raise NotFound(f"no document with id '{doc_id}'")
    meta = info.meta
    passage = None
    if anchor:
        passage = load_document(snap, doc_id).passage(anchor)
        if passage is None:
            raise NotFound(f"no passage #{anchor} in {doc_id}")
    author = (meta.author or "").strip()
    if not author and meta.organisations:
        author = snap.vocabulary.organisation_name(meta.organisations[0])
    author = author or DEFAULT_AUTHOR
    title = " ".join(meta.title.split()) or doc_id
    key = citation_key(doc_id, author, meta.year, title)
    text_hash = (passage.text_hash or None) if passage else None
    return Citation(
        doc_id=doc_id,
        anchor=anchor if passage else None,
        passage_id=passage.passage_id if passage else None,
        title=title,
        author=" ".join(author.split()),
        date=meta.date,
        year=meta.year,
        type=meta.type,
        type_label=TYPE_LABELS.get(meta.type, meta.type.capitalize()),
        section=_section(passage.heading_path) if passage else None,
        page=passage.page if passage else None,
        permalink=permalink(base_url, doc_id, anchor if passage else None, text_hash),
        text_hash=text_hash,
        accessed=(accessed or datetime.date.today()).isoformat(),
        language=meta.language,
        source_url=meta.source_url,
        key=_passage_key(key, passage.anchor) if passage else key,
    )


def _section(heading_path: tuple[str, ...]) -> str | None:
    headings = [" ".join(h.split()) for h in heading_path if h.strip()]
    return SECTION_SEP.join(headings) or None


def render(citation: Citation, fmt: str) -> str:
    """The citation in one of FORMATS (no trailing newline); ValueError for another format."""
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown citation format '{fmt}'; choose one of {', '.join(FORMATS)}")
    return renderer(citation)


def file_name(citation: Citation, fmt: str) -> str:
    """Download file name, e.g. `alfc2024forum-5b28a1.bib`."""
    if fmt not in EXTENSIONS:
        raise ValueError(f"unknown citation format '{fmt}'; choose one of {', '.join(FORMATS)}")
    return f"{citation.key}.{EXTENSIONS[fmt]}"


# ---- plain text and Markdown --------------------------------------------------------------------


def _where(c: Citation) -> str:
    """`Section: A › B, p. 3` / `p. 3` / `Section: A` / ``."""
    parts = []
    if c.section:
        parts.append(f"Section: {c.section}")
    if c.page is not None:
        parts.append(f"p. {c.page}")
    return ", ".join(parts)


def _sentence(text: str) -> str:
    """End with a full stop unless the text already ends a sentence."""
    return text if text.endswith((".", "?", "!")) else text + "."


def _year(c: Citation) -> str:
    return str(c.year) if c.year else "n.d."


def _describe(c: Citation) -> str:
    """`Meeting report`, `Article, in Swedish`; "Other" reads better as "Document" here."""
    label = "Document" if c.type == "other" else c.type_label
    language = LANGUAGE_NAMES.get(c.language) if c.language != "en" else None
    return label + (f", in {language}" if language else "")


def render_text(c: Citation) -> str:
    """Author-date: `Author (Year). Title [Type]. Section: …, p. N. <permalink> (accessed …).`"""
    out = [f"{c.author} ({_year(c)}).", f"{c.title} [{_describe(c)}]."]
    where = _where(c)
    if where:
        out.append(_sentence(where))
    out.append(f"{c.permalink} (accessed {c.accessed}).")
    if c.source_url:
        out.append(f"Original: {c.source_url}")
    return " ".join(out)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|&#!~])")


def markdown_escape(text: str) -> str:
    """Escape text so Markdown shows it literally (emphasis, links, HTML and entities)."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # A line starting with `-`, `+` or `1.` would become a list item.
    return re.sub(r"^([-+]|\d+(?=[.)]))", r"\\\1", text)


def render_markdown(c: Citation) -> str:
    """Like the text form, with the title linked to the permalink."""
    out = [
        f"{markdown_escape(c.author)} ({_year(c)}).",
        f"[*{markdown_escape(c.title)}*]({c.permalink}) \\[{markdown_escape(_describe(c))}\\].",
    ]
    where = _where(c)
    if where:
        out.append(markdown_escape(_sentence(where)))
    out.append(f"Accessed {c.accessed}.")
    if c.source_url:
        out.append(f"Original: <{c.source_url}>")
    return " ".join(out)


# ---- BibTeX ----------------------------------------------------------------------------------

_BIB_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _braces_balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def bibtex_escape(text: str) -> str:
    """Escape LaTeX's special characters; non-ASCII letters (å, ø, ä) stay UTF-8.

    BibTeX counts `\\{` and `\\}` when it balances braces, so a lone brace is written as
    `\\textbraceleft{}` / `\\textbraceright{}` instead; balanced pairs stay `\\{ \\}`.
    """
    balanced = _braces_balanced(text)
    out = []
    for ch in " ".join(text.split()):
        if ch in _BIB_ESCAPES:
            out.append(_BIB_ESCAPES[ch])
        elif ch in "{}":
            if balanced:
                out.append("\\" + ch)
            else:
                out.append(r"\textbraceleft{}" if ch == "{" else r"\textbraceright{}")
        else:
            out.append(ch)
    # Break TeX's ligatures so the text reads back as typed: -- and --- (dashes), '' and ``
    # (curly quotes), ?` and !` (inverted marks).
    escaped = "".join(out).replace("`", "{`}")
    return re.sub(r"-(?=-)", "-{}", re.sub(r"'(?=')", "'{}", escaped))


def _bib_url(url: str) -> str:
    # Permalinks are percent-encoded, so only braces could upset BibTeX; `\url` copes with % and #.
    return url.replace("{", "%7B").replace("}", "%7D")


def render_bibtex(c: Citation) -> str:
    entry_type = _TYPE_MAP.get(c.type, _TYPE_MAP["other"])[0]
    author = bibtex_escape(c.author)
    fields: list[tuple[str, str]] = [
        ("author", f"{{{author}}}"),  # braced: a corporate name, not "Last, First and …"
        ("title", f"{{{bibtex_escape(c.title)}}}"),  # braced: keep the title's capitals
    ]
    if entry_type == "techreport":
        fields += [("institution", author), ("type", bibtex_escape(c.type_label))]
    else:
        fields.append(("howpublished", bibtex_escape(c.type_label)))
    if c.year:
        fields.append(("year", str(c.year)))
    if c.date and re.fullmatch(r"\d{4}(-\d{2}){0,2}", c.date):
        fields.append(("date", c.date))
    if c.page is not None:
        fields.append(("pages", str(c.page)))
    note = []
    if c.section:
        note.append(f"Section: {c.section}")
    if c.text_hash:
        note.append(f"passage version {c.text_hash}")
    if c.source_url:
        note.append(f"original: {c.source_url}")
    if note:
        fields.append(("note", bibtex_escape("; ".join(note))))
    fields += [("url", _bib_url(c.permalink)), ("urldate", c.accessed)]
    if c.language in _LANGID:
        fields.append(("langid", _LANGID[c.language]))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{entry_type}{{{c.key},\n{body}\n}}"


# ---- RIS -------------------------------------------------------------------------------------


def _ris_date(iso: str) -> str:
    """RIS dates are `YYYY/MM/DD/`; missing parts stay empty."""
    parts = [*iso.split("-"), "", ""]
    return f"{parts[0]}/{parts[1]}/{parts[2]}/"


def render_ris(c: Citation) -> str:
    """RIS: `TY` first, `ER` last, one `XX  - value` per line."""
    lines: list[tuple[str, str]] = [
        ("TY", _TYPE_MAP.get(c.type, _TYPE_MAP["other"])[1]),
        ("ID", c.key),
        ("TI", c.title),
        ("AU", c.author),
        ("PB", c.author),
        ("M3", c.type_label),
    ]
    if c.year:
        lines.append(("PY", str(c.year)))
    if c.date and re.fullmatch(r"\d{4}(-\d{2}){0,2}", c.date):
        lines.append(("DA", _ris_date(c.date)))
    if c.section:
        lines.append(("SE", c.section))
    if c.page is not None:
        lines.append(("SP", str(c.page)))
    lines += [("LA", c.language), ("UR", c.permalink), ("Y2", _ris_date(c.accessed))]
    if c.text_hash:
        lines.append(("N1", f"Passage version {c.text_hash}"))
    if c.source_url:
        lines.append(("N1", f"Original: {c.source_url}"))
    out = [f"{tag}  - {' '.join(value.split())}" for tag, value in lines]
    out.append("ER  - ")
    return "\n".join(out)


# ---- CSL-JSON --------------------------------------------------------------------------------


def _date_parts(iso: str | None) -> dict | None:
    if not iso:
        return None
    parts = [int(p) for p in re.findall(r"\d+", iso)[:3]]
    return {"date-parts": [parts]} if parts else None


def csl_item(c: Citation) -> dict:
    """One CSL-JSON item (the CSL data schema's `id` and `type`, plus what styles need)."""
    item: dict = {
        "id": c.key,
        "citation-key": c.key,
        "type": _TYPE_MAP.get(c.type, _TYPE_MAP["other"])[2],
        "title": c.title,
        "author": [{"literal": c.author}],
        "publisher": c.author,
        "genre": c.type_label,
        "language": c.language,
        "URL": c.permalink,
        "accessed": _date_parts(c.accessed),
    }
    issued = _date_parts(c.date)
    if issued:
        item["issued"] = issued
    if c.section:
        item["section"] = c.section
    if c.page is not None:
        item["page"] = str(c.page)
    note = []
    if c.text_hash:
        note.append(f"Passage version {c.text_hash}")
    if c.source_url:
        note.append(f"Original: {c.source_url}")
    if note:
        item["note"] = "; ".join(note)
    return item


def render_csl_json(c: Citation) -> str:
    """A CSL-JSON document: an array holding the one item."""
    return json.dumps([csl_item(c)], ensure_ascii=False, indent=2)


_RENDERERS = {
    "text": render_text,
    "markdown": render_markdown,
    "bibtex": render_bibtex,
    "ris": render_ris,
    "csl-json": render_csl_json,
}
