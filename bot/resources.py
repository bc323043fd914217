"""Data files shipped inside the package (`bot/data/`): vocabularies, rules, contacts."""

from __future__ import annotations

import gzip
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

# The folder itself, for data kept as many files or written by a CLI command (the triage
# corpus and the model trained on it).
DATA = Path(__file__).resolve().parent / "data"
# The chat page's, the embed's, the widget's and the staff pages' templates and static
# files: package data, so an installed (not only an editable) bot serves them.
WEB = Path(__file__).resolve().parent / "web"


def _file(name: str):
    return resources.files("bot.data").joinpath(name)


def read_text(name: str) -> str:
    """A data file's text; `.gz` files are decompressed."""
    target = _file(name)
    if name.endswith(".gz"):
        return gzip.decompress(target.read_bytes()).decode("utf-8")
    return target.read_text(encoding="utf-8")


def read_lines(name: str) -> list[str]:
    """Non-empty lines that are not `#` comments, stripped."""
    return [
        ln.strip() for ln in read_text(name).splitlines() if ln.strip() and not ln.startswith("#")
    ]


def read_yaml(name: str) -> Any:
    return yaml.safe_load(read_text(name))
