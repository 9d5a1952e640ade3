"""Citation styles: a `kb.cite.Citation` written by a CSL style (APA 7, Harvard Cite Them Right,
Chicago author-date, IEEE, Vancouver) through the citeproc-py processor.

The style files are the official CSL styles, bundled in `kb/data/csl/` with their licence. The
item is the CSL-JSON item kb exports (`kb.citeformats.csl_item`), so every style reads the same
data. A citation comes out as two parts: the reference-list entry, and the in-text citation
that carries the locator (the PDF page, the slide or the passage's section) the way the style
writes locators, e.g. `(Nordic Procurement Network, 2024, p. 3)` or `[1, p. 3]`.

The registry is plain data, so the CLI can list the styles without loading the processor; the
processor (and lxml) is imported when a citation is first rendered.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kb.cite import Citation

CSL_NS = "http://purl.org/net/xbiblio/csl"


@dataclass(frozen=True)
class CiteStyle:
    """One citation style: how it is offered, and the style file and locale that write it."""

    id: str  # the value of `--style` and of `/api/cite?style=`, and the file's name
    label: str  # the web's style menu
    # The CSL locale the style's own guide writes in (dates, "p.", "Accessed"): the bundled
    # files name none, and Cite Them Right is a British guide ("Accessed: 2 May 2024").
    locale: str


# The order is the order of the web's style menu; the first is the default.
CITE_STYLES: tuple[CiteStyle, ...] = (
    CiteStyle("apa", "APA 7th edition", "en-US"),
    CiteStyle("harvard-cite-them-right", "Harvard (Cite Them Right)", "en-GB"),
    CiteStyle("chicago-author-date", "Chicago author-date", "en-US"),
    CiteStyle("ieee", "IEEE", "en-US"),
    CiteStyle("vancouver", "Vancouver", "en-US"),
)
CITE_STYLE_IDS: tuple[str, ...] = tuple(s.id for s in CITE_STYLES)
DEFAULT_STYLE = "apa"


# The CSL locale of a language kb knows (ISO 639-1, as documents and the UI name them).
_CSL_LOCALES = {"en": "en-US", "sv": "sv-SE", "no": "nb-NO", "nb": "nb-NO", "da": "da-DK",
                "fi": "fi-FI"}  # fmt: skip


def csl_locale(language: str | None) -> str | None:
    """The CSL locale that writes a style's words in `language` (`sv` -> `sv-SE`), or None
    (the style's own English) for English, no language or one kb has no locale for."""
    if not language or language.split("-")[0] == "en":
        return None
    return _CSL_LOCALES.get(language.split("-")[0].lower())


class UnknownStyle(ValueError):
    """A style name that is not one of CITE_STYLES; the message lists the ones there are."""

    def __init__(self, style_id: str) -> None:
        super().__init__(
            f"unknown citation style '{style_id[:40]}'; choose one of {', '.join(CITE_STYLE_IDS)}"
        )


def cite_style(style_id: str) -> CiteStyle:
    """The entry of a style id; UnknownStyle (a ValueError) naming the styles for another."""
    for entry in CITE_STYLES:
        if entry.id == style_id:
            return entry
    raise UnknownStyle(style_id)


@dataclass(frozen=True)
class StyledCitation:
    """A citation as a style writes it: the reference-list entry and the in-text citation."""

    reference: str
    in_text: str


# CSL has no locator for slides; kb adds the term to the locale, in the locale's language, so a
# style labels a slide as it labels a page or a section ("Slide 4" in APA 7, "[1, slide 4]").
_SLIDE_TERMS = {
    "en": ("slide", "slides"),
    "sv": ("bild", "bilder"),
    "nb": ("lysbilde", "lysbilder"),
    "nn": ("lysbilete", "lysbilete"),
    "da": ("dias", "dias"),
    "fi": ("dia", "diat"),
}
# Characters of the citation's texts that go through citeproc-py as private-use stand-ins, put
# back after rendering. Closing quotes: kb moves a comma or full stop inside the quotes the
# style writes (below), never inside the document's own. Hyphens and digits of a section
# heading: citeproc-py reads a locator as page numbers, turning each hyphen into an en dash (a
# range) and calling "24 April 2024" plural (two numbers).
_QUOTES = "”’"
_HEADING = _QUOTES + "-0123456789"
_STAND_INS = "".join(chr(0xE000 + i) for i in range(len(_HEADING)))
_TEXT_STAND_INS = str.maketrans(_QUOTES, _STAND_INS[: len(_QUOTES)])
_HEADING_STAND_INS = str.maketrans(_HEADING, _STAND_INS)
_FROM_STAND_INS = str.maketrans(_STAND_INS, _HEADING)


def _add_term(terms: Any, name: str, single: str, multiple: str) -> None:
    for form in (None, "short"):
        term = terms.makeelement(f"{{{CSL_NS}}}term", {"name": name})
        if form:
            term.set("form", form)
        for tag, text in (("single", single), ("multiple", multiple)):
            child = term.makeelement(f"{{{CSL_NS}}}{tag}", {})
            child.text = text
            term.append(child)
        terms.append(term)


def _fix_locale_dates(locale: Any) -> None:
    """citeproc-py joins a locale's date parts with the calling date's delimiter, not the
    locale date's own (Vancouver's `2024 May 2` came out `2024May2`): the delimiter becomes a
    suffix of each part but the last, which the CSL specification makes equivalent."""
    for date in locale.iterfind(f"{{{CSL_NS}}}date[@delimiter]"):
        parts = date.findall(f"{{{CSL_NS}}}date-part")
        if any(p.get("suffix") for p in parts):
            continue
        for part in parts[:-1]:
            part.set("suffix", date.get("delimiter"))
        del date.attrib["delimiter"]


_PATCH_LOCK = threading.Lock()


def _repress_substituted_title() -> None:
    """CSL suppresses a variable that stood in for the author in the rest of the entry, so a
    work without an author names its title once. citeproc-py suppresses it only when the
    substitute names the variable itself, and the styles reach the title through a macro or a
    `choose`: a title written by the substitute is suppressed as well."""
    from citeproc.model import Substitute

    with _PATCH_LOCK:
        if not getattr(Substitute, "_kb_title_repressed", False):
            Substitute.add_to_repressed_list = _repressing_titles(Substitute.add_to_repressed_list)
            Substitute._kb_title_repressed = True


def _repressing_titles(plain: Callable[..., None]) -> Callable[..., None]:
    """`Substitute.add_to_repressed_list` that also suppresses the titles the substitute wrote."""

    def add_to_repressed_list(self: Any, child: Any, context: Any) -> None:
        plain(self, child, context)
        titles = _TITLES.intersection(_variables(child, set()))
        if titles:
            context.get_layout().repressed.setdefault(f"{{{CSL_NS}}}text", []).extend(titles)

    return add_to_repressed_list


_TITLES = frozenset({"title", "title-short"})


def _variables(element: Any, seen: set[str]) -> set[str]:
    """The variables the `text` elements in and under an element write, through macros."""
    found: set[str] = set()
    for text in element.iter(f"{{{CSL_NS}}}text"):
        if text.get("variable"):
            found.add(text.get("variable"))
        elif text.get("macro") and text.get("macro") not in seen:
            seen.add(text.get("macro"))
            found |= _variables(text.get_macro(text.get("macro")), seen)
    return found


def _load(style: CiteStyle, locale: str | None) -> Any:
    """The parsed style, new for each rendering: citeproc-py keeps its output formatter and
    its cites on the style, so a shared one would mix two requests' citations."""
    from citeproc import CitationStylesStyle

    _repress_substituted_title()
    path = resources.files("kb") / "data" / "csl" / f"{style.id}.csl"
    with warnings.catch_warnings():
        # Schema validation is left out: the bundled files are the official, checked ones.
        warnings.simplefilter("ignore")
        parsed = CitationStylesStyle(str(path), locale=locale or style.locale, validate=False)
    locales = parsed.root.locales
    for each in locales:
        _fix_locale_dates(each)
    language = (locale or style.locale).split("-")[0]
    single, multiple = _SLIDE_TERMS.get(language, _SLIDE_TERMS["en"])
    terms = locales[-1].find(f"{{{CSL_NS}}}terms")
    _add_term(terms, "slide", single, multiple)
    return parsed


def _styled_item(c: Citation, escape: Callable[[str], str]) -> dict:
    """The CSL-JSON item, as a style should read it, its texts escaped for the output."""
    from kb.citeformats import csl_item

    item = csl_item(c)
    # citeproc-py writes the item's texts as they are (its formatters escape the style's own
    # words only), and every one of them comes from a document.
    for field in ("title", "publisher", "genre", "section"):
        if field in item:
            item[field] = escape(item[field]).translate(_TEXT_STAND_INS)
    if "author" in item:
        item["author"] = [
            {"literal": escape(a["literal"]).translate(_TEXT_STAND_INS)} for a in item["author"]
        ]
    # The page is the citation's locator, not the pages the work spans, and the note holds
    # what kb keeps for the reader (passage version, original), not part of a reference.
    item.pop("citation-key", None)  # the id already is the key; citeproc-py warns of it
    item.pop("page", None)
    item.pop("note", None)
    if c.type == "other":
        del item["genre"]  # "[Other]" describes nothing
    if c.publisher and c.authors == (c.publisher,):
        # A work by its own publisher names the organisation once (APA 7, Cite Them Right).
        del item["publisher"]
    return item


def _locator(c: Citation, escape: Callable[[str], str]) -> dict:
    from citeproc.source import Locator

    from kb.cite import SECTION_SEP

    if c.page is not None:
        return {"locator": Locator(c.page_unit if c.page_unit == "slide" else "page", str(c.page))}
    if c.section:
        # The passage's own heading: the path above it is kb's, not the style's, notation.
        heading = c.section.split(SECTION_SEP)[-1]
        return {"locator": Locator("section", escape(heading).translate(_HEADING_STAND_INS))}
    return {}


_QUOTE_THEN_MARK = re.compile(r"([”’])([,.])")


def render_style(
    c: Citation,
    style_id: str,
    formatter: Any = None,
    escape: Callable[[str], str] = str,
    locale: str | None = None,
) -> StyledCitation:
    """The citation in a style: `formatter` is a citeproc-py output formatter (plain text when
    None), `escape` makes the citation's texts literal in its output (the address excepted),
    `locale` a CSL locale such as `sv-SE` (the style's own when None).
    UnknownStyle for a style id that is not one of CITE_STYLES."""
    from citeproc import Citation as CslCitation
    from citeproc import CitationItem, CitationStylesBibliography
    from citeproc import formatter as formatters
    from citeproc.source.json import CiteProcJSON

    style = cite_style(style_id)
    parsed = _load(style, locale)
    item = _styled_item(c, escape)
    bibliography = CitationStylesBibliography(
        parsed, CiteProcJSON([item]), formatter or formatters.plain
    )
    cited = CslCitation([CitationItem(item["id"], **_locator(c, escape))])
    bibliography.register(cited)
    in_text = str(bibliography.cite(cited, lambda _missing: None))
    reference = "".join(str(part) for part in bibliography.bibliography()[0])
    # A numbered entry's number stands in the margin (`display="left-margin"`), which plain
    # text has not: a space keeps it apart from the author.
    reference = re.sub(r"^(\[\d+\])(?=\S)", r"\1 ", reference)
    if parsed.root.get_locale_option("punctuation-in-quote") == "true":
        # US usage puts a comma or full stop inside the closing quote (`“Title,”`): the
        # locale asks for it, but citeproc-py leaves it outside. Only the style's quotes are
        # still quotes here; the document's are stand-ins.
        reference = _QUOTE_THEN_MARK.sub(r"\2\1", reference)
    return StyledCitation(
        reference=reference.translate(_FROM_STAND_INS),
        in_text=in_text.translate(_FROM_STAND_INS),
    )


# ---- Markdown output -------------------------------------------------------------------------


class MarkdownFormatter:
    """A citeproc-py output formatter writing Markdown: italics as `*…*` and bold as `**…**`;
    other font variants have no Markdown and stay plain. The style's own words are written as
    they are; the citation's texts are escaped before (`render_style`'s `escape`)."""

    @staticmethod
    def preformat(text: Any) -> str:
        return str(text)

    @staticmethod
    def Italic(text: Any) -> str:  # the names citeproc-py calls
        return f"*{text}*" if str(text).strip() else str(text)

    Oblique = Italic

    @staticmethod
    def Bold(text: Any) -> str:
        return f"**{text}**" if str(text).strip() else str(text)

    Light = Underline = Superscript = Subscript = SmallCaps = str
