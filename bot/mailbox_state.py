"""Where reading an IMAP folder stands, kept across restarts: (UIDVALIDITY, highest UID done).

The IMAP mailbox reads by UID in ascending order and marks a message only after its case
change committed, so "every UID up to N is done" is one number per folder. Kept in the case
store, it spares a restart from re-reading the unread inquiries left for staff, and it stops
the bot from touching a handled message a colleague marked unread again. It is saved once
per fetched batch, not per message: a crash re-reads at most one batch, which the raw
store's deduplication turns into no-ops.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from bot.db import MailboxState


@dataclass(frozen=True)
class FolderPosition:
    uidvalidity: int
    last_uid: int  # every UID up to this one is done
    saved_at: dt.datetime


class MailboxStateStore(Protocol):
    def load(self, mailbox: str) -> FolderPosition | None: ...

    def save(self, mailbox: str, uidvalidity: int, last_uid: int) -> None: ...


class MemoryMailboxState:
    """For a mailbox used without a case store (tests, one-off tools): forgotten on exit."""

    def __init__(self, now: Callable[[], dt.datetime] | None = None) -> None:
        self._rows: dict[str, FolderPosition] = {}
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    def load(self, mailbox: str) -> FolderPosition | None:
        return self._rows.get(mailbox)

    def save(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        self._rows[mailbox] = FolderPosition(uidvalidity, last_uid, self._now())


class DbMailboxState:
    """The `mailbox_state` table; one short transaction per save."""

    def __init__(self, session: Callable[[], Session], now: Callable[[], dt.datetime]) -> None:
        self._session = session
        self._now = now

    def load(self, mailbox: str) -> FolderPosition | None:
        with self._session() as s:
            row = s.get(MailboxState, mailbox)
            if row is None:
                return None
            return FolderPosition(row.uidvalidity, row.last_uid, row.updated_at)

    def save(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        with self._session() as s, s.begin():
            row = s.get(MailboxState, mailbox)
            if row is None:
                s.add(MailboxState(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid,
                                   updated_at=self._now()))
                return
            row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, self._now()
