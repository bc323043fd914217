"""Crisis replies are never held back by the audit log.

Every reply is recorded before it is sent, and a reply that cannot be recorded is normally
refused (a 503: nothing staff could not audit later). An `urgent` reply is the exception:
the crisis contacts go out at once, and its record waits here. It is kept in memory and in
a spool file (one per process, appended and fsynced, so a restart does not lose it),
retried in the background until the database takes it, and counted (`/healthz` shows how
many wait; the log says so). A process that starts takes over the spool files of
processes that are gone.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.audit.writer import AuditRefused, AuditUnavailable

log = logging.getLogger(__name__)

SPOOL_GLOB = "audit-backlog.*.jsonl"


class Backlog:
    def __init__(
        self,
        append: Callable[[dict[str, Any]], int],
        exists: Callable[[str], bool],
        folder: Path | None,
        every: float = 2.0,
    ) -> None:
        self._append = append
        self._exists = exists  # written already (a write that timed out may have landed)
        self.folder = folder
        self.every = every
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.kept = 0  # records ever kept here
        self.written = 0  # ... and written later
        self.spool = folder / f"audit-backlog.{os.getpid()}.jsonl" if folder else None
        self._adopt()

    # -- what the service calls ---------------------------------------------------------

    def keep(self, row: dict[str, Any], reason: BaseException | str) -> None:
        """Keep a record that could not be written now, and retry it in the background."""
        with self._lock:
            self._rows.append(row)
            self.kept += 1
            self._save()
            waiting = len(self._rows)
        log.warning(
            "audit record of urgent reply %s kept for a later write (%s); %d waiting",
            row.get("answer_id"),
            reason,
            waiting,
        )
        self._start()
        self._wake.set()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._rows)

    def health(self) -> dict[str, int]:
        return {"pending": self.pending, "kept": self.kept, "written_late": self.written}

    def flush(self) -> int:
        """Try every waiting record once, oldest first; returns how many still wait."""
        with self._lock:
            rows = list(self._rows)
        for row in rows:
            answer_id = str(row.get("answer_id"))
            try:
                if not self._exists(answer_id):
                    self._append(row)
            except AuditRefused as exc:  # cannot be stored as it is, ever: say so loudly
                log.error("audit record %s cannot be stored (%s); dropped", answer_id, exc)
            except (AuditUnavailable, SQLAlchemyError, OSError) as exc:
                # Still down (the check for a landed record reads the database too).
                log.info("audit log still unavailable (%s); %d waiting", exc, self.pending)
                break
            except Exception:  # a database error of another kind: keep it, try later
                log.exception("audit record %s not written yet", answer_id)
                break
            else:
                self.written += 1
                log.warning("audit record of urgent reply %s written late", answer_id)
            with self._lock:
                self._rows = [r for r in self._rows if r is not row]
                self._save()
        return self.pending

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.pending == 0 and self.spool is not None:
            self.spool.unlink(missing_ok=True)

    # -- background -----------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="audit-backlog", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.every)
            self._wake.clear()
            if self.pending:
                self.flush()

    # -- the spool file ------------------------------------------------------------------

    def _save(self) -> None:
        """Rewrite this process's spool with what waits (called under the lock)."""
        if self.spool is None:
            return
        try:
            if not self._rows:
                self.spool.unlink(missing_ok=True)
                return
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.spool.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                for row in self._rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.spool)
        except OSError as exc:  # a full or read-only disk: memory still holds them
            log.error("audit backlog spool not written (%s); kept in memory", exc)

    def _adopt(self) -> None:
        """Take over the spool files of processes that are gone."""
        if self.folder is None or not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob(SPOOL_GLOB)):
            if path == self.spool or _alive(path):
                continue
            mine = path.with_name(f"{path.name}.{os.getpid()}.adopting")
            try:
                os.rename(path, mine)  # atomic: two starting processes cannot both take it
            except OSError:
                continue
            rows = []
            for line in mine.read_text(encoding="utf-8").splitlines():
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    log.error("unreadable line in %s skipped", path.name)
            with self._lock:
                self._rows.extend(rows)
                self.kept += len(rows)
                self._save()
            mine.unlink(missing_ok=True)
            log.warning("%d audit record(s) from %s to write", len(rows), path.name)
        if self._rows:
            self._start()
            self._wake.set()


def _alive(path: Path) -> bool:
    try:
        pid = int(path.name.split(".")[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
