"""Every visible string of the web UI is marked for translation, and every catalogue translates
every marked message (webui/translations/<lang>/LC_MESSAGES/messages.po)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import Environment

from webui import i18n

WEBUI = Path(i18n.__file__).parent
TEMPLATES = WEBUI / "templates"
# What `make messages` extracts (babel.cfg and its -k options): the same calls, the same files.
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"trimmed": "true"}}
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy_gettext": None,
    "N_": None,
    "Nn_": (1, 2),
}
# Text a page may show as it is: the product's name, the network's name, units and symbols.
ALLOWED = {
    "kb",
    "Leadership for Change",
    "ms",
    "·",
    "×",
    "←",
    "→",
    "…",
    "/",
    "§",
    "›",
    ":",
    ",",
    ".",
}
# Attributes whose values a reader sees or hears.
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "label"}
# Blocks that fill an attribute no one reads (the body's class).
HIDDEN_BLOCKS = {"body_class"}
DYNAMIC = "\x00"  # stands for a {{ … }} or a translated {% trans %} block in template text
PATH = re.compile(r"/[\w/.-]*")  # a part of a URL, e.g. the `/doc/` of a printed link
LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


def template_text(source: str) -> str:
    """The template's HTML with every Jinja construct taken out: an expression or a {% trans %}
    block becomes a placeholder (its text is either data or already translated), a tag or a
    comment disappears."""
    out = []
    trans = 0  # inside {% trans %}
    blocks: list[bool] = []  # the open {% block %}s, True for a hidden one
    tag: list[str] = []
    for _, kind, value in Environment().lex(source):
        hidden = trans or any(blocks)
        if kind == "block_begin":
            tag = []
        elif kind == "name":
            tag.append(value)
            if tag == ["trans"]:
                trans += 1
                out.append(DYNAMIC)
            elif tag == ["endtrans"]:
                trans -= 1
            elif tag[0] == "block" and len(tag) == 2:
                blocks.append(value in HIDDEN_BLOCKS)
            elif tag == ["endblock"]:
                blocks.pop()
        elif kind == "variable_begin" and not hidden:
            out.append(DYNAMIC)
        elif kind == "data" and not hidden:
            out.append(value)
    # A tag named by an expression (`<h{{ level }}>`) is still a tag.
    return re.sub(rf"<(/?)(\w*){DYNAMIC}", r"<\1\2x", "".join(out))


class VisibleText(HTMLParser):
    """Collects text nodes and visible attribute values, skipping code samples."""

    SKIPPED = frozenset({"code", "kbd", "var", "script", "style", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        for name, value in attrs:
            content = name == "content" and ("name", "description") in attrs
            if value and (name in VISIBLE_ATTRIBUTES or content):
                self.found.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.found.append(data)


def untranslated(source: str) -> list[str]:
    parser = VisibleText()
    parser.feed(template_text(source))
    problems = []
    for text in parser.found:
        for piece in text.split(DYNAMIC):
            piece = " ".join(piece.split())
            rest = piece
            for allowed in sorted(ALLOWED, key=len, reverse=True):
                rest = re.sub(rf"(?<!\w){re.escape(allowed)}(?!\w)", " ", rest)
            if LETTERS.search(rest) and not PATH.fullmatch(piece):
                problems.append(piece)
    return problems


HTML_TEMPLATES = sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("template", HTML_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_visible_template_string_is_marked(template: Path) -> None:
    problems = untranslated(template.read_text(encoding="utf-8"))
    assert problems == [], f"{template.name}: wrap these in _() or {{% trans %}}: {problems}"


@pytest.mark.parametrize(
    "source",
    [
        "<p>Hello</p>",
        '<input placeholder="Search here">',
        '<a title="More" href="{{ x }}">{{ _("ok") }}</a>',
        "{% block title %}Home{% endblock %}",
        "<p>{{ n }} items</p>",
        '<span aria-label="Close">×</span>',
    ],
)
def test_the_check_finds_unmarked_strings(source: str) -> None:
    assert untranslated(source)


@pytest.mark.parametrize(
    "source",
    [
        '<p>{{ _("Hello") }}</p>',
        "<p>{% trans n=3 %}{{ n }} items{% endtrans %}</p>",
        "<input placeholder=\"{{ _('Search') }}\">",
        "<td><code>repair AND laptops</code></td>",
        '<a href="/x" class="chip" data-list="start">{{ name }} · kb</a>',
    ],
)
def test_the_check_lets_marked_strings_and_code_pass(source: str) -> None:
    assert untranslated(source) == []


# ---- catalogues ---------------------------------------------------------------------------------


def extracted() -> dict[str, str | tuple[str, ...]]:
    """Every message marked in webui/, by msgid (a plural message by its singular)."""
    found: dict[str, str | tuple[str, ...]] = {}
    for _, _, message, _, _ in extract_from_dir(
        WEBUI, METHODS, OPTIONS, KEYWORDS, comment_tags=(), strip_comment_tags=True
    ):
        found[message if isinstance(message, str) else message[0]] = message
    return found


LANGUAGES = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT]


def test_the_interface_languages_have_catalogues() -> None:
    have = {p.parts[-3] for p in i18n.TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")}
    assert have == set(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_marked_message_is_translated(lang: str) -> None:
    messages = extracted()
    assert len(messages) > 200  # extraction itself works
    with (i18n.TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = read_po(f, locale=lang)
    problems = []
    for key, message in messages.items():
        entry = catalogue.get(message if isinstance(message, str) else message[0])
        if entry is None:
            problems.append(f"missing: {key!r}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(strings):
            problems.append(f"{'fuzzy' if entry.fuzzy else 'untranslated'}: {key!r}")
        elif isinstance(message, tuple) != isinstance(entry.id, tuple):
            problems.append(f"plural form differs from the code: {key!r}")
        elif _placeholders(entry.id) != _placeholders(entry.string):
            problems.append(f"placeholders differ: {key!r}")
    assert problems == [], f"{lang}: run `make messages` and translate: {problems}"


def _placeholders(value: str | tuple[str, ...]) -> set[str]:
    texts = value if isinstance(value, tuple) else (value,)
    return {p for text in texts for p in re.findall(r"%\(\w+\)s|\{\w+\}", text)}


def test_the_template_of_messages_is_current() -> None:
    """messages.pot, which translators start from, holds exactly the marked messages."""
    with (i18n.TRANSLATIONS / "messages.pot").open("rb") as f:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert template == set(extracted()), "run `make messages`"
