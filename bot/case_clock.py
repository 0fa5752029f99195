"""A case's deadline clock: the pure rules of `bot.deadlines` applied to a stored case.

The stops are kept on the case as ISO dates so that the due date can be recomputed at
any time from the facts (received day, stops, policy), and every change of the clock
is written to the audit trail by the caller.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from bot.db import Case
from bot.deadlines import WAITING_ON_REQUESTER, Deadline, Stop, deadline, stops_after
from bot.models import FINAL_STATUSES
from config.policy import Policy


def received_on(case: Case, tz: ZoneInfo) -> dt.date:
    return case.created_at.astimezone(tz).date()


def stops_of(case: Case) -> list[Stop]:
    return [(dt.date.fromisoformat(str(a)), dt.date.fromisoformat(b) if b else None)
            for a, b in (case.clock_stops or [])]


def deadline_of(case: Case, policy: Policy, today: dt.date, tz: ZoneInfo) -> Deadline:
    return deadline(received_on(case, tz), policy.response_period_days, policy.work_calendar(), stops_of(case),
                    today)


def advance(case: Case, policy: Policy, before: str | None, today: dt.date, tz: ZoneInfo, *,
            requester_answered: bool) -> dict[str, Any] | None:
    """Move the clock after the case's status changed from `before`; the audit detail if it moved.

    `before` is None for a case just opened. `requester_answered` (a follow-up mail) restarts
    the reminder wait even when the case still waits on them: they are not silent.
    """
    waiting_before = before in WAITING_ON_REQUESTER
    waiting_after = case.status in WAITING_ON_REQUESTER
    final = case.status in FINAL_STATUSES
    old_stops, old_due = list(case.clock_stops or []), case.due_on
    if policy.deadline.stop_while_waiting_on_requester:
        stops = stops_after(stops_of(case), waiting_before, waiting_after, today, final=final)
        case.clock_stops = [[a.isoformat(), b.isoformat() if b else None] for a, b in stops]
    if waiting_after and (not waiting_before or requester_answered):
        case.waiting_since, case.reminded_on = today, None
    elif not waiting_after:
        case.waiting_since, case.reminded_on = None, None
    case.due_on = deadline_of(case, policy, today, tz).due_on
    if case.clock_stops == old_stops and case.due_on == old_due:
        return None
    detail: dict[str, Any] = {"due_on": case.due_on.isoformat()}
    if len(case.clock_stops) > len(old_stops):
        detail["clock"] = "stopped"
    elif old_stops and old_stops[-1][1] is None and case.clock_stops[-1][1] is not None:
        detail["clock"] = "restarted"
    return detail
