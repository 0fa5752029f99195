"""The store keys: where they come from, which one seals, and rotating to a new one.

Keys (see docs/security.md, "Store keys"):

* the current key — `MADOGUCHI_STORE_KEY` (base64) if set, else the key file
  (`MADOGUCHI_STORE_KEY_FILE`, default data_dir/keys/store.key; 32 raw bytes, 0600 in a
  0700 folder, created on the first start);
* retired keys — in file mode `retired/<id>.key` next to the key file (0600, 0700 folder),
  kept while a rotation is re-encrypting and deleted once no blob names them;
* old keys from the environment — `MADOGUCHI_OLD_STORE_KEYS` (comma-separated base64),
  accepted for opening in either mode; and `MADOGUCHI_NEW_STORE_KEY`, the key an
  environment-mode rotation moves to, accepted for opening as well so that a service
  restarted in the middle of a rotation still reads everything.

A key's id is derived from the key (`bot.crypto.key_id_for`). `rotate` makes a new key
current, re-seals every blob of raw/, documents/, parts/ and ocr-cache/ one file at a time (temp
name, fsync, rename, folder fsync: a crash leaves each file sealed by the old or the new key,
both still held; running `rotate` again resumes), then deletes the retired keys once no blob
sealed with them remains.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag

from bot.crypto import HEADER_BYTES, KEY_BYTES, LEGACY_KEY_ID, Cipher, Keyring, key_id_for, load_or_create_key, new_key
from bot.rawstore import BlobStore, write_atomically
from config.settings import Settings, SettingsError

if TYPE_CHECKING:
    from bot.app import App

STORES = ("raw", "documents", "parts", "ocr-cache")  # folders under data_dir sealed with the store key
CHECKED_STORES = ("raw", "documents", "parts")  # the start-up check; OCR cache entries are disposable
OLD_KEYS_VAR = "MADOGUCHI_OLD_STORE_KEYS"
NEW_KEY_VAR = "MADOGUCHI_NEW_STORE_KEY"
START_CHECK_TRIES = 3  # blobs tried at start before concluding the keys do not open them


class StoreKeyError(SettingsError):
    """The keys given do not open the stored files (stops the start with one line)."""


class RotationError(Exception):
    """A rotation that cannot start or go on; the message says what the operator should do."""


# --------------------------------------------------------------------------- where keys live


def key_file(settings: Settings) -> Path:
    return settings.store_key_file or settings.data_dir / "keys" / "store.key"


def retired_dir(settings: Settings) -> Path:
    return key_file(settings).parent / "retired"


def env_mode(settings: Settings) -> bool:
    """True when the current key comes from MADOGUCHI_STORE_KEY (nothing is written to disk)."""
    return settings.store_key is not None


def key_source(settings: Settings) -> str:
    return "MADOGUCHI_STORE_KEY" if env_mode(settings) else f"the key file {key_file(settings)}"


def parse_key(name: str, value: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise SettingsError(f"{name}: not a base64 32-byte key; make one with `openssl rand -base64 32`")
    return key


def _env_keys(environ: Mapping[str, str]) -> tuple[list[bytes], bytes | None]:
    old = [parse_key(OLD_KEYS_VAR, v) for v in environ.get(OLD_KEYS_VAR, "").split(",") if v.strip()]
    new = environ.get(NEW_KEY_VAR, "").strip()
    return old, parse_key(NEW_KEY_VAR, new) if new else None


def _retired_files(settings: Settings) -> list[Path]:
    folder = retired_dir(settings)
    return sorted(folder.glob("*.key")) if folder.is_dir() else []


def load_keyring(settings: Settings, environ: Mapping[str, str] | None = None) -> Keyring:
    """The keys the settings name: current from the environment or the key file (created on a
    fresh installation), plus retired key files and the old/new keys from the environment."""
    env = os.environ if environ is None else environ
    old, new = _env_keys(env)
    others = list(old)
    if settings.store_key is not None:
        current = settings.store_key
        if new is not None:
            others.append(new)
    else:
        try:
            current = load_or_create_key(key_file(settings))
            for path in _retired_files(settings):
                others.append(load_or_create_key(path))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"store key: {exc}") from exc
    try:
        return Keyring(current, others)
    except ValueError as exc:
        raise SettingsError(f"store keys: {exc}") from exc


def open_keyring(settings: Settings, environ: Mapping[str, str] | None = None) -> Keyring:
    """`load_keyring`, then check that the keys open the stored files (what `build_app` calls)."""
    ring = load_keyring(settings, environ)
    check_keys_open(settings, ring)
    return ring


def check_keys_open(settings: Settings, ring: Keyring) -> None:
    """Refuse to start with keys that open none of the stored mails and documents.

    Reads headers until a blob names a key held (or the legacy id), then opens up to
    `START_CHECK_TRIES` such blobs; one that opens is enough. Nothing stored: nothing to check."""
    seen: dict[bytes, int] = {}
    tried: list[str] = []
    for store in CHECKED_STORES:
        root = settings.data_dir / store
        for path in _blob_paths(root):
            kid = _header_id(path)
            if kid is None:
                continue
            seen[kid] = seen.get(kid, 0) + 1
            if kid not in ring.ids and kid != LEGACY_KEY_ID:
                continue
            try:
                ring.open(path.read_bytes(), path.stem.encode())
                return
            except Exception as exc:  # noqa: BLE001 - any failure counts as "does not open"
                tried.append(f"{store}/{path.parent.name}/{path.name} ({type(exc).__name__})")
                if len(tried) >= START_CHECK_TRIES:
                    break
    if not seen:
        return
    if tried:
        why = f"{', '.join(tried)} did not open (GCM authentication failed)"
    else:
        ids = ", ".join(f"{k.hex()} ({n} files)" for k, n in sorted(seen.items()))
        why = (f"they were sealed with key id(s) {ids}, none of which is given "
               f"(held: {', '.join(k.hex() for k in ring.ids)})")
    hint = (" Give the key they were sealed with as MADOGUCHI_STORE_KEY, or as "
            f"{OLD_KEYS_VAR} during a rotation.")
    raise StoreKeyError(f"{key_source(settings)} does not open the stored files: {why}.{hint}")


# --------------------------------------------------------------------------- blobs on disk


def _blob_paths(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for sub in sorted(root.iterdir()):
        if sub.is_dir() and len(sub.name) == 2:
            yield from sorted(sub.glob("*.bin"))


def _header_id(path: Path) -> bytes | None:
    """The key id in a blob's first 3 bytes (None: too short or vanished meanwhile)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(HEADER_BYTES)
    except FileNotFoundError:
        return None
    return head[1:HEADER_BYTES] if len(head) == HEADER_BYTES else None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_key(path: Path, key: bytes) -> None:
    """Write a key file atomically, 0600 in a 0700 folder."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(path, key, tmp=path.with_name(path.name + ".tmp"))
    _fsync_dir(path.parent)


def reseal_file(ring: Keyring, path: Path) -> None:
    """Re-seal one blob under the current key, in place (temp name, fsync, rename), keeping
    its times (the OCR cache expires entries by them)."""
    st = path.stat()
    digest = path.stem
    data = ring.open(path.read_bytes(), digest.encode())
    BlobStore(path.parent.parent, ring).put_as(digest, data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _keyring_of(app: App) -> Keyring:
    cipher: Cipher = app.raw._cipher
    if not isinstance(cipher, Keyring):
        raise RotationError("this app was built without a keyring (bot.keys.open_keyring)")
    return cipher


# --------------------------------------------------------------------------- status


@dataclass
class KeyStatus:
    source: str
    current_key_id: str
    other_key_ids: list[str]  # held besides the current one: retired files, MADOGUCHI_OLD/NEW_STORE_KEY(S)
    retired_files: list[Path]
    blobs: dict[str, dict[str, int]]  # store -> key id (hex) -> files

    def lines(self) -> list[str]:
        out = [f"current key: {self.current_key_id} (from {self.source})",
               f"other keys held: {', '.join(self.other_key_ids) or 'none'}"]
        out += [f"retired key file: {p}" for p in self.retired_files]
        for store, counts in self.blobs.items():
            parts = ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())) or "empty"
            out.append(f"{store}/: {parts}")
        stale = {k for counts in self.blobs.values() for k in counts if k != self.current_key_id}
        if stale:
            out.append(f"files sealed with a key other than the current one: {', '.join(sorted(stale))} "
                       "(`rotate` re-seals them)")
        return out


def key_status(app: App) -> KeyStatus:
    """Current key id, other keys held, and files per key id per store (3 header bytes each)."""
    ring = _keyring_of(app)
    settings = app.settings
    blobs: dict[str, dict[str, int]] = {}
    for store in STORES:
        counts: dict[str, int] = {}
        for path in _blob_paths(settings.data_dir / store):
            kid = _header_id(path)
            name = kid.hex() if kid is not None else "unreadable"
            counts[name] = counts.get(name, 0) + 1
        blobs[store] = counts
    return KeyStatus(
        source=key_source(settings),
        current_key_id=ring.key_id.hex(),
        other_key_ids=[k.hex() for k in ring.other_ids],
        retired_files=[] if env_mode(settings) else _retired_files(settings),
        blobs=blobs,
    )


# --------------------------------------------------------------------------- rotation


@dataclass
class RotationReport:
    new_key_id: str
    resumed: bool  # no new key: an unfinished rotation was carried on to the current key
    reencrypted: dict[str, int] = field(default_factory=dict)  # store -> files re-sealed now
    unchanged: dict[str, int] = field(default_factory=dict)  # store -> files already under the key
    unreadable: list[str] = field(default_factory=list)  # raw/documents files no key opens (left as they are)
    dropped_cache_entries: int = 0  # OCR cache entries no key opens (removed, as a read would)
    retired_key_ids: list[str] = field(default_factory=list)  # no longer used by any file
    deleted_key_files: list[Path] = field(default_factory=list)
    finished: bool = False  # every file sealed with the new key; old keys gone
    seconds: float = 0.0
    instructions: list[str] = field(default_factory=list)  # what the operator must still do

    def lines(self) -> list[str]:
        verb = "carried on an unfinished rotation to" if self.resumed else "rotated to"
        out = [f"{verb} key {self.new_key_id} in {self.seconds:.1f} s"]
        out += [f"{s}/: {self.reencrypted.get(s, 0)} files re-encrypted, {self.unchanged.get(s, 0)} already current"
                for s in STORES]
        if self.dropped_cache_entries:
            out.append(f"ocr-cache/: {self.dropped_cache_entries} entries no key opens, removed")
        out += [f"no key opens {p}; left as it is" for p in self.unreadable]
        if self.retired_key_ids:
            out.append(f"old key(s) no longer used: {', '.join(self.retired_key_ids)}")
        out += [f"deleted {p}" for p in self.deleted_key_files]
        out.append("finished" if self.finished else "NOT finished: the old keys are kept; run `rotate` again")
        out += self.instructions
        return out


def rotate(app: App, new_key: bytes | None = None, environ: Mapping[str, str] | None = None) -> RotationReport:
    """Make a new key current and re-seal every stored file with it; see the module docstring.

    `new_key`: the key to move to (else MADOGUCHI_NEW_STORE_KEY; in file mode, else a fresh
    random key). In environment mode a new key must be given. With old keys still held (an
    interrupted rotation) and no new key given, the rotation is carried on to the current key.
    Refuses while `madoguchi run` holds the scheduler lock, or (PostgreSQL) while a
    `madoguchi worker` leads the window: their in-memory key would go on sealing with the
    old key."""
    from bot.runner import SchedulerBusy, mailbox_reader, scheduler_lock

    try:
        with scheduler_lock(app.settings.data_dir), mailbox_reader(app):
            return _rotate(app, new_key, os.environ if environ is None else environ)
    except SchedulerBusy as exc:
        raise RotationError(f"{exc} (a rotation needs the service stopped)") from exc


def _rotate(app: App, given: bytes | None, environ: Mapping[str, str]) -> RotationReport:
    start = time.monotonic()
    settings = app.settings
    ring = _keyring_of(app)
    if given is None:
        try:
            _, given = _env_keys(environ)
        except SettingsError as exc:
            raise RotationError(str(exc)) from exc
    env = env_mode(settings)
    resumed = False
    if given is not None:
        if len(given) != KEY_BYTES:
            raise RotationError("the new store key must be 32 bytes")
        kid = key_id_for(given)
        if kid == LEGACY_KEY_ID or (kid in ring.ids and ring.key(kid) != given):
            raise RotationError(f"the new key's id {kid.hex()} is taken; make another key")
        resumed = given == ring.key(ring.key_id)
        if not resumed:
            _switch(settings, ring, given, write=not env)
    elif ring.other_ids:
        resumed = True
    elif env:
        raise RotationError(
            "the store key comes from MADOGUCHI_STORE_KEY, so a new key cannot be written anywhere: "
            f"make one (`openssl rand -base64 32`), give it as {NEW_KEY_VAR} and run `rotate` again")
    else:
        _switch(settings, ring, new_key(ring.ids), write=True)

    report = RotationReport(new_key_id=ring.key_id.hex(), resumed=resumed)
    for store in STORES:
        _reseal_store(settings.data_dir / store, store, ring, report)

    remaining = {k for s in STORES for p in _blob_paths(settings.data_dir / s)
                 if (k := _header_id(p)) is not None and k != ring.key_id}
    report.finished = not remaining and not report.unreadable
    if report.finished:
        for kid in ring.other_ids:
            report.retired_key_ids.append(kid.hex())
            ring.forget(kid)
        if not env:
            for path in _retired_files(settings):
                if path.stem != ring.key_id.hex():
                    path.unlink()
                    report.deleted_key_files.append(path)
            if report.deleted_key_files:
                _fsync_dir(retired_dir(settings))
    report.instructions = _instructions(settings, ring, environ, report)
    report.seconds = time.monotonic() - start
    return report


def _switch(settings: Settings, ring: Keyring, key: bytes, *, write: bool) -> None:
    """Make `key` current; in file mode keep the old key as retired/<id>.key first, then
    replace the key file (each write atomic), so a crash in between loses no key."""
    old = ring.key_id
    if write:
        try:
            _write_key(retired_dir(settings) / f"{old.hex()}.key", ring.key(old))
            _write_key(key_file(settings), key)
        except OSError as exc:
            raise RotationError(f"cannot write the new key ({exc}); nothing was re-encrypted") from exc
    ring.make_current(key)


def _reseal_store(root: Path, store: str, ring: Keyring, report: RotationReport) -> None:
    done = unchanged = 0
    folders: set[Path] = set()
    for path in _blob_paths(root):
        kid = _header_id(path)
        if kid == ring.key_id:
            unchanged += 1
            continue
        try:
            reseal_file(ring, path)
        except FileNotFoundError:
            continue
        except (InvalidTag, ValueError):  # tampered or truncated, sealed with a key not given, bad version
            if store == "ocr-cache":
                path.unlink(missing_ok=True)
                report.dropped_cache_entries += 1
                folders.add(path.parent)
            else:
                report.unreadable.append(f"{store}/{path.parent.name}/{path.name}")
            continue
        done += 1
        folders.add(path.parent)
    for folder in folders:  # the renames must be on disk before an old key is deleted
        _fsync_dir(folder)
    report.reencrypted[store] = done
    report.unchanged[store] = unchanged


def _instructions(settings: Settings, ring: Keyring, environ: Mapping[str, str], report: RotationReport) -> list[str]:
    out: list[str] = []
    if not report.finished:
        out.append("keep every old key (files and variables) until a rotation finishes")
        return out
    if env_mode(settings) and settings.store_key != ring.key(ring.key_id):
        out.append(f"now set MADOGUCHI_STORE_KEY to the new key (the value of {NEW_KEY_VAR}), "
                   f"then remove {NEW_KEY_VAR} and {OLD_KEYS_VAR}; until then the service starts with the "
                   f"old key and opens the files only while {NEW_KEY_VAR} is still set")
    else:
        if environ.get(OLD_KEYS_VAR, "").strip():
            out.append(f"remove {OLD_KEYS_VAR}: no file needs those keys any more")
        if environ.get(NEW_KEY_VAR, "").strip():
            out.append(f"remove {NEW_KEY_VAR}: it is the current key now")
    if not env_mode(settings):
        out.append(f"back up the new key file {key_file(settings)} (separately from the data backups)")
    return out
