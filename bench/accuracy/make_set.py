#!/usr/bin/env python3
"""Builds the labelled accuracy set: documents made the way requesters make them.

    .venv/bin/python bench/accuracy/make_set.py --out /tmp/acc-set

Writes one file per item and `labels.json` (item → true kind, request types, check boxes,
My Number, and the degradation applied).  Deterministic: fixed seeds, reportlab invariant
mode.  Everything is synthetic (made-up people and numbers, the 例…/見本… place names of
tests/scenarios/make_fixtures.py).

Sources (reused, not changed): the document drawers of tests/scenarios/make_fixtures.py
(request forms in six other layouts, 住民票, 戸籍, 登記事項証明書, 委任状, 印鑑登録証明書,
弁護士登録証明書; cards: licence, passport with MRZ, residence card, insurance card,
資格確認書, 個人番号カード) and the project's own form (replies.form_pdf.build_request_form),
filled here by drawing hand-made marks into its check boxes.  Drawn here: a special
permanent resident certificate and the back of an individual number card.

Degradations (Pillow only): page scans at 150/200/300 dpi (small skew, grey, JPEG 55-90,
image-only PDF or JPEG), phone photos of pages and cards (perspective, rotation 1-8°,
gradient shadow, dim/low contrast, blur, noise, JPEG 40-95, 900-1600 px), and the clean
digital PDFs as they come.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NotRequired, TypedDict, Unpack

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "scenarios"))

import make_fixtures as mf  # noqa: E402
import pypdfium2 as pdfium  # noqa: E402
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from config.policy import load_policy  # noqa: E402
from replies.form_pdf import build_request_form  # noqa: E402

TYPES = [c for c, _ in mf.TYPES_JA]
FIXED_DATE = time.strptime("2025-06-01 10:00:00", "%Y-%m-%d %H:%M:%S")

# --------------------------------------------------------------------------- degradations

RGB = tuple[int, int, int]


class ScanSpec(TypedDict):
    dpi: int
    angle: float
    grey: bool
    quality: int
    blur: float
    noise: float
    fmt: str
    brightness: NotRequired[float]
    contrast: NotRequired[float]


class PhotoSpec(TypedDict):
    width: int
    angle: float
    persp: float
    shadow: float
    brightness: float
    contrast: float
    blur: float
    noise: float
    quality: int


class Label(TypedDict, total=False):
    """The optional fields of a labels.json item."""

    request_types: list[str]
    layout: str
    checkboxes: dict[str, bool]
    marks: dict[str, str]
    pages: int
    number12: str
    number12_passes_check: bool
    side: str


class Item(Label):
    """One labels.json item."""

    file: str
    kind: str
    degradation: str
    source: str
    my_number: bool


SCANS: dict[str, ScanSpec] = {  # page scans: dpi, skew, grey, jpeg quality, blur, noise, container
    "scan300_pdf": ScanSpec(dpi=300, angle=0.4, grey=True, quality=88, blur=0.0, noise=0.02, fmt="pdf"),
    "scan200_pdf": ScanSpec(dpi=200, angle=-1.2, grey=False, quality=75, blur=0.4, noise=0.03, fmt="pdf"),
    "scan150_jpg": ScanSpec(dpi=150, angle=1.0, grey=True, quality=60, blur=0.5, noise=0.04, fmt="jpg"),
    "scan150_q40": ScanSpec(dpi=150, angle=-0.6, grey=False, quality=40, blur=0.6, noise=0.05, fmt="jpg"),
    "scan200_dark": ScanSpec(
        dpi=200, angle=2.0, grey=True, quality=70, blur=0.3, noise=0.03, fmt="pdf", brightness=0.78, contrast=0.7
    ),
}
PHOTOS: dict[str, PhotoSpec] = {  # phone photos (pages and cards): final width, rotation, perspective, shadow, light
    "photo_tilt": PhotoSpec(
        width=1600, angle=-4.0, persp=0.05, shadow=0.35, brightness=1.0, contrast=1.0, blur=0.7, noise=0.04, quality=75
    ),
    "photo_shadow": PhotoSpec(
        width=1400, angle=2.5, persp=0.03, shadow=0.55, brightness=0.95, contrast=0.9, blur=0.5, noise=0.05, quality=70
    ),
    "photo_dim_q50": PhotoSpec(
        width=1200, angle=6.0, persp=0.04, shadow=0.3, brightness=0.7, contrast=0.75, blur=0.8, noise=0.06, quality=50
    ),
    "photo_small_q40": PhotoSpec(
        width=900, angle=-7.5, persp=0.06, shadow=0.25, brightness=1.0, contrast=0.95, blur=0.6, noise=0.05, quality=40
    ),
    "photo_clean_q95": PhotoSpec(
        width=1500,
        angle=1.2,
        persp=0.015,
        shadow=0.12,
        brightness=1.05,
        contrast=1.05,
        blur=0.3,
        noise=0.02,
        quality=95,
    ),
}


def _noise(img: Image.Image, amount: float, rnd: random.Random) -> Image.Image:
    if amount <= 0:
        return img
    nz = mf.noise_layer(img.size, rnd)
    if img.mode == "L":
        return Image.blend(img, nz, amount)
    return Image.blend(img, Image.merge("RGB", [nz] * 3), amount)


# A held-out variant of the set (`--variant N`): the same documents and degradations, but
# other random draws for every scan and photo (perspective, shadow, noise, desk colour) and
# each angle moved by up to ±1.5°. Rules tuned by looking at misses of variant 0 are checked
# on a variant nobody looked at.
VARIANT = 0


def _rng(seed: int) -> random.Random:
    return random.Random(seed + 7919 * VARIANT)


def _angle(spec_angle: float, rnd: random.Random) -> float:
    return spec_angle + (rnd.uniform(-1.5, 1.5) if VARIANT else 0.0)


def scan(page: Image.Image, spec: ScanSpec, seed: int) -> Image.Image:
    """A flatbed scan of a printed page (page already rendered at spec dpi)."""
    rnd = _rng(seed)
    img = page.convert("L" if spec["grey"] else "RGB")
    fill = 245 if img.mode == "L" else (245, 245, 243)
    img = img.rotate(_angle(spec["angle"], rnd), resample=Image.Resampling.BICUBIC, fillcolor=fill)
    if spec.get("brightness"):
        img = ImageEnhance.Brightness(img).enhance(spec["brightness"])
    if spec.get("contrast"):
        img = ImageEnhance.Contrast(img).enhance(spec["contrast"])
    if spec["blur"]:
        img = img.filter(ImageFilter.GaussianBlur(spec["blur"]))
    return _noise(img, spec["noise"], rnd)


def photo(subject: Image.Image, spec: PhotoSpec, seed: int, bg: RGB = (196, 188, 176)) -> Image.Image:
    """A hand-held phone photo: on a desk, perspective, rotation, gradient shadow, blur, noise."""
    rnd = _rng(seed)
    subject = subject.convert("RGB")
    m = int(0.08 * max(subject.size))
    W, H = subject.width + 2 * m, subject.height + 2 * m
    tex = mf.noise_layer((W, H), rnd).filter(ImageFilter.GaussianBlur(3))
    base = Image.blend(Image.new("RGB", (W, H), bg), Image.merge("RGB", [tex] * 3), 0.1)
    base.paste(subject, (m, m))
    # perspective: a quad of the source (TL, BL, BR, TR) mapped onto the output rectangle
    p = spec["persp"]

    def j(v: float) -> float:
        return v + rnd.uniform(-p, p) * W

    quad = (
        j(0),
        j(0),
        j(0),
        H + rnd.uniform(-p, p) * H,
        W + rnd.uniform(-p, p) * W,
        H + rnd.uniform(-p, p) * H,
        W + rnd.uniform(-p, p) * W,
        j(0),
    )
    img = base.transform((W, H), Image.Transform.QUAD, quad, resample=Image.Resampling.BICUBIC, fillcolor=bg)
    img = img.rotate(_angle(spec["angle"], rnd), resample=Image.Resampling.BICUBIC, expand=True, fillcolor=bg)
    # uneven light: a gradient shadow across the frame
    grad = Image.linear_gradient("L").resize(img.size).rotate(rnd.uniform(0, 360), fillcolor=128)
    s = spec["shadow"]
    light = grad.point(lambda v: int(255 * (1 - s) + v * s))
    img = ImageChops.multiply(img, Image.merge("RGB", [light] * 3))
    img = ImageEnhance.Brightness(img).enhance(spec["brightness"])
    img = ImageEnhance.Contrast(img).enhance(spec["contrast"])
    img = img.filter(ImageFilter.GaussianBlur(spec["blur"]))
    w = spec["width"]
    img = img.resize((w, int(img.height * w / img.width)), Image.Resampling.LANCZOS)
    return _noise(img, spec["noise"], rnd)


def save_image(img: Image.Image, path: Path, fmt: str, quality: int, dpi: int = 200) -> None:
    if fmt == "pdf":
        img.save(
            path,
            "PDF",
            resolution=float(dpi),
            quality=quality,
            creationDate=FIXED_DATE,
            modDate=FIXED_DATE,
            producer="",
            creator="",
        )
    else:
        img.save(path, "JPEG", quality=quality, optimize=True)


def render(pdf: bytes | Path, dpi: int, page: int = 0) -> Image.Image:
    doc = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    try:
        img: Image.Image = doc[page].render(scale=dpi / 72).to_pil().convert("RGB")
        return img
    finally:
        doc.close()


def save_multi_pdf(pages: list[Image.Image], path: Path, quality: int, dpi: int) -> None:
    pages[0].save(
        path,
        "PDF",
        resolution=float(dpi),
        quality=quality,
        save_all=True,
        append_images=pages[1:],
        creationDate=FIXED_DATE,
        modDate=FIXED_DATE,
        producer="",
        creator="",
    )


# --------------------------------------------------------------------------- extra cards


def card_capture() -> list[Image.Image]:
    """Makes mf's card drawers hand back the flat card instead of photographing it."""
    captured: list[Image.Image] = []

    def fake(card: Image.Image, seed: int, angle: float, out: str, *args: object, **kw: object) -> Image.Image:
        captured.append(card.copy())
        return card

    mf.photograph = fake
    return captured


