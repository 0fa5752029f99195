"""Several windows in one deployment: each its own mailbox, address, policy, templates, staff
and store; one window's cases and documents are never visible from another.

The same requester writes to both windows (the BPO case: one person, two client companies),
with the same day's case numbers in each. Runs on SQLite (a file per window) and, in
`test_windows_on_postgresql_live_in_schemas_of_one_database`, on PostgreSQL (a schema per
window in one database).
"""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from bot.app import build_app
from bot.crypto import UnknownKeyError
from bot.rawstore import BlobStore
from bot.runner import run_once
from config.settings import SettingsError, load_deployment, load_settings
from tests.crash_helpers import REPO, request_mail

SEED = (REPO / "config" / "policies" / "seed.yaml").read_text(encoding="utf-8")
NOW = "2025-06-02T10:00:00+09:00"


def write_policy(path: Path, company: str, bank: str) -> Path:
    text = SEED.replace("株式会社クロス・プロップワークス", company).replace("○○銀行", bank)
    path.write_text(text, encoding="utf-8")
    return path


def id_scan_mail(i: int) -> bytes:
    """A request with a driver's licence attached, so each window stores a document."""
    from email.message import EmailMessage

    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = f"請求者 {i:04d} <requester{i:04d}@example.com>"
    msg["To"] = "window@example.jp"
    msg["Subject"] = "保有個人データの開示請求"
    msg["Date"] = "Mon, 02 Jun 2025 09:30:00 +0900"
    msg["Message-ID"] = f"<scan-{i:04d}@example.com>"
    msg.set_content("保有個人データの開示を請求します。運転免許証の写しを添付します。")
    msg.add_attachment("運転免許証\n氏名 請求者\n".encode(), maintype="text", subtype="plain",
                       filename="運転免許証.txt")
    return msg.as_bytes()


def deployment(tmp_path: Path, database_url: str | None = None) -> Path:
    """Two windows, `acme` and `beta`, in one TOML file; a shared outbox and data folder."""
    for name in ("acme", "beta"):
        (tmp_path / f"mail-{name}" / "new").mkdir(parents=True)
    write_policy(tmp_path / "acme.yaml", "株式会社アクメ", "アクメ銀行")
    write_policy(tmp_path / "beta.yaml", "ベータ株式会社", "ベータ信用金庫")
    templates = tmp_path / "templates-beta" / "ja"
    templates.mkdir(parents=True)
    packaged = REPO / "replies" / "templates" / "ja" / "_footer.j2"  # beta's letterhead: its own footer
    (templates / "_footer.j2").write_text("ベータ株式会社 お客様相談室 専用フッター\n"
                                          + packaged.read_text(encoding="utf-8"), encoding="utf-8")
    # On SQLite each window derives a file of its own from this; in the PostgreSQL pass this
    # file's name picks the test's own database (tests/conftest.py), with a schema per window.
    db = f'database_url = "{database_url or "sqlite:///db/deployment.db"}"\n'
    config = tmp_path / "madoguchi.toml"
    config.write_text(f'''
[madoguchi]
data_dir = "var"
outbox_url = "dir:outbox"
now = "{NOW}"
{db}
[windows.acme]
mailbox_url = "maildir:mail-acme"
window_address = "privacy@acme.example.jp"
staff_addresses = ["staff@acme.example.jp"]
policy = "acme.yaml"

[windows.beta]
mailbox_url = "maildir:mail-beta"
window_address = "kojin@beta.example.jp"
staff_addresses = ["staff@beta.example.jp"]
policy = "beta.yaml"
templates_dir = "templates-beta"
''', encoding="utf-8")
    return config


def drop(tmp_path: Path, window: str, raws: list[bytes]) -> None:
    for n, raw in enumerate(raws):
        (tmp_path / f"mail-{window}" / "new" / f"17000000{n:02d}.M{n}.{window}").write_bytes(raw)


def cli(config: Path, *args: str, window: str | None = None) -> subprocess.CompletedProcess[str]:
    head = ["--config", str(config)] + (["--window", window] if window else [])
    return subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", *head, *args],
                          capture_output=True, text=True, timeout=120, cwd=config.parent, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(config.parent)})


