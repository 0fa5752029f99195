"""SmtpOutbox against a real aiosmtpd on loopback: bytes, TLS, and which failures are temporary."""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import pytest
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPConnectResponseError,
    SMTPException,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPServerDisconnected,
)

from bot.outbox import PermanentDeliveryError, TemporaryDeliveryError
from bot.smtp_outbox import SmtpOutbox, SmtpTarget, classify
from tests.servers import SmtpServer, ThrowawayCert, free_port

WINDOW = "info@example.jp"
TO = "yamada@example.com"


def reply_bytes(cte: str = "base64") -> tuple[bytes, str]:
    """A reply as replies/render.py makes it (base64 body), or with an 8-bit body and a lone dot line."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = WINDOW
    msg["To"] = TO
    msg["Subject"] = "[#2025-0001] 開示等のご請求を受け付けました"
    msg["Message-ID"] = mid = make_msgid(domain="example.jp")
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("山田 太郎 様\n\nご請求を受け付けました。\n.\n行頭のピリオドもそのまま届きます。\n", cte=cte)
    return msg.as_bytes(), mid


def outbox_for(server: SmtpServer, cert: ThrowawayCert | None, require_tls: bool = False) -> SmtpOutbox:
    return SmtpOutbox.from_url(server.url, ca_file=cert.cert if cert else None, timeout=5, require_tls=require_tls)


@pytest.mark.parametrize("cte", ["base64", "8bit"])
def test_delivers_the_exact_bytes_over_starttls(smtp_server: SmtpServer, mail_cert: ThrowawayCert, cte: str) -> None:
    raw, mid = reply_bytes(cte)
    outbox_for(smtp_server, mail_cert).deliver(raw, mid, WINDOW, [TO])
    [got] = smtp_server.messages
    assert got.data == raw
    assert got.sender == WINDOW and got.recipients == (TO,)
    assert got.tls, "smtp:// must upgrade with STARTTLS when the server offers it"


def test_delivers_over_implicit_tls(smtps_server: SmtpServer, mail_cert: ThrowawayCert) -> None:
    raw, mid = reply_bytes()
    outbox_for(smtps_server, mail_cert).deliver(raw, mid, WINDOW, [TO])
    [got] = smtps_server.messages
    assert got.data == raw


def test_plain_server_without_tls_is_used_only_when_nothing_secret_is_sent(plain_smtp_server: SmtpServer) -> None:
    raw, mid = reply_bytes()
    outbox_for(plain_smtp_server, None).deliver(raw, mid, WINDOW, [TO])
    assert plain_smtp_server.messages[0].data == raw and not plain_smtp_server.messages[0].tls
    with pytest.raises(TemporaryDeliveryError, match="STARTTLS"):
        outbox_for(plain_smtp_server, None, require_tls=True).deliver(raw, mid, WINDOW, [TO])
    assert len(plain_smtp_server.messages) == 1


def test_untrusted_certificate_is_refused(smtp_server: SmtpServer, other_cert: ThrowawayCert) -> None:
    raw, mid = reply_bytes()
    with pytest.raises(TemporaryDeliveryError, match="certificate"):
        outbox_for(smtp_server, other_cert).deliver(raw, mid, WINDOW, [TO])
    assert smtp_server.messages == []


def test_4xx_is_temporary(smtp_server: SmtpServer, mail_cert: ThrowawayCert) -> None:
    smtp_server.handler.mode = "451"
    raw, mid = reply_bytes()
    with pytest.raises(TemporaryDeliveryError, match="451 4.3.0"):
        outbox_for(smtp_server, mail_cert).deliver(raw, mid, WINDOW, [TO])


def test_5xx_is_permanent(smtp_server: SmtpServer, mail_cert: ThrowawayCert) -> None:
    smtp_server.handler.mode = "550"
    raw, mid = reply_bytes()
    with pytest.raises(PermanentDeliveryError, match="550 5.1.1") as info:
        outbox_for(smtp_server, mail_cert).deliver(raw, mid, WINDOW, [TO])
    assert TO not in str(info.value)


def test_dropped_connection_is_temporary(smtp_server: SmtpServer, mail_cert: ThrowawayCert) -> None:
    smtp_server.handler.mode = "drop"
    raw, mid = reply_bytes()
    with pytest.raises(TemporaryDeliveryError):
        outbox_for(smtp_server, mail_cert).deliver(raw, mid, WINDOW, [TO])


def test_server_down_is_temporary() -> None:
    outbox = SmtpOutbox.from_url(f"smtp://127.0.0.1:{free_port()}", timeout=5)
    raw, mid = reply_bytes()
    started = time.monotonic()
    with pytest.raises(TemporaryDeliveryError, match="connection to the server failed"):
        outbox.deliver(raw, mid, WINDOW, [TO])
    assert time.monotonic() - started < 5


def test_a_retry_after_a_temporary_failure_delivers(smtp_server: SmtpServer, mail_cert: ThrowawayCert) -> None:
    outbox = outbox_for(smtp_server, mail_cert)
    raw, mid = reply_bytes()
    smtp_server.handler.mode = "451"
    with pytest.raises(TemporaryDeliveryError):
        outbox.deliver(raw, mid, WINDOW, [TO])
    smtp_server.handler.mode = "ok"
    outbox.deliver(raw, mid, WINDOW, [TO])
    assert [m.data for m in smtp_server.messages] == [raw]



def test_one_connection_carries_a_whole_run_and_close_ends_it(smtp_server: SmtpServer,
                                                              mail_cert: ThrowawayCert) -> None:
    """Each reply's 250 is followed by our commit, not by QUIT and a new handshake."""
    outbox = outbox_for(smtp_server, mail_cert)
    replies = [reply_bytes() for _ in range(5)]
    for raw, mid in replies:
        outbox.deliver(raw, mid, WINDOW, [TO])
    assert [m.data for m in smtp_server.messages] == [raw for raw, _ in replies]
    assert len({m.peer for m in smtp_server.messages}) == 1, "five replies, one session"
    outbox.close()
    raw, mid = reply_bytes()
    outbox.deliver(raw, mid, WINDOW, [TO])  # usable after close: a new session
    outbox.close()
    assert len({m.peer for m in smtp_server.messages}) == 2
    assert outbox.connections_opened == 2


