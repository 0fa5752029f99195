"""The skew estimate on drawn pages: known angles come back, straight and empty pages stay."""

from __future__ import annotations

import random

import pytest
from PIL import Image, ImageDraw

from parsers.deskew import estimate_skew, straightened


def _page(width: int = 900, height: int = 1200, seed: int = 3) -> Image.Image:
    """Lines of 'words' (dark blocks of random widths) on paper, like a printed page."""
    rnd = random.Random(seed)
    page = Image.new("RGB", (width, height), (246, 244, 240))
    draw = ImageDraw.Draw(page)
    for top in range(80, height - 80, 42):
        left = 70
        while left < width - 120:
            word = rnd.randint(20, 90)
            draw.rectangle((left, top, left + word, top + 16), fill=(30, 30, 30))
            left += word + rnd.randint(10, 24)
    return page


@pytest.mark.parametrize("angle", [-12.0, -7.5, -4.0, 2.5, 6.0, 10.0])
def test_a_turned_page_gives_back_the_angle(angle: float) -> None:
    turned = _page().rotate(angle, expand=True, fillcolor=(120, 96, 72), resample=Image.Resampling.BICUBIC)
    assert estimate_skew(turned) == pytest.approx(-angle, abs=0.5)


def test_a_straight_page_and_a_landscape_card_stay_as_they_are() -> None:
    assert abs(estimate_skew(_page())) <= 0.25
    assert abs(estimate_skew(_page(1100, 700, seed=5))) <= 0.25


def test_pages_without_ink_or_too_small_give_zero() -> None:
    assert estimate_skew(Image.new("RGB", (800, 600), "white")) == 0.0
    assert estimate_skew(Image.new("L", (40, 30), 0)) == 0.0


def test_straightening_fills_the_uncovered_corners_with_paper() -> None:
    grey = straightened(Image.new("L", (400, 300), 0), 8.0)
    assert grey.size[0] > 400 and grey.getpixel((0, 0)) == 255
    colour = straightened(Image.new("RGB", (400, 300), (0, 0, 0)), -8.0)
    assert colour.mode == "RGB" and colour.getpixel((0, 0)) == (255, 255, 255)
