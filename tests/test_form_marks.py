"""Check boxes of our own request form, read from scans and photos (parsers.form_marks).

The form is the real one (`replies.form_pdf`), rendered, marked by hand-like strokes
drawn here (independently of bench/accuracy), degraded, and read by the real reader; the
slow tests also use the real Tesseract.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pdfplumber
import pypdfium2
import pytest
from PIL import Image, ImageDraw, ImageFilter

from bot.models import Attachment
from parsers.attachments import read_attachment
from parsers.form_marks import MARK_PT2, _decide, _homography, _ink, _project, read_marks
from parsers.ocr import OcrWord, TesseractOcr
from parsers.pdf import images_to_pdf
from replies.form_pdf import build_request_form
from tests.test_documents import needs_font, shared_tesseract

DPI = 150
SCALE = DPI / 72
FEES = {"notify_purpose": 1000, "disclose": 1000}
INK = (30, 30, 40)

pytestmark = needs_font


def _form(fees: dict[str, int] = FEES, company: str = "株式会社テスト商事") -> bytes:
    return build_request_form(
        company_name=company, window_name="お客様相談室", window_address="privacy@example.com", fees=fees
    )


def _geometry(pdf: bytes) -> dict[str, tuple[int, float, float, float, float]]:
    """Every form field's page and rectangle (points, top-left origin)."""
    found = {}
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for number, page in enumerate(doc.pages):
            for annot in page.annots:
                name = annot["data"].get("T")
                if name:
                    found[name.decode()] = (number, annot["x0"], annot["top"], annot["x1"], annot["bottom"])
    return found


def _render(pdf: bytes, page: int = 0) -> Image.Image:
    document = pypdfium2.PdfDocument(pdf)
    try:
        image: Image.Image = document[page].render(scale=SCALE, may_draw_forms=True).to_pil().convert("RGB")
        return image
    finally:
        document.close()


def _mark(draw: ImageDraw.ImageDraw, rect: tuple[float, float, float, float], how: str) -> None:
    """A hand mark on a box given in points: tick, cross, fill or a ring round it."""
    x0, y0, x1, y1 = (v * SCALE for v in rect)
    w = x1 - x0
    pen = max(2, round(1.3 * SCALE))
    if how == "tick":
        draw.line(
            [(x0 + 0.15 * w, y0 + 0.55 * w), (x0 + 0.45 * w, y1 - 0.05 * w), (x1 + 0.3 * w, y0 - 0.3 * w)], INK, pen
        )
    elif how == "cross":
        draw.line([(x0 + 0.1 * w, y0 + 0.1 * w), (x1 - 0.1 * w, y1 - 0.1 * w)], INK, pen)
        draw.line([(x0 + 0.1 * w, y1 - 0.1 * w), (x1 - 0.1 * w, y0 + 0.1 * w)], INK, pen)
    elif how == "fill":
        draw.rectangle((x0 + 0.15 * w, y0 + 0.15 * w, x1 - 0.15 * w, y1 - 0.15 * w), fill=INK)
    elif how == "circle":
        draw.ellipse((x0 - 0.45 * w, y0 - 0.45 * w, x1 + 0.45 * w, y1 + 0.45 * w), outline=INK, width=pen)


def _filled(pdf: bytes, marks: dict[str, str], page: int = 0) -> Image.Image:
    image = _render(pdf, page)
    draw = ImageDraw.Draw(image)
    geometry = _geometry(pdf)
    for field, how in marks.items():
        number, *rect = geometry[field]
        assert number == page
        _mark(draw, (rect[0], rect[1], rect[2], rect[3]), how)
    return image


def _scanned(image: Image.Image, angle: float = 1.2) -> Image.Image:
    """A flatbed scan: slightly turned, soft, grey, JPEG at middling quality."""
    turned = image.convert("L").rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=244)
    buffer = io.BytesIO()
    turned.filter(ImageFilter.GaussianBlur(0.5)).save(buffer, "JPEG", quality=60)
    return Image.open(io.BytesIO(buffer.getvalue()))


