"""Check boxes of the project's own request form, read from a scan or a photo.

Why this exists: Tesseract never turns a hand-drawn tick, cross, blot or ring into ☑ or
■, so on an image of our form the text reader finds no request type at all (0 of 57
marked boxes in the first accuracy run). A clerk does not read the mark as a letter
either: they look at the box. So does this module.

How: the blank form is drawn once by `replies.form_pdf` (the same code that publishes it),
and its text, its check boxes and its rendered ink are kept as a template. OCR words on
the page image that occur exactly once in the template's text are anchors; a similarity
transform fitted to them with RANSAC says roughly where the page lies in the image, and a
perspective (homography) fit to the anchors that agree absorbs a phone photo's angle. A
page is ours only if enough of its anchors agree: other companies' forms print the same
phrases elsewhere. Each box's stretch of its section, then the box itself, is cut out of
the image in template coordinates and aligned to the template's printed ink by
correlation, and the ink that the blank form does not have is measured in and around the
box. A mark is a mark whether ticked, crossed, filled or circled: all of them
leave ink where the blank form has none.

The decision core (`_decide`) is a threshold on that extra ink in pt², chosen on a
calibration batch of hand-marked forms that is not part of the accuracy set.
"""

from __future__ import annotations

import functools
import io
import logging
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from config.form_definition import FIELD_BY_NAME, FIELDS
from parsers.ocr import OcrWord

log = logging.getLogger(__name__)

__all__ = ["LAYOUT_ANCHORS", "BoxMark", "FormMarks", "read_marks"]

PX_PER_PT = 3  # resolution of the template and of every cut-out, in pixels per point
MIN_ANCHORS = 6  # inliers needed before the boxes of a page are read
LAYOUT_ANCHORS = 12  # inliers that make an unrecognised page our form by its layout alone
_MIN_INLIER_SHARE = 0.4  # of the anchors; our form's pages 0.6-0.9, six other layouts and 住民票 0.07-0.25
MARK_PT2 = 2.0  # extra ink (pt²) from which a box counts as marked (a hand mark leaves 3-60)
_SEARCH_PT = 8.0  # how far a box may sit from where the fit puts it (less than a row)
_SECTION_SEARCH_PT = 30.0  # how far a whole section may sit from where the fit puts it
_SECTION_ABOVE_PT = 30.0  # the section's heading band, which tells one row of boxes from another
_SECTION_BELOW_PT = 8.0
_PAGE_MARGIN_PT = 36.0
_SECTION_WIDTH_PT = 220.0  # a column of the check-box grid
_CONTEXT_PT = 14.0  # printed ink this far round a box is matched to place it exactly
_WINDOW_PT = 4.5  # ink counted up to this far outside a box (half the gap to the next row)
_TOLERANCE_PT = 1.3  # printed ink may spread this far (blur, registration) without counting
_BACKGROUND_PT = 10.0  # wider than any mark, so a filled box is not taken for shade
_ROUGH_PT = 8.0  # a similarity is this far off across a photographed page
_FINE_PT = 3.0  # a perspective fit is this close for anchors that are right
_HOMOGRAPHY_MIN = 12
_RANSAC_TRIES = 400


@dataclass(frozen=True)
class BoxMark:
    """One check box as read: whether it is marked, the ink that says so, how sure."""

    field: str
    marked: bool
    extra_ink_pt2: float
    confidence: float


@dataclass(frozen=True)
class FormMarks:
    """The boxes of one page of our form, and how well the page was located."""

    page: int  # which page of the form this image is (1-based)
    anchors: int  # OCR words that agreed on where the page lies
    boxes: tuple[BoxMark, ...]

    def marked(self, section: str) -> list[str]:
        """Contract codes of the marked boxes of a section, in form order."""
        codes = []
        for box in self.boxes:
            field = FIELD_BY_NAME[box.field]
            if box.marked and field.section == section and field.code:
                codes.append(field.code)
        return codes

    def has_section(self, section: str) -> bool:
        return any(FIELD_BY_NAME[b.field].section == section for b in self.boxes)

    @property
    def confidence(self) -> float:
        return min((b.confidence for b in self.boxes), default=0.0)


# --------------------------------------------------------------------------- template

_Rect = tuple[float, float, float, float]  # x0, top, x1, bottom in points, top-left origin


@dataclass(frozen=True)
class _TemplatePage:
    number: int
    index: dict[str, _Rect]  # text that occurs once on the page -> where
    boxes: dict[str, _Rect]  # checkbox field name -> its square
    ink: np.ndarray  # float 0..1, rendered at PX_PER_PT


