"""Retention: what the policy says is no longer needed is deleted (APPI art. 22).

Three rules (policy `retention:`, see config/policies/seed.yaml):

- stored documents (ID copies, 住民票 …) go `identity_documents_days` after the case was
  verified or ended, whichever came first; an open case never verified keeps them;
- raw mails and the copies of our replies go `raw_messages_days` after they arrived and
  after their case ended (an open case keeps them); mails without a case (inquiries,
  robots, duplicates, quarantined mails) that many days after they arrived;
- `closed_cases_years` after a case ended, the names and addresses left in it (requester,
  agent, document file names, senders' addresses and Message-IDs) are replaced by
  placeholders. The case row, its ids, statuses, dates and fee, and the append-only
  audit trail stay.

`plan()` decides from plain facts (no I/O); `apply()` does it; `dry_run()` shows it. Every
change is one `retention` event per case (counts, never contents), and one with no case
for mails without a case. Re-running is harmless and a second run records nothing:
what was deleted is no longer found (a document's `stored_as` is cleared, a raw mail's
file is gone, a reply's copy is empty, a purged field holds the placeholder).

Crash safety: a document's file is deleted before the transaction that clears its
`stored_as` commits, so a crash in between leaves a row that the next run finds and
finishes. A raw mail has no row to clear, its file is its state: the event is committed
first and the file deleted after, so a crash in between repeats the deletion (and its
event) on the next run rather than losing the record of it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import casestore
from bot.app import App
from bot.db import Case, Document, InboundMessage, OutboundMessage
from bot.models import FINAL_STATUSES
from config.policy import Retention

log = logging.getLogger("madoguchi.retention")

PURGED_EMAIL = "purged@invalid"  # requester_email is NOT NULL; .invalid never delivers (RFC 2606)
PURGED_FILENAME = "(purged)"
EVENT = "retention"
ACTOR = "madoguchi"


# --- facts: plain values read from the store --------------------------------------------


@dataclass(frozen=True)
class DocumentFact:
    id: int
    digest: str | None  # the stored file (None: already deleted)
    filename_purged: bool = False


@dataclass(frozen=True)
class CaseFact:
    id: str
    verified_on: dt.date | None
    ended_on: dt.date | None  # closed, rejected or lapsed; None while open
    documents: tuple[DocumentFact, ...] = ()
    personal_data: bool = True  # names or addresses still in the case, its documents or its mails


@dataclass(frozen=True)
class MessageFact:
    """An inbound mail's ledger row and whether its raw file is still stored."""

    id: int
    sha256: str
    case_id: str | None
    outcome: str
    received_on: dt.date
    stored: bool = True
    sender_kept: bool = False  # from_addr or Message-ID still held (cases: see CaseFact.personal_data)


@dataclass(frozen=True)
class ReplyFact:
    """An outbound mail: `kept` while its copy (raw, to_addr) has not been purged."""

    id: int
    case_id: str | None
    created_on: dt.date
    status: str
    kept: bool = True


# --- the plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseAction:
    case_id: str
    documents: tuple[int, ...] = ()  # Document ids whose stored file goes
    raw_messages: tuple[str, ...] = ()  # sha256 of raw mails that go
    replies: tuple[int, ...] = ()  # OutboundMessage ids whose copy is emptied
    purge: bool = False  # names and addresses replaced by placeholders
    rules: tuple[str, ...] = ()  # the policy keys that fired

    def __bool__(self) -> bool:
        return bool(self.documents or self.raw_messages or self.replies or self.purge)


@dataclass(frozen=True)
class CaselessAction:
    raw_messages: tuple[tuple[str, str], ...] = ()  # (sha256, outcome)
    replies: tuple[int, ...] = ()
    senders: tuple[int, ...] = ()  # InboundMessage ids whose from_addr and Message-ID are purged

    def __bool__(self) -> bool:
        return bool(self.raw_messages or self.replies or self.senders)


