"""The suite runs on the backend it was asked for (MADOGUCHI_TEST_DATABASE), and the
things that differ between SQLite and PostgreSQL behave the same on both."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from bot.app import build_app
from config.settings import load_settings
from tests.conftest import ON_POSTGRESQL


def _app(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {"MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path}/m.db", "MADOGUCHI_DATA_DIR": str(tmp_path / "d"),
           "MADOGUCHI_MAILBOX_URL": f"maildir:{tmp_path}/mail", "MADOGUCHI_OUTBOX_URL": f"dir:{tmp_path}/out"}
    return build_app(load_settings(environ=env))


def test_the_suite_runs_on_the_backend_asked_for(tmp_path: Path) -> None:
    app = _app(tmp_path)
    try:
        assert app.engine.dialect.name == ("postgresql" if ON_POSTGRESQL else "sqlite")
        again = _app(tmp_path)  # the same file named again is the same database
        assert again.engine.url == app.engine.url
        again.close()
    finally:
        app.close()


def test_the_audit_trail_refuses_changes_on_either_backend(tmp_path: Path) -> None:
    app = _app(tmp_path)
    try:
        with app.engine.begin() as conn:
            conn.execute(text("INSERT INTO case_events (at, actor, type, detail) "
                              "VALUES (CURRENT_TIMESTAMP, 'a', 't', '{}')"))
        for statement in ("UPDATE case_events SET actor = 'b'", "DELETE FROM case_events"):
            with pytest.raises(DatabaseError, match="append-only"), app.engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        app.close()
