"""The window's own fillable request form (個人情報開示等請求書) as a PDF.

Why it is built this way:

* The field table lives in ``config/form_definition.py``; the request-form parser reads the
  AcroForm fields back by the same names.  The layout here is driven by that table (one
  AcroForm field per entry, labels taken from it), and the build fails if a field is left
  out, so the form and the parser cannot drift apart.
* Labels are drawn with an embedded TrueType font (IPAex Gothic by default): a requester's
  viewer may have no Japanese font at all, and an embedded subset with a ToUnicode map keeps
  the printed labels readable and extractable (the parser's text-layout fallback needs that).
* Values a requester types are Japanese, but reportlab writes text fields only in the 14
  standard Latin fonts.  Text fields are therefore written here, in reportlab's own PDF
  objects (no second pass over the file), with a Japanese default font:
  the non-embedded Adobe-Japan1 CID font ``HeiseiKakuGo-W5``, the usual choice for Japanese
  forms (viewers with Japanese support substitute a local Gothic; embedding a whole 6 MB
  font for input nobody can predict is too heavy), with ``UniJIS-UCS2-H`` encoding and an
  identity ToUnicode map so that filling tools (pypdf, poppler) can encode typed text.
  ``/NeedAppearances`` asks viewers to redraw filled values with it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFObjectReference, PDFStream, PDFString
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from config.form_definition import FIELD_BY_NAME, FIELDS, FORM_ID, FormField

TITLE = "個人情報開示等請求書"

FONT_PACKAGE = "fonts-ipaexfont-gothic"
# Where IPAex Gothic is installed by common packagers and by hand, most likely first.
FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",  # Debian / Ubuntu
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",  # older Debian
    "/usr/share/fonts/ipa-ex-gothic/ipaexg.ttf",  # Fedora
    "/usr/share/fonts/OTF/ipaexg.ttf",  # Arch
    "/usr/local/share/fonts/ipaexg.ttf",
    "~/.local/share/fonts/ipaexg.ttf",
    "~/.fonts/ipaexg.ttf",
    "/Library/Fonts/ipaexg.ttf",
    "~/Library/Fonts/ipaexg.ttf",
)

# The AcroForm's Japanese field font: an Adobe-Japan1 CID font viewers substitute.
FIELD_FONT = "HeiseiKakuGo-W5"
FIELD_FONT_KEY = "HeiGo"  # its name in /AcroForm /DR /Font
FIELD_FONT_SIZE = 10
FIELD_FONT_SIZE_LARGE = 12
FIELD_FONT_SIZE_MULTILINE = 9

PAGE_W, PAGE_H = A4
MARGIN_X = 40.0
TOP = PAGE_H - 36.0
BOTTOM = 54.0
CONTENT_W = PAGE_W - 2 * MARGIN_X
LABEL_W = 138.0
CHECK_SIZE = 10.0

INK = black
HINT_INK = Color(0.33, 0.33, 0.33)
RULE_INK = Color(0.35, 0.35, 0.35)
LABEL_FILL = Color(0.94, 0.94, 0.94)
BAND_FILL = Color(0.86, 0.86, 0.86)
OFFICE_FILL = Color(0.97, 0.97, 0.97)

SECTION_TITLES: dict[str, str] = {
    "requester": "1．請求者（ご本人）",
    "types": "2．請求の種類（該当するものすべてにチェックしてください）",
    "request": "3．請求の内容",
    "method": "4．開示の方法（開示・第三者提供記録の開示を請求する場合にお選びください）",
    "agent": "5．代理人による請求の場合（ご本人が請求する場合は記入不要です）",
    "agent_type": "本人との関係（該当するものにチェックしてください）",
}
SECTION_NOTES: dict[str, str] = {
    "requester": "代理人による請求の場合も、ご本人の情報をご記入ください。"
    "氏名・住所は本人確認書類および住民票の記載どおりにご記入ください。",
    "method": "「その他の方法」を選ばれた場合は、ご希望の方法を「請求の理由・訂正等の内容」欄にご記入ください。",
}
FIELD_HINTS: dict[str, str] = {
    "requester_birthdate": "例：1980年4月1日",
    "requester_address": "郵便番号からご記入ください",
    "target_info": "例：お問い合わせの際にお伝えした氏名・連絡先、採用応募時の履歴書 など",
    "reason": "訂正・利用停止等の場合は、その理由と内容を具体的に",
    "agent_address": "郵便番号からご記入ください",
}
# Row heights of text fields; multi-line fields wrap in viewers that support it.
ROW_HEIGHT = 26.0
ROW_HEIGHTS: dict[str, float] = {
    "requester_kana": 22.0,
    "requester_name": 32.0,
    "requester_address": 40.0,
    "target_info": 72.0,
    "reason": 92.0,
    "agent_name": 30.0,
    "agent_address": 40.0,
}
MULTILINE = frozenset({"requester_address", "target_info", "reason", "agent_address"})
LARGE_VALUES = frozenset({"requester_name", "agent_name"})
# Japanese forms put the フリガナ row directly above the name it reads.
PLACED_ABOVE: dict[str, str] = {"requester_kana": "requester_name"}
# Checkbox groups laid out in equal columns; the others flow left to right.
CHECK_COLUMNS: dict[str, int] = {"types": 2, "agent_type": 2}
CHECK_ROW = 20.0
FEE_NOTE_PAID = (
    "手数料は請求1件ごとにかかります。当窓口から手数料のご案内をお送りしますので、到着後に"
    "現金書留または銀行振込等でお支払いください。お支払いを確認した後に回答いたします。"
)
FEE_NOTE_FREE = "請求に手数料はかかりません。"

# Boxed guidance: (indent, text, size) per item; long items wrap with a hanging indent.
_Item = tuple[float, str, float]
ATTACHMENT_ITEMS: tuple[_Item, ...] = (
    (0, "■ ご本人による請求", 9.0),
    (
        10,
        "① 本人確認書類の写し 1点（運転免許証、旅券（パスポート）、マイナンバーカード（表面のみ）、"
        "在留カード、特別永住者証明書、健康保険の資格確認書 等）",
        8.5,
    ),
    (10, "② 住民票の写し 1通（個人番号（マイナンバー）の記載のないもの）", 8.5),
    (0, "■ 代理人による請求", 9.0),
    (10, "① ご本人の本人確認書類の写し 1点と住民票の写し 1通（上記と同じ）", 8.5),
    (10, "② 代理人の本人確認書類の写し 1点（代理人の住民票の写しは不要です）", 8.5),
    (10, "③ 代理権を確認する書類（本人との関係に応じて）", 8.5),
    (22, "・未成年者の法定代理人：戸籍謄本", 8.5),
    (22, "・成年後見人：後見開始審判書の写し又は登記事項証明書（成年後見登記）", 8.5),
    (22, "・任意代理人：委任状（ご本人の署名・押印のあるもの）及び印鑑登録証明書の写し", 8.5),
    (22, "・弁護士・司法書士等の資格者：資格を証明する書類（登録番号、職印に係る印鑑登録証明書 等）", 8.5),
)
CAUTION_ITEMS: tuple[_Item, ...] = (
    (
        0,
        "・個人番号（マイナンバー）は送らないでください。"
        "マイナンバーカードは表面のみの写しを、住民票は個人番号の記載のないものをお送りください。",
        8.5,
    ),
    (
        0,
        "・健康保険の資格確認書・被保険者証の写しは、保険者番号、被保険者等記号・番号および"
        "QRコードを黒く塗りつぶして（マスキングして）からお送りください。",
        8.5,
    ),
    (
        0,
        "・メールでお送りいただく場合は、この請求書と添付書類をPDF等のファイルにして添付してください。"
        "電話による口頭でのご請求は受け付けておりません。",
        8.5,
    ),
    (0, "・ご提出いただいた書類は、ご本人・代理人の確認と請求への回答のためにのみ利用します。", 8.5),
)
INTRO = "貴社が保有する私の個人情報について、個人情報の保護に関する法律に基づき、下記のとおり請求します。"
# Characters that must not begin a line (a light 禁則処理).
NO_LINE_START = frozenset("、。，．,.)）」』】〕・ーっゃゅょァィゥェォッャュョ々!?！？：:")


class FontNotFoundError(FileNotFoundError):
    """No Japanese TrueType font could be found to draw the form's labels with."""


