"""Due dates and chasing, as pure functions of dates: no clock, no database.

APPI art. 39 lets a requester sue two weeks after the request arrives, so the window
answers within a response period counted from the day after arrival (初日不算入). Days
on which the case waits on the requester (documents, fee) do not count: the clock stops
when the wait begins and restarts when they answer. A stop is a pair of dates (a, b):
the days d with a < d <= b are not counted; an open stop (a, None) holds every day after a.

Where the policy counts business days, weekends, Japanese public holidays (the
`holidays` package, maintained against the Cabinet Office list) and the company's own
closed days do not count either.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import holidays

Stop = tuple[dt.date, dt.date | None]
MAX_DAYS = 3660  # ten years of days: a calendar that closes every day is a policy error, not a loop


@dataclass(frozen=True)
class WorkCalendar:
    business_days: bool = False
    closed_dates: frozenset[dt.date] = frozenset()
    closed_annually: frozenset[tuple[int, int]] = frozenset()  # (month, day), e.g. 年末年始

    def counts(self, day: dt.date) -> bool:
        """Whether `day` is a day of the response period."""
        if not self.business_days:
            return True
        if day.weekday() >= 5 or day in self.closed_dates or (day.month, day.day) in self.closed_annually:
            return False
        return day not in _japanese_holidays(day.year)


@functools.lru_cache(maxsize=32)
def _japanese_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("JP", years=year))


@dataclass(frozen=True)
class Deadline:
    due_on: dt.date  # while stopped: where it lands if the clock restarts on `today`
    days_left: int  # counted days from today to due_on; negative when overdue
    stopped: bool


def _stopped_on(day: dt.date, stops: Sequence[Stop]) -> bool:
    return any(a < day and (b is None or day <= b) for a, b in stops)


def deadline(received_on: dt.date, period: int, calendar: WorkCalendar, stops: Sequence[Stop],
             today: dt.date) -> Deadline:
    """Where the response period of a case ends, seen from `today`."""
    stopped = bool(stops) and stops[-1][1] is None
    counted, day = 0, received_on
    limit = (today if stopped else received_on) + dt.timedelta(days=MAX_DAYS)
    while counted < period:
        day += dt.timedelta(days=1)
        if day > limit:
            raise ValueError("the work calendar leaves no day to count")
        if stopped and day > today:
            # The open stop holds every day after it began; project as if it ended today.
            if calendar.counts(day):
                counted += 1
            continue
        if calendar.counts(day) and not _stopped_on(day, stops):
            counted += 1
    return Deadline(due_on=day, days_left=_days_between(today, day, calendar), stopped=stopped)


def _days_between(today: dt.date, due_on: dt.date, calendar: WorkCalendar) -> int:
    """Counted days after today up to due_on (negative: counted days overdue)."""
    if today == due_on:
        return 0
    lo, hi, sign = (today, due_on, 1) if today < due_on else (due_on, today, -1)
    n, day = 0, lo
    while day < hi:
        day += dt.timedelta(days=1)
        if calendar.counts(day):
            n += 1
    return sign * n


def stops_after(stops: Sequence[Stop], waiting_before: bool, waiting_after: bool, today: dt.date,
                *, final: bool = False) -> list[Stop]:
    """The clock stops when the case starts waiting on the requester, restarts when it stops waiting."""
    out = list(stops)
    is_open = bool(out) and out[-1][1] is None
    if is_open and (final or not waiting_after):
        a, _ = out[-1]
        out[-1] = (a, today)
    elif not is_open and waiting_after and not waiting_before and not final:
        out.append((today, None))
    return out


WAITING_ON_REQUESTER = frozenset({"awaiting_documents", "awaiting_fee"})
Chase = Literal["reminder", "lapse"]


@dataclass(frozen=True)
class ChaseRules:
    reminder_after_days: int  # 0: no reminders and no lapsing
    lapse_after_days: int  # after the reminder; 0: never lapse


def chase(waiting_since: dt.date | None, reminded_on: dt.date | None, today: dt.date,
          rules: ChaseRules) -> Chase | None:
    """What the requester is owed now for a case waiting on them: a reminder, a final notice, or nothing."""
    if waiting_since is None or rules.reminder_after_days <= 0:
        return None
    if reminded_on is None:
        due = waiting_since + dt.timedelta(days=rules.reminder_after_days)
        return "reminder" if today >= due else None
    if rules.lapse_after_days > 0 and today >= reminded_on + dt.timedelta(days=rules.lapse_after_days):
        return "lapse"
    return None