def _words_from_template(pdf: bytes, page: int = 0) -> list[OcrWord]:
    """What a perfect OCR would say: the form's own text in two-character words, at DPI."""
    words, offset = [], 0
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        chars = sorted(doc.pages[page].chars, key=lambda c: (round(c["top"]), c["x0"]))
    for first in range(0, len(chars) - 1, 2):
        pair = chars[first : first + 2]
        if abs(pair[0]["top"] - pair[1]["top"]) > 1:
            continue
        left, top = pair[0]["x0"] * SCALE, min(c["top"] for c in pair) * SCALE
        right, bottom = pair[1]["x1"] * SCALE, max(c["bottom"] for c in pair) * SCALE
        text = pair[0]["text"] + pair[1]["text"]
        words.append(
            OcrWord(text, round(left), round(top), round(right - left), round(bottom - top), offset, offset + 2)
        )
        offset += 3
    return words


CHOSEN = {
    "type_notify_purpose": "tick",
    "type_correct": "cross",
    "type_stop_third_party": "circle",
    "type_disclose_third_party_records": "fill",
    "method_paper": "tick",
}


# --------------------------------------------------------------------------- pure parts


def test_the_form_keeps_its_geometry_whatever_the_fees_and_company() -> None:
    """One template reads every company's form only if the boxes never move."""
    base = _geometry(_form())
    assert _geometry(_form(fees={})) == base
    assert _geometry(_form(fees={"disclose": 300}, company="有限会社ながいながいなまえのかいしゃ")) == base


def test_a_perspective_map_is_recovered_from_points() -> None:
    truth = np.array([[1.9, 0.12, 40.0], [-0.08, 2.1, 25.0], [0.0002, -0.0001, 1.0]])
    grid = np.array([[x, y] for x in range(40, 560, 60) for y in range(40, 800, 90)], dtype=float)
    fitted = _homography(grid, _project(truth, grid))
    probe = np.array([[300.0, 400.0], [550.0, 790.0]])
    assert np.allclose(_project(fitted, probe), _project(truth, probe), atol=0.01)


def test_shade_is_paper_and_a_filled_box_is_ink() -> None:
    patch = np.full((90, 90), 220.0, dtype=np.float32)
    patch[:, 45:] = 120.0  # the hard edge of a shadow across the patch
    patch[30:54, 10:34] = 20.0  # a box filled in, 8 pt wide at 3 px/pt
    ink = _ink(patch)
    assert ink[:, 50:].max() < 0.1  # the shaded half is paper
    assert ink[35:50, 15:30].min() > 0.8


def test_the_decision_line() -> None:
    assert not _decide("type_disclose", 0.0).marked
    assert _decide("type_disclose", MARK_PT2 * 3).marked
    assert _decide("type_disclose", MARK_PT2 * 3).confidence == 1.0
    assert _decide("type_disclose", MARK_PT2).confidence == 0.0


def test_boxes_are_read_against_the_layout_without_ocr() -> None:
    pdf = _form()
    image = _scanned(_filled(pdf, CHOSEN), angle=0.0)
    marks = read_marks(image, _words_from_template(pdf))
    assert marks is not None and marks.page == 1
    assert marks.marked("types") == ["notify_purpose", "correct", "stop_third_party", "disclose_third_party_records"]
    assert marks.marked("method") == ["paper"]


def test_an_unmarked_form_reads_no_box() -> None:
    pdf = _form()
    marks = read_marks(_scanned(_render(pdf), angle=0.0), _words_from_template(pdf))
    assert marks is not None
    assert [b.field for b in marks.boxes if b.marked] == []
    assert all(b.confidence == 1.0 for b in marks.boxes)


def test_a_page_that_is_not_our_form_gives_nothing() -> None:
    words = [
        OcrWord(t, 40 * i, 30, 36, 18, 3 * i, 3 * i + 2)
        for i, t in enumerate(["住民票", "世帯", "全員", "写し", "続柄", "本籍"])
    ]
    assert read_marks(Image.new("RGB", (1240, 1754), "white"), words) is None


