"""`kb insights`: what readers search for, which searches find nothing, and which results
nobody opens (the web's aggregated search log, `kb.insights`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from kb.settings import Settings

if TYPE_CHECKING:  # kb.insights is imported by the command: every `kb` start-up loads this module
    from kb.insights import InsightsReport, QueryCount

SHOWN = 20


def _table(title: str, rows: tuple[QueryCount, ...], column: str, value) -> list[str]:
    lines = [title]
    if not rows:
        return [*lines, "  (none)", ""]
    width = max(len(r.query) for r in rows)
    lines.append(f"  {'query'.ljust(width)}  searches  {column}")
    lines += [f"  {r.query.ljust(width)}  {r.searches:>8}  {value(r):>{len(column)}}" for r in rows]
    return [*lines, ""]


def render_report(report: InsightsReport, enabled: bool) -> str:
    """The report as the terminal shows it."""
    lines = [
        f"Searches in the last {report.days} days (since {report.since}): {report.searches}, "
        f"{report.queries} different queries."
    ]
    if not enabled:
        lines.append("Search logging is turned off: no new searches are counted.")
    lines.append("")
    lines += _table("Most frequent queries", report.frequent, "opened", lambda r: r.opened)
    lines += _table("Queries that found nothing", report.no_results, "found nothing",
                    lambda r: r.no_results)  # fmt: skip
    lines += _table("Queries whose results nobody opened", report.not_opened, "found nothing",
                    lambda r: r.no_results)  # fmt: skip
    return "\n".join(lines).rstrip()


@click.command("insights")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True,
              help="How many days back to count, today included.")  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), default=SHOWN, show_default=True,
              help="Queries listed in each list.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def insights(settings: Settings, days: int, limit: int, as_json: bool) -> None:
    """The most frequent queries, the queries that found nothing, and those whose results
    nobody opened, from the web's search log (kept aggregated: query, day and counts)."""
    from kb.insights import SearchLog

    log = SearchLog.from_settings(settings)
    report = log.report(days, limit=limit)
    if as_json:
        click.echo(json.dumps({**asdict(report), "enabled": log.enabled}, ensure_ascii=False,
                              indent=2))  # fmt: skip
    else:
        click.echo(render_report(report, log.enabled))