@dataclass(frozen=True)
class RetentionPlan:
    today: dt.date
    cases: tuple[CaseAction, ...] = ()
    caseless: CaselessAction = CaselessAction()
    document_files: tuple[str, ...] = ()  # digests no kept document shares: safe to delete

    @property
    def empty(self) -> bool:
        return not self.cases and not self.caseless

    def count(self) -> dict[str, int]:
        return {
            "documents": sum(len(a.documents) for a in self.cases),
            "raw_messages": sum(len(a.raw_messages) for a in self.cases) + len(self.caseless.raw_messages),
            "replies": sum(len(a.replies) for a in self.cases) + len(self.caseless.replies),
            "cases_purged": sum(1 for a in self.cases if a.purge),
            "senders": len(self.caseless.senders),
        }


@dataclass
class RetentionResult:
    """What `apply` really changed (a stale plan may find some of it done already)."""

    documents_deleted: int = 0
    document_files_deleted: int = 0
    raw_messages_deleted: int = 0
    replies_purged: int = 0
    cases_purged: int = 0
    senders_purged: int = 0
    events: int = 0
    case_ids: list[str] = field(default_factory=list)


def add_years(day: dt.date, years: int) -> dt.date:
    """The same date `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _due(start: dt.date | None, days: int | None, today: dt.date) -> bool:
    return start is not None and days is not None and today >= start + dt.timedelta(days=days)


def plan(cases: Iterable[CaseFact], messages: Iterable[MessageFact], replies: Iterable[ReplyFact],
         today: dt.date, rules: Retention) -> RetentionPlan:
    """What has expired on `today`. Pure: the same facts give the same plan."""
    case_list = list(cases)
    by_case: dict[str | None, list[MessageFact]] = {}
    for m in messages:
        by_case.setdefault(m.case_id, []).append(m)
    replies_by_case: dict[str | None, list[ReplyFact]] = {}
    for r in replies:
        replies_by_case.setdefault(r.case_id, []).append(r)

    actions: list[CaseAction] = []
    expiring: set[str] = set()
    kept_digests: set[str] = set()
    for c in case_list:
        ended = c.ended_on
        purge_due = (ended is not None and rules.closed_cases_years is not None
                     and today >= add_years(ended, rules.closed_cases_years))
        starts = [d for d in (c.verified_on, ended) if d is not None]
        docs_due = purge_due or _due(min(starts) if starts else None, rules.identity_documents_days, today)
        stored = [d for d in c.documents if d.digest is not None]
        docs = tuple(d.id for d in stored) if docs_due else ()
        for d in stored:
            (expiring if docs_due else kept_digests).add(d.digest or "")

        def mail_due(day: dt.date, *, purge_due: bool = purge_due, ended: dt.date | None = ended) -> bool:
            return ended is not None and (purge_due or _due(max(day, ended), rules.raw_messages_days, today))

        raws = tuple(m.sha256 for m in by_case.get(c.id, []) if m.stored and mail_due(m.received_on))
        outs = tuple(r.id for r in replies_by_case.get(c.id, [])
                     if r.kept and r.status != "queued" and mail_due(r.created_on))
        purge = purge_due and c.personal_data
        if purge_due:
            fired = ["closed_cases_years"]
        else:
            fired = ["identity_documents_days"] if docs else []
            fired += ["raw_messages_days"] if raws or outs else []
        action = CaseAction(c.id, docs, raws, outs, purge, tuple(fired))
        if action:
            actions.append(action)

    # A mail whose case is unknown to the facts is treated as belonging to an open case: kept.
    loose = by_case.get(None, [])
    raw_loose = tuple((m.sha256, m.outcome) for m in loose
                      if m.stored and _due(m.received_on, rules.raw_messages_days, today))
    senders = tuple(m.id for m in loose if m.sender_kept and rules.closed_cases_years is not None
                    and today >= add_years(m.received_on, rules.closed_cases_years))
    out_loose = tuple(r.id for r in replies_by_case.get(None, [])
                      if r.kept and r.status != "queued" and _due(r.created_on, rules.raw_messages_days, today))
    return RetentionPlan(
        today=today,
        cases=tuple(actions),
        caseless=CaselessAction(raw_loose, out_loose, senders),
        document_files=tuple(sorted(expiring - kept_digests)),
    )


# --- reading the facts ------------------------------------------------------------------


def gather(app: App) -> tuple[list[CaseFact], list[MessageFact], list[ReplyFact]]:
    tz = app.clock.tz

    def day(at: dt.datetime) -> dt.date:
        return at.astimezone(tz).date()

    cases: list[CaseFact] = []
    messages: list[MessageFact] = []
    replies: list[ReplyFact] = []
    with app.session() as s:
        for c in casestore.all_cases(s):
            ended_at = (c.closed_at or c.updated_at) if c.final_status in FINAL_STATUSES else None
            docs = tuple(DocumentFact(d.id, d.stored_as, d.filename == PURGED_FILENAME) for d in c.documents)
            cases.append(CaseFact(
                id=c.id,
                verified_on=day(c.verified_at) if c.verified_at else None,
                ended_on=day(ended_at) if ended_at else None,
                documents=docs,
                personal_data=_has_personal_data(c),
            ))
        for m in s.scalars(select(InboundMessage).order_by(InboundMessage.id)):
            messages.append(MessageFact(m.id, m.sha256, m.case_id, m.outcome, day(m.received_at),
                                        stored=app.raw.has(m.sha256), sender_kept=_sender_kept(m)))
        for o in s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)):
            replies.append(ReplyFact(o.id, o.case_id, day(o.created_at), o.status,
                                     kept=bool(o.raw) or o.to_addr != PURGED_EMAIL))
    return cases, messages, replies


def _sender_kept(m: InboundMessage) -> bool:
    """A Message-ID often carries the sender's address or domain: it goes with the address."""
    return m.from_addr not in ("", PURGED_EMAIL) or m.message_id is not None


