"""The staff digest: pure, from case summaries to the text staff read each morning.

It names case ids, what each waits for and the days left, never requester documents,
and no more personal data than staff need to act (no addresses, no names).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from replies.render import render_text

WAITING_ON = {
    "awaiting_documents": "ご請求者の書類待ち",
    "awaiting_fee": "手数料の入金待ち",
    "awaiting_verification": "本人確認待ち（担当者）",
    "in_progress": "回答準備中（担当者）",
}
ORDER = tuple(WAITING_ON)
DUE_SOON_DAYS = 3


@dataclass(frozen=True)
class DigestCase:
    id: str
    status: str
    due_on: dt.date
    agent: bool
    flags: tuple[str, ...]
    missing: tuple[str, ...]
    fee_yen: int
    paid_yen: int
    created_at: dt.datetime


@dataclass(frozen=True)
class DigestItem:
    """Something staff must look at that is not a case (a quarantined mail, an inquiry)."""

    ref: str
    at: dt.datetime
    note: str


def digest_context(cases: list[DigestCase], today: dt.date, *, since: dt.datetime | None,
                   quarantined: list[DigestItem], inquiries: list[DigestItem],
                   failed_replies: list[DigestItem]) -> dict[str, Any]:
    open_cases = [c for c in cases if c.status in WAITING_ON]
    groups = []
    for status in ORDER:
        rows = sorted((c for c in open_cases if c.status == status), key=lambda c: (c.due_on, c.id))
        groups.append({"status": status, "label": WAITING_ON[status],
                       "cases": [_row(c, today) for c in rows]})
    new = [c.id for c in cases if since is not None and c.created_at >= since]
    overdue = [c.id for c in open_cases if c.due_on < today]
    return {
        "today": today,
        "groups": groups,
        "open_count": len(open_cases),
        "new_cases": new,
        "overdue": overdue,
        "quarantined": quarantined,
        "inquiries": inquiries,
        "failed_replies": failed_replies,
    }


def _row(c: DigestCase, today: dt.date) -> dict[str, Any]:
    left = (c.due_on - today).days
    if left < 0:
        due = f"期限超過 {-left}日"
    elif left == 0:
        due = "本日期限"
    else:
        due = f"残り{left}日"
    notes = []
    if c.agent:
        notes.append("代理人請求")
    if c.missing:
        notes.append("不足: " + ", ".join(c.missing))
    if c.status == "awaiting_fee":
        notes.append(f"入金 {c.paid_yen:,}/{c.fee_yen:,}円")
    notes += [f"要注意: {f}" for f in c.flags]
    return {"id": c.id, "status": c.status, "due_on": c.due_on.isoformat(), "days_left": left, "due": due,
            "urgent": left <= DUE_SOON_DAYS, "notes": "; ".join(notes)}


def render_digest(context: dict[str, Any], lang: str = "ja") -> str:
    return render_text("digest.txt.j2", context, lang)
