"""What one sync is asked to do: the sitemap, which of its pages, how politely, how much
it may drop (BOT_SYNC_* settings, or `bot sync`'s arguments)."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from bot.pages import DEFAULT_MAX_PAGE_BYTES
from bot.settings import Settings


def _patterns(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


@dataclass(frozen=True)
class SyncOptions:
    sitemap: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_drop: float = 0.25
    force: bool = False
    concurrency: int = 2
    timeout: float = 30.0
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES
    attempts: int = 3
    backoff: float = 1.0

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        sitemap: str | None = None,
        *,
        force: bool = False,
        include: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
    ) -> SyncOptions:
        """Options from BOT_SYNC_* settings; arguments given here win."""
        url = sitemap or settings.sync_sitemap
        if not url:
            raise ValueError("no sitemap: give its URL or set BOT_SYNC_SITEMAP")
        return cls(
            sitemap=url,
            include=include or _patterns(settings.sync_include),
            exclude=exclude or _patterns(settings.sync_exclude),
            max_drop=settings.sync_max_drop,
            force=force,
            concurrency=settings.sync_concurrency,
            timeout=settings.sync_timeout,
            max_page_bytes=settings.max_page_bytes,
        )

    def wants(self, url: str) -> bool:
        """Include/exclude globs, against the URL's path (or the whole URL for a pattern
        that starts with http)."""

        def hit(pattern: str) -> bool:
            subject = url if pattern.startswith(("http://", "https://")) else urlsplit(url).path
            return fnmatchcase(subject, pattern)

        if self.include and not any(hit(p) for p in self.include):
            return False
        return not any(hit(p) for p in self.exclude)
