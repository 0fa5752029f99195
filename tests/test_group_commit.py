"""Group commits: a batch of mail shares a transaction, and loses none of one message's guarantees.

The mails of a fetched batch are recorded in one transaction, their raw copies made durable
by one barrier before it commits, and marked in the mailbox only after it has. These tests
check what that must not change: the order of mails (a follow-up in the same batch as its
request), a failing mail quarantined alone, a mail with attachments read outside the
transaction, a stop finishing only the mail in hand, and a failed commit redone one by one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from bot import casestore, pipeline, rawstore
from bot.app import App
from bot.crypto import Cipher
from bot.db import InboundMessage
from bot.mailbox import Incoming, Mark, in_batches
from bot.runner import run_once
from tests import factory
from tests.apps import make_app, poison_parser
from tests.test_pipeline import complete_request, deliver


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = make_app(tmp_path)
    yield a
    a.close()


def text_request(n: int, message_id: str | None = None) -> bytes:
    return factory.mail(sender=f"要求者{n} <user{n}@example.com>", subject="開示請求",
                        body=f"保有個人データの開示を請求します。({n})", message_id=message_id)


def batch_of(app: App) -> list[Incoming]:
    [batch] = list(app.mailbox.fetch_batches())
    return batch


def count_commits(app: App) -> list[int]:
    """A list that grows by one at each commit on the app's engine (until the app closes)."""
    commits: list[int] = []
    event.listen(app.engine, "commit", lambda _conn: commits.append(1))
    return commits


def ledger_rows(app: App) -> int:
    with app.session() as s:
        return int(s.scalar(select(func.count(InboundMessage.id))) or 0)


def test_a_batch_of_text_mails_commits_once_and_is_marked_after_the_commit(app: App) -> None:
    for n in range(6):
        deliver(app, text_request(n), f"{n}.test")
    commits = count_commits(app)
    seen_at_mark: list[int] = []
    real_mark = app.mailbox.mark

    def mark(key: str, mark: Mark) -> None:
        seen_at_mark.append(ledger_rows(app))
        real_mark(key, mark)

    app.mailbox.mark = mark  # type: ignore[method-assign]
    results = pipeline.handle_batch(app, batch_of(app))
    assert [r.outcome for r in results] == ["request"] * 6
    assert len(commits) == 1  # six cases, six ledger rows, six replies queued: one transaction
    assert seen_at_mark == [6] * 6  # every mark came after all six had committed
    assert app.raw._unsynced == []  # the barrier ran
    assert all(app.raw.has(r.sha256) for r in results)


