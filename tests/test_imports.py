"""The core never imports the web layer (or torch, until a real model is asked for)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE = [
    "bot.pages",
    "bot.chunks",
    "bot.embedding",
    "bot.index",
    "bot.entities",
    "bot.retrieval",
    "bot.triage",
    "bot.answer",
    "bot.assistant",
    "bot.sync.run",
    "bot.sync.schedule",
]


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_not_load_fastapi_or_torch(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = [m for m in ('fastapi', 'starlette', 'uvicorn', 'torch', 'sentence_transformers') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_help_does_not_load_the_model() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from bot.cli import main; "
        "CliRunner().invoke(main, ['--help']); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
