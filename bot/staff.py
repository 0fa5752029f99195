"""What staff do to a case: verify identity, record payments, close, reject.

Each action checks the case's state first and refuses with a reason a person can act on
(`StaffError`), changes nothing on refusal, and records who did what in the audit trail.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot import casestore
from bot.app import App
from bot.db import Case
from bot.models import FINAL_STATUSES
from bot.pipeline import redecide
from bot.replying import PAYMENT_METHOD_LABELS

PAYMENT_METHODS = ("bank_transfer", "registered_cash", "postal_money_order")


class StaffError(Exception):
    """The action is not possible now; the message says why and what to do instead."""


def _load(s: Session, case_id: str) -> Case:
    case = casestore.get_case(s, case_id)
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
    now = app.clock.now()
    with app.session() as s, s.begin():
        case = _load(s, case_id)
        _not_ended(case)
        if case.fee_yen <= 0:
            raise StaffError(f"case {case.id} has no fee to pay (its requests are free); nothing was recorded")
        if case.paid_yen >= case.fee_yen:
            raise StaffError(f"case {case.id} is already fully paid ({case.paid_yen:,} yen); nothing was recorded")
        paid_before = case.paid_yen
        casestore.record_payment(s, case, amount, method, now, app.actor)
        casestore.add_event(s, case.id, now, app.actor, "staff_payment", {"amount_yen": amount, "method": method})
        extra = {"payment_amount": amount, "payment_method_label": PAYMENT_METHOD_LABELS[method]}
        redecide(app, s, case, "payment", now, cause=f"payment:{len(case.payments)}", paid_before=paid_before,
                 extra=extra)
        return case


def close(app: App, case_id: str, outcome: str | None = None) -> Case:
    now = app.clock.now()
    with app.session() as s, s.begin():
        case = _load(s, case_id)
        _not_ended(case)
        case.final_status = "closed"
        case.outcome = outcome
        casestore.add_event(s, case.id, now, app.actor, "staff_close", {"outcome": outcome})
        redecide(app, s, case, "close", now, cause="close")
        return case


def reject(app: App, case_id: str, reason: str) -> Case:
    if not reason.strip():
        raise StaffError("--reason must say why the request is refused; the requester is told this reason")
    now = app.clock.now()
    with app.session() as s, s.begin():
        case = _load(s, case_id)
        _not_ended(case)
        case.final_status = "rejected"
        case.outcome = reason.strip()
        casestore.add_event(s, case.id, now, app.actor, "staff_reject", {})
        redecide(app, s, case, "reject", now, cause="reject", extra={"reason": reason.strip()})
        return case
