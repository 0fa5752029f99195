"""Authenticated encryption for what the window keeps on disk (AES-256-GCM).

The key lives in a file of its own (0600, created on first use) so that a copy of the
data folder or a backup of stored mails is useless without it. Key rotation and keys
from the environment are for the security issue; the file format leaves room for them
(a one-byte version and a key id in every blob).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
KEY_BYTES = 32
NONCE_BYTES = 12


class Cipher:
    def __init__(self, key: bytes, key_id: bytes = b"k1") -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the store key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key_id = key_id[:2].ljust(2, b"\0")

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return VERSION + self._key_id + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes = b"") -> bytes:
        if blob[:1] != VERSION:
            raise ValueError("unknown blob version")
        nonce = blob[3 : 3 + NONCE_BYTES]
        return self._aead.decrypt(nonce, blob[3 + NONCE_BYTES :], aad)


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, or create it (0600 in a 0700 folder) on a fresh installation."""
    if path.exists():
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise ValueError(f"key file {path} is not a {KEY_BYTES}-byte key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key
