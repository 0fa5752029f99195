"""Mail to staff: the daily digest (text and HTML), once per day and staff address, and the
new-case alert, queued in the transaction that opens the case. Queued like any reply.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import casestore
from bot.app import App
from bot.case_clock import deadline_of
from bot.db import Case, OutboundMessage
from replies.digest import (
    DigestCase,
    DigestItem,
    digest_context,
    flag_note,
    missing_note,
    render_digest,
    render_digest_html,
    without_addresses,
)
from replies.render import Envelope, build_message, render

SENDER_NAME = "madoguchi"


def queue_digest(app: App) -> int:
    """Queue today's digest for every staff address; a second call the same day adds nothing."""
    now = app.clock.now()
    ctx = digest_data(app)
    text, html = render_digest(ctx), render_digest_html(ctx)
    subject = f"開示等請求窓口 日次ダイジェスト {now:%Y-%m-%d}"
    with app.session() as s, s.begin():
        return _queue_to_staff(s, app, "digest", f"{now:%Y%m%d}", None, now,
                               lambda env: build_message(env, subject, text, html=html))


def _queue_to_staff(s: Session, app: App, kind: str, key: str, case_id: str | None, now: dt.datetime,
                    make_raw: Callable[[Envelope], bytes], prefix: str | None = None) -> int:
    """Queue one mail per staff address in the caller's transaction, with a Message-ID fixed by
    (kind, key, address): queuing the same thing again adds nothing. Staff mail is not a reply
    to anyone (Auto-Submitted: auto-generated) and counts against no requester's cap."""
    domain = app.settings.window_address.rpartition("@")[2]
    queued = 0
    for addr in app.settings.staff_addresses:
        token = hashlib.sha256(f"{key}|{addr}".encode()).hexdigest()[:16]
        message_id = f"<{prefix or kind}.{key}.{token}@{domain}>"
        if casestore.outbound_exists(s, message_id):
            continue
        envelope = Envelope(sender=app.settings.window_address, sender_name=SENDER_NAME, to=addr,
                            message_id=message_id, date=now, in_reply_to=None, references=(),
                            auto_submitted="auto-generated")
        s.add(OutboundMessage(case_id=case_id, kind=kind, to_addr=addr, message_id=message_id,
                              raw=make_raw(envelope), created_at=now, status="queued", automatic=False))
        queued += 1
    return queued


def digest_text(app: App) -> str:
    """The plain-text digest (`madoguchi digest --print`)."""
    return render_digest(digest_data(app))


def digest_html(app: App) -> str:
    return render_digest_html(digest_data(app))


def digest_data(app: App) -> dict[str, Any]:
    """The digest's context from the case store: open cases with their deadline clock, what
    came in since the last digest, and the mail staff must look at."""
    tz = app.clock.tz
    today = app.clock.today()
    with app.session() as s:
        cases = [_digest_case(app, c, today) for c in casestore.all_cases(s)]
        # A quarantined mail whose stored copy the retention policy deleted can no longer be
        # replayed: it stays in `quarantine list` as a record but no longer asks staff to act.
        quarantined = [DigestItem(m.sha256[:12], m.received_at.astimezone(tz), f"{m.step}: {m.reason}")
                       for m in casestore.quarantined(s) if app.raw.has(m.sha256)]
        inquiries = [DigestItem(m.mailbox_key or m.sha256[:12], m.received_at.astimezone(tz), m.from_addr)
                     for m in casestore.inquiries(s)]
        failed = [DigestItem(f"[#{o.case_id}]" if o.case_id else "（担当者宛）", o.created_at.astimezone(tz),
                             without_addresses(f"{o.kind}: {o.last_error or ''}"))
                  for o in s.scalars(select(OutboundMessage).where(OutboundMessage.status == "failed")
                                     .order_by(OutboundMessage.id))]
        last = s.scalar(select(OutboundMessage.created_at).where(OutboundMessage.kind == "digest")
                        .order_by(OutboundMessage.created_at.desc()).limit(1))
    if last is not None:
        since = last.astimezone(tz)
        label = f"前回のダイジェスト {since:%Y-%m-%d %H:%M} 以降"
    else:
        since = app.clock.now() - dt.timedelta(days=1)
        label = "過去24時間"
    return digest_context(cases, today, since=since, since_label=label, quarantined=quarantined,
                          inquiries=inquiries, failed_replies=failed,
                          due_soon_days=app.policy.deadline.due_soon_days)


def _digest_case(app: App, c: Case, today: dt.date) -> DigestCase:
    d = deadline_of(c, app.policy, today, app.clock.tz)
    return DigestCase(id=c.id, status=c.status, due_on=d.due_on, agent=c.agent_present, flags=tuple(c.flags),
                      missing=tuple(c.missing), fee_yen=c.fee_yen, paid_yen=c.paid_yen,
                      created_at=c.created_at.astimezone(app.clock.tz), days_left=d.days_left, stopped=d.stopped,
                      waiting_since=c.waiting_since, reminded_on=c.reminded_on,
                      request_types=tuple(c.request_types), disclosure_method=c.disclosure_method)


def queue_new_case_alert(s: Session, app: App, case: Case, now: dt.datetime) -> int:
    """Tell every staff address at once that a case opened (when `alerts.new_case` is on).

    Queued in the caller's transaction, so the alert exists exactly when the case does; one
    Message-ID per case and address, so a replayed mail alerts nobody twice. The alert names
    the case, never the requester: no name, no address.
    """
    if not app.policy.alerts.new_case or not app.settings.staff_addresses:
        return 0
    d = deadline_of(case, app.policy, now.astimezone(app.clock.tz).date(), app.clock.tz)
    ctx = {"id": case.id, "status": case.status, "request_types": list(case.request_types),
           "agent": case.agent_present, "due_on": d.due_on, "days_left": d.days_left, "stopped": d.stopped,
           "flags": [flag_note(f) for f in case.flags], "missing": [missing_note(m) for m in case.missing]}
    subject, body = render("new_case_alert", ctx, templates=app.settings.templates_dir)
    return _queue_to_staff(s, app, "new_case_alert", case.id, case.id, now,
                           lambda env: build_message(env, subject, body), prefix="alert")
