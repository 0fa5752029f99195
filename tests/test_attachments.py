"""read_attachment end to end: routing, PDFs, images, text, limits, masking, never raising."""

from __future__ import annotations

import email.header
import io
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable

import pdfplumber
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps, ImageStat
from pypdf import PdfReader, PdfWriter

from bot.models import Attachment, AttachmentReading
from parsers.attachments import ReadLimits, decoded_filename, read_attachment, sniff
from parsers.japanese import find_my_numbers
from parsers.ocr import OcrWord, TesseractOcr
from parsers.pdf import PdfLimits, pdf_form_fields, read_pdf
from tests.test_documents import (
    FIXTURE_PDFS,
    FIXTURE_PHOTOS,
    FIXTURES,
    SYNTHETIC,
    card_image,
    image_pdf,
    needs_fixtures,
    needs_font,
    shared_tesseract,
    text_pdf,
    text_pdf_with_photo,
)

VALID = "621498320257"


class FakeOcr:
    """Returns a fixed text; records the images it was shown."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.seen: list[Image.Image] = []

    def image_to_text(self, image: Image.Image) -> str:
        self.seen.append(image.copy())
        return self.text


class FakeBoxOcr(FakeOcr):
    """Reads a number at a known box, and stops reading it once that box is black."""

    BOX = (100, 60, 420, 40)  # left, top, width, height

    def image_to_text(self, image: Image.Image) -> str:
        self.seen.append(image.copy())
        left, top, width, height = self.BOX
        centre = _gray(image, left + width // 2, top + height // 2)
        return self.text if centre != 0 else self.text.replace("6214 9832 0257", "")

    def image_to_words(self, image: Image.Image) -> list[OcrWord]:
        start = self.text.index("6214")
        left, top, width, height = self.BOX
        return [
            OcrWord("個人番号", 10, top, 80, height, 0, 4),
            OcrWord("6214 9832 0257", left, top, width, height, start, start + 14),
        ]


class TurningOcr(FakeOcr):
    """Reads nothing until the image is turned upright (taller than wide here)."""

    def image_to_text(self, image: Image.Image) -> str:
        self.seen.append(image.copy())
        return self.text if image.height > image.width else "~~ ~~"

    def detect_rotation(self, image: Image.Image) -> int:
        return 90


def _att(data: bytes, name: str | None = "scan0001.pdf", ctype: str = "application/octet-stream") -> Attachment:
    return Attachment(filename=name, content_type=ctype, data=data)


def _jpeg(image: Image.Image, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", **kwargs)
    return buf.getvalue()


def _gray(image: Image.Image, x: int, y: int) -> int:
    value = image.convert("L").getpixel((x, y))
    assert isinstance(value, int)
    return value


@pytest.fixture
def tesseract() -> TesseractOcr:
    engine = shared_tesseract()
    if engine is None:
        pytest.skip("Tesseract with Japanese data is not installed")
    return engine


def _kinds(reading: AttachmentReading) -> list[str]:
    return [d.kind for d in reading.documents]


# --------------------------------------------------------------------------- the fixtures


@needs_fixtures
@pytest.mark.parametrize("name", sorted(FIXTURE_PDFS))
def test_fixture_pdfs(name: str) -> None:
    reading = read_attachment(_att((FIXTURES / name).read_bytes(), "scan0001.pdf"), ocr=FakeOcr(""))
    assert reading.unreadable_reason is None
    assert _kinds(reading) == [FIXTURE_PDFS[name][0]]
    doc = reading.documents[0]
    assert doc.filename == "scan0001.pdf" and doc.pages == (1,)
    numbered = name == "s07_record_with_number.pdf"
    assert doc.my_number is numbered
    assert (reading.masked_data is not None) is numbered
    if "request" in name:
        pytest.importorskip("parsers.request_form")
        assert reading.form is not None and reading.form.states_request


@needs_fixtures
def test_the_number_in_a_pdf_is_masked_in_an_image_only_copy() -> None:
    reading = read_attachment(_att((FIXTURES / "s07_record_with_number.pdf").read_bytes()), ocr=FakeOcr(""))
    masked = reading.masked_data
    assert masked is not None and masked.startswith(b"%PDF")
    assert b"5069" not in masked and "5069".encode("utf-16-be") not in masked
    with pdfplumber.open(io.BytesIO(masked)) as pdf:
        assert len(pdf.pages) == 1
        assert (pdf.pages[0].extract_text() or "") == ""  # no text layer left to read the number from
    again = read_attachment(_att(masked), ocr=FakeOcr(""))
    assert not any(d.my_number for d in again.documents)


@pytest.mark.slow
@needs_fixtures
def test_the_masked_pdf_does_not_show_the_number_to_ocr(tesseract: TesseractOcr) -> None:
    original = (FIXTURES / "s07_record_with_number.pdf").read_bytes()
    masked = read_attachment(_att(original), ocr=FakeOcr("")).masked_data
    assert masked is not None
    scans = [read_pdf(pdf, PdfLimits(min_text_chars=10_000)).pages[0].image_png for pdf in (original, masked)]
    texts = [tesseract.image_to_text(Image.open(io.BytesIO(png or b""))) for png in scans]
    assert {d for _, _, d in find_my_numbers(texts[0])} == {"506986631942"}  # OCR can read it (each pass) …
    assert find_my_numbers(texts[1]) == []  # … and no longer once masked
    assert "住民票" in texts[1].replace(" ", "")


@pytest.mark.slow
@needs_fixtures
@pytest.mark.parametrize("name", sorted(FIXTURE_PHOTOS))
def test_fixture_photos(name: str, tesseract: TesseractOcr) -> None:
    reading = read_attachment(_att((FIXTURES / name).read_bytes(), "IMG_0412.jpg", "image/jpeg"), ocr=tesseract)
    kind, holder = FIXTURE_PHOTOS[name]
    assert _kinds(reading) == [kind]
    doc = reading.documents[0]
    assert not doc.my_number and reading.masked_data is None
    assert any(holder.replace(" ", "") in n.replace(" ", "") for n in doc.names), doc.names


# --------------------------------------------------------------------------- PDFs


@needs_font
def test_a_pdf_holding_two_documents_gives_two_entries() -> None:
    data = text_pdf([SYNTHETIC["drivers_license"], SYNTHETIC["resident_record"]])
    reading = read_attachment(_att(data, "=?UTF-8?B?5pys5Lq656K66KqN5pu46aGeLnBkZg==?="), ocr=FakeOcr(""))
    assert _kinds(reading) == ["drivers_license", "resident_record"]
    assert [d.pages for d in reading.documents] == [(1,), (2,)]
    assert {d.filename for d in reading.documents} == {"本人確認書類.pdf"}


@needs_font
def test_pages_of_one_document_merge_and_another_persons_card_splits() -> None:
    second_page = "(2の2)\n身分事項\n出生 【出生日】平成25年8月9日\n以下余白"
    other_licence = SYNTHETIC["drivers_license"].replace("原田 哲也", "遠藤 勝")
    data = text_pdf([SYNTHETIC["family_register"], second_page, SYNTHETIC["drivers_license"], other_licence])
    reading = read_attachment(_att(data), ocr=FakeOcr(""))
    assert _kinds(reading) == ["family_register", "drivers_license", "drivers_license"]
    assert [d.pages for d in reading.documents] == [(1, 2), (3,), (4,)]
    assert reading.documents[2].names == ("遠藤 勝",)


@needs_font
def test_a_card_copied_on_the_sheet_of_a_certificate_is_a_document_too() -> None:
    sheet = text_pdf_with_photo(SYNTHETIC["resident_record"], card_image(["運転免許証"], angle=0))
    ocr = FakeOcr(SYNTHETIC["drivers_license"])
    reading = read_attachment(_att(sheet), ocr=ocr)
    assert len(ocr.seen) == 1  # the page was rendered for OCR although it has a text layer
    assert sorted(_kinds(reading)) == ["drivers_license", "resident_record"]
    assert [d.pages for d in reading.documents] == [(1,), (1,)]


@needs_font
def test_a_scanned_pdf_is_rendered_and_ocrd() -> None:
    scan = image_pdf([card_image(["戸籍謄本のスキャン"], angle=0)])
    ocr = FakeOcr(SYNTHETIC["family_register"])
    reading = read_attachment(_att(scan), ocr=ocr)
    assert _kinds(reading) == ["family_register"]
    assert len(ocr.seen) == 1
    assert abs(ocr.seen[0].width - 1100 * 200 / 150) <= 2  # a 150 dpi scan rendered at 200 dpi for OCR


@needs_font
def test_a_number_in_a_scanned_pdf_is_blacked_out_where_ocr_saw_it() -> None:
    scan = image_pdf([card_image(["個人番号 6214 9832 0257", "氏名 藤井 里奈"], angle=0)])
    reading = read_attachment(_att(scan), ocr=FakeBoxOcr("個人番号 6214 9832 0257\n氏名 藤井 里奈"))
    assert reading.documents and reading.documents[0].my_number
    assert reading.masked_data is not None
    with pdfplumber.open(io.BytesIO(reading.masked_data)) as pdf:
        page = pdf.pages[0].to_image(resolution=200).original.convert("L")
    left, top, width, height = FakeBoxOcr.BOX
    assert _gray(page, left + width // 2, top + height // 2) < 40


@needs_font
def test_a_number_on_a_straightened_scan_is_blacked_out_on_the_straightened_page() -> None:
    """The page OCR read was turned, so the rendered page's pixels are not the ones the number
    was found in: the kept copy is the straightened page, masked, not a black page."""
    lines = ["個人番号 6214 9832 0257", "氏名 藤井 里奈", "住所 例岡県例岡市見本町一丁目2番3号", "生年月日 平成元年1月23日"]
    scan = image_pdf([card_image(lines, angle=4)])
    ocr = FakeBoxOcr("個人番号 6214 9832 0257\n氏名 藤井 里奈")
    reading = read_attachment(_att(scan), ocr=ocr)
    assert reading.documents and reading.documents[0].my_number
    assert reading.masked_data is not None
    straightened = ocr.seen[0]
    with pdfplumber.open(io.BytesIO(reading.masked_data)) as pdf:
        page = pdf.pages[0].to_image(resolution=200).original.convert("L")
    assert abs(page.width - straightened.width) <= 2 and abs(page.height - straightened.height) <= 2
    left, top, width, height = FakeBoxOcr.BOX
    assert _gray(page, left + width // 2, top + height // 2) < 40  # the number, where OCR saw it
    assert ImageStat.Stat(page).mean[0] > 120  # the rest of the page is kept


def test_form_fields_are_read_with_checkbox_states() -> None:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    pdf.acroForm.checkbox(name="type_disclose", x=60, y=700, checked=True)
    pdf.acroForm.checkbox(name="type_correct", x=60, y=660, checked=False)
    pdf.acroForm.textfield(name="requester_email", x=60, y=600, value="taro@example.jp")
    pdf.showPage()
    pdf.save()
    assert pdf_form_fields(buf.getvalue()) == {
        "type_disclose": "/Yes",
        "type_correct": "/Off",
        "requester_email": "taro@example.jp",
    }
    assert pdf_form_fields(b"%PDF-1.4 broken") == {}


@needs_font
def test_our_own_fillable_form_is_read_through_its_fields() -> None:
    form_pdf = pytest.importorskip("replies.form_pdf")
    pytest.importorskip("parsers.request_form")
    blank = form_pdf.build_request_form(
        company_name="株式会社見本", window_name="個人情報窓口", window_address="info@example.jp",
        fees={"notify_purpose": 1000, "disclose": 1000},
    )  # fmt: skip
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(blank)))
    for page in writer.pages:
        writer.update_page_form_field_values(
            page, {"requester_name": "山田 太郎", "type_disclose": "/Yes", "requester_email": "taro@example.jp"}
        )
    filled = io.BytesIO()
    writer.write(filled)
    reading = read_attachment(_att(filled.getvalue(), "form.pdf"), ocr=FakeOcr(""))
    assert "request_form" in _kinds(reading)
    assert reading.form is not None
    assert reading.form.requester_name == "山田 太郎"
    assert "disclose" in reading.form.request_types


def _encrypted(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([SYNTHETIC["seal_certificate"]]))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@needs_font
def test_encrypted_pdfs() -> None:
    locked = read_attachment(_att(_encrypted("open-sesame")), ocr=FakeOcr(""))
    assert locked.unreadable_reason == "encrypted"
    assert [(d.kind, d.unreadable) for d in locked.documents] == [("unknown", True)]
    restricted = read_attachment(_att(_encrypted("")), ocr=FakeOcr(""))  # owner password only
    assert _kinds(restricted) == ["seal_certificate"]


@needs_font
def test_pdf_limits_make_it_unreadable() -> None:
    two_pages = text_pdf([SYNTHETIC["resident_record"], SYNTHETIC["seal_certificate"]])
    cases = {
        "too_large": ReadLimits(max_bytes=1000),
        "too_many_pages": ReadLimits(max_pages=1),
        "timeout": ReadLimits(timeout_seconds=0.01),
    }
    for reason, limits in cases.items():
        reading = read_attachment(_att(two_pages), ocr=FakeOcr(""), limits=limits)
        assert reading.unreadable_reason == reason
        assert reading.documents[0].unreadable
    starved = read_attachment(_att(two_pages), ocr=FakeOcr(""), limits=ReadLimits(max_memory_bytes=1 << 20))
    assert starved.unreadable_reason in ("memory", "crashed", "corrupt")


def _flate_bomb(side: int = 20000) -> bytes:
    """A one-page PDF whose image inflates to side² bytes (400 MB) from ~400 kB."""
    deflate = zlib.compressobj(9)
    stream = b"".join(deflate.compress(bytes(side)) for _ in range(side)) + deflate.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /XObject << /Im0 5 0 R >> >> >>",
        b"<< /Length 30 >>\nstream\nq 612 0 0 792 0 0 cm /Im0 Do Q\nendstream",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8"
        b" /Filter /FlateDecode /Length %d >>\nstream\n" % (side, side, len(stream)) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_PEAK_CHILD_MEMORY = """
