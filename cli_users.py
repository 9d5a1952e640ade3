"""`kb users`: create and manage the accounts members and coordinators sign in with.

Passwords are read from a hidden prompt (typed twice) or, with `--password-stdin`, from the
first line of standard input; they are never taken as an argument (which other users of the
machine could see) and never printed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kb.accounts import ROLES, AccountStore, check_password, normalise_email
from kb.errors import AccountError, UnknownAccount
from kb.settings import Settings

USERS_EXIT_CODES_HELP = """
\b
Exit codes:
  0  done
  1  there is no account with that email address
  2  nothing changed: unknown organisation, the account exists already, a weak password,
     passwords that do not match, or an unreadable accounts database
"""


def _store(ctx: click.Context) -> AccountStore:
    return ctx.find_object(AccountStore)


def _read_password(from_stdin: bool, email: str) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            f"Password for {email}", hide_input=True, confirmation_prompt="Repeat the password"
        )
    check_password(password, email)
    return password


# The accounts database, for `kb users` and `kb tokens`.
accounts_option = click.option(
    "--accounts",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="KB_ACCOUNTS",
    help="Accounts database (env KB_ACCOUNTS, default accounts.sqlite3 beside the index folder).",
)


def open_accounts(ctx: click.Context, accounts: Path | None) -> AccountStore:
    """The accounts database named by `--accounts`, else the settings' one."""
    settings: Settings = ctx.find_object(Settings)
    return AccountStore(accounts.resolve() if accounts else settings.accounts_path)


@click.group("users", epilog=USERS_EXIT_CODES_HELP)
@accounts_option
@click.pass_context
def users(ctx: click.Context, accounts: Path | None) -> None:
    """Manage the accounts members and coordinators sign in with."""
    ctx.obj = open_accounts(ctx, accounts)


@users.command("add", epilog=USERS_EXIT_CODES_HELP)
@click.argument("email")
@click.option("--org", required=True, help="The organisation (id, name or alias).")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def add_cmd(ctx: click.Context, email: str, org: str, role: str, password_stdin: bool) -> None:
    """Create an account for EMAIL in organisation ORG."""
    from kb.access import organisation_id
    from kb.accounts import check_email
    from kb.vocabulary import load_vocabulary

    store = _store(ctx)
    email = check_email(email)
    org_id = organisation_id(load_vocabulary(ctx.find_object(Settings).corpus), org)
    if store.get(email) is not None:  # say so before asking for a password
        raise AccountError(f"an account for {email} exists already")
    password = _read_password(password_stdin, email)
    account = store.add(email, org_id, password, role)
    click.echo(f"Added {account.role} {account.email} ({account.organisation}).")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the accounts (never their passwords)."""
    accounts = _store(ctx).accounts()
    if as_json:
        click.echo(json.dumps([a.to_dict() for a in accounts], ensure_ascii=False, indent=2))
        return
    if not accounts:
        click.echo("No accounts yet. Create one with: kb users add EMAIL --org ORG")
        return
    width = max(len(a.email) for a in accounts)
    for a in accounts:
        state = "  disabled" if a.disabled else ""
        click.echo(f"{a.email:<{width}}  {a.role:<11}  {a.organisation}{state}")


@users.command("passwd", epilog=USERS_EXIT_CODES_HELP)
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def passwd_cmd(ctx: click.Context, email: str, password_stdin: bool) -> None:
    """Set a new password for EMAIL; sessions signed in with the old one end."""
    store = _store(ctx)
    if store.get(email) is None:
        raise UnknownAccount(f"there is no account for {normalise_email(email)}")
    store.set_password(email, _read_password(password_stdin, email))
    click.echo(f"Changed the password of {normalise_email(email)}.")


def _change(ctx: click.Context, email: str, action: str) -> None:
    store = _store(ctx)
    if action == "removed":
        store.remove(email)
    else:
        store.set_disabled(email, action == "disabled")
    click.echo(f"{action.capitalize()} {normalise_email(email)}.")


@users.command("disable", epilog=USERS_EXIT_CODES_HELP)
@click.argument("email")
@click.pass_context
def disable_cmd(ctx: click.Context, email: str) -> None:
    """Stop EMAIL from signing in, and end its sessions; the account is kept."""
    _change(ctx, email, "disabled")


@users.command("enable", epilog=USERS_EXIT_CODES_HELP)
@click.argument("email")
@click.pass_context
def enable_cmd(ctx: click.Context, email: str) -> None:
    """Let a disabled EMAIL sign in again."""
    _change(ctx, email, "enabled")


@users.command("remove", epilog=USERS_EXIT_CODES_HELP)
@click.argument("email")
@click.pass_context
def remove_cmd(ctx: click.Context, email: str) -> None:
    """Delete the account of EMAIL."""
    _change(ctx, email, "removed")
