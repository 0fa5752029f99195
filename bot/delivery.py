"""Delivering queued replies. A reply leaves the queue only after the outbox took it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot import casestore
from bot.app import App
from bot.outbox import DeliveryError

log = logging.getLogger("madoguchi.delivery")
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0


def deliver_queued(app: App) -> DeliveryReport:
    sent = retry = failed = 0
    with app.session() as s:
        ids = [o.id for o in casestore.queued_outbound(s)]
    for out_id in ids:
        with app.session() as s, s.begin():
            from bot.db import OutboundMessage

            out = s.get(OutboundMessage, out_id)
            if out is None or out.status != "queued":
                continue
            now = app.clock.now()
            out.attempts += 1
            try:
                app.outbox.deliver(out.raw, out.message_id, app.settings.window_address, [out.to_addr])
            except DeliveryError as exc:
                out.last_error = str(exc)[:500]
                if exc.permanent or out.attempts >= MAX_ATTEMPTS:
                    out.status = "failed"
                    failed += 1
                    casestore.add_event(s, out.case_id, now, "madoguchi", "reply_failed",
                                        {"message_id": out.message_id, "error": out.last_error})
                else:
                    retry += 1
                log.warning("delivery of outbound id=%s failed (permanent=%s)", out.id, exc.permanent)
                continue
            out.status = "sent"
            out.sent_at = now
            sent += 1
            casestore.add_event(s, out.case_id, now, "madoguchi", "reply_delivered", {"message_id": out.message_id})
    return DeliveryReport(sent, retry, failed)
