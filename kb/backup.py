"""Backing up and restoring what a kb server keeps besides its corpus.

A backup is a folder holding, in the order they are taken:

1. `accounts.sqlite3`: members, roles and API-token hashes, copied with SQLite's online
   backup API, so a server that keeps signing members in meanwhile still gives a consistent
   copy;
2. `insights.sqlite3`: the aggregated search log, the same way, when there is one;
3. `secret_key`: the key that signs session cookies (without it every member signs in again);
4. `index/`: the current index generation and a `CURRENT` pointer to it, copied while the
   writer lock is held, so no `kb index` or `kb add` changes it mid-copy. The index can always
   be rebuilt from the corpus; the copy saves that time and keeps permalinks' content hashes;
5. `BACKUP.json`: what was taken, when, and by which schema: written last, so a folder
   without it is an interrupted backup, which `restore` refuses.

The corpus itself is the members' documents: back it up as files (or keep it in version
control); `kb backup` does not copy it. `restore` puts a backup into an empty index folder
and accounts location, never over existing data.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kb.atomic import write_atomically
from kb.errors import KbError
from kb.generation import schema_version
from kb.lock import writer_lock
from kb.manifest import now_iso
from kb.settings import SECRET_KEY_FILE, Settings
from kb.store import CURRENT, IndexStore

BACKUP_INFO = "BACKUP.json"
ACCOUNTS = "accounts.sqlite3"
INSIGHTS = "insights.sqlite3"
INDEX = "index"
FORMAT_VERSION = 1


class BackupError(KbError):
    """A backup cannot be taken or restored; the message says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    folder: Path
    taken: tuple[str, ...]  # what the backup holds (or what was restored), in order
    notes: tuple[str, ...] = ()  # what was left out, and what to do about it


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API)."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(target, 0o600)


def _empty_folder(folder: Path, what: str) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{what} {folder} is not empty; give a new or empty folder")


def backup(
    settings: Settings, dest: Path, insights_db: Path | None, wait: float = 0.0
) -> BackupReport:
    """Back up the accounts, the search log, the session key and the current index of
    `settings` into the new folder `dest`."""
    dest = Path(dest)
    if dest.resolve().is_relative_to(settings.corpus.resolve()):
        # The corpus's files can be shown to readers; password hashes and the session key
        # must never lie among them.
        raise BackupError(f"the backup folder {dest} is inside the corpus; choose one outside it")
    _empty_folder(dest, "the backup folder")
    dest.mkdir(parents=True, exist_ok=True)
    os.chmod(dest, 0o700)  # account hashes and the session key are inside
    taken: list[str] = []
    if settings.accounts_path.is_file():
        _sqlite_copy(settings.accounts_path, dest / ACCOUNTS)
        taken.append(ACCOUNTS)
    if insights_db is not None and insights_db.is_file():
        _sqlite_copy(insights_db, dest / INSIGHTS)
        taken.append(INSIGHTS)
    if settings.secret_key_path.is_file():
        shutil.copy2(settings.secret_key_path, dest / SECRET_KEY_FILE)
        os.chmod(dest / SECRET_KEY_FILE, 0o600)
        taken.append(SECRET_KEY_FILE)
    store = IndexStore(settings.index)
    if store.current_name() is not None:
        with writer_lock(settings.index, wait=wait):
            generation = store.current()
            (dest / INDEX).mkdir()
            shutil.copytree(generation.path, dest / INDEX / generation.path.name)
            write_atomically(dest / INDEX / CURRENT, generation.path.name + "\n")
        taken.append(f"{INDEX}/{generation.path.name}")
    if not taken:
        raise BackupError(
            f"nothing to back up: no accounts at {settings.accounts_path} and no index at "
            f"{settings.index}"
        )
    info = {
        "format": FORMAT_VERSION,
        "taken_at": now_iso(),
        "schema_version": schema_version(),
        "contents": taken,
    }
    write_atomically(dest / BACKUP_INFO, json.dumps(info, indent=2) + "\n")
    return BackupReport(dest, tuple(taken))


def read_backup(folder: Path) -> dict:
    """The description of a complete backup in `folder`; BackupError otherwise."""
    try:
        info = json.loads((Path(folder) / BACKUP_INFO).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"{folder} is not a complete kb backup (no {BACKUP_INFO}: the backup was "
            "interrupted, or this is another folder)"
        ) from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder / BACKUP_INFO} cannot be read: {exc}") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT_VERSION:
        raise BackupError(f"{folder / BACKUP_INFO}: not a backup format this kb reads")
    return info


def restore(settings: Settings, source: Path, insights_db: Path | None) -> BackupReport:
    """Put the backup in `source` into the (empty) index folder and accounts location of
    `settings`: index first, then the search log, the session key and the accounts."""
    source = Path(source)
    info = read_backup(source)
    contents = [c for c in info.get("contents", []) if isinstance(c, str)]
    _empty_folder(settings.index, "the index folder")
    for target in (settings.accounts_path, settings.secret_key_path):
        if target.exists():
            raise BackupError(f"{target} exists already; restore into a new location")
    restored: list[str] = []
    notes: list[str] = []
    index_parts = [c for c in contents if c.startswith(f"{INDEX}/")]
    if index_parts and info.get("schema_version") != schema_version():
        notes.append(
            f"the index was not restored: it has schema {info.get('schema_version')} and this "
            f"kb reads {schema_version()}; rebuild it from the corpus with `kb index`"
        )
    elif index_parts:
        name = index_parts[0].split("/", 1)[1]
        settings.index.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source / INDEX / name, settings.index / name)
        write_atomically(settings.index / CURRENT, name + "\n")
        restored.append(index_parts[0])
    settings.accounts_path.parent.mkdir(parents=True, exist_ok=True)
    if INSIGHTS in contents and insights_db is not None and not insights_db.exists():
        _sqlite_copy(source / INSIGHTS, insights_db)
        restored.append(INSIGHTS)
    if SECRET_KEY_FILE in contents:
        shutil.copy2(source / SECRET_KEY_FILE, settings.secret_key_path)
        os.chmod(settings.secret_key_path, 0o600)
        restored.append(SECRET_KEY_FILE)
    if ACCOUNTS in contents:
        _sqlite_copy(source / ACCOUNTS, settings.accounts_path)
        restored.append(ACCOUNTS)
    return BackupReport(source, tuple(restored), tuple(notes))
