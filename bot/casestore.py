"""Queries and changes of the case store. Callers own the transaction (one per message).

Nothing here decides anything: the policy decides, this module records.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, selectinload

from bot.db import Case, CaseCounter, CaseEvent, Document, InboundMessage, OutboundMessage, Payment
from bot.models import CaseFacts, DocumentFact, Holder

# The queries made for every message, built once with bound parameters: building a
# statement and its cache key again on each call cost about as much as running it. Those
# that answer a yes, a count or one value run on the session's connection as plain SQL:
# the ORM's execution path (events, entity loading) cost three times the query itself.
_OUTCOME_BY_SHA = select(InboundMessage.outcome).where(InboundMessage.sha256 == bindparam("sha"))
_INBOUND_BY_MESSAGE_ID = (
    select(InboundMessage.id)
    .where(InboundMessage.message_id == bindparam("message_id"), InboundMessage.from_addr == bindparam("from_addr"))
    .where(InboundMessage.outcome != "quarantined")
    .limit(1)
)
_AUTO_REPLIES_SINCE = select(func.count(OutboundMessage.id)).where(
    OutboundMessage.to_addr == bindparam("to_addr"),
    OutboundMessage.automatic.is_(True),
    OutboundMessage.created_at >= bindparam("since", type_=OutboundMessage.created_at.type),
)
_OUTBOUND_BY_MESSAGE_ID = select(OutboundMessage.id).where(OutboundMessage.message_id == bindparam("message_id"))


def inbound_outcome(s: Session, sha: str) -> str | None:
    """The ledger's outcome for these bytes (None: never seen), rows not flushed yet included."""
    pending = next((m for m in _pending(s, InboundMessage) if m.sha256 == sha), None)
    if pending is not None:
        return str(pending.outcome)
    known = _known(s)
    if known is not None and sha in known.shas:
        return known.outcomes.get(sha)
    outcome = s.connection().execute(_OUTCOME_BY_SHA, {"sha": sha}).scalar()
    return None if outcome is None else str(outcome)


def message_id_seen(s: Session, message_id: str, from_addr: str) -> bool:
    """The same Message-ID from the same sender is the same message, re-sent or re-delivered."""
    if any(m.message_id == message_id and m.from_addr == from_addr and m.outcome != "quarantined"
           for m in _pending(s, InboundMessage)):
        return True
    known = _known(s)
    if known is not None and message_id in known.message_ids:
        return from_addr in known.senders.get(message_id, ())
    found = s.connection().execute(_INBOUND_BY_MESSAGE_ID, {"message_id": message_id, "from_addr": from_addr})
    return found.first() is not None


def _pending(s: Session, kind: type[Any]) -> list[Any]:
    """Rows of `kind` this transaction added and the lookups here cannot find by SQL, or
    must not ask SQL for: those not flushed yet and, when its lookups were made ahead
    (`look_ahead`), those flushed since.

    With autoflush on there are no unflushed rows when a query runs; the group commit of
    mail turns it off (`pipeline.handle_batch`). The lookups run beside the ORM, which would
    not flush for them: they look here.
    """
    known = _known(s)
    if known is not None and kind in known.added:
        return known.added[kind]
    return [o for o in s.new if isinstance(o, kind)]


@dataclass
class _Known:
    """What a group's transaction holds in hand: the stored rows' answers to its lookups,
    asked for the whole group at once, and what it gave out itself (rows, case numbers, ids)."""

    shas: set[str]
    outcomes: dict[str, str]  # sha256 → outcome, for those of `shas` in the ledger
    message_ids: set[str]
    senders: dict[str, set[str]]  # message_id → senders with a mail of that id, not quarantined
    to_addrs: set[str]
    since: dt.datetime
    auto_replies: dict[str, list[dt.datetime]]  # to_addr → creation times of automatic replies since `since`
    added: dict[type[Any], list[Any]] = field(default_factory=dict)  # ledger rows, replies added since, flushed or not
    opened: set[str] = field(default_factory=set)  # cases opened in this transaction: their replies are all here
    counters: dict[str, int] = field(default_factory=dict)  # day → the last case number given out in hand
    ids: dict[str, Iterator[int]] = field(default_factory=dict)  # table → the row ids it gives out in hand


_KNOWN = "madoguchi.known"


