"""`madoguchi health` says ok for a working installation, names each fault otherwise, and changes nothing."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

from bot.app import build_app
from config.settings import load_settings


def health(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")}
    return subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "health"], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_health_of_a_fresh_a_working_and_a_broken_installation(tmp_path: Path) -> None:
    env = {"MADOGUCHI_DATA_DIR": str(tmp_path / "var"), "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path}/var/m.db"}
    # the database the app below really uses (a PostgreSQL one in the PostgreSQL pass)
    env["MADOGUCHI_DATABASE_URL"] = load_settings(environ=env).database_url
    fresh = health(env, tmp_path)
    assert fresh.returncode == 1 and "does not exist" in fresh.stderr
    assert files(tmp_path) == []  # a health check creates nothing, not even the key

    app = build_app(load_settings(environ=env))  # the first start: schema, key, folders
    app.raw.put(b"a stored mail")
    app.close()
    before = files(tmp_path)
    ok = health(env, tmp_path)
    assert ok.returncode == 0 and ok.stdout.strip() == "ok", ok.stderr
    assert files(tmp_path) == before

    wrong = {**env, "MADOGUCHI_STORE_KEY": base64.b64encode(os.urandom(32)).decode()}
    bad_key = health(wrong, tmp_path)
    assert bad_key.returncode == 1 and "does not open the stored files" in bad_key.stderr

    bad_setting = health({**env, "MADOGUCHI_LOG_FORMAT": "xml"}, tmp_path)
    assert bad_setting.returncode == 2 and "MADOGUCHI_LOG_FORMAT" in bad_setting.stderr
