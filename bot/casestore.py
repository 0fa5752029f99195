"""Queries and changes of the case store. Callers own the transaction (one per message).

Nothing here decides anything: the policy decides, this module records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.db import Case, CaseCounter, CaseEvent, Document, InboundMessage, OutboundMessage, Payment
from bot.models import CaseFacts, DocumentFact, Holder


def inbound_by_sha(s: Session, sha: str) -> InboundMessage | None:
    return s.scalar(select(InboundMessage).where(InboundMessage.sha256 == sha))


def inbound_by_message_id(s: Session, message_id: str, from_addr: str) -> InboundMessage | None:
    """The same Message-ID from the same sender is the same message, re-sent or re-delivered."""
    return s.scalar(
        select(InboundMessage)
        .where(InboundMessage.message_id == message_id, InboundMessage.from_addr == from_addr)
        .where(InboundMessage.outcome != "quarantined")
        .limit(1)
    )


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
    """Readable, stable ids (20250602-001): staff quote them on the phone and in bank transfers."""
    day = today.strftime("%Y%m%d")
    counter = _day_counter(s, day)
    counter.last += 1
    s.flush()
    return f"{day}-{counter.last:03d}"


def _day_counter(s: Session, day: str) -> CaseCounter:
    """The day's counter row, locked until the case's transaction ends.

    Several workers open cases at once on PostgreSQL: the row lock makes them take numbers
    one after another, and the first case of a day is created by exactly one of them (the
    other meets the unique day, and locks the row that one made).
    """
    locked = select(CaseCounter).where(CaseCounter.day == day).with_for_update()
    counter = s.scalar(locked)
    if counter is None:
        try:
            with s.begin_nested():
                s.add(CaseCounter(day=day, last=0))
        except IntegrityError:
            pass
        counter = s.scalar(locked.execution_options(populate_existing=True))
        assert counter is not None
    return counter


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
    s.add(CaseEvent(case_id=case_id, at=at, actor=actor, type=type_, detail=detail or {}))


def auto_replies_since(s: Session, to_addr: str, since: dt.datetime) -> int:
    return int(
        s.scalar(
            select(func.count(OutboundMessage.id)).where(
                OutboundMessage.to_addr == to_addr,
                OutboundMessage.automatic.is_(True),
                OutboundMessage.created_at >= since,
            )
        )
        or 0
    )


def outbound_exists(s: Session, message_id: str) -> bool:
    return s.scalar(select(OutboundMessage.id).where(OutboundMessage.message_id == message_id)) is not None


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
    doc = Document(case_id=case.id, inbound_id=inbound.id, filename=filename, kind=kind, holder=holder,
                   pages=[str(p) for p in pages], issued_on=issued_on, flags=flags, stored_as=stored_as)
    s.add(doc)
    case.documents.append(doc)
    return doc
