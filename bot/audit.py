"""The audit trail as the Privacy Mark auditor receives it: every event, append-only, in order.

Rows come straight from `case_events` (which the database refuses to update or delete);
times are shown in the window's time zone, details as JSON, one row per event.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from sqlalchemy import select

from bot.app import App
from bot.db import CaseEvent

COLUMNS = ("event_id", "at", "case_id", "actor", "type", "detail")


def export_events(app: App, fmt: str, *, case_id: str | None = None, since: dt.date | None = None,
                  until: dt.date | None = None) -> str:
    rows = [_row(e, app) for e in _events(app, case_id, since, until)]
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180, what spreadsheet tools expect
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r["event_id"], r["at"], r["case_id"] or "", r["actor"], r["type"],
                         json.dumps(r["detail"], ensure_ascii=False, sort_keys=True)])
    return buf.getvalue()


def _events(app: App, case_id: str | None, since: dt.date | None, until: dt.date | None) -> list[CaseEvent]:
    q = select(CaseEvent).order_by(CaseEvent.id)
    if case_id is not None:
        q = q.where(CaseEvent.case_id == case_id)
    tz = app.clock.tz
    if since is not None:
        q = q.where(CaseEvent.at >= dt.datetime.combine(since, dt.time(), tz))
    if until is not None:
        q = q.where(CaseEvent.at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tz))
    with app.session() as s:
        return list(s.scalars(q))


def _row(e: CaseEvent, app: App) -> dict[str, Any]:
    return {"event_id": e.id, "at": e.at.astimezone(app.clock.tz).isoformat(), "case_id": e.case_id,
            "actor": e.actor, "type": e.type, "detail": e.detail}
