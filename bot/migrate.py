"""Schema migrations through Alembic, driven from code so no alembic.ini has to be found."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.db import ensure_schema

MIGRATION_LOCK = 0x6D696772  # "migr": one migration at a time per PostgreSQL database
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is there already."""
    cfg = alembic_config(str(engine.url))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Workers started together would otherwise race to create the same tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            ensure_schema(conn)  # a window's own schema (several windows, one database)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
