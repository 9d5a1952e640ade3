"""`kb backup` and `kb restore`: what a server keeps besides its corpus (accounts, search log,
session key, index), taken consistently while it runs and put back into empty locations.
The order and the reasons are in `kb.backup` and docs/deploy.md."""

from __future__ import annotations

from pathlib import Path

import click

from kb.settings import Settings

# kb.backup and kb.insights are imported by the commands: every `kb` start-up loads this module.


def _insights_db(settings: Settings) -> Path:
    from kb.insights import insights_config

    return insights_config(settings).path


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--wait", type=click.FloatRange(0), default=60.0, show_default=True,
              help="Seconds to wait for a running `kb index` or `kb add` to finish.")  # fmt: skip
@click.pass_context
def backup_cmd(ctx: click.Context, dest: Path, wait: float) -> None:
    """Back up the accounts, the search log, the session key and the current index into the
    new folder DEST (the corpus is not copied: back it up as files). Safe while kb serves.

    Exit codes: 0 done; 2 DEST is not empty, nothing to back up, or the index stayed locked."""
    from kb.backup import backup

    settings: Settings = ctx.find_object(Settings)
    report = backup(settings, dest, _insights_db(settings), wait=wait)
    click.echo(f"Backed up to {report.folder}: {', '.join(report.taken)}")


@click.command("restore")
@click.argument("source", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.pass_context
def restore_cmd(ctx: click.Context, source: Path) -> None:
    """Restore the backup SOURCE into this kb's index folder (--index / KB_INDEX) and
    accounts location (KB_ACCOUNTS), which must be empty or absent. Start `kb serve`
    afterwards; the corpus comes back from your file backup.

    Exit codes: 0 done; 2 not a complete backup, or a target holds data already."""
    from kb.backup import restore

    settings: Settings = ctx.find_object(Settings)
    report = restore(settings, source, _insights_db(settings))
    click.echo(f"Restored from {report.folder}: {', '.join(report.taken) or 'nothing'}")
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
