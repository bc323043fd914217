"""`bot vocab` and `bot triage`: the data shipped in bot/data/ that is generated or trained
rather than written by hand."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import click

from bot.cli.common import settings_from
from bot.embedding import OnnxEmbedder, make_embedder


@click.group()
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


@click.group()
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
    from bot.evaluate import load_cases
    from bot.triage.semantic import Thresholds, calibrate, texts_to_judge
    from bot.triage.semantic import load as load_semantic

    settings = settings_from()
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
@click.option(
    "--head",
    type=click.Choice(["both", "crisis", "own-care"]),
    default="both",
    show_default=True,
    help="Which to train: the crisis classifier, the own-care head, or both.",
)
def triage_train(labelled: tuple[Path, ...], head: str) -> None:
    """Train the semantic layer's classifiers on the team's labelled corpus
    (bot/data/triage_train/ and the exemplars) with the configured model: the crisis
    classifier (bot/data/triage_model.json) and the own-care head, which reads questions
    for one's own doctor (bot/data/triage_own_care.json). Each chooses its thresholds on
    the corpus's dev split (and any labelled sets given); the dev results are printed."""
    from bot.evaluate import load_cases
    from bot.triage import classifier, own_care
    from bot.triage.semantic import texts_to_judge

    embedder = make_embedder(settings_from().embedder)
    cases = [case for path in labelled for case in load_cases(path)]
    # Served on a CPU with VNNI, the int8 copy's vectors move a probability by up to ~0.06:
    # the labelled questions must stay under the thresholds with it as well.
    int8 = OnnxEmbedder(quantized=True, check_cpu=False, threads=os.cpu_count() or 1)
    if head in ("both", "crisis"):
        held_out = [
            classifier.Example(case.question, classifier.label_of_status(case.status), "held-out")
            for case in cases
        ]
        model, report = classifier.train(
            embedder.encode, embedder.name, texts_to_judge, held_out=held_out, also=[int8.encode]
        )
        classifier.save(model, report)
        click.echo(json.dumps({"thresholds": model.thresholds, **report}, indent=2))
    if head in ("both", "own-care"):
        own, report = own_care.train(
            embedder.encode,
            embedder.name,
            texts_to_judge,
            held_out=[(case.question, case.status) for case in cases],
            also=[int8.encode],
        )
        own_care.save(own, report)
        click.echo(json.dumps({"own_care": own.thresholds, **report}, indent=2))
