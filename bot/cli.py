"""The `bot` command: build the index, serve the chat, ask one question."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot import __version__
from bot.embedding import Embedder, make_embedder
from bot.index import Index, IndexCorrupt, IndexMissing, build, is_current, load, read_manifest
from bot.pages import corpus_hash, load_corpus
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.assistant import Assistant

log = logging.getLogger("bot")


def _settings(**overrides: Any) -> Settings:
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


def _build(settings: Settings, embedder: Embedder, strict: bool) -> Index:
    if not settings.corpus.is_dir():
        raise click.ClickException(f"corpus folder {settings.corpus} does not exist")
    started = time.perf_counter()
    digest = corpus_hash(settings.corpus)
    loaded = load_corpus(settings.corpus, max_bytes=settings.max_page_bytes)
    for problem in loaded.problems:
        click.secho(f"warning: skipped {problem.source}: {problem.reason}", fg="yellow", err=True)
    if strict and loaded.problems:
        raise click.ClickException(
            f"--strict: {len(loaded.problems)} page(s) could not be used; nothing was built"
        )
    if not loaded.assessments:
        raise click.ClickException(f"no usable assessment pages in {settings.corpus}")

    bar: Any = None
    progress: Callable[[int], None] | None = None

    def on_passages(total: int) -> None:
        nonlocal bar, progress
        if sys.stderr.isatty():
            bar = click.progressbar(length=total, label="Embedding passages", file=sys.stderr)
            bar.__enter__()
            progress = bar.update

    def step(n: int) -> None:
        if progress:
            progress(n)

    try:
        index = build(
            loaded.assessments,
            embedder,
            settings.index,
            digest,
            progress=step,
            on_passages=on_passages,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    seconds = time.perf_counter() - started
    click.echo(
        f"Indexed {len(loaded.assessments)} page(s) ({len(loaded.problems)} skipped) into "
        f"{index.manifest.passages} passages in {seconds:.1f} s -> {index.path}",
        err=True,
    )
    return index


def _assistant(settings: Settings, **kwargs: Any) -> Assistant:
    """The assistant over an index that is current (built first when needed)."""
    from bot.assistant import Assistant

    embedder = make_embedder(settings.embedder)
    return Assistant.create(settings, ensure_index(settings, embedder), embedder, **kwargs)


def ensure_index(settings: Settings, embedder: Embedder) -> Index:
    """Load the index, rebuilding first when it is missing or stale; refuse a broken one."""
    try:
        read_manifest(settings.index)
        stale = not is_current(settings.index, corpus_hash(settings.corpus), embedder.name)
    except IndexMissing:
        stale = True
    except IndexCorrupt as exc:
        raise click.ClickException(f"the index is unreadable: {exc}") from exc
    if stale:
        click.echo("Index missing or out of date with the corpus/model: building.", err=True)
        return _build(settings, embedder, strict=False)
    try:
        return load(settings.index)
    except IndexCorrupt as exc:
        raise click.ClickException(f"the index is unreadable: {exc}") from exc


@click.group()
@click.version_option(__version__, prog_name="bot")
def main() -> None:
    """Evidence FAQ bot: cited, templated answers about evidence level assessments.

    Every option can also be set with a BOT_ environment variable (BOT_CORPUS, BOT_INDEX,
    BOT_HOST, ...); see the README for the full list.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


@main.command("build")
@corpus_options
@click.option("--strict", is_flag=True, help="Fail instead of skipping a page that can't be used.")
def build_cmd(corpus: Path | None, index: Path | None, strict: bool) -> None:
    """Parse the corpus, embed its passages and publish a new index atomically."""
    settings = _settings(corpus=corpus, index=index)
    _build(settings, make_embedder(settings.embedder, progress=False), strict)


@main.command()
@corpus_options
@click.option("--host", help="Address to listen on [env BOT_HOST; default 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [env BOT_PORT; default 8000].")
def serve(corpus: Path | None, index: Path | None, host: str | None, port: int | None) -> None:
    """Serve the chat page and the API, building the index first if missing or stale."""
    import uvicorn

    from bot.service import create_app

    settings = _settings(corpus=corpus, index=index, host=host, port=port)
    assistant = _assistant(settings)
    assistant.warm_up()
    app = create_app(settings, assistant)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


@main.command()
@corpus_options
@click.option("--session", "session_id", help="Continue the conversation with this session id.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly the HTTP reply object.")
@click.argument("question")
def ask(
    corpus: Path | None, index: Path | None, session_id: str | None, as_json: bool, question: str
) -> None:
    """Answer one QUESTION from the shell, as the chat would."""
    from bot.assistant import clean_message

    try:
        question = clean_message(question)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="QUESTION") from exc
    reply = _assistant(_settings(corpus=corpus, index=index)).reply(question, session_id)
    if as_json:
        click.echo(json.dumps(reply.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(f"[{reply.status.value}]\n{reply.answer}")
        for s in reply.suggestions:
            click.echo(f"  ? {s}")


@main.command("eval")
@corpus_options
@click.option("--baselines/--no-baselines", default=True, help="Also run dense-only and BM25-only.")
@click.option("--failures", is_flag=True, help="List every wrong reply and invariant violation.")
@click.argument("cases", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def eval_cmd(
    corpus: Path | None, index: Path | None, baselines: bool, failures: bool, cases: Path
) -> None:
    """Run labelled questions (CASES, JSON lines) against the index and print a table."""
    from bot.dialogue import MemorySessionStore
    from bot.evaluate import evaluate, load_cases, table

    try:
        labelled = load_cases(cases)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="CASES") from exc
    # A private session store: evaluation conversations must not touch real ones.
    assistant = _assistant(_settings(corpus=corpus, index=index), sessions=MemorySessionStore())
    reports = evaluate(labelled, assistant, baselines=baselines)
    click.echo(table(reports))
    if failures:
        for r in reports[0].failures():
            got = f"{r.reply.status.value} {r.cited or ''} [{r.section or ''}]"
            click.echo(
                f"- {r.case.id}: {r.case.question!r}: expected {r.case.status} "
                f"{r.case.assessment or ''}, got {got} {'; '.join(r.violations)}"
            )
