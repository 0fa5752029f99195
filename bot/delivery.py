"""Delivering queued replies. A reply leaves the queue only after the outbox took it.

Temporary failures (4xx, timeouts, a server that is down) are retried with a growing
pause until `delivery_retry_hours` after the reply was queued; permanent failures (5xx)
and replies that ran out of time are marked failed, shown by `cases show` and the digest.
One lock serialises delivery in a process, so the scheduler's retry job and a pass
cannot hand the same reply to the server twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import casestore
from bot.app import App
from bot.db import OutboundMessage
from bot.outbox import DeliveryError

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


def deliver_queued(app: App) -> DeliveryReport:
    with _LOCK:
        return _deliver_due(app)


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
    for out_id in ids:
        outcome = _deliver_one(app, out_id)
        if outcome is not None:
            counts[outcome] += 1
    return DeliveryReport(**counts)


def _deliver_one(app: App, out_id: int) -> str | None:
    with app.session() as s, s.begin():
        out = s.get(OutboundMessage, out_id)
        if out is None or out.status != "queued":
            return None  # handled meanwhile by another delivery run
        now = app.clock.now()
        out.attempts += 1
        try:
            app.outbox.deliver(out.raw, out.message_id, app.settings.window_address, [out.to_addr])
        except DeliveryError as exc:
            return _failed(app, s, out, exc, now)
        out.status = "sent"
        out.sent_at = now
        out.next_attempt_at = None
        casestore.add_event(s, out.case_id, now, "madoguchi", "reply_delivered", {"message_id": out.message_id})
        return "sent"


def _failed(app: App, s: Session, out: OutboundMessage, exc: DeliveryError, now: dt.datetime) -> str:
    out.last_error = str(exc)[:500]
    deadline = out.created_at + dt.timedelta(hours=app.settings.delivery_retry_hours)
    log.warning("delivery of outbound id=%s failed (permanent=%s, attempt %s)", out.id, exc.permanent,
                out.attempts)
    if exc.permanent or now >= deadline:
        out.status = "failed"
        casestore.add_event(s, out.case_id, now, "madoguchi", "reply_failed",
                            {"message_id": out.message_id, "error": out.last_error})
        return "failed"
    out.next_attempt_at = now + retry_pause(out.attempts)
    return "retry"