@dataclass(frozen=True)
class _Contact:
    """What the form says about the window, shown in the address line and the footer."""

    company_name: str
    window_name: str
    window_address: str
    postal_address: str | None


def build_request_form(
    *,
    company_name: str,
    window_name: str,
    window_address: str,
    fees: dict[str, int],
    font_path: str | None = None,
    postal_address: str | None = None,
) -> bytes:
    """Return the blank fillable request form as PDF bytes.

    ``fees`` maps request-type codes (``disclose`` …) to yen; a type not named is free.
    ``font_path`` overrides the search for IPAex Gothic; ``postal_address`` is shown in the
    contact box when given.  Raises :class:`FontNotFoundError` when no font is found, and
    ``ValueError`` for a fee code not on the form or a negative fee.
    """
    fee_by_code = _check_fees(fees)
    label_font = _register_label_font(find_label_font(font_path))
    contact = _Contact(company_name, window_name, window_address, postal_address)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, initialFontName=label_font, lang="ja-JP")
    _set_metadata(canvas, company_name)
    sheet = _Sheet(canvas, label_font, contact, _FieldFonts(canvas))
    sheet.draw_form(fee_by_code)
    canvas.save()
    return buffer.getvalue()


def find_label_font(font_path: str | None = None) -> str:
    """Return the path of the TrueType font for the labels, or say how to install one."""
    if font_path is not None:
        if not Path(font_path).expanduser().is_file():
            raise FontNotFoundError(f"form font not found: {font_path}")
        return str(Path(font_path).expanduser())
    for candidate in FONT_CANDIDATES:
        path = Path(candidate).expanduser()
        if path.is_file():
            return str(path)
    raise FontNotFoundError(
        "no Japanese font for the request form: IPAex Gothic (ipaexg.ttf) was not found in "
        + ", ".join(FONT_CANDIDATES)
        + f". Install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE}) "
        "or pass font_path= a TrueType font with Japanese glyphs."
    )


