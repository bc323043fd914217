"""`bot audit`: check, keep and replay the audit log."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import audit_log, corpus_options, settings_from


@click.group()
def audit() -> None:
    """Check and maintain the audit log (BOT_DATABASE_URL)."""


@audit.command("head")
def audit_head() -> None:
    """Print the chain head (seq and hash) as JSON; keep it somewhere else to check later."""
    click.echo(audit_log(settings_from()).head().to_json())


@audit.command("verify")
@click.option(
    "--head",
    "head",
    help="A head printed earlier by `bot audit head` (the JSON, or a file holding it): "
    "also detects a truncated or rewritten log.",
)
def audit_verify(head: str | None) -> None:
    """Walk the whole chain and report the first edited, deleted, reordered or truncated
    record (exit status 1)."""
    from bot.audit import Head

    expected = None
    if head:
        source = Path(head).read_text() if Path(head).is_file() else head
        try:
            expected = Head.parse(source)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--head") from exc
    log = audit_log(settings_from())
    verdict = log.verify(expected)
    if not verdict.ok:
        raise click.ClickException(
            f"audit chain broken at record {verdict.seq}: {verdict.problem} "
            f"({verdict.checked} records checked before it)"
        )
    click.echo(f"OK: {verdict.checked} records verified; head {log.head().to_json()}")
    for note in verdict.notes:
        click.echo(f"Note: {note}.")


@audit.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=0),
    required=True,
    help="Delete records older than this many days.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def audit_purge(days: int, yes: bool) -> None:
    """Delete old records; the chain stays verifiable from a checkpoint (the last deleted
    record becomes its anchor, and the purge itself is recorded)."""
    from datetime import timedelta

    if not yes:
        click.confirm(f"Delete every audit record older than {days} days?", abort=True)
    gone = audit_log(settings_from()).purge(timedelta(days=days))
    click.echo(f"Purged {gone} record(s).")


@audit.command("replay")
@corpus_options
@click.argument("answer_id")
def audit_replay(corpus: Path | None, index: Path | None, answer_id: str) -> None:
    """Re-run a logged question against the index it names (when still kept) and show
    any difference from what the person was told."""
    from bot.usecases import ReplayError, replay

    settings = settings_from(corpus=corpus, index=index)
    try:
        done = replay(settings, audit_log(settings), answer_id)
    except ReplayError as exc:
        raise click.ClickException(str(exc)) from exc
    for note in done.notes:
        click.echo(f"note: {note}")
    click.echo(f"Replayed {answer_id} against index {done.index_digest} ({done.build.name}).")
    if done.same:
        click.echo("Same reply: status, evidence level, template, citations and text match.")
        return
    for d in done.differences:
        click.echo(f"- {d.name} differs:\n    then: {d.then}\n    now:  {d.now}")
    raise SystemExit(1)
