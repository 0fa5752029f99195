"""OCR results kept across runs, encrypted like every other stored document.

OCR text is the text of identity documents, so the cache is a `BlobStore` of its own: sealed
with the store key (AES-GCM, the entry's name as associated data, so an entry cannot be
swapped for another), written 0600 in 0700 folders, and emptied of entries older than
`ocr_cache_days` by the daily housekeeping. The names are SHA-256 digests of pixels and
reader settings: they say nothing about whose document it was.
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.crypto import Cipher
from bot.rawstore import BlobStore


class EncryptedOcrCache:
    """A `parsers.ocr.ResultStore` on disk."""

    def __init__(self, root: Path, cipher: Cipher) -> None:
        self.root = root
        self._blobs = BlobStore(root, cipher)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError("an OCR cache key is a SHA-256 hex digest")
        return self._blobs._path(key)

    def load(self, key: str) -> bytes | None:
        self._path(key)  # refuse a name that is not a digest before touching the disk
        try:
            return self._blobs.get(key)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - another key, or a torn write: read it afresh
            self._blobs.delete(key)
            return None

    def save(self, key: str, data: bytes) -> None:
        self._path(key)
        self._blobs.put_as(key, data)

    def expire(self, max_age_days: int, *, now: float | None = None) -> int:
        """Remove entries not written for `max_age_days`; 0 keeps nothing at all."""
        if not self.root.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - max_age_days * 86400
        removed = 0
        for path in self.root.rglob("*.bin"):
            try:
                if max_age_days == 0 or path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed
