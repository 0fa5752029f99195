"""Read one attachment and say which documents it holds: the edge between mail and policy.

`read_attachment` never raises. It routes by the bytes (magic numbers), using the declared
content type and the file name only as hints, because requesters' mailers label files
wrongly and name them IMG_0412.jpg. What it does per format:

- PDF: text per page in a sandboxed child (`parsers.pdf`), scanned pages OCR'd; pages are
  classified one by one and consecutive pages of one kind make one document (a new card
  with another person's name starts a new one); AcroForm values feed the request form.
- Images (JPEG, PNG, GIF, TIFF pages, BMP, WebP; HEIC only where Pillow has a plugin):
  bounded by bytes and pixels, EXIF orientation applied, OCR'd; turned upright by OSD
  when nothing was recognised.
- Plain text, HTML and .docx: read for a request form and for individual numbers; any
  other document named in them is reported as `unknown` (a typed copy proves nothing).
- Anything else (archives, office files, unknown bytes): no document.

Unreadable files (corrupt, encrypted, over a limit, sandbox timeout) give one
DocumentEvidence(kind='unknown', unreadable=True) and `unreadable_reason`.

Masking: when an individual number (or, on insurance cards, the insurer/insured number)
is found, `masked_data` holds a copy with it blacked out, to store instead of the
original: images re-encoded from pixels with black boxes over the OCR word boxes (no
EXIF, so no thumbnail of the original survives) and checked by a second OCR; PDFs
re-rendered page by page into an image-only PDF with the text-layer and OCR positions
blacked out, a page where a number could not be located blacked out entirely; text with
the digits replaced by '*'. When no safe copy can be made, `masked_data` is None and the
documents carry `my_number=True`, so the caller stores nothing readable.
"""

from __future__ import annotations

import functools
import html
import io
import logging
import re
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.message import Message
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, TypeVar

from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from bot.models import Attachment, AttachmentReading, DocumentEvidence, RequestFacts
from parsers.documents import CARD_KINDS, TextReading, classify_text, insurance_number_spans, read_text
from parsers.form_marks import LAYOUT_ANCHORS, FormMarks, read_marks
from parsers.japanese import compact, find_my_numbers, mask_my_numbers
from parsers.pdf import PdfLimits, images_to_pdf, read_pdf, render_pages

if TYPE_CHECKING:
    from parsers.ocr import OcrEngine, OcrWord

log = logging.getLogger(__name__)
_T = TypeVar("_T")

__all__ = ["ReadLimits", "decoded_filename", "read_attachment", "sniff"]

_DEFAULT_MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = _DEFAULT_MAX_PIXELS  # Pillow refuses bigger images before decoding


ZOOM_BELOW = 1600  # an unrecognised image smaller than this (longest side) is read again ...
ZOOM_TO = 2000  # ... enlarged to this (2x was measured worse: Tesseract is sensitive to scale)
STRAIGHTEN_FROM = 1.5  # degrees of skew from which an image is straightened before OCR


@dataclass(frozen=True)
class ReadLimits:
    """What one attachment may cost. Beyond any of these it is `unreadable`."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = _DEFAULT_MAX_PIXELS
    max_pages: int = 30
    timeout_seconds: float = 60.0  # wall clock for the PDF sandbox (parse and render)
    max_memory_bytes: int = 1 << 30  # address space the PDF sandbox may add
    render_dpi: int = 200
    min_image_side: int = 120  # smaller images are icons and logos: not OCR'd
    ocr_seconds: float = 180.0  # all OCR of one attachment; no new OCR call starts after it

    def pdf(self) -> PdfLimits:
        return PdfLimits(
            max_pages=self.max_pages,
            timeout_seconds=self.timeout_seconds,
            max_memory_bytes=self.max_memory_bytes,
            render_dpi=self.render_dpi,
            max_render_pixels=min(self.max_pixels, 12_000_000),
        )


class _Unreadable(Exception):
    """The attachment cannot be read; `reason` is a short code for staff and logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Page:
    """One page or image while it is being read."""

    number: int
    text: str
    reading: TextReading
    layer_numbers: list[str] = field(default_factory=list)  # secrets found in a PDF text layer
    image: Image.Image | None = None  # the image that was OCR'd (upright), for masking
    ocr_text: str = ""
    rotated: bool = False
    marks: FormMarks | None = None  # the check boxes, when the image is a page of our own form


