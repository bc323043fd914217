"""YAML front matter (`---` ... `---`) at the top of a Markdown or text page: the page's
address (`url:`), title and other names of its compound (`aliases:`)."""

from __future__ import annotations

import re

import yaml

from bot.pages.records import PageError


def front_matter(text: str, source: str) -> tuple[dict[str, object], str]:
    """(the mapping, the rest of the text); no front matter: ({}, text)."""
    if not text.startswith("---\n"):
        return {}, text
    end = re.search(r"^---[ \t]*$", text[4:], re.MULTILINE)
    if end is None:
        return {}, text
    try:
        meta = yaml.safe_load(text[4 : 4 + end.start()])
    except yaml.YAMLError as exc:
        raise PageError(source, f"invalid YAML front matter ({exc.__class__.__name__})") from exc
    return (meta if isinstance(meta, dict) else {}), text[4 + end.end() :]


def meta_url(meta: dict[str, object]) -> str | None:
    """The page's address, as `url:` (or `canonical_url:`) gives it."""
    raw_url = meta.get("url") or meta.get("canonical_url")
    return (raw_url.strip() or None) if isinstance(raw_url, str) else None
