"""Content in another language than the interface's carries its `lang`, taken from the
document's language metadata, so screen readers switch voice (ISSUE 18 item 6); the page's
own <html lang> stays the interface's language."""

from __future__ import annotations

from bs4 import BeautifulSoup

SWEDISH = "articles/sa-kan-samverkan-mellan-inkopare-driva-omstallning"
NORWEGIAN = "articles/klimakrav-30-prosent-i-offentlige-anskaffelser"


def soup(client, path: str) -> BeautifulSoup:
    response = client.get(path)
    assert response.status_code == 200, path
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_document_page_title_description_and_text(client) -> None:
    for doc_id, lang in ((SWEDISH, "sv"), (NORWEGIAN, "no")):
        page = soup(client, f"/doc/{doc_id}")
        assert page.html["lang"] == "en"
        assert page.select_one("#doc_title")["lang"] == lang
        assert page.select_one(".doc-text")["lang"] == lang
        # The interface around it (facts, tools) stays in the page's language.
        assert not page.select_one(".facts").get("lang")


def test_result_titles_and_snippets(client) -> None:
    page = soup(client, "/search?q=upphandling+OR+anskaffelser")
    hits = page.select(".hit")
    assert hits
    langs = set()
    for hit in hits:
        title = hit.select_one("h3")
        langs.add(title["lang"])
        snippet = hit.select_one(".snippet")
        if snippet is not None:
            assert snippet["lang"] == title["lang"]
    assert {"sv", "no"} <= langs, langs


def test_reading_list_items_and_latest_documents(client) -> None:
    page = soup(client, "/lists/procurement-weighting")
    items = {a["href"].split("#")[0]: a.get("lang") for a in page.select(".item-title a")}
    assert items[f"/doc/{SWEDISH}"] == "sv"
    assert items[f"/doc/{NORWEGIAN}"] == "no"
    assert items["/doc/about/statement-of-commitment"] == "en"
    home = soup(client, "/")
    assert all(a.get("lang") for a in home.select(".latest a.title"))