import resource, sys
from parsers.pdf import PdfLimits, read_pdf
content = read_pdf(sys.stdin.buffer.read(), PdfLimits(max_memory_bytes=int(sys.argv[1])))
print(content.error, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
"""


def _peak_child_megabytes(pdf: bytes, memory_limit: int) -> int:
    """Read `pdf` from a fresh interpreter and report the sandbox child's peak RSS (MB)."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_CHILD_MEMORY, str(memory_limit)], input=pdf, capture_output=True,
        timeout=60, check=True,
    )  # fmt: skip
    return int(done.stdout.split()[-1])


@pytest.mark.slow
def test_a_decompression_bomb_is_held_by_the_memory_limit() -> None:
    bomb = _flate_bomb()  # a page whose image inflates to 400 MB
    assert _peak_child_megabytes(bomb, 2 << 30) > 400  # unlimited, the child really takes it
    assert _peak_child_megabytes(bomb, 256 << 20) < 250  # limited, the allocation fails
    started = time.monotonic()
    reading = read_attachment(_att(bomb), ocr=FakeOcr(""), limits=ReadLimits(max_memory_bytes=256 << 20))
    assert time.monotonic() - started < 10
    assert isinstance(reading, AttachmentReading)


def test_corrupt_and_headerless_pdfs() -> None:
    for data in (b"%PDF-1.7\n1 0 obj << /Type /Catalog", b"", b"\x00" * 100):
        reading = read_attachment(_att(data, "scan.pdf", "application/pdf"), ocr=FakeOcr(""))
        assert reading.unreadable_reason is not None
        assert [(d.kind, d.unreadable) for d in reading.documents] == [("unknown", True)]


