"""Every file of the third-party PDF corpus goes through read_attachment within the limits.

The corpus (shared/corpora/pdf) holds fuzzer output, broken cross-reference tables,
encrypted files, Japanese CMaps and a decompression bomb. Nothing may raise, hang or
take the process down; encrypted files that need a password are unreadable, files that
open with the empty password are readable.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from bot.models import Attachment, AttachmentReading
from parsers.attachments import ReadLimits, read_attachment

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "pdf"
LIMITS = ReadLimits(timeout_seconds=30.0)
SLACK_SECONDS = 10.0  # process start, OCR stand-in, masking

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared PDF corpus not found at {CORPUS}")


class NoOcr:
    """The corpus tests the PDF reader and its limits, not OCR: scanned pages read as empty."""

    def image_to_text(self, image: Image.Image) -> str:
        return ""


def _read(path: Path) -> tuple[Path, AttachmentReading, float]:
    started = time.monotonic()
    reading = read_attachment(
        Attachment(filename=path.name, content_type="application/pdf", data=path.read_bytes()),
        ocr=NoOcr(),
        limits=LIMITS,
    )
    return path, reading, time.monotonic() - started


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[AttachmentReading, float]]:
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    with ThreadPoolExecutor(max_workers=4) as pool:  # each read is its own child process
        done = list(pool.map(_read, files))
    return {str(path.relative_to(CORPUS)): (reading, seconds) for path, reading, seconds in done}


@pytest.mark.slow
def test_every_file_is_read_without_exception_within_the_limit(
    results: dict[str, tuple[AttachmentReading, float]],
) -> None:
    assert len(results) > 250
    too_slow = {name: round(s, 1) for name, (_, s) in results.items() if s > LIMITS.timeout_seconds + SLACK_SECONDS}
    assert too_slow == {}
    for name, (reading, _) in results.items():
        assert isinstance(reading, AttachmentReading), name
        assert all(d.filename == Path(name).name for d in reading.documents), name
        if reading.unreadable_reason:
            assert [(d.kind, d.unreadable) for d in reading.documents] == [("unknown", True)], name


@pytest.mark.slow
def test_the_decompression_bomb_is_stopped_in_time(results: dict[str, tuple[AttachmentReading, float]]) -> None:
    reading, seconds = results["pdfjs/bomb_giant.pdf"]
    assert seconds < LIMITS.timeout_seconds + SLACK_SECONDS
    assert isinstance(reading, AttachmentReading)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "pdfplumber/password-example.pdf",
        "pypdf/encryption/r2-user-password.pdf",
        "pypdf/encryption/r4-aes-user-password.pdf",
        "pypdf/encryption/r6-both-passwords.pdf",
        "pdfminer-six/encryption/aes-256-r6.pdf",
    ],
)
def test_files_needing_a_password_are_unreadable(
    name: str, results: dict[str, tuple[AttachmentReading, float]]
) -> None:
    assert results[name][0].unreadable_reason == "encrypted"


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "pypdf/encryption/unencrypted.pdf",
        "pypdf/encryption/r2-empty-password.pdf",
        "pypdf/encryption/r6-empty-password.pdf",
        "pdfminer-six/jo.pdf",
        "pdfjs/noembed-sjis.pdf",
    ],
)
def test_files_that_open_without_a_password_are_readable(
    name: str, results: dict[str, tuple[AttachmentReading, float]]
) -> None:
    assert results[name][0].unreadable_reason is None


@pytest.mark.slow
def test_broken_files_are_unreadable(results: dict[str, tuple[AttachmentReading, float]]) -> None:
    for name in ("pdfplumber/empty.pdf", "pdfjs/bug1020226.pdf"):
        assert results[name][0].unreadable_reason is not None, name
