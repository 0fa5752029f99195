"""The hand-over between the leader, which alone reads the mailbox, and the workers.

Why a queue in the database and not in memory: a worker can die at any moment (SIGKILL,
OOM, a host that goes away). The row stays; the lock its transaction held goes with its
connection, and the next worker takes the message. What a message did is decided by the
pipeline's ledger (the same bytes are never handled twice), so a message claimed a second
time after a crash only re-applies its first outcome's mark.

Claiming uses PostgreSQL's `FOR UPDATE SKIP LOCKED`: each worker gets the oldest message
nobody holds, without waiting on the others. A message waits while an earlier message of
the same sender is still pending, so one person's mail is handled in the order it arrived
(a follow-up must find the case its request opened).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses

from sqlalchemy import and_, delete, exists, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.db import WorkAttempt, WorkItem
from bot.mailbox import Mark

# A transaction idle this long while holding a claim belongs to a worker that hangs: the
# server ends it, which frees the message for another worker (handling one takes seconds).
CLAIM_IDLE_LIMIT = "15min"


def sender_key(raw: bytes, digest: str) -> str:
    """A pseudonymous key for the sender (the From address), to keep one person's mail in order.

    Only the header block is parsed. Mail without a usable From gets its own key: it
    cannot be a follow-up of anything, so nothing need wait for it.
    """
    try:
        head = BytesHeaderParser(policy=default_policy).parsebytes(raw[:65536], headersonly=True)
        pairs = getaddresses([str(v) for v in head.get_all("From", [])])
        addr = next((a for _, a in pairs if "@" in a), "")
    except Exception:  # noqa: BLE001 - any header the parser rejects: ordered by digest alone
        addr = ""
    if not addr:
        return "sha:" + digest[:60]
    return hashlib.sha256(addr.strip().lower().encode()).hexdigest()


def enqueue(s: Session, mailbox_key: str, digest: str, sender: str, now: dt.datetime) -> bool:
    """Add a message for the workers; False when that mailbox key is queued already."""
    if s.scalar(select(WorkItem.id).where(WorkItem.mailbox_key == mailbox_key)) is not None:
        return False
    try:
        with s.begin_nested():
            s.add(WorkItem(mailbox_key=mailbox_key, sha256=digest, sender_key=sender, state="pending",
                           marked=False, queued_at=now))
    except IntegrityError:
        return False
    return True


@dataclass(frozen=True)
class Claim:
    id: int
    mailbox_key: str
    sha256: str


def claim_next(s: Session) -> Claim | None:
    """Lock the oldest pending message whose sender has nothing older pending; None when none.

    The caller keeps the transaction open while it handles the message and finishes it
    with `finish` in that same transaction.
    """
    earlier = aliased(WorkItem)
    blocked = exists().where(and_(earlier.sender_key == WorkItem.sender_key, earlier.state == "pending",
                                  earlier.id < WorkItem.id))
    row = s.execute(
        select(WorkItem.id, WorkItem.mailbox_key, WorkItem.sha256)
        .where(WorkItem.state == "pending", ~blocked)
        .order_by(WorkItem.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=WorkItem)
    ).first()
    return None if row is None else Claim(row.id, row.mailbox_key, row.sha256)


def attempts(s: Session, claim: Claim) -> int:
    return int(s.scalar(select(func.count()).select_from(WorkAttempt).where(WorkAttempt.item_id == claim.id)) or 0)


def record_attempt(session: Callable[[], Session], claim: Claim, worker: str, now: dt.datetime) -> None:
    """Committed at once, in a transaction of its own: it must outlive a worker that dies."""
    with session() as s, s.begin():
        s.add(WorkAttempt(item_id=claim.id, worker=worker[:100], started_at=now))


def finish(s: Session, claim: Claim, outcome: str, mark: Mark, worker: str, now: dt.datetime) -> None:
    s.execute(update(WorkItem).where(WorkItem.id == claim.id)
              .values(state="done", outcome=outcome, mark=mark, worker=worker[:100], done_at=now))


def marks_due(s: Session, limit: int = 500) -> list[tuple[int, str, Mark]]:
    """Finished messages whose mark the leader has not yet put on the mailbox, oldest first."""
    rows = s.execute(select(WorkItem.id, WorkItem.mailbox_key, WorkItem.mark)
                     .where(WorkItem.state == "done", WorkItem.marked.is_(False))
                     .order_by(WorkItem.id).limit(limit))
    return [(r.id, r.mailbox_key, r.mark or "processed") for r in rows]


def set_marked(s: Session, ids: list[int]) -> None:
    if ids:
        s.execute(update(WorkItem).where(WorkItem.id.in_(ids)).values(marked=True))


def pending_count(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.state == "pending")) or 0)


def prune(s: Session, before: dt.datetime) -> int:
    """Forget finished and marked messages older than `before` (the ledger keeps what they did)."""
    old = select(WorkItem.id).where(WorkItem.state == "done", WorkItem.marked.is_(True), WorkItem.done_at < before)
    s.execute(delete(WorkAttempt).where(WorkAttempt.item_id.in_(old)))
    result = s.execute(delete(WorkItem).where(WorkItem.id.in_(old)))
    return int(getattr(result, "rowcount", 0) or 0)


@contextlib.contextmanager
def claim_session(session: Callable[[], Session]) -> Iterator[Session]:
    """A transaction for one claim (PostgreSQL), ended by the server if its worker hangs."""
    with session() as s, s.begin():
        s.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = '{CLAIM_IDLE_LIMIT}'"))
        yield s