# --------------------------------------------------------------------------- images


def test_a_photo_is_ocrd_and_classified_whatever_its_name() -> None:
    photo = _jpeg(Image.new("RGB", (800, 500), "white"))
    reading = read_attachment(_att(photo, "IMG_0001.jpg", "image/jpeg"), ocr=FakeOcr(SYNTHETIC["passport"]))
    assert _kinds(reading) == ["passport"]
    assert reading.documents[0].names == ("YAMADA HANAKO",)



def test_a_photographed_request_form_gives_its_facts_as_a_scanned_pdf_does() -> None:
    from parsers.request_form import checked_request_types, facts_from_text

    photo = _jpeg(Image.new("RGB", (1200, 1700), "white"))
    reading = read_attachment(_att(photo, "IMG_0100.jpg", "image/jpeg"), ocr=FakeOcr(SYNTHETIC["request_form"]))
    expected = facts_from_text(SYNTHETIC["request_form"])
    assert expected is not None and expected.request_types
    assert _kinds(reading) == ["request_form"]
    assert reading.form is not None and reading.form.requester_name == expected.requester_name
    assert reading.form.read_from_image and not expected.read_from_image  # staff are asked to confirm it
    # marks that OCR turned into glyphs are not trusted: the requester is asked instead
    assert checked_request_types(SYNTHETIC["request_form"])
    assert reading.form.request_types == expected.request_types - checked_request_types(SYNTHETIC["request_form"])


