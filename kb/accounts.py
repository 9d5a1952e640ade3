"""Member and coordinator accounts, in an embedded SQLite database beside the index.

Passwords are stored only as argon2id hashes (argon2-cffi), rehashed on the next sign-in when
the hashing parameters change. A password is never logged, echoed, or kept in an `Account`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from kb.errors import AccountError, AccountExists, UnknownAccount, WeakPassword

if TYPE_CHECKING:  # both imported on use: every `kb` command, `--help` too, loads this module
    from argon2 import PasswordHasher

    from kb.access import Principal

SCHEMA_VERSION = 2
ROLES = ("member", "coordinator")
MIN_PASSWORD_CHARS = 12
# Hashing a very long password costs time on every attempt; nobody types more than this.
MAX_PASSWORD_CHARS = 1024
MAX_EMAIL_CHARS = 254
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt"
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

SCHEMA = """
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    organisation TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('member', 'coordinator')),
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    password_changed TEXT NOT NULL,
    last_sign_in TEXT
);
"""
# Schema 2: personal API tokens (kb/tokens.py), only as hashes, gone with their account.
TOKENS_SCHEMA = """
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT,
    last_used TEXT,
    revoked TEXT
);
CREATE INDEX api_tokens_account ON api_tokens(account_id);
"""
# Stored instead of a hash for an account created through single sign-on: no password matches
# it (it is not an argon2 hash), so such an account cannot sign in with a password until
# `kb users passwd` gives it one.
NO_PASSWORD = "!no-password"


@dataclass(frozen=True)
class Account:
    """One account, without its password hash."""

    email: str
    organisation: str
    role: str
    disabled: bool
    created: str
    last_sign_in: str | None = None

    def principal(self) -> Principal:
        from kb.access import Principal

        if self.role == "coordinator":
            return Principal.coordinator(self.email, self.organisation)
        return Principal.member(self.email, self.organisation)

    def to_dict(self) -> dict[str, object]:
        return {
            "email": self.email,
            "organisation": self.organisation,
            "role": self.role,
            "disabled": self.disabled,
            "created": self.created,
            "last_sign_in": self.last_sign_in,
        }


def normalise_email(email: str) -> str:
    """Email addresses compare without surrounding space and case."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def check_email(email: str) -> str:
    """The normalised address, or `AccountError` when it cannot be an email address."""
    normal = normalise_email(email)
    if len(normal) > MAX_EMAIL_CHARS or not EMAIL_RE.fullmatch(normal):
        raise AccountError(f"{email.strip()[:80]!r} is not an email address")
    return normal


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords (kb/data/common-passwords.txt, lower case)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def check_password(password: str, email: str | None = None) -> None:
    """Raise `WeakPassword` (saying why, never echoing it) unless `password` is acceptable:
    at least 12 characters, not a common password (also with digits or symbols added at its
    end), not one character repeated, and not the email address's name."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(
            f"the password is too short: use at least {MIN_PASSWORD_CHARS} characters"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise WeakPassword(f"the password is too long: use at most {MAX_PASSWORD_CHARS} characters")
    lowered = password.lower()
    stem = lowered.rstrip("0123456789!@#$%^&*()_+-=.,?~ ")
    common = common_passwords()
    if lowered in common or stem in common or len(set(lowered)) == 1:
        raise WeakPassword("the password is too common: choose one that is hard to guess")
    name = normalise_email(email).partition("@")[0] if email else ""
    if len(name) >= 4 and name in lowered:
        raise WeakPassword("the password contains the email address: choose another")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class AccountStore:
    """The accounts database at `path`. Each call opens its own connection, so one store
    serves many threads; the file is created (mode 0600) by the first change."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self.path = Path(path)
        if hasher is not None:
            self.hasher = hasher

    @cached_property
    def hasher(self) -> PasswordHasher:
        """argon2id with the RFC 9106 low-memory profile, unless another was given. argon2 is
        imported on first use: most `kb` commands build a store and never hash."""
        from argon2 import PasswordHasher

        return PasswordHasher()

    @cached_property
    def _dummy_hash(self) -> str:
        # Verified for unknown addresses, so that they take as long as a wrong password.
        return self.hasher.hash(os.urandom(16).hex())

    @contextlib.contextmanager
    def _connect(self, create: bool) -> Iterator[sqlite3.Connection | None]:
        if not self.path.exists():
            if not create:
                yield None
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Created owner-only before SQLite opens it: it holds password hashes.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")  # an account's tokens go with it
            self._migrate(conn)
            yield conn
        finally:
            conn.close()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise AccountError(
                f"{self.path} was written by a newer kb (schema {version}); upgrade kb"
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            if found == 0:
                conn.execute(SCHEMA)
            if found < 2:
                for statement in TOKENS_SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _account(row: sqlite3.Row) -> Account:
        return Account(
            email=row["email"],
            organisation=row["organisation"],
            role=row["role"],
            disabled=bool(row["disabled"]),
            created=row["created"],
            last_sign_in=row["last_sign_in"],
        )

    def add(self, email: str, organisation: str, password: str, role: str = "member") -> Account:
        """Create an account; `organisation` is an id already checked against the corpus."""
        email = check_email(email)
        check_password(password, email)
        return self._insert(email, organisation, role, self.hasher.hash(password))

    def add_without_password(self, email: str, organisation: str, role: str = "member") -> Account:
        """Create an account that signs in only through single sign-on: it has no password
        until `set_password` gives it one."""
        return self._insert(check_email(email), organisation, role, NO_PASSWORD)

    def _insert(self, email: str, organisation: str, role: str, hashed: str) -> Account:
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}: use {' or '.join(ROLES)}")
        now = _now()
        with self._connect(create=True) as conn:
            assert conn is not None
            try:
                conn.execute(
                    "INSERT INTO accounts (email, organisation, role, password_hash, created,"
                    " password_changed) VALUES (?, ?, ?, ?, ?, ?)",
                    (email, organisation, role, hashed, now, now),
                )
            except sqlite3.IntegrityError as exc:
                raise AccountExists(f"an account for {email} exists already") from exc
        return Account(email, organisation, role, False, now)

    def connect(self, create: bool = False) -> contextlib.AbstractContextManager:
        """A connection to the database (None when it does not exist and `create` is false),
        for stores that keep their tables in it (kb/tokens.py)."""
        return self._connect(create)

    def get(self, email: str) -> Account | None:
        with self._connect(create=False) as conn:
            if conn is None:
                return None
            row = conn.execute(
                "SELECT * FROM accounts WHERE email = ?", (normalise_email(email),)
            ).fetchone()
        return self._account(row) if row else None

    def accounts(self) -> list[Account]:
        """Every account, ordered by email address."""
        with self._connect(create=False) as conn:
            if conn is None:
                return []
            rows = conn.execute("SELECT * FROM accounts ORDER BY email").fetchall()
        return [self._account(row) for row in rows]

    def _update(self, email: str, sql: str, params: tuple = ()) -> None:
        with self._connect(create=False) as conn:
            changed = conn.execute(sql, (*params, normalise_email(email))).rowcount if conn else 0
        if not changed:
            raise UnknownAccount(f"there is no account for {normalise_email(email)}")

    def set_password(self, email: str, password: str) -> None:
        """Replace the password; sessions signed in with the old one end."""
        check_password(password, email)
        hashed = self.hasher.hash(password)
        sql = "UPDATE accounts SET password_hash = ?, password_changed = ? WHERE email = ?"
        self._update(email, sql, (hashed, _now()))

    def set_role(self, email: str, role: str) -> None:
        """Make the account a member or a coordinator."""
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}: use {' or '.join(ROLES)}")
        self._update(email, "UPDATE accounts SET role = ? WHERE email = ?", (role,))

    def record_sign_in(self, email: str) -> None:
        """Remember when the account last signed in (a password or single sign-on)."""
        self._update(email, "UPDATE accounts SET last_sign_in = ? WHERE email = ?", (_now(),))

    def set_disabled(self, email: str, disabled: bool = True) -> None:
        """Disable (or enable again) an account; a disabled account cannot sign in."""
        self._update(email, "UPDATE accounts SET disabled = ? WHERE email = ?", (int(disabled),))

    def remove(self, email: str) -> None:
        self._update(email, "DELETE FROM accounts WHERE email = ?")

    def authenticate(self, email: str, password: str) -> Account | None:
        """The account if `password` is right and the account is enabled, else None. Unknown
        and disabled accounts cost the same hashing work as a wrong password."""
        normal = normalise_email(email)[: MAX_EMAIL_CHARS + 1]
        row = None
        with self._connect(create=False) as conn:
            if conn is not None:
                row = conn.execute("SELECT * FROM accounts WHERE email = ?", (normal,)).fetchone()
        stored = row["password_hash"] if row else self._dummy_hash
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        try:
            self.hasher.verify(stored, password[:MAX_PASSWORD_CHARS])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled"]:
            return None
        with self._connect(create=False) as conn:
            assert conn is not None
            if self.hasher.check_needs_rehash(stored):
                conn.execute(
                    "UPDATE accounts SET password_hash = ? WHERE email = ? AND password_hash = ?",
                    (self.hasher.hash(password), normal, stored),
                )
            conn.execute("UPDATE accounts SET last_sign_in = ? WHERE email = ?", (_now(), normal))
        return self._account(row)

    def session_stamp(self, email: str) -> str | None:
        """A short value that changes whenever the password does, or None when the account
        cannot be used (missing or disabled): a session remembers it, so changing the password
        or disabling the account ends every session signed in before."""
        account, stamp = self._with_stamp(email)
        return stamp if account else None

    def session_account(self, email: str, stamp: str) -> Account | None:
        """The account a session signed in as, if it may still act: it exists, is enabled,
        and its password has not changed since (`stamp`, from `session_stamp`)."""
        account, current = self._with_stamp(email)
        if account is None or not hmac.compare_digest(current, stamp):
            return None
        return account

    def _with_stamp(self, email: str) -> tuple[Account | None, str]:
        with self._connect(create=False) as conn:
            if conn is None:
                return None, ""
            row = conn.execute(
                "SELECT * FROM accounts WHERE email = ?", (normalise_email(email),)
            ).fetchone()
        if row is None or row["disabled"]:
            return None, ""
        return self._account(row), hashlib.sha256(row["password_hash"].encode()).hexdigest()[:24]
