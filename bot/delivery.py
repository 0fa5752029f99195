"""Delivering queued replies. A reply leaves the queue only after the outbox took it.

Temporary failures (4xx, timeouts, a server that is down) are retried with a growing
pause until `delivery_retry_hours` after the reply was queued; permanent failures (5xx)
and replies that ran out of time are marked failed, shown by `cases show` and the digest.
Delivery is exclusive per reply. On PostgreSQL each reply is claimed with a row lock, so
any number of workers deliver side by side (`_deliver_claimed`). On SQLite it is a thread
lock within the process, and a lock file
(data_dir/delivery.lock, released by the OS if the process dies) across processes, so the
scheduler's job, a pass and a `run --once` started by hand never hand the same reply to the
server twice. Because of that lock, no database transaction is held while the server is
talking: a slow relay must not block intake and staff commands (SQLite has one writer). The
reply's record is read, the server takes it, and a short transaction marks it sent at once;
a crash between the server's 250 and that commit re-sends the same bytes next time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import casestore
from bot.app import App
from bot.db import OutboundMessage
from bot.outbox import DeliveryError, PermanentDeliveryError

log = logging.getLogger("madoguchi.delivery")
_LOCK = threading.Lock()
MAX_PAUSE = dt.timedelta(hours=1)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0


def retry_pause(attempts: int) -> dt.timedelta:
    """1, 2, 4 … minutes, at most an hour: quick after a blip, gentle during an outage."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_PAUSE)


def deliver_queued(app: App, *, budget_seconds: float | None = None) -> DeliveryReport:
    """Deliver what is due. On PostgreSQL `budget_seconds` ends the run after about that long
    (a worker must look at its leader lock every second or so; the rest waits a round)."""
    if app.engine.dialect.name == "postgresql":
        with _LOCK:  # one outbox connection per process; other processes are kept off by row locks
            return _deliver_claimed(app, budget_seconds)
    with _LOCK, _delivery_lock(app.settings.data_dir) as ours:
        if not ours:
            log.info("another process is delivering replies for this deployment; leaving them to it")
            return DeliveryReport()
        return _deliver_due(app)


@contextlib.contextmanager
def _delivery_lock(data_dir: Path) -> Iterator[bool]:
    """True while this process holds data_dir/delivery.lock; False when another one does."""
    fd = os.open(data_dir / "delivery.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


def _deliver_due(app: App) -> DeliveryReport:
    counts = {"sent": 0, "retry": 0, "failed": 0}
    now = app.clock.now()
    with app.session() as s:
        ids = list(s.scalars(
            select(OutboundMessage.id)
            .where(OutboundMessage.status == "queued")
            .where(or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now))
            .order_by(OutboundMessage.id)
        ))
    try:
        for out_id in ids:
            outcome = _deliver_one(app, out_id)
            if outcome is not None:
                counts[outcome] += 1
    finally:
        if ids:
            app.outbox.close()  # one session per run: QUIT now, not when the server times us out
    return DeliveryReport(**counts)


def _deliver_claimed(app: App, budget_seconds: float | None = None) -> DeliveryReport:
    """On PostgreSQL, any number of processes deliver: each reply is claimed with a row lock
    (FOR UPDATE SKIP LOCKED) held while the server takes it, and marked in that transaction.

    Holding the lock through the SMTP exchange is what makes two workers never hand the same
    reply over; unlike SQLite, a row lock blocks nobody else's intake or staff command. A
    worker killed mid-exchange lets go of the lock with its connection; the reply is then
    sent again by another (the same bytes and Message-ID), as after a crash in one process.
    """
    counts = {"sent": 0, "retry": 0, "failed": 0}
    until = None if budget_seconds is None else time.monotonic() + budget_seconds
    try:
        while until is None or time.monotonic() < until:
            with app.session() as s, s.begin():
                now = app.clock.now()
                out = s.scalars(
                    select(OutboundMessage)
                    .where(OutboundMessage.status == "queued")
                    .where(or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now))
                    .order_by(OutboundMessage.id).limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if out is None:
                    break
                counts[_hand_over(app, s, out)] += 1
    finally:
        if sum(counts.values()):
            app.outbox.close()
    return DeliveryReport(**counts)


def _hand_over(app: App, s: Session, out: OutboundMessage) -> str:
    error: DeliveryError | None = None
    try:
        app.outbox.deliver(_as_sent(app, out.raw), out.message_id, app.settings.window_address, [out.to_addr])
    except DeliveryError as exc:
        error = exc
    return _record_attempt(app, s, out, error)


def _record_attempt(app: App, s: Session, out: OutboundMessage, error: DeliveryError | None) -> str:
    now = app.clock.now()
    out.attempts += 1
    if error is not None:
        return _failed(app, s, out, error, now)
    out.status = "sent"
    out.sent_at = now
    out.next_attempt_at = None
    casestore.add_event(s, out.case_id, now, "madoguchi", "reply_delivered", {"message_id": out.message_id})
    return "sent"


def _deliver_one(app: App, out_id: int) -> str | None:
    with app.session() as s:
        out = s.get(OutboundMessage, out_id)
        if out is None or out.status != "queued":
            return None  # no longer waiting (marked by an earlier run)
        raw, message_id, to_addr = out.raw, out.message_id, out.to_addr
    error: DeliveryError | None = None
    try:
        app.outbox.deliver(_as_sent(app, raw), message_id, app.settings.window_address, [to_addr])
    except DeliveryError as exc:
        error = exc
    with app.session() as s, s.begin():
        out = s.get(OutboundMessage, out_id)
        assert out is not None  # replies are never deleted
        return _record_attempt(app, s, out, error)


def _failed(app: App, s: Session, out: OutboundMessage, exc: DeliveryError, now: dt.datetime) -> str:
    out.last_error = str(exc)[:500]
    deadline = out.created_at + dt.timedelta(hours=app.settings.delivery_retry_hours)
    log.warning("delivery of outbound id=%s failed (permanent=%s, attempt %s)", out.id, exc.permanent,
                out.attempts, extra={"case_id": out.case_id, "outbound_id": out.id, "kind": type(exc).__name__,
                                     "count": out.attempts})
    if exc.permanent or now >= deadline:
        out.status = "failed"
        casestore.add_event(s, out.case_id, now, "madoguchi", "reply_failed",
                            {"message_id": out.message_id, "error": out.last_error})
        return "failed"
    out.next_attempt_at = now + retry_pause(out.attempts)
    return "retry"


def _as_sent(app: App, raw: bytes) -> bytes:
    """The queued reply with its stored attachment parts put back (`bot.reply_parts`).

    A part that cannot be read (its file lost or damaged) fails this reply alone, shown to
    staff as failed, instead of stopping every delivery behind it.
    """
    if app.reply_parts is None:
        return raw
    try:
        return app.reply_parts.expand(raw)
    except (OSError, ValueError, InvalidTag) as exc:
        raise PermanentDeliveryError(
            f"an attachment of this reply, kept in data_dir/parts/, cannot be read ({type(exc).__name__}): "
            "restore that folder from the backup; the reply is not sent") from exc
