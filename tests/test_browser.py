"""Members' journeys in real headless Chromium (Debian's /usr/bin/chromium) against `kb serve`.

The server runs as a subprocess on a free port of 127.0.0.1, over a copy of the bundled corpus
plus a document whose text tries to run script. `KB_SCREENSHOTS=docs/screenshots` makes
`test_screenshots` write the README's screenshots (from a pristine copy of the bundled corpus).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from indexer.build import run_index
from kb.accounts import AccountStore
from kb.insights import query_ref
from kb.settings import Settings
from tests.conftest import BUNDLED_CORPUS, ROOT
from tests.prerequisites import CHROMIUM, needs

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
# A member of IKEA, whose password is hashed cheaply (argon2id all the same) for the test.
MEMBER, MEMBER_PASSWORD = "ann@ikea.example", "violet kettle under 9 moons"
COORDINATOR, COORDINATOR_PASSWORD = "cay@atea.example", "amber ferry over 7 hills"
MEMBERS_NOTE = "Forum meeting, 11 December 2024 (members' notes)"  # visibility: members
MOBILE = {"width": 360, "height": 780}

pytestmark = [
    pytest.mark.browser,
    needs("chromium", "playwright"),
]
try:  # without playwright every test here is a skip, or under CI a failure (`needs`)
    from playwright import sync_api
    from playwright.sync_api import expect
except ImportError:
    sync_api = expect = None

EVIL_DOC = """---
title: "<script>alert(1)</script> Hostile title <img src=x onerror=alert(1)>"
type: other
date: 2001-01-01
description: "<img src=x onerror=alert(1)> in the description"
source_url: "javascript:alert(1)"
---
# <script>alert(1)</script> Hostile title

Text with <script>alert(1)</script>, <img src=x onerror=alert(1)> and
[a link](javascript:alert(1)) and <a href="javascript:alert(1)">another</a> hostilemarker.

Quoted: `<script>alert(1)</script>`, `<a href="javascript:alert(1)">x</a>` and javascript:alert(1).
"""


# ---- the server and the browser -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def kb_server(corpus: Path, index: Path, port: int | None = None) -> Iterator[str]:
    """`kb serve` in a subprocess (on `port`, else a free one); yields its base URL once
    /healthz answers."""
    port = port or free_port()
    command = [sys.executable, "-c", "from cli import main; main()", "--corpus", str(corpus),
               "--index", str(index), "serve", "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                output = proc.communicate()[0]
                pytest.fail(f"kb serve did not start:\n{output}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def indexed_copy(base: Path, extra: dict[str, str] | None = None) -> Settings:
    corpus = base / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)
    for rel, text in (extra or {}).items():
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_text(text, encoding="utf-8")
    settings = Settings.resolve(corpus, base / "index")
    report = run_index(settings, workers=1)
    assert report.summary["failed"] == 0
    return settings


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    settings = indexed_copy(tmp_path_factory.mktemp("browser"), {"about/hostile.md": EVIL_DOC})
    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    accounts = AccountStore(settings.accounts_path, hasher=fast)
    accounts.add(MEMBER, "ikea", MEMBER_PASSWORD)
    accounts.add(COORDINATOR, "atea", COORDINATOR_PASSWORD, role="coordinator")
    with kb_server(settings.corpus, settings.index) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watch:
    """What a page did that it should not: script errors, failed resources, dialogs."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: self.errors.append(msg.text) if msg.type == "error" else None,
        )

        def dialog(d) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)


@pytest.fixture
def context(browser, server):
    ctx = browser.new_context(base_url=server, viewport=DESKTOP)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.watch = Watch(page)
    yield page
    assert page.watch.errors == [], page.watch.errors
    assert page.watch.dialogs == []


def focused(page) -> dict:
    return page.evaluate(
        """() => { const e = document.activeElement;
                   return {tag: e.tagName, id: e.id, text: (e.textContent || '').trim(),
                           href: e.getAttribute('href') || '', outline: getComputedStyle(e).outlineStyle}; }"""
    )


def in_viewport(locator) -> bool:
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.top >= -2 && r.top < innerHeight; }"
    )


# ---- journeys ---------------------------------------------------------------------------------------