def _purge_sender(m: InboundMessage) -> None:
    if m.from_addr:
        m.from_addr = PURGED_EMAIL
    m.message_id = None


def _has_personal_data(c: Case) -> bool:
    return (c.requester_name is not None or c.requester_email != PURGED_EMAIL or c.agent_name is not None
            or any(d.filename != PURGED_FILENAME for d in c.documents)
            or any(_sender_kept(m) for m in c.inbound))


def dry_run(app: App) -> RetentionPlan:
    """What would be deleted today; nothing is changed."""
    return plan(*gather(app), app.clock.today(), app.policy.retention)


def run(app: App, *, actor: str = ACTOR) -> RetentionResult:
    """Delete what expired today and record it (the daily job, and the CLI without --dry-run)."""
    return apply(app, dry_run(app), actor=actor)


# --- doing it ---------------------------------------------------------------------------


def apply(app: App, p: RetentionPlan, *, actor: str = ACTOR) -> RetentionResult:
    """Carry out a plan, one transaction per case; what is already done is skipped."""
    result = RetentionResult()
    files = set(p.document_files)
    for action in p.cases:
        _apply_case(app, action, files, actor, result)
    if p.caseless:
        _apply_caseless(app, p.caseless, actor, result)
    if result.events:
        log.info("retention: %d documents, %d raw mails, %d reply copies deleted, %d cases purged (%d events)",
                 result.documents_deleted, result.raw_messages_deleted, result.replies_purged,
                 result.cases_purged, result.events)
    return result


def _apply_case(app: App, action: CaseAction, files: set[str], actor: str, result: RetentionResult) -> None:
    now = app.clock.now()
    raws: list[str] = []
    with app.session() as s, s.begin():
        case = s.get(Case, action.case_id)
        if case is None:
            return
        wanted = set(action.documents)
        digests: set[str] = set()
        docs = 0
        for d in case.documents:
            if d.id in wanted and d.stored_as is not None:
                digests.add(d.stored_as)
                d.stored_as = None
                docs += 1
        s.flush()
        deleted_files = 0
        for digest in sorted(digests & files):
            if not _still_referenced(s, digest):  # checked again: a new case may share the file
                app.documents.delete(digest)  # before the commit: a crash leaves the row for the next run
                deleted_files += 1
        raws = [m.sha256 for m in case.inbound if m.sha256 in set(action.raw_messages) and app.raw.has(m.sha256)]
        outs = _purge_replies(s, action.replies)
        purged = action.purge and case.final_status in FINAL_STATUSES and _purge_case(case)
        if not (docs or raws or outs or purged):
            return
        detail: dict[str, object] = {"rules": list(action.rules)}
        if docs:
            detail["documents_deleted"] = docs
        if raws:
            detail["raw_messages_deleted"] = len(raws)
        if outs:
            detail["reply_copies_deleted"] = outs
        if purged:
            detail["personal_data_purged"] = ["requester_name", "requester_email", "agent_name",
                                              "document_filenames", "senders"]
        casestore.add_event(s, case.id, now, actor, EVENT, detail)
    for sha in raws:  # after the commit: a crash repeats the deletion and its record
        app.raw.delete(sha)
    result.documents_deleted += docs
    result.document_files_deleted += deleted_files
    result.raw_messages_deleted += len(raws)
    result.replies_purged += outs
    result.cases_purged += int(purged)
    result.events += 1
    result.case_ids.append(action.case_id)


