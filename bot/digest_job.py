"""Sending the staff digest: queued like any reply, once per day and staff address."""

from __future__ import annotations

import datetime as dt
import hashlib

from bot import casestore
from bot.app import App
from bot.db import OutboundMessage
from replies.digest import DigestCase, DigestItem, digest_context, render_digest
from replies.render import Envelope, build_message


def queue_digest(app: App) -> int:
    """Queue today's digest for every staff address; a second call the same day adds nothing."""
    now = app.clock.now()
    text = digest_text(app)
    domain = app.settings.window_address.rpartition("@")[2]
    queued = 0
    with app.session() as s, s.begin():
        for addr in app.settings.staff_addresses:
            token = hashlib.sha256(f"{now.date()}|{addr}".encode()).hexdigest()[:16]
            message_id = f"<digest.{now:%Y%m%d}.{token}@{domain}>"
            if casestore.outbound_exists(s, message_id):
                continue
            envelope = Envelope(sender=app.settings.window_address, sender_name="madoguchi", to=addr,
                                message_id=message_id, date=now, in_reply_to=None, references=(),
                                auto_submitted="auto-generated")
            raw = build_message(envelope, f"開示等請求窓口 日次ダイジェスト {now:%Y-%m-%d}", text)
            s.add(OutboundMessage(case_id=None, kind="digest", to_addr=addr, message_id=message_id, raw=raw,
                                  created_at=now, status="queued", automatic=False))
            queued += 1
    return queued


def digest_text(app: App) -> str:
    with app.session() as s:
        cases = [
            DigestCase(id=c.id, status=c.status, due_on=c.due_on, agent=c.agent_present, flags=tuple(c.flags),
                       missing=tuple(c.missing), fee_yen=c.fee_yen, paid_yen=c.paid_yen, created_at=c.created_at)
            for c in casestore.all_cases(s)
        ]
        tz = app.clock.tz
        quarantined = [DigestItem(m.sha256[:12], m.received_at.astimezone(tz), f"{m.step}: {m.reason}")
                       for m in casestore.quarantined(s)]
        inquiries = [DigestItem(m.mailbox_key or m.sha256[:12], m.received_at.astimezone(tz), m.from_addr)
                     for m in casestore.inquiries(s)]
        failed = [DigestItem(f"[#{o.case_id}]", o.created_at.astimezone(tz), f"{o.kind}: {o.last_error or ''}")
                  for o in s.query(OutboundMessage).filter(OutboundMessage.status == "failed")]
    since = app.clock.now() - dt.timedelta(days=1)
    ctx = digest_context(cases, app.clock.today(), since=since, quarantined=quarantined, inquiries=inquiries,
                         failed_replies=failed)
    return render_digest(ctx)
