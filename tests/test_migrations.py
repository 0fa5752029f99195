"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.db import Base, make_engine
from bot.migrate import upgrade


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """A model changed without a migration (or the reverse) shows up here as a difference."""
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    try:
        upgrade(engine)
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diffs == []
    assert {"cases", "inbound_messages", "outbound_messages", "mailbox_state"} <= tables