def look_ahead(s: Session, shas: Iterable[str], senders: Iterable[tuple[str | None, str]], since: dt.datetime) -> None:
    """Answer the ledger, Message-ID and reply-cap lookups of a group of mails with three
    queries, made when its transaction begins, instead of three per mail.

    `senders`: each mail's (Message-ID, From address); `since`: the earliest time the
    reply cap will count from. A lookup for anything not asked here still goes to SQL. The
    answers hold for the transaction: rows it adds are looked up in hand (`_pending`), and
    no one else writes meanwhile (SQLite's write lock; on PostgreSQL a concurrent ledger row
    fails the group's commit on its unique digest, and the group is redone mail by mail).
    """
    shas, pairs = set(shas), list(senders)
    ids = {m for m, _ in pairs if m}
    addrs = {a for _, a in pairs if a}
    conn = s.connection()
    outcomes = dict(conn.execute(select(InboundMessage.sha256, InboundMessage.outcome)
                                 .where(InboundMessage.sha256.in_(shas))).all()) if shas else {}
    found: dict[str, set[str]] = {}
    if ids:
        for mid, addr in conn.execute(select(InboundMessage.message_id, InboundMessage.from_addr)
                                      .where(InboundMessage.message_id.in_(ids),
                                             InboundMessage.outcome != "quarantined")):
            found.setdefault(str(mid), set()).add(addr)
    replies: dict[str, list[dt.datetime]] = {}
    if addrs:
        for addr, at in conn.execute(select(OutboundMessage.to_addr, OutboundMessage.created_at)
                                     .where(OutboundMessage.to_addr.in_(addrs),
                                            OutboundMessage.automatic.is_(True),
                                            OutboundMessage.created_at >= since)):
            replies.setdefault(addr, []).append(at)
    added = {k: [o for o in s.new if isinstance(o, k)] for k in (InboundMessage, OutboundMessage)}
    s.info[_KNOWN] = _Known(shas, {k: str(v) for k, v in outcomes.items()}, ids, found, addrs, since, replies, added)


def next_id(s: Session, kind: type[InboundMessage] | type[OutboundMessage]) -> int | None:
    """The id of a new ledger row or reply, given in hand in a group (`look_ahead`); None
    elsewhere, where the database gives it at the insert.

    The ORM inserts rows whose ids the database makes one INSERT … RETURNING at a time
    (SQLite cannot say which id went to which row of a many-row insert); rows that come
    with their ids go in one executemany. On SQLite the group holds the write lock, so the
    ids after the largest stored one are its own; PostgreSQL hands out a block of its
    sequence (ids a rollback leaves unused are gaps, as they would be anyway).
    """
    known = _known(s)
    if known is None:
        return None
    table = kind.__tablename__
    if table not in known.ids:
        known.ids[table] = _free_ids(s, table)
    return next(known.ids[table])


_ID_BLOCK = 64  # ids taken from a PostgreSQL sequence at a time


def _free_ids(s: Session, table: str) -> Iterator[int]:
    """Ids for new rows of `table` (one of ours, named in code): those after the largest
    stored, or blocks of its sequence on PostgreSQL (asked for only as they are used)."""
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        block = f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, {_ID_BLOCK})"
        while True:
            yield from (int(i) for i in conn.exec_driver_sql(block).scalars())
    largest = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar()
    yield from itertools.count(int(largest or 0) + 1)


def _known(s: Session) -> _Known | None:
    known: _Known | None = s.info.get(_KNOWN)
    return known


@event.listens_for(Session, "transient_to_pending")
def _keep_added(s: Session, instance: Any) -> None:
    known = _known(s)
    if known is not None and type(instance) in known.added:
        known.added[type(instance)].append(instance)


def cases_referenced(s: Session, message_ids: tuple[str, ...]) -> list[str]:
    """Case ids of our replies (or of the case's own mails) that a message refers to."""
    if not message_ids:
        return []
    out = s.scalars(select(OutboundMessage.case_id).where(OutboundMessage.message_id.in_(message_ids)))
    inn = s.scalars(select(InboundMessage.case_id).where(InboundMessage.message_id.in_(message_ids)))
    seen: list[str] = []
    for cid in [*out, *inn]:
        if cid and cid not in seen:
            seen.append(cid)
    return seen


def get_case(s: Session, case_id: str, *, lock: bool = False) -> Case | None:
    """`lock=True` for a change: on PostgreSQL the row stays locked until the transaction ends,
    so a worker's follow-up and a staff action on the same case happen one after the other."""
    return s.get(Case, case_id, with_for_update=lock or None, populate_existing=lock)


