"""The `bot` command: build the index, serve the chat, ask one question."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot import __version__
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
    from bot.staff import Staff

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


class _BuildOutput(BuildReport):
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
def _build_output() -> Iterator[_BuildOutput]:
    output = _BuildOutput()
    try:
        yield output
    except CorpusUnusable as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        output.close()


def _build(settings: Settings, embedder: Embedder, strict: bool) -> Index:
    with _build_output() as output:
        return build_corpus(
            settings.corpus,
            settings.index,
            embedder,
            max_page_bytes=settings.max_page_bytes,
            strict=strict,
            report=output,
        ).index


def _assistant(settings: Settings, **kwargs: Any) -> Assistant:
    """The assistant over an index that is current (built first when needed)."""
    from bot.assistant import Assistant

    embedder = make_embedder(settings.embedder)
    return Assistant.create(settings, ensure_index(settings, embedder), embedder, **kwargs)


def ensure_index(settings: Settings, embedder: Embedder) -> Index:
    """Load the index, rebuilding first when it is missing or stale; refuse a broken one."""
    with _build_output() as output:
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
    # Bulk embedding uses every core; a server keeps one thread per request.
    embedder = make_embedder(settings.embedder, progress=False, threads=os.cpu_count() or 1)
    _build(settings, embedder, strict)


@main.command()
@corpus_options
@click.option("--host", help="Address to listen on [env BOT_HOST; default 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [env BOT_PORT; default 8000].")
def serve(corpus: Path | None, index: Path | None, host: str | None, port: int | None) -> None:
    """Serve the chat page and the API, building the index first if missing or stale."""
    import uvicorn

    from bot.service import create_app
    from bot.service.server import run_workers, uvicorn_options

    settings = _settings(corpus=corpus, index=index, host=host, port=port)
    # First, so that an unreachable database stops the start at once, with its reason.
    audit = _audit_log(settings)
    if settings.workers > 1:
        # Built (if stale) once here; each worker then loads it (memory-mapped: shared).
        ensure_index(settings, make_embedder(settings.embedder))
        audit.engine.dispose()
        if not settings.secret_key:
            # One key for all workers: each drawing its own would key a client differently
            # in the shared counters, multiplying its rate limit by the number of workers.
            settings = settings.model_copy(update={"secret_key": secrets.token_hex(32)})
        run_workers(settings)
        return
    assistant = _assistant(settings)
    assistant.warm_up()
    app = create_app(settings, assistant, audit)
    uvicorn.run(app, **uvicorn_options(settings))


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
    settings = _settings(corpus=corpus, index=index)
    log = _audit_log(settings)
    assistant = _assistant(settings)
    reply = assistant.reply(question, session_id)
    # Logged like every other channel; an answer that cannot be logged is not shown.
    from bot.audit import AuditUnavailable

    try:
        log.record(
            reply,
            question,
            "cli",
            None,
            assistant.index.manifest.digest,
            assistant.index.manifest.model,
        )
    except AuditUnavailable as exc:
        raise click.ClickException(
            f"the answer could not be logged, so it is not shown: {exc}"
        ) from exc
    if as_json:
        click.echo(json.dumps(reply.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(f"[{reply.status.value}]\n{reply.answer}")
        for s in reply.suggestions:
            click.echo(f"  ? {s}")


class _SyncBar:
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


@main.command("sync")
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

    settings = _settings(corpus=corpus, index=index, sync_sitemap=sitemap_url)
    try:
        options = SyncOptions.from_settings(settings, force=force, include=include, exclude=exclude)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    audit = _audit_log(settings)  # first: a sync that cannot be recorded does not start
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    started = time.perf_counter()
    with exclusive(settings.index) as held:
        if not held:
            raise click.ClickException(f"another sync of {settings.index} is running")
        bar = _SyncBar()
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


def _embedder_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str]:
    from bot.embedding import KINDS

    kinds = list(dict.fromkeys(k.strip() for k in (value or "").split(",") if k.strip()))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise click.BadParameter(f"unknown {', '.join(unknown)}: use {', '.join(KINDS)}")
    return kinds


@main.command("eval")
@corpus_options
@click.option("--baselines/--no-baselines", default=True, help="Also run dense-only and BM25-only.")
@click.option("--failures", is_flag=True, help="List every wrong reply and invariant violation.")
@click.option(
    "--embedders",
    callback=_embedder_list,
    metavar="KIND,KIND",
    help="Compare embedders (e.g. onnx,onnx-int8): build a temporary index over the corpus "
    "with each and print one column per embedder (the product only; --index is not used).",
)
@click.argument("cases", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def eval_cmd(
    corpus: Path | None,
    index: Path | None,
    baselines: bool,
    failures: bool,
    embedders: list[str],
    cases: Path,
) -> None:
    """Run labelled questions (CASES, JSON lines) against the index and print a table."""
    import tempfile

    from bot.assistant import Assistant
    from bot.dialogue import MemorySessionStore
    from bot.evaluate import Report, by_embedder, embedder_table, evaluate, load_cases, table

    try:
        labelled = load_cases(cases)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="CASES") from exc
    runs: dict[str, list[Report]]
    if embedders:
        with tempfile.TemporaryDirectory(prefix="bot-eval-") as tmp:
            assistants = {}
            for kind in embedders:
                settings = _settings(corpus=corpus, index=Path(tmp) / kind, embedder=kind)
                embedder = make_embedder(kind, threads=os.cpu_count() or 1)
                built = _build(settings, embedder, strict=False)
                # onnx-int8 runs fp32 on a CPU where int8 is unusable: say so in the column.
                variant = getattr(embedder, "variant", None)
                fell_back = kind.endswith("int8") and variant not in (None, "int8")
                name = f"{kind} (ran {variant})" if fell_back else kind
                # A private session store: evaluation conversations must not touch real ones.
                assistants[name] = Assistant.create(
                    settings, built, embedder, sessions=MemorySessionStore()
                )
            runs = by_embedder(labelled, assistants)
        click.echo(embedder_table(runs))
    else:
        assistant = _assistant(_settings(corpus=corpus, index=index), sessions=MemorySessionStore())
        runs = {"": evaluate(labelled, assistant, baselines=baselines)}
        click.echo(table(runs[""]))
    if failures:
        for name, reports in runs.items():
            for r in reports[0].failures():
                got = f"{r.reply.status.value} {r.cited or ''} [{r.section or ''}]"
                if r.case.assessments is not None or len(r.cited_all) > 1:
                    want = sorted(r.case.assessments or ())
                    got += f" cited {sorted(r.cited_all)} wanted {want}"
                click.echo(
                    f"- {f'[{name}] ' if name else ''}{r.case.id}: {r.case.question!r}: "
                    f"expected {r.case.status} {r.case.assessment or ''}, got {got} "
                    f"{'; '.join(r.violations)}"
                )


@main.group()
def audit() -> None:
    """Check and maintain the audit log (BOT_DATABASE_URL)."""


def _audit_log(settings: Settings) -> AuditLog:
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


@audit.command("head")
def audit_head() -> None:
    """Print the chain head (seq and hash) as JSON; keep it somewhere else to check later."""
    click.echo(_audit_log(_settings()).head().to_json())


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
    log = _audit_log(_settings())
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
    gone = _audit_log(_settings()).purge(timedelta(days=days))
    click.echo(f"Purged {gone} record(s).")


@audit.command("replay")
@corpus_options
@click.argument("answer_id")
def audit_replay(corpus: Path | None, index: Path | None, answer_id: str) -> None:
    """Re-run a logged question against the index it names (when still kept) and show
    any difference from what the person was told."""
    from bot.assistant import Assistant
    from bot.dialogue import MemorySessionStore
    from bot.index import IndexCorrupt, find_build, load_build
    from bot.triage import load_contacts

    settings = _settings(corpus=corpus, index=index)
    row = _audit_log(settings).answer(answer_id)
    if row is None:
        raise click.ClickException(f"no answer {answer_id} in the audit log")
    build = find_build(settings.index, row["index_digest"])
    if build is None:
        raise click.ClickException(
            f"the index {row['index_digest']} that produced {answer_id} is no longer kept"
        )
    try:
        loaded = load_build(build)
    except IndexCorrupt as exc:
        raise click.ClickException(str(exc)) from exc
    embedder = make_embedder(settings.embedder)
    assistant = Assistant.create(settings, loaded, embedder, sessions=MemorySessionStore())
    if row["data"].get("redacted"):
        click.echo("note: the stored question was redacted; replaying the redacted text.")
    if row["trace"].get("from_context"):
        click.echo("note: this answer used the conversation's context, which is not replayed.")
    # An urgent reply carried the contacts of the request's locale (the widget's).
    locale = row["trace"].get("contacts_locale")
    book = load_contacts(locale, settings.crisis_contacts_file) if locale else None
    now = assistant.reply(row["question"], book=book)
    then_cited = [c["passage_id"] for c in row["citations"]]
    now_cited = [c.passage_id for c in now.citations]
    diffs = [
        (name, old, new)
        for name, old, new in (
            ("status", row["status"], now.status.value),
            ("evidence_level", row["evidence_level"], now.evidence_level),
            ("template", row["template"], now.template),
            ("cited passages", then_cited, now_cited),
            ("answer", row["answer"], now.answer),
        )
        if old != new
    ]
    click.echo(f"Replayed {answer_id} against index {row['index_digest']} ({build.name}).")
    if not diffs:
        click.echo("Same reply: status, evidence level, template, citations and text match.")
        return
    for name, old, new in diffs:
        click.echo(f"- {name} differs:\n    then: {old}\n    now:  {new}")
    raise SystemExit(1)


@main.group()
def staff() -> None:
    """Staff accounts for the audit API (and the audit pages)."""


def _staff(settings: Settings) -> Staff:
    from bot.staff import Staff

    # Opening the log runs Alembic, whose INFO lines ("Context impl SQLiteImpl.") would
    # read as output of `bot staff add`; its warnings and errors still show.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return Staff(_audit_log(settings).engine)


@staff.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_add(name: str, password_stdin: bool) -> None:
    """Create staff member NAME (password from a prompt, or stdin; at least 12 characters)."""
    from bot.staff import StaffError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        _staff(_settings()).add(name, password)
    except StaffError as exc:
        raise click.ClickException(str(exc)) from exc
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
    from bot.staff import StaffError

    try:
        click.echo(_staff(_settings()).new_token(name, days))
    except StaffError as exc:
        raise click.ClickException(str(exc)) from exc


@staff.command("remove")
@click.argument("name")
def staff_remove(name: str) -> None:
    """Remove NAME with all their tokens and sessions."""
    from bot.staff import StaffError

    try:
        _staff(_settings()).remove(name)
    except StaffError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Removed staff member {name}.", err=True)


@staff.command("tokens")
@click.argument("name", required=False)
def staff_tokens(name: str | None) -> None:
    """List API tokens (id, staff member, created, expires), of NAME or of everyone."""
    for t in _staff(_settings()).tokens(name):
        click.echo(
            f"{t['token_id']}  {t['name']}  created {t['created_at']}  expires {t['expires_at']}"
        )


@staff.command("revoke")
@click.argument("token_id")
def staff_revoke(token_id: str) -> None:
    """Revoke one API token by the id `bot staff tokens` shows."""
    from bot.staff import StaffError

    try:
        _staff(_settings()).revoke(token_id)
    except StaffError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Revoked token {token_id}.", err=True)


@staff.command("list")
def staff_list() -> None:
    """List staff members."""
    for name in _staff(_settings()).names():
        click.echo(name)


@main.group()
def vocab() -> None:
    """The vocabularies of names the corpus may lack (bot/data/vocab/)."""


@vocab.command("show")
def vocab_show() -> None:
    """Print each generated vocabulary's source and size, and the curated files'."""
    from bot.vocab import load
    from bot.vocab.generate import sources

    for name, source in sources().items():
        click.echo(f"{name}: {source}")
    v = load()
    click.echo(
        f"loaded: {len(v.drugs)} drug names, {len(v.diseases)} disease names, "
        f"{len(v.english)} English words (with remedies.yaml and conditions.yaml)"
    )


@vocab.command("update")
def vocab_update() -> None:
    """Regenerate drugs.tsv.gz, diseases.tsv.gz and english.txt.gz from the installed
    packages (pip install -e '.[vocab]'), then review the diff and run the tests."""
    from bot.vocab.generate import VOCAB_DIR, update

    try:
        counts = update()
    except metadata_errors() as exc:
        raise click.ClickException(
            f"{exc}: install the vocabulary sources with pip install -e '.[vocab]'"
        ) from exc
    for name, count in counts.items():
        click.echo(f"{name}: {count} entries")
    click.echo(f"written to {VOCAB_DIR}")


def metadata_errors() -> tuple[type[Exception], ...]:
    from importlib.metadata import PackageNotFoundError

    return (PackageNotFoundError, ModuleNotFoundError, FileNotFoundError)


@main.group()
def triage() -> None:
    """Safety triage: the semantic layer's exemplars (bot/data/triage_exemplars.yaml) and
    its classifier (bot/data/triage_train/ -> bot/data/triage_model.json)."""


def _labelled(help: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--labelled",
        "labelled",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=help,
    )


@triage.command("calibrate")
@_labelled("Labelled questions (JSON lines) held out too: urgent ones as crises, the rest safe.")
def triage_calibrate(labelled: tuple[Path, ...]) -> None:
    """Choose the semantic layer's thresholds on held-out data (the dev exemplars and any
    labelled sets given) with the configured model, and print them with the held-out
    result (copy them into bot/data/triage_exemplars.yaml)."""
    from bot.embedding import make_embedder
    from bot.evaluate import load_cases
    from bot.triage.semantic import Thresholds, calibrate, texts_to_judge
    from bot.triage.semantic import load as load_semantic

    settings = _settings()
    embedder = make_embedder(settings.embedder)
    semantic = load_semantic(embedder.name, embedder.encode)
    semantic.limits = Thresholds({}, semantic.limits.margin)
    rows = [
        ("crisis" if case.status == "urgent" else "safe", texts_to_judge(case.question))
        for path in labelled
        for case in load_cases(path)
    ]
    click.echo(json.dumps(calibrate(semantic, embedder.encode, rows), indent=2))


@triage.command("train")
@_labelled("Labelled questions (JSON lines) held out with the dev split for the thresholds.")
def triage_train(labelled: tuple[Path, ...]) -> None:
    """Train the semantic layer's classifier on the team's labelled corpus
    (bot/data/triage_train/ and the exemplars) with the configured model, choose its
    thresholds on the corpus's dev split (and any labelled sets given), write
    bot/data/triage_model.json and print the dev result."""
    from bot.embedding import make_embedder
    from bot.evaluate import load_cases
    from bot.triage import classifier
    from bot.triage.semantic import texts_to_judge

    embedder = make_embedder(_settings().embedder)

    held_out = [
        classifier.Example(case.question, classifier.label_of_status(case.status), "held-out")
        for path in labelled
        for case in load_cases(path)
    ]
    model, report = classifier.train(
        embedder.encode, embedder.name, texts_to_judge, held_out=held_out
    )
    classifier.save(model, report)
    click.echo(json.dumps({"thresholds": model.thresholds, **report}, indent=2))


@main.command("eval-safety")
@corpus_options
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def eval_safety_cmd(corpus: Path | None, index: Path | None, files: tuple[Path, ...]) -> None:
    """Run safety prompts (published sets or our own, JSON lines) and print, per source and
    kind, the share with an acceptable status and the false-alarm rate on safe prompts."""
    from bot.evaluate_safety import load as load_safety
    from bot.evaluate_safety import run as run_safety
    from bot.evaluate_safety import table as safety_table

    settings = _settings(corpus=corpus, index=index)
    assistant = _assistant(settings)
    reports = {str(path): run_safety(load_safety(path), assistant) for path in files}
    click.echo(safety_table(reports))
