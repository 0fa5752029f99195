"""What staff do to a case: verify identity, record payments, close, reject.

Each action checks the case's state first and refuses with a reason a person can act on
(`StaffError`), changes nothing on refusal, and records who did what in the audit trail.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot import casestore
from bot.app import App
from bot.db import Case
from bot.models import FINAL_STATUSES, REQUEST_TYPES
from bot.pipeline import redecide
from bot.policy import ANSWER_OUTCOMES, CLOSING_NOTICES, REASON_REQUIRED
from bot.replying import PAYMENT_METHOD_LABELS

PAYMENT_METHODS = ("bank_transfer", "registered_cash", "postal_money_order")


class StaffError(Exception):
    """The action is not possible now; the message says why and what to do instead."""


def _load(s: Session, case_id: str) -> Case:
    case = casestore.get_case(s, case_id, lock=True)
    if case is None:
        raise StaffError(f"no case {case_id!r} (see `madoguchi cases list`)")
    return case


def _not_ended(case: Case) -> None:
    if case.final_status in FINAL_STATUSES:
        raise StaffError(f"case {case.id} is already {case.final_status}; nothing was changed")


def verify(app: App, case_id: str) -> Case:
    now = app.clock.now()
    with app.session() as s, s.begin():
        case = _load(s, case_id)
        _not_ended(case)
        if case.verified_at is not None:
            raise StaffError(f"case {case.id} was already verified by {case.verified_by}; nothing was changed")
        case.verified_at = now
        case.verified_by = app.actor
        casestore.add_event(s, case.id, now, app.actor, "staff_verify", {})
        redecide(app, s, case, "verify", now, cause=f"verify:{now.isoformat()}")
        return case


def record_payment(app: App, case_id: str, amount: int, method: str) -> Case:
    if amount <= 0:
        raise StaffError("--amount must be a positive number of yen")
    if method not in PAYMENT_METHODS:
        raise StaffError(f"--method must be one of {', '.join(PAYMENT_METHODS)}")
    with app.session() as s, s.begin():
        case = _load(s, case_id)
        payment_in(app, s, case, amount, method, source="staff")
        return case


def payment_in(app: App, s: Session, case: Case, amount: int, method: str, source: str) -> None:
    """Record a payment in the caller's transaction (a bank import records its own row with it)."""
    _not_ended(case)
    if case.fee_yen <= 0:
        raise StaffError(f"case {case.id} has no fee to pay (its requests are free); nothing was recorded")
    if case.paid_yen >= case.fee_yen:
        raise StaffError(f"case {case.id} is already fully paid ({case.paid_yen:,} yen); nothing was recorded")
    now = app.clock.now()
    paid_before = case.paid_yen
    casestore.record_payment(s, case, amount, method, now, app.actor)
    casestore.add_event(s, case.id, now, app.actor, "staff_payment",
                        {"amount_yen": amount, "method": method, "source": source})
    extra = {"payment_amount": amount, "payment_method": method, "payment_method_label": PAYMENT_METHOD_LABELS[method]}
    redecide(app, s, case, "payment", now, cause=f"payment:{len(case.payments)}", paid_before=paid_before,
             extra=extra)


def confirm_sender(app: App, case_id: str) -> Case:
    """Staff confirmed by another channel (phone, post) that the address is the requester's.

    Until then only a neutral acknowledgement went out; now the requester gets the notice the
    case stands at (missing documents, fee), and later replies flow as for any case.
    """
    now = app.clock.now()
    with app.session() as s, s.begin():
        case = _load(s, case_id)
        _not_ended(case)
        if "sender_unverified" not in case.flags:
            raise StaffError(f"case {case.id} is not flagged sender_unverified; nothing was changed")
        case.flags = [f for f in case.flags if f != "sender_unverified"]
        casestore.add_event(s, case.id, now, app.actor, "staff_confirm_sender", {})
        redecide(app, s, case, "sender_confirmed", now, cause=f"sender_confirmed:{now.isoformat()}")
        return case