def new_case_id(s: Session, today: dt.date) -> str:
    """Readable, stable ids (20250602-001): staff quote them on the phone and in bank transfers.

    The day's counter is raised and read in one UPDATE … RETURNING, which also locks its row
    until the case's transaction ends: several workers open cases at once on PostgreSQL, and
    take numbers one after another. The first case of a day creates the row; of two workers
    racing for that, one meets the unique day and raises the row the other made.

    A group of mail (`look_ahead`) holds that lock from its first case to its commit, so
    its later cases count on in hand and the counter is written once, before the commit.
    """
    day = today.strftime("%Y%m%d")
    known = _known(s)
    if known is not None and day in known.counters:  # this transaction holds the day's counter
        raised = known.counters[day] = known.counters[day] + 1
        known.opened.add(f"{day}-{raised:03d}")
        return f"{day}-{raised:03d}"
    last = s.connection().execute(_RAISE_COUNTER, {"of_day": day}).scalar()
    if last is None:
        try:
            with s.begin_nested():
                s.connection().execute(_NEW_COUNTER, {"of_day": day})
        except IntegrityError:
            pass
        last = s.connection().execute(_RAISE_COUNTER, {"of_day": day}).scalar()
        assert last is not None
    case_id = f"{day}-{last:03d}"
    if known is not None:
        known.opened.add(case_id)  # a number just raised: nothing outside this transaction has it
        known.counters[day] = last  # and the counter's row stays locked until it ends: count on here
    return case_id


_SET_COUNTER = update(CaseCounter).where(CaseCounter.day == bindparam("of_day")).values(last=bindparam("last"))


def _write_counters(s: Session) -> None:
    """The numbers given out in hand (`new_case_id` with `look_ahead`), written before the commit."""
    known = _known(s)
    if known is not None and known.counters:
        s.connection().execute(_SET_COUNTER, [{"of_day": d, "last": n} for d, n in known.counters.items()])
        known.counters.clear()


_RAISE_COUNTER = (update(CaseCounter).where(CaseCounter.day == bindparam("of_day"))
                  .values(last=CaseCounter.last + 1).returning(CaseCounter.last))
_NEW_COUNTER = insert(CaseCounter).values(day=bindparam("of_day"), last=0)


def case_facts(case: Case) -> CaseFacts:
    return CaseFacts(
        request_types=frozenset(case.request_types),
        agent_present=case.agent_present,
        agent_type=case.agent_type,
        documents=tuple(
            DocumentFact(kind=d.kind, holder=_holder(d.holder), issued_on=d.issued_on) for d in case.documents
        ),
        paid_yen=case.paid_yen,
        verified=case.verified_at is not None,
        final_status=case.final_status,
        fee_notice_sent=case.fee_notice_sent,
        form_received=any(d.kind == "request_form" for d in case.documents),
    )


def _holder(value: str) -> Holder:
    if value in ("principal", "agent"):
        return value  # type: ignore[return-value]
    return "unknown"


def add_event(s: Session, case_id: str | None, at: dt.datetime, actor: str, type_: str,
              detail: dict[str, Any] | None = None) -> None:
    row: dict[str, Any] = {"case_id": case_id, "at": at, "actor": actor, "type": type_, "detail": detail or {}}
    deferred = s.info.get(_DEFERRED_EVENTS)
    if deferred is None or s.in_nested_transaction():
        write_deferred_events(s)  # keeps the events in the order they were added
        s.add(CaseEvent(**row))
    else:
        deferred.append(row)


_DEFERRED_EVENTS = "madoguchi.deferred_events"


def defer_events(s: Session) -> None:
    """Write this transaction's audit events together, in one executemany, when it commits.

    The ORM writes each event with an INSERT … RETURNING of its own at flush (SQLite cannot
    return the ids of a many-row insert in a known order), four or five per message. The
    events are the same rows, in the same order, in the same transaction: an ORM query made
    with autoflush on writes them first, as autoflush would have, and a rollback drops them.
    With autoflush off (the group commit of mail) they wait for the commit: one insert a group.
    """
    s.info[_DEFERRED_EVENTS] = []


def write_deferred_events(s: Session) -> None:
    """Write the events `defer_events` kept back (after the rows they refer to)."""
    rows = s.info.get(_DEFERRED_EVENTS)
    if not rows:
        return
    s.info[_DEFERRED_EVENTS] = []
    s.flush()
    s.execute(_INSERT_EVENTS, rows)


_INSERT_EVENTS = insert(CaseEvent)


@event.listens_for(Session, "before_commit")
def _held_back_before_commit(s: Session) -> None:
    """What a transaction kept in hand goes to the store: its audit events, its case counters."""
    write_deferred_events(s)
    _write_counters(s)