def test_search_facet_open_result_land_and_cite(page, server):
    page.goto("/")
    page.keyboard.press("/")
    expect(page.locator("#kb_q")).to_be_focused()
    page.keyboard.type("weighting climate")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=weighting\+climate$"))
    expect(page.locator("h1")).to_contain_text("documents for")
    total = int(page.locator("h1").inner_text().split()[0])

    # A facet narrows the results; the URL holds it, so back and forward work.
    page.locator(".facet-group", has_text="Type").get_by_role(
        "link", name=re.compile("Best-practice guide")
    ).click()
    page.wait_for_url(re.compile(r"type=guide"))
    expect(page.locator(".chip.removable")).to_contain_text("Type: Best-practice guide")
    badges = page.locator(".hit .badge").all_inner_texts()
    assert badges and set(badges) == {"Best-practice guide"}
    assert int(page.locator("h1").inner_text().split()[0]) < total
    page.go_back()
    page.wait_for_url(re.compile(r"/search\?q=weighting\+climate$"))
    expect(page.locator(".chip.removable")).to_have_count(0)
    page.go_forward()
    page.wait_for_url(re.compile(r"type=guide"))

    # Open the first result: land on its best passage, highlighted, words marked.
    link = page.locator(".hit h3 a").first
    href = link.get_attribute("href")
    anchor = href.split("#", 1)[1]
    link.click()
    came_from = "&from=" + query_ref("weighting climate")  # counted in search insights
    page.wait_for_url(
        re.compile(r"/doc/.+\?q=weighting\+climate" + re.escape(came_from + "#" + anchor))
    )
    passage = page.locator(f'section.passage[id="{anchor}"]')
    expect(passage).to_have_class(re.compile(r"\bhighlighted\b"))
    assert in_viewport(passage)
    assert passage.locator("mark").count() > 0
    expect(page.locator(".highlight-info")).to_contain_text("highlighted")

    # Cite it: in APA 7 first, then in IEEE, the choice remembered for the next Cite box.
    passage.locator("details.cite summary").click()
    select = passage.get_by_label("Format")
    expect(select).to_be_visible()
    area = passage.locator("textarea")
    expect(area).to_have_value(re.compile(r"\. \(\d{4}\)\. .*\nIn text: \(.+, \d{4}"))
    passage.get_by_label("Style").select_option("ieee")
    expect(area).to_have_value(re.compile(r"^\[1\] .*\nIn text: \[1"))
    assert page.evaluate("JSON.parse(localStorage.getItem('kb:cite-style'))") == "ieee"
    select = passage.get_by_label("Format")
    download = passage.get_by_role("link", name="Download")
    assert "format=text&style=ieee&download=1" in download.get_attribute("href")
    # BibTeX, RIS and CSL-JSON have no style: the style menu goes away with them.
    select.select_option("bibtex")
    expect(passage.get_by_label("Style")).to_be_hidden()
    area = passage.locator("textarea")
    expect(area).to_have_value(re.compile(r"^@\w+\{"))
    passage.get_by_role("button", name="Copy").click()
    expect(passage.locator(".copy-status")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == area.input_value()
    assert f"#{anchor}" in copied and "?v=" in copied
    download = passage.get_by_role("link", name="Download")
    assert "format=bibtex&download=1" in download.get_attribute("href")


def test_sign_in_search_see_a_members_result_sign_out_and_it_is_gone(page):
    search = "/search?q=questionnaire+footprint"
    titles = page.locator(".hit h3 a")
    page.goto(search)
    expect(page.locator("h1")).to_contain_text("documents for")
    assert MEMBERS_NOTE not in titles.all_inner_texts()
    hint = page.get_by_role("link", name="Sign in to see members' documents")
    expect(hint).to_be_visible()

    # Sign in through the hint: the form brings the member back to the same search.
    hint.click()
    page.wait_for_url(re.compile(r"/sign-in\?next="))
    page.get_by_label("Email address").fill(MEMBER)
    page.get_by_label("Password").fill(MEMBER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/search\?q=questionnaire\+footprint$"))
    expect(page.locator(".nav-account")).to_contain_text(f"Signed in as {MEMBER}")
    expect(page.locator(".members-hint")).to_have_count(0)
    expect(titles.filter(has_text=MEMBERS_NOTE)).to_have_count(1)

    # The members' note opens, and its page is never kept by a cache.
    titles.filter(has_text=MEMBERS_NOTE).click()
    page.wait_for_url(re.compile(r"/doc/meetings/2024-12-11-forum-meeting"))
    expect(page.locator("h1")).to_contain_text("members' notes")
    document_url = page.url.split("?")[0]
    response = page.request.get(document_url)
    assert response.status == 200
    assert response.headers["cache-control"] == "private, no-store"

    # Sign out: the search no longer finds the note, and the note is not found at all.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    # Back: the note's page is asked for again (never kept by the browser), and is not found.
    page.go_back()
    expect(page.locator("h1")).to_have_text("Page not found")
    page.goto(search)
    expect(page.locator("h1")).to_contain_text("documents for")
    assert MEMBERS_NOTE not in titles.all_inner_texts()
    expect(page.get_by_role("link", name="Sign in to see members' documents")).to_be_visible()
    gone = page.goto(document_url)
    assert gone is not None and gone.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    # The two 404s asked for above, and nothing else, are the page's console errors.
    not_found = "Failed to load resource: the server responded with a status of 404 (NOT FOUND)"
    assert page.watch.errors == [not_found] * 2
    page.watch.errors.clear()


def test_keyboard_only_search(page):
    page.goto("/")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to content"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "kb_main"
    # Tab from the top of main reaches the search box; type and submit with Enter.
    for _ in range(10):
        page.keyboard.press("Tab")
        if focused(page)["id"] == "kb_q":
            break
    assert focused(page)["id"] == "kb_q"
    page.keyboard.type("lifespan repair")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=lifespan\+repair"))

    # Tab through the page (every stop visibly focused) to the first result, open it.
    first = page.locator(".hit h3 a").first.get_attribute("href")
    for _ in range(80):
        page.keyboard.press("Tab")
        now = focused(page)
        assert now["tag"] == "BODY" or now["outline"] != "none", now
        if now["href"] == first:
            break
    assert focused(page)["href"] == first
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/doc/"))
    anchor = first.split("#", 1)[1]
    expect(page.locator(f'section.passage[id="{anchor}"]')).to_have_class(
        re.compile(r"\bhighlighted\b")
    )
    # "/" jumps back to the search box from anywhere.
    page.keyboard.press("/")
    expect(page.locator("#kb_q")).to_be_focused()


def test_hostile_document_renders_as_text_and_runs_nothing(page):
    page.goto("/search?q=hostilemarker")
    title = page.locator(".hit h3 a").first
    expect(title).to_contain_text(
        "<script>alert(1)</script> Hostile title <img src=x onerror=alert(1)>"
    )
    title.click()
    page.wait_for_url(re.compile(r"/doc/about/hostile"))
    expect(page.locator("h1")).to_have_text(
        "<script>alert(1)</script> Hostile title <img src=x onerror=alert(1)>"
    )
    expect(page.locator(".doc-text")).to_contain_text("Quoted: <script>alert(1)</script>")
    expect(page.locator(".doc-text")).to_contain_text('<a href="javascript:alert(1)">x</a>')
    expect(page.locator(".doc-text")).to_contain_text("and javascript:alert(1).")
    counts = page.evaluate(
        """() => ({inline: document.querySelectorAll('script:not([src])').length,
                  images: document.querySelectorAll('main img').length,
                  jsLinks: [...document.querySelectorAll('a')].filter(a => a.href.startsWith('javascript:')).length})"""
    )
    assert counts == {"inline": 0, "images": 0, "jsLinks": 0}
    page.locator("details.cite summary").first.click()
    expect(page.locator("details.cite textarea").first).to_have_value(re.compile("Hostile title"))
    page.goto("/cite/about/hostile")
    expect(page.locator("h1")).to_contain_text("<script>alert(1)</script>")
    assert page.watch.dialogs == []


def test_reading_list_progress_survives_a_reload(page):
    page.goto("/lists/start-here")
    progress = page.locator("progress")
    expect(progress).to_be_visible()
    expect(page.locator(".progress-text")).to_have_text("0 of 8 done")
    page.get_by_label("Done: The Leaders: members of ASF Leadership for Change").check()
    page.locator("input.done").nth(0).check()
    expect(page.locator(".progress-text")).to_have_text("2 of 8 done")
    assert progress.evaluate("e => e.value") == 2
    page.reload()
    expect(page.locator(".progress-text")).to_have_text("2 of 8 done")
    assert page.locator("input.done").nth(0).is_checked()
    assert page.locator("input.done").nth(2).is_checked()
    assert not page.locator("input.done").nth(1).is_checked()
    expect(page.locator(".reading-item.is-done")).to_have_count(2)
    page.goto("/lists")
    expect(page.locator('.list-card[data-list="start-here"] .list-progress')).to_have_text(
        " · 2 of 8 done"
    )
    page.goto("/lists/start-here")
    page.get_by_role("button", name="Start over").click()
    expect(page.locator(".progress-text")).to_have_text("0 of 8 done")
    page.reload()
    expect(page.locator(".progress-text")).to_have_text("0 of 8 done")


def test_permalinks_whose_passage_changed_or_vanished(page):
    doc = "/doc/guides/strategy-for-sustainable-it"
    page.goto(f"{doc}#no-such-anchor")
    notice = page.locator("#kb_missing_anchor")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("no longer in this document")
    expect(page.locator("h1")).to_be_visible()

    data = page.request.get(f"/api{doc}").json()
    moved = data["passages"][2]
    page.goto(f"{doc}?v={moved['text_hash']}#old-anchor")
    expect(notice).to_contain_text("has moved")
    expect(page.locator(f'section[id="{moved["anchor"]}"]')).to_have_class(
        re.compile("highlighted")
    )

    page.goto(f"{doc}?v=0123456789ab#{moved['anchor']}")
    expect(page.locator(".notice.changed")).to_contain_text(
        "This passage has changed since it was cited."
    )
    expect(notice).to_be_hidden()


def test_works_without_javascript(browser, server):
    ctx = browser.new_context(base_url=server, java_script_enabled=False, viewport=DESKTOP)
    page = ctx.new_page()
    try:
        page.goto("/")
        page.locator("#kb_q").fill("lifespan")
        page.locator("#kb_q").press("Enter")
        page.wait_for_url(re.compile(r"/search\?q=lifespan"))
        page.locator(".facet-group", has_text="Type").locator("a").first.click()
        page.wait_for_url(re.compile(r"type="))
        page.locator(".hit h3 a").first.click()
        page.wait_for_url(re.compile(r"/doc/"))
        cite = page.locator("section.passage details.cite").first
        cite.locator("summary").click()
        expect(cite.get_by_role("link", name="BibTeX")).to_be_visible()
        cite.get_by_role("link", name="all formats on one page").click()
        page.wait_for_url(re.compile(r"/cite/"))
        expect(page.locator("pre")).to_have_count(5)
        page.goto("/lists/start-here")
        expect(page.locator(".reading-item")).to_have_count(8)
        expect(page.locator(".progress-box")).to_be_hidden()
        expect(page.locator("input.done").first).to_be_hidden()
    finally:
        ctx.close()


def test_suggestions_fill_the_search_box_list(page):
    page.goto("/search")
    page.locator("#kb_q").press_sequentially("proc", delay=20)
    options = page.locator("#kb_suggestions option")
    expect(options.first).to_be_attached()
    assert "procurement" in [o.get_attribute("value") for o in options.all()]


def test_small_screens_and_print(browser, server):
    ctx = browser.new_context(base_url=server, viewport=MOBILE)
    page = ctx.new_page()
    try:
        for url in ("/", "/search?q=weighting+climate", "/search", "/doc/guides/extend-lifespan-of-it-products",
                    "/doc/guides/strategy-for-sustainable-it", "/lists", "/lists/start-here",
                    "/cite/guides/strategy-for-sustainable-it", "/no-such-page"):  # fmt: skip
            page.goto(url)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= MOBILE["width"], (url, width)
        page.goto("/search?q=weighting+climate")
        assert page.locator("details.facet-panel").evaluate("e => e.open") is False
        page.goto("/lists/start-here")
        page.emulate_media(media="print")
        expect(page.locator("header.site")).to_be_hidden()
        expect(page.locator(".progress-box")).to_be_hidden()
        expect(page.locator(".reading-item")).to_have_count(8)
        expect(page.locator(".print-only").first).to_be_visible()
    finally:
        ctx.close()


SHOTS = [
    ("home", "/"),
    ("search", "/search?q=weighting+climate+criteria"),
    ("document", "/doc/meetings/2024-04-24-forum-meeting?q=weighting"),
]


def test_screenshots(browser, server, tmp_path_factory):
    """Home, search and document at 1280 and 360 px; with KB_SCREENSHOTS=<dir>, for the README."""
    take_screenshots(browser, server, tmp_path_factory, SHOTS)


def take_screenshots(browser, server, tmp_path_factory, shots, suffix: str = "", **options):
    """Each (name, url) of `shots` at both widths, as `<name>-<width><suffix>.png`: into
    $KB_SCREENSHOTS from a pristine copy of the bundled corpus, else into a temporary folder
    from `server`. `options` go to the browser context (e.g. its locale)."""
    target = os.environ.get("KB_SCREENSHOTS")
    if target:
        out = Path(target)
        settings = indexed_copy(tmp_path_factory.mktemp("shots"))
        serving = kb_server(settings.corpus, settings.index)
    else:
        out = tmp_path_factory.mktemp("screenshots")
        serving = _already(server)
    out.mkdir(parents=True, exist_ok=True)
    with serving as base:
        for label, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
            ctx = browser.new_context(
                base_url=base, viewport=viewport, device_scale_factor=1, **options
            )
            page = ctx.new_page()
            for name, url in shots:
                page.goto(url)  # once to warm the server's caches, so the time shown is typical
                page.goto(url)
                page.wait_for_load_state("networkidle")
                path = out / f"{name}-{label}{suffix}.png"
                page.screenshot(path=str(path))
                assert path.stat().st_size < 400_000
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            ctx.close()


@contextmanager
def _already(base: str) -> Iterator[str]:
    yield base
