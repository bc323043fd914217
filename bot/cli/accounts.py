"""`bot staff`: the staff accounts and API tokens of the audit API and pages."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from bot.cli.common import audit_log, settings_from
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.staff import Staff


@click.group()
def staff() -> None:
    """Staff accounts for the audit API (and the audit pages)."""


def _staff(settings: Settings) -> Staff:
    from bot.staff import Staff

    # Opening the log runs Alembic, whose INFO lines ("Context impl SQLiteImpl.") would
    # read as output of `bot staff add`; its warnings and errors still show.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return Staff(audit_log(settings).engine)


@contextmanager
def _refusals() -> Iterator[None]:
    """A refusal of the staff store (unknown name, short password...) as a CLI error."""
    from bot.staff import StaffError

    try:
        yield
    except StaffError as exc:
        raise click.ClickException(str(exc)) from exc


@staff.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_add(name: str, password_stdin: bool) -> None:
    """Create staff member NAME (password from a prompt, or stdin; at least 12 characters)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _refusals():
        _staff(settings_from()).add(name, password)
    click.echo(f"Added staff member {name}.", err=True)


@staff.command("token")
@click.argument("name")
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=90,
    show_default=True,
    help="Days until the token stops working.",
)
def staff_token(name: str, days: int) -> None:
    """Print a new API token for NAME on stdout (shown once; only its hash is kept)."""
    with _refusals():
        click.echo(_staff(settings_from()).new_token(name, days))


@staff.command("remove")
@click.argument("name")
def staff_remove(name: str) -> None:
    """Remove NAME with all their tokens and sessions."""
    with _refusals():
        _staff(settings_from()).remove(name)
    click.echo(f"Removed staff member {name}.", err=True)


@staff.command("tokens")
@click.argument("name", required=False)
def staff_tokens(name: str | None) -> None:
    """List API tokens (id, staff member, created, expires), of NAME or of everyone."""
    for t in _staff(settings_from()).tokens(name):
        click.echo(
            f"{t['token_id']}  {t['name']}  created {t['created_at']}  expires {t['expires_at']}"
        )


@staff.command("revoke")
@click.argument("token_id")
def staff_revoke(token_id: str) -> None:
    """Revoke one API token by the id `bot staff tokens` shows."""
    with _refusals():
        _staff(settings_from()).revoke(token_id)
    click.echo(f"Revoked token {token_id}.", err=True)


@staff.command("list")
def staff_list() -> None:
    """List staff members."""
    for name in _staff(settings_from()).names():
        click.echo(name)
