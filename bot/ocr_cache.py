"""OCR results kept across runs, encrypted like every other stored document.

OCR text is the text of identity documents, so the cache is sealed with the store key
(AES-GCM, the entry's name as associated data: an entry cannot be swapped for another),
written 0600 in a 0700 folder, and emptied of entries older than `ocr_cache_days` by the
daily housekeeping. The names are SHA-256 digests of pixels and settings: they say nothing
about whose document it was.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bot.crypto import Cipher


class EncryptedOcrCache:
    """A `parsers.ocr.ResultStore` on disk."""

    def __init__(self, root: Path, cipher: Cipher) -> None:
        self.root = root
        self._cipher = cipher

    def _path(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError("an OCR cache key is a SHA-256 hex digest")
        return self.root / key[:2] / f"{key}.ocr"

    def load(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return self._cipher.open(blob, key.encode())
        except Exception:  # noqa: BLE001 - another key, or a torn write: read it afresh
            path.unlink(missing_ok=True)
            return None

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self._cipher.seal(data, key.encode()))
        os.replace(tmp, path)

    def expire(self, max_age_days: int, *, now: float | None = None) -> int:
        """Remove entries not written for `max_age_days`; 0 keeps nothing at all."""
        if not self.root.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - max_age_days * 86400
        removed = 0
        for path in self.root.rglob("*.ocr"):
            try:
                if max_age_days == 0 or path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed
