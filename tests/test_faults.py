"""Faults at the edges, with real servers: nothing lost, nothing sent twice.

(a) the SMTP server refuses connections, then answers 451, then is back;
(b) the IMAP connection is cut in the middle of a pass;
(c) the folder is rebuilt with the same mail (a new UIDVALIDITY);
(d) the SQLite database is locked by another writer for a few seconds.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import casestore
from bot.app import App, build_app
from bot.db import InboundMessage, OutboundMessage
from bot.delivery import deliver_queued
from bot.imap_mailbox import ImapMailbox
from bot.mailbox import Incoming, Mark
from bot.runner import run_once
from config.settings import load_settings
from tests.crash_helpers import (
    NOW,
    Mail,
    SmtpTally,
    append_all,
    bot_env,
    folder_flags,
    inbound_rows,
    recreate_folder,
    request_mail,
    run_bot,
    start_bot,
    uidvalidity,
    wait_until,
)
from tests.servers import Dovecot, SmtpServer, ThrowawayCert, free_port

SEEN = b"\\Seen"


def at(minutes: float) -> str:
    """MADOGUCHI_NOW this many minutes after the test's NOW."""
    return (dt.datetime.fromisoformat(NOW) + dt.timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def make_app(tmp_path: Path, dovecot: Dovecot, imap_folder: str, mail_cert: ThrowawayCert,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., App]]:
    """Apps over one deployment (one database, one data folder): a restart, another clock or outbox."""
    monkeypatch.chdir(tmp_path)  # no stray ./madoguchi.toml
    apps: list[App] = []

    def _make(outbox_url: str, *, now: str = NOW) -> App:
        env = bot_env(tmp_path, mailbox_url=dovecot.url(imap_folder), dovecot=dovecot, outbox_url=outbox_url,
                      cert=mail_cert, now=now)
        app = build_app(load_settings(environ=env), actor="tester")
        apps.append(app)
        return app

    yield _make
    for app in apps:
        app.close()


def requests(n: int, start: int = 0) -> list[Mail]:
    return [request_mail(i) for i in range(start, start + n)]


def case_emails(app: App) -> list[str]:
    with app.session() as s:
        return sorted(c.requester_email for c in casestore.all_cases(s))