def special_permanent_card(seed: int, name: str, nat: str, dob: str, addr: str) -> Image.Image:
    rnd = random.Random(seed)
    c: Image.Image = mf.card_canvas(1000, 630, (228, 242, 232), rnd, (210, 230, 216))
    dr = ImageDraw.Draw(c)
    green = (30, 100, 70)
    mf.bold(dr, (36, 24), "特別永住者証明書", mf.font(38), green)
    dr.text((36, 74), "SPECIAL PERMANENT RESIDENT CERTIFICATE", font=mf.font(20), fill=green)
    dr.text((36, 120), "氏名", font=mf.font(20), fill=(60, 60, 60))
    mf.bold(dr, (110, 110), name, mf.font(38))
    dr.text((36, 176), "生年月日 " + dob + "　国籍・地域 " + nat, font=mf.font(24), fill=(20, 20, 20))
    dr.text((36, 226), "住居地　" + addr, font=mf.font(22), fill=(20, 20, 20))
    dr.text((36, 290), "有効期間の満了日　2032年04月30日", font=mf.font(24), fill=(20, 20, 20))
    dr.text(
        (36, 340), "番号　" + "".join(rnd.choice("0123456789") for _ in range(12)), font=mf.font(24), fill=(20, 20, 20)
    )
    mf.face(c, (730, 110, 960, 400), rnd, hair=(30, 24, 22), shirt=(70, 70, 90))
    dr = ImageDraw.Draw(c)
    dr.text((720, 520), "法務大臣", font=mf.font(24), fill=(20, 20, 20))
    return c


