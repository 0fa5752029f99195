"""OCR of document photos and scanned pages (Tesseract, Japanese + English).

This is the only module that imports pytesseract, so that the rest of the reader can be
tested with a fake engine (`OcrEngine` is a Protocol) and runs where Tesseract is absent.

What was measured on the ID-card photos in shared/samples/fixtures (1,072-1,280 px wide):
- one pass on the grayscale image reads most text but drops small print (公安委員会);
- a second pass on the inverted, contrast-stretched image with sparse-text layout
  (`--psm 11`) reads white-on-colour bands (the 個人番号カード title, the licence expiry
  band) and the small print: 31 of 34 key phrases in the union against 25 for the plain
  RGB image;
- OpenMP inside Tesseract makes each call about 4x slower on two cores (2.5 s against
  0.65 s for a passport photo), so `OMP_THREAD_LIMIT=1` is set unless already set.

What was measured on the labelled accuracy set (bench/accuracy/run.py, CPU per page, one core):
- the grayscale pass reads the lighting-flattened image (`_flatten_lighting`: the grey image
  divided by a heavily blurred copy of itself, then contrast-stretched). Phone photos
  recognised, before -> after: under a hard shadow 10 -> 13 of 14, dim (JPEG q50) 8 -> 12 of 15,
  small (900 px, JPEG q40) 5 -> 7 of 19 (same CPU; flattening itself takes ~0.03 s). It changes
  no geometry, so word boxes stay exact. Upscaling photos under 1,300 px to 2,000 px while
  also flattening the inverted pass gave small 9/19 and shadow 14/14 but dim 7/15; not kept
  (the two effects were not measured apart);
- the inverted pass is skipped once the grayscale pass has read `_DENSE_PAGE_CHARS` Japanese
  characters (a dense page: A4 forms and certificates read 600+ in the first pass, ID cards
  under 150). On the 34 flatbed scans (150-300 dpi): 32/34 -> 33/34 recognised, CPU per page
  median 4.0 -> 2.2 s, p95 6.0 -> 3.5 s. The p95 is the second pages of two-page forms (88
  Japanese characters: below the threshold, so still two passes). The inverted pass still
  runs on the plain (not flattened) grayscale image, as measured for the ID cards.

Results are cached in memory per SHA-256 of the image pixels, because the same image is
read for classification, for the check boxes and again for masking the individual number;
with a `ResultStore` they are also kept on disk (encrypted by the bot), so that replaying a
quarantined mail or re-reading stored documents does not pay for OCR again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from PIL import Image, ImageFilter, ImageMath, ImageOps

log = logging.getLogger(__name__)

__all__ = [
    "OcrEngine",
    "OcrError",
    "OcrWord",
    "OrientingOcr",
    "ResultStore",
    "TesseractOcr",
    "WordBoxOcr",
    "ocr_available",
]


@runtime_checkable
class OcrEngine(Protocol):
    """Anything that turns an image into text (Tesseract here, a fake in tests)."""

    def image_to_text(self, image: Image.Image) -> str: ...


@dataclass(frozen=True)
class OcrWord:
    """One recognised word: its text, its box in the caller's image pixels, and where it
    sits in the text that `image_to_text` returned for the same image."""

    text: str
    left: int
    top: int
    width: int
    height: int
    start: int
    end: int


@runtime_checkable
class WordBoxOcr(OcrEngine, Protocol):
    """An engine that can also say where each word is (needed to black out a number)."""

    def image_to_words(self, image: Image.Image) -> list[OcrWord]: ...


@runtime_checkable
class OrientingOcr(OcrEngine, Protocol):
    """An engine that can tell how far a sideways or upside-down scan must be turned."""

    def detect_rotation(self, image: Image.Image) -> int: ...


class ResultStore(Protocol):
    """Where OCR results outlive the process (the bot keeps them encrypted: bot/ocr_cache.py).

    Keys are hex digests of the image pixels and the engine's settings; values are opaque bytes.
    """

    def load(self, key: str) -> bytes | None: ...

    def save(self, key: str, data: bytes) -> None: ...


class OcrError(RuntimeError):
    """Every OCR pass failed (Tesseract missing, crashed or timed out)."""


@functools.lru_cache(maxsize=1)
def ocr_available() -> bool:
    """Whether Tesseract runs here and has the Japanese data (checked once per process)."""
    try:
        import pytesseract

        pytesseract.get_tesseract_version()
        return "jpn" in pytesseract.get_languages(config="")
    except Exception:  # noqa: BLE001 - any failure means: no OCR here
        return False


_UPSCALE_TO = 1400
_MIN_OSD_CONFIDENCE = 1.5
_INVERTED_MAX_SIDE = 1400  # the sparse inverted pass on a whole A4 page took 6.1 s, at 1,400 px 1.1 s ...
_INVERTED_CAP_ABOVE = 2100  # ... but capping 1,600 x 2,058 page photos lost 3 of them: only larger ones
_DENSE_PAGE_CHARS = 200  # Japanese characters read by the first pass that make a page "dense"
_BACKGROUND_REDUCE = 8  # the background is estimated on a 1/8 copy (fast, ignores strokes)
_BACKGROUND_BLUR = 6.0  # ... blurred by 6 px there, ~50 px on the image: wider than any letter


@dataclass(frozen=True)
class _Pass:
    """One way of preparing the image: the prepared image, its scale and Tesseract config."""

    image: Image.Image
    scale: float
    config: str


@dataclass(frozen=True)
class _Result:
    text: str
    words: tuple[OcrWord, ...]


def _resize_for_ocr(gray: Image.Image, min_side: int, max_side: int) -> tuple[Image.Image, float]:
    """Upscale small images (Tesseract wants ~20 px letters) and shrink huge phone photos
    (a 12 Mpx photo takes many seconds and reads no better).

    Measured on the six fixture card photos shrunk to 420 px: 18 of 34 key phrases read
    as they are, 27 when upscaled to 1,400 px; at 1,072 px upscaling gained nothing.
    """
    longest = max(gray.size)
    scale = 1.0
    if longest < min_side:
        scale = min(4.0, _UPSCALE_TO / longest)
    elif longest > max_side:
        scale = max_side / longest
    if scale == 1.0:
        return gray, 1.0
    size = (max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))
    return gray.resize(size, Image.Resampling.LANCZOS), scale


def _flatten_lighting(gray: Image.Image) -> Image.Image:
    """The grey image divided by its own background (a heavily blurred copy), then
    contrast-stretched: shadows, dim light and uneven lighting leave paper white and ink
    dark everywhere. Geometry is unchanged, so word boxes stay in the same pixels."""
    small = gray.reduce(_BACKGROUND_REDUCE) if min(gray.size) >= 8 * _BACKGROUND_REDUCE else gray
    background = small.filter(ImageFilter.GaussianBlur(_BACKGROUND_BLUR)).resize(gray.size, Image.Resampling.BILINEAR)
    background = background.point(lambda v: max(v, 1))  # no division by zero
    flat = ImageMath.lambda_eval(lambda a: a["g"] * 255 / a["b"], g=gray, b=background).convert("L")
    return ImageOps.autocontrast(flat, cutoff=1)


def _inverted(gray: Image.Image) -> Image.Image:
    """White-on-colour text made dark-on-light for the second pass."""
    return ImageOps.autocontrast(ImageOps.invert(gray), cutoff=2)


def _wants_inverted_pass(first_text: str) -> bool:
    """Whether the inverted pass is worth its time after the grayscale pass read `first_text`.

    A page on which the grayscale pass already read many Japanese characters is a dense
    document (an A4 form, a 住民票): the inverted pass doubled its time and changed no result
    on the 34 flatbed scans. ID cards (white-on-colour bands) read far fewer in the first pass.
    """
    return sum(1 for c in first_text if _is_japanese(c)) < _DENSE_PAGE_CHARS


def _is_japanese(char: str) -> bool:
    return "\u3040" <= char <= "\u30ff" or "\u4e00" <= char <= "\u9fff"


def _passes(image: Image.Image, min_side: int, max_side: int) -> list[_Pass]:
    """Lighting-flattened grayscale, then the plain grayscale inverted + contrast-stretched
    (for white text on coloured bands); `TesseractOcr` runs the second only when
    `_wants_inverted_pass`."""
    gray, scale = _resize_for_ocr(ImageOps.grayscale(image), min_side, max_side)
    small, small_scale = gray, scale
    if max(gray.size) > _INVERTED_CAP_ABOVE:
        factor = _INVERTED_MAX_SIDE / max(gray.size)
        small = gray.resize((round(gray.width * factor), round(gray.height * factor)), Image.Resampling.LANCZOS)
        small_scale = scale * factor
    return [_Pass(_flatten_lighting(gray), scale, "--psm 3"), _Pass(_inverted(small), small_scale, "--psm 11")]


_READER_VERSION = "4"  # raise when passes or preprocessing change: stored results go stale


def _encode(result: _Result) -> bytes:
    words = [[w.text, w.left, w.top, w.width, w.height, w.start, w.end] for w in result.words]
    return json.dumps({"text": result.text, "words": words}, ensure_ascii=False).encode()


def _decode(data: bytes) -> _Result:
    raw = json.loads(data)
    words = tuple(OcrWord(str(w[0]), *(int(v) for v in w[1:])) for w in raw["words"])
    return _Result(str(raw["text"]), words)


def _image_key(image: Image.Image) -> str:
    digest = hashlib.sha256()
    digest.update(f"{image.mode}:{image.size}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def _lines_from_data(data: dict[str, list[Any]], scale: float, offset: int) -> tuple[list[str], list[OcrWord]]:
    """Tesseract's TSV rows to text lines, and words whose offsets point into those lines.

    Tesseract cuts Japanese into one "word" per character or two; joining them with spaces
    would turn 令和05年 into 令 和 05 年 and 坂本修 into 坂本 修. Words are joined without a
    space unless both sides are Latin letters/digits or the gap on the page is wide.
    """
    lines: list[str] = []
    words: list[OcrWord] = []
    line = ""
    key_of_line: tuple[int, int, int] | None = None
    previous: OcrWord | None = None
    for i, raw in enumerate(data.get("text", [])):
        text = str(raw).strip()
        if not text:
            continue
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        if key != key_of_line and key_of_line is not None:
            lines.append(line)
            offset += len(line) + 1
            line, previous = "", None
        key_of_line = key
        word = _scaled_word(text, data, i, scale, 0)
        if previous is not None and _needs_space(previous, word):
            line += " "
        word = OcrWord(word.text, word.left, word.top, word.width, word.height, offset + len(line),
                       offset + len(line) + len(text))  # fmt: skip
        line += text
        words.append(word)
        previous = word
    if key_of_line is not None:
        lines.append(line)
    return lines, words


def _scaled_word(text: str, data: dict[str, list[Any]], i: int, scale: float, start: int) -> OcrWord:
    def px(name: str) -> int:
        return round(int(data[name][i]) / scale)

    return OcrWord(text, px("left"), px("top"), px("width"), px("height"), start, start + len(text))


def _needs_space(left: OcrWord, right: OcrWord) -> bool:
    """Latin words and numbers keep their space (two numbers side by side must not merge
    into one twelve-digit run); Japanese words are joined unless the gap is wide."""
    a, b = left.text[-1], right.text[0]
    if a.isascii() and a.isalnum() and b.isascii() and b.isalnum():
        return True
    gap = right.left - (left.left + left.width)
    return gap > 0.45 * max(left.height, right.height, 1)


class TesseractOcr:
    """Tesseract through pytesseract, one or two preprocessing passes, results cached per image.

    `timeout` bounds each Tesseract call (seconds); the cache keeps the last `cache_size`
    images' results in memory, and `store` (optional) keeps them across runs; the bot's
    store encrypts them, because they are the text of identity documents.
    """

    def __init__(
        self,
        lang: str = "jpn+eng",
        timeout: float = 30.0,
        cache_size: int = 64,
        min_side: int = 1000,
        max_side: int = 2800,
        store: ResultStore | None = None,
    ) -> None:
        self.lang = lang
        self.store = store
        self.timeout = timeout
        self.cache_size = cache_size
        self.min_side = min_side
        self.max_side = max_side
        self._cache: OrderedDict[str, _Result] = OrderedDict()
        self._lock = threading.Lock()
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    def image_to_text(self, image: Image.Image) -> str:
        """All text read on the image, one pass after the other, lines separated by \\n."""
        return self._read(image).text

    def image_to_words(self, image: Image.Image) -> list[OcrWord]:
        """The words of `image_to_text(image)` with their boxes in `image`'s pixels."""
        return list(self._read(image).words)

    def detect_rotation(self, image: Image.Image) -> int:
        """Degrees to turn the image clockwise so its text is upright (0 when unsure).

        Tesseract's OSD takes about 0.5 s, so the reader asks only when an image yielded
        no recognisable document (scans fed sideways into the scanner, photos without EXIF).
        """
        import pytesseract

        gray, _ = _resize_for_ocr(ImageOps.grayscale(image), self.min_side, self.max_side)
        try:
            osd = pytesseract.image_to_osd(gray, output_type=pytesseract.Output.DICT, timeout=self.timeout)
        except Exception as exc:  # noqa: BLE001 - too little text for OSD is common
            log.info("orientation detection failed: %s", type(exc).__name__)
            return 0
        rotate = int(osd.get("rotate", 0))
        confident = float(osd.get("orientation_conf", 0.0)) >= _MIN_OSD_CONFIDENCE
        return rotate if confident and rotate in (90, 180, 270) else 0

    def _read(self, image: Image.Image) -> _Result:
        key = self._key(image)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        result = self._stored(key)
        if result is None:
            result = self._run_passes(image)
            self._store(key, result)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return result

    def _key(self, image: Image.Image) -> str:
        """The pixels and everything that changes what Tesseract reads from them: a result
        made by other settings or an older reader is never taken for this one's."""
        settings = f"{_READER_VERSION}:{self.lang}:{self.min_side}:{self.max_side}"
        return hashlib.sha256(f"{settings}:{_image_key(image)}".encode()).hexdigest()

    def _stored(self, key: str) -> _Result | None:
        """A re-run (a replayed mail, a policy check) does not pay for OCR twice."""
        if self.store is None:
            return None
        try:
            data = self.store.load(key)
            return _decode(data) if data is not None else None
        except Exception as exc:  # noqa: BLE001 - a bad cache entry only costs a fresh OCR
            log.warning("OCR cache entry unusable: %s", type(exc).__name__)
            return None

    def _store(self, key: str, result: _Result) -> None:
        if self.store is None:
            return
        try:
            self.store.save(key, _encode(result))
        except Exception as exc:  # noqa: BLE001 - a full disk must not stop the reading
            log.warning("OCR cache write failed: %s", type(exc).__name__)

    def _run_passes(self, image: Image.Image) -> _Result:
        lines: list[str] = []
        words: list[OcrWord] = []
        failures = 0
        passes = _passes(image, self.min_side, self.max_side)
        for index, ocr_pass in enumerate(passes):
            if index > 0 and not failures and not _wants_inverted_pass("\n".join(lines)):
                passes = passes[:index]
                break
            offset = sum(len(line) + 1 for line in lines)
            try:
                data = self._data(ocr_pass.image, ocr_pass.config)
            except Exception as exc:  # noqa: BLE001 - one failed pass must not lose the other
                failures += 1
                log.warning("OCR pass failed: %s", type(exc).__name__)
                continue
            pass_lines, pass_words = _lines_from_data(data, ocr_pass.scale, offset)
            lines.extend(pass_lines)
            words.extend(pass_words)
        if failures == len(passes):
            raise OcrError("every OCR pass failed")
        return _Result("\n".join(lines), tuple(words))

    def _data(self, image: Image.Image, config: str) -> dict[str, list[Any]]:
        import pytesseract

        to_data: Callable[..., dict[str, list[Any]]] = pytesseract.image_to_data
        return to_data(image, lang=self.lang, config=config, output_type=pytesseract.Output.DICT, timeout=self.timeout)
