"""Content-addressed, encrypted storage of raw messages and documents.

Bytes are kept before anything reads them (so no message can be lost to a parser crash)
and named by their SHA-256 (so the same bytes delivered twice are stored once). Each
file is written to a temporary name and renamed, so a crash leaves either the whole file
or none; it is on disk (fsynced) before anything that relies on it commits.

A batch of mail is made durable together: `put(data, sync=False)` writes and renames at
once, and `sync()` makes everything so written durable with one call (`syncfs` on Linux)
before the case changes that refer to it commit. One flush of the file system per batch
costs about what one file's fsync does; a process killed in between loses nothing either
way (the page cache outlives the process), and a power cut in between loses only bytes
whose mail is still unmarked in the mailbox, to be read again.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from bot.crypto import Cipher


def write_atomically(path: Path, data: bytes, tmp: Path | None = None, *, sync: bool = True) -> None:
    """`path` holds all of `data` or what it held before, never part of it (0600; a crash
    leaves at most the temporary file, which housekeeping removes). `sync=False` leaves the
    fsync to the caller's barrier (`sync_paths`)."""
    tmp = tmp or path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        syncfs: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # not Linux (or no glibc symbol): fsync file by file
        return None
    return syncfs


_SYNCFS = _load_syncfs()


def sync_paths(paths: list[Path]) -> None:
    """Make these files, and their names in their folders, durable: one `syncfs` of the file
    system that holds them, or else an fsync of each file and each folder."""
    if not paths:
        return
    if _SYNCFS is not None:
        fd = os.open(paths[0].parent, os.O_RDONLY)
        try:
            if _SYNCFS(fd) == 0:
                return
        finally:
            os.close(fd)
    for target in [*paths, *{p.parent for p in paths}]:  # syncfs refused: the slow, sure way
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    def __init__(self, root: Path, cipher: Cipher) -> None:
        self.root = root
        self._cipher = cipher
        self._unsynced: list[Path] = []

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.bin"

    def put(self, data: bytes, *, sync: bool = True) -> str:
        """Store `data`; with `sync=False` it is durable only after the next `sync()`."""
        digest = sha256_hex(data)
        path = self._path(digest)
        if not path.exists():
            self.put_as(digest, data, sync=sync)
        elif not sync:  # kept by another process (the read-ahead), perhaps not yet on disk: the barrier covers it
            self._unsynced.append(path)
        return digest

    def put_as(self, digest: str, data: bytes, *, sync: bool = True) -> None:
        """Store under a digest of something else (the OCR cache names results by the
        pixels they were read from); the name is bound to the sealed bytes all the same."""
        path = self._path(digest)
        if not path.parent.is_dir():
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)  # `parents` alone would make it 0755
            path.parent.mkdir(exist_ok=True, mode=0o700)
        write_atomically(path, self._cipher.seal(data, digest.encode()), sync=sync)
        if not sync:
            self._unsynced.append(path)

    def sync(self) -> None:
        """The barrier for `put(sync=False)`: everything written so far is on disk after it."""
        sync_paths(self._unsynced)  # raises with the list kept: the next barrier tries them again
        self._unsynced = []

    def get(self, digest: str) -> bytes:
        return self._cipher.open(self._path(digest).read_bytes(), digest.encode())

    def handover(self) -> tuple[Path, bytes, bytes]:
        """What another process needs to keep copies here as this store does: `keeper()`."""
        return (self.root, *self._cipher.sealing_key())

    @classmethod
    def keeper(cls, handover: tuple[Path, bytes, bytes]) -> BlobStore:
        """A store over `handover()`'s folder that seals with its current key (and opens only
        what that key sealed)."""
        root, key, key_id = handover
        return cls(root, Cipher(key, key_id))

    def has(self, digest: str) -> bool:
        return self._path(digest).exists()

    def delete(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)