def _check_fees(fees: dict[str, int]) -> dict[str, int]:
    """Map every request type on the form to its fee, refusing codes the form does not know.

    A typo in a fee code would otherwise print 無料 next to a charged request type.
    """
    codes = {f.code for f in FIELDS if f.section == "types" and f.code}
    unknown = sorted(set(fees) - codes)
    if unknown:
        raise ValueError(f"fees name request types not on the form: {', '.join(unknown)}")
    negative = sorted(code for code, yen in fees.items() if yen < 0)
    if negative:
        raise ValueError(f"negative fee for: {', '.join(negative)}")
    return {code: fees.get(code, 0) for code in codes}


@lru_cache(maxsize=8)
def _register_label_font(path: str) -> str:
    """Register the TrueType font once per path; reportlab embeds a subset of it."""
    name = "MadoguchiJa-" + hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()[:8]
    try:
        pdfmetrics.registerFont(TTFont(name, path))
    except TTFError as exc:
        raise ValueError(f"cannot use {path} as the form font (a TrueType .ttf is needed): {exc}") from exc
    return name


@lru_cache(maxsize=1)
def _register_field_font() -> str:
    """Register the CID font so its metrics can give the /W widths of the field font."""
    pdfmetrics.registerFont(UnicodeCIDFont(FIELD_FONT))
    return FIELD_FONT


def _set_metadata(canvas: Canvas, company_name: str) -> None:
    """Title for people, Subject for the parser: FORM_ID tells it the PDF is our form."""
    canvas.setTitle(TITLE)
    canvas.setSubject(FORM_ID)
    canvas.setAuthor(company_name)
    canvas.setCreator("madoguchi")
    canvas.setKeywords(f"{TITLE}, 開示等の求め, {FORM_ID}")


def _fee_text(yen: int) -> str:
    """How a fee reads next to its request type."""
    return f"手数料 {yen:,}円" if yen > 0 else "手数料 無料"


def _field_font_size(name: str) -> int:
    """The font size of a text field's default appearance."""
    if name in LARGE_VALUES:
        return FIELD_FONT_SIZE_LARGE
    return FIELD_FONT_SIZE_MULTILINE if name in MULTILINE else FIELD_FONT_SIZE


