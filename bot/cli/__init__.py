"""The `bot` command: build the index, serve the chat, ask one question.

A click group whose commands are thin adapters, one module per family: options in, the
core (bot.usecases, bot.index, bot.sync, ...) called, its results printed. Each command's
docstring is its --help.
"""

from __future__ import annotations

import logging

import click

from bot import __version__
from bot.cli.accounts import staff
from bot.cli.asking import ask, eval_cmd, eval_safety_cmd
from bot.cli.auditing import audit
from bot.cli.data import triage, vocab
from bot.cli.serving import build_cmd, serve
from bot.cli.syncing import sync_cmd


@click.group()
@click.version_option(__version__, prog_name="bot")
def main() -> None:
    """Evidence FAQ bot: cited, templated answers about evidence level assessments.

    Every option can also be set with a BOT_ environment variable (BOT_CORPUS, BOT_INDEX,
    BOT_HOST, ...); see the README for the full list.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


for command in (
    build_cmd,
    serve,
    ask,
    sync_cmd,
    eval_cmd,
    audit,
    staff,
    vocab,
    triage,
    eval_safety_cmd,
):
    main.add_command(command)

__all__ = ["main"]