def confirm_form(app: App, case_id: str, request_types: list[str] | None = None) -> Case:
    """Staff compared a form read from a scan or photo with the image, and corrected it if needed.

    When the corrected request types change the fee and the requester was already sent a fee
    notice, a corrected fee notice goes out; the old amount must not stand.
    """
    if request_types is not None:
        bad = [t for t in request_types if t not in REQUEST_TYPES]
        if bad or not request_types:
            raise StaffError(f"--types takes request types from {', '.join(REQUEST_TYPES)}")
    now = app.clock.now()
    with app.session() as s, s.begin():
        case = _load(s, case_id)
        _not_ended(case)
        if "form_needs_confirmation" not in case.flags:
            raise StaffError(f"case {case.id} has no form read from an image waiting for confirmation")
        before = sorted(case.request_types)
        if request_types is not None:
            case.request_types = sorted(set(request_types))
        changed = sorted(case.request_types) != before
        case.flags = [f for f in case.flags if f != "form_needs_confirmation"]
        if changed and app.policy.fee_for(frozenset(case.request_types)) != case.fee_yen:
            case.fee_notice_sent = False  # the notice sent named the wrong amount
        detail = {"request_types": sorted(case.request_types), "corrected_from": before if changed else None}
        casestore.add_event(s, case.id, now, app.actor, "staff_confirm_form", detail)
        redecide(app, s, case, "confirm", now, cause=f"confirm:{','.join(sorted(case.request_types))}")
        return case


def close(app: App, case_id: str, outcome: str | None = None, reason: str | None = None) -> Case:
    """End a case. An answer outcome needs a verified, paid case; some owe the requester a notice."""
    if outcome == "refused":
        return reject(app, case_id, reason or "")
    _check_outcome(outcome, reason)
    now = app.clock.now()
    with app.session() as s, s.begin():
        case = _load(s, case_id)
        _not_ended(case)
        if outcome in ANSWER_OUTCOMES and case.status != "in_progress":
            raise StaffError(f"case {case.id} is {case.status}, not in_progress: an answer ({outcome}) needs the "
                             "identity verified and the fee paid first; to end it otherwise use "
                             "--outcome withdrawn or `madoguchi cases reject`")
        case.final_status = "closed"
        case.outcome = outcome
        case.closed_at = now
        casestore.add_event(s, case.id, now, app.actor, "staff_close",
                            {"outcome": outcome, "reason": (reason or "").strip() or None})
        extra: dict[str, object] = {"outcome": outcome, "reason": (reason or "").strip()}
        redecide(app, s, case, "close", now, cause=f"close:{outcome}", extra=extra, outcome=outcome)
        return case


def _check_outcome(outcome: str | None, reason: str | None) -> None:
    if outcome is None:
        return
    choices = [o for o in CLOSING_NOTICES if o != "lapsed"] + ["refused"]
    if outcome not in choices:
        raise StaffError(f"--outcome must be one of {', '.join(choices)}")
    if outcome in REASON_REQUIRED and not (reason or "").strip():
        raise StaffError(f"--outcome {outcome} needs --reason: the requester is told why (APPI art. 36)")


def reject(app: App, case_id: str, reason: str) -> Case:
    if not reason.strip():
        raise StaffError("--reason must say why the request is refused; the requester is told this reason")
    now = app.clock.now()
    with app.session() as s, s.begin():
        case = _load(s, case_id)
        _not_ended(case)
        case.final_status = "rejected"
        case.outcome = "refused"
        case.closed_at = now
        # The reason is what the requester is told, so it belongs in the record of the case.
        casestore.add_event(s, case.id, now, app.actor, "staff_reject", {"reason": reason.strip()})
        redecide(app, s, case, "reject", now, cause="reject", extra={"reason": reason.strip()})
        return case