def wrap_japanese(text: str, font: str, size: float, width: float) -> list[str]:
    """Break text into lines no wider than width, by character, as Japanese is written.

    reportlab's splitter breaks only at spaces; Japanese has none.  Punctuation that may
    not begin a line stays on the line before (it may overhang slightly).
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for char in paragraph:
            fits = pdfmetrics.stringWidth(line + char, font, size) <= width
            if fits or not line or char in NO_LINE_START:
                line += char
            else:
                lines.append(line)
                line = char
        lines.append(line)
    return lines


class _Sheet:
    """Draws the form top to bottom, keeping the cursor and the fields already placed."""

    def __init__(self, canvas: Canvas, font: str, contact: _Contact, fields: _FieldFonts) -> None:
        self.c = canvas
        self.font = font
        self.contact = contact
        self.fields = fields
        self.y = TOP
        self.page = 1
        self.placed: list[str] = []

    # -- the form, section by section -------------------------------------------------

    def draw_form(self, fees: dict[str, int]) -> None:
        """Draw both pages and check every field of the table was placed exactly once."""
        self.header()
        self.text_section("requester")
        self.check_section("types", fees)
        self.fee_note(fees)
        self.text_section("request")
        self.check_section("method", {})
        self.new_page()
        self.text_section("agent")
        self.check_section("agent_type", {}, band=False)
        self.attachments()
        self.cautions()
        self.contact_box()
        self.office_use()
        self.finish_page()
        self.check_complete()

    def header(self) -> None:
        """Form id, title, addressee, date of submission and the opening sentence."""
        self.small(MARGIN_X, self.y - 7, f"様式 {FORM_ID}", 7, HINT_INK)
        self.c.setFillColor(INK)
        self.c.setFont(self.font, 20)
        self.c.drawCentredString(PAGE_W / 2, self.y - 34, TITLE)
        self.y -= 58
        self.c.setFont(self.font, 11)
        self.c.drawString(MARGIN_X, self.y - 12, self.contact.company_name)
        self.c.drawString(MARGIN_X, self.y - 28, f"{self.contact.window_name}　御中")
        self.date_box(self.y)
        self.y -= 44
        self.paragraph(INTRO, 9.5, MARGIN_X, CONTENT_W, INK)
        self.y -= 4

    def date_box(self, top: float) -> None:
        """The 提出日 cell pair at the right of the addressee (stacked, should more come)."""
        label_w, field_w, height = 52.0, 140.0, 24.0
        x = MARGIN_X + CONTENT_W - label_w - field_w
        for index, field in enumerate(self.fields_of("header")):
            bottom = top - (index + 1) * height
            self.cell(x, bottom, label_w, height, LABEL_FILL)
            self.cell(x + label_w, bottom, field_w, height, None)
            self.label_in(field.label_ja, x, bottom, label_w, height, 9.5, centre=True)
            self.text_field(field, x + label_w + 2, bottom + 2, field_w - 4, height - 4)

    def text_section(self, section: str) -> None:
        """A heading band, an optional note, then one labelled row per text field."""
        fields = self.fields_of(section)
        needed = 22 + sum(self.row_height(f) for f in fields)
        self.ensure(needed)
        self.band(SECTION_TITLES[section])
        if section in SECTION_NOTES:
            self.paragraph(SECTION_NOTES[section], 7.5, MARGIN_X + 2, CONTENT_W - 4, HINT_INK)
            self.y -= 2
        for field in fields:
            self.text_row(field)
        self.y -= 10

    def text_row(self, field: FormField) -> None:
        """Label cell on the left, the field filling the cell on the right."""
        height = self.row_height(field)
        bottom = self.y - height
        value_w = CONTENT_W - LABEL_W
        self.cell(MARGIN_X, bottom, LABEL_W, height, LABEL_FILL)
        self.cell(MARGIN_X + LABEL_W, bottom, value_w, height, None)
        hint = FIELD_HINTS.get(field.name)
        self.label_in(field.label_ja, MARGIN_X, bottom, LABEL_W, height, 9.5, hint=hint)
        self.text_field(field, MARGIN_X + LABEL_W + 2, bottom + 2, value_w - 4, height - 4)
        self.y = bottom

    def check_section(self, section: str, fees: dict[str, int], band: bool = True) -> None:
        """A grid of checkboxes, with the fee at the right of each request type."""
        fields = self.fields_of(section)
        places = self.check_places(section, fields)
        rows = 1 + max(row for row, _, _ in places)
        self.ensure(22 + rows * CHECK_ROW + 20)
        if band:
            self.band(SECTION_TITLES[section])
        else:
            self.subheading(SECTION_TITLES[section])
        top = self.y
        for field, (row, x, width) in zip(fields, places, strict=True):
            fee = _fee_text(fees[field.code]) if field.code in fees else None
            self.check_item(field, x, top - (row + 1) * CHECK_ROW, width, fee)
        self.c.setStrokeColor(RULE_INK)
        self.c.setLineWidth(0.5)
        self.c.rect(MARGIN_X, top - rows * CHECK_ROW, CONTENT_W, rows * CHECK_ROW, stroke=1, fill=0)
        for x in sorted({x for _, x, _ in places} - {MARGIN_X}) if section in CHECK_COLUMNS else ():
            self.c.line(x, top, x, top - rows * CHECK_ROW)
        self.y = top - rows * CHECK_ROW
        if section in SECTION_NOTES:
            self.y -= 3
            self.paragraph(SECTION_NOTES[section], 7.5, MARGIN_X + 2, CONTENT_W - 4, HINT_INK)
        self.y -= 10

    def check_places(self, section: str, fields: Sequence[FormField]) -> list[tuple[int, float, float]]:
        """Row, left edge and width of each checkbox: equal columns, or flowing by label width."""
        columns = CHECK_COLUMNS.get(section)
        if columns:
            width = CONTENT_W / columns
            return [(i // columns, MARGIN_X + (i % columns) * width, width) for i in range(len(fields))]
        places: list[tuple[int, float, float]] = []
        row, x = 0, MARGIN_X
        for field in fields:
            width = CHECK_SIZE + 12 + pdfmetrics.stringWidth(field.label_ja, self.font, 9.5) + 30
            if x + width > MARGIN_X + CONTENT_W and x > MARGIN_X:
                row, x = row + 1, MARGIN_X
            places.append((row, x, min(width, MARGIN_X + CONTENT_W - x)))
            x += width
        return places

    def check_item(self, field: FormField, x: float, bottom: float, width: float, fee: str | None) -> None:
        """One checkbox with its label, shrinking the label to fit rather than overlap."""
        box_y = bottom + (CHECK_ROW - CHECK_SIZE) / 2
        self.c.acroForm.checkbox(
            name=field.name,
            tooltip=field.label_ja,
            x=x + 6,
            y=box_y,
            size=CHECK_SIZE,
            buttonStyle="check",
            borderWidth=0.8,
            borderColor=INK,
            fillColor=white,
            textColor=INK,
            fieldFlags="",
            forceBorder=True,
        )
        self.fields.mark_with_dingbats(self.c.acroForm.fields[-1])
        self.placed.append(field.name)
        fee_w = 0.0
        if fee is not None:
            fee_w = pdfmetrics.stringWidth(fee, self.font, 9) + 8
            self.small(x + width - fee_w, bottom + 6.5, fee, 9, INK)
        room = width - (CHECK_SIZE + 12) - fee_w - 4
        size = self.fit_size(field.label_ja, 9.5, room)
        self.small(x + CHECK_SIZE + 12, bottom + 7, field.label_ja, size, INK)

    def fee_note(self, fees: dict[str, int]) -> None:
        """Explain when and how a fee is paid, as the published procedure says."""
        note = FEE_NOTE_PAID if any(fees.values()) else FEE_NOTE_FREE
        self.y += 7
        top = self.y
        self.paragraph(note, 7.5, MARGIN_X + 2, CONTENT_W - 4, HINT_INK)
        # Every form keeps the same geometry whatever the fees, so that a scan of any
        # company's form can be read against one template (parsers.form_marks).
        longest = max(len(wrap_japanese(n, self.font, 7.5, CONTENT_W - 4)) for n in (FEE_NOTE_PAID, FEE_NOTE_FREE))
        self.y = top - longest * 7.5 * 1.45
        self.y -= 10

    def attachments(self) -> None:
        """The 添付書類 box: what to send, for a principal and for each kind of agent."""
        self.boxed("6．添付書類（この請求書と一緒にお送りください）", ATTACHMENT_ITEMS, 0.5)

    def cautions(self) -> None:
        """What must never be sent, and what must be masked before sending."""
        self.boxed("ご注意", CAUTION_ITEMS, 1.2)

    def contact_box(self) -> None:
        """Where the form goes, and whom to ask."""
        contact = self.contact
        items: list[_Item] = [(0, f"{contact.company_name}　{contact.window_name}", 9.5)]
        if contact.postal_address:
            items.append((0, f"住所：{contact.postal_address}", 8.5))
        items.append((0, f"メール：{contact.window_address}", 8.5))
        self.boxed("7．提出先・お問い合わせ", items, 0.5)

    def office_use(self) -> None:
        """A 当社記入欄 strip for the window's stamps, left blank and without fields."""
        heads = ("受付日", "受付番号", "本人確認", "手数料受領", "回答日")
        self.ensure(52)
        self.small(MARGIN_X, self.y - 9, "※当社記入欄（ご記入不要です）", 7.5, HINT_INK)
        top = self.y - 14
        width = CONTENT_W / len(heads)
        for index, head in enumerate(heads):
            x = MARGIN_X + index * width
            self.cell(x, top - 14, width, 14, OFFICE_FILL)
            self.cell(x, top - 40, width, 26, None)
            self.label_in(head, x, top - 14, width, 14, 7.5, centre=True)
        self.y = top - 40

    # -- drawing helpers -----------------------------------------------------------

    def fields_of(self, section: str) -> list[FormField]:
        """The table's fields of one section, in the table's order but フリガナ first."""
        fields = [f for f in FIELDS if f.section == section]
        for name, above in PLACED_ABOVE.items():
            mover, anchor = FIELD_BY_NAME.get(name), FIELD_BY_NAME.get(above)
            if mover in fields and anchor in fields:
                fields.remove(mover)
                fields.insert(fields.index(anchor), mover)
        return fields

    def row_height(self, field: FormField) -> float:
        """Height of a text row: taller for names, addresses and free text."""
        return ROW_HEIGHTS.get(field.name, ROW_HEIGHT)

    def text_field(self, field: FormField, x: float, y: float, width: float, height: float) -> None:
        """A borderless, transparent text field filling a cell the page already draws."""
        self.fields.text_field(field, x, y, width, height)
        self.placed.append(field.name)

    def band(self, title: str) -> None:
        """A shaded section heading across the page."""
        self.c.setFillColor(BAND_FILL)
        self.c.setStrokeColor(RULE_INK)
        self.c.setLineWidth(0.5)
        self.c.rect(MARGIN_X, self.y - 18, CONTENT_W, 18, stroke=1, fill=1)
        self.small(MARGIN_X + 6, self.y - 13, title, 10, INK)
        self.y -= 18
        self.y -= 3

    def subheading(self, title: str) -> None:
        """A heading inside a section, without a band."""
        self.y -= 4
        self.small(MARGIN_X + 2, self.y - 10, title, 9, INK)
        self.y -= 15

    def boxed(self, title: str, items: Sequence[_Item], border: float) -> None:
        """A titled box of wrapped lines; indents and sizes come with each item."""
        lines = self.layout_items(items, CONTENT_W - 16)
        height = 24 + sum(size * 1.45 for _, _, size in lines) + 6
        self.ensure(height + 8)
        top = self.y
        self.c.setStrokeColor(INK if border > 1 else RULE_INK)
        self.c.setLineWidth(border)
        self.c.rect(MARGIN_X, top - height, CONTENT_W, height, stroke=1, fill=0)
        self.small(MARGIN_X + 8, top - 15, title, 10, INK)
        y = top - 24
        for indent, text, size in lines:
            y -= size * 1.45
            self.small(MARGIN_X + 8 + indent, y + size * 0.3, text, size, INK)
        self.y = top - height - 8

    def layout_items(self, items: Iterable[_Item], width: float) -> list[_Item]:
        """Wrap each item at its own indent; continuation lines hang under the text."""
        lines: list[_Item] = []
        for indent, text, size in items:
            hang = size if text[:1] in "①②③・■" else 0.0
            wrapped = wrap_japanese(text, self.font, size, width - indent - hang)
            lines.append((indent, wrapped[0], size))
            lines.extend((indent + hang, rest, size) for rest in wrapped[1:])
        return lines

    def paragraph(self, text: str, size: float, x: float, width: float, ink: Color) -> None:
        """Wrapped text at the cursor, moving the cursor below it."""
        for line in wrap_japanese(text, self.font, size, width):
            self.y -= size * 1.45
            self.small(x, self.y + size * 0.3, line, size, ink)

    def label_in(
        self,
        text: str,
        x: float,
        bottom: float,
        width: float,
        height: float,
        size: float,
        hint: str | None = None,
        centre: bool = False,
    ) -> None:
        """A label vertically centred in its cell, with an optional small hint below it."""
        size = self.fit_size(text, size, width - 10)
        hints = wrap_japanese(hint, self.font, 6.5, width - 10) if hint else []
        block = size + len(hints) * 8.5
        baseline = bottom + (height + block) / 2 - size * 0.88
        left = x + (width - pdfmetrics.stringWidth(text, self.font, size)) / 2 if centre else x + 5
        self.small(left, baseline, text, size, INK)
        for index, line in enumerate(hints):
            self.small(x + 5, baseline - 9 - index * 8.5, line, 6.5, HINT_INK)

    def fit_size(self, text: str, size: float, room: float) -> float:
        """The largest size up to the given one at which text fits the room."""
        while size > 6 and pdfmetrics.stringWidth(text, self.font, size) > room:
            size -= 0.5
        return size

    def cell(self, x: float, y: float, width: float, height: float, fill: Color | None) -> None:
        """A ruled table cell, shaded when it holds a label."""
        self.c.setStrokeColor(RULE_INK)
        self.c.setLineWidth(0.5)
        if fill is not None:
            self.c.setFillColor(fill)
        self.c.rect(x, y, width, height, stroke=1, fill=0 if fill is None else 1)

    def small(self, x: float, y: float, text: str, size: float, ink: Color) -> None:
        """One line of text in the label font."""
        self.c.setFillColor(ink)
        self.c.setFont(self.font, size)
        self.c.drawString(x, y, text)

    def right(self, y: float, text: str, size: float) -> None:
        """A small grey line flush with the right margin."""
        x = MARGIN_X + CONTENT_W - pdfmetrics.stringWidth(text, self.font, size)
        self.small(x, y, text, size, HINT_INK)

    # -- pages ----------------------------------------------------------------------

    def ensure(self, height: float) -> None:
        """Start a new page when the next block would run into the footer."""
        if self.y - height < BOTTOM:
            self.new_page()

    def new_page(self) -> None:
        """Close the page with its footer and start the next one under a running head."""
        self.finish_page()
        self.c.showPage()
        self.page += 1
        self.y = TOP
        self.small(MARGIN_X, self.y - 7, f"様式 {FORM_ID}", 7, HINT_INK)
        self.right(self.y - 7, f"{TITLE}（続き）", 8)
        self.y -= 20

    def finish_page(self) -> None:
        """The footer: the window's contact on every page, and the page number."""
        contact = self.contact
        self.c.setStrokeColor(RULE_INK)
        self.c.setLineWidth(0.5)
        self.c.line(MARGIN_X, 40, MARGIN_X + CONTENT_W, 40)
        text = f"{contact.company_name}　{contact.window_name}　メール：{contact.window_address}"
        size = self.fit_size(text, 7.5, CONTENT_W - 50)
        self.small(MARGIN_X, 29, text, size, HINT_INK)
        self.right(29, f"{self.page}ページ", 7.5)

    def check_complete(self) -> None:
        """Fail the build, not the parser later, if the layout lost or doubled a field."""
        missing = [name for name in FIELD_BY_NAME if name not in self.placed]
        doubled = sorted({name for name in self.placed if self.placed.count(name) > 1})
        if missing or doubled or len(self.placed) != len(FIELDS):
            raise RuntimeError(f"form layout out of step with the field table: missing {missing}, twice {doubled}")


