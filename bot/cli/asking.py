"""`bot ask`, `bot eval` and `bot eval-safety`: questions answered from the shell, one at
a time or as labelled sets."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.common import audit_log, build_index, corpus_options, open_current, settings_from
from bot.embedding import make_embedder

if TYPE_CHECKING:
    from bot.evaluate import Case, Report


@click.command()
@corpus_options
@click.option("--session", "session_id", help="Continue the conversation with this session id.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly the HTTP reply object.")
@click.argument("question")
def ask(
    corpus: Path | None, index: Path | None, session_id: str | None, as_json: bool, question: str
) -> None:
    """Answer one QUESTION from the shell, as the chat would."""
    from bot.assistant import clean_message
    from bot.audit import AuditUnavailable
    from bot.usecases import Asked, answer_and_record

    try:
        question = clean_message(question)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="QUESTION") from exc
    settings = settings_from(corpus=corpus, index=index)
    log = audit_log(settings)
    assistant = open_current(settings)
    # Logged like every other channel; an answer that cannot be logged is not shown (an
    # urgent one neither: there is no backlog here to keep its record).
    try:
        reply = answer_and_record(
            assistant, log, Asked(question, session_id, "cli"), check_index=False
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


def _embedder_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str]:
    from bot.embedding import KINDS

    kinds = list(dict.fromkeys(k.strip() for k in (value or "").split(",") if k.strip()))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise click.BadParameter(f"unknown {', '.join(unknown)}: use {', '.join(KINDS)}")
    return kinds


@click.command("eval")
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
    from bot.evaluate import embedder_table, evaluate, load_cases, table

    try:
        labelled = load_cases(cases)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="CASES") from exc
    runs: dict[str, list[Report]]
    if embedders:
        runs = _by_embedder(labelled, corpus, embedders)
        click.echo(embedder_table(runs))
    else:
        # A private session store: evaluation conversations must not touch real ones.
        assistant = open_current(settings_from(corpus=corpus, index=index), private=True)
        runs = {"": evaluate(labelled, assistant, baselines=baselines)}
        click.echo(table(runs[""]))
    if failures:
        _print_failures(runs)


def _by_embedder(
    labelled: list[Case], corpus: Path | None, embedders: list[str]
) -> dict[str, list[Report]]:
    """The product's reports with each embedder, over a temporary index of the corpus."""
    import tempfile

    from bot.evaluate import by_embedder
    from bot.usecases import open_assistant

    with tempfile.TemporaryDirectory(prefix="bot-eval-") as tmp:
        assistants = {}
        for kind in embedders:
            settings = settings_from(corpus=corpus, index=Path(tmp) / kind, embedder=kind)
            embedder = make_embedder(kind, threads=os.cpu_count() or 1)
            built = build_index(settings, embedder, strict=False)
            # onnx-int8 runs fp32 on a CPU where int8 is unusable: say so in the column.
            variant = getattr(embedder, "variant", None)
            fell_back = kind.endswith("int8") and variant not in (None, "int8")
            name = f"{kind} (ran {variant})" if fell_back else kind
            assistants[name] = open_assistant(settings, built, embedder, private=True)
        return by_embedder(labelled, assistants)


def _print_failures(runs: dict[str, list[Report]]) -> None:
    """Every wrong reply and invariant violation, one line each."""
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


@click.command("eval-safety")
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

    settings = settings_from(corpus=corpus, index=index)
    assistant = open_current(settings)
    reports = {str(path): run_safety(load_safety(path), assistant) for path in files}
    click.echo(safety_table(reports))
