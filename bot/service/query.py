"""Query strings: every parameter the service reads takes one value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from fastapi import HTTPException, Request


def repeated(params: Mapping[str, str]) -> list[str]:
    """Names given more than once ("?q=a&q=b"): reading one would silently drop the other."""
    multi = getattr(params, "multi_items", None)
    names = Counter(k for k, _ in (multi() if multi else params.items()))
    return sorted(k for k, n in names.items() if n > 1)


def single_valued(request: Request) -> None:
    """A route dependency: a repeated query parameter is a 422, not a silent choice."""
    if names := repeated(request.query_params):
        raise HTTPException(422, f"query parameter given more than once: {', '.join(names)}")
