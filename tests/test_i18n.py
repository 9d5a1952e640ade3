"""The web UI's language (webui/i18n.py): the reader's choice, then Accept-Language, then
English; dates, numbers and plurals from CLDR; translated names of types, facets and topics;
document text and the JSON API as they are."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from webui import i18n

SEARCH = "/search?q=upphandling"
MEETING = "/doc/meetings/2024-04-24-forum-meeting"


def page(client, path: str, **headers: str) -> BeautifulSoup:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, path
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text(soup: BeautifulSoup, selector: str) -> str:
    return " ".join(soup.select_one(selector).get_text(" ").split())


@pytest.fixture
def fresh(bundled_app):
    """A client with no cookies of its own (the module's `client` may hold a language)."""
    with bundled_app.test_client() as client:
        yield client


# ---- which language ---------------------------------------------------------------------------


def test_english_without_a_choice_or_a_header(fresh) -> None:
    soup = page(fresh, "/")
    assert soup.html["lang"] == "en"
    assert text(soup, "#hero-h") == "What has the network learned?"


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("sv-SE,sv;q=0.9,en;q=0.8", "sv"),
        ("nb-NO,nb;q=0.9", "nb"),
        ("no", "nb"),  # Norwegian, unspecified: bokmål is the written standard offered
        ("nn-NO", "nb"),
        ("da-DK,da;q=0.9,sv;q=0.5", "da"),
        ("fi,sv;q=0.5", "sv"),  # Finnish is not offered: the next choice wins
        ("fi,de;q=0.8", "en"),
        ("en-US,en;q=0.9,sv;q=0.8", "en"),
        ("sv;q=0,nb;q=0.4", "nb"),  # q=0 means "not this one"
    ],
)
def test_accept_language_picks_the_interface(fresh, header: str, lang: str) -> None:
    assert page(fresh, "/", **{"Accept-Language": header}).html["lang"] == lang


def test_the_switcher_remembers_a_choice_over_the_browsers_header(fresh) -> None:
    response = fresh.get("/language/sv?next=/search%3Fq%3Dlaptops")
    assert response.status_code == 303
    assert response.headers["Location"] == "/search?q=laptops"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{i18n.COOKIE}=sv;")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    assert response.headers["Cache-Control"] == "no-store"
    # The cookie now outranks an English browser.
    soup = page(fresh, "/", **{"Accept-Language": "en-GB,en"})
    assert soup.html["lang"] == "sv"
    assert text(soup, "#hero-h") == "Vad har nätverket lärt sig?"
    fresh.get("/language/nb")
    assert page(fresh, "/", **{"Accept-Language": "sv"}).html["lang"] == "nb"
    fresh.get("/language/en")
    assert page(fresh, "/", **{"Accept-Language": "sv"}).html["lang"] == "en"


