"""Daily housekeeping of a long-running deployment: what crashes leave behind, and the WAL.

A crash between writing a stored file's temporary copy and renaming it leaves a `*.tmp…`
file in the raw or document store (or the outbox folder); nothing refers to it and it holds
personal data, so it is removed once it is clearly stale. SQLite in WAL mode grows its
`-wal` file while readers keep it busy; a daily TRUNCATE checkpoint returns it to zero, and
`PRAGMA optimize` keeps the query planner's statistics current. Nothing here touches a
case, a reply or a document that is in use; what the policy's `retention:` rules say has
expired is deleted (and recorded in the audit trail) by `bot.retention`, run from here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from bot.app import App
from bot.retention import RetentionResult
from bot.retention import run as run_retention

log = logging.getLogger("madoguchi.housekeeping")
STALE_SECONDS = 3600.0  # a temporary file this old belongs to no write in progress


@dataclass(frozen=True)
class HousekeepingReport:
    stale_files_removed: int
    wal_checkpointed: bool
    ocr_results_expired: int = 0
    documents_deleted: int = 0  # retention (bot/retention.py)
    raw_messages_deleted: int = 0
    replies_purged: int = 0
    cases_purged: int = 0
    retention_failed: bool = False  # logged; the rest of housekeeping ran all the same


def housekeep(app: App, *, now: float | None = None) -> HousekeepingReport:
    """Remove stale temporary files and expired OCR results, delete what the retention policy
    says has expired, checkpoint the SQLite WAL; safe while the bot works."""
    removed = sum(remove_stale_temporaries(folder, now=now) for folder in _store_folders(app))
    expired = app.ocr_cache.expire(app.settings.ocr_cache_days, now=now) if app.ocr_cache is not None else 0
    kept, failed = _retention(app)
    checkpointed = _checkpoint(app)
    log.info("housekeeping: %d stale temporary files removed, %d OCR results expired, WAL checkpointed: %s",
             removed, expired, checkpointed)
    return HousekeepingReport(removed, checkpointed, expired, kept.documents_deleted, kept.raw_messages_deleted,
                              kept.replies_purged, kept.cases_purged, failed)


def _retention(app: App) -> tuple[RetentionResult, bool]:
    try:
        return run_retention(app), False
    except Exception:  # noqa: BLE001 - logged; the WAL checkpoint must still run (the next day retries)
        log.exception("housekeeping: retention failed")
        return RetentionResult(), True


def _store_folders(app: App) -> list[Path]:
    data = app.settings.data_dir
    folders = [data / "raw", data / "documents", data / "parts", data / "ocr-cache"]
    if app.settings.outbox_url.startswith("dir:"):
        folders.append(Path(app.settings.outbox_url.removeprefix("dir:")))
    return folders


def remove_stale_temporaries(folder: Path, *, now: float | None = None, stale: float = STALE_SECONDS) -> int:
    """Temporary copies (`x.tmp<pid>`, `.x.tmp`) older than `stale` seconds, in `folder` and below."""
    if not folder.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for path in folder.rglob("*.tmp*"):
        try:
            if path.is_file() and now - path.stat().st_mtime > stale:
                path.unlink()
                removed += 1
        except OSError:  # gone meanwhile, or not ours to remove: leave it
            continue
    return removed


def _checkpoint(app: App) -> bool:
    if app.engine.dialect.name != "sqlite":
        return False  # PostgreSQL runs its own autovacuum and checkpoints
    raw = app.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA optimize")  # first: its ANALYZE writes to the WAL
        busy, _, _ = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cur.close()
        return not busy
    finally:
        raw.close()