def my_number_back(seed: int, number: str, name: str, dob: str) -> Image.Image:
    rnd = random.Random(seed)
    c: Image.Image = mf.card_canvas(1000, 630, (246, 240, 242), rnd, (232, 222, 228))
    dr = ImageDraw.Draw(c)
    dr.text((40, 40), "個人番号", font=mf.font(24), fill=(60, 60, 60))
    mf.bold(dr, (40, 76), number[:4] + " " + number[4:8] + " " + number[8:], mf.font(52))
    dr.text((40, 170), "氏名", font=mf.font(22), fill=(60, 60, 60))
    mf.bold(dr, (120, 160), name, mf.font(36))
    dr.text((40, 230), "生年月日　" + dob, font=mf.font(26), fill=(20, 20, 20))
    for i in range(14):  # the IC chip / QR area as blocks
        for k in range(14):
            if rnd.random() < 0.5:
                dr.rectangle((740 + i * 14, 60 + k * 14, 752 + i * 14, 72 + k * 14), fill=(30, 30, 30))
    dr.rectangle((40, 330, 600, 560), outline=(180, 180, 180), width=2)
    dr.text((56, 350), "臓器提供意思表示欄", font=mf.font(20), fill=(90, 90, 90))
    return c


# --------------------------------------------------------------------------- the project's form

