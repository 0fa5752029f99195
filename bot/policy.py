"""The decision core: case facts in, decision out. No I/O, no clock, no database.

Every rule that fires is named in `Decision.rules` so the audit trail can say why a
case stands where it stands (the Mailman `rule_hits` idea).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.models import FINAL_STATUSES, CaseFacts, Decision, DocumentFact
from config.policy import Policy

Event = Literal["request", "followup", "payment", "verify", "close", "reject", "remind", "lapse", "confirm",
                "sender_confirmed"]

# How staff may close a case, and the notice each outcome owes the requester. The law asks
# for a notice when a request is refused in whole or part or no data is held (APPI 32-3,
# 33-3, 34-3, 35-7, with reasons per art. 36) and when a correction or suspension was done
# (34-3, 35-7). A disclosure or purpose notification is itself the answer: staff send it by
# the method the requester chose, so no automatic mail goes with it.
CLOSING_NOTICES: dict[str, str | None] = {
    "disclosed": None,
    "purpose_notified": None,
    "third_party_records_disclosed": None,
    "corrected": "closing_notice",
    "suspended": "closing_notice",
    "third_party_stopped": "closing_notice",
    "no_data_held": "no_data_notice",
    "partially_refused": "partial_refusal_notice",
    "withdrawn": None,
    "lapsed": "lapse_notice",
}
ANSWER_OUTCOMES = frozenset(CLOSING_NOTICES) - {"withdrawn", "lapsed"}  # need a verified, paid case
REASON_REQUIRED = frozenset({"partially_refused"})


@dataclass(frozen=True)
class _Slot:
    """One document the case needs: `code` is the missing code reported when unfilled."""

    code: str
    requirement: str  # a document kind or "identity_document"
    holder: Literal["principal", "agent", "any"]


def required_slots(facts: CaseFacts, policy: Policy) -> tuple[_Slot, ...]:
    """The documents this request needs, in the order they are reported."""
    slots = [_Slot("request_form", "request_form", "any")]
    if not facts.agent_present:
        slots += [_Slot(r, r, "principal") for r in policy.principal_requires]
        return tuple(slots)
    reqs = policy.agent_requires
    slots += [_Slot(_agent_code("principal", r), r, "principal") for r in reqs.principal]
    slots += [_Slot(_agent_code("agent", r), r, "agent") for r in reqs.agent]
    if facts.agent_type is None:
        slots.append(_Slot("agent_authority", "agent_authority", "any"))
    else:
        slots += [_Slot(r, r, "any") for r in reqs.authority[facts.agent_type]]
    return tuple(slots)


def _agent_code(side: str, requirement: str) -> str:
    """Missing codes of an agent request name whose document is missing."""
    if requirement in ("identity_document", "resident_record"):
        return f"{side}_{requirement}"
    return requirement


def missing_documents(facts: CaseFacts, policy: Policy) -> tuple[str, ...]:
    """Fill each slot with a document; unfilled slots are what is missing.

    A document whose holder is known only fills a slot of that person. Documents whose
    holder is unknown fill the remaining slots in order (principal first), because a
    requester who sends two licences for an agent request has sent one for each person.
    """
    pool = list(facts.documents)
    unfilled: list[_Slot] = []
    slots = required_slots(facts, policy)
    # First pass: documents whose holder is known go to their own slots.
    for slot in slots:
        if slot.requirement == "agent_authority":
            unfilled.append(slot)
            continue
        doc = _take(pool, slot, policy, exact_holder=True)
        if doc is None:
            unfilled.append(slot)
    still: list[str] = []
    for slot in unfilled:
        if slot.requirement == "agent_authority" or _take(pool, slot, policy, exact_holder=False) is None:
            still.append(slot.code)
    return tuple(still)


def _take(pool: list[DocumentFact], slot: _Slot, policy: Policy, *, exact_holder: bool) -> DocumentFact | None:
    for doc in pool:
        if not _fits(doc, slot, policy):
            continue
        if exact_holder and slot.holder != "any" and doc.holder != slot.holder:
            continue
        if not exact_holder and slot.holder != "any" and doc.holder not in ("unknown", slot.holder):
            continue
        pool.remove(doc)
        return doc
    return None


def _fits(doc: DocumentFact, slot: _Slot, policy: Policy) -> bool:
    if slot.requirement == "identity_document":
        return doc.kind in policy.identity_documents
    return doc.kind == slot.requirement


def status_for(facts: CaseFacts, missing: tuple[str, ...], fee_yen: int) -> str:
    """The one thing the case waits for next; first match wins (contract order)."""
    if facts.final_status in FINAL_STATUSES:
        return facts.final_status
    if missing:
        return "awaiting_documents"
    if fee_yen > 0 and facts.paid_yen < fee_yen:
        return "awaiting_fee"
    if not facts.verified:
        return "awaiting_verification"
    return "in_progress"


def decide(facts: CaseFacts, policy: Policy, event: Event, *, paid_before: int = 0,
           outcome: str | None = None) -> Decision:
    """Where the case stands after `event`, and which replies that earns the requester."""
    fee = policy.fee_for(facts.request_types)
    missing = missing_documents(facts, policy)
    status = status_for(facts, missing, fee)
    rules = _rules(facts, missing, fee, status)
    if outcome is not None:
        rules += (f"outcome:{outcome}",)
    replies = _replies(facts, event, status, fee, paid_before, outcome)
    return Decision(status=status, missing=missing, fee_yen=fee, replies=replies, rules=rules)


def _rules(facts: CaseFacts, missing: tuple[str, ...], fee: int, status: str) -> tuple[str, ...]:
    rules = [f"request_type:{t}" for t in sorted(facts.request_types)]
    rules.append(f"agent:{facts.agent_type or 'unstated'}" if facts.agent_present else "principal")
    rules += [f"missing:{m}" for m in missing]
    rules.append(f"fee:{fee}")
    if fee and facts.paid_yen:
        rules.append(f"paid:{facts.paid_yen}")
    rules.append(f"status:{status}")
    return tuple(rules)


def _replies(facts: CaseFacts, event: Event, status: str, fee: int, paid_before: int,
             outcome: str | None) -> tuple[str, ...]:
    if event in ("request", "followup"):
        return _intake_replies(facts, status)
    if event == "remind":
        return ("reminder",)
    if event == "sender_confirmed":  # the notice a requester could not be sent while unconfirmed
        return _intake_replies(facts, status)
    if event == "confirm":  # staff corrected what was read from a form image
        return ("fee_notice",) if status == "awaiting_fee" and not facts.fee_notice_sent else ()
    if event in ("close", "lapse"):
        notice = CLOSING_NOTICES.get(outcome or "")
        return (notice,) if notice else ()
    if event == "payment":
        if fee and paid_before < fee <= facts.paid_yen:
            return ("receipt",)
        return ("payment_partial",)
    if event == "reject":
        return ("rejection_notice",)
    return ()


def _intake_replies(facts: CaseFacts, status: str) -> tuple[str, ...]:
    """One reply per incoming mail, naming what the case needs next."""
    if status in FINAL_STATUSES:
        return ()  # a mail to an ended case is for staff; the requester heard the end already
    if status == "awaiting_documents":
        return ("missing_documents",)
    if status == "awaiting_fee" and not facts.fee_notice_sent:
        return ("fee_notice",)
    return ("ack",)


def may_auto_reply(sent_today: int, cap: int) -> bool:
    """The hard cap that stops a loop with another robot that slipped past the rules."""
    return sent_today < cap
