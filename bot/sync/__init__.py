"""Site sync: follow the site's own assessment pages instead of copying files by hand.

    discovery.py  robots.txt (Protego) and the sitemap tree (defusedxml): what to fetch
    fetch.py      httpx with per-host limits, crawl delay, retries (tenacity), size cap
    store.py      pages as HTML files in the corpus + what the next sync needs to know
    run.py        the use-case: discover, fetch, store, drop, rebuild and publish
    schedule.py   `bot serve`'s periodic sync: one instance at a time (a file lock)

Imports point down this list; nothing here imports the web layer.
"""

from bot.sync.run import SyncOptions, SyncReport, exclusive, sync_site

__all__ = ["SyncOptions", "SyncReport", "exclusive", "sync_site"]
