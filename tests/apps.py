"""The app the end-to-end tests build: embedded-default shapes in a temporary folder.

Maildir in, a folder outbox, SQLite (PostgreSQL in the second pass, see conftest), a
fixed clock. Tests pass what they change as `MADOGUCHI_*` keyword arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app
from config.settings import load_settings

WINDOW = "info@example.jp"
NOW = "2025-06-02T10:00:00+09:00"


def app_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return {
        "MADOGUCHI_MAILBOX_URL": f"maildir:{tmp_path}/mail",
        "MADOGUCHI_OUTBOX_URL": f"dir:{tmp_path}/outbox",
        "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
        "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
        "MADOGUCHI_WINDOW_ADDRESS": WINDOW,
        "MADOGUCHI_STAFF_ADDRESSES": "staff@example.jp",
        "MADOGUCHI_NOW": NOW,
        **overrides,
    }


def make_app(tmp_path: Path, actor: str = "tester", **overrides: str) -> App:
    return build_app(load_settings(environ=app_env(tmp_path, **overrides)), actor=actor)


def poison_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the pipeline's parser fail on any mail containing POISON (a parser bug, as it were)."""
    import bot.pipeline as pipeline

    real = pipeline._parse

    def fragile(raw: bytes) -> Any:
        if b"POISON" in raw:
            raise RuntimeError("boom")
        return real(raw)

    monkeypatch.setattr(pipeline, "_parse", fragile)
