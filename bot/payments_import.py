"""`madoguchi payments import`: a bank statement in, matched fee payments recorded.

Reading and matching are pure (`parsers.bank_statement`, `bot.payment_matching`); this
module runs them against the open cases and records, per transfer and in one
transaction, the payment and the transfer's fingerprint, so that importing the same
export twice (or the next day's export, which repeats yesterday's lines) records nothing
twice. Only exact matches are recorded; every other transfer is listed for staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from bot import casestore
from bot.app import App
from bot.db import BankTransfer, Case
from bot.payment_matching import Match, OpenFee, match_transfers
from bot.staff import payment_in
from parsers.bank_statement import ColumnMapping, Skipped, read_statement

WHAT_TO_DO = {
    "matched": "recorded; the receipt goes to the requester",
    "short": "less than the fee still owed: record it with `cases record-payment` if accepted, "
             "and ask the requester for the rest",
    "over": "more than the fee still owed: record the fee with `cases record-payment` and arrange the refund",
    "already_paid": "the case owes nothing: check for a double payment and arrange a refund",
    "unknown_reference": "no open case with this number: check the number (typo, closed case)",
    "no_reference": "no case number in the payer name: find the case by the amount and date by hand",
    "duplicate": "imported before: nothing recorded",
}


@dataclass
class ImportReport:
    format: str
    matches: list[Match] = field(default_factory=list)
    skipped: tuple[Skipped, ...] = ()
    recorded: list[str] = field(default_factory=list)  # case ids paid in full by this import

    def count(self, outcome: str) -> int:
        return sum(1 for m in self.matches if m.outcome == outcome)


def import_statement(app: App, data: bytes, mapping: ColumnMapping | None = None, *,
                     dry_run: bool = False) -> ImportReport:
    """Match every deposit of a statement; record the exact matches unless `dry_run`."""
    statement = read_statement(data, mapping, today=app.clock.today())
    with app.session() as s:
        open_fees = [OpenFee(c.id, c.fee_yen, c.paid_yen) for c in
                     s.scalars(select(Case).where(Case.final_status.is_(None), Case.fee_yen > 0))]
        known = set(s.scalars(select(BankTransfer.fingerprint)))
    matches = match_transfers(statement.transfers, open_fees, known)
    report = ImportReport(format=statement.format, matches=matches, skipped=statement.skipped)
    if dry_run:
        return report
    for match in matches:
        if match.outcome == "duplicate":
            continue
        if _record(app, match):
            report.recorded.append(match.case_id or "")
    return report


def _record(app: App, match: Match) -> bool:
    """One transfer, one transaction: its fingerprint row, and the payment if it matched."""
    now = app.clock.now()
    t = match.transfer
    with app.session() as s, s.begin():
        if s.scalar(select(BankTransfer.id).where(BankTransfer.fingerprint == t.fingerprint)) is not None:
            return False  # another import got there first
        case = casestore.get_case(s, match.case_id, lock=True) if match.case_id else None
        s.add(BankTransfer(fingerprint=t.fingerprint, booked_on=t.booked_on, amount_yen=t.amount_yen,
                           outcome=match.outcome, case_id=case.id if case else None, imported_at=now,
                           imported_by=app.actor))
        if case is None:
            return False
        if match.outcome != "matched":
            casestore.add_event(s, case.id, now, app.actor, "bank_transfer_unmatched",
                                {"outcome": match.outcome, "amount_yen": t.amount_yen,
                                 "booked_on": t.booked_on.isoformat()})
            return False
        if case.final_status is not None or case.paid_yen >= case.fee_yen:
            return False  # changed since it was matched (another import, a staff entry); the row says matched
        payment_in(app, s, case, t.amount_yen, "bank_transfer", source=f"bank:{t.booked_on.isoformat()}")
        return True