def test_types_stated_in_words_on_a_photographed_form_are_kept() -> None:
    from parsers.request_form import facts_from_text

    letter = "個人情報開示等請求書\n請求者氏名 山田 太郎\n私に関する個人情報の開示を請求します。\n"
    expected = facts_from_text(letter)
    assert expected is not None and expected.request_types == {"disclose"}
    photo = _jpeg(Image.new("RGB", (1200, 1700), "white"))
    reading = read_attachment(_att(photo, "IMG_0101.jpg", "image/jpeg"), ocr=FakeOcr(letter))
    assert reading.form is not None and reading.form.request_types == {"disclose"}


def test_exif_orientation_and_transparency_are_applied_before_ocr() -> None:
    upright = Image.new("RGB", (600, 400), "white")
    exif = upright.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    ocr = FakeOcr("")
    read_attachment(_att(_jpeg(upright, exif=exif), "photo.jpg"), ocr=ocr)
    assert ocr.seen[0].size == (400, 600)
    transparent = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    buf = io.BytesIO()
    transparent.save(buf, format="PNG")
    read_attachment(_att(buf.getvalue(), "card.png"), ocr=ocr)
    assert ocr.seen[1].getpixel((5, 5)) == (255, 255, 255)


def test_a_sideways_scan_is_turned_upright() -> None:
    sideways = _jpeg(Image.new("RGB", (900, 600), "white"))
    ocr = TurningOcr(SYNTHETIC["residence_card"])
    reading = read_attachment(_att(sideways, "scan.jpg"), ocr=ocr)
    assert _kinds(reading) == ["residence_card"]
    assert [im.size for im in ocr.seen] == [(900, 600), (2000, 1333), (600, 900)]  # read, enlarged, turned


class ZoomOcr(TurningOcr):
    """Reads nothing until the letters are big enough (an image at least 1,600 px wide)."""

    def image_to_text(self, image: Image.Image) -> str:
        self.seen.append(image.copy())
        return self.text if image.width >= 1600 else "~~ ~~"

    def detect_rotation(self, image: Image.Image) -> int:
        return 0


