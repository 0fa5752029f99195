"""Reading a backlog one batch ahead, in a second process.

A pass over a backlog alternates between work that needs only a mail's bytes (keeping the
raw copy, parsing MIME, reading the body for a request: `bot.prepared`) and work in the
case store (lookups, the case's rows, the commit). With a second core, a reader process
does the first for batch k+1 while this process does the second for batch k.

The reader reads the first batch too. While it does, this process does its own first-pass
work (`warm`: building the blank form its replies carry), which would otherwise hold up the
first batch's replies with the second core idle.

The reader is a fresh interpreter (`python -c`), not a fork of the bot, for the reasons the
PDF zygote gives (`parsers.pdf_sandbox`): the bot is multithreaded (the scheduler delivers
while a pass runs), and a fork taken while another thread holds a lock (OpenSSL's, a
logging handler's) can leave the copy stuck on it; and a fork shares the bot's 100 MB only
until either side writes to it, which Python's reference counts soon do. It imports only
what reading needs (about 30 MB, 0.1 s), which it does while this process fetches the
second batch and warms.

It is started when a pass finds a second batch (or a first batch as large as a batch can
be: more is most likely waiting) and ends with the pass, so:
- one or two mails never pay for a process;
- no process outlives the pass that needed it (nor this process: it is killed with it).

It keeps the raw copies of the mails it is given (durable before it answers, as the
pipeline's own barrier would make them), with the raw store's current key and nothing
else, parses them and sends back what it read. It touches no case, logs nothing and holds
no connection of its own. Anything wrong with it (it did not start, it died, it sent
something unreadable) costs only speed: the batch is kept and read here instead, as it
would have been without it, and the rest of the pass goes on without a reader. A pass that
stops (SIGTERM) leaves the raw copies of the batch read ahead: those mails are still
unread in the mailbox, and the next pass finds their copies kept.

Only one batch is in flight at a time, and its answer is taken before the next is sent,
so neither side can block the other on a full socket.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Generator, Iterable, Iterator

from bot.mailbox import Incoming
from bot.prepared import Prepared
from bot.reader_process import COMMAND, ReadSpec, receive, send
from parsers.pdf_sandbox import child_env

__all__ = ["READER", "ReadSpec", "read_ahead"]

log = logging.getLogger("madoguchi.read_ahead")

# A batch larger than this is read in the pipeline: mail with big attachments spends its
# time reading the files, not parsing, and a copy of it in flight would cost memory.
READ_AHEAD_BYTES = 4 * 1024 * 1024

# What the reader runs on each batch, as "module:function"(raws, max_bytes, store, window_address).
READER = "bot.prepared:read_batch"


def read_ahead(batches: Iterable[list[Incoming]], spec: ReadSpec, enabled: bool = True,
               warm: Callable[[], object] = lambda: None,
               full: int = 0) -> Generator[tuple[list[Incoming], list[Prepared] | None], None, None]:
    """Each batch, in order, with what the reader made of its mails, or None where the
    pipeline is to read them itself (every batch when there is no reader: a single batch,
    one core, or not `enabled`, MADOGUCHI_READ_AHEAD=off; a batch too large to copy).

    `warm` is called once, while the reader reads the first batch. A first batch of `full`
    mails (the mailbox's batch size) starts the reader before the second is fetched: more
    mail is most likely waiting, and the reader's start (0.1 s) is what the first batch
    waits for."""
    it = iter(batches)
    try:
        yield from _paired(it, spec, enabled, warm, full)
    finally:
        close = getattr(it, "close", None)
        if close is not None:  # the mailbox's pass ends (its marks sent) when ours does
            close()


def _paired(it: Iterator[list[Incoming]], spec: ReadSpec, enabled: bool, warm: Callable[[], object],
            full: int) -> Iterator[tuple[list[Incoming], list[Prepared] | None]]:
    first = next(it, None)
    if first is None:
        return
    if not enabled or _cores() < 2:
        yield first, None
        yield from ((batch, None) for batch in it)
        return
    started = _Reader(spec) if full and len(first) >= full else None
    second = next(it, None)
    if second is None and started is None:  # one batch: nothing to overlap
        yield first, None
        return
    with contextlib.closing(started or _Reader(spec)) as reader:
        reader.send(first)
        warm()
        after = itertools.chain(() if second is None else (second,), it)
        for batch in after:  # fetched while the reader reads the batch before it
            done = reader.take()
            reader.send(batch)
            yield done
        yield reader.take()


def _cores() -> int:
    return len(os.sched_getaffinity(0))


class _Reader:
    """The reader process and the one batch it holds."""

    def __init__(self, spec: ReadSpec) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._batch: list[Incoming] = []
        self._sent = False
        ours, theirs = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", COMMAND, str(os.getpid())],
                stdin=theirs.fileno(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=child_env(), close_fds=True, start_new_session=True,  # it ends with the pass, not on ^C
            )  # fmt: skip
        except OSError as exc:  # no process to be had (limits, memory): read here
            ours.close()
            log.warning("read-ahead not started (%s); reading in the pipeline", type(exc).__name__)
            return
        finally:
            theirs.close()
        self._socket = ours
        log.info("backlog: reading ahead in process %s", self._proc.pid, extra={"step": "read_ahead"})
        try:
            send(ours.fileno(), (READER, spec))
        except OSError as exc:
            self._lost(exc)

    def send(self, batch: list[Incoming]) -> None:
        self._batch, self._sent = batch, False
        if self._socket is None or sum(len(m.raw) for m in batch) > READ_AHEAD_BYTES:
            return
        try:
            send(self._socket.fileno(), [m.raw for m in batch])
        except OSError as exc:
            self._lost(exc)
            return
        self._sent = True

    def take(self) -> tuple[list[Incoming], list[Prepared] | None]:
        """The batch sent last with its readings; None where the pipeline reads it itself."""
        if not self._sent or self._socket is None:
            return self._batch, None
        self._sent = False
        try:
            readings = receive(self._socket.fileno())
        except Exception as exc:  # noqa: BLE001 - EOF (it died) or an answer that cannot be read
            self._lost(exc)
            return self._batch, None
        if not (isinstance(readings, list) and len(readings) == len(self._batch)
                and all(isinstance(r, Prepared) for r in readings)):
            self._lost(TypeError("unexpected answer"))
            return self._batch, None
        return self._batch, readings

    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _lost(self, exc: BaseException) -> None:
        log.warning("read-ahead stopped (%s); reading the rest of this pass in the pipeline", type(exc).__name__,
                    extra={"step": "read_ahead", "kind": type(exc).__name__})
        self.close()

    def close(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if not self._sent:  # waiting for a batch that will not come: nothing of its own to finish
            proc.kill()  # (its interpreter's exit would hold up the end of the pass)
        try:
            proc.wait(timeout=1.0)  # with a batch in hand, it ends at the closed socket
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


