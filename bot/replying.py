"""Turning a decision's reply kinds into queued messages for one case.

The Message-ID of a reply is derived from the case, the reply kind and what caused it,
so that processing the same cause twice (after a crash) queues the same message once.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot import casestore
from bot.db import Case, InboundMessage, OutboundMessage
from bot.models import REQUEST_TYPES
from bot.reply_parts import ReplyParts
from config.policy import Policy
from replies.render import Envelope, OutgoingAttachment, attachment_part, build_message, render

log = logging.getLogger("madoguchi.replying")

PAYMENT_METHOD_LABELS = {
    "bank_transfer": "銀行振込",
    "registered_cash": "現金書留",
    "postal_money_order": "定額小為替",
}
DISCLOSURE_METHOD_LABELS = {
    "electronic": "電磁的記録の提供",
    "paper": "書面の交付",
    "other": "その他の方法",
}
AGENT_LABELS = {
    "minor_legal_rep": "未成年者の法定代理人",
    "adult_guardian": "成年後見人",
    "voluntary": "任意代理人",
    "professional": "弁護士等の資格者である代理人",
}


def reply_message_id(case_id: str, kind: str, cause: str, window_address: str) -> str:
    token = hashlib.sha256(f"{case_id}|{kind}|{cause}".encode()).hexdigest()[:20]
    domain = window_address.rpartition("@")[2] or "madoguchi.invalid"
    return f"<{case_id}.{kind}.{token}@{domain}>"


def reply_context(case: Case, policy: Policy, window_address: str, *, followup: bool = False,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a template may show. Names appear only as the addressee."""
    labels = policy.document_labels
    received = sorted({labels[d.kind] for d in case.documents if d.kind != "unknown"})
    ctx: dict[str, Any] = {
        "company": policy.company,
        "complaint_body": policy.complaint_body,
        "payment": policy.payment,
        "window_address": window_address,
        "case": {
            "id": case.id,
            "agent_label": AGENT_LABELS.get(case.agent_type or "", "代理人" if case.agent_present else ""),
            "agent_type": case.agent_type if case.agent_present else None,
        },
        "addressee": _addressee(case),
        "addressee_name": _writer_name(case),
        "request_labels": [policy.request_types[t].label for t in _ordered_types(case.request_types)],
        "fee_yen": case.fee_yen,
        "paid_yen": case.paid_yen,
        "fee_breakdown": _fee_breakdown(case, policy),
        "fee_items": [{"code": t, "fee_yen": policy.request_types[t].fee_yen}
                      for t in _ordered_types(case.request_types) if policy.request_types[t].fee_yen],
        "missing_labels": [policy.missing_labels[m] for m in case.missing],
        "needs_identity": any("identity_document" in m for m in case.missing),
        "received": received,
        "flags": list(case.flags),
        "status": case.status,
        "due_on": case.due_on,
        "payment_reference": case.id,
        "followup": followup,
        "form_attached": "request_form" in case.missing,
        "disclosure_method_label": DISCLOSURE_METHOD_LABELS.get(case.disclosure_method or "", ""),
        # the codes as well, for templates in other languages (they carry their own labels)
        "request_codes": _ordered_types(case.request_types),
        "missing_codes": list(case.missing),
        "received_codes": sorted({d.kind for d in case.documents if d.kind != "unknown"}),
        "disclosure_method": case.disclosure_method,
        # chasing and closing fill these in
        "waiting_since": case.waiting_since,
        "reminded_on": case.reminded_on,
        "lapse_on": None,
        "status_before": case.status,
        "outcome": case.outcome,
        "reason": "",
    }
    ctx.update(extra or {})
    return ctx


def _writer_name(case: Case) -> str | None:
    """The person who wrote: the agent for an agent request, else the requester."""
    return case.agent_name if case.agent_present else case.requester_name


def _addressee(case: Case) -> str:
    name = _writer_name(case)
    return f"{name} 様" if name else "ご請求者 様"