def test_a_small_photo_is_read_again_enlarged_and_kept_enlarged() -> None:
    small = _jpeg(Image.new("RGB", (900, 1124), "white"))
    ocr = ZoomOcr(SYNTHETIC["resident_record"])
    reading = read_attachment(_att(small, "IMG_0003.jpg"), ocr=ocr)
    assert _kinds(reading) == ["resident_record"]
    assert [im.size for im in ocr.seen][:2] == [(900, 1124), (1601, 2000)]
    large = _jpeg(Image.new("RGB", (1300, 1700), "white"))  # unrecognised, but not small: never enlarged
    ocr = ZoomOcr(SYNTHETIC["resident_record"])
    assert _kinds(read_attachment(_att(large, "IMG_0004.jpg"), ocr=ocr)) == []
    assert [im.size for im in ocr.seen] == [(1300, 1700)]


def _tilted_page(angle: float) -> Image.Image:
    from tests.test_deskew import _page

    return _page(900, 700).rotate(angle, expand=True, fillcolor=(120, 96, 72), resample=Image.Resampling.BICUBIC)


class SizeOcr(FakeOcr):
    """Recognises the document only on images of one size (a stand-in for "read well")."""

    def __init__(self, text: str, size: tuple[int, int] | None) -> None:
        super().__init__(text)
        self.size = size

    def image_to_text(self, image: Image.Image) -> str:
        self.seen.append(image.copy())
        return self.text if self.size is None or image.size == self.size else "~~ ~~"


def test_a_photo_held_at_an_angle_is_straightened_before_ocr() -> None:
    tilted = _tilted_page(-7.0)
    ocr = SizeOcr(SYNTHETIC["resident_record"], None)
    reading = read_attachment(_att(_jpeg(tilted, quality=90), "IMG_0005.jpg"), ocr=ocr)
    assert _kinds(reading) == ["resident_record"]
    assert len(ocr.seen) == 1 and ocr.seen[0].size != tilted.size  # turned back (and so enlarged) first
    ocr = SizeOcr(SYNTHETIC["resident_record"], tilted.size)  # only the photo as it came shows the document
    reading = read_attachment(_att(_jpeg(tilted, quality=90), "IMG_0006.jpg"), ocr=ocr)
    assert _kinds(reading) == ["resident_record"]
    assert [im.size == tilted.size for im in ocr.seen] == [False, True]
    level = _tilted_page(0.5)  # Tesseract copes with a little skew: read as it came
    ocr = SizeOcr(SYNTHETIC["resident_record"], None)
    read_attachment(_att(_jpeg(level, quality=90), "IMG_0007.jpg"), ocr=ocr)
    assert [im.size for im in ocr.seen] == [level.size]


def test_icons_are_not_ocrd_and_give_no_document() -> None:
    ocr = FakeOcr(SYNTHETIC["passport"])
    buf = io.BytesIO()
    Image.new("RGB", (90, 40), "navy").save(buf, format="PNG")
    reading = read_attachment(_att(buf.getvalue(), "image001.png", "image/png"), ocr=ocr)
    assert reading.documents == () and ocr.seen == []


def test_without_ocr_a_photo_is_readable_but_unrecognised() -> None:
    photo = _jpeg(Image.new("RGB", (800, 500), "white"))
    reading = read_attachment(_att(photo, "IMG_0002.jpg"), ocr=FakeOcr(""))
    assert reading.documents == () and reading.unreadable_reason is None


def test_image_formats_and_tiff_pages() -> None:
    ocr = FakeOcr(SYNTHETIC["seal_certificate"])
    for fmt in ("PNG", "GIF", "BMP", "WEBP", "TIFF"):
        buf = io.BytesIO()
        Image.new("RGB", (500, 400), "white").save(buf, format=fmt)
        assert _kinds(read_attachment(_att(buf.getvalue(), "x.bin"), ocr=ocr)) == ["seal_certificate"], fmt
    buf = io.BytesIO()
    first = Image.new("RGB", (500, 400), "white")
    first.save(buf, format="TIFF", save_all=True, append_images=[Image.new("RGB", (500, 400), "gray")])
    reading = read_attachment(_att(buf.getvalue(), "fax.tif"), ocr=ocr)
    assert [d.pages for d in reading.documents] == [(1, 2)]


