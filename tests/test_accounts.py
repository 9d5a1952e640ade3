"""Accounts (kb/accounts.py) and the `kb users` commands that manage them."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cli import main
from kb.access import Principal
from kb.accounts import (
    MIN_PASSWORD_CHARS,
    SCHEMA_VERSION,
    AccountStore,
    check_password,
    common_passwords,
)
from kb.errors import AccountError, AccountExists, UnknownAccount, WeakPassword
from kb.settings import Settings
from tests.conftest import BUNDLED_CORPUS

GOOD = "violet kettle under 9 moons"
OTHER = "seven quiet herons at dusk"
# Cheap argon2id parameters: the same algorithm, a fraction of the time.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def store(tmp_path: Path) -> AccountStore:
    return AccountStore(tmp_path / "accounts.sqlite3", hasher=FAST)


def test_passwords_are_stored_as_argon2id_hashes_only(store: AccountStore):
    store.add("Ann@Example.org ", "ikea", GOOD)
    with sqlite3.connect(store.path) as conn:
        (hashed,) = conn.execute("SELECT password_hash FROM accounts").fetchone()
        dump = "\n".join(conn.iterdump())
    assert hashed.startswith("$argon2id$")
    assert GOOD not in dump
    assert AccountStore(store.path).hasher.hash("x" * 12).startswith("$argon2id$")  # default


def test_database_is_owner_only_with_a_schema_version(store: AccountStore):
    store.add("ann@example.org", "ikea", GOOD)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_newer_schema_is_refused(store: AccountStore):
    store.add("ann@example.org", "ikea", GOOD)
    with sqlite3.connect(store.path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(AccountError, match="newer kb"):
        store.accounts()


def test_reading_creates_nothing(store: AccountStore):
    assert store.accounts() == [] and store.get("a@b.org") is None
    assert store.authenticate("a@b.org", GOOD) is None
    assert not store.path.exists()


def test_authenticate_and_roles(store: AccountStore):
    store.add("ann@example.org", "ikea", GOOD)
    store.add("cay@example.org", "atea", OTHER, role="coordinator")
    ann = store.authenticate("ANN@example.org", GOOD)
    assert ann is not None and ann.principal() == Principal.member("ann@example.org", "ikea")
    cay = store.authenticate("cay@example.org", OTHER)
    assert cay is not None and cay.principal() == Principal.coordinator("cay@example.org", "atea")
    assert store.authenticate("ann@example.org", OTHER) is None
    assert store.authenticate("nobody@example.org", GOOD) is None
    assert store.get("ann@example.org").last_sign_in is not None
    with pytest.raises(AccountError, match="role"):
        store.add("dan@example.org", "ikea", GOOD, role="admin")


def test_existing_email_and_bad_email_are_refused(store: AccountStore):
    store.add("ann@example.org", "ikea", GOOD)
    with pytest.raises(AccountExists):
        store.add(" ANN@example.org", "atea", OTHER)
    with pytest.raises(AccountError, match="not an email"):
        store.add("ann", "ikea", GOOD)


@pytest.mark.parametrize(
    "password",
    ["Kq9!x", "a" * (MIN_PASSWORD_CHARS - 1), "1qaz2wsx3edc", "qwerty123456", "Password2024!!",
     "iloveyou12345", "zzzzzzzzzzzzzzzz", "anna.lindqvist-secret"],
)  # fmt: skip
def test_short_common_or_guessable_passwords_are_refused(store: AccountStore, password):
    with pytest.raises(WeakPassword) as caught:
        store.add("anna.lindqvist@example.org", "ikea", password)
    assert password not in str(caught.value)  # never echoed
    assert store.get("anna.lindqvist@example.org") is None


def test_common_password_list_is_bundled():
    common = common_passwords()
    assert len(common) == 10_000
    assert {"password", "123456", "qwerty"} <= common
    check_password(GOOD)  # no exception


def test_disable_enable_remove_and_password_change(store: AccountStore):
    store.add("ann@example.org", "ikea", GOOD)
    stamp = store.session_stamp("ann@example.org")
    assert store.session_account("ann@example.org", stamp) is not None
    store.set_disabled("ann@example.org")
    assert store.get("ann@example.org").disabled
    assert store.authenticate("ann@example.org", GOOD) is None
    assert store.session_account("ann@example.org", stamp) is None  # sessions end
    store.set_disabled("ann@example.org", False)
    assert store.authenticate("ann@example.org", GOOD) is not None
    store.set_password("ann@example.org", OTHER)
    assert store.session_account("ann@example.org", stamp) is None  # old sessions end
    assert store.authenticate("ann@example.org", GOOD) is None
    assert store.authenticate("ann@example.org", OTHER) is not None
    with pytest.raises(WeakPassword):
        store.set_password("ann@example.org", "password")
    store.remove("ann@example.org")
    assert store.get("ann@example.org") is None
    for change in (store.remove, store.set_disabled):
        with pytest.raises(UnknownAccount):
            change("ann@example.org")


def test_hash_is_upgraded_when_parameters_change(store: AccountStore):
    store.add("ann@example.org", "ikea", GOOD)
    stronger = AccountStore(store.path, PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    assert stronger.authenticate("ann@example.org", GOOD) is not None
    with sqlite3.connect(store.path) as conn:
        (hashed,) = conn.execute("SELECT password_hash FROM accounts").fetchone()
    assert "m=16,t=2,p=1" in hashed
    assert stronger.authenticate("ann@example.org", GOOD) is not None


def test_passwords_are_never_logged(store: AccountStore, caplog):
    caplog.set_level(logging.DEBUG)
    store.add("ann@example.org", "ikea", GOOD)
    store.authenticate("ann@example.org", GOOD)
    store.authenticate("ann@example.org", OTHER)
    assert GOOD not in caplog.text and OTHER not in caplog.text
    assert GOOD not in repr(store.get("ann@example.org"))


def test_default_path_is_beside_the_index_and_configurable(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("KB_ACCOUNTS", raising=False)
    settings = Settings.resolve(tmp_path / "corpus", tmp_path / "data" / "index")
    assert settings.accounts_path == tmp_path / "data" / "accounts.sqlite3"
    assert settings.secret_key_path == tmp_path / "data" / "secret_key"
    monkeypatch.setenv("KB_ACCOUNTS", str(tmp_path / "elsewhere" / "users.db"))
    settings = Settings.resolve(tmp_path / "corpus", tmp_path / "data" / "index")
    assert settings.accounts_path == tmp_path / "elsewhere" / "users.db"


# ---- kb users ---------------------------------------------------------------------------------


def users(runner, tmp_path: Path, *args: str, input: str | None = None):
    return runner.invoke(
        main,
        ["--corpus", str(BUNDLED_CORPUS), "--index", str(tmp_path / "index"), "users", *args],
        input=input,
        env={"KB_ACCOUNTS": None},
    )


def test_cli_add_list_and_sign_in(runner, tmp_path: Path):
    result = users(runner, tmp_path, "add", "Cay@Example.org", "--org", "Atea AB",
                   "--role", "coordinator", "--password-stdin", input=GOOD + "\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "coordinator cay@example.org (atea)" in result.output
    assert GOOD not in result.output
    result = users(runner, tmp_path, "add", "ann@example.org", "--org", "ikea",
                   input=f"{OTHER}\n{OTHER}\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert OTHER not in result.output
    result = users(runner, tmp_path, "list", "--json")
    assert result.exit_code == 0
    listed = json.loads(result.output)
    assert [(a["email"], a["role"], a["organisation"]) for a in listed] == [
        ("ann@example.org", "member", "ikea"),
        ("cay@example.org", "coordinator", "atea"),
    ]
    assert "password" not in result.output and "argon2" not in result.output
    plain = users(runner, tmp_path, "list").output
    assert "ann@example.org" in plain and "coordinator" in plain
    store = AccountStore(Settings.resolve(BUNDLED_CORPUS, tmp_path / "index").accounts_path)
    assert store.authenticate("cay@example.org", GOOD) is not None


def test_cli_errors_have_messages_and_exit_codes(runner, tmp_path: Path):
    ok = users(runner, tmp_path, "add", "ann@example.org", "--org", "ikea", "--password-stdin",
               input=GOOD + "\n")  # fmt: skip
    assert ok.exit_code == 0
    cases = [
        (["add", "bo@example.org", "--org", "nowhere", "--password-stdin"], GOOD, "unknown organisation"),
        (["add", "ann@example.org", "--org", "ikea", "--password-stdin"], GOOD, "exists already"),
        (["add", "bo@example.org", "--org", "ikea", "--password-stdin"], "tooshort", "too short"),
        (["add", "bo@example.org", "--org", "ikea", "--password-stdin"], "password123456", "too common"),
        (["add", "not-an-email", "--org", "ikea", "--password-stdin"], GOOD, "not an email"),
        (["add", "bo@example.org", "--org", "ikea", "--role", "admin"], GOOD, "admin"),
    ]  # fmt: skip
    for args, password, message in cases:
        result = users(runner, tmp_path, *args, input=password + "\n")
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert password not in result.output or password == GOOD
    mismatch = users(runner, tmp_path, "add", "bo@example.org", "--org", "ikea",
                     input=f"{GOOD}\n{OTHER}\n{GOOD}\n{OTHER}\n{GOOD}\n{OTHER}\n")  # fmt: skip
    assert mismatch.exit_code != 0
    assert "do not match" in mismatch.output.lower() or "don't match" in mismatch.output.lower()
    assert [a["email"] for a in json.loads(users(runner, tmp_path, "list", "--json").output)] == [
        "ann@example.org"
    ]


def test_cli_passwd_disable_remove(runner, tmp_path: Path):
    users(runner, tmp_path, "add", "ann@example.org", "--org", "ikea", "--password-stdin",
          input=GOOD + "\n")  # fmt: skip
    store = AccountStore(Settings.resolve(BUNDLED_CORPUS, tmp_path / "index").accounts_path)
    result = users(runner, tmp_path, "passwd", "ann@example.org", input=f"{OTHER}\n{OTHER}\n")
    assert result.exit_code == 0, result.output
    assert store.authenticate("ann@example.org", OTHER) is not None
    assert users(runner, tmp_path, "passwd", "ann@example.org", "--password-stdin",
                 input="qwertyuiop12\n").exit_code == 2  # fmt: skip
    assert users(runner, tmp_path, "disable", "ann@example.org").exit_code == 0
    assert "disabled" in users(runner, tmp_path, "list").output
    assert store.authenticate("ann@example.org", OTHER) is None
    assert users(runner, tmp_path, "enable", "ann@example.org").exit_code == 0
    assert store.authenticate("ann@example.org", OTHER) is not None
    assert users(runner, tmp_path, "remove", "ann@example.org").exit_code == 0
    assert store.get("ann@example.org") is None
    for command in ("remove", "disable", "passwd"):
        result = users(runner, tmp_path, command, "ann@example.org", "--password-stdin"
                       if command == "passwd" else "--help", input=GOOD + "\n")  # fmt: skip
        if command != "passwd":
            result = users(runner, tmp_path, command, "ann@example.org")
        assert result.exit_code == 1, (command, result.output)
        assert "no account" in result.output
    assert "No accounts yet" in users(runner, tmp_path, "list").output