def test_an_unknown_language_changes_nothing(fresh) -> None:
    response = fresh.get("/language/xx?next=/lists")
    assert response.status_code == 303
    assert response.headers["Location"] == "/lists"
    assert "Set-Cookie" not in response.headers
    fresh.set_cookie(i18n.COOKIE, "klingon")  # a forged cookie falls back like no cookie
    assert page(fresh, "/", **{"Accept-Language": "nb"}).html["lang"] == "nb"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example",
     "javascript:alert(1)", "evil.example", ""],
)  # fmt: skip
def test_the_switcher_never_leads_off_the_site(fresh, target: str) -> None:
    response = fresh.get("/language/sv", query_string={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_every_page_links_each_language_back_to_itself(fresh) -> None:
    soup = page(fresh, "/search?q=laptops&type=guide")
    links = soup.select("nav.languages a")
    assert [a["lang"] for a in links] == ["en", "sv", "nb", "da"]
    assert [a.get_text() for a in links] == ["English", "Svenska", "Norsk (bokmål)", "Dansk"]
    assert links[1]["href"] == "/language/sv?next=/search?q%3Dlaptops%26type%3Dguide"
    assert [a.get("aria-current") for a in links] == ["true", None, None, None]
    # Followed without JavaScript, the link lands on the same search, in Swedish.
    response = fresh.get(links[1]["href"])
    assert response.headers["Location"] == "/search?q=laptops&type=guide"
    assert page(fresh, response.headers["Location"]).html["lang"] == "sv"


def test_pages_say_what_their_language_depends_on(fresh) -> None:
    vary = fresh.get("/").headers["Vary"]
    assert "Cookie" in vary and "Accept-Language" in vary


# ---- what is translated, and what is not -----------------------------------------------------------


def test_a_swedish_search_page(fresh) -> None:
    fresh.set_cookie(i18n.COOKIE, "sv")
    soup = page(fresh, SEARCH + "&type=guide")
    heading = text(soup, "#results-h")
    assert heading.endswith("dokument för upphandling"), heading
    assert text(soup, ".chip.removable").startswith("Ta bort filtret Typ: Vägledning")
    badges = {b.get_text() for b in soup.select(".hit .badge")}
    assert badges == {"Vägledning"}
    facets = [h.get_text() for h in soup.select(".facet-group h3")]
    assert facets[0] == "Typ" and "Ämne" in facets and "Språk" in facets
    topics = {t.get_text() for t in soup.select(".hit .chip.topic")}
    assert "Viktning av hållbarhet i upphandling" in topics
    # Titles and passages are shown as they were written.
    assert "Create and implement a strategy for sustainable IT" in soup.select_one(".hits").text


def test_plurals_follow_cldr_and_the_count(fresh) -> None:
    fresh.set_cookie(i18n.COOKIE, "sv")
    one = page(fresh, "/search?q=lanternquill+OR+%22Statement+of+Commitment%22&type=other")
    many = page(fresh, "/search?q=upphandling")
    total = int(text(many, "#results-h").split()[0])
    assert total > 1 and text(many, "#results-h").startswith(f"{total} dokument för")
    heading = text(one, "#results-h")
    assert heading.split()[1] == "dokument", heading
    fresh.set_cookie(i18n.COOKIE, "nb")
    many = page(fresh, "/search?q=anskaffelse")
    assert " dokumenter for " in text(many, "#results-h")
    fresh.set_cookie(i18n.COOKIE, "da")
    many = page(fresh, "/search?q=procurement")
    assert " dokumenter for " in text(many, "#results-h")
    fresh.set_cookie(i18n.COOKIE, "en")
    many = page(fresh, "/search?q=procurement")
    assert " documents for " in text(many, "#results-h")


def test_dates_and_type_names_on_a_document(fresh) -> None:
    expected = {
        "en": ("24 April 2024", "Meeting report", "Reading time"),
        "sv": ("24 april 2024", "Mötesrapport", "Lästid"),
        "nb": ("24. april 2024", "Møtereferat", "Lesetid"),
        "da": ("24. april 2024", "Mødereferat", "Læsetid"),
    }
    for lang, (date, kind, reading) in expected.items():
        fresh.set_cookie(i18n.COOKIE, lang)
        soup = page(fresh, MEETING)
        assert soup.select_one(".facts time").get_text() == date
        assert soup.select_one(".doc-head .badge").get_text() == kind
        assert reading in text(soup, ".facts")
        assert soup.select_one("#doc_title").get_text().startswith("Forum meeting, 24 April 2024")


def test_home_counts_types_and_topics_in_norwegian(fresh) -> None:
    fresh.set_cookie(i18n.COOKIE, "nb")
    soup = page(fresh, "/")
    cards = {c.select_one(".label").get_text(): int(c.select_one(".n").get_text())
             for c in soup.select(".type-card")}  # fmt: skip
    assert cards["Møtereferater"] > 1 and "Veiledninger" in cards
    topics = {c.contents[0].strip() for c in soup.select(".topics .chip")}
    assert "Klima og utslipp" in topics
    lists = soup.select(".lists-teaser .meta")
    assert lists and all(" punkter" in m.get_text() for m in lists)


def test_reading_list_and_error_pages(fresh) -> None:
    fresh.set_cookie(i18n.COOKIE, "sv")
    soup = page(fresh, "/lists/start-here")
    assert text(soup, ".progress-text") == "0 av 8 lästa"
    assert soup.select_one("button.reset").get_text() == "Börja om"
    missing = fresh.get("/doc/no/such/document")
    assert missing.status_code == 404
    soup = BeautifulSoup(missing.get_data(as_text=True), "html.parser")
    assert soup.h1.get_text() == "Sidan finns inte"


def test_the_json_api_keeps_english(fresh) -> None:
    fresh.set_cookie(i18n.COOKIE, "sv")
    english = fresh.get("/api/search?q=upphandling", headers={"Accept-Language": "en"})
    fresh.set_cookie(i18n.COOKIE, "en")
    swedish = fresh.get("/api/search?q=upphandling", headers={"Accept-Language": "sv"})
    for response in (english, swedish):
        assert response.status_code == 200
        assert "Accept-Language" not in response.headers.get("Vary", "")
    a, b = english.get_json(), swedish.get_json()
    a.pop("elapsed_ms", None), b.pop("elapsed_ms", None)
    assert a == b
    missing = fresh.get("/api/doc/no/such", headers={"Accept-Language": "sv"})
    assert missing.get_json()["error"]["message"] != "Sidan finns inte"


def test_javascript_messages_come_with_the_page(fresh) -> None:
    fresh.set_cookie(i18n.COOKIE, "nb")
    soup = page(fresh, "/lists/start-here")
    import json

    messages = json.loads(soup.html["data-messages"])
    assert messages["Copied"] == "Kopiert"
    assert messages["{done} of {total} done"] == "{done} av {total} lest"
    fresh.set_cookie(i18n.COOKIE, "en")
    assert not page(fresh, "/").html.get("data-messages")


# ---- formatting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "value", "nice", "long"),
    [
        ("en", "2024-04-24", "24 Apr 2024", "24 April 2024"),
        ("sv", "2024-04-24", "24 apr. 2024", "24 april 2024"),
        ("nb", "2024-04-24", "24. apr. 2024", "24. april 2024"),
        ("sv", "2024-05", "maj 2024", "maj 2024"),
        ("sv", None, "Odaterat", "Odaterat"),
        ("nb", "2024-02-30", "2024-02-30", "2024-02-30"),  # not a day: shown as written
        ("en", "spring 2024", "spring 2024", "spring 2024"),
    ],
)
def test_dates(bundled_app, lang: str, value, nice: str, long: str) -> None:
    with bundled_app.test_request_context("/", headers={"Cookie": f"{i18n.COOKIE}={lang}"}):
        assert i18n.nice_date(value) == nice
        assert i18n.long_date(value) == long


@pytest.mark.parametrize(
    ("lang", "minutes", "shown"),
    [
        ("en", 45, "45 min"),
        ("en", 90, "1 h 30 min"),
        ("sv", 120, "2 tim"),
        ("nb", 75, "1 t 15 min"),
    ],
)
def test_reading_times(bundled_app, lang: str, minutes: int, shown: str) -> None:
    with bundled_app.test_request_context("/", headers={"Cookie": f"{i18n.COOKIE}={lang}"}):
        assert i18n.minutes(minutes) == shown


def test_type_and_unit_plurals(bundled_app) -> None:
    with bundled_app.test_request_context("/", headers={"Cookie": f"{i18n.COOKIE}=sv"}):
        assert [i18n.type_label("meeting", n) for n in (1, 3)] == ["Mötesrapport", "Mötesrapporter"]
        assert [i18n.page_unit("Slide", n) for n in (1, 2)] == ["Bild", "Bilder"]
        assert i18n.type_label("unknown-type") == "unknown-type"
        assert i18n.language_name("no") == "Norska"
        assert i18n.topic_label("A topic only this corpus has") == "A topic only this corpus has"


# ---- compiled catalogues ------------------------------------------------------------------------------


def test_missing_or_stale_catalogues_are_compiled(tmp_path: Path) -> None:
    source = tmp_path / "translations"
    shutil.copytree(i18n.TRANSLATIONS, source, ignore=shutil.ignore_patterns("*.mo"))
    assert i18n.compile_catalogues(source) == source
    mo = source / "sv" / "LC_MESSAGES" / "messages.mo"
    assert mo.stat().st_size > 1000
    # A .po edited after its .mo is compiled again; an up-to-date .mo is left alone.
    po = mo.with_suffix(".po")
    old = time.time() - 100
    os.utime(mo, (old, old))
    i18n.compile_catalogues(source)
    assert mo.stat().st_mtime >= po.stat().st_mtime
    before = mo.stat().st_mtime_ns
    i18n.compile_catalogues(source)
    assert mo.stat().st_mtime_ns == before


def test_a_package_that_cannot_be_written_compiles_into_a_cache(
    tmp_path: Path, monkeypatch
) -> None:
    source = tmp_path / "translations"
    shutil.copytree(i18n.TRANSLATIONS, source, ignore=shutil.ignore_patterns("*.mo"))
    # A folder where the .mo should go: writing it fails for any user, root included.
    blocked = source / "sv" / "LC_MESSAGES" / "messages.mo"
    blocked.mkdir()
    os.utime(blocked, (0, 0))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    target = i18n.compile_catalogues(source)
    assert target.is_relative_to(tmp_path / "cache")
    assert (target / "sv" / "LC_MESSAGES" / "messages.mo").is_file()
    assert (target / "nb" / "LC_MESSAGES" / "messages.mo").is_file()


def test_messages_from_python_code_are_translated_where_shown(bundled_app) -> None:
    from webui import auth, oidc

    with bundled_app.test_request_context("/", headers={"Cookie": f"{i18n.COOKIE}=sv"}):
        assert i18n.translated(auth.TOO_MANY).startswith("För många misslyckade inloggningar")
        refused = i18n.translated(oidc.REFUSED).format(reason="access_denied")
        assert (
            refused.startswith("Din organisations inloggningstjänst") and "access_denied" in refused
        )
        assert i18n.translated("Text that came from data") == "Text that came from data"


def test_the_cite_page_names_formats_in_the_interface_language(fresh) -> None:
    fresh.set_cookie(i18n.COOKIE, "sv")
    soup = page(fresh, "/cite/guides/strategy-for-sustainable-it")
    headings = [h.get_text() for h in soup.select(".cite-format h2")]
    assert headings[0].startswith("Oformaterad text") and "BibTeX" in headings
    assert text(soup, ".cite-styles").startswith("Referensstil:")
    api = fresh.get("/api/cite/guides/strategy-for-sustainable-it").get_json()
    assert "Plain text" in str(api) and "Oformaterad" not in str(api)