def _png_with_size(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_images_beyond_limits_or_broken_are_unreadable() -> None:
    photo = _jpeg(Image.new("RGB", (800, 500), "white"))
    cases = {
        "too_many_pixels": (_png_with_size(20000, 20000), ReadLimits()),
        "corrupt": (photo[: len(photo) // 3], ReadLimits()),
        "too_large": (photo, ReadLimits(max_bytes=100)),
        "unsupported_format": (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, ReadLimits()),
    }
    for reason, (data, limits) in cases.items():
        reading = read_attachment(_att(data, "IMG_0003.jpg", "image/jpeg"), ocr=FakeOcr(""), limits=limits)
        assert reading.unreadable_reason == reason, reason
        assert reading.documents[0].unreadable



def test_a_phone_photo_above_the_pixel_limit_is_read_at_a_fraction_of_its_size() -> None:
    """48-200 Mpx cameras: the JPEG decoder scales down (1/2, 1/4, 1/8) instead of refusing."""
    big = Image.new("L", (9000, 5000), 255)  # 45 Mpx, above the default 40 Mpx
    exif = big.getexif()
    exif[0x0112] = 6  # shown turned 90°: the orientation survives the reduced decode
    ocr = FakeOcr(SYNTHETIC["passport"])
    reading = read_attachment(_att(_jpeg(big, exif=exif), "IMG_9001.JPG", "image/jpeg"), ocr=ocr)
    assert reading.unreadable_reason is None and _kinds(reading) == ["passport"]
    assert ocr.seen[0].size == (2500, 4500)
    small_limit = ReadLimits(max_pixels=1000)  # even 1/8 of 800 x 500 is more than this
    photo = _jpeg(Image.new("RGB", (800, 500), "white"))
    refused = read_attachment(_att(photo, "IMG_9002.jpg", "image/jpeg"), ocr=FakeOcr(""), limits=small_limit)
    assert refused.unreadable_reason == "too_many_pixels"



class SlowOcr(FakeOcr):
    """Takes `seconds` per call, as Tesseract does on a large noisy scan."""

    def __init__(self, text: str, seconds: float) -> None:
        super().__init__(text)
        self.seconds = seconds

    def image_to_text(self, image: Image.Image) -> str:
        time.sleep(self.seconds)
        return super().image_to_text(image)


def test_ocr_of_one_attachment_stops_at_its_time_budget() -> None:
    buf = io.BytesIO()
    pages = [Image.new("RGB", (500, 400), "white") for _ in range(6)]
    pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:])
    slow = SlowOcr(SYNTHETIC["seal_certificate"], 0.2)
    started = time.monotonic()
    reading = read_attachment(_att(buf.getvalue(), "fax.tif"), ocr=slow, limits=ReadLimits(ocr_seconds=0.5))
    assert reading.unreadable_reason == "ocr_time_limit" and reading.documents[0].unreadable
    assert len(slow.seen) < 6 and time.monotonic() - started < 1.5, "no OCR call starts after the budget"
    within = read_attachment(_att(buf.getvalue(), "fax.tif"), ocr=SlowOcr(SYNTHETIC["seal_certificate"], 0.01))
    assert within.unreadable_reason is None and _kinds(within) == ["seal_certificate"]


def test_a_number_on_a_photo_is_blacked_out() -> None:
    photo = Image.new("RGB", (700, 300), "white")
    ocr = FakeBoxOcr("個人番号 6214 9832 0257\n氏名 藤井 里奈\n生年月日 平成元年1月23日")
    reading = read_attachment(_att(_jpeg(photo), "back.jpg"), ocr=ocr)
    assert [d.my_number for d in reading.documents] == [True]
    assert reading.masked_data is not None and reading.masked_data.startswith(b"\xff\xd8")
    masked = Image.open(io.BytesIO(reading.masked_data)).convert("L")
    left, top, width, height = FakeBoxOcr.BOX
    assert _gray(masked, left + 5, top + 5) < 40 and _gray(masked, 650, 280) > 200
    assert "exif" not in Image.open(io.BytesIO(reading.masked_data)).info


def test_no_masked_copy_when_the_number_cannot_be_located() -> None:
    photo = _jpeg(Image.new("RGB", (700, 300), "white"))
    reading = read_attachment(_att(photo, "back.jpg"), ocr=FakeOcr(f"個人番号 {VALID}"))  # no word boxes
    assert [d.my_number for d in reading.documents] == [True]
    assert reading.masked_data is None  # the caller then stores nothing


# --------------------------------------------------------------------------- text, office files, others


def test_text_attachments() -> None:
    letter = f"開示請求に添付します。\n私の個人番号は {VALID} です。".encode("shift_jis")
    reading = read_attachment(_att(letter, "memo.txt", "text/plain; charset=Shift_JIS"))
    assert [(d.kind, d.my_number) for d in reading.documents] == [("unknown", True)]
    assert reading.masked_data is not None
    assert VALID not in reading.masked_data.decode() and "個人番号" in reading.masked_data.decode()
    plain = read_attachment(_att("よろしくお願いします。".encode(), "note.txt", "text/plain"))
    assert plain.documents == ()
    page = read_attachment(_att(f"<p>個人番号</p><p>{VALID[:4]}-{VALID[4:8]}-{VALID[8:]}</p>".encode(), "a.html"))
    assert [d.my_number for d in page.documents] == [True]


def _docx(text: str) -> bytes:
    paragraphs = "".join(f"<w:p><w:r><w:t>{line}</w:t></w:r></w:p>" for line in text.splitlines())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", f"<w:document><w:body>{paragraphs}</w:body></w:document>")
    return buf.getvalue()


def test_word_files() -> None:
    form = read_attachment(_att(_docx(SYNTHETIC["request_form"]), "開示等請求書.docx"))
    assert _kinds(form) == ["request_form"]
    licence = read_attachment(_att(_docx(SYNTHETIC["seal_certificate"]), "x.docx"))
    assert _kinds(licence) == ["unknown"]  # a typed certificate proves nothing
    numbered = read_attachment(_att(_docx(f"個人番号 {VALID}"), "x.docx"))
    assert [d.my_number for d in numbered.documents] == [True] and numbered.masked_data is None


def test_archives_are_unreadable_and_unknown_bytes_give_no_document() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("license.jpg", b"\xff\xd8\xff")
    zipped = read_attachment(_att(buf.getvalue(), "docs.zip"))
    assert zipped.unreadable_reason == "archive"
    assert [(d.kind, d.unreadable) for d in zipped.documents] == [("unknown", True)]  # never opened
    for data, name in ((bytes(range(256)) * 4, "x.bin"), (b"", "empty.txt")):
        assert read_attachment(_att(data, name)).documents == ()


def test_routing_trusts_bytes_over_labels() -> None:
    pdf = b"%PDF-1.4\n..."
    assert sniff(pdf, "image/jpeg", "photo.jpg") == "pdf"
    assert sniff(b"\xff\xd8\xff\xe0rest", "application/pdf", "scan.pdf") == "image"
    assert sniff(b"junk%PDF-1.4", "application/octet-stream", "x") == "pdf"
    assert sniff(b"no magic", "application/pdf", "x") == "pdf"  # tried, and found unreadable if not


def test_file_names_are_decoded_and_stripped_of_paths() -> None:
    encoded = email.header.Header("住民票.pdf", "utf-8").encode()
    assert decoded_filename(_att(b"", encoded)) == "住民票.pdf"
    assert decoded_filename(_att(b"", "utf-8''%E5%A7%94%E4%BB%BB%E7%8A%B6.pdf")) == "委任状.pdf"
    assert decoded_filename(_att(b"", "../../etc/passwd")) == "passwd"
    assert decoded_filename(_att(b"", "C:\\Users\\me\\免許証.jpg")) == "免許証.jpg"
    assert decoded_filename(_att(b"", None)) == "attachment"


def test_a_reader_bug_makes_the_file_unreadable_instead_of_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    import parsers.attachments as attachments

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(attachments, "read_text", broken)
    reading = read_attachment(_att(_jpeg(Image.new("RGB", (400, 300))), "a.jpg"), ocr=FakeOcr("x"))
    assert reading.unreadable_reason == "reader_error"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=2000),
    prefix=st.sampled_from([b"", b"%PDF-1.4\n", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"PK\x03\x04"]),
    ctype=st.sampled_from(["application/pdf", "image/jpeg", "text/plain", "application/octet-stream", ""]),
    name=st.one_of(st.none(), st.text(max_size=20)),
)
def test_never_raises(data: bytes, prefix: bytes, ctype: str, name: str | None) -> None:
    reading = read_attachment(Attachment(filename=name, content_type=ctype, data=prefix + data), ocr=FakeOcr(""))
    assert isinstance(reading, AttachmentReading)
    assert all(d.filename == reading.filename for d in reading.documents)