def test_a_failing_mail_is_quarantined_alone_and_the_others_of_its_group_recorded(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_parser(monkeypatch)
    deliver(app, text_request(0), "0.test")
    deliver(app, text_request(1), "1.test")
    deliver(app, factory.mail(sender="x@example.com", subject="POISON", body="開示を請求します。"), "2.test")
    deliver(app, text_request(3), "3.test")
    results = pipeline.handle_batch(app, batch_of(app))
    assert [r.outcome for r in results] == ["request", "request", "quarantined", "request"]
    assert ledger_rows(app) == 4
    with app.session() as s:
        [q] = casestore.quarantined(s)
        assert q.step == "parse"
    cur = Path(app.settings.mailbox_url.removeprefix("maildir:")) / "cur"
    assert sorted(p.name for p in cur.iterdir()) == ["0.test:2,S", "1.test:2,S", "2.test:2,F", "3.test:2,S"]


def test_order_holds_across_a_mail_with_attachments_and_within_a_group(app: App) -> None:
    """A follow-up fetched with its request joins that request's case, whichever way each went."""
    with_files = complete_request("山田 太郎 <taro@example.com>")
    files_id = next(line for line in with_files.split(b"\r\n") if line.startswith(b"Message-ID:")).split(b" ", 1)[1]
    deliver(app, text_request(1, message_id="<first@example.com>"), "0.test")
    deliver(app, with_files, "1.test")
    deliver(app, factory.mail(sender="山田 太郎 <taro@example.com>", subject="Re: 開示請求", body="補足です。",
                              in_reply_to=files_id.decode()), "2.test")
    deliver(app, factory.mail(sender="要求者1 <user1@example.com>", subject="Re: 開示請求", body="補足です。",
                              in_reply_to="<first@example.com>"), "3.test")
    deliver(app, text_request(1, message_id="<first@example.com>"), "4.test")  # the same bytes again
    results = pipeline.handle_batch(app, batch_of(app))
    assert [r.outcome for r in results] == ["request", "request", "followup", "followup", "duplicate"]
    assert results[2].case_id == results[1].case_id and results[3].case_id == results[0].case_id
    with app.session() as s:
        assert len(casestore.all_cases(s)) == 2


def test_copies_and_follow_ups_within_one_group_are_recognised(app: App) -> None:
    """The group's rows are flushed at its commit: the lookups see the mails before anyway."""
    first = text_request(1, message_id="<first@example.com>")
    deliver(app, first, "0.test")
    deliver(app, first, "1.test")  # the same bytes: a second copy in the folder
    deliver(app, first.replace(b"(1)", b"(1)\r\n"), "2.test")  # re-sent: other bytes, same Message-ID
    deliver(app, factory.mail(sender="要求者1 <user1@example.com>", subject="Re: 開示請求", body="補足です。",
                              in_reply_to="<first@example.com>"), "3.test")
    deliver(app, text_request(2), "4.test")
    deliver(app, factory.mail(sender="要求者2 <user2@example.com>", subject="Re: [#20250602-002] 開示請求",
                              body="補足です。"), "5.test")  # by the case tag of a case opened just before
    commits = count_commits(app)
    results = pipeline.handle_batch(app, batch_of(app))
    assert len(commits) == 1  # one group, not redone one by one after a conflict at its commit
    assert [r.outcome for r in results] == ["request", "duplicate", "duplicate", "followup", "request", "followup"]
    assert results[3].case_id == results[0].case_id and results[5].case_id == results[4].case_id == "20250602-002"
    assert ledger_rows(app) == 5  # the second copy of the same bytes is no row of its own


def test_a_stop_finishes_the_mail_in_hand_and_leaves_the_rest_unread(app: App) -> None:
    for n in range(4):
        deliver(app, text_request(n), f"{n}.test")
    stop = threading.Event()
    stop.set()  # as if SIGTERM came while the first mail was in hand
    results = pipeline.handle_batch(app, batch_of(app), stop)
    assert [r.outcome for r in results] == ["request"]
    new = Path(app.settings.mailbox_url.removeprefix("maildir:")) / "new"
    assert sorted(p.name for p in new.iterdir()) == ["1.test", "2.test", "3.test"]
    assert [r.outcome for r in run_once(app).results] == ["request"] * 3  # read on the next pass


def test_a_failed_commit_is_redone_one_mail_at_a_time(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        deliver(app, text_request(n), f"{n}.test")
    real_sync = app.raw.sync
    calls = []

    def failing_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk said no")
        real_sync()

    monkeypatch.setattr(app.raw, "sync", failing_once)
    results = pipeline.handle_batch(app, batch_of(app))
    assert [r.outcome for r in results] == ["request"] * 3
    assert ledger_rows(app) == 3
    with app.session() as s:
        assert len(casestore.all_cases(s)) == 3  # nothing of the rolled-back group was kept twice


def test_the_ledger_gone_mid_group_leaves_every_mail_unread(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        deliver(app, text_request(n), f"{n}.test")
    real = casestore.inbound_outcome
    seen = []

    def unreadable_third(s: object, sha: str) -> object:
        seen.append(sha)
        if len(seen) == 3:
            raise OSError("database is locked")
        return real(s, sha)  # type: ignore[arg-type]

    monkeypatch.setattr(casestore, "inbound_outcome", unreadable_third)
    with pytest.raises(OSError):
        run_once(app)
    assert ledger_rows(app) == 0
    new = Path(app.settings.mailbox_url.removeprefix("maildir:")) / "new"
    assert len(list(new.iterdir())) == 3


def test_batches_are_bounded_by_count_and_bytes() -> None:
    mails = [Incoming(str(n), b"x" * size) for n, size in enumerate([10, 10, 10, 50, 10, 200, 10])]
    sizes = [[len(m.raw) for m in b] for b in in_batches(iter(mails), 3, max_bytes=60)]
    assert sizes == [[10, 10, 10], [50, 10], [200], [10]]


@pytest.mark.parametrize("with_syncfs", [True, False])
def test_raw_copies_written_without_fsync_are_readable_and_synced_by_the_barrier(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_syncfs: bool) -> None:
    if not with_syncfs:
        monkeypatch.setattr(rawstore, "_SYNCFS", None)
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    store = rawstore.BlobStore(tmp_path / "raw", Cipher(bytes(32)))
    digests = [store.put(f"mail {n}".encode(), sync=False) for n in range(3)]
    assert synced == [] and len(store._unsynced) == 3
    assert [store.get(d) for d in digests] == [b"mail 0", b"mail 1", b"mail 2"]
    store.sync()
    assert store._unsynced == []
    # syncfs flushes the whole file system in one call; without it each file and folder is fsynced
    assert len(synced) == (0 if with_syncfs and rawstore._SYNCFS is not None else 3 + 3)
