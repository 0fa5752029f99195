"""The staff digest: pure, from case summaries to the text (and HTML) staff read each morning.

It names case ids, what each waits for, what staff do next and the days left, never requester
documents, and no more personal data than staff need to act (no names, no requester addresses;
an inquiry shows the sender's address only, so that staff find the mail in the inbox).

The HTML part is rendered by its own autoescaping environment: a quarantine reason or an
inquiry address is data, never markup.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.deadlines import WAITING_ON_REQUESTER
from replies.render import render_text

WAITING_ON = {
    "awaiting_documents": "ご請求者の書類待ち",
    "awaiting_fee": "手数料の入金待ち",
    "awaiting_verification": "本人確認待ち（担当者）",
    "in_progress": "回答準備中（担当者）",
}
ORDER = tuple(WAITING_ON)
DUE_SOON_DAYS = 3  # the default of policy.deadline.due_soon_days

DISCLOSURE_METHODS = {"electronic": "電磁的記録", "paper": "書面", "other": "その他の方法"}
STATUS_LABELS = {**WAITING_ON, "closed": "終了", "rejected": "不受理・拒否"}

# Short notes for the case flags (docs/operations.md "Flags on a case" says what each asks of staff).
FLAG_NOTES = {
    "my_number_detected": "マイナンバー記載あり（マスク済み・再依頼しない）",
    "insurance_number_unmasked": "保険証の番号記載あり（マスク済み）",
    "unreadable_attachment": "読めない添付あり（再送依頼済み）",
    "sender_unverified": "送信元未確認（別経路でご請求者を確認）",
    "form_needs_confirmation": "請求書の読取結果を画像と照合",
}

# Missing codes as staff say them (the policy's labels are the long sentences requesters read).
MISSING_NOTES = {
    "request_form": "請求書",
    "identity_document": "本人確認書類",
    "resident_record": "住民票",
    "principal_identity_document": "本人の本人確認書類",
    "agent_identity_document": "代理人の本人確認書類",
    "principal_resident_record": "本人の住民票",
    "family_register": "戸籍謄本",
    "guardianship_ruling": "後見の審判書等",
    "power_of_attorney": "委任状",
    "seal_certificate": "印鑑登録証明書",
    "qualification_proof": "資格証明",
    "agent_authority": "代理権の記載",
}


def missing_note(code: str) -> str:
    return MISSING_NOTES.get(code, code)


_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


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
    days_left: int | None = None  # counted days (bot.case_clock.deadline_of); None: calendar days to due_on
    stopped: bool = False  # the clock stands while the case waits on the requester
    waiting_since: dt.date | None = None
    reminded_on: dt.date | None = None
    request_types: tuple[str, ...] = ()
    disclosure_method: str | None = None  # electronic / paper / other, as the requester chose


@dataclass(frozen=True)
class DigestItem:
    """Something staff must look at that is not a case (a quarantined mail, an inquiry, a failed reply)."""

    ref: str
    at: dt.datetime
    note: str


def flag_note(flag: str) -> str:
    return FLAG_NOTES.get(flag, flag)


def without_addresses(text: str) -> str:
    """A delivery error quotes the recipient; the digest names the case instead."""
    return _ADDRESS.sub("…", text)


def digest_context(cases: list[DigestCase], today: dt.date, *, since: dt.datetime | None,
                   quarantined: list[DigestItem], inquiries: list[DigestItem],
                   failed_replies: list[DigestItem], due_soon_days: int = DUE_SOON_DAYS,
                   since_label: str | None = None) -> dict[str, Any]:
    """Everything the digest templates show. `since` is the last digest (None: no new-case list)."""
    open_cases = [c for c in cases if c.status in WAITING_ON]
    rows = {c.id: _row(c, today, due_soon_days) for c in open_cases}
    groups: list[dict[str, Any]] = []
    for status in ORDER:
        members = sorted((rows[c.id] for c in open_cases if c.status == status),
                         key=lambda r: (r["stopped"], r["days_left"], r["due_on"], r["id"]))
        groups.append({"status": status, "label": WAITING_ON[status], "cases": members})
    new = [_new_row(c) for c in cases if since is not None and c.created_at >= since]
    overdue = [r["id"] for g in groups for r in g["cases"] if r["overdue"]]
    due_soon = [r["id"] for g in groups for r in g["cases"] if r["due_soon"]]
    return {
        "today": today,
        "since": since,
        "since_label": since_label or (f"{since:%Y-%m-%d %H:%M} 以降" if since is not None else ""),
        "groups": groups,
        "open_count": len(open_cases),
        "new_cases": new,
        "overdue": overdue,
        "due_soon": due_soon,
        "due_soon_days": due_soon_days,
        "quarantined": quarantined,
        "inquiries": inquiries,
        "failed_replies": failed_replies,
    }


def _due_text(left: int, stopped: bool) -> str:
    if stopped:
        return f"期限停止中（残り{max(left, 0)}日）"
    if left < 0:
        return f"期限超過 {-left}日"
    if left == 0:
        return "本日期限"
    return f"残り{left}日"


def next_step(c: DigestCase) -> tuple[str, tuple[str, ...], str]:
    """What staff do next for the case: a short label, the commands to type, how they join."""
    if c.status == "awaiting_documents":
        return "書類待ち（届けば自動で再判定。催促も自動）", (), ""
    if c.status == "awaiting_fee":
        owed = max(c.fee_yen - c.paid_yen, 0)
        return "入金確認", (f"madoguchi cases record-payment {c.id} --amount {owed}",
                           "madoguchi payments import FILE"), " / "
    if c.status == "awaiting_verification":
        return "本人確認", (f"madoguchi cases show {c.id}", f"madoguchi cases verify {c.id}"), " → "
    if c.status == "in_progress":
        method = DISCLOSURE_METHODS.get(c.disclosure_method or "")
        if method:
            label = f"回答（{method}で送付後に）"
        elif {"disclose", "disclose_third_party_records"} & set(c.request_types):
            label = "回答（開示方法の指定なし：ご請求者に確認）"
        else:
            label = "回答（対応後に）"
        return label, (f"madoguchi cases close {c.id} --outcome …",), ""
    return "", (), ""


def _row(c: DigestCase, today: dt.date, due_soon_days: int) -> dict[str, Any]:
    left = c.days_left if c.days_left is not None else (c.due_on - today).days
    overdue = not c.stopped and left < 0
    due_soon = not c.stopped and 0 <= left <= due_soon_days
    fee = f"入金 {c.paid_yen:,}/{c.fee_yen:,}円" if c.status == "awaiting_fee" else ""
    flags = [flag_note(f) for f in c.flags]
    notes = ["代理人請求"] if c.agent else []
    if c.missing:
        notes.append("不足: " + "、".join(missing_note(m) for m in c.missing))
    if fee:
        notes.append(fee)
    notes += [f"要注意: {f}" for f in flags]
    label, commands, joiner = next_step(c)
    waiting = ""
    if c.status in WAITING_ON_REQUESTER:
        if c.waiting_since is not None:
            waiting = f"待機 {(today - c.waiting_since).days}日（{c.waiting_since.isoformat()}から）"
        reminder = f"催促 {c.reminded_on.isoformat()} 送付済み" if c.reminded_on else "催促 未送信"
        waiting = f"{waiting}・{reminder}" if waiting else reminder
    return {
        "id": c.id, "status": c.status, "due_on": c.due_on.isoformat(), "days_left": left,
        "due": _due_text(left, c.stopped), "stopped": c.stopped, "overdue": overdue, "due_soon": due_soon,
        "urgent": overdue or due_soon,
        "next": f"{label}: {joiner.join(commands)}" if commands else label,
        "next_label": label, "commands": list(commands), "joiner": joiner.strip(),
        "waiting": waiting, "agent": c.agent, "missing": [missing_note(m) for m in c.missing], "fee": fee,
        "flags": flags,
        "notes": "; ".join(notes),
    }


def _new_row(c: DigestCase) -> dict[str, Any]:
    return {"id": c.id, "status": c.status, "status_label": STATUS_LABELS.get(c.status, c.status),
            "types": ", ".join(c.request_types), "agent": c.agent, "flags": [flag_note(f) for f in c.flags],
            "at": c.created_at}


def render_digest(context: dict[str, Any], lang: str = "ja") -> str:
    return render_text("digest.txt.j2", context, lang).rstrip("\n") + "\n"


@functools.lru_cache(maxsize=8)
def _html_environment(lang: str) -> Environment:
    return Environment(loader=PackageLoader("replies", f"templates/{lang}"), undefined=StrictUndefined,
                       autoescape=True, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


def render_digest_html(context: dict[str, Any], lang: str = "ja") -> str:
    return _html_environment(lang).get_template("digest.html.j2").render(**context)
