"""What the commands share: settings from options, the corpus options, the build's output,
an index that is current, the assistant over it and the audit log."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.embedding import Embedder, make_embedder
from bot.index import (
    BuildReport,
    Built,
    CorpusUnusable,
    Index,
    IndexCorrupt,
    build_corpus,
)
from bot.index import ensure_index as current_index
from bot.pages import PageProblem
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.assistant import Assistant
    from bot.audit import AuditLog


def settings_from(**overrides: Any) -> Settings:
    """Options given on the command line win over BOT_* variables, which win over defaults."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def corpus_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--index",
        type=click.Path(file_okay=False, path_type=Path),
        help="Index folder [env BOT_INDEX; default: index/].",
    )(fn)
    return click.option(
        "--corpus",
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder of assessment pages [env BOT_CORPUS; default: corpus/].",
    )(fn)


class BuildOutput(BuildReport):
    """A build's warnings, progress bar (on a terminal only) and summary, on stderr."""

    def __init__(self) -> None:
        self._bar: Any = None

    def rebuilding(self) -> None:
        click.echo("Index missing or out of date with the corpus/model: building.", err=True)

    def skipped(self, problem: PageProblem) -> None:
        click.secho(f"warning: skipped {problem.source}: {problem.reason}", fg="yellow", err=True)

    def embedding(self, passages: int) -> None:
        if sys.stderr.isatty():
            self._bar = click.progressbar(
                length=passages, label="Embedding passages", file=sys.stderr
            )
            self._bar.__enter__()

    def embedded(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def built(self, result: Built) -> None:
        self.close()
        click.echo(
            f"Indexed {result.pages} page(s) ({result.skipped} skipped) into "
            f"{result.index.manifest.passages} passages in {result.seconds:.1f} s -> "
            f"{result.index.path}",
            err=True,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@contextlib.contextmanager
def build_output() -> Iterator[BuildOutput]:
    output = BuildOutput()
    try:
        yield output
    except CorpusUnusable as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        output.close()


def build_index(settings: Settings, embedder: Embedder, strict: bool) -> Index:
    with build_output() as output:
        return build_corpus(
            settings.corpus,
            settings.index,
            embedder,
            max_page_bytes=settings.max_page_bytes,
            strict=strict,
            report=output,
        ).index


def ensure_index(settings: Settings, embedder: Embedder) -> Index:
    """Load the index, rebuilding first when it is missing or stale; refuse a broken one."""
    with build_output() as output:
        try:
            return current_index(
                settings.corpus,
                settings.index,
                embedder,
                max_page_bytes=settings.max_page_bytes,
                report=output,
            )
        except IndexCorrupt as exc:
            raise click.ClickException(f"the index is unreadable: {exc}") from exc


def open_current(settings: Settings, *, private: bool = False, warm: bool = False) -> Assistant:
    """The assistant over an index that is current (built first when needed)."""
    from bot.usecases import open_assistant

    embedder = make_embedder(settings.embedder)
    index = ensure_index(settings, embedder)
    return open_assistant(settings, index, embedder, private=private, warm=warm)


def audit_log(settings: Settings) -> AuditLog:
    from bot.audit import AuditLog, AuditUnavailable

    try:
        return AuditLog.open(
            settings.database_url,
            settings.redact_questions,
            settings.audit_key or None,
            settings.database_timeout,
        )
    except AuditUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