def test_page_two_agent_boxes() -> None:
    pdf = _form()
    image = _scanned(_filled(pdf, {"agent_voluntary": "cross"}, page=1), angle=0.0)
    marks = read_marks(image, _words_from_template(pdf, page=1))
    assert marks is not None and marks.page == 2
    assert marks.marked("agent_type") == ["voluntary"]
    assert not marks.has_section("types")


# --------------------------------------------------------------------------- with Tesseract


@pytest.fixture(scope="module")
def tesseract() -> TesseractOcr:
    engine = shared_tesseract()
    if engine is None:
        pytest.skip("Tesseract with Japanese data is not installed")
    return engine


@pytest.fixture(scope="module")
def scan() -> Image.Image:
    return _scanned(_filled(_form(), CHOSEN))


@pytest.mark.slow
def test_a_turned_scan_read_by_tesseract(scan: Image.Image, tesseract: TesseractOcr) -> None:
    marks = read_marks(scan, tesseract.image_to_words(scan))
    assert marks is not None and marks.anchors >= 20
    assert marks.marked("types") == ["notify_purpose", "correct", "stop_third_party", "disclose_third_party_records"]
    assert marks.marked("method") == ["paper"]


@pytest.mark.slow
@pytest.mark.parametrize("container", ["jpeg", "pdf"])
def test_the_attachment_reader_takes_the_boxes(scan: Image.Image, tesseract: TesseractOcr, container: str) -> None:
    buffer = io.BytesIO()
    if container == "jpeg":
        scan.save(buffer, "JPEG", quality=85)
        data, name = buffer.getvalue(), "IMG_2231.JPG"
    else:
        data, name = images_to_pdf([scan], DPI), "scan0003.pdf"
    reading = read_attachment(Attachment(name, "application/octet-stream", data), ocr=tesseract)
    assert [d.kind for d in reading.documents] == ["request_form"]
    assert reading.form is not None
    assert reading.form.request_types == {
        "notify_purpose",
        "correct",
        "stop_third_party",
        "disclose_third_party_records",
    }
    assert reading.form.disclosure_method == "paper"


@pytest.mark.slow
def test_a_photo_in_perspective(tesseract: TesseractOcr) -> None:
    """Page on a desk, seen from an angle: the corners are not where a rotation puts them."""
    page = _filled(_form(), {"type_disclose": "tick", "type_suspend": "circle"})
    width, height = page.size
    desk = Image.new("RGB", (int(width * 1.2), int(height * 1.2)), (150, 140, 128))
    desk.paste(page, (int(width * 0.1), int(height * 0.1)))
    lean = 0.05
    quad = (0.0, 0.0, -lean * desk.width, desk.height, desk.width * (1 + lean), desk.height, desk.width, 0.0)
    photo = desk.transform(desk.size, Image.Transform.QUAD, quad, resample=Image.Resampling.BICUBIC)
    photo = photo.rotate(math.degrees(0.04), resample=Image.Resampling.BICUBIC, fillcolor=(150, 140, 128))
    marks = read_marks(photo, tesseract.image_to_words(photo))
    assert marks is not None
    assert marks.marked("types") == ["disclose", "suspend"]


@pytest.mark.parametrize("layout", ["form_a", "form_b", "form_c", "form_e"])
def test_another_companys_form_is_not_taken_for_ours(
    layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other request forms print our phrases (利用目的の通知, 第三者提供記録の開示 …) too, but
    not where ours stand: reading our boxes on them would invent marks."""
    from tests.scenarios import make_fixtures as mf

    monkeypatch.setattr(mf, "OUT", tmp_path)
    getattr(mf, layout)("other.pdf", mf.PEOPLE["matsuo"], {"disclose"}, {"drivers_license"})
    pdf = (tmp_path / "other.pdf").read_bytes()
    assert read_marks(_render(pdf), _words_from_template(pdf)) is None
