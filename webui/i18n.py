"""The web UI's language: English, Swedish, Norwegian bokmål and Danish through Flask-Babel.

The language is the reader's explicit choice (the header's switcher, kept in a cookie), else
the best of the browser's `Accept-Language`, else English. Messages live in gettext
catalogues (`webui/translations/<lang>/LC_MESSAGES/messages.po`); the compiled `.mo` files are
not kept in the repository: `make install` compiles them, and `create_app` compiles any that
are missing or older than their `.po` (into the package, or a cache folder when the package
cannot be written), so a fresh checkout serves every language.

Dates and numbers are formatted by Babel from CLDR data. Document types, facet names, topics
and page units are translated here, at the web layer; document titles and texts are shown as
written, and the JSON API keeps its English keys and values.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from datetime import date
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, Response, g, redirect, request
from flask_babel import (
    Babel,
    format_date,
    format_decimal,
    get_locale,
    get_translations,
)

from kb.doctypes import TYPES

TRANSLATIONS = Path(__file__).parent / "translations"
DOMAIN = "messages"
# The interface's languages, in the switcher's order, each named in its own language.
LANGUAGES = {"en": "English", "sv": "Svenska", "nb": "Norsk (bokmål)", "da": "Dansk"}
DEFAULT = "en"
# The CLDR locale each language formats dates and numbers with: the interface's English is
# British ("24 Apr 2024", "Organisation").
LOCALES = {"en": "en_GB", "sv": "sv", "nb": "nb", "da": "da"}
COOKIE = "kb_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# Accept-Language tags that mean one of the interface's languages: a browser set to Norwegian
# may say `no`, `nb` or `nn`, and bokmål is the written Norwegian the interface speaks.
ACCEPTED = {"en": "en", "sv": "sv", "nb": "nb", "no": "nb", "nn": "nb", "da": "da"}

bp = Blueprint("i18n", __name__)


def gettext(string: str, **variables) -> str:
    """`string` in this request's language, formatted with `variables` (as Flask-Babel's)."""
    s = _catalogue().ugettext(string)
    return s if not variables else s % variables


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """The singular or plural form for `num` in this request's language (as Flask-Babel's:
    `%(num)s` is the number)."""
    variables.setdefault("num", num)
    s = _catalogue().ungettext(singular, plural, num)
    return s if not variables else s % variables


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is defined; it is translated where shown."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with a plural form for the catalogue."""
    return singular, plural


# Messages whose text comes from data, not templates: extraction finds them here.
PAGE_UNITS = {"page": Nn_("Page", "Pages"), "slide": Nn_("Slide", "Slides")}
# Document types by id (kb/doctypes.py holds the English names the API and CLI use).
TYPE_NAMES = {
    "meeting": Nn_("Meeting report", "Meeting reports"),
    "guide": Nn_("Best-practice guide", "Best-practice guides"),
    "directive": Nn_("Directive", "Directives"),
    "article": Nn_("Article", "Articles"),
    "other": Nn_("Other", "Other documents"),
}
# The bundled corpus's topics (corpus/topics.toml): a topic the catalogue does not know is
# shown with the name the corpus gives it.
_TOPIC_MESSAGES = (
    N_("Climate and emissions"), N_("Circular economy"), N_("Product lifespan"),
    N_("Human rights in the supply chain"), N_("Supplier engagement"),
    N_("CSRD and sustainability reporting"), N_("Weighting sustainability in procurement"),
    N_("Strategy for sustainable IT"), N_("Annual self-assessment"),
    N_("Peer learning and best practices"), N_("Dialogue with the IT industry"),
    N_("Membership and how the network works"),
)  # fmt: skip
# Citation formats are named by kb.citeformats; only this one is a phrase, not a name.
CITE_FORMAT_LABELS = (N_("Plain text"),)
FILTER_LABELS = {
    "type": N_("Type"),
    "year": N_("Year"),
    "org": N_("Organisation"),
    "topic": N_("Topic"),
    "lang": N_("Language"),
}


# ---- choosing the language ------------------------------------------------------------------


def from_accept_language(header_values: list[tuple[str, float]]) -> str | None:
    """The interface language a browser prefers most, from (tag, quality) pairs."""
    for tag, quality in sorted(header_values, key=lambda pair: -pair[1]):
        if quality > 0:
            found = ACCEPTED.get(tag.lower().replace("_", "-").split("-")[0])
            if found:
                return found
    return None


