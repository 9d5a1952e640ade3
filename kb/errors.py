"""Errors kb raises; the CLI and the web UI turn them into messages, once, at the edge:
`cli.KbGroup` into an exit code (`cli.EXIT_CODES`), `webui.errors` into an HTTP status."""

from __future__ import annotations


class KbError(Exception):
    """Base class: a problem a user or coordinator can act on; the message says how."""


class ConfigError(KbError):
    """A corpus configuration file (organisations, topics, glossary, reading list) is invalid."""


class IndexUnavailable(KbError):
    """There is no usable index yet (never built, deleted, or corrupted)."""


class CorpusEmpty(KbError):
    """The corpus folder holds no documents while the index holds some: refused, not applied."""


class IndexLocked(KbError):
    """Another process holds the writer lock."""

    def __init__(self, message: str, holder_pid: int | None) -> None:
        super().__init__(message)
        self.holder_pid = holder_pid


class NotFound(KbError):
    """A document, passage or reading list does not exist."""


class InvalidReadingList(ConfigError):
    """A reading-list file that cannot be read as a list (broken TOML, wrong fields)."""


class InvalidVisibility(ConfigError):
    """A visibility value (in metadata or `kb.toml`) is unknown or names an unknown organisation."""


class AccountError(KbError):
    """An account cannot be created or changed as asked."""


class UnknownOrganisation(AccountError):
    """An organisation is not in the corpus's `organisations.toml`."""


class AccountExists(AccountError):
    """An account with this email address exists already."""


class UnknownAccount(AccountError, NotFound):
    """There is no account with this email address."""


class WeakPassword(AccountError):
    """A password is too short, too common, or otherwise too easy to guess."""


class UnknownToken(AccountError, NotFound):
    """There is no API token with this id (for this account)."""
