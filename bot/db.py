"""The case store's tables (SQLAlchemy 2 declarative). Schema changes go through Alembic.

The database holds case facts and an audit trail, never document contents: attachments
live encrypted in the data directory (see `rawstore`), referenced here by digest.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the case store")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    window: Mapped[str] = mapped_column(String(64), default="default")
    status: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(8), default="email")
    requester_name: Mapped[str | None] = mapped_column(String(200))
    requester_email: Mapped[str] = mapped_column(String(320), index=True)
    agent_present: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_type: Mapped[str | None] = mapped_column(String(32))
    agent_name: Mapped[str | None] = mapped_column(String(200))
    request_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    disclosure_method: Mapped[str | None] = mapped_column(String(16))
    fee_yen: Mapped[int] = mapped_column(Integer, default=0)
    paid_yen: Mapped[int] = mapped_column(Integer, default=0)
    fee_notice_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    verified_by: Mapped[str | None] = mapped_column(String(100))
    final_status: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_on: Mapped[dt.date] = mapped_column(Date)
    # The deadline clock (bot/deadlines.py): stops as [from, to|null] ISO dates while the case
    # waited on the requester; when that wait began (or they last answered); the reminder sent.
    clock_stops: Mapped[list[list[str | None]]] = mapped_column(JSON, default=list)
    waiting_since: Mapped[dt.date | None] = mapped_column(Date)
    reminded_on: Mapped[dt.date | None] = mapped_column(Date)
    lang: Mapped[str] = mapped_column(String(8), default="ja")  # the language the requester wrote in
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    documents: Mapped[list[Document]] = relationship(back_populates="case", order_by="Document.id")
    inbound: Mapped[list[InboundMessage]] = relationship(back_populates="case", order_by="InboundMessage.id")
    outbound: Mapped[list[OutboundMessage]] = relationship(back_populates="case", order_by="OutboundMessage.id")
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")
    payments: Mapped[list[Payment]] = relationship(back_populates="case", order_by="Payment.id")


class InboundMessage(Base):
    """Every message seen, whatever became of it: the ledger that makes intake idempotent."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_msgid_from", "message_id", "from_addr"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(998))
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    mailbox_key: Mapped[str | None] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    step: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer, default=0)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)

    case: Mapped[Case | None] = relationship(back_populates="inbound")


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"))
    filename: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(48))
    holder: Mapped[str] = mapped_column(String(16), default="unknown")
    pages: Mapped[list[str]] = mapped_column(JSON, default=list)
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    stored_as: Mapped[str | None] = mapped_column(String(80))  # digest of the encrypted file kept

    case: Mapped[Case] = relationship(back_populates="documents")


class OutboundMessage(Base):
    """A reply queued in the same transaction as the case change, delivered afterwards."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    to_addr: Mapped[str] = mapped_column(String(320), index=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    automatic: Mapped[bool] = mapped_column(Boolean, default=True)

    case: Mapped[Case | None] = relationship(back_populates="outbound")


class CaseEvent(Base):
    """Append-only audit trail: what happened, who did it, and which rules fired."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    case: Mapped[Case | None] = relationship(back_populates="events")


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    amount_yen: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))

    case: Mapped[Case] = relationship(back_populates="payments")


class BankTransfer(Base):
    """A transfer seen in an imported bank statement, so a second import records nothing twice.

    Only what the match needs is kept: no payer names (staff have the bank's own file).
    """

    __tablename__ = "bank_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    booked_on: Mapped[dt.date] = mapped_column(Date)
    amount_yen: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(24))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    imported_by: Mapped[str] = mapped_column(String(100))


class MailboxState(Base):
    """Where reading an IMAP folder stands: every UID up to `last_uid` of `uidvalidity` is done.

    One row per folder (`mailbox` names server, user and folder). UIDs and UIDVALIDITY are
    unsigned 32-bit numbers, hence BigInteger (PostgreSQL's INTEGER stops at 2^31 - 1).
    """

    __tablename__ = "mailbox_state"

    mailbox: Mapped[str] = mapped_column(String(500), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WorkItem(Base):
    """A mailbox message handed from the leader to the workers (`madoguchi worker`, PostgreSQL).

    The leader stores the raw mail (encrypted, by digest) and adds a row; a worker claims
    the row with SELECT … FOR UPDATE SKIP LOCKED and holds that lock while it handles the
    message, so a worker that dies simply lets go of it. `sender_key` keeps one sender's mail
    in arrival order (a follow-up never overtakes its request). `mark` is the outcome's
    mailbox mark, applied by the leader, which alone talks to the mailbox.
    """

    __tablename__ = "work_items"
    # Partial indexes: a claim looks only at pending rows, the leader only at unmarked ones,
    # so a week of finished items (kept until pruned) costs a claim nothing.
    __table_args__ = (
        Index("ix_work_items_pending", "id", postgresql_where=text("state = 'pending'"),
              sqlite_where=text("state = 'pending'")),
        Index("ix_work_items_sender_pending", "sender_key", "id", postgresql_where=text("state = 'pending'"),
              sqlite_where=text("state = 'pending'")),
        Index("ix_work_items_unmarked", "id", postgresql_where=text("state = 'done' AND NOT marked"),
              sqlite_where=text("state = 'done' AND NOT marked")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_key: Mapped[str] = mapped_column(String(500), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    sender_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending, done
    mark: Mapped[str | None] = mapped_column(String(16))
    marked: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(16))
    worker: Mapped[str | None] = mapped_column(String(100))
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class WorkAttempt(Base):
    """One start of handling a work item, committed before the handling begins.

    A message that kills its worker (a crash below Python, the OOM killer) would otherwise be
    claimed again for ever; after MAX_ATTEMPTS starts it is quarantined instead. No foreign
    key: a reference would take a lock that conflicts with the claim's row lock.
    """

    __tablename__ = "work_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CaseCounter(Base):
    """Per-day sequence for readable case ids (20250602-001), allocated in the case's transaction."""

    __tablename__ = "case_counters"
    __table_args__ = (UniqueConstraint("day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(8))
    last: Mapped[int] = mapped_column(Integer, default=0)


def make_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def ensure_schema(conn: Connection) -> None:
    """Create the window's own PostgreSQL schema (named by the URL's search_path) if missing.

    Several windows share one PostgreSQL database, each in its schema: every connection of a
    window's engine sees only its own tables, so no query of one window can reach another's.
    Called under the migration lock (two workers starting together would race).
    """
    options = conn.engine.url.query.get("options")
    if conn.dialect.name != "postgresql" or not isinstance(options, str):
        return
    match = re.search(r"-csearch_path=([a-z][a-z0-9_]*)", options)
    if match:
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{match.group(1)}"')


def _sqlite_begin(conn: Any) -> None:
    """Real transactions on SQLite, DDL included (so a kill mid-migration leaves nothing half
    made), taking the write lock at the start so that busy_timeout, not an error, settles
    a race with another writer."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver's own implicit BEGINs off; _sqlite_begin decides
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False, future=True)