def select_language() -> str:
    """The reader's choice (cookie), then `Accept-Language`, then English."""
    chosen = request.cookies.get(COOKIE, "")
    if chosen not in LANGUAGES:
        chosen = from_accept_language(list(request.accept_languages)) or DEFAULT
    return LOCALES[chosen]


def ui_language() -> str:
    """This request's interface language code, as `<html lang>` carries it: en, sv, nb or da."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT


def safe_back(value: str | None) -> str:
    """Where the switcher returns to: a path on this site, never another site."""
    from webui.auth import safe_next

    return safe_next(value)


@bp.get("/language/<code>")
def choose(code: str) -> Response:
    """Remember the reader's language in a cookie and go back to the page they were on
    (`?next=`, a local path only). A GET that changes nothing but the cookie, so the
    switcher works as plain links, without JavaScript and without a form."""
    response = redirect(safe_back(request.args.get("next")), 303)
    response.headers["Cache-Control"] = "no-store"  # one reader's choice, never a cache's
    if code in LANGUAGES:
        response.set_cookie(
            COOKIE,
            code,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


# ---- formatting -----------------------------------------------------------------------------


def nice_date(value: str | None) -> str:
    """2024-04-24 as "24 Apr 2024" / "24 apr. 2024" / "24. apr. 2024" (CLDR); a year and month
    as "Apr 2024"; anything else as it is."""
    if not value:
        return gettext("Undated")
    if match := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value):
        try:
            return format_date(date(int(match[1]), int(match[2]), int(match[3])), "medium")
        except ValueError:
            return value
    if (match := re.fullmatch(r"(\d{4})-(\d{2})", value)) and 1 <= int(match[2]) <= 12:
        return format_date(date(int(match[1]), int(match[2]), 1), "LLL y")
    return value


def long_date(value: str | None) -> str:
    """2024-04-24 as "24 April 2024" / "24 april 2024" (CLDR's long form)."""
    if value and (match := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)):
        try:
            return format_date(date(int(match[1]), int(match[2]), int(match[3])), "long")
        except ValueError:
            return value
    return nice_date(value)


def minutes(value: int | None) -> str:
    """A reading time: "45 min", "1 h 30 min"."""
    if not value:
        return ""
    hours, rest = divmod(int(value), 60)
    if not hours:
        return gettext("%(n)s min", n=format_decimal(value))
    if not rest:
        return gettext("%(h)s h", h=format_decimal(hours))
    return gettext("%(h)s h %(m)s min", h=format_decimal(hours), m=format_decimal(rest))


def language_name(code: str) -> str:
    """A document language's name in the interface's language, from CLDR ("svenska")."""
    return _language_name(code, ui_language())


@lru_cache(maxsize=1024)
def _language_name(code: str, language: str) -> str:
    try:
        name = Locale.parse(code).get_language_name(language)
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:] if name else code


def type_label(type_id: str, count: int = 1) -> str:
    """A document type's name, singular or plural as `count` asks ("3 Mötesrapporter")."""
    names = TYPE_NAMES.get(type_id) or next(
        ((t.label, t.plural) for t in TYPES if t.id == type_id), (type_id, type_id)
    )
    return ngettext(*names, count)


def translated(message: str) -> str:
    """`message` from the catalogue when it holds it (a topic's name, an error's text), else
    as it is: text that came from data is never formatted."""
    return gettext(message) if message else message


def topic_label(name: str) -> str:
    """A topic's name in the interface's language when the catalogue has it."""
    return translated(name)


def page_unit(unit: str, count: int = 1) -> str:
    """ "Page"/"Pages" or "Slide"/"Slides" in the interface's language."""
    singular, plural = PAGE_UNITS.get(unit.lower(), (unit, unit))
    return ngettext(singular, plural, count)


def template_names() -> dict:
    """The translated names templates show, for this request's language."""
    return {
        "TYPE_LABELS": {t.id: type_label(t.id) for t in TYPES},
        "TYPE_PLURALS": {t.id: type_label(t.id, 2) for t in TYPES},
        "FILTER_LABELS": {k: gettext(v) for k, v in FILTER_LABELS.items()},
        "LANGUAGE_NAMES": _LanguageNames(),
        "UI_LANGUAGE": ui_language(),
        "UI_LANGUAGES": LANGUAGES,
        "JS_MESSAGES": js_messages(),
        "TOKEN_STATES": {
            "active": gettext("active"),
            "expired": gettext("expired"),
            "revoked": gettext("revoked"),
        },
    }


