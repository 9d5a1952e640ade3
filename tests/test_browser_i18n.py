"""The members' main journey in Swedish, in real headless Chromium against `kb serve`: choose
Swedish in the header, search, filter, open a result, cite it, tick off a reading list.

With `KB_SCREENSHOTS=docs/screenshots`, `test_swedish_screenshots` writes the README's
screenshots of the Swedish interface (from a pristine copy of the bundled corpus).
"""

from __future__ import annotations

import re

import pytest

from tests.prerequisites import needs
from tests.test_browser import (
    DESKTOP,
    MOBILE,
    browser,
    context,
    expect,
    page,
    server,
    take_screenshots,
)

__all__ = ["browser", "context", "page", "server"]  # fixtures, shared with test_browser.py

pytestmark = [pytest.mark.browser, needs("chromium", "playwright")]


def test_search_filter_open_cite_and_read_in_swedish(page):
    # An English browser: the interface starts in English, and the header offers Swedish.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    switcher = page.get_by_role("navigation", name="Language of the site")
    expect(switcher.locator("summary")).to_have_text("English")
    switcher.locator("summary").click()  # a disclosure: one keyboard stop, no script
    switcher.get_by_role("link", name="Svenska").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.locator("#hero-h")).to_have_text("Vad har nätverket lärt sig?")
    expect(page.locator(".type-card").first).to_contain_text("Mötesrapporter")

    # Search: the heading counts documents in Swedish, the facets are Swedish.
    page.get_by_label("Sök i kunskapsbanken").fill("upphandling")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=upphandling$"))
    expect(page.locator("h1")).to_contain_text("dokument för")
    total = int(page.locator("h1").inner_text().split()[0])
    page.locator(".facet-group", has_text="Typ").get_by_role(
        "link", name=re.compile("Vägledning")
    ).click()
    page.wait_for_url(re.compile(r"type=guide"))
    expect(page.locator(".chip.removable")).to_contain_text("Typ: Vägledning")
    assert set(page.locator(".hit .badge").all_inner_texts()) == {"Vägledning"}
    assert int(page.locator("h1").inner_text().split()[0]) < total

    # Open the first result: its best passage is highlighted, the title stays as written.
    link = page.locator(".hit h3 a").first
    title = link.inner_text()
    anchor = link.get_attribute("href").split("#", 1)[1]
    link.click()
    page.wait_for_url(re.compile(r"/doc/.+\?q=upphandling"))
    expect(page.locator("h1")).to_have_text(title)
    passage = page.locator(f'section.passage[id="{anchor}"]')
    expect(passage).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(page.locator(".highlight-info")).to_contain_text("markerad")
    expect(page.locator(".facts")).to_contain_text("Lästid")

    # Cite the passage: the menu is Swedish (kb.js reads the page's messages).
    passage.locator("details.cite summary").click()
    select = passage.get_by_label("Format")
    select.select_option("bibtex")
    expect(passage.locator("textarea")).to_have_value(re.compile(r"^@\w+\{"))
    passage.get_by_role("button", name="Kopiera").click()
    expect(passage.locator(".copy-status")).to_have_text("Kopierat")
    expect(passage.get_by_role("link", name="Ladda ned", exact=True)).to_be_visible()

    # A reading list: progress counts in Swedish, and the choice outlives the page.
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Läslistor").click()
    page.wait_for_url(re.compile(r"/lists$"))
    expect(page.locator("h1")).to_have_text("Läslistor")
    page.locator('.list-card[data-list="start-here"] h2 a').click()
    page.wait_for_url(re.compile(r"/lists/start-here$"))
    expect(page.locator(".progress-text")).to_have_text("0 av 8 lästa")
    page.locator("input.done").first.check()
    expect(page.locator(".progress-text")).to_have_text("1 av 8 lästa")
    page.get_by_role("button", name="Börja om").click()
    expect(page.locator(".progress-text")).to_have_text("0 av 8 lästa")

    # Back to English from the same switcher, on the same page.
    switcher = page.get_by_role("navigation", name="Webbplatsens språk")
    expect(switcher.locator("summary")).to_have_text("Svenska")
    switcher.locator("summary").click()
    switcher.get_by_role("link", name="English").click()
    page.wait_for_url(re.compile(r"/lists/start-here$"))
    expect(page.locator(".progress-text")).to_have_text("0 of 8 done")


def test_the_switcher_works_without_javascript(browser, server):
    ctx = browser.new_context(base_url=server, java_script_enabled=False, viewport=MOBILE)
    page = ctx.new_page()
    try:
        page.goto("/search?q=lifespan")
        page.locator("nav.languages summary").click()
        page.get_by_role("link", name="Norsk (bokmål)").click()
        page.wait_for_url(re.compile(r"/search\?q=lifespan$"))
        expect(page.locator("html")).to_have_attribute("lang", "nb")
        expect(page.locator("h1")).to_contain_text("dokumenter for")
    finally:
        ctx.close()


def test_a_norwegian_browser_gets_bokmal(browser, server):
    ctx = browser.new_context(base_url=server, viewport=DESKTOP, locale="nb-NO")
    page = ctx.new_page()
    try:
        page.goto("/search?q=anskaffelse")
        expect(page.locator("html")).to_have_attribute("lang", "nb")
        expect(page.locator("h1")).to_contain_text("dokumenter for")
        expect(page.locator(".facet-group h3").first).to_have_text("Type")
    finally:
        ctx.close()


SHOTS_SV = [("search", "/search?q=upphandling+klimatkrav")]


def test_swedish_screenshots(browser, server, tmp_path_factory):
    """Search results in Swedish at 1280 and 360 px; with KB_SCREENSHOTS=<dir>, for the
    README (`search-desktop-sv.png`, `search-mobile-sv.png`)."""
    take_screenshots(browser, server, tmp_path_factory, SHOTS_SV, "-sv", locale="sv-SE")