# -- the AcroForm's Japanese default appearance ---------------------------------------


class _FieldFonts:
    """The AcroForm's fonts, and the fields that write with them.

    reportlab names a standard Latin font in every text field's /DA, which cannot show
    Japanese; the text fields are written here instead, each pointed at the CID font put in
    /AcroForm /DR, and /NeedAppearances asks viewers to draw typed values with it.
    """

    def __init__(self, canvas: Canvas) -> None:
        self.c = canvas
        doc = canvas._doc
        self.japanese = doc.Reference(_field_font_dict(doc))
        acro_form = canvas.acroForm
        acro_form.extras.update(
            DA=PDFString(f"/{FIELD_FONT_KEY} {FIELD_FONT_SIZE} Tf 0 g"),
            DR=PDFDictionary({"Font": PDFDictionary({FIELD_FONT_KEY: self.japanese,
                                                     "ZaDb": doc.Reference(_zapf_dingbats())})}),
            NeedAppearances="true",
        )
        canvas.setViewerPreference("DisplayDocTitle", "true")

    def text_field(self, field: FormField, x: float, y: float, width: float, height: float) -> None:
        """One text field, writing in the Japanese font, with an empty appearance of its own.

        reportlab's empty appearances of same-sized fields are byte-identical; once a tool
        merges identical objects (pypdf's compress_identical_objects does) they are shared,
        and pypdf fills a field by overwriting its appearance object in place, so every field
        sharing it would show the last value typed. Each text field's appearance is unique by
        its name, in a comment.
        """
        doc = self.c._doc
        widget = PDFDictionary(
            {
                "FT": PDFName("Tx"),
                "P": doc.thisPageRef(),
                "V": PDFString(""),
                "DV": PDFString(""),
                "Rect": PDFArray([x, y, x + width, y + height]),
                "AP": PDFDictionary({"N": doc.Reference(self._empty_appearance(field.name, width, height))}),
                "Subtype": PDFName("Widget"),
                "Type": PDFName("Annot"),
                "F": 4,  # print
                "Ff": 4096 if field.name in MULTILINE else 0,  # multiline
                "DA": PDFString(f"/{FIELD_FONT_KEY} {_field_font_size(field.name)} Tf 0 g"),
                "TU": PDFString(field.label_ja),
                "T": PDFString(field.name),
            }
        )
        self.c._addAnnotation(widget)
        self.c.acroForm.fields.append(self.c.acroForm.getRef(widget))

    def _empty_appearance(self, name: str, width: float, height: float) -> PDFStream:
        return PDFStream(
            PDFDictionary(
                {
                    "Type": PDFName("XObject"),
                    "Subtype": PDFName("Form"),
                    "BBox": PDFArray([0, 0, round(width, 3), round(height, 3)]),
                    "Resources": PDFDictionary({"Font": PDFDictionary({FIELD_FONT_KEY: self.japanese})}),
                }
            ),
            f"% {name}\n/Tx BMC\nEMC\n",
            filters=[],
        )

    def mark_with_dingbats(self, checkbox: PDFObjectReference) -> None:
        """A checkbox (as reportlab made it) marks with the ZapfDingbats put in /DR."""
        self.c._doc.idToObject[checkbox.name]["DA"] = PDFString("/ZaDb 0 Tf 0 g")


