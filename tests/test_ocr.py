"""parsers.ocr: lighting flattening, the choice of passes, and word boxes in caller pixels."""

from __future__ import annotations

from pathlib import Path
from statistics import pstdev
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from parsers import ocr as ocr_module
from parsers.ocr import (
    TesseractOcr,
    _flatten_lighting,
    _wants_inverted_pass,
    ocr_available,
)

FONT = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")


def _shadowed_page(width: int = 800, height: int = 600) -> Image.Image:
    """White paper lit from the right: the left quarter in shadow (grey 70), a ramp
    to full light (235); black ink strokes (a few bars) across both parts."""
    page = Image.new("L", (width, height))
    ramp = [70 if x < width // 4 else min(235, 70 + (x - width // 4) // 2) for x in range(width)]
    page.putdata([ramp[x] for _ in range(height) for x in range(width)])
    draw = ImageDraw.Draw(page)
    for y in range(100, 500, 80):
        draw.rectangle((40, y, width - 40, y + 6), fill=20)  # ink, darkened by the shadow too
    return page


def _values(image: Image.Image, points: list[tuple[int, int]]) -> list[int]:
    out: list[int] = []
    for xy in points:
        value = image.getpixel(xy)
        assert isinstance(value, int)
        out.append(value)
    return out


def test_flattening_makes_a_shadowed_background_uniform() -> None:
    page = _shadowed_page()
    paper = [(x, y) for x in range(60, 740, 40) for y in (50, 150, 300, 450)]  # between the bars
    ink = [(x, 103) for x in range(60, 740, 40)]
    before = _values(page, paper)
    assert max(before) - min(before) > 150  # the shadow: paper from 70 to 235
    flat = _flatten_lighting(page)
    assert flat.size == page.size and flat.mode == "L"
    after = _values(flat, paper)
    assert min(after) >= 200 and pstdev(after) < 10, after  # paper white everywhere
    assert max(_values(flat, ink)) < 100  # ink still dark, in the shadow as in the light


def test_flattening_leaves_an_evenly_lit_page_as_it_is() -> None:
    page = Image.new("L", (400, 300), 240)
    ImageDraw.Draw(page).rectangle((50, 100, 350, 110), fill=10)
    flat = _flatten_lighting(page)
    assert _values(flat, [(20, 20), (380, 280)]) == [255, 255]
    assert _values(flat, [(200, 105)]) == [0]


def test_the_inverted_pass_is_skipped_on_dense_pages_only() -> None:
    card = (
        "運転免許証\n氏名 村上 直樹 昭和49年05月30日生\n住所 例島県例島市中区見本町一丁目7番3号\n交付 令和05年06月22日"
    )
    form = "個人情報開示等請求書 株式会社クロス・プロップワークス 御中\n" * 20
    assert _wants_inverted_pass(card)
    assert _wants_inverted_pass("")
    assert _wants_inverted_pass("ABCDEFGHIJ 0123456789 " * 50)  # Latin text does not count
    assert not _wants_inverted_pass(form)


class _RecordingTesseract(TesseractOcr):
    """TesseractOcr whose Tesseract call returns a canned first-pass text and records configs."""

    def __init__(self, first_text: str, fail_first: bool = False) -> None:
        super().__init__()
        self.first_text = first_text
        self.fail_first = fail_first
        self.configs: list[str] = []

    def _data(self, image: Image.Image, config: str) -> dict[str, list[Any]]:
        self.configs.append(config)
        if config == "--psm 3" and self.fail_first:
            raise RuntimeError("tesseract crashed")
        text = self.first_text if config == "--psm 3" else "SECOND"
        return {
            "text": [text],
            "block_num": [1],
            "par_num": [1],
            "line_num": [1],
            "left": [10],
            "top": [10],
            "width": [100],
            "height": [20],
        }


def test_a_dense_page_is_read_in_one_pass() -> None:
    engine = _RecordingTesseract("個人情報開示等請求書" * 30)
    text = engine.image_to_text(Image.new("RGB", (1240, 1754), "white"))
    assert engine.configs == ["--psm 3"]
    assert "SECOND" not in text


def test_a_card_is_read_in_both_passes() -> None:
    engine = _RecordingTesseract("運転免許証")
    assert engine.image_to_text(Image.new("RGB", (1400, 900), "white")) == "運転免許証\nSECOND"
    assert engine.configs == ["--psm 3", "--psm 11"]


def test_the_inverted_pass_still_runs_when_the_first_fails() -> None:
    engine = _RecordingTesseract("", fail_first=True)
    assert engine.image_to_text(Image.new("RGB", (1400, 900), "white")) == "SECOND"


@pytest.mark.skipif(not FONT.is_file(), reason=f"Japanese font not found at {FONT}")
def test_a_shadowed_small_card_is_read_with_boxes_in_the_callers_pixels() -> None:
    if not ocr_available():
        pytest.skip("Tesseract with Japanese data is not installed")
    image = Image.new("L", (700, 220), 235)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 260, 220), fill=90)  # a hard shadow over the left part of the text
    font = ImageFont.truetype(str(FONT), 40)
    draw.text((40, 40), "個人番号カード", font=font, fill=15)
    draw.text((40, 130), "123456789012", font=font, fill=15)
    words = TesseractOcr().image_to_words(image.convert("RGB"))
    text = "".join(w.text for w in words)
    assert "個人番号" in text, text
    digits = [w for w in words if w.text.isdigit() and len(w.text) >= 6]
    assert digits, words
    for word in digits:  # the image was upscaled for OCR: boxes must be mapped back
        assert 30 <= word.left <= 60 and 120 <= word.top <= 150, word
        assert word.left + word.width <= 340 and word.height <= 60, word


def test_the_inverted_pass_reads_a_whole_page_at_a_bounded_size() -> None:
    """The sparse inverted pass is for big white-on-colour words on cards; on an A4 page
    at full size it took 6 s of the reading's 7."""
    page = Image.new("L", (1654, 2339), 255)
    first, second = ocr_module._passes(page, 1000, 2800)
    assert first.image.size == (1654, 2339) and first.scale == 1.0
    assert max(second.image.size) == ocr_module._INVERTED_MAX_SIDE
    assert second.scale == pytest.approx(1400 / 2339)
    card = Image.new("L", (1086, 724), 255)
    assert [p.image.size for p in ocr_module._passes(card, 1000, 2800)] == [(1086, 724), (1086, 724)]
    photo = Image.new("L", (1600, 2058), 255)  # a phone photo of a page keeps its detail
    assert [p.image.size for p in ocr_module._passes(photo, 1000, 2800)] == [(1600, 2058), (1600, 2058)]