# --------------------------------------------------------------------------- entry point


def read_attachment(
    att: Attachment, *, ocr: OcrEngine | None = None, limits: ReadLimits = ReadLimits()
) -> AttachmentReading:
    """Which documents `att` holds; never raises (a reader bug makes it unreadable).

    `ocr=None` uses Tesseract when it is installed; without any OCR engine, photos and
    scans are readable but unrecognised.
    """
    name = decoded_filename(att)
    try:
        engine = ocr if ocr is not None else _default_ocr()
        budgeted = _OcrBudget(engine, limits.ocr_seconds) if engine is not None else None
        return _read(att, name, budgeted, limits)
    except _Unreadable as problem:
        return _unreadable(name, problem.reason)
    except Exception as exc:  # noqa: BLE001 - never lose the mail over one file
        log.warning("attachment reader failed on one file: %s", type(exc).__name__)
        return _unreadable(name, "reader_error")


def decoded_filename(att: Attachment) -> str:
    """The attachment's name as text, without any directory part; a stand-in if absent."""
    raw = (att.filename or "").strip()
    if "=?" in raw or "''" in raw:
        raw = _decode_header_name(raw)
    name = PureWindowsPath(PurePosixPath(raw.replace("\x00", "")).name).name.strip()
    return name or "attachment"


def _decode_header_name(raw: str) -> str:
    from parsers.charsets import decode_header_value

    match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_\-]{2,})'[^']*'(.*%[0-9A-Fa-f]{2}.*)", raw)  # RFC 2231
    if match:
        from urllib.parse import unquote_to_bytes

        from parsers.charsets import decode_bytes

        return decode_bytes(unquote_to_bytes(match.group(2)), match.group(1))
    return decode_header_value(raw)


def _unreadable(name: str, reason: str) -> AttachmentReading:
    doc = DocumentEvidence(kind="unknown", filename=name, unreadable=True, confidence=0.0)
    return AttachmentReading(filename=name, documents=(doc,), unreadable_reason=reason)


class _OcrBudget:
    """The OCR engine with a time budget for one attachment.

    Each Tesseract call has its own timeout, but a 30-page scan read in several passes per
    page, turned and masked, could still hold the pipeline for an hour. Once the budget is
    spent no further call starts: the file is unreadable (`ocr_time_limit`), the requester is
    asked to send it again, and the rest of the mail goes on. The engine's capabilities (word
    boxes, orientation) are passed through only where it has them.
    """

    image_to_words: Callable[[Image.Image], list[OcrWord]]
    detect_rotation: Callable[[Image.Image], int]

    def __init__(self, inner: OcrEngine, seconds: float) -> None:
        from parsers.ocr import OrientingOcr, WordBoxOcr

        self._deadline = time.monotonic() + seconds
        self.image_to_text: Callable[[Image.Image], str] = self._guard(inner.image_to_text)
        if isinstance(inner, WordBoxOcr):
            self.image_to_words = self._guard(inner.image_to_words)
        if isinstance(inner, OrientingOcr):
            self.detect_rotation = self._guard(inner.detect_rotation)

    def _guard(self, call: Callable[[Image.Image], _T]) -> Callable[[Image.Image], _T]:
        def guarded(image: Image.Image) -> _T:
            if time.monotonic() > self._deadline:
                raise _Unreadable("ocr_time_limit")
            return call(image)

        return guarded


@functools.lru_cache(maxsize=1)
def _default_ocr() -> OcrEngine | None:
    """One Tesseract engine per process (its cache is shared), or None where it is absent."""
    from parsers.ocr import TesseractOcr, ocr_available

    return TesseractOcr() if ocr_available() else None


