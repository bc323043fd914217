"""The core never imports the web layer (or torch, until a real model is asked for)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.settings import ROOT

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


def test_the_import_contracts_hold() -> None:
    # pyproject.toml [tool.importlinter]: the core never imports the web layer or the CLI,
    # the bottom layers never import the stages built on them, and every module of bot/ sits
    # in a layer of the data flow (README "Architecture") that imports only layers below it.
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    layers = [c for c in contracts if c["type"] == "layers"]
    assert len(layers) == 1 and layers[0]["exhaustive"], layers
    linter = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(linter)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:]
    # Every contract was checked (a contract import-linter skipped would not be counted).
    assert f"Contracts: {len(contracts)} kept, 0 broken." in out.stdout, out.stdout[-3000:]


def test_cli_help_does_not_load_the_model() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from bot.cli import main; "
        "CliRunner().invoke(main, ['--help']); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


DEV_TOOLS = {"pytest", "playwright", "schemathesis", "py-spy", "hypothesis", "ruff"}


def _runtime_closure() -> set[str]:
    """Every distribution the installed bot needs to run (its requirements without extras,
    followed transitively)."""
    import importlib.metadata as md
    import re

    from packaging.requirements import Requirement

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    seen: set[str] = set()
    todo = ["evidence-faq-bot"]
    while todo:
        name = todo.pop()
        if norm(name) in seen:
            continue
        seen.add(norm(name))
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def test_the_server_needs_no_test_tools() -> None:
    assert not _runtime_closure() & DEV_TOOLS


def test_make_run_installs_the_runtime_only() -> None:
    from bot.settings import ROOT

    plan = subprocess.run(
        ["make", "-n", "-B", "run"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line]
    assert any(line.rstrip().endswith("-e .") for line in installs), installs
    assert not any("[dev]" in line for line in installs), installs
    # ...and `make test` still gets the tools it runs.
    test_plan = subprocess.run(
        ["make", "-n", "-B", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "'.[dev]'" in test_plan