NAMES = [
    "山本 美和",
    "大野 拓海",
    "石田 千尋",
    "桑原 健",
    "藤本 さやか",
    "今井 正人",
    "北村 結衣",
    "三浦 大地",
    "中島 礼子",
    "森田 翔太",
    "荒木 奈央",
    "小山 洋介",
]
MARKS = ["tick", "cross", "fill", "circle", "tick_ball", "tick"]


def _draw_mark(
    dr: ImageDraw.ImageDraw,
    box: tuple[float, float, float, float],
    mark: str,
    rnd: random.Random,
    ink: RGB,
    scale: float,
) -> None:
    x0, y0, x1, y1 = box
    w = x1 - x0
    lw = max(2, int(scale * rnd.uniform(1.0, 1.6)))

    def jx(v: float) -> float:
        return v + rnd.uniform(-0.12, 0.12) * w

    if mark in ("tick", "tick_ball"):
        pen = ink if mark == "tick" else (40, 40, 160)
        dr.line(
            [
                (jx(x0 + 0.1 * w), jx(y0 + 0.5 * w)),
                (jx(x0 + 0.42 * w), y1 + 0.05 * w),
                (jx(x1 + 0.25 * w), jx(y0 - 0.35 * w)),
            ],
            fill=pen,
            width=lw,
            joint="curve",
        )
    elif mark == "cross":
        dr.line([(jx(x0), jx(y0)), (jx(x1), jx(y1))], fill=ink, width=lw)
        dr.line([(jx(x0), jx(y1)), (jx(x1), jx(y0))], fill=ink, width=lw)
    elif mark == "fill":
        dr.rectangle((x0 + 0.12 * w, y0 + 0.12 * w, x1 - 0.12 * w, y1 - 0.12 * w), fill=ink)
    elif mark == "circle":  # a ring drawn round the box, as people do on paper
        dr.ellipse((x0 - 0.5 * w, y0 - 0.5 * w, x1 + 0.5 * w, y1 + 0.5 * w), outline=ink, width=lw)


def _blank_form() -> bytes:
    return build_request_form(
        company_name="株式会社クロス・プロップワークス",
        window_name="個人情報苦情及び相談窓口",
        window_address="privacy@example.com",
        fees={code: kind.fee_yen for code, kind in load_policy("builtin:seed").request_types.items()},
    )


def filled_form(values: dict[str, str]) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_blank_form())))
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def project_form(index: int, chosen: set[str], dpi: int) -> tuple[list[Image.Image], dict[str, str]]:
    """Page images of the project's own form, printed and filled in by hand."""
    rnd = random.Random(9000 + index)
    pdf = _blank_form()
    reader = PdfReader(io.BytesIO(pdf))
    rects: dict[str, tuple[int, list[float]]] = {}
    for p, page in enumerate(reader.pages):
        for a in page.get("/Annots") or []:
            a = a.get_object()
            if a.get("/T"):
                rects[str(a["/T"])] = (p, [float(v) for v in a["/Rect"]])
    pages = [render(pdf, dpi, i) for i in range(len(reader.pages))]
    scale = dpi / 72
    page_h = float(reader.pages[0].mediabox.height)
    draws = [ImageDraw.Draw(pg) for pg in pages]
    ink: RGB = rnd.choice([(20, 20, 20), (25, 35, 110)])

    def hand(s: float) -> ImageFont.FreeTypeFont:
        f: ImageFont.FreeTypeFont = mf.font(int(s * scale), mf.MINCHO)
        return f

    name = NAMES[index % len(NAMES)]
    values = {
        "requester_name": name,
        "date_submitted": "令和７年６月" + str(1 + index % 27) + "日",
        "requester_address": "例浜県例浜市見本区試験町" + str(index + 1) + "丁目2番3号",
        "requester_phone": "090-0000-" + f"{1000 + index * 37:04d}",
        "requester_email": f"user{index}@example.com",
        "requester_birthdate": "昭和60年4月" + str(index + 1) + "日",
        "target_info": "会員情報及び購入履歴",
    }
    for field, text in values.items():
        if field in rects:
            p, (x0, y0, x1, y1) = rects[field]
            size = min(12.0, (y1 - y0) * 0.6)
            draws[p].text(
                (x0 * scale + 4, (page_h - y1) * scale + 2 + rnd.uniform(-1, 1) * scale),
                text,
                font=hand(size),
                fill=ink,
            )
    marks: dict[str, str] = {}
    for code in TYPES:
        if code in chosen:
            p, (x0, y0, x1, y1) = rects["type_" + code]
            mark = MARKS[(index + TYPES.index(code)) % len(MARKS)]
            marks[code] = mark
            _draw_mark(
                draws[p], (x0 * scale, (page_h - y1) * scale, x1 * scale, (page_h - y0) * scale), mark, rnd, ink, scale
            )
    p, (x0, y0, x1, y1) = rects["method_electronic"]
    _draw_mark(
        draws[p], (x0 * scale, (page_h - y1) * scale, x1 * scale, (page_h - y0) * scale), "tick", rnd, ink, scale
    )
    return pages, marks


