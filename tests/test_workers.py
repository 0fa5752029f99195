"""Several workers on PostgreSQL: the queue's row locks, the leader lock, and a worker in process.

The whole fleet (three `madoguchi worker` processes, the leader killed over a backlog of
2,000 mails in Dovecot) is in tests/test_worker_fleet.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import work_queue
from bot.db import Case, InboundMessage, OutboundMessage, WorkItem
from bot.runner import SchedulerBusy, run_once
from bot.workers import Leadership, WorkerError, leader_count, require_postgresql, run_worker, work_one
from tests.apps import make_app
from tests.crash_helpers import followup_mail, request_mail

pytestmark = pytest.mark.postgresql
NOW = dt.datetime(2025, 6, 2, 1, 0, tzinfo=dt.UTC)
INQUIRY = (b"From: someone@example.org\r\nTo: info@example.jp\r\nSubject: =?utf-8?b?5Za25qWt5pmC6ZaT?=\r\n"
           b"Message-ID: <inquiry-1@example.org>\r\nDate: Mon, 02 Jun 2025 09:00:00 +0900\r\n\r\n"
           b"What are your opening hours?\r\n")


def pg_app(tmp_path: Path, postgres_server: Any, **overrides: str) -> Any:
    return make_app(tmp_path, MADOGUCHI_DATABASE_URL=postgres_server.new_database("w"), **overrides)


def drop_in_maildir(root: Path, raws: list[bytes]) -> None:
    new = root / "new"
    new.mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(raws):
        (new / f"{1_700_000_000 + i}.M{i}.test").write_bytes(raw)


def queue(app: Any, items: list[tuple[str, str]]) -> None:
    """(mailbox key, sender) pairs, queued in that order."""
    with app.session() as s, s.begin():
        for key, sender in items:
            assert work_queue.enqueue(s, key, f"{key:0<64}"[:64], sender, NOW)


def test_a_claimed_message_is_skipped_by_others_and_one_senders_mail_waits_its_turn(
        tmp_path: Path, postgres_server: Any) -> None:
    app = pg_app(tmp_path, postgres_server)
    queue(app, [("k1", "alice"), ("k2", "alice"), ("k3", "bob"), ("k4", "carol")])
    with work_queue.claim_session(app.session) as first:
        a = work_queue.claim_next(first)
        assert a is not None and a.mailbox_key == "k1"
        with work_queue.claim_session(app.session) as second:
            b = work_queue.claim_next(second)
            # k2 is alice's too: it must wait for k1, so the second worker gets bob's.
            assert b is not None and b.mailbox_key == "k3"
            with work_queue.claim_session(app.session) as third:
                c = work_queue.claim_next(third)
                assert c is not None and c.mailbox_key == "k4"
                with work_queue.claim_session(app.session) as fourth:
                    assert work_queue.claim_next(fourth) is None  # alice's second still waits
        work_queue.finish(first, a, "request", "processed", "w1", NOW)
    with work_queue.claim_session(app.session) as s:
        nxt = work_queue.claim_next(s)
        assert nxt is not None and nxt.mailbox_key == "k2"  # k3 and k4 were released undone
    app.close()


def test_a_claim_whose_worker_dies_is_free_again(tmp_path: Path, postgres_server: Any) -> None:
    app = pg_app(tmp_path, postgres_server)
    queue(app, [("k1", "alice")])
    s = app.session()
    s.begin()
    assert work_queue.claim_next(s) is not None
    with work_queue.claim_session(app.session) as other:
        assert work_queue.claim_next(other) is None
    s.connection().invalidate()  # the worker's connection is gone, as when the process is killed
    s.close()
    again = None
    deadline = time.monotonic() + 10  # the server notices the closed socket and ends that backend
    while again is None and time.monotonic() < deadline:
        with work_queue.claim_session(app.session) as other:
            again = work_queue.claim_next(other)
        time.sleep(0.05)
    assert again is not None and again.mailbox_key == "k1"
    app.close()


def test_one_leader_at_a_time_and_the_next_takes_over_when_it_goes(tmp_path: Path, postgres_server: Any) -> None:
    app = pg_app(tmp_path, postgres_server)
    first, second = Leadership(app.engine), Leadership(app.engine)
    assert first.try_take()
    assert not second.try_take()
    assert first.still_held()
    assert first._conn is not None
    first._conn.invalidate()  # the leader's process dies
    assert not first.still_held()
    deadline = time.monotonic() + 10
    while not second.try_take() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert second.held
    assert leader_count(app.engine) == 1
    second.release()
    assert leader_count(app.engine) == 0
    app.close()


def test_each_window_has_its_own_leader_lock(tmp_path: Path, postgres_server: Any) -> None:
    """Windows whose schemas share one database: one leader per window, not one for all."""
    app = pg_app(tmp_path, postgres_server)
    acme, beta, acme_again = (Leadership(app.engine, w) for w in ("acme", "beta", "acme"))
    assert acme.try_take() and beta.try_take()
    assert not acme_again.try_take()
    assert (leader_count(app.engine, "acme"), leader_count(app.engine, "beta"), leader_count(app.engine)) == (1, 1, 0)
    for ship in (acme, beta, acme_again):
        ship.release()
    app.close()


def test_run_refuses_while_a_worker_leads(tmp_path: Path, postgres_server: Any) -> None:
    app = pg_app(tmp_path, postgres_server)
    leader = Leadership(app.engine)
    assert leader.try_take()
    with pytest.raises(SchedulerBusy, match="worker"):
        run_once(app)
    leader.release()
    assert run_once(app).results == []
    app.close()


def test_a_worker_needs_postgresql(tmp_path: Path) -> None:
    app = make_app(tmp_path, MADOGUCHI_DATABASE_URL=f"sqlite:///{tmp_path}/only.db")
    with pytest.raises(WorkerError, match="PostgreSQL"):
        require_postgresql(app)
    app.close()


def test_one_worker_drains_a_maildir_backlog_in_order_and_marks_every_message(
        tmp_path: Path, postgres_server: Any) -> None:
    requests = [request_mail(i) for i in range(12)]
    followups = [followup_mail(i, requests[i]) for i in (0, 5)]
    drop_in_maildir(tmp_path / "mail", [m.raw for m in [*requests, *followups]] + [INQUIRY])
    app = pg_app(tmp_path, postgres_server)
    report = run_worker([app], threading.Event(), until_idle=True)
    assert report.led and report.queued == 15 and report.handled == 15
    assert report.outcomes == {"request": 12, "followup": 2, "inquiry": 1}
    with app.session() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 12
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 15
        assert set(s.scalars(select(OutboundMessage.status))) == {"sent"}
        assert s.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.marked.is_(False))) == 0
    cur = sorted(p.name for p in (tmp_path / "mail" / "cur").iterdir())
    assert not list((tmp_path / "mail" / "new").iterdir())
    assert sum(name.endswith(":2,S") for name in cur) == 14  # answered
    assert sum(name.endswith(":2,") for name in cur) == 1  # the inquiry is left unread for staff
    # Run again: nothing new, nothing handled twice.
    again = run_worker([app], threading.Event(), until_idle=True)
    assert again.handled == 0 and again.queued == 0
    app.close()


def test_run_finishes_what_workers_left_in_their_queue(tmp_path: Path, postgres_server: Any) -> None:
    mails = [request_mail(i) for i in range(3)]
    app = pg_app(tmp_path, postgres_server)
    drop_in_maildir(tmp_path / "mail", [m.raw for m in mails])
    from bot.workers import queue_new_mail

    assert queue_new_mail(app) == 3  # the leader read them, then every worker was stopped
    assert list((tmp_path / "mail" / "new").iterdir()) == []
    run_once(app)
    with app.session() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 3
        assert work_queue.pending_count(s) == 0
    assert sorted(p.name[-4:] for p in (tmp_path / "mail" / "cur").iterdir()) == [":2,S"] * 3
    app.close()


def test_two_workers_in_threads_open_distinct_case_numbers(tmp_path: Path, postgres_server: Any) -> None:
    """Cases opened at the same moment by different workers never share a number."""
    mails = [request_mail(i) for i in range(30)]
    drop_in_maildir(tmp_path / "mail", [m.raw for m in mails])
    url = postgres_server.new_database("w")
    leader_app = make_app(tmp_path, MADOGUCHI_DATABASE_URL=url)
    from bot.workers import queue_new_mail

    assert queue_new_mail(leader_app) == 30
    apps = [make_app(tmp_path, MADOGUCHI_DATABASE_URL=url) for _ in range(3)]
    counts = [0, 0, 0]

    def drain(n: int) -> None:
        while work_one(apps[n], f"t{n}"):
            counts[n] += 1

    threads = [threading.Thread(target=drain, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(counts) == 30
    with leader_app.session() as s:
        ids = list(s.scalars(select(Case.id)))
        assert len(ids) == len(set(ids)) == 30
        assert sorted(ids)[-1].endswith("-030")
    for a in [leader_app, *apps]:
        a.close()


def test_key_rotation_refuses_while_a_worker_leads(tmp_path: Path, postgres_server: Any) -> None:
    from bot import keys

    app = pg_app(tmp_path, postgres_server)
    leader = Leadership(app.engine, app.settings.window)
    assert leader.try_take()
    with pytest.raises(keys.RotationError, match="worker.*service stopped"):
        keys.rotate(app)
    leader.release()
    assert keys.rotate(app).unreadable == []  # free again once no worker leads
    app.close()


def test_a_message_handled_before_a_crash_keeps_its_first_marks(tmp_path: Path, postgres_server: Any) -> None:
    """Claimed again after its worker died past the commit: a duplicate, marked as the first time
    (an inquiry stays unread for staff, not \\Seen as a plain duplicate would be)."""
    from bot.mailbox import Incoming
    from bot.pipeline import handle

    app = pg_app(tmp_path, postgres_server)
    digest = app.raw.put(INQUIRY)
    assert handle(app, Incoming("k-inquiry", INQUIRY), mark_mailbox=False).outcome == "inquiry"
    with app.session() as s, s.begin():  # the worker died before it recorded the outcome
        work_queue.enqueue(s, "k-inquiry", digest, work_queue.sender_key(INQUIRY, digest), NOW)
    assert work_one(app, "w")
    with app.session() as s:
        item = s.scalars(select(WorkItem)).one()
        assert (item.outcome, item.mark) == ("duplicate", "inquiry")
    app.close()


def test_a_stored_copy_that_cannot_be_opened_is_quarantined_not_retried(tmp_path: Path,
                                                                       postgres_server: Any) -> None:
    app = pg_app(tmp_path, postgres_server)
    digest = app.raw.put(INQUIRY)
    app.raw.delete(digest)  # lost from the store (a restore without it, say)
    with app.session() as s, s.begin():
        work_queue.enqueue(s, "k-lost", digest, "someone", NOW)
    assert work_one(app, "w")
    assert not work_one(app, "w")  # not claimed again
    with app.session() as s:
        item = s.scalars(select(WorkItem)).one()
        assert (item.state, item.outcome, item.mark) == ("done", "quarantined", "quarantined")
        ledger = s.scalars(select(InboundMessage)).one()
        assert ledger.outcome == "quarantined" and ledger.step == "store" and "unreadable" in (ledger.reason or "")
    app.close()


def test_a_message_that_keeps_killing_its_worker_is_quarantined(tmp_path: Path, postgres_server: Any) -> None:
    """Each start is recorded before the handling; the third restart quarantines instead."""
    from bot.db import WorkAttempt
    from bot.workers import MAX_ATTEMPTS

    app = pg_app(tmp_path, postgres_server)
    digest = app.raw.put(request_mail(1).raw)
    with app.session() as s, s.begin():
        work_queue.enqueue(s, "k-deadly", digest, "someone", NOW)
    for n in range(MAX_ATTEMPTS):  # three workers died in it (their claims rolled back)
        with work_queue.claim_session(app.session) as s:
            claim = work_queue.claim_next(s)
            assert claim is not None and work_queue.attempts(s, claim) == n
            work_queue.record_attempt(app.session, claim, f"dead{n}", NOW)
            s.rollback()
    assert work_one(app, "w")
    with app.session() as s:
        item = s.scalars(select(WorkItem)).one()
        assert (item.outcome, item.mark) == ("quarantined", "quarantined")
        ledger = s.scalars(select(InboundMessage)).one()
        assert ledger.step == "worker" and "3 times" in (ledger.reason or "")
        assert s.scalar(select(func.count()).select_from(Case)) == 0
        assert s.scalar(select(func.count()).select_from(WorkAttempt)) == MAX_ATTEMPTS
    app.close()


def test_finished_and_marked_items_are_pruned_after_a_week(tmp_path: Path, postgres_server: Any) -> None:
    from bot.db import WorkAttempt
    from bot.workers import apply_marks, prune_queue

    app = pg_app(tmp_path, postgres_server)
    drop_in_maildir(tmp_path / "mail", [request_mail(1).raw])
    report = run_worker([app], threading.Event(), until_idle=True)
    assert report.handled == 1
    assert apply_marks(app) == 0 and prune_queue(app) == 0  # a week has not passed
    week_later = make_app(tmp_path, MADOGUCHI_DATABASE_URL=str(app.engine.url.render_as_string(hide_password=False)),
                          MADOGUCHI_NOW="2025-06-10T10:00:00+09:00")
    assert prune_queue(week_later) == 1
    with week_later.session() as s:
        assert s.scalar(select(func.count()).select_from(WorkItem)) == 0
        assert s.scalar(select(func.count()).select_from(WorkAttempt)) == 0
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1  # the ledger stays
    week_later.close()
    app.close()


def test_a_reply_held_by_one_deliverer_is_left_alone_by_another(tmp_path: Path, postgres_server: Any) -> None:
    """Row locks, not the SQLite pass's lock file: a reply another process is sending is skipped."""
    from bot.delivery import deliver_queued
    from bot.workers import queue_new_mail
    from tests.test_runner import FlakyOutbox

    app = pg_app(tmp_path, postgres_server)
    drop_in_maildir(tmp_path / "mail", [request_mail(1).raw])
    queue_new_mail(app)
    assert work_one(app, "w")
    flaky = FlakyOutbox([])
    app._outbox = flaky
    with app.session() as other, other.begin():  # another worker, in the middle of sending it
        held = other.scalars(select(OutboundMessage).with_for_update()).one()
        assert deliver_queued(app).sent == 0 and flaky.accepted == []
    assert deliver_queued(app).sent == 1 and flaky.accepted == [held.message_id]
    assert deliver_queued(app).sent == 0
    app.close()
