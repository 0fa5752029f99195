"""`madoguchi health`: is this installation able to work, without changing anything?

For container health checks and monitoring: the settings and policy load, the database
answers at the newest schema (it is not migrated here — that is `db upgrade`'s job at
start), the store key opens the stored files, and the data folder takes a new file. No
lock is taken and no mail server is contacted, so it runs beside `madoguchi run`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.db import make_engine
from bot.keys import check_keys_open, load_keyring
from bot.migrate import alembic_config
from config.policy import PolicyError, load_policy
from config.settings import Settings, SettingsError


def problems(settings: Settings) -> list[str]:
    """What stops this installation from working; an empty list when it is healthy."""
    found: list[str] = []
    try:
        load_policy(settings.policy)
    except PolicyError as exc:
        found.append(str(exc))
    found += _database(settings)
    key_file = settings.store_key_file or settings.data_dir / "keys" / "store.key"
    if settings.store_key is None and not key_file.exists():
        found.append(f"store key file {key_file} does not exist (it is made on the first start)")
    else:
        try:
            check_keys_open(settings, load_keyring(settings))
        except (SettingsError, ValueError, OSError) as exc:
            found.append(f"store key: {exc}")
    found += _writable(settings)
    if settings.templates_dir is not None:
        from replies.render import template_problems

        found += [f"MADOGUCHI_TEMPLATES_DIR {settings.templates_dir}: {p}" for p in
                  template_problems(settings.templates_dir)]
    return found


def _database(settings: Settings) -> list[str]:
    if settings.database_url.startswith("sqlite:///"):
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        if not path.exists():  # connecting would create an empty file
            return [f"database file {path} does not exist (it is made on the first start)"]
    newest = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:  # noqa: BLE001 - any failure to answer is the finding
        return [f"database does not answer ({type(exc).__name__})"]
    finally:
        engine.dispose()
    if current != newest:
        return [f"database at schema {current or 'none'}, newest {newest}: run `madoguchi db upgrade`"]
    return []


def _writable(settings: Settings) -> list[str]:
    try:
        fd, name = tempfile.mkstemp(prefix=".health-", dir=settings.data_dir)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return [f"data folder {settings.data_dir} does not take new files ({exc.strerror})"]
    return []
