"""Cases as the contract's JSON objects (shared/docs/contract.md, "Case JSON")."""

from __future__ import annotations

from typing import Any

from bot.db import Case
from bot.deadlines import Deadline
from bot.models import REQUEST_TYPES

OUT_KINDS = {"ack", "missing_documents", "fee_notice"}
ALIASES = {"neutral_ack": "ack"}
STAFF_KINDS = frozenset({"new_case_alert", "digest"})  # mail to staff about a case, not to its requester


def case_to_json(case: Case, deadline: Deadline | None = None) -> dict[str, Any]:
    """The contract's object, plus what staff tools add (deadline seen from today, outcome, language)."""
    data = _contract_fields(case)
    data.update({
        "outcome": case.outcome,
        "lang": case.lang,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
    })
    if deadline is not None:
        data["due_on"] = deadline.due_on.isoformat()
        data["days_left"] = deadline.days_left
        data["clock_stopped"] = deadline.stopped
        data["overdue"] = deadline.days_left < 0 and not deadline.stopped
    return data


def _contract_fields(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "status": case.status,
        "channel": case.channel,
        "requester": {"name": case.requester_name, "email": case.requester_email},
        "agent": _agent(case),
        "request_types": [t for t in REQUEST_TYPES if t in case.request_types],
        "fee_yen": case.fee_yen,
        "paid_yen": case.paid_yen,
        "documents": [{"kind": d.kind, "filename": d.filename, "holder": d.holder} for d in case.documents],
        "missing": list(case.missing),
        "flags": list(case.flags),
        "disclosure_method": case.disclosure_method,
        "due_on": case.due_on.isoformat(),
        "created_at": case.created_at.isoformat(),
        "messages": _messages(case),
    }


def _agent(case: Case) -> dict[str, Any] | None:
    if not case.agent_present:
        return None
    return {"type": case.agent_type, "name": case.agent_name}


def _messages(case: Case) -> list[dict[str, Any]]:
    items: list[tuple[Any, int, dict[str, Any]]] = []
    for m in case.inbound:
        items.append((m.received_at, 0, {"direction": "in", "kind": m.outcome if m.outcome in
                                         ("request", "followup") else "other", "message_id": m.message_id}))
    for o in case.outbound:
        if o.kind in STAFF_KINDS:
            continue
        items.append((o.created_at, 1, {"direction": "out", "kind": _out_kind(o.kind),
                                        "message_id": o.message_id, "status": o.status}))
    items.sort(key=lambda t: (t[0], t[1]))
    return [d for _, _, d in items]


def _out_kind(kind: str) -> str:
    kind = ALIASES.get(kind, kind)
    return kind if kind in OUT_KINDS else "other"