def _norm(text: str) -> str:
    """Width and compatibility forms folded char by char, so offsets stay aligned."""
    out = []
    for char in text:
        folded = unicodedata.normalize("NFKC", char)
        out.append(folded if len(folded) == 1 else char)
    return "".join(out)


@functools.lru_cache(maxsize=1)
def _template() -> tuple[_TemplatePage, ...]:
    """Our blank form, drawn by the code that publishes it (so the two cannot drift)."""
    import pdfplumber
    import pypdfium2

    from replies.form_pdf import build_request_form

    pdf = build_request_form(
        company_name="株式会社", window_name="窓口", window_address="window@example.invalid", fees={"disclose": 1000}
    )
    pages = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        with pdfplumber.open(io.BytesIO(pdf)) as plumbed:
            for number, page in enumerate(plumbed.pages, start=1):
                boxes = {}
                for annot in page.annots:
                    name = (annot.get("data") or {}).get("T")
                    name = name.decode() if isinstance(name, bytes) else name
                    field = FIELD_BY_NAME.get(str(name))
                    if field is not None and field.kind == "checkbox":
                        boxes[field.name] = (annot["x0"], annot["top"], annot["x1"], annot["bottom"])
                rendered = document[number - 1].render(scale=PX_PER_PT, grayscale=True, may_draw_forms=True)
                gray = np.asarray(rendered.to_pil().convert("L"), dtype=np.float32)
                ink = np.clip((255.0 - gray) / 255.0, 0.0, 1.0)
                pages.append(_TemplatePage(number, _unique_texts(page.chars), boxes, ink))
    finally:
        document.close()
    return tuple(pages)


def _unique_texts(chars: Sequence[dict[str, object]]) -> dict[str, _Rect]:
    """Every 2-6 character run of a text line that occurs exactly once on the page."""
    lines: dict[int, list[dict[str, object]]] = {}
    for char in chars:
        lines.setdefault(round(float(str(char["top"])) / 2), []).append(char)
    seen: dict[str, list[_Rect]] = {}
    for row in lines.values():
        row.sort(key=lambda c: float(str(c["x0"])))
        text = _norm("".join(str(c["text"]) for c in row))
        rects = np.array([[float(str(c[k])) for k in ("x0", "top", "x1", "bottom")] for c in row])
        for start in range(len(text)):
            for end in range(start + 2, min(len(text), start + 6) + 1):
                part = rects[start:end]
                x0, top = part[:, :2].min(axis=0)
                x1, bottom = part[:, 2:].max(axis=0)
                seen.setdefault(text[start:end], []).append((float(x0), float(top), float(x1), float(bottom)))
    return {text: where[0] for text, where in seen.items() if len(where) == 1 and _meaningful(text)}


def _meaningful(text: str) -> bool:
    """Runs of digits, dots and dashes recur everywhere and anchor nothing."""
    return sum(1 for c in text if c.isalpha()) >= 2


# --------------------------------------------------------------------------- registration


@dataclass(frozen=True)
class _Anchor:
    template: tuple[float, float]
    image: tuple[float, float]


def _anchors(words: Sequence[OcrWord], page: _TemplatePage) -> list[_Anchor]:
    """OCR words (and runs of up to three neighbouring words: Tesseract cuts Japanese
    into one- and two-character words, most of which occur more than once on the form)
    whose text occurs exactly once in the template."""
    found = []
    for first in range(len(words)):
        text, run = "", list[OcrWord]()
        for word in words[first : first + 3]:
            if run and word.start > run[-1].end + 1:  # the next line, or another pass
                break
            run.append(word)
            text += _norm(word.text.strip())
            if len(text) > 6:
                break
            rect = page.index.get(text)
            if rect is not None:
                anchor = _anchor(rect, run)
                if anchor is not None:
                    found.append(anchor)
    return found