@event.listens_for(Session, "do_orm_execute")
def _events_before_query(state: ORMExecuteState) -> None:
    if state.session.autoflush and state.session.info.get(_DEFERRED_EVENTS):
        write_deferred_events(state.session)


@event.listens_for(Session, "after_transaction_end")
def _held_back_dropped_at_end(s: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (written above) or rolled back (dropped)
        s.info.pop(_DEFERRED_EVENTS, None)
        s.info.pop(_KNOWN, None)  # the answers looked up ahead hold for one transaction


def auto_replies_since(s: Session, to_addr: str, since: dt.datetime) -> int:
    """Automatic replies to `to_addr` created since `since`, those queued in this transaction included."""
    pending = _pending_outbound(s)
    known = _known(s)
    if known is not None and to_addr in known.to_addrs and since >= known.since:
        stored = sum(1 for at in known.auto_replies.get(to_addr, ()) if at >= since)
    else:
        stored = int(s.connection().execute(_AUTO_REPLIES_SINCE, {"to_addr": to_addr, "since": since}).scalar() or 0)
    return stored + sum(1 for o in pending
                        if o.to_addr == to_addr and o.automatic is not False and o.created_at >= since)


def outbound_exists(s: Session, message_id: str, case_id: str | None = None) -> bool:
    """Whether a reply with this Message-ID is stored or queued in this transaction.

    A reply of `case_id`, when that case was opened in this transaction (and its lookups
    made ahead), can only be among the rows in hand.
    """
    if any(o.message_id == message_id for o in _pending_outbound(s)):
        return True
    known = _known(s)
    if known is not None and case_id in known.opened:
        return False
    return s.connection().execute(_OUTBOUND_BY_MESSAGE_ID, {"message_id": message_id}).first() is not None


def _pending_outbound(s: Session) -> list[OutboundMessage]:
    """Replies added to the session and not yet flushed; the queries above read the rest.

    They run without autoflush: otherwise each would flush the message's rows so far (the
    case, its ledger row and events) in a unit of work of its own, and the commit flush
    again; one flush per message is cheaper. A reply changed or deleted since the last
    flush is flushed first, so that the query reads what the session holds.
    """
    if any(isinstance(o, OutboundMessage) for o in (*s.dirty, *s.deleted)):
        s.flush()
    return _pending(s, OutboundMessage)


def queued_outbound(s: Session) -> list[OutboundMessage]:
    return list(s.scalars(select(OutboundMessage).where(OutboundMessage.status == "queued")
                          .order_by(OutboundMessage.id)))


def all_cases(s: Session) -> list[Case]:
    return list(iter_cases(s))


def iter_cases(s: Session, batch: int = 1000) -> Iterator[Case]:
    """Every case, oldest first, with its documents and mails loaded a batch at a time.

    One query per relationship per batch instead of three per case (a lazy load each), and
    never the whole store in memory: the export of 100,000 cases streams.
    """
    q = (select(Case).order_by(Case.created_at, Case.id)
         .options(selectinload(Case.documents), selectinload(Case.inbound), selectinload(Case.outbound))
         .execution_options(yield_per=batch))
    yield from s.scalars(q)


def latest_inbound(case: Case) -> InboundMessage | None:
    return case.inbound[-1] if case.inbound else None


def record_payment(s: Session, case: Case, amount: int, method: str, at: dt.datetime, who: str) -> None:
    s.add(Payment(case_id=case.id, amount_yen=amount, method=method, recorded_at=at, recorded_by=who))
    case.paid_yen += amount


def quarantined(s: Session) -> list[InboundMessage]:
    return list(s.scalars(select(InboundMessage).where(InboundMessage.outcome == "quarantined")
                          .order_by(InboundMessage.id)))


def inquiries(s: Session) -> list[InboundMessage]:
    return list(s.scalars(select(InboundMessage).where(InboundMessage.outcome == "inquiry")
                          .order_by(InboundMessage.id)))


def add_document(s: Session, case: Case, inbound: InboundMessage, filename: str, kind: str, holder: str,
                 pages: tuple[int, ...], issued_on: dt.date | None, flags: list[str],
                 stored_as: str | None) -> Document:
    if inbound.id is None:
        s.flush()  # the mail's ledger row gets its id
    doc = Document(case_id=case.id, inbound_id=inbound.id, filename=filename, kind=kind, holder=holder,
                   pages=[str(p) for p in pages], issued_on=issued_on, flags=flags, stored_as=stored_as)
    s.add(doc)
    case.documents.append(doc)
    return doc
