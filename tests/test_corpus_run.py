"""One `run --once` over every real-world mail of the shared corpus: it exits cleanly,
opens no case, sends nothing, and accounts for every message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.app import build_app
from bot.runner import run_once
from config.settings import load_settings

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "email"
SKIP_NAMES = {"COPYING", "SOURCE.md"}


def corpus_files() -> list[Path]:
    return sorted(
        p for p in CORPUS.rglob("*")
        if p.is_file() and p.suffix != ".json" and p.name not in SKIP_NAMES
        and "expected-attachments" not in p.parts
    )


@pytest.mark.slow
def test_whole_corpus_opens_no_case_and_sends_nothing(tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    files = corpus_files()
    assert len(files) >= 1400
    new = tmp_path / "mail" / "new"
    new.mkdir(parents=True)
    for i, f in enumerate(files):
        shutil.copyfile(f, new / f"{i:05d}.corpus")
    env = {
        "MADOGUCHI_MAILBOX_URL": f"maildir:{tmp_path}/mail",
        "MADOGUCHI_OUTBOX_URL": f"dir:{tmp_path}/outbox",
        "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
        "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
        "MADOGUCHI_WINDOW_ADDRESS": "info@propworks.example",
        "MADOGUCHI_NOW": "2025-06-02T10:00:00+09:00",
    }
    app = build_app(load_settings(environ=env))
    try:
        report = run_once(app)
    finally:
        app.close()
    outcomes = {o: report.count(o) for o in ("request", "followup", "inquiry", "robot", "duplicate", "quarantined")}
    print(f"corpus run: {len(files)} files -> {outcomes}")
    assert len(report.results) == len(files)  # every message accounted for
    assert outcomes["request"] == 0 and outcomes["followup"] == 0
    assert list((tmp_path / "outbox").glob("*.eml")) == []
    assert list(new.iterdir()) == []  # every message was marked in the mailbox
