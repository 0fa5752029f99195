"""The polite notice for a mail too large to read: what the limit is and how to send instead.

The mail itself is quarantined unread (so staff see it); only its header is parsed here, to
know whom to tell. Nothing goes to robots, to the window's own addresses, to a sender whose
domain failed authentication (it would be backscatter to a forged address), or beyond the
per-address cap. The notice names no case contents: it may reach anyone who can send mail.
"""

from __future__ import annotations

import datetime as dt

from bot import casestore
from bot.app import App
from bot.db import OutboundMessage
from bot.policy import may_auto_reply
from bot.replying import reply_message_id, window_sender_name
from parsers.headers import case_tags, robot_reasons, sender_authentication
from replies.render import Envelope, build_message, render

HEADER_LIMIT = 256 * 1024  # a header block larger than this is not a person's mail


def queue_size_notice(app: App, raw: bytes, digest: str) -> bool:
    """Queue the notice for an oversized mail; False when nobody should get one."""
    from parsers.mime import parse_message

    head = _header_block(raw)
    if head is None:
        return False
    msg = parse_message(head)
    if not msg.from_addr or robot_reasons(msg, app.settings.window_address):
        return False
    if msg.from_addr in app.settings.staff_addresses:
        return False
    if sender_authentication(msg, app.settings.trusted_authserv_ids) == "fail":
        return False
    now = app.clock.now()
    with app.session() as s, s.begin():
        sent = casestore.auto_replies_since(s, msg.from_addr, now - dt.timedelta(days=1))
        if not may_auto_reply(sent, app.policy.auto_replies_per_address_per_day):
            return False
        case_id = next((c for c in case_tags(msg.subject)
                        if (case := casestore.get_case(s, c)) is not None and case.requester_email == msg.from_addr),
                       None)
        message_id = reply_message_id(case_id or "size", "size_notice", digest, app.settings.window_address)
        if casestore.outbound_exists(s, message_id):
            return False
        limit_mb = app.settings.max_message_bytes / (1024 * 1024)
        ctx = {"company": app.policy.company, "complaint_body": app.policy.complaint_body,
               "window_address": app.settings.window_address, "case": {"id": case_id or ""},
               "size_mb": f"{len(raw) / (1024 * 1024):.1f}", "limit_mb": f"{limit_mb:.0f}"}
        subject, body = render("size_notice", ctx, templates=app.settings.templates_dir)
        envelope = Envelope(sender=app.settings.window_address,
                            sender_name=window_sender_name(app.policy),
                            to=msg.from_addr, message_id=message_id, date=now, in_reply_to=msg.message_id,
                            references=(msg.message_id,) if msg.message_id else ())
        s.add(OutboundMessage(case_id=case_id, kind="size_notice", to_addr=msg.from_addr, message_id=message_id,
                              raw=build_message(envelope, subject, body), created_at=now, status="queued",
                              automatic=True))
        casestore.add_event(s, case_id, now, "madoguchi", "reply_queued",
                            {"kind": "size_notice", "message_id": message_id, "sha256": digest})
    return True


def _header_block(raw: bytes) -> bytes | None:
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(sep, 0, HEADER_LIMIT)
        if end >= 0:
            return raw[: end + len(sep)]
    return None
