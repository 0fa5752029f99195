"""The read-ahead process itself (`bot.read_ahead` is the bot's side): its loop, and how
it and the bot talk.

Kept apart so that the process loads only what reading needs: it starts while the bot
fetches and warms, and every module it loads delays its first answer. Messages are
length-prefixed pickles over a socket; both ends are this program's own code, and the
reader answers nothing but what it was asked.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import pickle
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMMAND = "from bot.reader_process import main; main()"
_LENGTH = 8


@dataclass(frozen=True)
class ReadSpec:
    """What the reader needs to read a batch as the pipeline would: the size limit, the
    window's address (for robot signs) and the raw store (`BlobStore.handover`; None: the
    reader keeps no copies and the pipeline keeps them)."""

    max_bytes: int
    window_address: str = ""
    store: tuple[Path, bytes, bytes] | None = None


def send(fd: int, message: Any) -> None:
    """Write one message; OSError when the other end has gone."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(fd, len(data).to_bytes(_LENGTH, "big"))
    _write_all(fd, data)


def receive(fd: int) -> Any:
    """Read one message; EOFError when the other end closed before a whole one came."""
    length = int.from_bytes(_read_exactly(fd, _LENGTH), "big")
    return pickle.loads(_read_exactly(fd, length))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            raise EOFError("the other end closed")
        got += n
    return buffer


def main() -> None:
    """The reader: what to run and on what store, then batches of bytes in, what they say
    out, until the socket (its stdin) closes."""
    parent = int(sys.argv[1])
    _die_with_parent()
    if os.getppid() != parent:  # the bot died before that took hold
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the pass that started it decides when it ends
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        function, spec = receive(0)
        module, _, name = function.partition(":")
        read = getattr(importlib.import_module(module), name)
        store = None
        if spec.store is not None:
            from bot.rawstore import BlobStore

            store = BlobStore.keeper(spec.store)
    except Exception:  # noqa: BLE001 - the bot sees the socket close and reads the pass itself
        return
    while True:
        try:
            send(0, read(receive(0), spec.max_bytes, store, spec.window_address))
        except Exception:  # noqa: BLE001 - the socket closed (the pass ended or stopped), or `read` failed:
            return  # either way the bot sees the socket close and reads what is left itself


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: killed when the process that started it dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