def js_messages() -> dict[str, str]:
    """The messages kb.js shows, translated; it reads them from `<html data-messages>`.
    `{name}` marks a value the script fills in."""
    if ui_language() == DEFAULT:
        return {}
    return {
        "Copied": gettext("Copied"),
        "Press Ctrl+C to copy": gettext("Press Ctrl+C to copy"),
        "Format": gettext("Format"),
        "Copy": gettext("Copy"),
        "Download": gettext("Download"),
        "Style": gettext("Style"),
        "Plain text": gettext("Plain text"),
        "Could not load the style.": gettext("Could not load the style."),
        "Citation": gettext("Citation"),
        "The passage this link points to has moved within the document; it is highlighted "
        "below.": gettext(
            "The passage this link points to has moved within the document; it is "
            "highlighted below."
        ),
        "{done} of {total}": gettext("{done} of {total}"),
        "{done} of {total} done": gettext("{done} of {total} done"),
        "All {total} done. Well read!": gettext("All {total} done. Well read!"),
    }


class _LanguageNames(dict):
    """`LANGUAGE_NAMES.get(code, code)` in templates, answered from CLDR."""

    def get(self, code: str, default: str | None = None) -> str:  # type: ignore[override]
        return language_name(code) if code else (default or "")

    def __getitem__(self, code: str) -> str:
        return language_name(code)


# ---- catalogues -----------------------------------------------------------------------------


def compile_catalogues(source: Path = TRANSLATIONS, target: Path | None = None) -> Path:
    """Compile each `.po` under `source` whose `.mo` is missing or older; return the folder
    that holds the compiled catalogues (`source` itself, or a cache folder when it cannot be
    written). Fuzzy messages are left out, as `pybabel compile` does."""
    for folder in [target] if target else [source, _cache_folder(source)]:
        try:
            for po in sorted(source.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
                mo = folder / po.relative_to(source).with_suffix(".mo")
                if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                    _compile(po, mo)
            return folder
        except OSError:
            if target:
                raise
    raise OSError(f"no writable folder for the compiled catalogues of {source}")


def _cache_folder(source: Path) -> Path:
    key = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:12]
    base = Path(os.environ.get("XDG_CACHE_HOME") or tempfile.gettempdir())
    return base / f"kb-translations-{os.getuid()}-{key}"


def _compile(po: Path, mo: Path) -> None:
    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parts[-3])
    mo.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed into place: processes starting together never read half a file.
    fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        os.replace(tmp, mo)
    finally:
        Path(tmp).unlink(missing_ok=True)


def number(value: int | float) -> str:
    """A number as this request's language writes it ("1 234" in Swedish)."""
    return _number(str(get_locale()), value)


@lru_cache(maxsize=4096)
def _number(locale: str, value: int | float) -> str:
    # A results page writes dozens of counts, mostly the same small numbers: CLDR's
    # formatting in Python was a tenth of a page's time.
    return numbers.format_decimal(value, locale=locale)


def _catalogue():
    """This request's catalogue, found once per request: Flask-Babel looks the locale and
    the catalogue up again for every message, and a results page shows hundreds."""
    if not g:  # outside a request: Flask-Babel's own (no translation)
        return get_translations()
    found = g.get("_kb_catalogue")
    if found is None:
        found = g._kb_catalogue = get_translations()
    return found


def register(app: Flask) -> None:
    """Flask-Babel on `app`: catalogues compiled, the language chosen per request, the
    switcher's route, translated names and formatting filters for templates."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compile_catalogues())
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT
    Babel(app, locale_selector=select_language)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalogue().ugettext(s),
        ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n),
    )
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.register_blueprint(bp)
    # The names are the same for every request in one language: worked out once for each.
    names_by_locale: dict[str, dict] = {}

    def names() -> dict:
        locale = str(get_locale())
        found = names_by_locale.get(locale)
        if found is None:
            found = names_by_locale.setdefault(locale, template_names())
        return found

    app.context_processor(names)
    for function in (nice_date, long_date, minutes, page_unit, topic_label, translated, type_label):
        app.add_template_filter(function)
    app.add_template_filter(number, "number")

    @app.after_request
    def vary(response: Response) -> Response:
        # A page's language follows these headers: no cache may give one reader's to another.
        if not request.path.startswith("/api/"):
            response.vary.update(("Cookie", "Accept-Language"))
        return response
