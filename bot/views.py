"""What staff see in a terminal: Rich tables on a terminal, plain lines when piped."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table

from bot import casestore
from bot.app import App
from bot.db import InboundMessage
from bot.export import case_to_json
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


def list_cases(app: App, status: str | None, fmt: str) -> None:
    with app.session() as s:
        cases = [c for c in casestore.all_cases(s) if status is None or c.status == status]
        rows = [case_to_json(c) for c in cases]
    if fmt == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    header = ("id", "status", "types", "fee", "due", "missing", "flags")
    lines = [(c["id"], c["status"], ",".join(c["request_types"]), f"{c['fee_yen']:,}", c["due_on"],
              ",".join(c["missing"]) or "-", ",".join(c["flags"]) or "-") for c in rows]
    if not sys.stdout.isatty():  # piped: whole values, one case a line, for grep and awk
        for line in (header, *lines):
            print("\t".join(line))
        return
    table = Table(*header, box=None)
    for line in lines:
        table.add_row(*line)
    _console().print(table)


def show_case(app: App, case_id: str) -> bool:
    out = _console()
    with app.session() as s:
        case = casestore.get_case(s, case_id)
        if case is None:
            return False
        c = case_to_json(case)
        out.print(f"case {c['id']}  {c['status']}  due {c['due_on']}")
        out.print(f"  requester: {c['requester']['name'] or '-'} <{c['requester']['email']}>")
        if c["agent"]:
            out.print(f"  agent: {c['agent']['type'] or 'type not stated'} {c['agent']['name'] or ''}")
        out.print(f"  requests: {', '.join(c['request_types'])}; fee {c['fee_yen']:,} yen, paid {c['paid_yen']:,}")
        out.print(f"  disclosure method: {c['disclosure_method'] or 'not chosen'}")
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
        s.delete(row)
    raw = app.raw.get(digest)
    result = handle(app, Incoming(key=key, raw=raw), mark_mailbox=False)
    from bot.delivery import deliver_queued

    deliver_queued(app)
    _console().print(f"replayed {digest[:16]}: {result.outcome} {result.case_id or ''}")
    return True
