"""OCR results kept across runs: encrypted, keyed by pixels and settings, expired by housekeeping."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from bot.app import build_app
from bot.crypto import Cipher
from bot.housekeeping import housekeep
from bot.ocr_cache import EncryptedOcrCache
from config.settings import load_settings
from parsers import ocr as ocr_module
from parsers.ocr import TesseractOcr
from tests.test_housekeeping import env_for

KEY = bytes(range(32))


def _page(text_mark: int) -> Image.Image:
    image = Image.new("L", (400, 200), 255)
    ImageDraw.Draw(image).rectangle((20, 20, 20 + text_mark, 60), fill=0)
    return image


class _CountingTesseract:
    """Stands in for pytesseract's TSV output; counts the calls a cache must spare."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, engine: TesseractOcr, image: Image.Image, config: str) -> dict[str, list[Any]]:
        self.calls += 1
        return {"text": ["山田", "太郎"], "block_num": [1, 1], "par_num": [1, 1], "line_num": [1, 1],
                "left": [10, 60], "top": [5, 5], "width": [40, 40], "height": [20, 20]}


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> _CountingTesseract:
    fake = _CountingTesseract()
    monkeypatch.setattr(ocr_module.TesseractOcr, "_data", lambda self, image, config: fake(self, image, config))
    return fake


def test_a_second_engine_reads_the_stored_result_instead_of_running_tesseract(
    tmp_path: Path, counting: _CountingTesseract
) -> None:
    store = EncryptedOcrCache(tmp_path / "ocr-cache", Cipher(KEY))
    first = TesseractOcr(store=store)
    words = first.image_to_words(_page(10))
    calls = counting.calls
    assert calls >= 1 and [w.text for w in words][:2] == ["山田", "太郎"]
    again = TesseractOcr(store=store)  # a new process: nothing in memory
    assert again.image_to_words(_page(10)) == words
    assert again.image_to_text(_page(10)) == first.image_to_text(_page(10))
    assert counting.calls == calls
    TesseractOcr(store=store).image_to_text(_page(30))  # other pixels: read afresh
    assert counting.calls > calls
    TesseractOcr(store=store, lang="eng").image_to_text(_page(10))  # other settings: read afresh
    assert counting.calls > calls + 1


def test_stored_results_are_sealed_private_and_bound_to_their_name(tmp_path: Path, counting: _CountingTesseract) -> None:
    root = tmp_path / "ocr-cache"
    store = EncryptedOcrCache(root, Cipher(KEY))
    TesseractOcr(store=store).image_to_text(_page(10))
    [entry] = list(root.rglob("*.bin"))
    blob = entry.read_bytes()
    assert "山田".encode() not in blob and b"\\u5c71" not in blob
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    other = root / "00" / ("0" * 64 + ".bin")
    other.parent.mkdir()
    other.write_bytes(blob)  # moved under another name: it does not open
    assert store.load("0" * 64) is None and not other.exists()
    assert EncryptedOcrCache(root, Cipher(bytes(32))).load(entry.stem) is None  # another key
    with pytest.raises(ValueError):
        store.load("../../etc/passwd")


def test_a_broken_entry_costs_only_a_fresh_read(tmp_path: Path, counting: _CountingTesseract) -> None:
    root = tmp_path / "ocr-cache"
    store = EncryptedOcrCache(root, Cipher(KEY))
    TesseractOcr(store=store).image_to_text(_page(10))
    [entry] = list(root.rglob("*.bin"))
    entry.write_bytes(b"\x01k1" + b"\0" * 40)
    calls = counting.calls
    assert TesseractOcr(store=store).image_to_text(_page(10)).startswith("山田")
    assert counting.calls > calls


def test_housekeeping_expires_old_results_and_the_setting_can_turn_the_cache_off(tmp_path: Path) -> None:
    app = build_app(load_settings(environ={**env_for(tmp_path), "MADOGUCHI_OCR_CACHE_DAYS": "7"}))
    try:
        assert app.ocr_cache is not None
        old, new = "a" * 64, "b" * 64
        app.ocr_cache.save(old, b"{}")
        app.ocr_cache.save(new, b"{}")
        past = time.time() - 8 * 86400
        os.utime(app.ocr_cache._path(old), (past, past))
        report = housekeep(app)
        assert report.ocr_results_expired == 1
        assert app.ocr_cache.load(old) is None and app.ocr_cache.load(new) == b"{}"
    finally:
        app.close()
    off = build_app(load_settings(environ={**env_for(tmp_path / "2"), "MADOGUCHI_OCR_CACHE_DAYS": "0"}))
    try:
        assert off.ocr_cache is None
    finally:
        off.close()