# --------------------------------------------------------------------------- made-up cards, real OCR

_CARDS: dict[str, Callable[[], bytes]] = {
    "residence_card": lambda: card_image(
        ["氏名 NGUYEN VAN AN", "生年月日 1990年01月02日 性別 男", "在留資格 技術・人文知識・国際業務",
         "就労制限の有無 就労制限なし", "在留期間(満了日) 5年 (2028年04月01日)", "法務大臣"],
        title="在留カード RESIDENCE CARD", band=(70, 110, 170), angle=-3.0, quality=55,
    ),
    "special_permanent_resident_certificate": lambda: card_image(
        ["SPECIAL PERMANENT RESIDENT CERTIFICATE", "氏名 金 英姫", "国籍・地域 韓国", "法務大臣"],
        title="特別永住者証明書", band=(60, 140, 110), angle=2.0, quality=70,
    ),
    "insurance_eligibility_certificate": lambda: card_image(
        ["資格確認書", "被保険者氏名 鈴木 一郎", "生年月日 昭和50年2月3日", "保険者番号 ＊＊＊＊＊＊＊＊",
         "保険者名称 全国健康保険協会 例宿支部", "有効期限 令和8年12月1日"],
        angle=1.0, quality=90,
    ),
    "my_number_card": lambda: card_image(
        ["氏名 藤井 里奈", "住所 栃木県例都宮市試験台一丁目23番", "平成元年1月23日生 性別 女",
         "2034年01月23日まで有効", "電子証明書の有効期限の記載欄"],
        title="個人番号カード", band=(232, 90, 122), angle=-1.5, quality=75,
    ),
}  # fmt: skip


