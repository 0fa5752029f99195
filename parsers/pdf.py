"""Reading untrusted PDFs: text per page, images of scanned pages, form fields, masking.

A PDF from a stranger can hang a parser (reference cycles), or make it allocate without
bound (decompression bombs such as shared/corpora/pdf/pdfjs/bomb_giant.pdf). So every
parse and render runs in a fresh process of its own, under a wall-clock timeout, an
address-space limit (RLIMIT_AS) and a CPU limit, and that process dies afterwards. A job
that times out, crashes or runs out of memory makes the PDF unreadable; it never takes
the bot down, and never leaves anything behind for the next PDF.

That process is cloned from a warm zygote that imported the PDF libraries once, because a
fresh interpreter spends ~0.22 s importing them, ten times the reading of a typical one-
or two-page PDF (parsers/pdf_sandbox.py says why cloning is safe in a threaded bot).
Where the zygote cannot run, each job gets a fresh `python -c` interpreter instead. The
memory budget counts the preloaded libraries, so that a limit means the same either way.

Why not multiprocessing: on Python 3.11 every `spawn` and `forkserver` child re-imports
the parent's main module (measured: 0.67 s for `bot.cli` per PDF), `fork` is unsafe in a
threaded bot, and its results come back as pickles. Here the job answers in
length-prefixed frames (a JSON header, then raw blobs) read with a size cap: a job
compromised by a hostile PDF must not be able to run code in the parent.

Text comes from pdfplumber (pypdfium2's text layer when pdfminer cannot open the file).
Pages with little or no text, or mostly covered by images, are rendered (grayscale PNG)
for OCR by the caller. Nothing here logs page contents.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import resource
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from parsers import pdf_sandbox

log = logging.getLogger(__name__)

__all__ = [
    "PdfContent",
    "PdfLimits",
    "PdfPage",
    "RenderedPage",
    "images_to_pdf",
    "pdf_form_fields",
    "read_pdf",
    "render_pages",
]

_PRELOADED_BYTES = 0  # address space the zygote's imports added (_preload)
_CID = re.compile(r"\(cid:\d+\)")
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class PdfLimits:
    """Bounds for one PDF: pages read, seconds and bytes of memory the child may use."""

    max_pages: int = 30
    timeout_seconds: float = 60.0
    max_memory_bytes: int = 1 << 30
    render_dpi: int = 200
    max_render_pixels: int = 12_000_000
    min_text_chars: int = 30  # fewer non-space characters than this: treat as a scan


@dataclass(frozen=True)
class PdfPage:
    """One page: its text layer, and a grayscale PNG when the page needs OCR."""

    number: int  # 1-based
    text: str
    image_png: bytes | None = None


@dataclass(frozen=True)
class PdfContent:
    """What a PDF yielded; `error` is set ('encrypted', 'corrupt', 'timeout' …) when not."""

    pages: tuple[PdfPage, ...] = ()
    page_count: int = 0
    fields: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class RenderedPage:
    """A page rendered for a masked copy, with the boxes (pixels) of the text to hide."""

    number: int
    jpeg: bytes
    boxes: tuple[tuple[int, int, int, int], ...]
    all_found: bool


class _PdfProblem(Exception):
    """A reason the PDF cannot be read, raised in the child and sent as a short code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------- public API


def read_pdf(data: bytes, limits: PdfLimits = PdfLimits()) -> PdfContent:
    """Text per page, scans rendered for OCR, and AcroForm values, read in a sandbox."""
    header, blobs = _run_child("read", data, limits, {})
    if header.get("status") != "ok":
        return PdfContent(error=str(header.get("reason", "corrupt")))
    pages = []
    for page in header.get("pages", []):
        image = blobs[page["blob"]] if page.get("blob") is not None else None
        pages.append(PdfPage(int(page["number"]), str(page["text"]), image))
    fields = {str(k): str(v) for k, v in dict(header.get("fields", {})).items()}
    return PdfContent(tuple(pages), int(header.get("page_count", len(pages))), fields)


def pdf_form_fields(data: bytes, limits: PdfLimits = PdfLimits()) -> dict[str, str]:
    """AcroForm field values by full name: text as written, checkboxes as '/Yes', '/Off' …

    Empty on any failure (no form, encrypted, corrupt, timeout): a form that cannot be
    read is handled like a form without fields.
    """
    header, _ = _run_child("fields", data, limits, {})
    if header.get("status") != "ok":
        return {}
    return {str(k): str(v) for k, v in dict(header.get("fields", {})).items()}


