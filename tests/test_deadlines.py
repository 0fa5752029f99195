"""Due dates, the stopped clock and chasing: pure rules, checked against dates counted by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.deadlines import ChaseRules, WorkCalendar, chase, deadline, stops_after

D = dt.date
CAL = WorkCalendar()
NENMATSU = frozenset({(12, 29), (12, 30), (12, 31), (1, 2), (1, 3)})
BUSINESS = WorkCalendar(business_days=True, closed_annually=NENMATSU)


def test_fourteen_calendar_days_from_the_day_after_arrival() -> None:
    d = deadline(D(2025, 6, 2), 14, CAL, [], today=D(2025, 6, 2))
    assert d.due_on == D(2025, 6, 16) and d.days_left == 14 and not d.stopped


def test_business_days_skip_weekends_holidays_and_the_year_end() -> None:
    # Fri 26 Dec 2025; 29–31 Dec and 2–3 Jan closed, 1 Jan and 12 Jan 2026 (成人の日) are holidays.
    # Counted: 5–9 Jan (5), 13–16 (4), 19–23 (5) = 14 → Fri 23 Jan.
    d = deadline(D(2025, 12, 26), 14, BUSINESS, [], today=D(2025, 12, 26))
    assert d.due_on == D(2026, 1, 23)
    assert d.days_left == 14


def test_company_closed_days_do_not_count() -> None:
    cal = WorkCalendar(business_days=True, closed_dates=frozenset({D(2025, 6, 3)}))
    # Mon 2 Jun; 3 Jun closed; 4–6 (3), 9–13 (5), 16–20 (5), 23 (1) = 14
    assert deadline(D(2025, 6, 2), 14, cal, [], today=D(2025, 6, 2)).due_on == D(2025, 6, 23)
    assert deadline(D(2025, 6, 2), 14, WorkCalendar(business_days=True), [], today=D(2025, 6, 2)).due_on \
        == D(2025, 6, 20)


def test_a_closed_stop_moves_the_due_date_by_its_days() -> None:
    # Waited on the requester from the day of arrival to 7 Jun: 3–7 Jun do not count.
    d = deadline(D(2025, 6, 2), 14, CAL, [(D(2025, 6, 2), D(2025, 6, 7))], today=D(2025, 6, 8))
    assert d.due_on == D(2025, 6, 21)
    assert d.days_left == 13


def test_an_open_stop_holds_the_days_left() -> None:
    stops = [(D(2025, 6, 5), None)]  # 3, 4, 5 Jun counted, then the clock stopped
    for today in (D(2025, 6, 10), D(2025, 7, 30)):
        d = deadline(D(2025, 6, 2), 14, CAL, stops, today=today)
        assert d.stopped and d.days_left == 11
        assert d.due_on == today + dt.timedelta(days=11)  # where it lands if the clock restarts today


def test_overdue_days_are_negative() -> None:
    d = deadline(D(2025, 6, 2), 14, CAL, [], today=D(2025, 6, 19))
    assert d.due_on == D(2025, 6, 16) and d.days_left == -3
    b = deadline(D(2025, 6, 2), 5, WorkCalendar(business_days=True), [], today=D(2025, 6, 16))
    assert b.due_on == D(2025, 6, 9) and b.days_left == -5  # 10–13 and 16 Jun: five business days late


def test_stops_open_when_the_wait_begins_and_close_when_it_ends() -> None:
    s = stops_after([], waiting_before=False, waiting_after=True, today=D(2025, 6, 2))
    assert s == [(D(2025, 6, 2), None)]
    assert stops_after(s, True, True, D(2025, 6, 4)) == s  # still waiting: nothing changes
    s = stops_after(s, True, False, D(2025, 6, 7))
    assert s == [(D(2025, 6, 2), D(2025, 6, 7))]
    assert stops_after(s, False, False, D(2025, 6, 8)) == s
    s = stops_after(s, False, True, D(2025, 6, 9))
    assert s[-1] == (D(2025, 6, 9), None)
    assert stops_after(s, True, True, D(2025, 6, 12), final=True)[-1] == (D(2025, 6, 9), D(2025, 6, 12))


def test_a_calendar_without_working_days_is_an_error_not_a_hang() -> None:
    everything = frozenset((m, d) for m in range(1, 13) for d in range(1, 32))
    with pytest.raises(ValueError, match="no day"):
        deadline(D(2025, 6, 2), 14, WorkCalendar(business_days=True, closed_annually=everything), [], D(2025, 6, 2))


RULES = ChaseRules(reminder_after_days=14, lapse_after_days=30)


def test_chase_reminds_once_then_lapses() -> None:
    since = D(2025, 6, 2)
    assert chase(since, None, D(2025, 6, 15), RULES) is None
    assert chase(since, None, D(2025, 6, 16), RULES) == "reminder"
    assert chase(since, D(2025, 6, 16), D(2025, 7, 15), RULES) is None
    assert chase(since, D(2025, 6, 16), D(2025, 7, 16), RULES) == "lapse"
    assert chase(None, None, D(2026, 1, 1), RULES) is None  # not waiting on the requester


def test_chasing_can_be_turned_off() -> None:
    assert chase(D(2025, 6, 2), None, D(2026, 6, 2), ChaseRules(0, 30)) is None
    assert chase(D(2025, 6, 2), D(2025, 6, 16), D(2026, 6, 2), ChaseRules(14, 0)) is None


@given(st.integers(0, 400), st.integers(1, 60), st.integers(0, 30), st.integers(0, 30))
def test_stopped_days_push_the_due_date_exactly_that_far(start: int, period: int, at: int, length: int) -> None:
    received = D(2025, 1, 1) + dt.timedelta(days=start)
    a = received + dt.timedelta(days=min(at, period - 1))
    plain = deadline(received, period, CAL, [], today=received).due_on
    held = deadline(received, period, CAL, [(a, a + dt.timedelta(days=length))], today=received).due_on
    assert held - plain == dt.timedelta(days=length)
