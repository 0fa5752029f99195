"""Where requests arrive. One small interface; Maildir here, IMAP beside it.

A message is marked in the mailbox only after its case change has committed, so a
crash between the two re-reads the message, and the ledger (same bytes, same
Message-ID) makes the second reading a no-op.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

T = TypeVar("T")
BATCH_COUNT = 50  # messages fetched, and committed, together (MADOGUCHI_MAILBOX_BATCH_SIZE)
BATCH_BYTES = 64 * 1024 * 1024

# "queued": taken into the workers' queue (bot/work_queue.py); counts as read for the reader's
# position but changes nothing a person sees. The outcome's own mark follows once handled.
Mark = Literal["processed", "inquiry", "quarantined", "ignored", "queued"]


@dataclass(frozen=True)
class Incoming:
    key: str
    raw: bytes


class Mailbox(Protocol):
    def fetch_new(self) -> Iterator[Incoming]:
        """Messages not yet marked, oldest first; reading does not mark them."""
        ...

    def fetch_batches(self) -> Iterator[list[Incoming]]:
        """The same, a bounded batch at a time: the pipeline commits a batch's mail together
        and marks it before it asks for the next batch."""
        ...

    def mark(self, key: str, mark: Mark) -> None:
        """Record the outcome in the mailbox itself (seen, moved, left unread)."""
        ...

    def mark_many(self, marks: list[tuple[str, Mark]]) -> None:
        """Outcomes decided elsewhere (by the workers), applied together."""
        ...

    def close(self) -> None: ...


class MaildirMailbox:
    """A Maildir as a mail client sees it: new/ holds what nobody has read yet.

    Handled mail moves to cur/ with the flags a client understands: seen (S) when the
    window answered it or it was a robot, unread for inquiries left to staff (unless the
    operator wants them seen), flagged (F) when it was quarantined.
    """

    FLAGS: dict[str, str] = {"processed": "S", "ignored": "S", "quarantined": "F", "queued": ""}

    def __init__(self, root: Path, inquiry_flags: str = "", batch_size: int = BATCH_COUNT) -> None:
        self.root = root
        self._inquiry_flags = inquiry_flags
        self._batch_size = batch_size
        for sub in ("new", "cur", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True, mode=0o700)

    def fetch_new(self) -> Iterator[Incoming]:
        new = self.root / "new"
        entries = sorted(new.iterdir(), key=lambda p: (_mtime(p), p.name))
        for path in entries:
            if path.name.startswith(".") or not path.is_file():
                continue
            try:
                raw = path.read_bytes()
            except OSError:
                continue  # taken by another reader meanwhile
            yield Incoming(key=path.name, raw=raw)

    def fetch_batches(self) -> Iterator[list[Incoming]]:
        return in_batches(self.fetch_new(), self._batch_size)

    def mark(self, key: str, mark: Mark) -> None:
        flags = self._inquiry_flags if mark == "inquiry" else self.FLAGS[mark]
        base = key.split(":2,", 1)[0]
        dst = self.root / "cur" / f"{base}:2,{flags}"
        # Already moved when an earlier run crashed between the move and its commit; or moved
        # to cur/ without flags when it was queued for the workers, and now gets its outcome.
        for src in (self.root / "new" / key, self.root / "cur" / f"{base}:2,"):
            with contextlib.suppress(FileNotFoundError):
                os.replace(src, dst)
                return

    def mark_many(self, marks: list[tuple[str, Mark]]) -> None:
        for key, mark in marks:
            self.mark(key, mark)

    def close(self) -> None:
        return None


def in_batches(messages: Iterator[Incoming], max_count: int, max_bytes: int = BATCH_BYTES) -> Iterator[list[Incoming]]:
    """Messages in lists of at most `max_count` and about `max_bytes` (a larger one alone)."""
    return batched(messages, lambda m: len(m.raw), max_count, max_bytes)


def batched(items: Iterable[T], size: Callable[[T], int], max_count: int, max_bytes: int) -> Iterator[list[T]]:
    """`items` in order, in lists of at most `max_count` and about `max_bytes` by `size`;
    a single item larger than `max_bytes` gets a list of its own."""
    batch: list[T] = []
    total = 0
    for item in items:
        n = size(item)
        if batch and (len(batch) >= max_count or total + n > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += n
    if batch:
        yield batch


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
