"""What staff see in a terminal: Rich tables on a terminal, plain lines when piped."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from bot import casestore
from bot.app import App
from bot.case_clock import deadline_of
from bot.db import Case, InboundMessage
from bot.deadlines import Deadline
from bot.export import case_to_json
from bot.models import FINAL_STATUSES
from bot.payments_import import WHAT_TO_DO, ImportReport
from bot.replying import DISCLOSURE_METHOD_LABELS
from bot.runner import PassReport


def _console() -> Console:
    return Console(highlight=False, markup=False, soft_wrap=True, force_terminal=None if sys.stdout.isatty() else False)


def print_pass_report(app: App, report: PassReport) -> None:
    """The summary of one pass: counts, the cases touched and the replies written."""
    out = _console()
    r = report
    out.print(
        f"messages: {len(r.results)} — requests {r.count('request')}, follow-ups {r.count('followup')}, "
        f"inquiries {r.count('inquiry')}, robots {r.count('robot')}, duplicates {r.count('duplicate')}, "
        f"quarantined {r.count('quarantined')}"
    )
    touched = [x.case_id for x in r.results if x.case_id]
    with app.session() as s:
        for case_id in dict.fromkeys(touched):
            case = casestore.get_case(s, case_id)
            if case is None:
                continue
            missing = f" missing {','.join(case.missing)}" if case.missing else ""
            out.print(f"  case {case.id}: {case.status}, {','.join(case.request_types)}, "
                      f"fee {case.fee_yen:,} yen{missing}")
    d = r.delivery
    out.print(f"replies: {d.sent} delivered, {d.retry} to retry, {d.failed} failed")


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    overdue: bool = False
    due_within: int | None = None
    agent: bool = False
    open_only: bool = False

    def keeps(self, case: Case, deadline: Deadline | None) -> bool:
        if self.status is not None and case.status != self.status:
            return False
        if self.open_only and case.status in FINAL_STATUSES:
            return False
        if self.agent and not case.agent_present:
            return False
        running = deadline is not None and not deadline.stopped
        if self.overdue and not (running and deadline is not None and deadline.days_left < 0):
            return False
        return self.due_within is None or (running and deadline is not None
                                           and deadline.days_left <= self.due_within)


def case_deadline(app: App, case: Case) -> Deadline | None:
    """The deadline of an open case seen from today; None once it has ended."""
    if case.status in FINAL_STATUSES:
        return None
    return deadline_of(case, app.policy, app.clock.today(), app.clock.tz)


def due_text(deadline: Deadline | None) -> str:
    if deadline is None:
        return "-"
    if deadline.stopped:
        return f"stopped ({deadline.days_left}d left)"
    if deadline.days_left < 0:
        return f"OVERDUE {-deadline.days_left}d"
    return f"{deadline.days_left}d left"


def list_cases(app: App, which: CaseFilter, fmt: str) -> None:
    with app.session() as s:  # streamed: 100,000 cases need no memory unless shown as a table
        listed = ((case_to_json(case, d), d) for case in casestore.iter_cases(s)
                  for d in (case_deadline(app, case),) if which.keeps(case, d))
        if fmt == "json":
            write_json_array(c for c, _ in listed)
            return
        header = ("id", "status", "types", "fee", "due", "left", "agent", "missing", "flags")
        lines = ((_list_line(c, d), d) for c, d in listed)
        if sys.stdout.isatty():
            _print_table(app, header, list(lines))
            return
        print("\t".join(header))
        for line, _ in lines:  # piped: whole values, one case a line, for grep and awk
            print("\t".join(line))


def _list_line(c: dict[str, Any], deadline: Deadline | None) -> tuple[str, ...]:
    return (c["id"], c["status"], ",".join(c["request_types"]), f"{c['fee_yen']:,}", c["due_on"], due_text(deadline),
            "agent" if c["agent"] else "-", ",".join(c["missing"]) or "-", ",".join(c["flags"]) or "-")


def write_json_array(items: Iterable[dict[str, Any]]) -> None:
    """The same text as `json.dumps(list(items), indent=2)`, written an item at a time."""
    out = sys.stdout
    out.write("[")
    wrote = False
    for item in items:
        text = json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        out.write(("," if wrote else "") + "\n  " + text)
        wrote = True
    out.write("\n]\n" if wrote else "]\n")


def _print_table(app: App, header: tuple[str, ...], rows: list[tuple[tuple[str, ...], Deadline | None]]) -> None:
    table = Table(*header, box=None)
    for line, d in rows:
        overdue = d is not None and not d.stopped and d.days_left < 0
        soon = d is not None and not d.stopped and d.days_left <= app.policy.deadline.due_soon_days
        table.add_row(*line, style="bold red" if overdue else "yellow" if soon else None)
    _console().print(table)


def show_case(app: App, case_id: str) -> bool:
    out = _console()
    with app.session() as s:
        case = casestore.get_case(s, case_id)
        if case is None:
            return False
        deadline = case_deadline(app, case)
        c = case_to_json(case, deadline)
        out.print(f"case {c['id']}  {c['status']}  due {c['due_on']} ({due_text(deadline)})"
                  + (f"  outcome {case.outcome}" if case.outcome else ""))
        if case.waiting_since:
            reminded = f", reminded {case.reminded_on}" if case.reminded_on else ", not reminded yet"
            out.print(f"  waiting on the requester since {case.waiting_since}{reminded}")
        out.print(f"  requester: {c['requester']['name'] or '-'} <{c['requester']['email']}>")
        if c["agent"]:
            out.print(f"  agent: {c['agent']['type'] or 'type not stated'} {c['agent']['name'] or ''}")
        out.print(f"  requests: {', '.join(c['request_types'])}; fee {c['fee_yen']:,} yen, paid {c['paid_yen']:,}")
        method = DISCLOSURE_METHOD_LABELS.get(c["disclosure_method"] or "", "")
        out.print(f"  disclosure method: {c['disclosure_method'] or 'not chosen'} {method}".rstrip()
                  + f"; replies in {case.lang}")
        out.print(f"  missing: {', '.join(c['missing']) or 'nothing'}; flags: {', '.join(c['flags']) or 'none'}")
        out.print("  documents:")
        for d in c["documents"]:
            out.print(f"    {d['kind']:<40} {d['holder']:<10} {d['filename']}")
        out.print("  messages:")
        for m in c["messages"]:
            status = f" [{m['status']}]" if "status" in m else ""
            out.print(f"    {m['direction']:<3} {m['kind']:<18} {m['message_id']}{status}")
        out.print("  audit trail:")
        for e in case.events:
            at = e.at.astimezone(app.clock.tz)
            detail = json.dumps(e.detail, ensure_ascii=False)
            out.print(f"    {at:%Y-%m-%d %H:%M:%S}  {e.actor:<12} {e.type:<16} {detail}")
    return True


def list_quarantine(app: App) -> None:
    out = _console()
    with app.session() as s:
        rows = casestore.quarantined(s)
        if not rows:
            out.print("no quarantined messages")
        for m in rows:
            out.print(f"{m.sha256[:16]}  {m.received_at.isoformat()}  step={m.step}  reason={m.reason}  "
                      f"mailbox={m.mailbox_key}")


def replay(app: App, sha_prefix: str) -> bool:
    """Forget the quarantine entry and run the stored bytes through the pipeline again."""
    from bot.mailbox import Incoming
    from bot.pipeline import handle

    with app.session() as s, s.begin():
        rows = [m for m in casestore.quarantined(s) if m.sha256.startswith(sha_prefix)]
        if len(rows) != 1:
            return False
        row: InboundMessage = rows[0]
        digest, key = row.sha256, row.mailbox_key or row.sha256
        if not app.raw.has(digest):
            # The retention period has passed and the stored mail was deleted: nothing to replay.
            _console().print(f"{digest[:16]}: the stored mail was deleted by the retention policy; "
                             "ask the sender to send it again")
            return True
        s.delete(row)
    raw = app.raw.get(digest)
    result = handle(app, Incoming(key=key, raw=raw), mark_mailbox=False)
    from bot.delivery import deliver_queued

    deliver_queued(app)
    _console().print(f"replayed {digest[:16]}: {result.outcome} {result.case_id or ''}")
    return True


def print_import_report(report: ImportReport, *, dry_run: bool) -> None:
    """One line per transfer by its line in the file (no payer names: staff have the file)."""
    out = _console()
    counts = ", ".join(f"{o} {report.count(o)}" for o in WHAT_TO_DO if report.count(o))
    out.print(f"{report.format} statement: {len(report.matches)} deposits ({counts or 'none'}), "
              f"{len(report.skipped)} lines skipped")
    for m in report.matches:
        t = m.transfer
        owed = f" owed {m.outstanding_yen:,}" if m.outstanding_yen is not None else ""
        note = "would be recorded" if dry_run and m.outcome == "matched" else WHAT_TO_DO[m.outcome]
        out.print(f"  line {t.line:>5}  {t.booked_on}  {t.amount_yen:>9,} yen  {m.outcome:<17} "
                  f"{m.case_id or '-':<14}{owed}  {note}")
    for sk in report.skipped:
        out.print(f"  line {sk.line:>5}  skipped: {sk.reason}")
    if dry_run:
        out.print("dry run: nothing was recorded")
