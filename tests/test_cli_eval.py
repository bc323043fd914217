"""`bot eval`, including `--embedders` (one temporary index and one column per embedder),
through click's CliRunner with the fake embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

CASES = [
    {
        "id": "z-level",
        "question": "What is the evidence level for zelnoprine in stage IV testcase syndrome?",
        "status": "answered",
        "assessment": "Zelnoprine for Stage IV Testcase Syndrome",
    },
    {"id": "urgent", "question": "I want to end my life", "status": "urgent"},
    {"id": "nothing", "question": "Does moonwort help with gout?", "status": "answered"},
]


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES))
    return path


def invoke(corpus_dir: Path, tmp_path: Path, *args: str):
    base = ["eval", "--corpus", str(corpus_dir), "--index", str(tmp_path / "index")]
    return CliRunner().invoke(main, [*base, *args], env={"BOT_EMBEDDER": "fake"})


def test_eval_prints_the_product_and_baselines(
    corpus_dir: Path, tmp_path: Path, cases: Path
) -> None:
    result = invoke(corpus_dir, tmp_path, str(cases))
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "hybrid+entities", "dense", "only", "bm25", "only"]


def test_embedders_get_a_column_and_a_temporary_index_each(
    corpus_dir: Path, tmp_path: Path, cases: Path
) -> None:
    result = invoke(corpus_dir, tmp_path, "--embedders", "fake, fake", "--failures", str(cases))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if line.startswith("metric"))
    assert header.split() == ["metric", "fake"]  # listed twice, run once
    assert any(line.startswith("  status urgent") for line in lines)
    assert any(line.startswith("MRR") for line in lines)
    assert any(line.startswith("- [fake] nothing:") for line in lines)  # --failures
    assert not (tmp_path / "index").exists()  # --index is not touched


def test_unknown_embedder_is_refused(corpus_dir: Path, tmp_path: Path, cases: Path) -> None:
    result = invoke(corpus_dir, tmp_path, "--embedders", "onnx,bert", str(cases))
    assert result.exit_code == 2
    assert "unknown bert" in result.output and "onnx-int8" in result.output
