"""Store keys: key file or environment, the start-up check, rotation (also interrupted), modes."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from bot import keys
from bot.app import App
from bot.crypto import LEGACY_KEY_ID, Cipher, Keyring, key_id_for
from bot.runner import run_once
from config.settings import SettingsError
from tests import factory
from tests.apps import make_app


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture(autouse=True)
def _no_key_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MADOGUCHI_STORE_KEY", keys.OLD_KEYS_VAR, keys.NEW_KEY_VAR):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = make_app(tmp_path)
    yield a
    a.close()


def deliver(app: App, raw: bytes, name: str) -> None:
    root = Path(app.settings.mailbox_url.removeprefix("maildir:"))
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "new" / name).write_bytes(raw)


def fill(app: App, n: int = 4) -> dict[str, dict[str, bytes]]:
    """One mail through the pipeline plus `n` blobs in each store; returns name -> plaintext."""
    deliver(app, factory.mail(sender="山田 太郎 <taro@example.com>", subject="問い合わせ",
                              body="個人情報の扱いについて教えてください。"), "1.test")
    run_once(app)
    assert app.ocr_cache is not None
    for i in range(n):
        app.raw.put(f"mail {i}".encode())
        app.documents.put(f"document {i}".encode() * 50)
        app.ocr_cache.save(hashlib.sha256(f"px{i}".encode()).hexdigest(), f"ocr {i}".encode())
    return contents(app)


def blobs(app: App, store: str) -> list[Path]:
    return sorted((app.settings.data_dir / store).glob("*/*.bin"))


def contents(app: App) -> dict[str, dict[str, bytes]]:
    ring = app.raw._cipher
    return {s: {p.stem: ring.open(p.read_bytes(), p.stem.encode()) for p in blobs(app, s)} for s in keys.STORES}


def ids_on_disk(app: App) -> set[bytes]:
    return {p.read_bytes()[1:3] for s in keys.STORES for p in blobs(app, s)}


def test_rotation_reseals_everything_and_deletes_the_old_key(app: App) -> None:
    before = fill(app)
    assert len(before["raw"]) >= 5 and len(before["documents"]) >= 4 and len(before["ocr-cache"]) == 4
    old_bytes = {p: p.read_bytes() for s in keys.STORES for p in blobs(app, s)}
    old_id = app.raw._cipher.key_id
    key_file = app.settings.data_dir / "keys" / "store.key"
    old_key = key_file.read_bytes()

    report = keys.rotate(app)

    new_key = key_file.read_bytes()
    assert new_key != old_key and report.new_key_id == key_id_for(new_key).hex() != old_id.hex()
    assert report.finished and not report.resumed and not report.unreadable
    assert report.reencrypted == {s: len(before[s]) for s in keys.STORES}
    assert report.retired_key_ids == [old_id.hex()]
    assert not list((key_file.parent / "retired").glob("*.key"))  # the old key is gone
    assert ids_on_disk(app) == {key_id_for(new_key)}
    assert all(p.read_bytes() != b for p, b in old_bytes.items())
    assert contents(app) == before  # same app (shared keyring), now sealing with the new key
    app.raw.put(b"after")
    assert app.raw.get(hashlib.sha256(b"after").hexdigest()) == b"after"
    fresh = make_app(Path(str(app.settings.data_dir.parent)))  # a restart reads it all with the key file alone
    try:
        assert contents(fresh)["documents"] == before["documents"]
        status = keys.key_status(fresh)
        assert status.current_key_id == report.new_key_id and status.other_key_ids == []
        assert set(status.blobs["raw"]) == {report.new_key_id}
    finally:
        fresh.close()
    with pytest.raises(InvalidTag):  # the old key opens nothing any more
        Cipher(old_key).open(blobs(app, "raw")[0].read_bytes(), blobs(app, "raw")[0].stem.encode())


def test_an_interrupted_rotation_leaves_everything_readable_and_resumes(
        app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = fill(app)
    real = keys.reseal_file
    calls = {"n": 0}

    def crash_after_five(ring: Keyring, path: Path) -> None:
        if calls["n"] == 5:
            raise KeyboardInterrupt("power cut")
        calls["n"] += 1
        real(ring, path)

    monkeypatch.setattr(keys, "reseal_file", crash_after_five)
    with pytest.raises(KeyboardInterrupt):
        keys.rotate(app)
    monkeypatch.setattr(keys, "reseal_file", real)
    assert len(ids_on_disk(app)) == 2  # some files old key, some new
    assert len(list((app.settings.data_dir / "keys" / "retired").glob("*.key"))) == 1

    app.close()
    restarted = make_app(tmp_path)  # a restart midway opens every file (retired key still held)
    assert contents(restarted) == before
    status = keys.key_status(restarted)
    assert len(status.other_key_ids) == 1 and len(status.retired_files) == 1
    report = keys.rotate(restarted)
    assert report.resumed and report.finished
    assert sum(report.reencrypted.values()) == sum(len(v) for v in before.values()) - 5
    assert ids_on_disk(restarted) == {bytes.fromhex(report.new_key_id)}
    assert not list((restarted.settings.data_dir / "keys" / "retired").glob("*.key"))
    assert contents(restarted) == before
    restarted.close()


def test_a_tampered_blob_does_not_open(app: App) -> None:
    digest = app.raw.put(b"a mail")
    path = blobs(app, "raw")[0]
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidTag):
        app.raw.get(digest)


def test_a_blob_renamed_to_another_digest_does_not_open(app: App) -> None:
    app.raw.put(b"a mail")
    path = blobs(app, "raw")[0]
    other = hashlib.sha256(b"another mail").hexdigest()
    target = app.settings.data_dir / "raw" / other[:2] / f"{other}.bin"
    target.parent.mkdir(exist_ok=True)
    path.rename(target)
    with pytest.raises(InvalidTag):
        app.raw.get(other)


def test_rotation_reports_an_unreadable_file_and_keeps_the_old_key(app: App) -> None:
    app.raw.put(b"good")
    digest = app.raw.put(b"bad")
    path = app.settings.data_dir / "raw" / digest[:2] / f"{digest}.bin"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    report = keys.rotate(app)
    assert not report.finished and report.unreadable == [f"raw/{digest[:2]}/{digest}.bin"]
    assert len(list((app.settings.data_dir / "keys" / "retired").glob("*.key"))) == 1


def test_blobs_from_before_key_ids_open_and_are_resealed(app: App) -> None:
    legacy = Cipher(app.settings.data_dir.joinpath("keys", "store.key").read_bytes(), LEGACY_KEY_ID)
    digest = hashlib.sha256(b"old mail").hexdigest()
    path = app.settings.data_dir / "raw" / digest[:2] / f"{digest}.bin"
    path.parent.mkdir(parents=True, mode=0o700)
    path.write_bytes(legacy.seal(b"old mail", digest.encode()))
    assert app.raw.get(digest) == b"old mail"
    assert keys.key_status(app).blobs["raw"] == {LEGACY_KEY_ID.hex(): 1}
    report = keys.rotate(app)
    assert report.finished and report.reencrypted["raw"] == 1
    assert app.raw.get(digest) == b"old mail"


def test_environment_key_and_its_rotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    app = make_app(tmp_path, MADOGUCHI_STORE_KEY=b64(k1))
    before = fill(app, 2)
    assert not (tmp_path / "data" / "keys" / "store.key").exists()  # nothing written to disk
    assert ids_on_disk(app) == {key_id_for(k1)}
    with pytest.raises(keys.RotationError, match="MADOGUCHI_NEW_STORE_KEY"):
        keys.rotate(app)  # no place to write a new key: it must be given

    report = keys.rotate(app, environ={keys.NEW_KEY_VAR: b64(k2)})
    assert report.finished and report.new_key_id == key_id_for(k2).hex()
    assert ids_on_disk(app) == {key_id_for(k2)}
    assert any("now set MADOGUCHI_STORE_KEY" in line for line in report.instructions)
    assert not (tmp_path / "data" / "keys").exists() or not list((tmp_path / "data" / "keys").rglob("*.key"))
    app.close()

    with pytest.raises(SettingsError, match="MADOGUCHI_STORE_KEY does not open the stored files"):
        make_app(tmp_path, MADOGUCHI_STORE_KEY=b64(k1))  # forgot to switch (and NEW no longer set)
    monkeypatch.setenv(keys.NEW_KEY_VAR, b64(k2))
    make_app(tmp_path, MADOGUCHI_STORE_KEY=b64(k1)).close()  # still set: starts and reads
    monkeypatch.delenv(keys.NEW_KEY_VAR)
    switched = make_app(tmp_path, MADOGUCHI_STORE_KEY=b64(k2))
    assert contents(switched) == before
    switched.close()


def test_environment_rotation_interrupted_then_switched_resumes_with_old_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    app = make_app(tmp_path, MADOGUCHI_STORE_KEY=b64(k1))
    before = fill(app, 2)
    real = keys.reseal_file
    calls = {"n": 0}

    def crash_after_two(ring: Keyring, path: Path) -> None:
        if calls["n"] == 2:
            raise KeyboardInterrupt
        calls["n"] += 1
        real(ring, path)

    monkeypatch.setattr(keys, "reseal_file", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        keys.rotate(app, new_key=k2)
    monkeypatch.setattr(keys, "reseal_file", real)
    app.close()

    monkeypatch.setenv(keys.OLD_KEYS_VAR, b64(k1))  # the operator switched, keeping the old key accepted
    switched = make_app(tmp_path, MADOGUCHI_STORE_KEY=b64(k2))
    assert contents(switched) == before
    report = keys.rotate(switched)  # no new key: carries on to the current one
    assert report.resumed and report.finished and report.new_key_id == key_id_for(k2).hex()
    assert any(keys.OLD_KEYS_VAR in line for line in report.instructions)
    assert ids_on_disk(switched) == {key_id_for(k2)}
    switched.close()


def test_a_wrong_key_stops_the_start_with_one_clear_line(tmp_path: Path) -> None:
    app = make_app(tmp_path, MADOGUCHI_STORE_KEY=b64(os.urandom(32)))
    app.raw.put(b"a mail")
    app.close()
    with pytest.raises(SettingsError) as err:
        make_app(tmp_path, MADOGUCHI_STORE_KEY=b64(os.urandom(32)))
    assert str(err.value).startswith("MADOGUCHI_STORE_KEY does not open the stored files: ")
    # same id, other key (as if two keys collided): the blob is tried and fails GCM
    blob = next((tmp_path / "data" / "raw").glob("*/*.bin"))
    key = os.urandom(32)
    data = bytearray(blob.read_bytes())
    data[1:3] = key_id_for(key)
    blob.write_bytes(bytes(data))
    with pytest.raises(SettingsError, match="did not open"):
        make_app(tmp_path, MADOGUCHI_STORE_KEY=b64(key))


def test_a_wrong_key_file_stops_the_start(app: App, tmp_path: Path) -> None:
    app.documents.put(b"a passport")
    app.close()
    (tmp_path / "data" / "keys" / "store.key").write_bytes(os.urandom(32))
    with pytest.raises(SettingsError, match="the key file .*store.key does not open the stored files"):
        make_app(tmp_path)


def test_a_bad_old_key_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.OLD_KEYS_VAR, "not base64!")
    with pytest.raises(SettingsError, match=keys.OLD_KEYS_VAR):
        make_app(tmp_path)


def test_the_key_file_setting_is_used_and_rotated(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "madoguchi.key"
    app = make_app(tmp_path, MADOGUCHI_STORE_KEY_FILE=str(key_file))
    app.raw.put(b"x")
    first = key_file.read_bytes()
    assert not (tmp_path / "data" / "keys" / "store.key").exists()
    keys.rotate(app)
    assert key_file.read_bytes() != first and ids_on_disk(app) == {key_id_for(key_file.read_bytes())}
    app.close()


def test_file_modes(app: App) -> None:
    fill(app, 1)
    data = app.settings.data_dir
    keys.rotate(app)
    key_dir = data / "keys"

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(key_dir) == 0o700 and mode(key_dir / "store.key") == 0o600
    assert (data / "raw").is_dir() and (data / "documents").is_dir()
    for store in keys.STORES:
        root = data / store
        if not root.exists():
            continue  # a store's folder is made with its first file (parts/: the first reply with the form)
        assert mode(root) == 0o700, store
        for p in root.rglob("*"):
            assert mode(p) == (0o700 if p.is_dir() else 0o600), p


def test_retired_key_file_mode_during_a_rotation(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    app.raw.put(b"x")

    def crash(ring: Keyring, path: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(keys, "reseal_file", crash)
    with pytest.raises(KeyboardInterrupt):
        keys.rotate(app)
    retired = app.settings.data_dir / "keys" / "retired"
    [key_file] = retired.glob("*.key")
    assert stat.S_IMODE(retired.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_rotation_refuses_while_the_service_runs(app: App) -> None:
    from bot.runner import scheduler_lock

    with scheduler_lock(app.settings.data_dir), pytest.raises(keys.RotationError, match="service stopped"):
        keys.rotate(app)


def test_keyring_refuses_two_keys_with_one_id() -> None:
    ring = Keyring(os.urandom(32))
    clash = bytearray(ring.key(ring.key_id))
    with pytest.raises(ValueError):
        ring.make_current(os.urandom(31))
    ring.add(bytes(clash))  # the same key twice is fine
    assert ring.other_ids == []


def test_a_key_file_is_created_whole_and_an_empty_one_from_a_crash_is_made_again(tmp_path: Path) -> None:
    """The first start killed between creating the key file and writing it left it empty, and
    every later start refused ('not a 32-byte key'): the store was bricked before it held anything."""
    from bot.crypto import KEY_BYTES, load_or_create_key

    path = tmp_path / "keys" / "store.key"
    key = load_or_create_key(path)
    assert len(key) == KEY_BYTES and path.read_bytes() == key
    assert sorted(p.name for p in path.parent.iterdir()) == ["store.key"]  # no temporary left
    assert load_or_create_key(path) == key
    path.write_bytes(b"")
    fresh = load_or_create_key(path)
    assert len(fresh) == KEY_BYTES and path.read_bytes() == fresh
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="not a 32-byte key"):
        load_or_create_key(path)
