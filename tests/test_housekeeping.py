"""Housekeeping: stale temporary files go, fresh ones and real files stay; the WAL is emptied."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bot.app import build_app
from bot.housekeeping import housekeep, remove_stale_temporaries
from bot.runner import build_scheduler, run_once
from config.settings import load_settings
from tests import factory


def env_for(tmp_path: Path) -> dict[str, str]:
    return {
        "MADOGUCHI_MAILBOX_URL": f"maildir:{tmp_path}/mail", "MADOGUCHI_OUTBOX_URL": f"dir:{tmp_path}/outbox",
        "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path}/m.db", "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
        "MADOGUCHI_NOW": "2025-06-02T10:00:00+09:00", "MADOGUCHI_HOUSEKEEPING_TIME": "04:15",
    }


def aged(path: Path, seconds: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left by a crash")
    old = time.time() - seconds
    os.utime(path, (old, old))
    return path


def test_only_stale_temporaries_are_removed(tmp_path: Path) -> None:
    stale = [aged(tmp_path / "ab" / "abcd.bin.tmp4242", 7200), aged(tmp_path / ".x.eml.tmp", 7200)]
    fresh = aged(tmp_path / "cd" / "cdef.bin.tmp77", 60)  # a write may still be going on
    real = aged(tmp_path / "ab" / "abcd.bin", 7200)
    assert remove_stale_temporaries(tmp_path) == 2
    assert not any(p.exists() for p in stale) and fresh.exists() and real.exists()
    assert remove_stale_temporaries(tmp_path / "missing") == 0


@pytest.mark.sqlite_only
def test_housekeeping_checkpoints_the_wal_and_the_service_schedules_it(tmp_path: Path) -> None:
    app = build_app(load_settings(environ=env_for(tmp_path)))
    try:
        mail = tmp_path / "mail" / "new"
        mail.mkdir(parents=True)
        for n in range(5):
            (mail / str(n)).write_bytes(factory.mail(sender=f"p{n}@example.com", subject="開示請求",
                                                     body="開示を請求します。"))
        assert run_once(app).count("request") == 5
        wal = tmp_path / "m.db-wal"
        assert wal.stat().st_size > 0
        left = aged(tmp_path / "data" / "raw" / "ff" / "ff.bin.tmp1", 7200)
        report = housekeep(app)
        assert report.stale_files_removed == 1 and not left.exists()
        assert report.wal_checkpointed and wal.stat().st_size == 0
        assert run_once(app).results == []  # the store works on after it

        scheduler = build_scheduler(app)
        job = scheduler.get_job("housekeeping")
        assert job is not None and "hour='4'" in str(job.trigger) and "minute='15'" in str(job.trigger)
    finally:
        app.close()