def _field_font_dict(doc: Any) -> PDFDictionary:
    """A Type0 font over the Adobe-Japan1 CID font, encoded as UCS-2, not embedded."""
    descendant = PDFDictionary(
        {
            "Type": PDFName("Font"),
            "Subtype": PDFName("CIDFontType0"),
            "BaseFont": PDFName(FIELD_FONT),
            "CIDSystemInfo": PDFDictionary(
                {"Registry": PDFString("Adobe"), "Ordering": PDFString("Japan1"), "Supplement": 2}
            ),
            "FontDescriptor": doc.Reference(_field_font_descriptor()),
            "DW": 1000,
            "W": _field_font_widths(),
        }
    )
    return PDFDictionary(
        {
            "Type": PDFName("Font"),
            "Subtype": PDFName("Type0"),
            "BaseFont": PDFName(FIELD_FONT),
            "Encoding": PDFName("UniJIS-UCS2-H"),
            "DescendantFonts": PDFArray([doc.Reference(descendant)]),
            "ToUnicode": doc.Reference(_identity_ucs2_cmap()),
        }
    )


def _field_font_descriptor() -> PDFDictionary:
    """Metrics of HeiseiKakuGo-W5 as reportlab knows them; no font file (not embedded)."""
    return PDFDictionary(
        {
            "Type": PDFName("FontDescriptor"),
            "FontName": PDFName(FIELD_FONT),
            "Flags": 4,
            "FontBBox": PDFArray([-92, -250, 1010, 922]),
            "ItalicAngle": 0,
            "Ascent": 752,
            "Descent": -221,
            "CapHeight": 737,
            "XHeight": 553,
            "StemV": 114,
        }
    )