def _read(att: Attachment, name: str, ocr: OcrEngine | None, limits: ReadLimits) -> AttachmentReading:
    data = bytes(att.data)
    kind = sniff(data, att.content_type, name)
    if len(data) > limits.max_bytes and kind not in ("other", "archive"):
        raise _Unreadable("too_large")
    if kind == "pdf":
        return _read_pdf(data, name, ocr, limits)
    if kind in ("image", "heic"):
        return _read_image(data, name, ocr, limits, heic=kind == "heic")
    if kind in ("text", "html", "docx"):
        return _read_text_like(data, att.content_type, name, kind)
    if kind == "archive":  # never opened (bombs, nesting, paths): unreadable, the requester is asked for files
        return _unreadable(name, "archive")
    return AttachmentReading(filename=name, documents=())


# --------------------------------------------------------------------------- routing

_IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "jpe", "png", "gif", "tif", "tiff", "bmp", "webp", "heic", "heif"})
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b", b"BZh", b"\xfd7zXZ")


def sniff(data: bytes, content_type: str, filename: str) -> str:
    """'pdf', 'image', 'heic', 'text', 'html', 'docx', 'archive' or 'other', bytes first."""
    head = data[:32]
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if head.startswith(b"PK\x03\x04"):  # before the PDF marker: a stored (uncompressed) PDF inside an
        return "docx" if _is_docx(data) else "archive"  # archive shows '%PDF-' near the start (fuzzing)
    if head.startswith(_ARCHIVE_MAGIC):
        return "archive"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")):
        return "image"
    if head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00":  # BMP: reserved bytes are zero
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
        return "heic"
    return _by_hints(data, ctype, ext)


def _by_hints(data: bytes, ctype: str, ext: str) -> str:
    """No magic number matched: the declared type and extension decide how to try."""
    if ctype == "application/pdf" or ext == "pdf":
        return "pdf"  # a PDF without header: the reader will find out
    if ctype.startswith("image/") or ext in _IMAGE_EXTENSIONS:
        return "image"
    if ctype == "text/html" or ext in ("html", "htm"):
        return "html"
    if ctype.startswith("text/") or ext in ("txt", "csv", "text"):
        return "text"
    if b"\x00" not in data[:4096] and _mostly_text(data[:4096]):
        return "text" if ctype in ("", "application/octet-stream") else "other"
    return "other"


def _mostly_text(sample: bytes) -> bool:
    if not sample:
        return False
    printable = sum(1 for b in sample if b >= 0x20 or b in (9, 10, 13, 0x1B))
    return printable / len(sample) > 0.95


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


# --------------------------------------------------------------------------- PDF


def _read_pdf(data: bytes, name: str, ocr: OcrEngine | None, limits: ReadLimits) -> AttachmentReading:
    content = read_pdf(data, limits.pdf())
    if content.error:
        raise _Unreadable(content.error)
    pages = [_pdf_page(p.number, p.text, p.image_png, ocr, name) for p in content.pages]
    fields = dict(content.fields)
    if not fields:
        _read_marks(pages, ocr)
    form = _form_facts(pages, fields)
    if form is not None and not any(p.reading.kind == "request_form" for p in pages) and pages:
        pages[0].reading = _as_kind(pages[0].reading, "request_form")  # our fillable form, text outlined
    field_numbers = bool(find_my_numbers("\n".join(fields.values())))
    documents = _documents(pages, name, extra_my_number=field_numbers)
    masked = None
    if any(d.my_number or d.insurance_number_unmasked for d in documents):
        masked = _mask_pdf(data, pages, limits, ocr, forms_hold_numbers=field_numbers)
    return AttachmentReading(filename=name, documents=tuple(documents), form=form, masked_data=masked)


def _pdf_page(number: int, layer: str, png: bytes | None, ocr: OcrEngine | None, name: str) -> _Page:
    image, ocr_text, rotated = None, "", False
    if png is not None and ocr is not None:
        try:
            with Image.open(io.BytesIO(png)) as rendered:
                rendered.load()
                image, ocr_text, rotated = _ocr_upright(rendered.convert("L"), ocr, name)
        except _Unreadable:
            raise
        except Exception as exc:  # noqa: BLE001 - the page keeps its text layer
            log.warning("OCR of a PDF page failed: %s", type(exc).__name__)
    text = f"{layer}\n{ocr_text}" if ocr_text else layer
    page = _Page(number, text, read_text(text, name), image=image, ocr_text=ocr_text, rotated=rotated)
    page.layer_numbers = [digits for _, _, digits in find_my_numbers(layer)]
    if page.reading.insurance_number_unmasked:
        page.layer_numbers += [layer[s:e] for s, e in insurance_number_spans(layer)]
    return page


