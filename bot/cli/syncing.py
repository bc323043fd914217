"""`bot sync`: fetch the site's assessment pages into the corpus and publish an index."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from bot.cli.common import audit_log, corpus_options, settings_from
from bot.embedding import make_embedder


class SyncBar:
    """The sync's progress on a terminal (nothing when stderr is not one)."""

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, total: int) -> None:
        if sys.stderr.isatty() and total:
            self._bar = click.progressbar(length=total, label="Syncing pages", file=sys.stderr)
            self._bar.__enter__()

    def advance(self, url: str, outcome: str) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


@click.command("sync")
@corpus_options
@click.argument("sitemap_url", required=False)
@click.option(
    "--force",
    is_flag=True,
    help="Drop every page the site no longer lists, even more than BOT_SYNC_MAX_DROP of them.",
)
@click.option(
    "--include", multiple=True, metavar="GLOB", help="Only URL paths like this (repeatable)."
)
@click.option("--exclude", multiple=True, metavar="GLOB", help="Never URL paths like this.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def sync_cmd(
    corpus: Path | None,
    index: Path | None,
    sitemap_url: str | None,
    force: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    as_json: bool,
) -> None:
    """Fetch the assessment pages that SITEMAP_URL lists [env BOT_SYNC_SITEMAP] into the
    corpus (obeying robots.txt; unchanged pages cost a 304), drop the pages it no longer
    lists, and publish a new index that running servers switch to. Exit status 1 when
    nothing could be synced."""
    from bot.audit import AuditUnavailable
    from bot.sync import SyncOptions, exclusive, sync_site

    settings = settings_from(corpus=corpus, index=index, sync_sitemap=sitemap_url)
    try:
        options = SyncOptions.from_settings(settings, force=force, include=include, exclude=exclude)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    audit = audit_log(settings)  # first: a sync that cannot be recorded does not start
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    started = time.perf_counter()
    with exclusive(settings.index) as held:
        if not held:
            raise click.ClickException(f"another sync of {settings.index} is running")
        bar = SyncBar()
        try:
            report = sync_site(
                options,
                settings.corpus,
                settings.index,
                lambda: make_embedder(settings.embedder, threads=os.cpu_count() or 1),
                progress=bar,
            )
        finally:
            bar.close()
    for failure in report.failures:
        click.secho(
            f"warning: not synced {failure['url']}: {failure['reason']}", fg="yellow", err=True
        )
    for error in report.errors:
        click.secho(f"error: {error}", fg="red", err=True)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(
            f"Synced {options.sitemap} in {time.perf_counter() - started:.1f} s: {report.summary()}"
            + (f"; index {report.index}" if report.index else "")
        )
    try:
        audit.event("sync", None, {**report.to_json(), "trigger": "cli"}, actor="bot sync")
    except AuditUnavailable as exc:
        raise click.ClickException(f"the sync ran but could not be recorded: {exc}") from exc
    if not report.ok:
        raise SystemExit(1)
