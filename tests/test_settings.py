"""Settings: defaults, TOML file, environment, and one-line errors for bad values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings


@pytest.mark.sqlite_only
def test_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={})
    assert s.mailbox_url == f"maildir:{tmp_path}/var/mail"
    assert s.outbox_url == f"dir:{tmp_path}/var/outbox"
    assert s.database_url == f"sqlite:///{tmp_path}/var/madoguchi.db"
    assert s.window_address == "info@example.jp"
    assert s.policy == "builtin:seed"
    assert s.now is None


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    conf = tmp_path / "etc" / "madoguchi.toml"
    conf.parent.mkdir()
    conf.write_text('mailbox_url = "maildir:mail"\nwindow_address = "privacy@example.co.jp"\n'
                    'staff_addresses = ["a@example.co.jp", "b@example.co.jp"]\n', encoding="utf-8")
    s = load_settings(str(conf), environ={"MADOGUCHI_WINDOW_ADDRESS": "window@example.org"})
    assert s.mailbox_url == f"maildir:{conf.parent}/mail"  # relative to the file's folder
    assert s.window_address == "window@example.org"  # the environment wins
    assert s.staff_addresses == ("a@example.co.jp", "b@example.co.jp")


def test_config_from_environment_variable(tmp_path: Path) -> None:
    conf = tmp_path / "m.toml"
    conf.write_text('policy = "builtin:seed"\ndata_dir = "state"\n', encoding="utf-8")
    s = load_settings(environ={"MADOGUCHI_CONFIG": str(conf)})
    assert s.data_dir == tmp_path / "state"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"MADOGUCHI_MAILBOX_URL": "pop3://x"}, "MADOGUCHI_MAILBOX_URL"),
        ({"MADOGUCHI_OUTBOX_URL": "ftp://x"}, "MADOGUCHI_OUTBOX_URL"),
        ({"MADOGUCHI_DATABASE_URL": "mysql://x"}, "MADOGUCHI_DATABASE_URL"),
        ({"MADOGUCHI_WINDOW_ADDRESS": "not an address"}, "MADOGUCHI_WINDOW_ADDRESS"),
        ({"MADOGUCHI_STAFF_ADDRESSES": "a@example.jp,,broken"}, "MADOGUCHI_STAFF_ADDRESSES"),
        ({"MADOGUCHI_NOW": "yesterday"}, "MADOGUCHI_NOW"),
        ({"MADOGUCHI_NOW": "2025-06-02T10:00:00"}, "MADOGUCHI_NOW"),
        ({"MADOGUCHI_POLICY": "/nonexistent/policy.yaml"}, "MADOGUCHI_POLICY"),
        ({"MADOGUCHI_MAILBOX_CA_FILE": "/nonexistent.pem"}, "MADOGUCHI_MAILBOX_CA_FILE"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        load_settings(environ=env)


def test_unknown_key_in_file(tmp_path: Path) -> None:
    conf = tmp_path / "m.toml"
    conf.write_text('mailbox = "maildir:x"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown setting 'mailbox'"):
        load_settings(str(conf), environ={})


def test_cli_exits_2_with_one_line(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "madoguchi"
    env = {"PATH": "/usr/bin:/bin", "MADOGUCHI_DATABASE_URL": "mysql://nope", "HOME": str(tmp_path)}
    p = subprocess.run([str(exe), "cases", "list"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "MADOGUCHI_DATABASE_URL" in lines[0]


def test_the_store_key_comes_from_the_environment_only(tmp_path: Path) -> None:
    import base64

    key = base64.b64encode(bytes(range(32))).decode()
    assert load_settings(environ={"MADOGUCHI_STORE_KEY": key}).store_key == bytes(range(32))
    with pytest.raises(SettingsError, match="MADOGUCHI_STORE_KEY: not a base64 32-byte key"):
        load_settings(environ={"MADOGUCHI_STORE_KEY": "c2hvcnQ="})
    conf = tmp_path / "m.toml"
    conf.write_text(f'store_key = "{key}"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="is a secret"):
        load_settings(str(conf), environ={})
    with pytest.raises(SettingsError, match="MADOGUCHI_LOG_FORMAT"):
        load_settings(environ={"MADOGUCHI_LOG_FORMAT": "xml"})
    assert load_settings(environ={"MADOGUCHI_LOG_FORMAT": "json"}).log_format == "json"