def _anchor(rect: _Rect, run: list[OcrWord]) -> _Anchor | None:
    left, top = min(w.left for w in run), min(w.top for w in run)
    right = max(w.left + w.width for w in run)
    bottom = max(w.top + w.height for w in run)
    if right <= left or bottom <= top:
        return None
    t_aspect = (rect[2] - rect[0]) / max(rect[3] - rect[1], 0.1)
    i_aspect = (right - left) / (bottom - top)
    if not 0.6 < i_aspect / t_aspect < 1.6:  # Tesseract merged it with a neighbour
        return None
    return _Anchor(((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2), ((left + right) / 2, (top + bottom) / 2))


def _similarity(a: _Anchor, b: _Anchor) -> np.ndarray | None:
    """The 2x3 matrix of the rotation + scale + shift taking two template points to two image points."""
    (tx0, ty0), (tx1, ty1) = a.template, b.template
    (ix0, iy0), (ix1, iy1) = a.image, b.image
    dt = complex(tx1 - tx0, ty1 - ty0)
    if abs(dt) < 20:  # too close together to say anything about scale or angle
        return None
    z = complex(ix1 - ix0, iy1 - iy0) / dt
    if not 0.7 < abs(z) < 9.0 or abs(np.angle(z)) > np.radians(20):
        return None
    shift = complex(ix0, iy0) - z * complex(tx0, ty0)
    return np.array([[z.real, -z.imag, shift.real], [z.imag, z.real, shift.imag], [0.0, 0.0, 1.0]])


def _project(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Template points (pt) to image pixels through a 3x3 projective matrix."""
    mapped = np.column_stack([points, np.ones(len(points))]) @ matrix.T
    with np.errstate(divide="ignore", invalid="ignore"):  # a degenerate fit: points at infinity
        projected = mapped[:, :2] / mapped[:, 2:3]
    return np.where(np.isfinite(projected), projected, 1e9)


def _scale(matrix: np.ndarray, at: tuple[float, float]) -> float:
    """Image pixels per template point around `at`."""
    here, right, below = _project(matrix, np.array([at, (at[0] + 1, at[1]), (at[0], at[1] + 1)]))
    (ax, ay), (bx, by) = right - here, below - here
    return float(np.sqrt(abs(ax * by - ay * bx)))


def _fit(anchors: list[_Anchor]) -> tuple[np.ndarray, int] | None:
    """Where the page lies: RANSAC over pairs of anchors for a rough similarity, then a
    perspective (homography) fit to the anchors that agree, refined twice. A fixed seed
    keeps a re-run identical."""
    if len(anchors) < MIN_ANCHORS:
        return None
    t = np.array([a.template for a in anchors])
    i = np.array([a.image for a in anchors])
    rnd = random.Random(0)
    count = len(anchors)
    pairs = [tuple(rnd.sample(range(count), 2)) for _ in range(min(_RANSAC_TRIES, count * (count - 1) // 2))]
    best: tuple[int, np.ndarray] | None = None
    for p, q in pairs:
        matrix = _similarity(anchors[p], anchors[q])
        if matrix is None:
            continue
        scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
        inliers = int((np.hypot(*(_project(matrix, t) - i).T) < _ROUGH_PT * scale).sum())
        if best is None or inliers > best[0]:
            best = (inliers, matrix)
    if best is None or best[0] < MIN_ANCHORS:
        return None
    matrix, tolerance = best[1], _ROUGH_PT
    for _ in range(3):
        scale = float(np.hypot(matrix[0, 0], matrix[1, 0]) / abs(matrix[2, 2]))
        keep = np.hypot(*(_project(matrix, t) - i).T) < tolerance * scale
        if keep.sum() < MIN_ANCHORS:
            return None
        enough = keep.sum() >= _HOMOGRAPHY_MIN  # eight unknowns want more than a few points
        matrix = _homography(t[keep], i[keep]) if enough else _least_squares_similarity(t[keep], i[keep])
        tolerance = _FINE_PT
    scale = _scale(matrix, tuple(t.mean(axis=0)))
    keep = np.hypot(*(_project(matrix, t) - i).T) < _FINE_PT * scale
    if keep.sum() < MIN_ANCHORS or keep.sum() < _MIN_INLIER_SHARE * len(anchors):
        return None  # another company's form shares our phrases, but not where they stand
    return matrix, int(keep.sum())


def _least_squares_similarity(t: np.ndarray, i: np.ndarray) -> np.ndarray:
    """x' = a·x − b·y + c, y' = b·x + a·y + d, fitted to every point pair at once."""
    rows = np.zeros((2 * len(t), 4))
    rows[0::2] = np.column_stack([t[:, 0], -t[:, 1], np.ones(len(t)), np.zeros(len(t))])
    rows[1::2] = np.column_stack([t[:, 1], t[:, 0], np.zeros(len(t)), np.ones(len(t))])
    (a, b, c, d), *_ = np.linalg.lstsq(rows, i.reshape(-1), rcond=None)
    return np.array([[a, -b, c], [b, a, d], [0.0, 0.0, 1.0]])


def _normaliser(points: np.ndarray) -> np.ndarray:
    """Hartley's conditioning: centre the points and scale them to unit spread."""
    centre = points.mean(axis=0)
    spread = float(np.sqrt(((points - centre) ** 2).sum(axis=1).mean())) or 1.0
    k = np.sqrt(2) / spread
    return np.array([[k, 0, -k * centre[0]], [0, k, -k * centre[1]], [0, 0, 1.0]])


def _homography(t: np.ndarray, i: np.ndarray) -> np.ndarray:
    """The direct linear transform (least squares by SVD) on conditioned points; a phone
    photo of a page is a perspective view, which no similarity or affine map fits."""
    nt, ni = _normaliser(t), _normaliser(i)
    tp = _project(nt, t)
    ip = _project(ni, i)
    rows = []
    for (x, y), (u, v) in zip(tp, ip, strict=True):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    _, _, vt = np.linalg.svd(np.array(rows), full_matrices=False)
    h = vt[-1].reshape(3, 3)
    matrix = np.linalg.inv(ni) @ h @ nt
    return np.asarray(matrix / matrix[2, 2])


# --------------------------------------------------------------------------- measuring


def _cut_out(gray: np.ndarray, matrix: np.ndarray, rect: _Rect, resolution: int = PX_PER_PT) -> np.ndarray:
    """The image under a template rectangle, resampled (bilinear) to `resolution` px/pt."""
    x0, top, x1, bottom = rect
    cols = int(round((x1 - x0) * resolution))
    rows = int(round((bottom - top) * resolution))
    xs = x0 + (np.arange(cols) + 0.5) / resolution
    ys = top + (np.arange(rows) + 0.5) / resolution
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    points = _project(matrix, grid)
    height, width = gray.shape
    px = np.clip(points[:, 0] - 0.5, 0, width - 1.001)
    py = np.clip(points[:, 1] - 0.5, 0, height - 1.001)
    x_lo, y_lo = px.astype(int), py.astype(int)
    fx, fy = px - x_lo, py - y_lo
    top_row = gray[y_lo, x_lo] * (1 - fx) + gray[y_lo, x_lo + 1] * fx
    low_row = gray[y_lo + 1, x_lo] * (1 - fx) + gray[y_lo + 1, x_lo + 1] * fx
    return np.asarray((top_row * (1 - fy) + low_row * fy).reshape(rows, cols), dtype=np.float32)


def _ink(patch: np.ndarray, resolution: int = PX_PER_PT) -> np.ndarray:
    """How dark each pixel is against the paper around it (0 paper, 1 black).

    The paper level is a grey closing wider than any mark, so a shadow's edge or a dim
    corner is paper, while a filled box is still ink.
    """
    image = Image.fromarray(np.clip(patch, 0, 255).astype(np.uint8))
    small = image.reduce(resolution)  # paper varies slowly: a point per pixel is plenty
    size = int(_BACKGROUND_PT) | 1
    paper = small.filter(ImageFilter.MaxFilter(size)).filter(ImageFilter.MinFilter(size))
    paper = paper.resize(image.size, Image.Resampling.BILINEAR)
    level = np.maximum(np.asarray(paper, dtype=np.float32), 1.0)
    ink: np.ndarray = np.clip((level - patch) / level, 0.0, 1.0)
    return ink


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """The mask grown by `radius` pixels every way (a square), not wrapping at the edges."""
    grown = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(2 * radius + 1))
    return np.asarray(grown) > 0


def _align(ink: np.ndarray, printed: np.ndarray, search: int) -> tuple[int, int]:
    """The shift (rows, cols) within ±search at which the image's ink best matches the
    blank form's printed ink around the box: borders, the label and the box itself.

    Cross-correlation by FFT over the whole search square; the printed side is made
    zero-mean so that a uniformly dark area (a blot, a shadow) does not pull the match.
    """
    core = printed[search:-search, search:-search]
    kernel = core - core.mean()
    if not kernel.any():
        return (0, 0)
    shape = (ink.shape[0] + kernel.shape[0], ink.shape[1] + kernel.shape[1])
    spectrum = np.fft.rfft2(ink, shape) * np.conj(np.fft.rfft2(kernel, shape))
    correlation = np.fft.irfft2(spectrum, shape)[: 2 * search + 1, : 2 * search + 1]
    row, col = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
    return int(row) - search, int(col) - search


def _extra_ink(gray: np.ndarray, matrix: np.ndarray, box: _Rect, page: _TemplatePage) -> float:
    """Ink in and around the box that the blank form does not have, in pt²."""
    reach = _CONTEXT_PT + _SEARCH_PT
    margin = reach + _BACKGROUND_PT / 2
    rect = (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)
    ink = _ink(_cut_out(gray, matrix, rect))
    x0, y0 = int(round(rect[0] * PX_PER_PT)), int(round(rect[1] * PX_PER_PT))
    printed = page.ink[y0 : y0 + ink.shape[0], x0 : x0 + ink.shape[1]]
    if printed.shape != ink.shape:  # a box at the very edge of the page: nothing to compare
        return 0.0
    trim = int(_BACKGROUND_PT / 2 * PX_PER_PT)
    ink, printed = ink[trim:-trim, trim:-trim], printed[trim:-trim, trim:-trim]
    search = int(_SEARCH_PT * PX_PER_PT)
    dy, dx = _align(ink, printed, search)
    ink = ink[search + dy : ink.shape[0] - search + dy, search + dx : ink.shape[1] - search + dx]
    printed = printed[search:-search, search:-search]
    allowed = _dilate(printed > 0.3, int(round(_TOLERANCE_PT * PX_PER_PT)))
    extra = (ink > 0.35) & ~allowed
    inset = int((_CONTEXT_PT - _WINDOW_PT) * PX_PER_PT)
    return float(extra[inset:-inset, inset:-inset].sum()) / PX_PER_PT**2


def _decide(field: str, extra_pt2: float) -> BoxMark:
    """Marked from MARK_PT2 of extra ink; sure when far from that line either way."""
    distance = abs(extra_pt2 - MARK_PT2) / MARK_PT2
    return BoxMark(field, extra_pt2 >= MARK_PT2, round(extra_pt2, 1), round(min(1.0, distance), 2))


# --------------------------------------------------------------------------- entry point


def read_marks(image: Image.Image, words: Sequence[OcrWord]) -> FormMarks | None:
    """The check boxes of our form on `image`, or None when it is not a page of our form
    (or too little of it was read to know where the boxes are)."""
    try:
        pages = _template()
    except Exception as exc:  # noqa: BLE001 - no font, no template: the text reader still runs
        log.warning("form template unavailable: %s", type(exc).__name__)
        return None
    best: tuple[_TemplatePage, np.ndarray, int] | None = None
    for page in pages:
        fitted = _fit(_anchors(words, page)) if page.boxes else None
        if fitted is not None and (best is None or fitted[1] > best[2]):
            best = (page, *fitted)
    if best is None:
        return None
    page, matrix, inliers = best
    gray = np.asarray(ImageOps.grayscale(image), dtype=np.float32)
    marks = []
    for section in dict.fromkeys(f.section for f in FIELDS if f.name in page.boxes):
        fields = [f for f in FIELDS if f.section == section and f.name in page.boxes]
        boxes = [page.boxes[f.name] for f in fields]
        for field, box in zip(fields, boxes, strict=True):
            placed = _section_shift(gray, matrix, page, box, boxes)
            marks.append(_decide(field.name, _extra_ink(gray, placed, box, page)))
    return FormMarks(page.number, inliers, tuple(marks))


def _section_shift(
    gray: np.ndarray, matrix: np.ndarray, page: _TemplatePage, box: _Rect, section: list[_Rect]
) -> np.ndarray:
    """The fit, moved by where the box's part of its section (its column, all rows, and the
    heading above) matches the printed form best, within ±_SECTION_SEARCH_PT.

    A fit from few anchors can be off by more than a box search may correct; rows repeat
    every 20 pt, so only a stretch of the section with its heading says which row is which,
    and a stretch no wider than a column keeps a fit's scale error small within it.
    """
    top = min(b[1] for b in section) - _SECTION_ABOVE_PT
    bottom = max(b[3] for b in section) + _SECTION_BELOW_PT
    reach = _SECTION_SEARCH_PT
    right = min(box[0] + _SECTION_WIDTH_PT, page.ink.shape[1] / PX_PER_PT - _PAGE_MARGIN_PT)
    rect = (box[0] - 10 - reach, top - reach, right + reach, bottom + reach)
    ink = _ink(_cut_out(gray, matrix, rect, resolution=1), resolution=1)
    x0, y0 = int(round(rect[0] * PX_PER_PT)), int(round(rect[1] * PX_PER_PT))
    rows, cols = ink.shape
    printed = page.ink[y0 : y0 + rows * PX_PER_PT, x0 : x0 + cols * PX_PER_PT]
    if printed.shape != (rows * PX_PER_PT, cols * PX_PER_PT):
        return matrix
    coarse = printed.reshape(rows, PX_PER_PT, cols, PX_PER_PT).mean(axis=(1, 3))
    dy, dx = _align(ink, coarse, int(reach))
    shifted: np.ndarray = matrix @ np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])
    return shifted
