"""Content-addressed, encrypted storage of raw messages and documents.

Bytes are kept before anything reads them (so no message can be lost to a parser crash)
and named by their SHA-256 (so the same bytes delivered twice are stored once). Each
file is written to a temporary name, fsynced and renamed, so a crash leaves either the
whole file or none.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from bot.crypto import Cipher


def write_atomically(path: Path, data: bytes, tmp: Path | None = None) -> None:
    """`path` holds all of `data` or what it held before, never part of it (0600; a crash
    leaves at most the temporary file, which housekeeping removes)."""
    tmp = tmp or path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    def __init__(self, root: Path, cipher: Cipher) -> None:
        self.root = root
        self._cipher = cipher

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.bin"

    def put(self, data: bytes) -> str:
        digest = sha256_hex(data)
        if not self._path(digest).exists():
            self.put_as(digest, data)
        return digest

    def put_as(self, digest: str, data: bytes) -> None:
        """Store under a digest of something else (the OCR cache names results by the
        pixels they were read from); the name is bound to the sealed bytes all the same."""
        path = self._path(digest)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)  # `parents` alone would make it 0755
        path.parent.mkdir(exist_ok=True, mode=0o700)
        write_atomically(path, self._cipher.seal(data, digest.encode()))

    def get(self, digest: str) -> bytes:
        return self._cipher.open(self._path(digest).read_bytes(), digest.encode())

    def has(self, digest: str) -> bool:
        return self._path(digest).exists()

    def delete(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)
