"""`kb tokens`: personal API tokens, with which scripts and feed readers read as a member.

A token is printed once, when it is made, and stored only as a hash: lost, it cannot be
shown again, only revoked and replaced.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli_users import accounts_option, open_accounts
from kb.accounts import normalise_email
from kb.errors import UnknownAccount
from kb.tokens import DEFAULT_DAYS, MAX_DAYS, TokenStore

TOKENS_EXIT_CODES_HELP = """
\b
Exit codes:
  0  done
  1  there is no such account or token
  2  nothing changed: too many tokens, a bad expiry, or an unreadable accounts database
"""


@click.group("tokens", epilog=TOKENS_EXIT_CODES_HELP)
@accounts_option
@click.pass_context
def tokens(ctx: click.Context, accounts: Path | None) -> None:
    """Make, list and revoke the API tokens of members' accounts."""
    ctx.obj = TokenStore(open_accounts(ctx, accounts))


@tokens.command("create", epilog=TOKENS_EXIT_CODES_HELP)
@click.argument("email")
@click.option("--name", default="", help="What the token is for, e.g. the script using it.")
@click.option(
    "--expires",
    "days",
    type=click.IntRange(1, MAX_DAYS),
    default=DEFAULT_DAYS,
    show_default=True,
    help="Days until the token stops working.",
)
@click.pass_obj
def create_cmd(store: TokenStore, email: str, name: str, days: int) -> None:
    """Make a token that reads /api/* as EMAIL; it is printed once, on standard output."""
    made = store.create(email, name, days)
    click.echo(
        f"Made token {made.info.id} ({made.info.name}) for {made.info.email}, valid until "
        f"{made.info.expires}. It is shown only now:",
        err=True,
    )
    click.echo(made.token)


@tokens.command("list", epilog=TOKENS_EXIT_CODES_HELP)
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print the tokens as JSON.")
@click.pass_obj
def list_cmd(store: TokenStore, email: str, as_json: bool) -> None:
    """List EMAIL's tokens (never the tokens themselves): id, state, name, dates."""
    if store.accounts.get(email) is None:
        raise UnknownAccount(f"there is no account for {normalise_email(email)}")
    found = store.tokens(email)
    if as_json:
        click.echo(json.dumps([t.to_dict() for t in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(f"{normalise_email(email)} has no tokens. Make one with: kb tokens create EMAIL")
        return
    for t in found:
        used = t.last_used or "never used"
        click.echo(f"{t.id}  {t.state():<7}  expires {t.expires}  {used:<25}  {t.name}")


@tokens.command("revoke", epilog=TOKENS_EXIT_CODES_HELP)
@click.argument("token_id")
@click.pass_obj
def revoke_cmd(store: TokenStore, token_id: str) -> None:
    """Revoke the token TOKEN_ID (as `kb tokens list` shows it, or the whole token)."""
    info = store.revoke(token_id)
    click.echo(f"Revoked token {info.id} ({info.name}) of {info.email}.")