# --------------------------------------------------------------------------- the set


class SetBuilder:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.raw = out / "_raw"
        self.raw.mkdir(parents=True, exist_ok=True)
        mf.OUT = self.raw
        self.items: list[Item] = []

    def add(
        self, name: str, kind: str, degradation: str, source: str, my_number: bool = False, **label: Unpack[Label]
    ) -> Path:
        item: Item = {
            "file": name,
            "kind": kind,
            "degradation": degradation,
            "source": source,
            "my_number": bool(my_number),
            **label,
        }
        self.items.append(item)
        return self.out / name

    # a text PDF made by a mf drawer, kept clean and/or scanned/photographed
    def pdf_doc(
        self,
        stem: str,
        kind: str,
        make: Callable[[str], object],
        degradations: list[str],
        seed: int,
        my_number: bool = False,
        **label: Unpack[Label],
    ) -> None:
        make(stem + ".pdf")
        src = self.raw / (stem + ".pdf")
        for deg in degradations:
            seed += 1
            if deg == "clean_pdf":
                (self.out / f"{stem}__clean.pdf").write_bytes(src.read_bytes())
                self.add(f"{stem}__clean.pdf", kind, deg, stem, my_number, **label)
            elif deg in SCANS:
                spec = SCANS[deg]
                img = scan(render(src, spec["dpi"]), spec, seed)
                ext = "pdf" if spec["fmt"] == "pdf" else "jpg"
                save_image(
                    img,
                    self.add(f"{stem}__{deg}.{ext}", kind, deg, stem, my_number, **label),
                    spec["fmt"],
                    spec["quality"],
                    spec["dpi"],
                )
            else:
                pspec = PHOTOS[deg]
                img = photo(render(src, 200), pspec, seed)
                save_image(
                    img, self.add(f"{stem}__{deg}.jpg", kind, deg, stem, my_number, **label), "jpg", pspec["quality"]
                )

    def card(
        self,
        stem: str,
        kind: str,
        card: Image.Image,
        degradations: list[str],
        seed: int,
        my_number: bool = False,
        **label: Unpack[Label],
    ) -> None:
        for deg in degradations:
            seed += 1
            spec = PHOTOS[deg]
            bg: RGB = _rng(seed).choice([(196, 188, 176), (120, 96, 72), (60, 60, 64), (230, 230, 226)])
            img = photo(card, spec, seed, bg)
            save_image(img, self.add(f"{stem}__{deg}.jpg", kind, deg, stem, my_number, **label), "jpg", spec["quality"])


