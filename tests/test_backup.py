"""`kb backup` and `kb restore`, run as docs/deploy.md says: a server restored into empty
folders answers exactly as the original did, members-only results and API tokens included."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from kb.settings import Settings
from tests.conftest import ROOT
from tests.test_serve_binding import serve

MEMBER = "ann@skovde.example"
PASSWORD = "a long passphrase for the backup test"
QUERIES = ["self-assessment", "repair", "procurement weighting", "circular"]


def kb(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from cli import main; main()", *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def environment(corpus: Path, index: Path, accounts: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_CORPUS=str(corpus), KB_INDEX=str(index), KB_ACCOUNTS=str(accounts))
    return env


def answers(settings: Settings, env: dict, token: str) -> dict:
    """What a running `kb serve` answers, anonymously and with the member's token."""
    seen: dict = {}

    def ask(port: int) -> None:
        for query in QUERIES:
            for who, headers in (
                ("anonymous", {}),
                ("member", {"Authorization": f"Bearer {token}"}),
            ):
                url = f"http://127.0.0.1:{port}/api/search?q={urllib.parse.quote(query)}"
                request = urllib.request.Request(url, headers=headers)
                with urllib.request.urlopen(request) as response:
                    body = json.load(response)
                seen[(who, query)] = [
                    (r["doc_id"], r["permalink"].split("/doc/", 1)[1]) for r in body["results"]
                ]

    serve(settings, "--base-url", "https://kb.example.org", during=ask, env=env)
    return seen


@pytest.fixture
def original(bundled_index: Settings, tmp_path: Path):
    """A served installation: a corpus, its index, an account with an API token."""
    base = tmp_path / "original"
    shutil.copytree(bundled_index.corpus, base / "corpus")
    shutil.copytree(bundled_index.index, base / "index")
    env = environment(base / "corpus", base / "index", base / "state" / "accounts.sqlite3")
    added = kb(env, "users", "add", MEMBER, "--org", "skovde-kommun", "--password-stdin",
               stdin=PASSWORD + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    made = kb(env, "tokens", "create", MEMBER, "--name", "feed reader")
    assert made.returncode == 0, made.stderr
    settings = Settings.resolve(base / "corpus", base / "index", accounts=env["KB_ACCOUNTS"])
    return settings, env, made.stdout.strip()


def test_a_restored_backup_serves_the_same_results(original, tmp_path: Path) -> None:
    settings, env, token = original
    before = answers(settings, env, token)
    member_only = [ids for (who, _q), ids in before.items() if who == "member"]
    assert any(
        doc_id.startswith("self-assessments/") for ids in member_only for doc_id, _ in ids
    ), "the member's organisation's self-assessment is among what the token reads"
    assert not any(
        doc_id.startswith("self-assessments/")
        for (who, _q), ids in before.items()
        if who == "anonymous"
        for doc_id, _ in ids
    )

    backup_dir = tmp_path / "backup"
    done = kb(env, "backup", str(backup_dir))
    assert done.returncode == 0, done.stderr
    assert "accounts.sqlite3" in done.stdout and "index/gen-" in done.stdout
    assert json.loads((backup_dir / "BACKUP.json").read_text())["contents"][0] == "accounts.sqlite3"
    assert oct((backup_dir / "accounts.sqlite3").stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(backup_dir / "accounts.sqlite3") as db:  # hashes only, as on the server
        stored = " ".join(str(v) for row in db.execute("SELECT * FROM api_tokens") for v in row)
    assert token not in stored

    # A new machine: the corpus from the file backup, everything else from `kb restore`.
    new = tmp_path / "new"
    shutil.copytree(settings.corpus, new / "corpus")
    new_env = environment(new / "corpus", new / "index", new / "state" / "accounts.sqlite3")
    done = kb(new_env, "restore", str(backup_dir))
    assert done.returncode == 0, done.stderr
    restored = Settings.resolve(new / "corpus", new / "index", accounts=new_env["KB_ACCOUNTS"])
    assert answers(restored, new_env, token) == before


def test_restore_never_overwrites(original, tmp_path: Path) -> None:
    _settings, env, _token = original
    backup_dir = tmp_path / "backup"
    assert kb(env, "backup", str(backup_dir)).returncode == 0
    done = kb(env, "restore", str(backup_dir))  # onto the live installation
    assert done.returncode == 2
    assert "is not empty" in done.stderr or "exists already" in done.stderr
    assert kb(env, "backup", str(backup_dir)).returncode == 2, "nor does a backup"


def test_an_interrupted_backup_is_refused(original, tmp_path: Path) -> None:
    _settings, env, _token = original
    backup_dir = tmp_path / "backup"
    assert kb(env, "backup", str(backup_dir)).returncode == 0
    (backup_dir / "BACKUP.json").unlink()
    new = tmp_path / "new"
    new_env = environment(new / "corpus", new / "index", new / "state" / "accounts.sqlite3")
    done = kb(new_env, "restore", str(backup_dir))
    assert done.returncode == 2
    assert "not a complete kb backup" in done.stderr
    assert not (new / "index").exists() and not (new / "state").exists()


def test_a_backup_never_goes_into_the_corpus(original) -> None:
    settings, env, _token = original
    done = kb(env, "backup", str(settings.corpus / "guides" / "backup"))
    assert done.returncode == 2
    assert "inside the corpus" in done.stderr
    assert not (settings.corpus / "guides" / "backup").exists()