def _field_font_widths() -> PDFArray:
    """Proportional widths of ASCII (CIDs 1-95) and half widths (CIDs 231-632).

    Without them a viewer would space Latin letters and digits a full em apart.
    """
    font = _register_field_font()
    ascii_widths = [round(pdfmetrics.stringWidth(chr(code), font, 1000)) for code in range(0x20, 0x7F)]
    return PDFArray([1, PDFArray(ascii_widths), 231, 632, 500])


def _identity_ucs2_cmap() -> PDFStream:
    """A ToUnicode map saying each 2-byte code is its own Unicode code point.

    True for UniJIS-UCS2-H, and it is what lets pypdf and poppler find the code for a
    typed character when they draw a filled value.
    """
    highs = [h for h in range(256) if not 0xD8 <= h <= 0xDF]
    body: list[str] = []
    for start in range(0, len(highs), 100):
        chunk = highs[start : start + 100]
        body.append(f"{len(chunk)} beginbfrange")
        body.extend(f"<{h:02X}00> <{h:02X}FF> <{h:02X}00>" for h in chunk)
        body.append("endbfrange")
    text = "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS2 def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            "<0000> <FFFF>",
            "endcodespacerange",
            *body,
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    )
    return PDFStream(PDFDictionary({}), text)


def _zapf_dingbats() -> PDFDictionary:
    """The checkmark font viewers expect in /DR when they redraw a checkbox."""
    return PDFDictionary({"Type": PDFName("Font"), "Subtype": PDFName("Type1"), "BaseFont": PDFName("ZapfDingbats")})


__all__ = ["FontNotFoundError", "TITLE", "build_request_form", "find_label_font", "wrap_japanese"]