def replies(tmp_path: Path) -> list[email.message.EmailMessage]:
    out = []
    for path in sorted((tmp_path / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        out.append(msg)
    return out


def body(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.mark.sqlite_only  # the derived SQLite file per window (the PostgreSQL schemas: the last test)
def test_settings_give_each_window_its_own_store_and_refuse_ambiguity(tmp_path: Path) -> None:
    config = deployment(tmp_path)
    acme, beta = load_deployment(str(config), {})
    assert (acme.window, beta.window) == ("acme", "beta")
    assert acme.data_dir == (tmp_path / "var" / "windows" / "acme").resolve()
    assert acme.database_url != beta.database_url and "windows/beta" in beta.database_url
    assert beta.templates_dir == (tmp_path / "templates-beta").resolve() and acme.templates_dir is None
    with pytest.raises(SettingsError, match="several windows .*acme, beta.*--window"):
        load_settings(str(config), {})
    assert load_settings(str(config), {"MADOGUCHI_WINDOW": "beta"}).window_address == "kojin@beta.example.jp"
    with pytest.raises(SettingsError, match="no window 'gamma'"):
        load_settings(str(config), {}, window="gamma")
    text = config.read_text(encoding="utf-8").replace("kojin@beta.example.jp", "privacy@acme.example.jp")
    config.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=r"\[windows.beta\] window_address: the same as \[windows.acme\]"):
        load_deployment(str(config), {})
    config.write_text(text.replace('policy = "beta.yaml"', 'policy = "beta.yaml"\nlog_format = "json"'),
                      encoding="utf-8")
    with pytest.raises(SettingsError, match="cannot differ per window"):
        load_deployment(str(config), {})


def run_both(config: Path) -> list[Any]:
    apps = [build_app(s, actor="tester") for s in load_deployment(str(config), {})]
    for app in apps:
        run_once(app)
    return apps


def test_each_window_answers_as_itself_and_sees_only_its_own_cases(tmp_path: Path) -> None:
    config = deployment(tmp_path)
    # The same person writes to both companies; acme also gets a second requester.
    drop(tmp_path, "acme", [id_scan_mail(1), request_mail(2).raw])
    drop(tmp_path, "beta", [id_scan_mail(1)])
    acme, beta = run_both(config)

    sent = replies(tmp_path)
    by_sender: dict[str, list[email.message.EmailMessage]] = {}
    for msg in sent:
        by_sender.setdefault(str(msg["From"].addresses[0].addr_spec), []).append(msg)
    assert set(by_sender) == {"privacy@acme.example.jp", "kojin@beta.example.jp"}
    for msg in by_sender["privacy@acme.example.jp"]:
        assert "株式会社アクメ" in body(msg) and "ベータ" not in body(msg)
        assert "専用フッター" not in body(msg)
    for msg in by_sender["kojin@beta.example.jp"]:
        assert "ベータ株式会社" in body(msg) and "アクメ" not in body(msg)
        assert "ベータ株式会社 お客様相談室 専用フッター" in body(msg)  # beta's own template

    # Same day, same first number, two different cases: each window sees only its own.
    with acme.session() as s:
        from bot.db import Case, Document

        acme_cases = {c.id: (c.requester_email, c.window) for c in s.query(Case)}
        acme_docs = [d.stored_as for d in s.query(Document)]
    with beta.session() as s:
        beta_cases = {c.id: (c.requester_email, c.window) for c in s.query(Case)}
        beta_docs = [d.stored_as for d in s.query(Document)]
    assert len(acme_cases) == 2 and len(beta_cases) == 1
    shared_id = next(iter(beta_cases))
    assert shared_id in acme_cases  # 20250602-001 in both windows
    assert {w for _, w in acme_cases.values()} == {"acme"} and {w for _, w in beta_cases.values()} == {"beta"}

    # Documents: each window's store, under its own folder, sealed with its own key. The same
    # person sent the same file to both, so both hold a copy; neither key opens the other's.
    assert acme_docs and beta_docs
    for app in (acme, beta):
        assert app.documents.root.is_relative_to(app.settings.data_dir)
    assert acme.settings.data_dir != beta.settings.data_dir
    for digest in beta_docs:
        assert digest and beta.documents.get(digest).startswith("運転免許証".encode())
        assert acme.documents.has(digest)  # acme's own copy of the same file
        with pytest.raises((UnknownKeyError, InvalidTag)):
            BlobStore(acme.documents.root, beta.documents._cipher).get(digest)
        with pytest.raises((UnknownKeyError, InvalidTag)):
            BlobStore(beta.documents.root, acme.documents._cipher).get(digest)
    for app in (acme, beta):
        app.close()


@pytest.mark.sqlite_only  # the commands run as child processes, which keep SQLite in either pass
def test_staff_commands_name_their_window_and_find_nothing_of_another(tmp_path: Path) -> None:
    config = deployment(tmp_path)
    drop(tmp_path, "acme", [id_scan_mail(1), request_mail(2).raw])
    drop(tmp_path, "beta", [id_scan_mail(1)])
    ran = cli(config, "run", "--once")  # no --window: the pass serves every window
    assert ran.returncode == 0, ran.stderr
    assert "window acme:" in ran.stdout and "window beta:" in ran.stdout
    acme_cases = [c["id"] for c in json.loads(cli(config, "cases", "export", window="acme").stdout)]
    assert len(acme_cases) == 2
    shared_id = "20250602-001"
    refused = cli(config, "cases", "list", "--format", "json")
    assert refused.returncode == 2 and "--window" in refused.stderr
    listed = cli(config, "cases", "list", "--format", "json", window="beta")
    assert listed.returncode == 0, listed.stderr
    assert [c["id"] for c in json.loads(listed.stdout)] == [shared_id]
    second_acme = next(cid for cid in acme_cases if cid != shared_id)
    missing = cli(config, "cases", "show", second_acme, window="beta")
    assert missing.returncode == 1 and "no case" in missing.stderr
    verify = cli(config, "cases", "verify", second_acme, window="beta")
    assert verify.returncode == 1


def test_a_reply_to_one_window_sent_to_another_does_not_reach_the_first_ones_case(tmp_path: Path) -> None:
    """A follow-up quoting acme's case tag but mailed to beta: beta has no such case to join."""
    config = deployment(tmp_path)
    drop(tmp_path, "acme", [request_mail(7).raw])
    acme, beta = run_both(config)
    ack = next(m for m in replies(tmp_path) if "acme" in str(m["From"]))
    with acme.session() as s:
        from bot.db import Case

        (case_id,) = [c.id for c in s.query(Case)]
    stray = request_mail(7).raw.replace(b"<request-0007@example.com>", b"<stray-0007@example.com>")
    stray = stray.replace(b"Subject: ", f"In-Reply-To: {ack['Message-ID']}\r\nSubject: [#{case_id}] Re: ".encode(),
                          1)
    drop(tmp_path, "beta", [stray])
    run_once(beta)
    with beta.session() as s:
        from bot.db import Case, InboundMessage

        outcomes = [m.outcome for m in s.query(InboundMessage)]
        assert outcomes == ["request"]  # a new case in beta, not a follow-up of acme's
        assert [c.window for c in s.query(Case)] == ["beta"]
    with acme.session() as s:
        assert len(list(s.query(InboundMessage))) == 1  # acme's ledger never saw the stray mail
    for app in (acme, beta):
        app.close()


@pytest.mark.postgresql
def test_windows_on_postgresql_live_in_schemas_of_one_database(tmp_path: Path, postgres_server: Any) -> None:
    url = postgres_server.new_database("win")
    config = deployment(tmp_path, database_url=url)
    drop(tmp_path, "acme", [request_mail(1).raw, request_mail(2).raw])
    drop(tmp_path, "beta", [request_mail(1).raw])
    acme, beta = run_both(config)
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        counts = {schema: conn.execute(f"SELECT count(*) FROM {schema}.cases").fetchone()[0]  # type: ignore[index]
                  for schema in ("window_acme", "window_beta")}
        public = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
                              "AND table_name = 'cases'").fetchone()
    assert counts == {"window_acme": 2, "window_beta": 1}
    assert public == (0,)  # nothing outside the windows' schemas
    with beta.session() as s:
        from bot.db import Case

        assert [c.window for c in s.query(Case)] == ["beta"]
    # Workers serve every window of the deployment: one more mail each, handled by one worker.
    import threading

    from bot.workers import run_worker

    drop(tmp_path, "acme", [request_mail(3).raw])
    drop(tmp_path, "beta", [request_mail(4).raw])
    report = run_worker([acme, beta], threading.Event(), until_idle=True)
    assert report.handled == 2 and report.outcomes == {"request": 2}
    with psycopg.connect(dsn) as conn:
        after = {schema: conn.execute(f"SELECT count(*) FROM {schema}.cases").fetchone()[0]  # type: ignore[index]
                 for schema in ("window_acme", "window_beta")}
    assert after == {"window_acme": 3, "window_beta": 2}
    for app in (acme, beta):
        app.close()


def test_a_broken_or_misnamed_window_template_stops_the_start_with_its_line(tmp_path: Path) -> None:
    """A footer that does not compile would otherwise send every mail of the window to quarantine."""
    from bot.health import problems

    config = deployment(tmp_path)
    beta_ja = tmp_path / "templates-beta" / "ja"
    (beta_ja / "_footer.j2").write_text("ベータ株式会社\n{% if company %}\n閉じ忘れ\n", encoding="utf-8")
    (beta_ja / "_fotter.j2").write_text("綴り違い\n", encoding="utf-8")
    beta = load_settings(str(config), {}, window="beta")
    with pytest.raises(SettingsError, match=r"ja/_footer.j2 line \d+: .*\(and 1 more"):
        build_app(beta)
    found = problems(beta)
    assert any("ja/_footer.j2 line" in p for p in found), found
    assert any("ja/_fotter.j2: replaces no packaged template" in p for p in found), found
    acme = build_app(load_settings(str(config), {}, window="acme"))  # the other window starts as usual
    acme.close()