def outbound(app: App) -> list[OutboundMessage]:
    with app.session() as s:
        return list(s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def ledger(app: App) -> list[InboundMessage]:
    with app.session() as s:
        return list(s.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def assert_each_answered_once(smtp: SmtpServer, mails: list[Mail]) -> None:
    tally = SmtpTally.of(smtp)
    assert tally.duplicates == 0, f"{tally.duplicates} replies delivered twice"
    assert sorted(tally.recipients().elements()) == sorted(m.sender for m in mails)


# --- (a) the SMTP server down, then answering 451, then back ---------------------------------


def test_smtp_down_then_451_then_back_delivers_each_reply_once(
        make_app: Callable[..., App], dovecot: Dovecot, imap_folder: str, smtp_server: SmtpServer) -> None:
    mails = requests(8)
    append_all(dovecot, imap_folder, [m.raw for m in mails])
    closed = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there: connection refused

    down = make_app(closed)
    first = run_once(down)
    assert first.count("request") == 8
    assert (first.delivery.sent, first.delivery.retry, first.delivery.failed) == (0, 8, 0)
    rows = outbound(down)
    assert [(r.status, r.attempts) for r in rows] == [("queued", 1)] * 8
    assert all(r.last_error and "connection" in r.last_error for r in rows)
    assert {r.next_attempt_at for r in rows} == {dt.datetime.fromisoformat(at(1))}
    assert deliver_queued(down).retry == 0  # the pause is running: no attempt at all

    smtp_server.handler.mode = "451"  # the server is up again but not yet accepting
    busy = make_app(smtp_server.url, now=at(1.5))
    assert deliver_queued(busy).retry == 8
    assert smtp_server.messages == []
    assert [(r.status, r.attempts) for r in outbound(busy)] == [("queued", 2)] * 8

    smtp_server.handler.mode = "ok"
    early = make_app(smtp_server.url, now=at(2))
    assert run_once(early).delivery.sent == 0  # second pause (2 minutes) not over yet
    assert smtp_server.messages == []

    back = make_app(smtp_server.url, now=at(4))
    report = run_once(back)
    assert report.results == [] and report.delivery.sent == 8
    assert [(r.status, r.attempts) for r in outbound(back)] == [("sent", 3)] * 8
    assert deliver_queued(back).sent == 0
    later = make_app(smtp_server.url, now=at(90))
    assert run_once(later).delivery.sent == 0
    assert_each_answered_once(smtp_server, mails)
    assert case_emails(later) == sorted(m.sender for m in mails)


def test_smtp_down_for_the_whole_retry_window_fails_the_replies_visibly(
        make_app: Callable[..., App], dovecot: Dovecot, imap_folder: str, smtp_server: SmtpServer) -> None:
    """Past `delivery_retry_hours` a reply is marked failed (for staff), not retried for ever or lost."""
    mails = requests(2)
    append_all(dovecot, imap_folder, [m.raw for m in mails])
    closed = f"smtp://127.0.0.1:{free_port()}"
    assert run_once(make_app(closed)).delivery.retry == 2
    report = deliver_queued(make_app(closed, now=at(48 * 60 + 1)))
    assert (report.sent, report.retry, report.failed) == (0, 0, 2)
    assert deliver_queued(make_app(smtp_server.url, now=at(48 * 60 + 90))).sent == 0
    assert {r.status for r in outbound(make_app(smtp_server.url))} == {"failed"}
    assert smtp_server.messages == []


# --- (b) the IMAP connection cut in the middle of a pass --------------------------------------


def small_batches(app: App, dovecot: Dovecot, folder: str, cert: ThrowawayCert, batch: int = 4) -> ImapMailbox:
    box = ImapMailbox.from_url(dovecot.url(folder), dovecot.password, ca_file=cert.cert, batch_uids=batch,
                               retry_delay=0.1)
    app._mailbox = box
    return box


def kick_before_mark(box: ImapMailbox, dovecot: Dovecot, nth: int) -> None:
    """The server drops the bot's connection just before the `nth` mark of the pass."""
    real_mark = box.mark
    marks: list[str] = []

    def mark_after_kick(key: str, mark: Mark) -> None:
        marks.append(key)
        if len(marks) == nth:
            dovecot.kick(box._client)
        real_mark(key, mark)

    box.mark = mark_after_kick  # type: ignore[method-assign]


def test_imap_cut_between_batches_the_next_pass_reads_the_rest(
        make_app: Callable[..., App], dovecot: Dovecot, imap_folder: str, smtp_server: SmtpServer,
        mail_cert: ThrowawayCert) -> None:
    mails = requests(12)
    append_all(dovecot, imap_folder, [m.raw for m in mails])
    app = make_app(smtp_server.url)
    box = small_batches(app, dovecot, imap_folder, mail_cert)
    calls = {"n": 0}
    real_fetch_batch = box._fetch_batch

    def cut_before_second_batch(state: Any, batch: list[int]) -> Iterator[Incoming]:
        calls["n"] += 1
        if calls["n"] == 2:
            dovecot.kick(box._client)  # the server drops us, as a restart or a NAT timeout would
        return real_fetch_batch(state, batch)

    box._fetch_batch = cut_before_second_batch  # type: ignore[method-assign]
    first = run_once(app)
    assert first.count("request") == 4  # the first batch; the pass ended quietly at the cut
    assert first.delivery.sent == 4

    second = run_once(app)  # reconnects and reads the rest
    assert second.count("request") == 8 and second.count("duplicate") == 0
    assert run_once(app).results == []
    assert_each_answered_once(smtp_server, mails)
    assert case_emails(app) == sorted(m.sender for m in mails)
    assert all(SEEN in f for f in folder_flags(dovecot, imap_folder).values())


def test_imap_cut_inside_a_batch_loses_nothing(
        make_app: Callable[..., App], dovecot: Dovecot, imap_folder: str, smtp_server: SmtpServer,
        mail_cert: ThrowawayCert) -> None:
    """The line dies while the third message of a batch is handled: nothing is lost, nothing read twice."""
    mails = requests(10)
    append_all(dovecot, imap_folder, [m.raw for m in mails])
    app = make_app(smtp_server.url)
    box = small_batches(app, dovecot, imap_folder, mail_cert)
    kick_before_mark(box, dovecot, 3)
    first = run_once(app)
    second = run_once(app)
    assert run_once(app).results == []
    # The pass went on: the batch's marks found the line dead, reconnected once and landed.
    assert first.count("request") == 10 and first.delivery.sent == 10
    assert second.results == [] and second.delivery.sent == 0
    assert_each_answered_once(smtp_server, mails)
    assert case_emails(app) == sorted(m.sender for m in mails)
    assert all(SEEN in f for f in folder_flags(dovecot, imap_folder).values())


def test_imap_cut_at_the_last_message_of_a_batch_ends_the_pass_quietly(
        make_app: Callable[..., App], dovecot: Dovecot, imap_folder: str, smtp_server: SmtpServer,
        mail_cert: ThrowawayCert) -> None:
    """The line dies while the last message of a batch is handled: the pass must not crash."""
    mails = requests(10)
    append_all(dovecot, imap_folder, [m.raw for m in mails])
    app = make_app(smtp_server.url)
    box = small_batches(app, dovecot, imap_folder, mail_cert)
    kick_before_mark(box, dovecot, 4)  # batches of 4: the last of the first batch
    first = run_once(app)  # must not raise: a lost line ends the pass quietly (fetch_new's promise)
    assert first.delivery.sent == first.count("request") >= 4
    second = run_once(app)
    assert first.count("request") + second.count("request") == 10
    assert_each_answered_once(smtp_server, mails)


# --- (c) the folder rebuilt: a new UIDVALIDITY, the same mail ----------------------------------


def test_uidvalidity_change_makes_no_second_case_or_reply(
        make_app: Callable[..., App], dovecot: Dovecot, imap_folder: str, smtp_server: SmtpServer) -> None:
    mails = requests(6)
    raws = [m.raw for m in mails]
    append_all(dovecot, imap_folder, raws)
    app = make_app(smtp_server.url)
    assert run_once(app).count("request") == 6
    old_validity = uidvalidity(dovecot, imap_folder)

    # The same bytes in a rebuilt folder: recognised by their digest, in this process and after a restart.
    recreate_folder(dovecot, imap_folder, raws)
    assert uidvalidity(dovecot, imap_folder) != old_validity
    same_process = run_once(app)
    assert same_process.count("duplicate") == 6 and same_process.delivery.sent == 0
    assert all(SEEN in f for f in folder_flags(dovecot, imap_folder).values())
    recreate_folder(dovecot, imap_folder, raws)
    restarted = run_once(make_app(smtp_server.url))
    assert restarted.count("duplicate") == 6 and restarted.delivery.sent == 0

    # Rebuilt by a migration that added a header: other bytes, same Message-ID and sender.
    migrated = [b"X-Migrated-From: old-server.example.jp\r\n" + raw for raw in raws]
    recreate_folder(dovecot, imap_folder, migrated)
    again = run_once(make_app(smtp_server.url))
    assert again.count("duplicate") == 6 and again.delivery.sent == 0
    assert all(SEEN in f for f in folder_flags(dovecot, imap_folder).values())

    assert case_emails(app) == sorted(m.sender for m in mails)
    assert len(outbound(app)) == 6
    assert_each_answered_once(smtp_server, mails)
    outcomes = [r.outcome for r in ledger(app)]
    assert outcomes.count("request") == 6 and outcomes.count("duplicate") == 6  # the migrated copies


# --- (d) the database locked by another writer -------------------------------------------------


class WriteLock:
    """Another process's write transaction (BEGIN IMMEDIATE) held on the bot's SQLite file."""

    def __init__(self, db: Path) -> None:
        self._conn = sqlite3.connect(db, timeout=30, isolation_level=None, check_same_thread=False)
        self.held = False

    def take(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")  # waits (up to 30 s) for the bot's transaction in hand
        self.held = True

    def release(self) -> None:
        if self.held:
            self._conn.execute("ROLLBACK")
            self.held = False

    def close(self) -> None:
        self.release()
        self._conn.close()


def sent_rows(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT count(*) FROM outbound_messages WHERE status = 'sent'").fetchone()[0])
    finally:
        conn.close()


def test_database_locked_for_seconds_the_pass_waits_and_processes_each_once(
        tmp_path: Path, dovecot: Dovecot, imap_folder: str, smtp_server: SmtpServer,
        mail_cert: ThrowawayCert) -> None:
    env = bot_env(tmp_path, mailbox_url=dovecot.url(imap_folder), dovecot=dovecot, outbox_url=smtp_server.url,
                  cert=mail_cert)
    # Enough mail, committed in groups of 5, that intake is still under way when the lock falls
    # (a group of text mails takes a few milliseconds a mail; with the default 50 the ledger
    # would move in a few large steps).
    env["MADOGUCHI_MAILBOX_BATCH_SIZE"] = "5"
    run_bot(env, tmp_path)  # an empty pass: the database exists, at the newest schema
    db = tmp_path / "m.db"
    mails = requests(300)
    smtp_server.handler.delay = 0.02  # a relay slow enough that the lock surely falls during delivery
    append_all(dovecot, imap_folder, [m.raw for m in mails])
    lock = WriteLock(db)
    log = tmp_path / "bot.log"
    proc = start_bot(env, tmp_path, log)
    try:
        # Locked while it records mail: the ledger stands still, the bot waits (busy_timeout).
        assert wait_until(lambda: inbound_rows(db) >= 5, timeout=60), log.read_text()[-2000:]
        lock.take()
        held_at = inbound_rows(db)
        time.sleep(3)
        assert proc.poll() is None, "the bot gave up while the database was locked"
        assert inbound_rows(db) == held_at and held_at < len(mails)
        lock.release()

        # Locked again while it delivers: at most the reply in hand goes out, its record waits.
        assert wait_until(lambda: sent_rows(db) >= 3, timeout=60), log.read_text()[-2000:]
        lock.take()
        sent_at, accepted_at = sent_rows(db), len(smtp_server.messages)
        time.sleep(2)
        assert proc.poll() is None
        assert sent_rows(db) == sent_at and len(smtp_server.messages) - accepted_at <= 1
        lock.release()
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        lock.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    text = log.read_text()
    assert "messages: 300 — requests 300" in text and "quarantined 0" in text, text[-2000:]
    again = run_bot(env, tmp_path)
    assert "messages: 0 " in again and "replies: 0 delivered" in again
    assert_each_answered_once(smtp_server, mails)
    assert inbound_rows(db) == len(mails)
    assert all(SEEN in f for f in folder_flags(dovecot, imap_folder).values())


@pytest.mark.sqlite_only
def test_database_locked_while_a_staff_command_commits_nothing_is_lost(
        make_app: Callable[..., App], dovecot: Dovecot, imap_folder: str, smtp_server: SmtpServer,
        tmp_path: Path) -> None:
    """Another writer that commits (not only holds) while the pass waits: the pass still records every mail."""
    mails = requests(20)
    append_all(dovecot, imap_folder, [m.raw for m in mails])
    app = make_app(smtp_server.url)
    db = tmp_path / "m.db"
    lock = WriteLock(db)
    handled = threading.Event()
    real_handle_mark = app.mailbox.mark

    def slow_first_mark(key: str, mark: Mark) -> None:
        real_handle_mark(key, mark)
        if not handled.is_set():
            handled.set()
            lock.take()
            # Another writer (a staff command) changes the store and commits while the bot waits.
            threading.Timer(2.0, _commit_other_write, args=(lock,)).start()

    app.mailbox.mark = slow_first_mark  # type: ignore[method-assign]
    started = time.monotonic()
    report = run_once(app)
    assert time.monotonic() - started >= 2.0  # it waited for the lock
    lock.close()
    assert report.count("request") == 20 and report.count("quarantined") == 0
    assert report.delivery.sent == 20
    assert run_once(make_app(smtp_server.url)).results == []
    assert_each_answered_once(smtp_server, mails)
    assert case_emails(app) == sorted(m.sender for m in mails)


def _commit_other_write(lock: WriteLock) -> None:
    lock._conn.execute(
        "INSERT INTO case_events (case_id, at, actor, type, detail) VALUES (NULL, '2025-06-02 01:00:00', "
        "'staff', 'note', '{}')")
    lock._conn.execute("COMMIT")
    lock.held = False