def build(out: Path, size: str) -> list[Item]:
    b = SetBuilder(out)
    P = mf.PEOPLE
    big = size == "large"
    ph = list(PHOTOS)
    sc = list(SCANS)

    def pick(i: int, n: int, pool: list[str]) -> list[str]:
        return [pool[(i + k) % len(pool)] for k in range(n)]

    # ---- request forms, other layouts (mf), clean PDF + scans/photos; request types are labelled
    layouts = [
        (
            "form_a",
            lambda n: mf.form_a(n, P["matsuo"], {"notify_purpose", "disclose"}, {"drivers_license"}),
            {"notify_purpose", "disclose"},
        ),
        (
            "form_b",
            lambda n: mf.form_b(n, P["onodera"], {"suspend", "stop_third_party"}, {"passport"}),
            {"suspend", "stop_third_party"},
        ),
        (
            "form_c",
            lambda n: mf.form_c(n, P["ishikawa"], {"disclose_third_party_records"}, {"resident_record"}),
            {"disclose_third_party_records"},
        ),
        (
            "form_d",
            lambda n: mf.form_d(n, P["nguyen"], {"disclose", "correct"}, {"residence_card"}),
            {"disclose", "correct"},
        ),
        (
            "form_e",
            lambda n: mf.form_e(n, P["murakami"], {"correct", "suspend"}, {"drivers_license"}),
            {"correct", "suspend"},
        ),
        (
            "form_f",
            lambda n: mf.form_f(
                n,
                P["okamoto"],
                [
                    "私は、貴社に対し、個人情報の保護に関する法律第３３条に基づき、貴社が保有する私の保有個人データの開示を請求します。",
                    "対象は、貴社オンラインショップの会員情報及び購入履歴です。",
                ],
                ["旅券の写し", "住民票の写し"],
            ),
            {"disclose"},
        ),
    ]
    for i, (stem, make, types) in enumerate(layouts):
        degs = ["clean_pdf", sc[i % len(sc)]] + ([ph[i % len(ph)]] if big or i % 2 == 0 else [])
        b.pdf_doc("other_" + stem, "request_form", make, degs, 100 + 10 * i, request_types=sorted(types), layout=stem)

    # ---- the project's own form, printed, filled by hand, scanned or photographed
    choices = [
        {"disclose"},
        {"notify_purpose", "disclose"},
        {"correct"},
        {"suspend", "stop_third_party"},
        {"disclose_third_party_records"},
        {"disclose", "disclose_third_party_records"},
        {"notify_purpose"},
        {"correct", "suspend", "stop_third_party"},
        {"disclose"},
        {"notify_purpose", "disclose", "disclose_third_party_records"},
        {"stop_third_party"},
        set(TYPES),
    ]
    n_forms = 30 if big else 10
    form_degs = sc + ph
    for i in range(n_forms):
        deg = form_degs[i % len(form_degs)]
        chosen = choices[i % len(choices)]
        if deg in SCANS:
            spec = SCANS[deg]
            pages, marks = project_form(i, chosen, spec["dpi"])
            pages = [scan(pg, spec, 7000 + i * 3 + k) for k, pg in enumerate(pages)]
            if spec["fmt"] == "pdf":
                path = b.add(
                    f"own_form_{i:02d}__{deg}.pdf",
                    "request_form",
                    deg,
                    "own_form",
                    request_types=sorted(chosen),
                    checkboxes={c: c in chosen for c in TYPES},
                    marks=marks,
                    layout="own",
                    pages=len(pages),
                )
                save_multi_pdf(pages, path, spec["quality"], spec["dpi"])
            else:  # a JPEG of the first page only (the check boxes are on it)
                path = b.add(
                    f"own_form_{i:02d}__{deg}.jpg",
                    "request_form",
                    deg,
                    "own_form",
                    request_types=sorted(chosen),
                    checkboxes={c: c in chosen for c in TYPES},
                    marks=marks,
                    layout="own",
                    pages=1,
                )
                save_image(pages[0], path, "jpg", spec["quality"])
        else:
            pspec = PHOTOS[deg]
            pages, marks = project_form(i, chosen, 200)
            img = photo(pages[0], pspec, 7000 + i)
            path = b.add(
                f"own_form_{i:02d}__{deg}.jpg",
                "request_form",
                deg,
                "own_form",
                request_types=sorted(chosen),
                checkboxes={c: c in chosen for c in TYPES},
                marks=marks,
                layout="own",
                pages=1,
            )
            save_image(img, path, "jpg", pspec["quality"])

    # ---- the project's own form filled in on screen (AcroForm values), a clean digital PDF
    for i, chosen in enumerate(choices[:3] if not big else choices[:6]):
        values = {"requester_name": NAMES[i], "requester_email": f"digital{i}@example.com"}
        values.update({"type_" + c: "/Yes" for c in chosen})
        path = b.add(
            f"own_form_digital_{i:02d}__clean.pdf",
            "request_form",
            "clean_pdf",
            "own_form_digital",
            request_types=sorted(chosen),
            checkboxes={c: c in chosen for c in TYPES},
            layout="own_digital",
        )
        path.write_bytes(filled_form(values))

    # ---- certificates (text PDFs by mf), clean + scans/photos
    rec_people = [
        (
            "rr_okamoto",
            P["okamoto"],
            "例山市北区",
            "岡本 由美子",
            "オカモト ユミコ",
            "昭和61年12月1日",
            "女",
            mf.valid_12("40217359861"),
        ),
        ("rr_kato", P["kato"], "例崎市", "加藤 学", "カトウ マナブ", "昭和50年1月16日", "男", None),
        ("rr_mori", P["mori"], "例いたま市大宮区", "森 和也", "モリ カズヤ", "平成元年6月6日", "男", None),
        (
            "rr_sakai",
            P["sakai"],
            "例岡市博多区",
            "坂井 亮",
            "サカイ リョウ",
            "平成5年10月10日",
            "男",
            mf.valid_12("58203917764"),
        ),
    ]
    for i, (stem, p, city, name, kana, dob, sex, number) in enumerate(rec_people):
        person = dict(name=name, kana=kana, dob=dob, sex=sex, rel="世帯主")
        if number:
            person["number"] = mf.fw(number[:4]) + "　" + mf.fw(number[4:8]) + "　" + mf.fw(number[8:])

        def make(n: str, city: str = city, person: dict[str, str] = person, p: dict[str, str] = p, i: int = i) -> None:
            mf.resident_record(
                n,
                city,
                city + "長　見本 一郎",
                [person],
                p["addr"].split(" ", 1)[-1],
                "令和2年4月1日",
                "例川県見本市試験町1-1",
                "令和７年５月２８日",
                serial=f"第0{i}123号",
            )

        degs = ["clean_pdf", sc[i % len(sc)], ph[(i + 2) % len(ph)]]
        b.pdf_doc(stem, "resident_record", make, degs, 300 + 10 * i, my_number=bool(number))
    # the image-only 住民票 scan drawn by mf (with and without a number), re-photographed too
    for i, number in enumerate([mf.valid_12("73025814469"), None]):
        stem = f"rr_scan_{i}"
        d = dict(
            city="例葉市中央区",
            addr="例葉県例葉市中央区試験町二丁目12番",
            name="渡辺 真一",
            kana="ワタナベ シンイチ",
            dob="昭和56年4月2日",
            sex="男",
            prev="東京都例東区見本町3-3-3",
            mayor="例葉市中央区長　見本 七子",
            serial="第02302号",
            issued="令和７年５月２７日",
        )
        if number:
            d["number"] = number
        mf.scanned_resident_record(stem + ".pdf", 400 + i, d)
        (b.out / f"{stem}__scan150_mf.pdf").write_bytes((b.raw / (stem + ".pdf")).read_bytes())
        b.add(f"{stem}__scan150_mf.pdf", "resident_record", "scan150_mf", stem, my_number=bool(number))

    certs = [
        ("koseki", "family_register", lambda n: mf.family_register(n)),
        ("touki", "guardianship_ruling", lambda n: mf.guardianship_certificate(n)),
        (
            "ininjo_inoue",
            "power_of_attorney",
            lambda n: mf.power_of_attorney(
                n,
                P["inoue_haru"] | dict(addr="例馬県例橋市見本町一丁目11番"),
                dict(name="井上 翔", addr="東京都例谷区試験坂二丁目2番2号"),
                ["株式会社クロス・プロップワークスに対する私の個人情報の利用目的の通知の求めに関すること"],
                "令和７年５月２５日",
            ),
        ),
        (
            "ininjo_kimura",
            "power_of_attorney",
            lambda n: mf.power_of_attorney(
                n,
                dict(name="木村 恵", addr="例浜県例浜市西区試験町七丁目1番20号", dob="平成2年3月14日"),
                dict(name="佐々木 隆", addr="例浜県例浜市中区見本通二丁目3番4号 佐々木総合法律事務所"),
                ["株式会社クロス・プロップワークスに対する保有個人データの開示請求に関する一切の件"],
                "令和７年５月２７日",
                "弁護士　",
            ),
        ),
        (
            "inkan_inoue",
            "seal_certificate",
            lambda n: mf.seal_certificate(
                n,
                P["inoue_haru"] | dict(addr="例馬県例橋市見本町一丁目11番"),
                "例橋市長　見本 花子",
                "令和７年５月２６日",
                "00481920",
            ),
        ),
        (
            "inkan_kato",
            "seal_certificate",
            lambda n: mf.seal_certificate(
                n,
                P["kato"] | dict(addr="例馬県例崎市見本町四丁目4番4号"),
                "例崎市長　見本 二子",
                "令和７年５月３０日",
                "00731206",
            ),
        ),
        ("bengoshi", "qualification_proof", lambda n: mf.lawyer_certificate(n)),
    ]
    for i, (stem, kind, make) in enumerate(certs):
        degs = ["clean_pdf", sc[(i + 1) % len(sc)], ph[(i + 3) % len(ph)]]
        b.pdf_doc(stem, kind, make, degs, 500 + 10 * i)

    # ---- cards: flat drawings from mf, photographed here
    card_capture()  # the mf card drawers now return the flat card

    lic = [
        ("matsuo", mf.licence_no("53012840197"), "例浜県公安委員会", (92, 158, 214)),
        ("murakami", mf.LICENCE_VALID_CHECK, "例島県公安委員会", (218, 182, 80)),
        ("kato", mf.licence_no("40040116523"), "例馬県公安委員会", (120, 180, 110)),
        ("ikeda", mf.licence_no("10840808335"), "例海道公安委員会", (92, 158, 214)),
    ]
    for i, (who, number, comm, band) in enumerate(lic):
        card = mf.licence("x.jpg", 600 + i, P[who], number, comm, band=band)
        b.card(
            f"licence_{who}",
            "drivers_license",
            card,
            pick(i, 2 + big, ph),
            610 + 10 * i,
            number12=number,
            number12_passes_check=number == mf.LICENCE_VALID_CHECK,
        )
    pp = [
        ("onodera", "TZ4481207", True),
        ("nishida", "TS7730462", True),
        ("sakai", "TH6152093", False),
        ("hara", "TK9920417", False),
    ]
    for i, (who, number, lh) in enumerate(pp):
        card = mf.passport("x.jpg", 700 + i, P[who], number, long_hair=lh)
        b.card(f"passport_{who}", "passport", card, pick(i + 1, 2 + big, ph), 710 + 10 * i)
    for i, who in enumerate(["nakagawa_tome", "yoshida", "inoue_haru", "shimizu"]):
        card = mf.my_number_card("x.jpg", 800 + i, P[who], long_hair=who != "shimizu")
        b.card(f"mnc_{who}", "my_number_card", card, pick(i + 2, (2 if i < 2 else 1) + big, ph), 810 + 10 * i)
    backs = [
        (mf.valid_12("62149832025"), "藤井 里奈", "平成元年1月23日"),
        (mf.valid_12("31845027163"), "清水 隆之", "昭和47年3月25日"),
        (mf.valid_12("90517263840"), "吉田 さくら", "平成8年4月1日"),
    ]
    for i, (number, name, dob) in enumerate(backs):
        b.card(
            f"mnc_back_{i}",
            "my_number_card",
            my_number_back(850 + i, number, name, dob),
            [ph[(i + 4) % len(ph)]],
            860 + 10 * i,
            my_number=True,
            side="back",
        )
    card = mf.residence_card("x.png", 900, P["nguyen"])
    b.card("zairyu_nguyen", "residence_card", card, pick(0, 3 + 2 * big, ph), 910)
    b.card(
        "tokuei_kim",
        "special_permanent_resident_certificate",
        special_permanent_card(950, "金 英姫", "韓国", "1978年03月15日", "例阪府例阪市生野区見本町二丁目5番"),
        pick(2, 2 + 2 * big, ph),
        960,
    )
    card = mf.insurance_card("x.jpg", 1000, P["ishikawa"])
    b.card("hoken_ishikawa", "health_insurance_card", card, pick(1, 3 + 2 * big, ph), 1010)
    card = mf.eligibility_certificate("x.jpg", 1100, P["kobayashi"] | dict(dob_era="平成3年11月22日"))
    b.card("kakunin_kobayashi", "insurance_eligibility_certificate", card, pick(3, 2 + 2 * big, ph), 1110)

    for f in b.raw.iterdir():
        f.unlink()
    b.raw.rmdir()
    (out / "labels.json").write_text(json.dumps({"items": b.items, "size": size}, ensure_ascii=False, indent=1))
    return b.items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="folder to write (default: a new temp dir)")
    ap.add_argument("--size", choices=["small", "large"], default="small")
    ap.add_argument(
        "--variant", type=int, default=0, help="other random draws for scans and photos (0: the reference set)"
    )
    args = ap.parse_args()
    global VARIANT
    VARIANT = args.variant
    out = args.out or Path(tempfile.mkdtemp(prefix="madoguchi-accuracy-"))
    out.mkdir(parents=True, exist_ok=True)
    items = build(out, args.size)
    kinds: dict[str, int] = {}
    for it in items:
        kinds[it["kind"]] = kinds.get(it["kind"], 0) + 1
    print(f"{len(items)} items in {out}")
    for k, n in sorted(kinds.items()):
        print(f"  {k:40s} {n}")


if __name__ == "__main__":
    main()
