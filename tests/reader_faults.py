"""What a test's read-ahead process runs instead of `bot.prepared:read_batch`.

The reader is a fresh interpreter: a monkeypatch in the test does not reach it. A test
names one of these in `bot.read_ahead.READER`, and the reader imports it by that name.
"""

from __future__ import annotations

import os
import time

from bot.models import ParsedMessage
from bot.prepared import Prepared, read_batch
from bot.rawstore import BlobStore


def poisoned(raws: list[bytes], max_bytes: int, store: BlobStore | None, window_address: str) -> list[Prepared]:
    """The real reading, with a parser that fails on any mail containing POISON (a parser bug)."""
    from parsers.mime import parse_message

    def fragile(raw: bytes) -> ParsedMessage:
        if b"POISON" in raw:
            raise RuntimeError("boom")
        return parse_message(raw)

    return read_batch(raws, max_bytes, store, window_address, parse=fragile)


def dies(raws: list[bytes], max_bytes: int, store: BlobStore | None, window_address: str) -> list[Prepared]:
    os._exit(3)  # as if killed


def sleeps(raws: list[bytes], max_bytes: int, store: BlobStore | None, window_address: str) -> list[Prepared]:
    time.sleep(60)
    return []


def echo(raws: list[bytes], max_bytes: int, store: BlobStore | None, window_address: str) -> list[Prepared]:
    """Each mail's bytes, as text, where a failure's reason goes: what the reader was given."""
    return [Prepared(None, ("parse", raw.decode())) for raw in raws]


def slow_until_stopped(raws: list[bytes], max_bytes: int, store: BlobStore | None,
                       window_address: str) -> list[Prepared]:
    """Busy until the file named by READER_STOPPING exists (the pass stopped), then answers
    after the bot has closed the socket: the real reading, without keeping copies."""
    stopping = os.environ["READER_STOPPING"]
    deadline = time.monotonic() + 10
    while not os.path.exists(stopping) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    return read_batch(raws, max_bytes, None, window_address)
