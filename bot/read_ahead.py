"""Reading a backlog one batch ahead, in a second process.

A pass over a backlog alternates between work that needs only a mail's bytes (keeping the
raw copy, parsing MIME, reading the body for a request: `bot.prepared`) and work in the
case store (lookups, the case's rows, the commit). With a second core, a reader process
does the first for batch k+1 while this process does the second for batch k.

The reader reads the first batch too. While it does, this process does its own first-pass
work (`warm`: building the blank form its replies carry), which would otherwise hold up the
first batch's replies with the second core idle.

The reader is forked when a pass finds a second batch and ends with the pass, so:
- one or two mails never pay for a process;
- the reader runs exactly the code and settings this process has when it starts;
- no process outlives the pass that needed it (nor this process: it is killed with it).

It keeps the raw copies of the mails it is given (durable before it answers, as the
pipeline's own barrier would make them), parses them and sends back what it read. It
touches no case, logs nothing and holds no connection of its own. Anything wrong with it
(it died, it sent something unreadable) costs only speed: the batch is kept and read here
instead, as it would have been without it, and the rest of the pass goes on without a
reader. A pass that stops (SIGTERM) leaves the raw copies of the batch read ahead: those
mails are still unread in the mailbox, and the next pass finds their copies kept.

Only one batch is in flight at a time, and its answer is taken before the next is sent,
so neither side can block the other on a full pipe.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from bot.mailbox import Incoming
from bot.prepared import Prepared

log = logging.getLogger("madoguchi.read_ahead")

Read = Callable[[list[bytes]], list[Prepared]]

# A batch larger than this is read in the pipeline: mail with big attachments spends its
# time reading the files, not parsing, and a copy of it in flight would cost memory.
READ_AHEAD_BYTES = 4 * 1024 * 1024


def read_ahead(batches: Iterable[list[Incoming]], read: Read, enabled: bool = True,
               warm: Callable[[], object] = lambda: None) -> Iterator[tuple[list[Incoming], list[Prepared] | None]]:
    """Each batch, in order, with what `read` made of its mails, or None where the
    pipeline is to read them itself (every batch when there is no reader: a single batch,
    one core, or not `enabled`, MADOGUCHI_READ_AHEAD=off; a batch too large to copy).

    `warm` is called once, while the reader reads the first batch."""
    it = iter(batches)
    try:
        yield from _paired(it, read, enabled, warm)
    finally:
        close = getattr(it, "close", None)
        if close is not None:  # the mailbox's pass ends (its marks sent) when ours does
            close()


def _paired(it: Iterator[list[Incoming]], read: Read, enabled: bool,
            warm: Callable[[], object]) -> Iterator[tuple[list[Incoming], list[Prepared] | None]]:
    first = next(it, None)
    if first is None:
        return
    second = next(it, None) if enabled and _cores() > 1 else None
    if second is None:  # off, one core, or one batch: nothing to overlap
        yield first, None
        yield from ((batch, None) for batch in it)
        return
    with contextlib.closing(_Reader(read)) as reader:
        reader.send(first)
        warm()
        for batch in itertools.chain((second,), it):  # fetched while the reader reads the batch before it
            done = reader.take()
            reader.send(batch)
            yield done
        yield reader.take()


def _cores() -> int:
    return len(os.sched_getaffinity(0))


class _Reader:
    """The reader process and the one batch it holds."""

    def __init__(self, read: Read) -> None:
        ctx = multiprocessing.get_context("fork")  # the reader is this process's own code, as it is now
        self._conn, child = ctx.Pipe()
        self._proc: BaseProcess | None = ctx.Process(target=_serve, args=(child, self._conn, read, os.getpid()),
                                                     name="madoguchi-read-ahead", daemon=True)
        self._batch: list[Incoming] = []
        self._sent = False
        try:
            self._proc.start()
        except OSError as exc:  # no process to be had (limits, memory): read here
            log.warning("read-ahead not started (%s); reading in the pipeline", type(exc).__name__)
            self._proc = None
        else:
            log.info("backlog: reading ahead in process %s", self._proc.pid, extra={"step": "read_ahead"})
        child.close()

    def send(self, batch: list[Incoming]) -> None:
        self._batch, self._sent = batch, False
        if self._proc is None or sum(len(m.raw) for m in batch) > READ_AHEAD_BYTES:
            return
        try:
            self._conn.send([m.raw for m in batch])
        except (OSError, ValueError) as exc:
            self._lost(exc)
            return
        self._sent = True

    def take(self) -> tuple[list[Incoming], list[Prepared] | None]:
        """The batch sent last with its readings; None where the pipeline reads it itself."""
        if not self._sent:
            return self._batch, None
        self._sent = False
        try:
            readings = self._conn.recv()
        except Exception as exc:  # noqa: BLE001 - EOF (it died) or an answer that cannot be read
            self._lost(exc)
            return self._batch, None
        if not (isinstance(readings, list) and len(readings) == len(self._batch)
                and all(isinstance(r, Prepared) for r in readings)):
            self._lost(TypeError("unexpected answer"))
            return self._batch, None
        return self._batch, readings

    def _lost(self, exc: BaseException) -> None:
        log.warning("read-ahead stopped (%s); reading the rest of this pass in the pipeline", type(exc).__name__,
                    extra={"step": "read_ahead", "kind": type(exc).__name__})
        self.close()

    def close(self) -> None:
        self._conn.close()
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.join(timeout=1.0)  # it ends at the closed pipe
            if proc.is_alive():
                proc.kill()
                proc.join()


def _serve(conn: Connection, parent_end: Connection, read: Read, parent: int) -> None:
    """The reader: batches of bytes in, what they say out, until the pipe closes."""
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before that took hold
        return
    parent_end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the pass that started it decides when it ends
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        try:
            conn.send(read(conn.recv()))
        except Exception:  # noqa: BLE001 - the pipe closed (the pass ended or stopped), or `read` failed:
            return  # either way the bot sees the pipe close and reads what is left itself


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: killed when the process that started it dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