@pytest.mark.slow
@needs_font
@pytest.mark.parametrize("kind", sorted(_CARDS))
def test_made_up_card_photos_are_recognised(kind: str, tesseract: TesseractOcr) -> None:
    photo = _CARDS[kind]()
    reading = read_attachment(_att(photo, "IMG_1234.JPG", "image/jpeg"), ocr=tesseract)
    assert _kinds(reading) == [kind]
    assert not reading.documents[0].insurance_number_unmasked  # masked or absent on these



@pytest.mark.slow
@needs_font
def test_a_card_photo_decoded_at_half_size_is_still_recognised(tesseract: TesseractOcr) -> None:
    """The reduced decode of an oversized photo keeps enough detail for OCR."""
    photo = _CARDS["residence_card"]()
    with Image.open(io.BytesIO(photo)) as im:
        width, height = im.size
    limits = ReadLimits(max_pixels=width * height // 3)  # so the photo counts as too big: decoded at 1/2
    reading = read_attachment(_att(photo, "IMG_1235.JPG", "image/jpeg"), ocr=tesseract, limits=limits)
    assert reading.unreadable_reason is None
    assert _kinds(reading) == ["residence_card"]


_BACK = ["個人番号 6214 9832 0257", "氏名 藤井 里奈", "生年月日 平成元年1月23日"]
_FRONT = ["氏名 藤井 里奈", "住所 栃木県例都宮市試験台一丁目23番", "平成元年1月23日生 性別 女",
          "2034年01月23日まで有効", "電子証明書の有効期限の記載欄"]  # fmt: skip


@pytest.mark.slow
@needs_font
@pytest.mark.parametrize("angle", [6.0, -8.0, 10.0])
def test_a_small_card_photo_held_at_an_angle_is_read_and_its_number_masked(
    angle: float, tesseract: TesseractOcr
) -> None:
    """900 px photos turned 6-10 degrees: unstraightened, Tesseract read neither side's kind
    at 10 degrees, nor the front at any of them, nor the back's number at -8 (measured)."""
    front = card_image(_FRONT, title="個人番号カード", angle=angle, quality=70, width=900)
    assert _kinds(read_attachment(_att(front, "IMG_5.jpg"), ocr=tesseract)) == ["my_number_card"]
    back = read_attachment(_att(card_image(_BACK, angle=angle, quality=70, width=900), "IMG_6.jpg"), ocr=tesseract)
    assert _kinds(back) == ["my_number_card"] and back.documents[0].my_number
    assert back.masked_data is not None
    with Image.open(io.BytesIO(back.masked_data)) as masked:
        assert find_my_numbers(tesseract.image_to_text(masked.convert("RGB"))) == []


@pytest.mark.slow
@needs_font
def test_an_unmasked_insurance_card_is_flagged_and_masked(tesseract: TesseractOcr) -> None:
    from parsers.documents import insurance_number_spans

    lines = ["健康保険 被保険者証 本人(被保険者)", "記号 1234 番号 56", "氏名 山田 花子",
             "資格取得年月日 平成20年4月1日", "保険者番号 06130012", "保険者名称 見本健康保険組合"]  # fmt: skip
    reading = read_attachment(_att(card_image(lines, angle=1.5, quality=85), "IMG_2.jpg"), ocr=tesseract)
    assert _kinds(reading) == ["health_insurance_card"]
    assert reading.documents[0].insurance_number_unmasked
    assert reading.masked_data is not None
    text = tesseract.image_to_text(Image.open(io.BytesIO(reading.masked_data)).convert("RGB"))
    assert "06130012" not in text.replace(" ", "") and insurance_number_spans(text) == []


@pytest.mark.slow
@needs_font
def test_the_back_of_a_my_number_card_is_flagged_and_masked(tesseract: TesseractOcr) -> None:
    lines = ["個人番号 6214 9832 0257", "氏名 藤井 里奈", "生年月日 平成元年1月23日"]
    reading = read_attachment(_att(card_image(lines, angle=-2.0, quality=80), "IMG_3.jpg"), ocr=tesseract)
    assert reading.documents and all(d.my_number for d in reading.documents)
    assert reading.masked_data is not None
    with Image.open(io.BytesIO(reading.masked_data)) as masked:
        assert find_my_numbers(tesseract.image_to_text(ImageOps.exif_transpose(masked).convert("RGB"))) == []


@pytest.mark.slow
@needs_font
def test_a_scanned_family_register_turned_sideways(tesseract: TesseractOcr) -> None:
    page = card_image(SYNTHETIC["family_register"].splitlines()[:9], angle=0, width=1500)
    sideways = Image.open(io.BytesIO(page)).rotate(90, expand=True)
    buf = io.BytesIO()
    sideways.save(buf, format="JPEG", quality=85)
    reading = read_attachment(_att(image_pdf([buf.getvalue()]), "scan0007.pdf"), ocr=tesseract)
    assert _kinds(reading) == ["family_register"]
