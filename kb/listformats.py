"""Reading lists written out: the JSON shape (`kb lists --format json`, `/api/lists`), text
for the terminal, and Markdown."""

from __future__ import annotations

import textwrap

from kb.cite import parse_ref
from kb.citeformats import markdown_escape as esc
from kb.doctypes import TYPE_LABELS
from kb.documents import permalink
from kb.formats import page_unit
from kb.readinglists import ListProblem, ReadingList, ResolvedItem, sections


def list_summary_dict(reading_list: ReadingList) -> dict:
    """One line of `kb lists --json` and `/api/lists`."""
    return {
        "slug": reading_list.slug,
        "title": reading_list.title,
        "audience": reading_list.audience,
        "description": reading_list.description,
        "estimated_minutes": reading_list.estimated_minutes,
        "item_count": len(reading_list.items),
        "path": reading_list.path,
    }


def reading_lists_dict(lists: list[ReadingList], problems: list[ListProblem]) -> dict:
    """Every reading list and the problems found in their files (`kb lists --json`,
    `/api/lists`)."""
    return {
        "lists": [list_summary_dict(r) for r in lists],
        "problems": [p.to_dict() for p in problems],
    }


def item_dict(r: ResolvedItem, base_url: str) -> dict:
    doc_id, anchor = parse_ref(r.item.ref)
    out = {
        "number": r.item.number,
        "ref": r.item.ref,
        "note": r.item.note,
        "section": r.item.section,
        "minutes": r.item.minutes,
        "doc_id": doc_id,
        "anchor": anchor,
        "missing": r.problem,
        "title": None,
        "type": None,
        "type_label": None,
        "date": None,
        "language": None,
        "page": None,
        "heading_path": [],
        "permalink": None,
    }
    if r.doc is not None and r.problem is None:
        meta = r.doc.meta
        out.update(
            {
                "title": meta.title,
                "type": meta.type,
                "type_label": TYPE_LABELS.get(meta.type, meta.type),
                "date": meta.date,
                "language": meta.language,
                "permalink": permalink(base_url, doc_id, anchor),
            }
        )
        if r.passage is not None:
            out["page"] = r.passage.page
            out["heading_path"] = list(r.passage.heading_path)
    return out


def list_dict(reading_list: ReadingList, resolved: list[ResolvedItem], base_url: str) -> dict:
    """The JSON shape of one list (`kb lists SLUG --format json`, `/api/lists/<slug>`).

    `items` in order, each with `missing` (null, or why the ref does not resolve); `sections`
    groups consecutive items by section as lists of item numbers.
    """
    return {
        **list_summary_dict(reading_list),
        "missing": sum(1 for r in resolved if r.problem),
        "items": [item_dict(r, base_url) for r in resolved],
        "sections": [
            {"title": title, "items": [r.item.number for r in group]}
            for title, group in sections(resolved)
        ],
    }


# ---- text and Markdown -----------------------------------------------------------------------


def _duration(minutes: int | None) -> str:
    if not minutes:
        return ""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"about {minutes} min"
    return f"about {hours} h {rest} min" if rest else f"about {hours} h"


def list_facts(reading_list: ReadingList) -> str:
    """`For: New members · 8 items · about 55 min`."""
    n = len(reading_list.items)
    parts = [f"For: {reading_list.audience}"] if reading_list.audience else []
    parts.append(f"{n} item{'s' if n != 1 else ''}")
    if reading_list.estimated_minutes:
        parts.append(_duration(reading_list.estimated_minutes))
    return " · ".join(parts)


def _item_facts(r: ResolvedItem) -> str:
    facts = []
    if r.doc is not None:
        facts.append(TYPE_LABELS.get(r.doc.meta.type, r.doc.meta.type))
        if r.doc.meta.date:
            facts.append(r.doc.meta.date)
    if r.passage is not None:
        if r.passage.heading_path:
            facts.append(f"§ {r.passage.heading_path[-1]}")
        if r.passage.page:
            slide = r.doc is not None and page_unit(r.doc.format) == "slide"
            facts.append(f"slide {r.passage.page}" if slide else f"p. {r.passage.page}")
    if r.item.minutes:
        facts.append(f"{r.item.minutes} min")
    return ", ".join(facts)


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(
        text, 88, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )


def render_text(reading_list: ReadingList, resolved: list[ResolvedItem]) -> str:
    """A list for the terminal: sections, numbered items, notes; missing items marked."""
    out = [reading_list.title, list_facts(reading_list)]
    if reading_list.description:
        out += ["", _wrap(reading_list.description)]
    for section, group in sections(resolved):
        out.append("")
        if section:
            out += [section, "-" * len(section)]
        for r in group:
            if r.problem:
                out.append(f"{r.item.number:>2}. [missing: {r.problem}]")
            else:
                facts = _item_facts(r)
                out.append(f"{r.item.number:>2}. {r.doc.title}" + (f" ({facts})" if facts else ""))
            out.append(f"    {r.item.ref}")
            if r.item.note:
                out.append(_wrap(r.item.note, "    "))
    return "\n".join(out)


def render_markdown(reading_list: ReadingList, resolved: list[ResolvedItem], base_url: str) -> str:
    """A list as Markdown: sections as headings, items as a numbered list with links."""
    out = [f"# {esc(reading_list.title)}", "", f"*{esc(list_facts(reading_list))}*"]
    if reading_list.description:
        out += ["", esc(reading_list.description)]
    for section, group in sections(resolved):
        out.append("")
        if section:
            out += [f"## {esc(section)}", ""]
        for r in group:
            if r.problem:
                line = f"{r.item.number}. \\[missing: {esc(r.problem)}\\] {esc(r.item.ref)}"
            else:
                doc_id, anchor = parse_ref(r.item.ref)
                link = permalink(base_url, doc_id, anchor)
                facts = _item_facts(r)
                line = f"{r.item.number}. [{esc(r.doc.title)}]({link})" + (
                    f" ({esc(facts)})" if facts else ""
                )
            if r.item.note:
                # A backslash at the end of a line is a hard line break; the note stays in the item.
                indent = " " * len(f"{r.item.number}. ")
                out += [line + "\\", indent + esc(r.item.note)]
            else:
                out.append(line)
    return "\n".join(out)
