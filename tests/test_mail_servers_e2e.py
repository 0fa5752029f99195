"""The whole bot against real servers: a request in Dovecot, the reply through aiosmtpd."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import casestore
from bot.app import App, build_app
from bot.db import MailboxState
from bot.runner import run_once
from config.settings import load_settings
from tests.servers import Dovecot, SmtpServer, ThrowawayCert

WINDOW = "info@example.jp"
REQUESTER = "yamada.taro@example.com"


def request_mail() -> tuple[bytes, str]:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = f"山田 太郎 <{REQUESTER}>"
    msg["To"] = WINDOW
    msg["Subject"] = "保有個人データの開示請求"
    msg["Date"] = "Mon, 02 Jun 2025 09:30:00 +0900"
    msg["Message-ID"] = mid = make_msgid(domain="example.com")
    msg.set_content("ご担当者様\n\n保有個人データの開示を請求します。\n\n山田 太郎\n")
    return msg.as_bytes(), mid


@pytest.fixture
def app(tmp_path: Path, dovecot: Dovecot, imap_folder: str, smtp_server: SmtpServer, mail_cert: ThrowawayCert,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.chdir(tmp_path)  # no stray ./madoguchi.toml
    env = {
        "MADOGUCHI_MAILBOX_URL": dovecot.url(imap_folder),
        "MADOGUCHI_MAILBOX_PASSWORD": dovecot.password,
        "MADOGUCHI_MAILBOX_CA_FILE": str(mail_cert.cert),
        "MADOGUCHI_OUTBOX_URL": smtp_server.url,
        "MADOGUCHI_OUTBOX_CA_FILE": str(mail_cert.cert),
        "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
        "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
        "MADOGUCHI_WINDOW_ADDRESS": WINDOW,
        "MADOGUCHI_NOW": "2025-06-02T10:00:00+09:00",
    }
    a = build_app(load_settings(environ=env), actor="tester")
    yield a
    a.close()


def test_request_in_imap_reply_out_smtp_once(app: App, dovecot: Dovecot, imap_folder: str,
                                             smtp_server: SmtpServer) -> None:
    raw, mid = request_mail()
    client = dovecot.client()
    client.append(imap_folder, raw)
    client.logout()

    first = run_once(app)
    assert first.count("request") == 1 and first.delivery.sent == 1
    with app.session() as s:
        [case] = casestore.all_cases(s)
        case_id = case.id
    [sent] = smtp_server.messages
    assert sent.tls and sent.recipients == (REQUESTER,) and sent.sender == WINDOW
    reply = email.message_from_bytes(sent.data, policy=email.policy.default)
    assert reply["In-Reply-To"] == mid
    assert f"[#{case_id}]" in str(reply["Subject"])
    assert reply["Auto-Submitted"] == "auto-replied"

    second = run_once(app)
    assert second.results == [] and second.delivery.sent == 0
    assert len(smtp_server.messages) == 1

    client = dovecot.client()
    client.select_folder(imap_folder, readonly=True)
    [uid] = client.search("ALL")
    assert b"\\Seen" in client.get_flags([uid])[uid]
    client.logout()


def append(dovecot: Dovecot, folder: str, raw: bytes) -> None:
    client = dovecot.client()
    try:
        client.append(folder, raw)
    finally:
        client.logout()


def flags_of_all(dovecot: Dovecot, folder: str) -> list[set[bytes]]:
    client = dovecot.client()
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        return [set(f) - {b"\\Recent"} for f in client.get_flags(uids).values()] if uids else []
    finally:
        client.logout()


def test_a_restart_reads_nothing_twice(app: App, dovecot: Dovecot, imap_folder: str,
                                       smtp_server: SmtpServer) -> None:
    """A new process (a new App on the same settings) neither answers again nor re-reads the request."""
    append(dovecot, imap_folder, request_mail()[0])
    run_once(app)
    restarted = build_app(app.settings, actor="tester")
    try:
        again = run_once(restarted)
    finally:
        restarted.close()
    assert again.results == [] and again.delivery.sent == 0
    assert len(smtp_server.messages) == 1


def inquiry_mail() -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = REQUESTER
    msg["To"] = WINDOW
    msg["Subject"] = "営業時間について"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content("窓口の営業時間を教えてください。\n")
    return msg.as_bytes()


def test_an_inquiry_stays_unread_for_staff(app: App, dovecot: Dovecot, imap_folder: str,
                                           smtp_server: SmtpServer) -> None:
    append(dovecot, imap_folder, inquiry_mail())
    assert run_once(app).count("inquiry") == 1
    assert run_once(app).results == []  # not read again in this process
    assert flags_of_all(dovecot, imap_folder) == [set()]
    assert smtp_server.messages == []


def test_an_inquiry_stays_unread_across_a_restart(app: App, dovecot: Dovecot, imap_folder: str) -> None:
    append(dovecot, imap_folder, inquiry_mail())
    run_once(app)
    restarted = build_app(app.settings, actor="tester")
    try:
        # Not even read again: the folder's position (UIDVALIDITY, last UID done) is in the case store.
        assert run_once(restarted).results == []
        with restarted.session() as s:
            [position] = s.scalars(select(MailboxState)).all()
        assert position.last_uid == 1 and position.mailbox.endswith(f"/{imap_folder}")
    finally:
        restarted.close()
    assert flags_of_all(dovecot, imap_folder) == [set()]