def _as_kind(reading: TextReading, kind: str) -> TextReading:
    return replace(reading, kind=kind, confidence=max(reading.confidence, 0.9), titled=True)


def _form_facts(pages: list[_Page], fields: dict[str, str]) -> RequestFacts | None:
    """The request form's facts, by the other reader (parsers.request_form) when present;
    on a scan or photo of our own form, the check boxes as `parsers.form_marks` saw them."""
    try:
        from parsers.request_form import facts_from_fields, facts_from_text
    except ImportError:
        return None
    try:
        if fields:
            facts = facts_from_fields(fields)
            if facts is not None:
                return facts
        form_pages = [p for p in pages if p.reading.kind == "request_form"]
        text = "\n".join(p.text for p in form_pages)
        from_image = any(p.ocr_text for p in form_pages)
        facts = facts_from_text(text, marks_legible=not from_image) if text else None
        if facts is not None and from_image:
            facts = replace(facts, read_from_image=True)
        return _with_marks(facts, [p.marks for p in pages if p.marks is not None])
    except Exception as exc:  # noqa: BLE001 - a form reader bug must not hide the documents
        log.warning("request form reader failed: %s", type(exc).__name__)
        return None


def _read_marks(pages: list[_Page], ocr: OcrEngine | None) -> None:
    """Look for our own form on every OCR'd page that is not some other document.

    A page that fits the form's layout with many anchors is our form even when its title
    was misread: the layout says so more surely than one line of text.
    """
    from parsers.ocr import WordBoxOcr

    if not isinstance(ocr, WordBoxOcr):
        return
    for page in pages:
        if page.image is None or not page.ocr_text or page.reading.kind not in ("request_form", "unknown"):
            continue
        try:
            page.marks = read_marks(page.image, ocr.image_to_words(page.image))
        except Exception as exc:  # noqa: BLE001 - the text reader still has its say
            log.warning("check-box reader failed: %s", type(exc).__name__)
            continue
        if page.marks is not None and page.reading.kind == "unknown" and page.marks.anchors >= LAYOUT_ANCHORS:
            page.reading = _as_kind(page.reading, "request_form")


def _with_marks(facts: RequestFacts | None, marks: list[FormMarks]) -> RequestFacts | None:
    """The boxes read from the image replace what the OCR text suggested: Tesseract
    reads a hand-drawn mark as a letter or not at all, the box reader measures it."""
    if not marks:
        return facts
    base = facts if facts is not None else RequestFacts(source="form")
    types = next((m.marked("types") for m in marks if m.has_section("types")), None)
    methods = next((m.marked("method") for m in marks if m.has_section("method")), None)
    agents = next((m.marked("agent_type") for m in marks if m.has_section("agent_type")), None)
    return replace(
        base,
        request_types=frozenset(types) if types is not None else base.request_types,
        disclosure_method=(methods[0] if methods else None) if methods is not None else base.disclosure_method,
        agent_type=(agents[0] if agents else base.agent_type) if agents is not None else base.agent_type,
        agent_present=base.agent_present or bool(agents),
        source="form",
        read_from_image=True,
        confidence=min(m.confidence for m in marks),
    )


# --------------------------------------------------------------------------- images


