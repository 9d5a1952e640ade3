"""Personal API tokens: a script or feed reader reads what its owner may read, no more.

A token is `kb_<id>_<secret>`: the id (12 hex digits) finds its row, the secret (32 random
bytes) proves it. The database holds the id and a SHA-256 hash of the whole token, never the
token: it is shown once, when it is made. A slow hash (argon2) is not needed here, unlike for
passwords: 256 random bits cannot be guessed from their hash.

Tokens live in the accounts database (table `api_tokens`, kb/accounts.py), always expire, can
be revoked, and go with their account when it is removed; a disabled account's tokens do not
work while it is disabled.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kb.accounts import Account, AccountStore, normalise_email
from kb.errors import AccountError, UnknownAccount, UnknownToken

PREFIX = "kb_"
TOKEN_RE = re.compile(r"kb_([0-9a-f]{12})_[A-Za-z0-9_-]{43}")
DEFAULT_DAYS = 90
MAX_DAYS = 366  # a token is renewed at least once a year
MAX_NAME_CHARS = 100
MAX_ACTIVE = 50  # per account: more would be a script creating them in a loop
TOUCH_SECONDS = 60  # `last_used` is written at most this often per token


@dataclass(frozen=True)
class TokenInfo:
    """What is known about a token: never the token itself."""

    id: str
    email: str
    name: str
    created: str
    expires: str
    last_used: str | None
    revoked: str | None

    def state(self, now: datetime | None = None) -> str:
        """`active`, `expired` or `revoked`."""
        if self.revoked:
            return "revoked"
        if datetime.fromisoformat(self.expires) <= (now or datetime.now(UTC)):
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "created": self.created,
            "expires": self.expires,
            "last_used": self.last_used,
            "revoked": self.revoked,
            "state": self.state(),
        }


@dataclass(frozen=True)
class NewToken:
    """A token just made: `token` is shown to its owner once and kept nowhere."""

    info: TokenInfo
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def check_days(days: int) -> int:
    """`days` if a token may live that long, else `AccountError` saying what is allowed."""
    if not 1 <= days <= MAX_DAYS:
        raise AccountError(f"a token expires after 1 to {MAX_DAYS} days, not {days}")
    return days


def _token_row(conn: sqlite3.Connection, token_id: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT t.*, a.email FROM api_tokens t JOIN accounts a ON a.id = t.account_id"
        " WHERE t.id = ?",
        (token_id,),
    ).fetchone()


class TokenStore:
    """The API tokens in the accounts database of `accounts`."""

    def __init__(self, accounts: AccountStore) -> None:
        self.accounts = accounts

    def create(self, email: str, name: str = "", days: int = DEFAULT_DAYS) -> NewToken:
        """Make a token for the account `email`, valid for `days` days."""
        name = " ".join(name.split())[:MAX_NAME_CHARS] or "API token"
        check_days(days)
        email = normalise_email(email)
        now = datetime.now(UTC)
        token_id = secrets.token_hex(6)
        token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        expires = _stamp(now + timedelta(days=days))
        with self.accounts.connect(create=False) as conn:
            row = None
            if conn is not None:
                row = conn.execute("SELECT id FROM accounts WHERE email = ?", (email,)).fetchone()
            if conn is None or row is None:
                raise UnknownAccount(f"there is no account for {email}")
            active = conn.execute(
                "SELECT COUNT(*) FROM api_tokens WHERE account_id = ? AND revoked IS NULL"
                " AND expires > ?",
                (row["id"], _stamp(now)),
            ).fetchone()[0]
            if active >= MAX_ACTIVE:
                raise AccountError(
                    f"{email} has {active} tokens already: revoke one it no longer needs"
                )
            conn.execute(
                "INSERT INTO api_tokens (id, account_id, name, token_hash, created, expires)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (token_id, row["id"], name, token_hash(token), _stamp(now), expires),
            )
        info = TokenInfo(token_id, email, name, _stamp(now), expires, None, None)
        return NewToken(info, token)

    def tokens(self, email: str) -> list[TokenInfo]:
        """The account's tokens, newest first (revoked and expired ones too)."""
        with self.accounts.connect(create=False) as conn:
            if conn is None:
                return []
            rows = conn.execute(
                "SELECT t.*, a.email FROM api_tokens t JOIN accounts a ON a.id = t.account_id"
                " WHERE a.email = ? ORDER BY t.created DESC, t.id",
                (normalise_email(email),),
            ).fetchall()
        return [self._info(row) for row in rows]

    def revoke(self, token_id: str, email: str | None = None) -> TokenInfo:
        """Revoke the token `token_id`; with `email`, only if that account owns it (so that a
        member can never revoke someone else's token, nor learn that it exists)."""
        token_id = token_id.strip().lower()
        if token_id.startswith(PREFIX):  # the whole token, pasted: its id is inside
            token_id = token_id[len(PREFIX) : len(PREFIX) + 12]
        with self.accounts.connect(create=False) as conn:
            row = _token_row(conn, token_id) if conn is not None else None
            if row is None or (email is not None and row["email"] != normalise_email(email)):
                raise UnknownToken(f"there is no token {token_id[:20]!r}")
            if row["revoked"] is None:
                conn.execute(
                    "UPDATE api_tokens SET revoked = ? WHERE id = ?",
                    (_stamp(datetime.now(UTC)), token_id),
                )
                row = _token_row(conn, token_id)
        return self._info(row)

    def authenticate(self, token: str) -> Account | None:
        """The account a token acts for, or None: unknown, malformed, revoked or expired
        tokens, and tokens of a disabled account, are all refused alike."""
        match = TOKEN_RE.fullmatch(token)
        if match is None:
            return None
        now = datetime.now(UTC)
        with self.accounts.connect(create=False) as conn:
            if conn is None:
                return None
            row = conn.execute(
                "SELECT t.token_hash, t.expires, t.revoked, t.last_used, a.* FROM api_tokens t"
                " JOIN accounts a ON a.id = t.account_id WHERE t.id = ?",
                (match[1],),
            ).fetchone()
            if row is None or not hmac.compare_digest(row["token_hash"], token_hash(token)):
                return None
            if row["revoked"] or row["disabled"]:
                return None
            if datetime.fromisoformat(row["expires"]) <= now:
                return None
            last = row["last_used"]
            if last is None or (now - datetime.fromisoformat(last)).total_seconds() > TOUCH_SECONDS:
                conn.execute(
                    "UPDATE api_tokens SET last_used = ? WHERE id = ?", (_stamp(now), match[1])
                )
        return Account(
            email=row["email"],
            organisation=row["organisation"],
            role=row["role"],
            disabled=False,
            created=row["created"],
            last_sign_in=row["last_sign_in"],
        )

    @staticmethod
    def _info(row) -> TokenInfo:
        return TokenInfo(
            id=row["id"],
            email=row["email"],
            name=row["name"],
            created=row["created"],
            expires=row["expires"],
            last_used=row["last_used"],
            revoked=row["revoked"],
        )
