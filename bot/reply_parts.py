"""Attachment parts stored once and referred to by the replies that carry them.

Every acknowledgement carries the blank request form, a MIME part of about 220 KB. Kept
inside each queued reply's row, it made the case store grow by 1 GB per 5,000 replies, and
writing it cost more than the rest of the reply. A queued reply now holds, in the part's
place, a marker naming the part by its SHA-256; the part itself is kept once, encrypted,
in `data_dir/parts/`, and put back just before the reply is handed to the outbox. The bytes
sent are the ones `build_message` wrote, so a retry after a crash sends the same message.

Only the blank form goes this way (`replying.queue_reply`): it holds nothing personal, so
retention, which empties the rows of purged replies, leaves `parts/` alone. Rows queued
before this existed carry their parts inline and are sent as they are.
"""

from __future__ import annotations

import re

from bot.rawstore import BlobStore, sha256_hex

_OPEN, _CLOSE = b"\x00madoguchi-part:", b"\x00"  # NUL occurs in no message we write
_MARKER = re.compile(re.escape(_OPEN) + rb"([0-9a-f]{64})" + re.escape(_CLOSE))


class ReplyParts:
    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self._known: dict[bytes, bytes] = {}  # part → its marker (bytes keep their hash: a lookup is cheap)

    def ref(self, part: bytes) -> bytes:
        """The marker for `part`, which is stored (and fsynced) the first time it is seen."""
        marker = self._known.get(part)
        if marker is None:
            digest = sha256_hex(part)
            if not self._store.has(digest):
                self._store.put_as(digest, part)  # durable before the reply that names it commits
            marker = _OPEN + digest.encode("ascii") + _CLOSE
            self._known[part] = marker
            if len(self._known) > 16:  # a few forms per policy and language: never many
                self._known.pop(next(iter(self._known)))
        return marker

    def expand(self, raw: bytes) -> bytes:
        """The reply as it is to be sent, its parts put back in place of their markers."""
        if _OPEN not in raw:
            return raw
        return _MARKER.sub(lambda m: self._store.get(m.group(1).decode("ascii")), raw)
