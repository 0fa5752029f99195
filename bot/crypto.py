"""Authenticated encryption for what the window keeps on disk (AES-256-GCM).

Every blob is `version (1 byte) | key id (2 bytes) | nonce (12 bytes) | ciphertext+tag`, sealed
with the blob's name as associated data (so a file renamed to another digest does not open).
The key id is derived from the key (`key_id_for`), so a `Keyring` holding several keys picks
the right one for each blob and blobs sealed before a key rotation still open. Where the keys
come from (key file or environment) and how they are rotated is `bot.keys`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
KEY_BYTES = 32
NONCE_BYTES = 12
HEADER_BYTES = 3  # version + key id: all `key_status` reads of a blob
LEGACY_KEY_ID = b"k1"  # blobs sealed before key ids were derived from the key; they open with any key held


def key_id_for(key: bytes) -> bytes:
    """The 2-byte id of a key: the first two bytes of SHA-256("madoguchi store key id" NUL key).

    Derived, not counted, so the same key has the same id wherever it is given (file or
    environment) and no table of ids has to be kept; a new key whose id is already taken
    is drawn again (`new_key`). Two bytes of a hash say nothing useful about the key."""
    return hashlib.sha256(b"madoguchi store key id\0" + key).digest()[:2]


def new_key(taken: Iterable[bytes] = ()) -> bytes:
    """32 random bytes whose id collides neither with `taken` ids nor with the legacy id."""
    avoid = {*taken, LEGACY_KEY_ID}
    while True:
        key = secrets.token_bytes(KEY_BYTES)
        if key_id_for(key) not in avoid:
            return key


class UnknownKeyError(ValueError):
    """The blob was sealed with a key this keyring does not hold."""


class Cipher:
    def __init__(self, key: bytes, key_id: bytes | None = None) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the store key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key = key
        self._key_id = key_id_for(key) if key_id is None else key_id[:2].ljust(2, b"\0")

    @property
    def key_id(self) -> bytes:
        """The id written into blobs this cipher seals."""
        return self._key_id

    def sealing_key(self) -> tuple[bytes, bytes]:
        """The key this cipher seals with now, and its id: `Cipher(*sealing_key())` seals as it
        does, and a helper process that only keeps new copies needs nothing more (not a
        keyring's other keys; `bot.read_ahead`)."""
        return self._key, self._key_id

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return VERSION + self._key_id + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes = b"") -> bytes:
        if blob[:1] != VERSION:
            raise ValueError("unknown blob version")
        nonce = blob[3 : 3 + NONCE_BYTES]
        return self._aead.decrypt(nonce, blob[3 + NONCE_BYTES :], aad)


class Keyring(Cipher):
    """Several keys by id: seals with the current one, opens with the one the blob names.

    A `Cipher` to the stores that use it (`BlobStore`, the OCR cache), and shared by them, so
    making another key current (`make_current`) switches every store at once."""

    def __init__(self, current: bytes, others: Iterable[bytes] = ()) -> None:
        super().__init__(current)
        self._keys: dict[bytes, bytes] = {}
        self._aeads: dict[bytes, AESGCM] = {}
        for key in (current, *others):
            self.add(key)

    def add(self, key: bytes) -> bytes:
        """Hold `key` for opening (not sealing); return its id. The same key twice is fine;
        two keys with one id are refused (draw another key)."""
        if len(key) != KEY_BYTES:
            raise ValueError("a store key must be 32 bytes")
        kid = key_id_for(key)
        held = self._keys.get(kid)
        if held is not None and held != key:
            raise ValueError(f"two different store keys have the id {kid.hex()}; make another key")
        self._keys[kid] = key
        self._aeads[kid] = AESGCM(key)
        return kid

    def make_current(self, key: bytes) -> bytes:
        """Seal with `key` from now on (the previous keys still open what they sealed)."""
        kid = self.add(key)
        self._aead = self._aeads[kid]
        self._key, self._key_id = key, kid
        return kid

    def forget(self, key_id: bytes) -> None:
        """Drop a key that no blob uses any more (never the current one)."""
        if key_id == self._key_id:
            raise ValueError("the current key cannot be forgotten")
        self._keys.pop(key_id, None)
        self._aeads.pop(key_id, None)

    @property
    def ids(self) -> list[bytes]:
        return list(self._keys)

    @property
    def other_ids(self) -> list[bytes]:
        """Ids of the keys held besides the current one (retired or accepted old keys)."""
        return [k for k in self._keys if k != self._key_id]

    def key(self, key_id: bytes) -> bytes:
        return self._keys[key_id]

    def open(self, blob: bytes, aad: bytes = b"") -> bytes:
        if blob[:1] != VERSION:
            raise ValueError("unknown blob version")
        kid = blob[1:HEADER_BYTES]
        nonce, body = blob[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES], blob[HEADER_BYTES + NONCE_BYTES :]
        aead = self._aeads.get(kid)
        if aead is not None:
            return aead.decrypt(nonce, body, aad)
        if kid == LEGACY_KEY_ID:
            for aead in self._aeads.values():
                try:
                    return aead.decrypt(nonce, body, aad)
                except InvalidTag:
                    continue
            raise InvalidTag
        raise UnknownKeyError(f"sealed with key id {kid.hex()}, which is not among the keys given")


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, or create it (0600 in a 0700 folder) on a fresh installation.

    Created whole or not at all: the key is written to a temporary file, then linked into
    place (link, unlike rename, never replaces a key another process made meanwhile). An
    empty key file, which only a crash of the older create-then-write code could leave,
    never sealed anything and is made again.
    """
    if path.exists():
        key = path.read_bytes()
        if key:
            if len(key) != KEY_BYTES:
                raise ValueError(f"key file {path} is not a {KEY_BYTES}-byte key")
            return key
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        return load_or_create_key(path)  # another process made it first: theirs is the key
    finally:
        tmp.unlink(missing_ok=True)
    return key
