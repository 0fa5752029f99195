"""The daily chase: remind requesters who owe documents or the fee, lapse the silent ones.

The rule is `bot.deadlines.chase` (pure); this module applies it to every case waiting on
its requester, one transaction per case. A reminder's Message-ID is derived from the day
the wait began, and `reminded_on` is set in the same transaction, so a second run the same
day (or after a crash) sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import casestore
from bot.app import App
from bot.db import Case
from bot.deadlines import WAITING_ON_REQUESTER, chase


@dataclass
class ChaseReport:
    reminded: list[str] = field(default_factory=list)
    lapsed: list[str] = field(default_factory=list)


def chase_cases(app: App, *, dry_run: bool = False) -> ChaseReport:
    """Send the reminders and final notices that are due today (or only list them)."""
    report = ChaseReport()
    today = app.clock.today()
    rules = app.policy.chase_rules()
    with app.session() as s:
        waiting = list(s.scalars(select(Case.id).where(Case.status.in_(sorted(WAITING_ON_REQUESTER)))
                                 .order_by(Case.id)))
    for case_id in waiting:
        with app.session() as s, s.begin():
            case = casestore.get_case(s, case_id, lock=True)
            if case is None or case.status not in WAITING_ON_REQUESTER:
                continue
            action = chase(case.waiting_since, case.reminded_on, today, rules)
            if action is None:
                continue
            (report.reminded if action == "reminder" else report.lapsed).append(case.id)
            if dry_run:
                s.rollback()
                continue
            _apply(app, s, case, action)
    return report


def _apply(app: App, s: Session, case: Case, action: str) -> None:
    from bot.pipeline import redecide

    now = app.clock.now()
    if action == "reminder":
        waited = (app.clock.today() - case.waiting_since).days if case.waiting_since else None
        casestore.add_event(s, case.id, now, "madoguchi", "reminder",
                            {"waiting_since": case.waiting_since.isoformat() if case.waiting_since else None,
                             "days_waited": waited})
        cause = f"reminder:{case.waiting_since}"
        case.reminded_on = app.clock.today()
        lapse_days = app.policy.chasing.lapse_after_days
        lapse_on = case.reminded_on + dt.timedelta(days=lapse_days) if lapse_days else None
        redecide(app, s, case, "remind", now, cause=cause, extra={"lapse_on": lapse_on})
        return
    status_before = case.status
    case.final_status = "closed"
    case.outcome = "lapsed"
    case.closed_at = now
    casestore.add_event(s, case.id, now, "madoguchi", "lapsed",
                        {"reminded_on": case.reminded_on.isoformat() if case.reminded_on else None})
    redecide(app, s, case, "lapse", now, cause="lapse", outcome="lapsed", extra={"status_before": status_before})
