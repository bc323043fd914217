"""Site sync: follow the site's own assessment pages instead of copying files by hand.

    fetch.py      httpx with per-host limits, crawl delay, retries (tenacity), size cap
    discovery.py  robots.txt (Protego) and the sitemap tree (defusedxml): what to fetch
    store.py      pages as HTML files in the corpus + what the next sync needs to know
    options.py    SyncOptions: what one sync is asked to do (BOT_SYNC_* or arguments)
    report.py     SyncReport: counts, URLs and errors; the Progress a caller follows
    plan.py       page by page: which to fetch, in what order, what each is now, what to drop
    apply.py      the plan applied to the corpus: outcomes stored and counted, pages dropped
    run.py        the use-case: discover, plan, fetch and apply, drop, rebuild and publish
    schedule.py   `bot serve`'s periodic sync: one instance at a time (a file lock)

A module imports only modules listed above it; nothing here imports the web layer.
"""

from bot.sync.run import SyncOptions, SyncReport, exclusive, sync_site

__all__ = ["SyncOptions", "SyncReport", "exclusive", "sync_site"]