def _read_image(data: bytes, name: str, ocr: OcrEngine | None, limits: ReadLimits, heic: bool) -> AttachmentReading:
    frames, fmt = _open_frames(data, limits, heic)
    pages = []
    for number, frame in enumerate(frames, start=1):
        if min(frame.size) < limits.min_image_side or ocr is None:
            pages.append(_Page(number, "", read_text("", name), image=frame))
            continue
        try:
            image, text, rotated = _ocr_upright(frame, ocr, name)
        except _Unreadable:
            raise
        except Exception as exc:  # noqa: BLE001 - Tesseract failed or timed out
            log.warning("OCR failed: %s", type(exc).__name__)
            raise _Unreadable("ocr_failed") from exc
        pages.append(_Page(number, text, read_text(text, name), image=image, ocr_text=text, rotated=rotated))
    _read_marks(pages, ocr)
    documents = _documents(pages, name)
    masked = None
    if any(d.my_number or d.insurance_number_unmasked for d in documents):
        masked = _mask_images(pages, ocr, fmt)
    form = _form_facts(pages, {})  # a photographed or scanned form: what its OCR text shows
    return AttachmentReading(filename=name, documents=tuple(documents), form=form, masked_data=masked)


def _open_frames(data: bytes, limits: ReadLimits, heic: bool) -> tuple[list[Image.Image], str]:
    """Decoded, upright RGB frames (TIFF pages; the first frame of anything else)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                _check_pixels(probe.size, limits)
                probe.verify()
            with Image.open(io.BytesIO(data)) as im:
                return _frames(im, limits), (im.format or "PNG")
    except _Unreadable as exc:
        if exc.reason == "too_many_pixels" and data.startswith(b"\xff\xd8"):
            return [_large_jpeg(data, limits)], "JPEG"
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if data.startswith(b"\xff\xd8"):
            return [_large_jpeg(data, limits)], "JPEG"
        raise _Unreadable("too_many_pixels") from exc
    except UnidentifiedImageError as exc:
        raise _Unreadable("unsupported_format" if heic else "corrupt") from exc
    except Exception as exc:  # noqa: BLE001 - truncated or malformed image data
        raise _Unreadable("corrupt") from exc


def _large_jpeg(data: bytes, limits: ReadLimits) -> Image.Image:
    """A phone photo above the pixel limit (48, 108, 200 Mpx cameras), decoded at 1/2, 1/4 or
    1/8 of its size by the JPEG decoder itself (draft mode): the full-size pixels are never
    held, so the limit still bounds memory. A document photographed at 200 Mpx has far more
    detail than OCR needs. Beyond 1/8 it stays unreadable."""
    from PIL import JpegImagePlugin

    try:
        # Opened through the plugin: Image.open's bomb check would refuse it before draft() can help.
        im = JpegImagePlugin.JpegImageFile(io.BytesIO(data))
        width, height = im.size
        scale = next((s for s in (2, 4, 8) if (width // s) * (height // s) <= limits.max_pixels), None)
        if scale is None:
            raise _Unreadable("too_many_pixels")
        im.draft("RGB", (-(-width // scale), -(-height // scale)))
        _check_pixels(im.size, limits)
        im.load()
        return _upright_rgb(im)
    except _Unreadable:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or malformed image data
        raise _Unreadable("corrupt") from exc


def _check_pixels(size: tuple[int, int], limits: ReadLimits) -> None:
    if size[0] * size[1] > limits.max_pixels:
        raise _Unreadable("too_many_pixels")


def _frames(im: Image.Image, limits: ReadLimits) -> list[Image.Image]:
    count = getattr(im, "n_frames", 1) if im.format == "TIFF" else 1
    if count > limits.max_pages:
        raise _Unreadable("too_many_pages")
    frames = []
    for index in range(count):
        im.seek(index)
        _check_pixels(im.size, limits)
        im.load()
        frames.append(_upright_rgb(im))
    return frames


def _upright_rgb(im: Image.Image) -> Image.Image:
    try:
        turned = ImageOps.exif_transpose(im) or im
    except Exception:  # noqa: BLE001 - broken EXIF: keep the pixels as stored
        turned = im
    if turned.mode in ("RGBA", "LA", "PA") or (turned.mode == "P" and "transparency" in turned.info):
        rgba = turned.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))  # transparent areas are paper, not ink
        return white
    return turned.convert("RGB")


def _ocr_upright(image: Image.Image, ocr: OcrEngine, name: str) -> tuple[Image.Image, str, bool]:
    """OCR text of the image, read straight; the image whose text was kept; whether that
    image was turned (its pixels no longer line up with the original's).

    A photo held at an angle is straightened first, and read as it came only if the
    straightened copy shows no document. When neither does, a small image is read again
    enlarged, and then the engine (if it can) is asked how far to turn a sideways scan.

    Measured on the accuracy set's 87 phone photos: straightening first recognised 79
    documents against 73, but lost 5 that the unstraightened photo had shown (Tesseract
    is fickle on soft photos); keeping whichever reading recognises a document keeps both.
    Doubling only on failure: on the 900 px phone photos it turned 3 of 12 unrecognised
    documents into recognised ones, while upscaling every photo under 1,300 px lost names
    on the 1,086 px sample photos that were read well as they were.
    """
    from parsers.deskew import estimate_skew, straightened
    from parsers.ocr import OrientingOcr

    angle = estimate_skew(image)
    tries = [(straightened(image, angle), True)] if abs(angle) >= STRAIGHTEN_FROM else []
    tries.append((image, False))
    kept: tuple[Image.Image, str, bool] | None = None  # the first try's reading, if none is recognised
    for candidate, turned in tries:
        text = ocr.image_to_text(candidate)
        if classify_text(text):
            return candidate, text, turned
        kept = kept or (candidate, text, turned)
    assert kept is not None
    first, text, turned = kept
    if not isinstance(ocr, OrientingOcr):
        return first, text, turned
    if max(first.size) < ZOOM_BELOW:  # before turning: OSD on a small, soft image is unreliable
        factor = ZOOM_TO / max(first.size)
        bigger = first.resize((round(first.width * factor), round(first.height * factor)), Image.Resampling.LANCZOS)
        zoomed = ocr.image_to_text(bigger)
        if classify_text(zoomed):
            return bigger, zoomed, turned
    rotation = ocr.detect_rotation(image)
    if not rotation:
        return first, text, turned
    upright = image.rotate(-rotation, expand=True)
    return upright, ocr.image_to_text(upright), True


# --------------------------------------------------------------------------- text-like


def _read_text_like(data: bytes, content_type: str, name: str, kind: str) -> AttachmentReading:
    text = _docx_text(data) if kind == "docx" else _decode_text(data, content_type)
    if kind == "html":
        text = html.unescape(re.sub(r"(?s)<(script|style)\b.*?</\1>|<[^>]+>", " ", text))
    reading = read_text(text, name)
    numbers = find_my_numbers(text)
    form = None
    if reading.kind == "request_form":
        doc = DocumentEvidence(kind="request_form", filename=name, names=reading.names, my_number=bool(numbers),
                               confidence=reading.confidence)  # fmt: skip
        form = _form_facts([_Page(1, text, reading)], {})
    elif reading.kind != "unknown" or numbers:
        doc = DocumentEvidence(kind="unknown", filename=name, my_number=bool(numbers), confidence=0.0)
    else:
        return AttachmentReading(filename=name, documents=())
    masked = mask_my_numbers(text).encode("utf-8") if numbers and kind != "docx" else None
    return AttachmentReading(filename=name, documents=(doc,), form=form, masked_data=masked)


def _decode_text(data: bytes, content_type: str) -> str:
    from parsers.charsets import decode_bytes

    msg = Message()
    msg["Content-Type"] = content_type or "text/plain"
    charset = msg.get_param("charset")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    return decode_bytes(data, charset if isinstance(charset, str) else None)


def _docx_text(data: bytes) -> str:
    """The paragraphs of a .docx, bounded (a zip bomb stops at 10 MB of XML)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("word/document.xml")
            if info.file_size > 10 * 1024 * 1024:
                raise _Unreadable("too_large")
            xml = archive.read(info).decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _Unreadable("corrupt") from exc
    xml = re.sub(r"</w:p>|<w:br\s*/>|<w:tab\s*/>", "\n", xml)
    return html.unescape(re.sub(r"<[^>]+>", "", xml))


# --------------------------------------------------------------------------- documents


def _documents(pages: list[_Page], name: str, extra_my_number: bool = False) -> list[DocumentEvidence]:
    """Consecutive pages of one kind make one document; unrecognised pages continue the
    document before them (a back side, a second page); another person's card starts anew."""
    groups: list[list[_Page]] = []
    for page in pages:
        if groups and _continues(groups[-1], page):
            groups[-1].append(page)
        else:
            groups.append([page])
    documents = []
    for group in groups:
        if _worth_reporting(group):
            documents.append(_evidence(group, name))
        documents += [_extra(page, kind, name) for page in group for kind in page.reading.also]
    if extra_my_number:
        if not documents:
            documents = [DocumentEvidence(kind="unknown", filename=name, confidence=0.0)]
        documents = [_with_my_number(d) for d in documents]
    return documents


def _group_kind(group: list[_Page]) -> str:
    return next((p.reading.kind for p in group if p.reading.kind != "unknown"), "unknown")


def _continues(group: list[_Page], page: _Page) -> bool:
    kind, page_kind = _group_kind(group), page.reading.kind
    if page_kind == "unknown":
        return True
    if page_kind != kind:
        return False
    if kind in CARD_KINDS or page.reading.titled:
        return not _other_person(group, page)
    return True


def _other_person(group: list[_Page], page: _Page) -> bool:
    theirs = {compact(n) for p in group for n in p.reading.names}
    mine = {compact(n) for n in page.reading.names}
    if not theirs or not mine:
        return False
    return not any(a in b or b in a for a in theirs for b in mine)


def _worth_reporting(group: list[_Page]) -> bool:
    """A recognised document, or one holding a number, or a page with real text on it."""
    if _group_kind(group) != "unknown":
        return True
    if any(p.reading.my_number or p.layer_numbers for p in group):
        return True
    return sum(len(compact(p.text)) for p in group) >= 40


def _evidence(group: list[_Page], name: str) -> DocumentEvidence:
    kind = _group_kind(group)
    own = [p for p in group if p.reading.kind == kind] or group
    names: dict[str, None] = {}
    for page in group:
        for person in page.reading.names:
            names.setdefault(person, None)
    return DocumentEvidence(
        kind=kind,
        filename=name,
        pages=tuple(p.number for p in group),
        names=tuple(names),
        issued_on=next((p.reading.issued_on for p in own if p.reading.issued_on), None),
        my_number=any(p.reading.my_number for p in group),
        insurance_number_unmasked=any(p.reading.insurance_number_unmasked for p in group),
        confidence=max(p.reading.confidence for p in own) if kind != "unknown" else 0.0,
    )


def _extra(page: _Page, kind: str, name: str) -> DocumentEvidence:
    """A second document on the same page (a licence copied on the sheet of a 住民票)."""
    reading = page.reading
    confidence = dict(reading.candidates).get(kind, 0.0)
    return DocumentEvidence(
        kind=kind, filename=name, pages=(page.number,), names=reading.names, my_number=reading.my_number,
        confidence=confidence,
    )  # fmt: skip


def _with_my_number(doc: DocumentEvidence) -> DocumentEvidence:
    return replace(doc, my_number=True)


# --------------------------------------------------------------------------- masking

_PAD = 4


def _secret_boxes(text: str, words: list[OcrWord], insurance: bool) -> list[tuple[int, int, int, int]] | None:
    """Pixel boxes covering every secret in the OCR text; None if one cannot be located."""
    spans = [(s, e) for s, e, _ in find_my_numbers(text)]
    if insurance:
        spans += insurance_number_spans(text)
    boxes = []
    for start, end in spans:
        hit = [w for w in words if w.start < end and w.end > start]
        if not hit:
            return None
        boxes += [(w.left - _PAD, w.top - _PAD, w.left + w.width + _PAD, w.top + w.height + _PAD) for w in hit]
    return boxes


def _blacken(image: Image.Image, boxes: list[tuple[int, int, int, int]]) -> Image.Image:
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    for box in boxes:
        draw.rectangle(box, fill=(0, 0, 0))
    return out


def _masked_page(page: _Page, ocr: OcrEngine | None) -> Image.Image | None:
    """The page's image with its secrets blacked out, or None if that cannot be done safely."""
    from parsers.ocr import WordBoxOcr

    if page.image is None or not isinstance(ocr, WordBoxOcr):
        return None
    insurance = page.reading.insurance_number_unmasked
    boxes = _secret_boxes(page.ocr_text, ocr.image_to_words(page.image), insurance)
    if boxes is None:
        return None
    masked = _blacken(page.image, boxes)
    if find_my_numbers(ocr.image_to_text(masked)):  # the check a reader of the copy would make
        return None
    return masked


def _mask_images(pages: list[_Page], ocr: OcrEngine | None, fmt: str) -> bytes | None:
    out = []
    for page in pages:
        if page.reading.my_number or page.reading.insurance_number_unmasked:
            masked = _masked_page(page, ocr)
            if masked is None:
                return None
            out.append(masked)
        elif page.image is not None:
            out.append(page.image.convert("RGB"))
    if not out:
        return None
    buf = io.BytesIO()
    if len(out) > 1:
        out[0].save(buf, format="TIFF", save_all=True, append_images=out[1:], compression="tiff_lzw")
    elif fmt == "JPEG":
        out[0].save(buf, format="JPEG", quality=90)
    else:
        out[0].save(buf, format="PNG")
    return buf.getvalue()


def _mask_pdf(
    data: bytes, pages: list[_Page], limits: ReadLimits, ocr: OcrEngine | None, forms_hold_numbers: bool
) -> bytes | None:
    """An image-only copy of the PDF with every located secret blacked out."""
    needles = {p.number: p.layer_numbers for p in pages if p.layer_numbers}
    rendered = render_pages(data, limits.pdf(), needles, draw_forms=not forms_hold_numbers)
    if not rendered:
        return None
    by_number = {p.number: p for p in pages}
    images = []
    for r in rendered:
        page = by_number.get(r.number)
        turned = _turned_scan_masked(page, r.boxes, ocr) if page is not None else None
        if turned is not None:
            images.append(turned)
            continue
        with Image.open(io.BytesIO(r.jpeg)) as im:
            image = _blacken(im, list(r.boxes))
        if not r.all_found or (page is not None and not _mask_ocr_part(image, page, ocr)):
            image = Image.new("RGB", image.size, (0, 0, 0))  # not located: hide the whole page
        images.append(image)
    return images_to_pdf(images, limits.render_dpi)


def _turned_scan_masked(
    page: _Page, layer_boxes: tuple[tuple[int, int, int, int], ...], ocr: OcrEngine | None
) -> Image.Image | None:
    """A scanned page that OCR read turned (straightened, or sideways) and on which it found
    a secret, kept as it was read with the secret blacked out: the page as rendered has
    other pixels than the ones OCR located the number in, and hiding it whole would leave
    staff a black 住民票. None for any other page (and a black page if the secret cannot
    be located on the turned image)."""
    if not page.rotated or layer_boxes or page.image is None:
        return None
    if not (find_my_numbers(page.ocr_text) or page.reading.insurance_number_unmasked):
        return None
    masked = _masked_page(page, ocr)
    return masked.convert("RGB") if masked is not None else Image.new("RGB", page.image.size, (0, 0, 0))


def _mask_ocr_part(image: Image.Image, page: _Page, ocr: OcrEngine | None) -> bool:
    """Black out the secrets OCR found on a scanned page; False if that cannot be done."""
    from parsers.ocr import WordBoxOcr

    secrets = find_my_numbers(page.ocr_text) or (
        page.reading.insurance_number_unmasked and insurance_number_spans(page.ocr_text)
    )
    if not secrets:
        return True
    if page.rotated or page.image is None or page.image.size != image.size or not isinstance(ocr, WordBoxOcr):
        return False
    boxes = _secret_boxes(page.ocr_text, ocr.image_to_words(page.image), page.reading.insurance_number_unmasked)
    if boxes is None:
        return False
    draw = ImageDraw.Draw(image)
    for box in boxes:
        draw.rectangle(box, fill=(0, 0, 0))
    return True
