"""Accessibility in real Chromium (ISSUE 18 item 6): axe-core finds no serious or critical
violation on any page type at desktop and phone widths; keyboard users reach the first result
in a few Tab presses; the "/" hint is not shown on touch screens; foreign-language content
carries its `lang`.

The server and the browser are test_browser.py's (`kb serve` over a copy of the bundled
corpus, Debian's headless Chromium); axe-core comes from npm (`make browser`).
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from tests.prerequisites import AXE, needs
from tests.test_browser import (  # noqa: F401  (browser, server: fixtures)
    COORDINATOR,
    COORDINATOR_PASSWORD,
    DESKTOP,
    MEMBER,
    MEMBER_PASSWORD,
    MOBILE,
    Watch,
    browser,
    focused,
    server,
)

pytestmark = [pytest.mark.browser, needs("chromium", "playwright")]

PDF_DOC = "guides/extend-lifespan-of-it-products"
PAGES = {
    "home": "/",
    "search results": "/search?q=lifespan",
    "no results": "/search?q=zzqqxxnothing",
    "document": "/doc/articles/sa-kan-samverkan-mellan-inkopare-driva-omstallning",
    "PDF passage": f"/doc/{PDF_DOC}",
    "reading lists": "/lists",
    "reading list": "/lists/start-here",
    "cite": f"/cite/{PDF_DOC}",
    "sign-in": "/sign-in",
    "not found": "/doc/no/such/document",
    "error": "/sign-out",  # GET of a form-only address: the 405 error page
}
VIEWPORTS = {"desktop": DESKTOP, "phone": MOBILE}


@pytest.fixture
def open_page(browser, server):  # noqa: F811
    """A page at a given viewport (and touch emulation), closed after the test."""
    contexts = []

    def make(viewport: dict, **options):
        ctx = browser.new_context(base_url=server, viewport=viewport, **options)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        page.watch = Watch(page)
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations of the page as it is now."""
    # Evaluated through the DevTools protocol: the site's Content-Security-Policy, which
    # forbids inline and foreign scripts, stays on for the page itself.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


@needs("axe-core")
@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_axe_violation(open_page, name: str, viewport: str) -> None:
    page = open_page(VIEWPORTS[viewport])
    response = page.goto(PAGES[name])
    assert response is not None
    if name in ("not found", "error"):
        assert response.status >= 400, name
    else:
        assert response.status == 200, (name, response.status)
    assert axe_violations(page) == [], (name, viewport)


def sign_in(page, email: str, password: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def assert_pages_pass_axe(page, pages: dict[str, str], viewport: str) -> None:
    for name, path in pages.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, (name, path)
        assert axe_violations(page) == [], (name, viewport)


# Pages only a signed-in member sees.
MEMBER_PAGES = {"API tokens": "/account/tokens", "members' search": "/search?q=footprint"}


@needs("axe-core")
@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_no_serious_axe_violation_signed_in(open_page, viewport: str) -> None:
    page = open_page(VIEWPORTS[viewport])
    sign_in(page, MEMBER, MEMBER_PASSWORD)
    assert_pages_pass_axe(page, MEMBER_PAGES, viewport)


# Pages only a coordinator sees.
COORDINATOR_PAGES = {"search insights": "/insights", "insights, 7 days": "/insights?days=7"}


@needs("axe-core")
@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_no_serious_axe_violation_for_coordinators(open_page, viewport: str) -> None:
    page = open_page(VIEWPORTS[viewport])
    page.goto("/search?q=climate")  # something for the insights page to show
    sign_in(page, COORDINATOR, COORDINATOR_PASSWORD)
    assert_pages_pass_axe(page, COORDINATOR_PAGES, viewport)


def tabs_to_first_result(page, limit: int = 60) -> int:
    """Tab presses from the top of a search page until the first result's link has focus."""
    page.goto("/search?q=lifespan+repair")
    first = page.locator(".hit h3 a").first.get_attribute("href")
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if focused(page)["href"] == first:
            return presses
    return limit + 1


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_skip_to_results_is_the_first_stop(open_page, viewport: str) -> None:
    page = open_page(VIEWPORTS[viewport])
    page.goto("/search?q=lifespan+repair")
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip["text"] == "Skip to results"
    # Visible once focused: inside the viewport, not off-screen.
    box = page.locator("a.skip", has_text="Skip to results").bounding_box()
    assert box is not None and box["y"] >= 0 and box["height"] > 0
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "kb_results"
    page.keyboard.press("Tab")
    first = page.locator(".hit h3 a").first.get_attribute("href")
    assert focused(page)["href"] == first


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_few_tabs_reach_the_first_result(open_page, viewport: str) -> None:
    """Without the skip link too: the results come before the filters in the page (about 33
    presses reached the first result when the filters came first)."""
    page = open_page(VIEWPORTS[viewport])
    presses = tabs_to_first_result(page)
    assert presses <= 15, (viewport, presses)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_filters_are_shown_beside_or_above_the_results(open_page, viewport: str) -> None:
    page = open_page(VIEWPORTS[viewport])
    page.goto("/search?q=lifespan")
    panel = page.locator(".facet-panel").bounding_box()
    results = page.locator(".results").bounding_box()
    assert panel and results
    if viewport == "desktop":
        assert panel["x"] + panel["width"] <= results["x"]  # the left column
    else:
        assert panel["y"] + panel["height"] <= results["y"]  # collapsed, above


def test_slash_hint_is_hidden_on_touch_screens(open_page) -> None:
    desktop = open_page(DESKTOP)
    desktop.goto("/search?q=lifespan")
    assert desktop.locator(".key-hint").is_visible()
    touch = open_page(MOBILE, has_touch=True, is_mobile=True)
    touch.goto("/search?q=lifespan")
    assert touch.evaluate("matchMedia('(hover: none), (pointer: coarse)').matches")
    assert not touch.locator(".key-hint").is_visible()
    assert "/" not in (touch.locator("#kb_q").get_attribute("placeholder") or "")


def test_foreign_language_content_carries_its_lang(open_page) -> None:
    page = open_page(DESKTOP)
    page.goto("/search?q=upphandling")
    html = BeautifulSoup(page.content(), "html.parser")
    assert html.html["lang"] == "en"  # the interface's language
    langs = {h.get("lang") for h in html.select(".hit h3")}
    assert "sv" in langs or "no" in langs, langs
    for hit in html.select(".hit"):
        title, snippet = hit.select_one("h3"), hit.select_one(".snippet")
        assert title.get("lang"), title
        if snippet is not None:
            assert snippet.get("lang") == title.get("lang")
    swedish = next(h for h in html.select(".hit h3") if h.get("lang") in ("sv", "no"))
    page.goto(swedish.a["href"])
    doc = BeautifulSoup(page.content(), "html.parser")
    assert doc.select_one("#doc_title")["lang"] == swedish["lang"]
    assert doc.select_one(".doc-text")["lang"] == swedish["lang"]
    assert re.fullmatch(r"[a-z]{2,3}", swedish["lang"])