def _ordered_types(types: list[str]) -> list[str]:
    return [t for t in REQUEST_TYPES if t in types]


def _fee_breakdown(case: Case, policy: Policy) -> list[str]:
    lines = []
    for t in _ordered_types(case.request_types):
        fee = policy.request_types[t].fee_yen
        if fee:
            lines.append(f"{policy.request_types[t].label} 1件 {fee:,}円")
    return lines


def window_sender_name(policy: Policy) -> str:
    """The display name of every mail the window sends to a requester."""
    return f"{policy.company.name} {policy.company.window_name}"


def queue_reply(s: Session, case: Case, kind: str, *, policy: Policy, window_address: str, now: dt.datetime,
                answering: InboundMessage | None, cause: str, automatic: bool = True,
                extra: dict[str, Any] | None = None, followup: bool = False,
                templates: Path | None = None, parts: ReplyParts | None = None) -> OutboundMessage | None:
    """Render and queue one reply in the caller's transaction; None if it was queued before.

    With `parts`, an attachment (the blank form) is stored once and the queued reply refers
    to it; delivery puts it back (`bot.reply_parts`).
    """
    message_id = reply_message_id(case.id, kind, cause, window_address)
    if casestore.outbound_exists(s, message_id, case.id):
        return None
    ctx = reply_context(case, policy, window_address, followup=followup, extra=extra)
    subject, body = render(kind, ctx, case.lang or "ja", templates)
    refs = _references(answering)
    envelope = Envelope(
        sender=window_address,
        sender_name=window_sender_name(policy),
        to=case.requester_email,
        message_id=message_id,
        date=now,
        in_reply_to=answering.message_id if answering is not None else None,
        references=refs,
    )
    attachments = (blank_form(policy, window_address),) if ctx["form_attached"] and kind != "neutral_ack" else ()
    raw = build_message(envelope, subject, body, attachments, part_ref=parts.ref if parts is not None else None)
    out = OutboundMessage(id=casestore.next_id(s, OutboundMessage), case_id=case.id, kind=kind,
                          to_addr=case.requester_email, message_id=message_id,
                          raw=raw, created_at=now, status="queued", automatic=automatic)
    s.add(out)
    case.outbound.append(out)
    if kind == "fee_notice":
        case.fee_notice_sent = True
    casestore.add_event(s, case.id, now, "madoguchi", "reply_queued", {"kind": kind, "message_id": message_id})
    return out


def _references(answering: InboundMessage | None) -> tuple[str, ...]:
    if answering is None or not answering.message_id:
        return ()
    return (answering.message_id,)


@functools.lru_cache(maxsize=4)
def _form_pdf(company: str, window: str, address: str, fees: tuple[tuple[str, int], ...]) -> bytes:
    from replies.form_pdf import build_request_form

    return build_request_form(company_name=company, window_name=window, window_address=address, fees=dict(fees))


def warm(policy: Policy, window_address: str, parts: ReplyParts | None) -> None:
    """Build the blank form, and keep its part, before the first reply that carries it.

    A fresh process spends about 0.1 s on it (importing reportlab, reading the font, drawing
    the form), all of it on the first acknowledgement. A backlog pass calls this while its read-ahead process
    reads the first batch (`bot.read_ahead`), so that time is spent beside that reading, on
    the other core. Best effort: a form that cannot be built (no Japanese font) fails again
    where a reply needs it, and is handled there.
    """
    try:
        part = attachment_part(blank_form(policy, window_address))
        if parts is not None:
            parts.ref(part)
    except Exception:  # noqa: BLE001 - see above: the reply that needs the form reports it
        log.debug("blank form not built ahead", exc_info=True)


def blank_form(policy: Policy, window_address: str) -> OutgoingAttachment:
    fees = tuple(sorted((k, v.fee_yen) for k, v in policy.request_types.items()))
    data = _form_pdf(policy.company.name, policy.company.window_name, window_address, fees)
    return OutgoingAttachment("kojinjoho_kaiji_seikyusho.pdf", "application/pdf", data)
