"""Why an index cannot be used: every reader and loader of the index raises one of these."""

from __future__ import annotations


class IndexUnavailable(Exception):
    """The index cannot be used; the message says why and what to do."""


class IndexMissing(IndexUnavailable):
    pass


class IndexCorrupt(IndexUnavailable):
    pass


class IndexOutdated(IndexMissing):
    """Written by an older version of the bot: rebuilt, like a missing index."""
