"""Building test mail and documents the way requesters' software does, with the stdlib.

Documents are real PDFs (reportlab with an embedded Japanese font) so that the parser
is tested on what it meets in production, not on strings.
"""

from __future__ import annotations

import io
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

FONT_PATHS = (
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf"),
)


def font_path() -> Path:
    for p in FONT_PATHS:
        if p.exists():
            return p
    raise RuntimeError("the IPAex Gothic font is needed: apt-get install fonts-ipaexfont-gothic")


def text_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A one-page text-layer PDF, as a municipal office or a word processor makes it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "IPAexG" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("IPAexG", str(font_path())))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    y = 800.0
    if title:
        c.setFont("IPAexG", 20)
        c.drawCentredString(A4[0] / 2, y, title)
        y -= 40
    c.setFont("IPAexG", 11)
    for line in lines:
        c.drawString(60, y, line)
        y -= 18
    c.showPage()
    c.save()
    return buf.getvalue()


def filled_form(values: dict[str, str], checked: list[str]) -> bytes:
    """The project's own fillable form, filled in as a requester's PDF reader would."""
    from pypdf import PdfReader, PdfWriter

    from replies.form_pdf import build_request_form

    blank = build_request_form(company_name="株式会社テスト", window_name="個人情報窓口",
                               window_address="info@example.jp",
                               fees={"notify_purpose": 1000, "disclose": 1000,
                                     "disclose_third_party_records": 1000})
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(blank)))
    fields: dict[str, str] = dict(values)
    for name in checked:
        fields[name] = "/Yes"
    for page in writer.pages:
        writer.update_page_form_field_values(page, fields, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def resident_record(name: str, address: str, number: str = "省略") -> bytes:
    return text_pdf([
        f"住所 {address}",
        f"世帯主氏名 {name}",
        "氏名 生年月日 性別 続柄 住民となった日 個人番号",
        f"{name} 1980年1月1日 男 世帯主 2020年4月1日 {number}",
        "この写しは、住民票の原本と相違ないことを証明します。",
        "令和7年5月27日",
        "例市長 例 太郎",
    ], title="住民票（写）")


def drivers_license(name: str, address: str) -> bytes:
    return text_pdf([
        f"氏名 {name}  昭和55年08月15日生",
        f"住所 {address}",
        "交付 令和05年05月10日 12345",
        "令和10年06月12日まで有効",
        "番号 第 123456789012 号",
        "見本県公安委員会",
    ], title="運転免許証")


def mail(*, sender: str, subject: str, body: str, to: str = "info@example.jp", charset: str = "utf-8",
         attachments: tuple[tuple[str, str, bytes], ...] = (), headers: dict[str, str] | None = None,
         in_reply_to: str | None = None, message_id: str | None = None) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    msg["Date"] = "Mon, 02 Jun 2025 10:00:00 +0900"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(body, charset=charset)
    for filename, ctype, data in attachments:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()