def render_pages(
    data: bytes, limits: PdfLimits, needles: Mapping[int, list[str]], draw_forms: bool = True
) -> list[RenderedPage] | None:
    """Every page as an RGB JPEG at the OCR scale, with the boxes where each needle (a digit
    string) stands in the text layer; None when the PDF cannot be rendered."""
    arg = {"needles": {str(k): v for k, v in needles.items()}, "draw_forms": draw_forms}
    header, blobs = _run_child("render", data, limits, arg)
    if header.get("status") != "ok":
        return None
    out = []
    for page in header.get("pages", []):
        boxes = tuple((int(a), int(b), int(c), int(d)) for a, b, c, d in page["boxes"])
        out.append(RenderedPage(int(page["number"]), blobs[page["blob"]], boxes, bool(page["all_found"])))
    return out


def images_to_pdf(images: list[Any], dpi: int) -> bytes:
    """Pillow images to one image-only PDF (what is kept when a page had to be masked)."""
    buf = io.BytesIO()
    rgb = [im.convert("RGB") for im in images]
    rgb[0].save(buf, format="PDF", save_all=True, append_images=rgb[1:], resolution=float(dpi))
    return buf.getvalue()


# --------------------------------------------------------------------------- the sandbox


def _run_child(task: str, data: bytes, limits: PdfLimits, arg: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
    """Run `task` in a limited process; ({'status': 'error', 'reason': …}, []) on any failure."""
    request = json.dumps({"task": task, "limits": asdict(limits), "arg": arg}).encode()
    return pdf_sandbox.run(len(request).to_bytes(4, "big") + request + data, limits.timeout_seconds)


def _preload() -> None:
    """What the zygote imports once, so that its jobs start with everything loaded."""
    global _PRELOADED_BYTES
    before = _mapped_bytes()
    import encodings.utf_16_be  # noqa: F401

    import pdfplumber  # noqa: F401
    import pypdf  # noqa: F401
    import pypdf._codecs._codecs  # noqa: F401 - imported by pypdf on its first page
    import pypdf.filters  # noqa: F401
    import pypdfium2  # noqa: F401
    from pdfminer.pdfdocument import PDFPasswordIncorrect  # noqa: F401
    from PIL import Image

    Image.preinit()  # the PNG and JPEG plugins
    _PRELOADED_BYTES = max(0, _mapped_bytes() - before)


def _answer(raw: bytes) -> list[bytes]:
    """In the sandboxed process: limit ourselves, do the task, return the answer's frames."""
    blobs: list[bytes] = []
    try:
        size = int.from_bytes(raw[:4], "big")
        request = json.loads(raw[4 : 4 + size])
        limits = PdfLimits(**request["limits"])
        _limit_resources(limits)
        header = _TASKS[request["task"]](raw[4 + size :], limits, request["arg"], blobs)
        header["status"] = "ok"
    except _PdfProblem as problem:
        header, blobs = {"status": "error", "reason": problem.reason}, []
    except MemoryError:
        header, blobs = {"status": "error", "reason": "memory"}, []
    except Exception:  # noqa: BLE001 - whatever a hostile file does, answer with a code
        header, blobs = {"status": "error", "reason": "corrupt"}, []
    header["blobs"] = len(blobs)
    return [json.dumps(header).encode(), *blobs]


def _limit_resources(limits: PdfLimits) -> None:
    """Address space: what the child maps (the request and the PDF included) plus the
    budget, the PDF libraries counted in the budget, preloaded or not, so that a limit
    means the same in a zygote's job as in a cold child; CPU seconds."""
    mapped = _mapped_bytes() - _PRELOADED_BYTES
    cap = mapped + limits.max_memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    cpu = math.ceil(limits.timeout_seconds) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 512 * 1024 * 1024


# --------------------------------------------------------------------------- child tasks


def _task_read(data: bytes, limits: PdfLimits, arg: dict[str, Any], blobs: list[bytes]) -> dict[str, Any]:
    fields = _check_and_fields(data, limits)
    try:
        pages = _read_with_pdfplumber(data, limits, blobs)
    except _PdfProblem:
        raise
    except Exception:  # noqa: BLE001 - pdfminer gave up; pdfium repairs more files
        blobs.clear()
        pages = _read_with_pdfium(data, limits, blobs)
    return {"pages": pages, "page_count": len(pages), "fields": fields}


def _task_fields(data: bytes, limits: PdfLimits, arg: dict[str, Any], blobs: list[bytes]) -> dict[str, Any]:
    return {"fields": _check_and_fields(data, limits)}


def _check_and_fields(data: bytes, limits: PdfLimits) -> dict[str, str]:
    """Encryption and form fields through pypdf; raises _PdfProblem('encrypted') when a
    password is needed. pypdf failing to parse is not fatal: pdfplumber may still read it."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _PdfProblem("encrypted")
        if len(reader.pages) > limits.max_pages:
            raise _PdfProblem("too_many_pages")
        return _fields_of(reader)
    except _PdfProblem:
        raise
    except Exception:  # noqa: BLE001
        return {}


def _fields_of(reader: Any) -> dict[str, str]:
    try:
        fields = reader.get_fields() or {}
    except Exception:  # noqa: BLE001 - a broken AcroForm is just no form
        return {}
    out: dict[str, str] = {}
    for name, fld in list(fields.items())[:2000]:
        value = fld.get("/V") if hasattr(fld, "get") else None
        if value is None:
            if fld.get("/FT") == "/Btn":
                out[str(name)] = "/Off"
            continue
        out[str(name)] = _field_text(value)
    return out


def _field_text(value: Any) -> str:
    if isinstance(value, bytes):
        for codec in ("utf-16", "cp932", "latin-1"):
            try:
                return value.decode(codec)
            except UnicodeDecodeError:
                continue
    if isinstance(value, list):
        return ", ".join(_field_text(v) for v in value)
    return str(value)


def _read_with_pdfplumber(data: bytes, limits: PdfLimits, blobs: list[bytes]) -> list[dict[str, Any]]:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except PDFPasswordIncorrect as exc:
        raise _PdfProblem("encrypted") from exc
    with pdf:
        if len(pdf.pages) > limits.max_pages:
            raise _PdfProblem("too_many_pages")
        if not pdf.pages:
            raise ValueError("no pages found by pdfminer")  # let pdfium try
        pages = []
        renderer = _Renderer(data, limits)
        for index, page in enumerate(pdf.pages):
            text = _page_text(page)
            blob = None
            if _needs_ocr(page, text, limits):
                blob = renderer.gray_png(index, blobs)
            pages.append({"number": index + 1, "text": text, "blob": blob})
        return pages


def _page_text(page: Any) -> str:
    try:
        return _CID.sub("", page.extract_text() or "")
    except Exception:  # noqa: BLE001 - one bad page must not lose the others
        return ""


def _needs_ocr(page: Any, text: str, limits: PdfLimits) -> bool:
    """A scan or a photo on the page: (almost) no text, images over half the page with only
    a caption, or one image the size of a card or more (an ID card copied at its real size
    is 7 % of an A4 page; seal impressions and logos are well under 5 %)."""
    chars = len(_WS.sub("", text))
    if chars < limits.min_text_chars:
        return True
    try:
        area = float(page.width) * float(page.height)
        shares = [abs((im["x1"] - im["x0"]) * (im["bottom"] - im["top"])) / area for im in page.images]
    except Exception:  # noqa: BLE001 - no image information: trust the text layer
        return False
    return (chars < 200 and sum(shares) > 0.5) or any(share >= 0.05 for share in shares)


class _Renderer:
    """pypdfium2 rendering at the OCR scale, the document opened once per child."""

    def __init__(self, data: bytes, limits: PdfLimits) -> None:
        self.data = data
        self.limits = limits
        self._doc: Any = None

    def doc(self) -> Any:
        if self._doc is None:
            import pypdfium2

            self._doc = pypdfium2.PdfDocument(self.data)
        return self._doc

    def scale(self, page: Any) -> float:
        width, height = page.get_size()
        return _render_scale(float(width), float(height), self.limits)

    def gray_png(self, index: int, blobs: list[bytes]) -> int | None:
        try:
            page = self.doc()[index]
            image = page.render(scale=self.scale(page), grayscale=True).to_pil()
            buf = io.BytesIO()
            image.convert("L").save(buf, format="PNG", optimize=False)
        except MemoryError:
            raise
        except Exception:  # noqa: BLE001 - an unrenderable page is just a page without OCR
            return None
        blobs.append(buf.getvalue())
        return len(blobs) - 1


def _render_scale(width_pt: float, height_pt: float, limits: PdfLimits) -> float:
    """dpi/72, reduced so that the page stays under the pixel limit."""
    scale = limits.render_dpi / 72.0
    area = max(1.0, width_pt * height_pt)
    return min(scale, math.sqrt(limits.max_render_pixels / area))


def _read_with_pdfium(data: bytes, limits: PdfLimits, blobs: list[bytes]) -> list[dict[str, Any]]:
    import pypdfium2

    try:
        renderer = _Renderer(data, limits)
        doc = renderer.doc()
    except pypdfium2.PdfiumError as exc:
        reason = "encrypted" if "password" in str(exc).lower() else "corrupt"
        raise _PdfProblem(reason) from exc
    if len(doc) > limits.max_pages:
        raise _PdfProblem("too_many_pages")
    if len(doc) == 0:
        raise _PdfProblem("corrupt")
    pages = []
    for index in range(len(doc)):
        try:
            text = doc[index].get_textpage().get_text_range() or ""
        except Exception:  # noqa: BLE001
            text = ""
        blob = renderer.gray_png(index, blobs) if len(_WS.sub("", text)) < limits.min_text_chars else None
        pages.append({"number": index + 1, "text": text, "blob": blob})
    return pages


def _task_render(data: bytes, limits: PdfLimits, arg: dict[str, Any], blobs: list[bytes]) -> dict[str, Any]:
    """Render every page (RGB JPEG) and locate the needles in each page's text layer."""
    needles: dict[str, list[str]] = arg.get("needles", {})
    renderer = _Renderer(data, limits)
    doc = renderer.doc()
    if len(doc) > limits.max_pages:
        raise _PdfProblem("too_many_pages")
    located = _locate_needles(data, needles, renderer) if needles else {}
    pages = []
    for index in range(len(doc)):
        page = doc[index]
        image = page.render(scale=renderer.scale(page), may_draw_forms=bool(arg.get("draw_forms", True))).to_pil()
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="JPEG", quality=90)
        blobs.append(buf.getvalue())
        boxes, found = located.get(index + 1, ([], not needles.get(str(index + 1))))
        pages.append({"number": index + 1, "blob": len(blobs) - 1, "boxes": boxes, "all_found": found})
    return {"pages": pages}