def test_after_a_failure_the_next_reply_opens_a_new_connection(smtp_server: SmtpServer,
                                                               mail_cert: ThrowawayCert) -> None:
    outbox = outbox_for(smtp_server, mail_cert)
    first, second, third = reply_bytes(), reply_bytes(), reply_bytes()
    outbox.deliver(*first, WINDOW, [TO])
    smtp_server.handler.mode = "drop"
    with pytest.raises(TemporaryDeliveryError):
        outbox.deliver(*second, WINDOW, [TO])
    smtp_server.handler.mode = "ok"
    outbox.deliver(*third, WINDOW, [TO])
    outbox.close()
    assert [m.data for m in smtp_server.messages] == [first[0], third[0]]
    assert len({m.peer for m in smtp_server.messages}) == 2
    assert outbox.connections_opened == 2


def test_an_idle_connection_the_server_closed_is_replaced_without_losing_the_reply(
        smtp_server: SmtpServer, mail_cert: ThrowawayCert, monkeypatch: pytest.MonkeyPatch) -> None:
    outbox = outbox_for(smtp_server, mail_cert)
    outbox.deliver(*reply_bytes(), WINDOW, [TO])
    smtp_server.hang_up()  # the relay's idle timeout ends the session while we keep our end
    monkeypatch.setattr(SmtpOutbox, "IDLE_CHECK_SECONDS", 0.0)  # every reuse is checked with NOOP first
    raw, mid = reply_bytes()
    outbox.deliver(raw, mid, WINDOW, [TO])
    outbox.close()
    assert smtp_server.messages[-1].data == raw
    assert outbox.connections_opened == 2


def test_a_connection_is_renewed_after_its_message_cap(smtp_server: SmtpServer, mail_cert: ThrowawayCert,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SmtpOutbox, "MAX_PER_CONNECTION", 2)
    outbox = outbox_for(smtp_server, mail_cert)
    for _ in range(5):
        outbox.deliver(*reply_bytes(), WINDOW, [TO])
    outbox.close()
    assert len(smtp_server.messages) == 5
    assert len({m.peer for m in smtp_server.messages}) == 3  # 2 + 2 + 1


def test_classification_of_session_wide_refusals() -> None:
    assert not classify(SMTPAuthenticationError(535, "5.7.8 bad credentials")).permanent
    assert not classify(SMTPConnectResponseError(554, "no service")).permanent
    assert classify(SMTPResponseException(552, "5.3.4 too big")).permanent
    assert not classify(SMTPServerDisconnected("gone")).permanent
    assert not classify(TimeoutError()).permanent
    assert "conversation" in str(classify(SMTPException("SMTP AUTH extension not supported")))
    refused = SMTPRecipientsRefused([SMTPRecipientRefused(550, "5.1.1 no such user", TO)])
    assert classify(refused).permanent
    mixed = SMTPRecipientsRefused([SMTPRecipientRefused(550, "no", TO), SMTPRecipientRefused(450, "later", "b@x.jp")])
    assert not classify(mixed).permanent


def test_urls_and_passwords() -> None:
    t = SmtpTarget.from_url("smtps://window%40example.jp@mail.example.jp")
    assert (t.host, t.port, t.user, t.implicit_tls) == ("mail.example.jp", 465, "window@example.jp", True)
    assert str(t) == "smtps://mail.example.jp:465"
    assert SmtpTarget.from_url("smtp://relay.example.jp").port == 587
    with pytest.raises(ValueError, match="password"):
        SmtpOutbox(t)


def test_make_outbox_takes_the_password_from_the_settings(tmp_path: Path) -> None:
    from bot.app import make_outbox
    from config.settings import SettingsError, load_settings

    env = {"MADOGUCHI_OUTBOX_URL": "smtp://window@127.0.0.1:2525", "MADOGUCHI_DATA_DIR": str(tmp_path)}
    with pytest.raises(SettingsError, match="MADOGUCHI_OUTBOX_PASSWORD"):
        make_outbox(load_settings(environ=env))
    outbox = make_outbox(load_settings(environ={**env, "MADOGUCHI_OUTBOX_PASSWORD": "pw"}))
    assert isinstance(outbox, SmtpOutbox) and outbox.target.user == "window"