def _still_referenced(s: Session, digest: str) -> bool:
    return bool(s.scalar(select(func.count(Document.id)).where(Document.stored_as == digest)))


def _purge_replies(s: Session, ids: tuple[int, ...]) -> int:
    if not ids:
        return 0
    n = 0
    for o in s.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids))):
        if o.status == "queued" or (not o.raw and o.to_addr == PURGED_EMAIL):
            continue
        o.raw = b""
        o.to_addr = PURGED_EMAIL
        n += 1
    return n


def _purge_case(case: Case) -> bool:
    if not _has_personal_data(case):
        return False
    case.requester_name = None
    case.requester_email = PURGED_EMAIL
    case.agent_name = None
    for d in case.documents:
        d.filename = PURGED_FILENAME
    for m in case.inbound:
        _purge_sender(m)
    return True


def _apply_caseless(app: App, action: CaselessAction, actor: str, result: RetentionResult) -> None:
    now = app.clock.now()
    raws = [(sha, outcome) for sha, outcome in action.raw_messages if app.raw.has(sha)]
    with app.session() as s, s.begin():
        outs = _purge_replies(s, action.replies)
        senders = 0
        if action.senders:
            for m in s.scalars(select(InboundMessage).where(InboundMessage.id.in_(action.senders))):
                if m.case_id is None and _sender_kept(m):
                    _purge_sender(m)
                    senders += 1
        if not (raws or outs or senders):
            return
        detail: dict[str, object] = {}
        if raws:
            detail["raw_messages_deleted"] = len(raws)
            detail["by_outcome"] = dict(sorted(Counter(o for _, o in raws).items()))
        if outs:
            detail["reply_copies_deleted"] = outs
        if senders:
            detail["senders_purged"] = senders
        casestore.add_event(s, None, now, actor, EVENT, detail)
    for sha, _ in raws:
        app.raw.delete(sha)
    result.raw_messages_deleted += len(raws)
    result.replies_purged += outs
    result.senders_purged += senders
    result.events += 1


# --- for people -------------------------------------------------------------------------


def describe(p: RetentionPlan) -> list[str]:
    """Lines for the CLI: counts and case ids, never names or addresses."""
    if p.empty:
        return [f"retention {p.today.isoformat()}: nothing has expired"]
    n = p.count()
    lines = [f"retention {p.today.isoformat()}: {n['documents']} documents, {n['raw_messages']} raw mails, "
             f"{n['replies']} reply copies, {n['cases_purged']} cases to purge of names and addresses"]
    for a in p.cases:
        parts = []
        if a.documents:
            parts.append(f"{len(a.documents)} documents")
        if a.raw_messages:
            parts.append(f"{len(a.raw_messages)} raw mails")
        if a.replies:
            parts.append(f"{len(a.replies)} reply copies")
        if a.purge:
            parts.append("names and addresses purged")
        lines.append(f"  {a.case_id}: {', '.join(parts)}  ({', '.join(a.rules)})")
    c = p.caseless
    if c:
        by = Counter(o for _, o in c.raw_messages)
        outcomes = ", ".join(f"{o} {k}" for o, k in sorted(by.items()))
        parts = [f"{len(c.raw_messages)} raw mails" + (f" ({outcomes})" if outcomes else "")]
        if c.replies:
            parts.append(f"{len(c.replies)} reply copies")
        if c.senders:
            parts.append(f"{len(c.senders)} sender addresses purged")
        lines.append(f"  without a case: {', '.join(parts)}")
    return lines