def _locate_needles(
    data: bytes, needles: dict[str, list[str]], renderer: _Renderer
) -> dict[int, tuple[list[list[int]], bool]]:
    """Pixel boxes of each digit string in the pdfplumber text layer of its page."""
    import pdfplumber

    out: dict[int, tuple[list[list[int]], bool]] = {}
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for key, digit_strings in needles.items():
            number = int(key)
            if not 1 <= number <= len(pdf.pages):
                continue
            page = pdf.pages[number - 1]
            scale = renderer.scale(renderer.doc()[number - 1])
            out[number] = _page_boxes(page, digit_strings, scale)
    return out


def _page_boxes(page: Any, digit_strings: list[str], scale: float) -> tuple[list[list[int]], bool]:
    if page.rotation:
        return [], False  # coordinates would need turning; the caller blacks out the page
    x_origin, y_origin = float(page.cropbox[0]), float(page.cropbox[1])
    boxes: list[list[int]] = []
    all_found = True
    for digits in digit_strings:
        pattern = r"[\s\-‐－ー]*".join(f"[{d}{chr(ord(d) + 0xFEE0)}]" for d in digits)
        matches = page.search(pattern, regex=True, return_chars=False)
        all_found = all_found and bool(matches)
        for m in matches:
            box = (m["x0"] - x_origin, m["top"] - y_origin, m["x1"] - x_origin, m["bottom"] - y_origin)
            boxes.append([math.floor(box[0] * scale) - 4, math.floor(box[1] * scale) - 4,
                          math.ceil(box[2] * scale) + 4, math.ceil(box[3] * scale) + 4])  # fmt: skip
    return boxes, all_found


_TASKS: dict[str, Callable[[bytes, PdfLimits, dict[str, Any], list[bytes]], dict[str, Any]]] = {
    "read": _task_read,
    "fields": _task_fields,
    "render": _task_render,
}
