#!/usr/bin/env python3
"""Generates the fixtures of our own acceptance scenarios (tests/scenarios/fixtures/).

Run with the project's virtualenv (reportlab and Pillow):

    .venv/bin/python tests/scenarios/make_fixtures.py

Deterministic: fixed seeds, reportlab in invariant mode, no clock.  The output is
committed; the scenarios only need the files.  All people, addresses, organisations and
numbers are fictitious (place names follow the samples' 例…/見本… convention).

What is made (file names are neutral on purpose; the scenarios attach them under other,
often uninformative names):

  request forms, text-layer PDFs in layouts other than the samples':
    form_a_*  table with ■/□            form_b_*  ☑/☐ check boxes (two columns)
    form_c_*  circled （○） marks       form_d_*  English-labelled, [X] marks
    form_e_*  only レ marks the chosen rows (申請書 wording)
    form_f_*  a self-made request written as prose      letter_lawyer  a lawyer's 請求書
  certificates (text PDFs): resident records (住民票) of several layouts, one with a valid
    individual number in full-width digits, family register (戸籍全部事項証明書), adult
    guardianship registration (登記事項証明書), power of attorney (委任状), seal certificate
    (印鑑登録証明書), lawyer's registration certificate (資格証明)
  a scanned resident record as an image-only PDF; a multi-document PDF (licence copy page +
    resident record page); a corrupt PDF; a password-protected PDF
  ID photos/scans (JPEG/PNG): driving licences, passports with MRZ, residence card, health
    insurance card with 記号・番号 visible, individual number cards (front)
"""

from __future__ import annotations

import io
import math
import random
import time
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

HERE = Path(__file__).resolve().parent
OUT = HERE / "fixtures"
GOTHIC = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
MINCHO = "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"

COMPANY = "株式会社クロス・プロップワークス"


# --------------------------------------------------------------------------- numbers

def my_number_check_digit(first11: str) -> int:
    """Check digit of an individual number (domain.md)."""
    s = 0
    for n in range(1, 12):
        p = int(first11[11 - n])
        q = n + 1 if n <= 6 else n - 5
        s += p * q
    r = s % 11
    return 0 if r <= 1 else 11 - r


def valid_12(first11: str) -> str:
    return first11 + str(my_number_check_digit(first11))


def invalid_12(first11: str) -> str:
    return first11 + str((my_number_check_digit(first11) + 3) % 10)


assert valid_12("62149832025") == "621498320257"

# the individual number printed in the resident record of o06 (valid check digit)
MY_NUMBER_O06 = valid_12("40217359861")            # 402173598611
# the individual number written in the mail body of o22 (valid check digit)
MY_NUMBER_O22 = valid_12("73025814469")            # 730258144692
# the individual number printed in the scanned (image-only) resident record of o23
MY_NUMBER_O23 = valid_12("58203917764")
# a driving-licence number that happens to pass the individual-number check (o05)
LICENCE_VALID_CHECK = valid_12("31590466702")      # 315904667022


def fw(s: str) -> str:
    """Full-width digits."""
    return s.translate(str.maketrans("0123456789", "０１２３４５６７８９"))


def mrz_check(s: str) -> str:
    vals = []
    for ch in s:
        if ch.isdigit():
            vals.append(int(ch))
        elif ch.isalpha():
            vals.append(ord(ch.upper()) - 55)
        else:
            vals.append(0)
    w = [7, 3, 1]
    return str(sum(v * w[i % 3] for i, v in enumerate(vals)) % 10)


def mrz_lines(surname: str, given: str, number: str, dob: str, sex: str, expiry: str) -> tuple[str, str]:
    l1 = ("P<JPN" + surname + "<<" + given.replace(" ", "<")).ljust(44, "<")[:44]
    num = number.ljust(9, "<")
    opt = "<" * 14
    l2 = num + mrz_check(num) + "JPN" + dob + mrz_check(dob) + sex + expiry + mrz_check(expiry) + opt + mrz_check(opt)
    composite = num + mrz_check(num) + dob + mrz_check(dob) + expiry + mrz_check(expiry) + opt + mrz_check(opt)
    l2 += mrz_check(composite)
    assert len(l2) == 44, l2
    return l1, l2


# --------------------------------------------------------------------------- text PDFs

pdfmetrics.registerFont(TTFont("G", GOTHIC))
pdfmetrics.registerFont(TTFont("M", MINCHO))
pdfmetrics.registerFont(TTFont("DV", DEJAVU))
PW, PH = A4


class Doc:
    """A4 text-layer PDF; coordinates in mm from the top-left corner."""

    def __init__(self, name: str, title: str = ""):
        self.path = OUT / name
        self.c = canvas.Canvas(str(self.path), pagesize=A4, invariant=1, pageCompression=1)
        if title:
            self.c.setTitle(title)
        self.c.setAuthor("")
        self.c.setCreator("")
        self.c.setProducer("")

    def t(self, x: float, y: float, s: str, size: float = 10.5, font: str = "G", color=(0, 0, 0)) -> None:
        self.c.setFillColorRGB(*color)
        self.c.setFont(font, size)
        self.c.drawString(x * mm, PH - y * mm, s)

    def tc(self, x: float, y: float, s: str, size: float = 10.5, font: str = "G") -> None:
        self.c.setFillColorRGB(0, 0, 0)
        self.c.setFont(font, size)
        self.c.drawCentredString(x * mm, PH - y * mm, s)

    def tr(self, x: float, y: float, s: str, size: float = 10.5, font: str = "G") -> None:
        self.c.setFillColorRGB(0, 0, 0)
        self.c.setFont(font, size)
        self.c.drawRightString(x * mm, PH - y * mm, s)

    def spaced(self, x: float, y: float, s: str, size: float, font: str = "G", gap: float = 4.0) -> None:
        """A title with letter spacing, centred on x."""
        w = sum(pdfmetrics.stringWidth(ch, font, size) for ch in s) / mm + gap * (len(s) - 1)
        cx = x - w / 2
        for ch in s:
            self.t(cx, y, ch, size, font)
            cx += pdfmetrics.stringWidth(ch, font, size) / mm + gap

    def line(self, x1: float, y1: float, x2: float, y2: float, w: float = 0.6) -> None:
        self.c.setLineWidth(w)
        self.c.setStrokeColorRGB(0, 0, 0)
        self.c.line(x1 * mm, PH - y1 * mm, x2 * mm, PH - y2 * mm)

    def rect(self, x: float, y: float, w: float, h: float, lw: float = 0.6, fill=None) -> None:
        self.c.setLineWidth(lw)
        self.c.setStrokeColorRGB(0, 0, 0)
        if fill is not None:
            self.c.setFillColorRGB(*fill)
        self.c.rect(x * mm, PH - (y + h) * mm, w * mm, h * mm, stroke=1, fill=1 if fill is not None else 0)

    def seal(self, x: float, y: float, text: str, r: float = 7.0, square: bool = False) -> None:
        """A red seal (印影) with up to 4 characters, text kept as text."""
        self.c.setStrokeColorRGB(0.78, 0.1, 0.1)
        self.c.setLineWidth(1.1)
        if square:
            self.c.rect((x - r) * mm, PH - (y + r) * mm, 2 * r * mm, 2 * r * mm)
        else:
            self.c.circle(x * mm, PH - y * mm, r * mm)
        chars = list(text)
        size = r * 1.05 if len(chars) <= 2 else r * 0.85
        if len(chars) <= 2:
            for i, ch in enumerate(chars):
                self.t(x - size * 0.18, y - r * 0.25 + i * size * 0.36, ch, size * 2.83 * 0.36 * 2, "M", (0.78, 0.1, 0.1))
        else:
            cols = [chars[i:i + 2] for i in range(0, len(chars), 2)]
            for ci, col in enumerate(reversed(cols)):
                for ri, ch in enumerate(col):
                    self.t(x - r * 0.75 + ci * r * 0.8, y - r * 0.15 + ri * r * 0.75, ch, r * 2.0, "M", (0.78, 0.1, 0.1))
        self.c.setFillColorRGB(0, 0, 0)

    def box_mark(self, x: float, y: float, mark: str, label: str, size: float = 10.0) -> None:
        """A DejaVu check box glyph (☑/☐, not in the Japanese font) followed by a label."""
        self.t(x, y, mark, size + 1, "DV")
        self.t(x + 5, y, label, size)

    def image(self, img: Image.Image, x: float, y: float, w: float) -> None:
        buf = io.BytesIO()
        img.convert("RGB").save(buf, "JPEG", quality=58)
        buf.seek(0)
        h = w * img.height / img.width
        self.c.drawImage(ImageReader(buf), x * mm, PH - (y + h) * mm, w * mm, h * mm)

    def page(self) -> None:
        self.c.showPage()

    def save(self) -> None:
        self.c.showPage()
        self.c.save()


# ----------------------------------------------------------------- request form layouts

TYPES_JA = [
    ("notify_purpose", "利用目的の通知"),
    ("disclose", "開示"),
    ("correct", "訂正・追加・削除"),
    ("suspend", "利用停止・消去"),
    ("stop_third_party", "第三者提供の停止"),
    ("disclose_third_party_records", "第三者提供記録の開示"),
]
AGENT_JA = [
    ("minor_legal_rep", "未成年者の法定代理人（親権者）"),
    ("adult_guardian", "成年被後見人の法定代理人（成年後見人）"),
    ("voluntary", "本人が委任した代理人（任意代理人）"),
    ("professional", "弁護士・司法書士等の資格者"),
]
DOCS_JA = [
    ("drivers_license", "運転免許証"),
    ("passport", "旅券（パスポート）"),
    ("my_number_card", "マイナンバーカード（表面）"),
    ("health_insurance_card", "健康保険証（記号・番号等はマスキング）"),
    ("residence_card", "在留カード・特別永住者証明書"),
    ("resident_record", "住民票の写し（個人番号の記載のないもの）"),
    ("family_register", "戸籍謄本"),
    ("guardianship_ruling", "後見開始審判書の写し又は登記事項証明書"),
    ("power_of_attorney", "委任状"),
    ("seal_certificate", "印鑑登録証明書"),
    ("qualification_proof", "資格を証明する書類"),
]


def form_a(name: str, p: dict, types: set, docs: set, agent: dict | None = None, target: str = "",
           method: str = "電磁的記録") -> None:
    """Layout A: ruled table, ■ marks the chosen items, □ the others."""
    d = Doc(name, "保有個人データ開示等請求書")
    d.t(20, 16, "（様式第３号）", 9)
    d.spaced(105, 28, "保有個人データ開示等請求書", 17, "G", 1.5)
    d.tr(190, 38, "請求日　令和７年５月３０日", 10)
    d.t(20, 45, COMPANY, 10.5)
    d.t(20, 51, "個人情報保護管理者　殿", 10.5)
    d.t(20, 59, "※該当する□を■に変更してください。※印の欄は必ずご記入ください。", 8.5)
    x0, x1, x2 = 18, 52, 192
    y = 63

    def row(h: float, head: str, lines: list[tuple[float, str]]) -> None:
        nonlocal y
        d.rect(x0, y, x2 - x0, h, 0.7)
        d.line(x1, y, x1, y + h)
        for i, hl in enumerate(head.split("\n")):
            d.t(x0 + 2, y + 6 + i * 5, hl, 9.5)
        for dy, s in lines:
            d.t(x1 + 3, y + dy, s, 9.5)
        y += h

    m = lambda k, s: ("■" if k in s else "□")  # noqa: E731
    row(38, "※請求者（本人）", [
        (6, "フリガナ　" + p["kana"]),
        (12.5, "氏　　名　" + p["name"]),
        (19, "生年月日　" + p["dob"]),
        (25.5, "住　　所　" + p["addr"]),
        (32, "電話番号　" + p["tel"] + "　　メール　" + p["email"]),
    ])
    row(22, "※請求の種類", [
        (6, "　".join(m(k, types) + j for k, j in TYPES_JA[:3])),
        (12.5, "　".join(m(k, types) + j for k, j in TYPES_JA[3:])),
        (19, "（いずれも該当するものすべて）"),
    ])
    row(10, "開示の方法", [(6.5, "　".join(m(k, {method}) + k for k in ("電磁的記録", "書面", "その他")))])
    row(16, "対象となる\n個人データ", [(6, target or "貴社が保有する私に関する個人データ一式"), (12, "")])
    a = agent or {}
    row(34, "代理人による\n請求の場合", [
        (6, "代理人氏名　" + a.get("name", "")),
        (12.5, "代理人住所　" + a.get("addr", "")),
        (19, "代理人電話　" + a.get("tel", "")),
        (25.5, "本人との関係　" + "　".join(m(k, {a.get("type")}) + j.split("（")[0] for k, j in AGENT_JA[:2])),
        (31, "　　　　　　　" + "　".join(m(k, {a.get("type")}) + j.split("（")[0] for k, j in AGENT_JA[2:])),
    ])
    dl = DOCS_JA
    row(40, "添付書類", [
        (6, "　".join(m(k, docs) + j for k, j in dl[0:3])),
        (12.5, m(dl[3][0], docs) + dl[3][1] + "　" + m(dl[4][0], docs) + dl[4][1]),
        (19, m(dl[5][0], docs) + dl[5][1] + "　" + m(dl[6][0], docs) + dl[6][1]),
        (25.5, m(dl[7][0], docs) + dl[7][1]),
        (32, "　".join(m(k, docs) + j for k, j in dl[8:])),
    ])
    d.t(20, y + 8, "手数料：利用目的の通知及び開示（第三者提供記録を含む）の請求は１件につき1,000円です。", 8.5)
    d.t(20, y + 13, "受付後に手数料のお支払方法をご案内します。お支払の確認後に回答いたします。", 8.5)
    d.save()


def form_b(name: str, p: dict, types: set, docs: set, agent: dict | None = None, target: str = "",
           reason: str = "") -> None:
    """Layout B: two columns of ☑/☐ check boxes, sections in 【】."""
    d = Doc(name, "個人情報開示等請求書")
    d.tc(105, 22, "個人情報　開示等　請求書", 16)
    d.tc(105, 29, "（兼　本人確認書類送付票）", 10)
    d.t(20, 40, f"{COMPANY}　個人情報お問合せ窓口　御中", 10.5)
    d.tr(190, 46, "記入日：2025年5月31日", 10)
    d.t(20, 53, "ご請求の内容に該当する☐にチェック（☑）を入れてください。", 9)
    y = 62
    d.t(18, y, "【ご請求者】", 11)
    d.rect(18, y + 2, 174, 30, 0.5)
    d.t(22, y + 9, "お名前：" + p["name"] + "（" + p["kana"] + "）", 10)
    d.t(22, y + 15.5, "生年月日：" + p["dob"], 10)
    d.t(22, y + 22, "ご住所：" + p["addr"], 10)
    d.t(22, y + 28.5, "お電話：" + p["tel"] + "　　E-mail：" + p["email"], 10)
    y += 42
    d.t(18, y, "【ご請求の種類】", 11)
    for i, (k, j) in enumerate(TYPES_JA):
        cx = 22 + (i % 2) * 86
        cy = y + 8 + (i // 2) * 6.5
        d.box_mark(cx, cy, "☑" if k in types else "☐", j + ("の請求" if k != "notify_purpose" else "の求め"))
    y += 30
    d.t(18, y, "【対象となる個人情報・ご請求の理由】", 11)
    d.t(22, y + 7, target or "貴社サービスの会員情報", 10)
    if reason:
        d.t(22, y + 13, reason, 10)
    y += 22
    d.t(18, y, "【代理人によるご請求の場合のみ】", 11)
    a = agent or {}
    d.t(22, y + 7, "代理人のお名前：" + a.get("name", ""), 10)
    d.t(22, y + 13.5, "代理人のご住所：" + a.get("addr", ""), 10)
    d.t(22, y + 20, "代理人のご連絡先：" + a.get("tel", ""), 10)
    d.t(22, y + 27, "ご本人との関係：", 10)
    for i, (k, j) in enumerate(AGENT_JA):
        cx = 22 + (i % 2) * 86
        cy = y + 33 + (i // 2) * 6.5
        d.box_mark(cx, cy, "☑" if k == a.get("type") else "☐", j, 9.5)
    y += 50
    d.t(18, y, "【同封・添付した書類】", 11)
    for i, (k, j) in enumerate(DOCS_JA):
        cx = 22 + (i % 2) * 86
        cy = y + 8 + (i // 2) * 6.5
        d.box_mark(cx, cy, "☑" if k in docs else "☐", j, 9.5)
    y += 50
    d.t(18, y, "※利用目的の通知・開示・第三者提供記録の開示：1件につき手数料1,000円（現金書留又は銀行振込）", 8.5)
    d.save()


def form_c(name: str, p: dict, types: set, docs: set, agent: dict | None = None, target: str = "") -> None:
    """Layout C: （○） circled in parentheses, numbered sections, Mincho."""
    d = Doc(name, "開示等の求め申込書")
    d.tc(105, 24, "個人情報の開示等の求め申込書", 16, "M")
    d.t(20, 36, f"{COMPANY}　御中", 11, "M")
    d.tr(190, 36, "令和７年５月２９日", 10.5, "M")
    d.t(20, 44, "下記のとおり、個人情報保護法に基づき請求します。該当するものの（　）内に○を記入してください。", 9, "M")
    y = 54
    d.t(20, y, "１．請求者（本人）", 11, "M")
    for i, (lab, val) in enumerate([("氏名", p["name"] + "（" + p["kana"] + "）"), ("生年月日", p["dob"]),
                                    ("住所", p["addr"]), ("電話", p["tel"]), ("電子メール", p["email"])]):
        d.t(26, y + 7 + i * 6, f"{lab}：{val}", 10, "M")
    y += 42
    d.t(20, y, "２．求める内容", 11, "M")
    o = lambda k, s: "（○）" if k in s else "（　）"  # noqa: E731
    for i, (k, j) in enumerate(TYPES_JA):
        d.t(26 + (i % 2) * 82, y + 7 + (i // 2) * 6.5, o(k, types) + j, 10, "M")
    y += 30
    d.t(20, y, "３．対象となる個人情報", 11, "M")
    d.t(26, y + 7, target or "貴社が保有する私の個人情報の全て", 10, "M")
    y += 16
    d.t(20, y, "４．代理人による場合（代理人が記入）", 11, "M")
    a = agent or {}
    d.t(26, y + 7, "代理人氏名：" + a.get("name", ""), 10, "M")
    d.t(26, y + 13, "代理人住所：" + a.get("addr", ""), 10, "M")
    d.t(26, y + 19, "連絡先：" + a.get("tel", ""), 10, "M")
    for i, (k, j) in enumerate(AGENT_JA):
        d.t(26 + (i % 2) * 82, y + 26 + (i // 2) * 6.5, o(k, {a.get("type")}) + j, 9.5, "M")
    y += 44
    d.t(20, y, "５．添付書類", 11, "M")
    for i, (k, j) in enumerate(DOCS_JA):
        d.t(26 + (i % 2) * 82, y + 7 + (i // 2) * 6.5, o(k, docs) + j, 9.5, "M")
    y += 48
    d.t(20, y, "※利用目的の通知、開示、第三者提供記録の開示は、１件につき１，０００円の手数料が必要です。", 8.5, "M")
    d.save()


def form_d(name: str, p: dict, types: set, docs: set, target: str = "", correction: str = "") -> None:
    """Layout D: English-labelled form for foreign residents, [X] marks."""
    en = {
        "notify_purpose": "Notification of the purpose of use (利用目的の通知)",
        "disclose": "Disclosure (開示)",
        "correct": "Correction, addition or deletion (訂正・追加・削除)",
        "suspend": "Suspension of use or erasure (利用停止・消去)",
        "stop_third_party": "Stop provision to third parties (第三者提供の停止)",
        "disclose_third_party_records": "Disclosure of third-party provision records (第三者提供記録の開示)",
    }
    den = [
        ("drivers_license", "Driver's license (運転免許証)"),
        ("passport", "Passport (旅券)"),
        ("residence_card", "Residence card / Special permanent resident certificate (在留カード)"),
        ("my_number_card", "Individual Number Card, front only (マイナンバーカード表面)"),
        ("resident_record", "Certificate of residence (住民票の写し)"),
        ("power_of_attorney", "Power of attorney (委任状)"),
    ]
    d = Doc(name, "Request form")
    d.tc(105, 20, "REQUEST FOR DISCLOSURE, ETC. OF RETAINED PERSONAL DATA", 13)
    d.tc(105, 27, "保有個人データ開示等請求書（外国語併記様式）", 11)
    d.t(20, 38, "To: Cross Propworks Co., Ltd. (" + COMPANY + ") Personal Information Desk", 9.5)
    d.tr(190, 44, "Date (日付): 1 June 2025", 9.5)
    d.t(20, 51, "Please mark the applicable boxes with an X.  該当する[ ]にXを記入してください。", 9)
    y = 60
    d.rect(18, y - 5, 174, 40, 0.5)
    d.t(20, y, "1. REQUESTER (請求者本人)", 10.5)
    for i, (lab, val) in enumerate([("Name (氏名)", p["name"]), ("Date of birth (生年月日)", p["dob"]),
                                    ("Nationality (国籍)", p.get("nationality", "")),
                                    ("Address in Japan (住所)", p["addr"]),
                                    ("Phone / E-mail (電話・メール)", p["tel"] + " / " + p["email"])]):
        d.t(24, y + 6.5 + i * 6, lab + ": " + val, 9.5)
    y += 44
    d.t(20, y, "2. TYPE OF REQUEST (請求の種類)", 10.5)
    for i, (k, _) in enumerate(TYPES_JA):
        d.t(24, y + 6.5 + i * 6, ("[X] " if k in types else "[  ] ") + en[k], 9.5)
    y += 44
    d.t(20, y, "3. PERSONAL DATA CONCERNED (対象となる個人データ)", 10.5)
    d.t(24, y + 6.5, target, 9.5)
    if correction:
        d.t(24, y + 12.5, correction, 9.5)
    y += 22
    d.t(20, y, "4. AGENT (代理人) — only if an agent makes the request", 10.5)
    d.t(24, y + 6.5, "Name (氏名): N/A        Relationship (本人との関係): N/A", 9.5)
    y += 16
    d.t(20, y, "5. DOCUMENTS ATTACHED (添付書類)", 10.5)
    for i, (k, lab) in enumerate(den):
        d.t(24, y + 6.5 + i * 6, ("[X] " if k in docs else "[  ] ") + lab, 9.5)
    y += 46
    d.t(20, y, "Fee: 1,000 yen per request for notification of purpose or disclosure. 手数料 1件1,000円", 8.5)
    d.t(20, y + 5, "Signature (署名): " + p["name"], 9.5)
    d.save()


def form_e(name: str, p: dict, types: set, docs: set, agent: dict | None = None, target: str = "",
           note: str = "") -> None:
    """Layout E: a table whose narrow left column holds レ for the chosen rows only."""
    d = Doc(name, "個人情報の開示等の求めに関する申請書")
    d.tc(105, 22, "個人情報の開示等の求めに関する申請書", 15)
    d.t(20, 32, f"{COMPANY}　個人情報窓口　宛", 10)
    d.tr(190, 38, "申請日　2025年5月28日", 10)
    d.t(20, 44, "ご希望の項目の左欄に「レ」をご記入ください（該当しない項目は空欄のまま）。", 9)
    y = 50
    d.rect(18, y, 174, 34, 0.6)
    d.t(20, y + 6, "申請者（ご本人）", 10)
    for i, (lab, val) in enumerate([("氏名", p["name"] + "　（" + p["kana"] + "）"), ("生年月日", p["dob"]),
                                    ("住所", p["addr"]), ("連絡先", p["tel"] + "　" + p["email"])]):
        d.t(24, y + 12.5 + i * 6, lab + "　" + val, 10)
    y += 40

    def checklist(title: str, items: list[tuple[str, str]], chosen: set) -> None:
        nonlocal y
        d.t(18, y, title, 10.5)
        y += 2
        for k, j in items:
            d.rect(18, y, 12, 6.5, 0.5)
            d.rect(30, y, 162, 6.5, 0.5)
            if k in chosen:
                d.t(21.5, y + 5, "レ", 11)
            d.t(33, y + 4.8, j, 9.5)
            y += 6.5
        y += 7

    checklist("申請の内容", [(k, j + ("の通知" if False else "")) for k, j in TYPES_JA], types)
    d.t(18, y - 2, "対象：" + (target or "貴社が保有する私の個人データ"), 9.5)
    y += 6
    a = agent or {}
    d.t(18, y, "代理人による申請の場合　氏名：" + a.get("name", "") + "　住所：" + a.get("addr", ""), 9.5)
    y += 6
    d.t(18, y, "　　　　　　　　　　　連絡先：" + a.get("tel", ""), 9.5)
    y += 7
    checklist("代理人の資格（本人との関係）", AGENT_JA, {a.get("type")})
    checklist("添付書類", DOCS_JA, docs)
    if note:
        d.t(18, y, note, 9)
        y += 6
    d.t(18, y, "※利用目的の通知・開示の申請は１件につき1,000円の手数料がかかります。", 8.5)
    d.save()


def form_f(name: str, p: dict, paragraphs: list[str], enclosed: list[str], doc: Doc | None = None) -> None:
    """Layout F: a self-made request written as prose (Word-like), no check boxes.
    With `doc`, drawn as the next page of that document."""
    d = doc or Doc(name, "開示請求書")
    d.tr(190, 20, "2025年5月30日", 10.5, "M")
    d.t(20, 30, COMPANY, 11, "M")
    d.t(20, 36, "個人情報相談窓口　ご担当者様", 11, "M")
    d.tc(105, 52, "開　示　請　求　書", 16, "M")
    d.t(120, 64, "住所　" + p["addr_short"], 10, "M")
    d.t(120, 70, "氏名　" + p["name"], 10, "M")
    d.t(120, 76, "生年月日　" + p["dob"], 10, "M")
    d.t(120, 82, "電話　" + p["tel"], 10, "M")
    d.t(120, 88, "メール　" + p["email"], 10, "M")
    y = 102
    for para in paragraphs:
        first = True
        while para:
            chunk, para = para[:40], para[40:]
            d.t(20 if not first else 24, y, chunk, 10.5, "M")
            first = False
            y += 7
        y += 3
    d.tc(105, y + 4, "記", 11, "M")
    y += 14
    d.t(24, y, "添付書類", 10.5, "M")
    for i, e in enumerate(enclosed):
        d.t(30, y + 7 + i * 6.5, f"{i + 1}．{e}", 10.5, "M")
    d.tr(190, y + 12 + len(enclosed) * 6.5, "以上", 10.5, "M")
    d.page() if doc else d.save()


# ----------------------------------------------------------------- certificates (text PDFs)

def resident_record(name: str, city: str, mayor: str, persons: list[dict], addr: str, moved: str,
                    prev_addr: str, issued: str, number_field: str = "（記載省略）", serial: str = "第00457号",
                    foreign: dict | None = None, doc: Doc | None = None) -> None:
    """住民票の写し, one block per person (label / value rows); with `doc`, the next page of it."""
    d = doc or Doc(name, "住民票の写し")
    d.t(18, 18, city, 10, "M")
    d.tc(105, 28, "住　民　票　の　写　し", 16, "M")
    d.tr(192, 36, "交付番号　" + serial, 9, "M")
    y = 42
    d.rect(18, y, 174, 16, 0.6)
    d.line(48, y, 48, y + 16)
    d.line(18, y + 8, 192, y + 8, 0.4)
    d.t(20, y + 5.5, "住所", 10, "M")
    d.t(51, y + 5.5, addr, 10, "M")
    d.t(20, y + 13.5, "世帯主", 10, "M")
    d.t(51, y + 13.5, persons[0]["name"], 10, "M")
    y += 22
    for per in persons:
        rows = [("氏名", per["name"] + "　（" + per["kana"] + "）"), ("生年月日", per["dob"]),
                ("性別", per["sex"]), ("続柄", per["rel"]), ("住民となった年月日", moved),
                ("前住所", prev_addr)]
        if foreign:
            rows += [("国籍・地域", foreign["nationality"]), ("在留資格", foreign["status"]),
                     ("在留期間等", foreign["period"]), ("在留カード等の番号", foreign["card"]),
                     ("法第30条の45に規定する区分", "中長期在留者")]
        rows += [("個人番号", per.get("number", number_field)), ("住民票コード", "（記載省略）")]
        h = 7 * len(rows)
        d.rect(18, y, 174, h, 0.6)
        d.line(62, y, 62, y + h, 0.4)
        for i, (lab, val) in enumerate(rows):
            if i:
                d.line(18, y + 7 * i, 192, y + 7 * i, 0.3)
            d.t(20, y + 7 * i + 5, lab, 9, "M")
            d.t(65, y + 7 * i + 5, val, 9.5, "M")
        y += h + 5
    d.t(20, y + 4, "備考　本籍・筆頭者の記載を省略しています。", 9, "M")
    d.t(24, y + 16, "この写しは、住民票の原本と相違ないことを証明する。", 10.5, "M")
    d.t(30, y + 26, issued, 10.5, "M")
    d.t(100, y + 38, mayor, 12, "M")
    d.seal(178, y + 36, city.replace("市", "").replace("区", "")[:2] + "之印", 8, square=True)
    d.page() if doc else d.save()


def family_register(name: str) -> None:
    """戸籍全部事項証明書 of the 高橋 family (o10)."""
    d = Doc(name, "戸籍全部事項証明書")
    d.tr(192, 14, "（１の１）", 9, "M")
    d.tc(105, 22, "全　部　事　項　証　明", 15, "M")
    y = 32
    d.rect(16, y, 178, 16, 0.6)
    d.line(60, y, 60, y + 16)
    d.line(16, y + 8, 194, y + 8, 0.4)
    d.t(19, y + 5.5, "本　　籍", 10, "M")
    d.t(63, y + 5.5, "例浜県例浜市港北区見本台五丁目８番地", 10, "M")
    d.t(19, y + 13.5, "氏　　名", 10, "M")
    d.t(63, y + 13.5, "高橋　健一", 10, "M")
    y += 16

    def block(head: str, lines: list[str]) -> None:
        nonlocal y
        h = 7 * len(lines) + 4
        d.rect(16, y, 178, h, 0.6)
        d.line(60, y, 60, y + h, 0.4)
        d.t(18, y + 6, head, 8.5, "M")
        for i, s in enumerate(lines):
            d.t(63, y + 6 + i * 7, s, 9.5, "M")
        y += h

    block("戸籍事項", ["戸籍編製　　　【編製日】平成２０年４月１２日"])
    block("戸籍に記録されている者", ["【名】健一", "【生年月日】昭和５５年１０月３日　　【配偶者区分】夫",
                                 "【父】高橋　一郎　【母】高橋　和子　【続柄】長男"])
    block("身分事項", ["出　　生　【出生日】昭和５５年１０月３日　【出生地】例浜県例浜市",
                    "婚　　姻　【婚姻日】平成２０年４月１２日　【配偶者氏名】佐藤　真理子"])
    block("戸籍に記録されている者", ["【名】真理子", "【生年月日】昭和５８年６月２２日　　【配偶者区分】妻",
                                 "【父】佐藤　義男　【母】佐藤　節子　【続柄】二女"])
    block("身分事項", ["出　　生　【出生日】昭和５８年６月２２日　【出生地】例川県見本市",
                    "婚　　姻　【婚姻日】平成２０年４月１２日　【配偶者氏名】高橋　健一"])
    block("戸籍に記録されている者", ["【名】陽太", "【生年月日】平成２１年８月５日",
                                 "【父】高橋　健一　【母】高橋　真理子　【続柄】長男"])
    block("身分事項", ["出　　生　【出生日】平成２１年８月５日　【出生地】例浜県例浜市",
                    "　　　　　【届出日】平成２１年８月１２日　【届出人】父"])
    d.t(63, y + 6, "以下余白", 9.5, "M")
    d.t(20, y + 20, "発行番号　０００３１８", 9.5, "M")
    d.t(20, y + 30, "これは、戸籍に記録されている事項の全部を証明した書面である。", 10.5, "M")
    d.t(30, y + 40, "令和７年５月２３日", 10.5, "M")
    d.t(100, y + 50, "例浜市港北区長　　見本　太郎", 12, "M")
    d.seal(178, y + 48, "区長之印", 8, square=True)
    d.save()


def guardianship_certificate(name: str) -> None:
    """登記事項証明書（後見） for 中川トメ / 中川誠 (o11)."""
    d = Doc(name, "登記事項証明書")
    d.tc(105, 24, "登　記　事　項　証　明　書", 15, "M")
    d.tc(105, 32, "後　見", 12, "M")
    y = 42
    lines = [
        ("後見開始の裁判", ""),
        ("　【裁判所】", "例浜家庭裁判所"),
        ("　【事件の表示】", "令和５年（家）第１４０２号"),
        ("　【裁判の確定日】", "令和５年９月２７日"),
        ("　【登記年月日】", "令和５年１０月６日"),
        ("　【登記番号】", "第２０２３－４１０７号"),
        ("成年被後見人", ""),
        ("　【氏名】", "中川　トメ"),
        ("　【生年月日】", "昭和１４年２月１１日"),
        ("　【住所】", "例浜県例浜市緑区見本町三丁目２番１号"),
        ("　【本籍】", "例浜県例浜市緑区見本町三丁目２番地"),
        ("成年後見人", ""),
        ("　【氏名】", "中川　誠"),
        ("　【住所】", "例浜県例浜市青葉区試験台一丁目５番９号"),
        ("　【選任の裁判確定日】", "令和５年９月２７日"),
        ("　【登記年月日】", "令和５年１０月６日"),
    ]
    d.rect(18, y, 174, 7 * len(lines) + 6, 0.6)
    for i, (a, b) in enumerate(lines):
        d.t(22, y + 7 + i * 7, a, 10, "M")
        d.t(80, y + 7 + i * 7, b, 10, "M")
    y += 7 * len(lines) + 16
    d.t(22, y, "上記のとおり後見登記等ファイルに記録されていることを証明する。", 10.5, "M")
    d.t(30, y + 10, "令和７年５月２０日", 10.5, "M")
    d.t(80, y + 22, "東京法務局　登記官　　見本　一郎", 12, "M")
    d.seal(178, y + 20, "登記官印", 8, square=True)
    d.t(22, y + 36, "［証明書番号］２０２５－０５２０－０３８１（１／１）", 9, "M")
    d.save()


def power_of_attorney(name: str, principal: dict, agent: dict, matters: list[str], date: str,
                      agent_title: str = "") -> None:
    d = Doc(name, "委任状")
    d.tc(105, 28, "委　任　状", 18, "M")
    d.t(24, 46, "私は、次の者を代理人と定め、下記の事項を委任いたします。", 11, "M")
    d.t(30, 60, "受任者（代理人）", 11, "M")
    d.t(36, 68, "住所　" + agent["addr"], 10.5, "M")
    d.t(36, 75, "氏名　" + agent_title + agent["name"], 10.5, "M")
    d.tc(105, 92, "記", 12, "M")
    y = 104
    for i, s in enumerate(matters):
        d.t(28, y + i * 8, f"{i + 1}　{s}", 10.5, "M")
    y += len(matters) * 8 + 8
    d.tr(180, y, "以上", 10.5, "M")
    d.t(30, y + 20, date, 10.5, "M")
    d.t(30, y + 32, "委任者（本人）", 11, "M")
    d.t(36, y + 40, "住所　" + principal["addr"], 10.5, "M")
    d.t(36, y + 47, "氏名　" + principal["name"], 10.5, "M")
    d.seal(120, y + 46, principal["name"].split()[0][:2], 6)
    d.t(36, y + 54, "生年月日　" + principal["dob"], 10.5, "M")
    d.save()


def seal_certificate(name: str, person: dict, city_head: str, issued: str, reg_no: str) -> None:
    d = Doc(name, "印鑑登録証明書")
    d.tc(105, 26, "印 鑑 登 録 証 明 書", 16, "M")
    y = 40
    d.rect(18, y, 174, 60, 0.7)
    d.line(70, y, 70, y + 60)
    d.t(22, y + 6, "印　影", 10, "M")
    d.seal(44, y + 32, person["name"].split()[0][:2], 11)
    rows = [("登録番号", reg_no), ("氏　名", person["name"]), ("生年月日", person["dob"]),
            ("性　別", person["sex"]), ("住　所", person["addr"])]
    for i, (a, b) in enumerate(rows):
        d.t(74, y + 10 + i * 11, a, 10, "M")
        d.t(100, y + 10 + i * 11, b, 10, "M")
    y += 72
    d.t(22, y, "この写しは、登録されている印影と相違ないことを証明します。", 10.5, "M")
    d.t(30, y + 10, issued, 10.5, "M")
    d.t(100, y + 22, city_head, 12, "M")
    d.seal(178, y + 20, "市長之印", 8, square=True)
    d.save()


def lawyer_certificate(name: str) -> None:
    """資格証明: 弁護士登録証明書 of 佐々木 隆 (o12)."""
    d = Doc(name, "弁護士登録証明書")
    d.tc(105, 30, "弁　護　士　登　録　証　明　書", 16, "M")
    y = 50
    rows = [("登録番号", "第３６２９１号"), ("氏　　名", "佐々木　隆"), ("生年月日", "昭和５２年１１月２日"),
            ("登録年月日", "平成１６年１０月１２日"), ("所属弁護士会", "例浜弁護士会"),
            ("法律事務所", "佐々木総合法律事務所"), ("事務所所在地", "例浜県例浜市中区見本通二丁目３番４号　見本ビル５階")]
    d.rect(18, y, 174, 9 * len(rows), 0.6)
    d.line(62, y, 62, y + 9 * len(rows))
    for i, (a, b) in enumerate(rows):
        if i:
            d.line(18, y + 9 * i, 192, y + 9 * i, 0.3)
        d.t(22, y + 9 * i + 6, a, 10.5, "M")
        d.t(66, y + 9 * i + 6, b, 10.5, "M")
    y += 9 * len(rows) + 14
    d.t(22, y, "上記の者が、弁護士名簿に登録されている弁護士であることを証明します。", 10.5, "M")
    d.t(30, y + 12, "令和７年５月１９日", 10.5, "M")
    d.t(90, y + 26, "例浜弁護士会　会長　　見本　正義", 12, "M")
    d.seal(178, y + 24, "会長之印", 8, square=True)
    d.save()


def lawyer_letter(name: str) -> None:
    """A lawyer's own request document (letterhead, prose) for client 木村 恵 (o12)."""
    d = Doc(name, "保有個人データ開示等請求書")
    d.tr(190, 18, "令和７年５月３０日", 10.5, "M")
    d.t(20, 28, COMPANY, 11, "M")
    d.t(20, 34, "個人情報保護管理者　御中", 11, "M")
    d.t(118, 44, "〒231-0098", 9.5, "M")
    d.t(118, 50, "例浜県例浜市中区見本通二丁目３番４号", 9.5, "M")
    d.t(118, 56, "佐々木総合法律事務所", 9.5, "M")
    d.t(118, 62, "木村恵　代理人　弁護士　佐々木　隆", 10.5, "M")
    d.t(118, 68, "電話 045-000-3629", 9.5, "M")
    d.t(118, 74, "E-mail t.sasaki@sasaki-law.example", 9.5, "M")
    d.tc(105, 90, "保有個人データ開示等請求書", 15, "M")
    paras = [
        "当職は、下記通知人の代理人として、貴社に対し、個人情報の保護に関する法律第３３条第１項及び同条第５項に基づき、次のとおり請求いたします。",
        "１　貴社が保有する通知人に関する保有個人データの開示",
        "２　通知人に関する個人データの第三者提供に係る記録の開示",
        "開示の方法は電磁的記録の提供によることを希望します。本件に関するご連絡は、すべて当職宛てにお願いいたします。",
    ]
    y = 104
    for para in paras:
        first = True
        while para:
            chunk, para = para[:40], para[40:]
            d.t(20 if not first else 24, y, chunk, 10.5, "M")
            first = False
            y += 7
        y += 3
    d.tc(105, y + 4, "記", 11, "M")
    y += 14
    for a, b in [("通知人（本人）氏名", "木村　恵（キムラ　メグミ）"), ("生年月日", "平成２年３月１４日"),
                 ("住所", "例浜県例浜市西区試験町七丁目１番２０号"), ("代理人の資格", "弁護士（例浜弁護士会所属）"),
                 ("添付書類", "委任状、弁護士登録証明書、通知人の運転免許証の写し及び住民票の写し、"),
                 ("", "代理人の運転免許証の写し")]:
        d.t(24, y, a, 10.5, "M")
        d.t(72, y, b, 10.5, "M")
        y += 7
    d.tr(190, y + 6, "以上", 10.5, "M")
    d.save()


def corrupt_pdf(name: str) -> None:
    rnd = random.Random(909)
    head = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Length 48213 /Filter /FlateDecode >>\nstream\n"
    (OUT / name).write_bytes(head + rnd.randbytes(6000))


def pixel_bomb_png(name: str) -> None:
    """A 16,000 × 16,000 one-bit PNG (256 megapixels) that compresses to a few kB: beyond any
    sane pixel limit for an ID photo, so it must be reported unreadable, not decoded."""
    img = Image.new("1", (16000, 16000), 1)
    ImageDraw.Draw(img).text((400, 400), "IMG", fill=0)
    img.save(OUT / name, "PNG", optimize=True)


def encrypted_pdf(name: str, person: dict) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption
    enc = StandardEncryption("kaiji2025", ownerPassword="owner-kaiji2025", canPrint=1, strength=128)
    c = canvas.Canvas(str(OUT / name), pagesize=A4, invariant=1, pageCompression=1, encrypt=enc)
    c.setFont("M", 16)
    c.drawCentredString(PW / 2, PH - 30 * mm, "住　民　票　の　写　し")
    c.setFont("M", 10.5)
    c.drawString(20 * mm, PH - 50 * mm, "氏名　" + person["name"])
    c.drawString(20 * mm, PH - 58 * mm, "住所　" + person["addr"])
    c.drawString(20 * mm, PH - 66 * mm, "生年月日　" + person["dob"])
    c.showPage()
    c.save()


# --------------------------------------------------------------------------- images

def font(size: int, path: str = GOTHIC) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def noise_layer(size: tuple[int, int], rnd: random.Random) -> Image.Image:
    w, h = size
    small = Image.frombytes("L", (w // 2 + 1, h // 2 + 1), rnd.randbytes((w // 2 + 1) * (h // 2 + 1)))
    fine = Image.frombytes("L", (w, h), rnd.randbytes(w * h))
    return Image.blend(small.resize((w, h), Image.BILINEAR), fine, 0.5)


def card_canvas(w: int, h: int, color: tuple, rnd: random.Random, lines_color: tuple | None = None) -> Image.Image:
    img = Image.new("RGB", (w, h), color)
    dr = ImageDraw.Draw(img)
    lc = lines_color or tuple(max(0, c - 14) for c in color)
    phase = rnd.random() * 6
    for yy in range(8, h, 11):
        pts = [(x, yy + 2.5 * math.sin(x / 37.0 + phase + yy / 50.0)) for x in range(0, w + 10, 10)]
        dr.line(pts, fill=lc, width=1)
    return img


def face(img: Image.Image, box: tuple, rnd: random.Random, hair=(40, 32, 28), shirt=(52, 64, 96),
         bg=(196, 206, 222), long_hair: bool = False) -> None:
    """A blurred, faceless portrait drawn inside box."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    ph = Image.new("RGB", (w, h), bg)
    dr = ImageDraw.Draw(ph)
    cx = w // 2
    skin = (226, 196, 168)
    if long_hair:
        dr.rounded_rectangle((cx - w * 0.3, h * 0.12, cx + w * 0.3, h * 0.7), 40, fill=hair)
    dr.rounded_rectangle((w * 0.08, h * 0.7, w * 0.92, h + 60), 60, fill=shirt)
    dr.rectangle((cx - w * 0.08, h * 0.55, cx + w * 0.08, h * 0.74), fill=skin)
    dr.polygon([(cx - w * 0.12, h * 0.71), (cx + w * 0.12, h * 0.71), (cx, h * 0.86)], fill=(240, 240, 240))
    dr.ellipse((cx - w * 0.22, h * 0.18, cx + w * 0.22, h * 0.62), fill=skin)
    dr.pieslice((cx - w * 0.24, h * 0.12, cx + w * 0.24, h * 0.46), 180, 360, fill=hair)
    ph = ph.filter(ImageFilter.GaussianBlur(1.2 + rnd.random() * 0.4))
    img.paste(ph, (x0, y0))
    ImageDraw.Draw(img).rectangle(box, outline=(120, 120, 120), width=2)


def bold(dr: ImageDraw.ImageDraw, xy, s: str, f, fill=(20, 20, 20)) -> None:
    dr.text(xy, s, font=f, fill=fill, stroke_width=1, stroke_fill=fill)


def rounded(card: Image.Image, r: int = 34) -> Image.Image:
    mask = Image.new("L", card.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, card.width - 1, card.height - 1), r, fill=255)
    return mask


def photograph(card: Image.Image, seed: int, angle: float, out: str, quality: int = 75,
               bg=(214, 210, 200), margin: int = 55, fmt: str = "JPEG", scan: bool = False,
               width: int | None = None, exif_orientation: int = 0) -> Image.Image:
    """Puts the card on a desk (or scanner glass), rotates, lights unevenly, adds noise, saves."""
    rnd = random.Random(seed)
    W, H = card.width + 2 * margin, card.height + 2 * margin
    base = Image.new("RGB", (W, H), bg)
    if not scan:  # desk texture
        tex = noise_layer((W, H), rnd).filter(ImageFilter.GaussianBlur(3))
        base = Image.blend(base, Image.merge("RGB", [tex] * 3), 0.08)
    mask = rounded(card)
    shadow = Image.new("L", (W, H), 0)
    shadow.paste(mask, (margin + 6, margin + 8))
    shadow = shadow.filter(ImageFilter.GaussianBlur(9))
    base = Image.composite(Image.new("RGB", (W, H), tuple(int(c * 0.72) for c in bg)), base, shadow.point(lambda v: v * 0.55))
    base.paste(card, (margin, margin), mask)
    img = base.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=bg)
    # uneven light: a soft diagonal gradient
    grad = Image.linear_gradient("L").resize((W, H)).rotate(35 + rnd.random() * 40, expand=False, fillcolor=128)
    light = Image.merge("RGB", [grad.point(lambda v: 235 + v * 20 // 255)] * 3)
    img = ImageChops.multiply(img, light)
    img = img.filter(ImageFilter.GaussianBlur(0.55))
    width = width or 920
    if width != W:
        img = img.resize((width, int(H * width / W)), Image.LANCZOS)
    nz = noise_layer(img.size, rnd)
    img = Image.blend(img, Image.merge("RGB", [nz] * 3), 0.045 if fmt != "PNG" else 0.02)
    path = OUT / out
    if exif_orientation == -1:
        # a phone photo turned sideways, its EXIF dropped by the mailer: nothing says how to turn it
        img = img.transpose(Image.Transpose.ROTATE_270)
        img.save(path, "JPEG", quality=quality, optimize=True)
        return img
    if exif_orientation:
        # a phone photo stored sideways; the EXIF Orientation tag says how to turn it
        img = img.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        exif[0x010F] = "ExamplePhone"
        img.save(path, "JPEG", quality=quality, optimize=True, exif=exif.tobytes())
        return img
    if fmt == "PNG":
        # a grey copy from a multifunction printer, 16 grey levels
        img.convert("L").point(lambda v: (v // 16) * 17).save(path, "PNG", optimize=True)
    else:
        img.save(path, "JPEG", quality=quality, optimize=True)
    return img


def licence(out: str, seed: int, p: dict, number: str, commission: str, band=(92, 158, 214), angle: float = -2.2,
            quality: int = 72, long_hair: bool = False) -> Image.Image:
    rnd = random.Random(seed)
    w, h = 1000, 630
    c = card_canvas(w, h, (232, 240, 232), rnd)
    dr = ImageDraw.Draw(c)
    f_l, f_m, f_b, f_big = font(22), font(30), font(40), font(44)
    dr.text((40, 38), "氏名", font=f_l, fill=(40, 40, 40))
    bold(dr, (110, 26), p["name"], f_b)
    dr.text((560, 36), p["dob_era"] + "生", font=f_m, fill=(20, 20, 20))
    dr.line((30, 84, 970, 84), fill=(90, 110, 90), width=2)
    dr.text((40, 102), "住所", font=f_l, fill=(40, 40, 40))
    dr.text((110, 96), p["addr_card"], font=f_m, fill=(20, 20, 20))
    dr.line((30, 144, 970, 144), fill=(90, 110, 90), width=2)
    dr.text((40, 160), "交付", font=f_l, fill=(40, 40, 40))
    dr.text((110, 154), p["lic_issued"] + "　" + p["lic_ref"], font=f_m, fill=(20, 20, 20))
    dr.rectangle((32, 204, 690, 258), fill=band)
    bold(dr, (48, 208), p["lic_valid"] + "まで有効", f_big, (20, 20, 20))
    dr.rectangle((32, 272, 690, 330), outline=(60, 60, 60), width=2)
    dr.text((40, 280), "免許の", font=font(18), fill=(40, 40, 40))
    dr.text((40, 304), "条件等", font=font(18), fill=(40, 40, 40))
    dr.text((130, 284), p.get("lic_cond", ""), font=f_m, fill=(20, 20, 20))
    dr.text((40, 404), "番号", font=f_l, fill=(40, 40, 40))
    bold(dr, (120, 390), "第 " + number + " 号", f_b)
    dr.rectangle((32, 460, 440, 605), outline=(60, 60, 60), width=2)
    dr.text((44, 472), "二・小・原", font=font(22), fill=(20, 20, 20))
    dr.text((170, 472), p["lic_first"], font=font(22), fill=(20, 20, 20))
    dr.text((44, 518), "他", font=font(22), fill=(20, 20, 20))
    dr.text((44, 564), "二種", font=font(22), fill=(20, 20, 20))
    for i in range(5):
        for j in range(2):
            dr.rectangle((458 + i * 48, 462 + j * 46, 500 + i * 48, 500 + j * 46), outline=(110, 110, 110), width=1)
    dr.text((462 + 3 * 48, 470), "普通", font=font(17), fill=(20, 20, 20))
    face(c, (712, 262, 960, 506), rnd, long_hair=long_hair)
    dr = ImageDraw.Draw(c)
    dr.text((458, 566), commission, font=font(24), fill=(20, 20, 20))
    dr.rectangle((706, 560, 746, 600), outline=(190, 30, 30), width=2)
    dr.text((711, 567), "公安", font=font(14), fill=(190, 30, 30))
    bold(dr, (762, 540), "運転免許証", font(42))
    return photograph(c, seed + 1, angle, out, quality)


def passport(out: str, seed: int, p: dict, number: str, angle: float = 1.6, quality: int = 74,
             long_hair: bool = False, exif_orientation: int = 0) -> Image.Image:
    rnd = random.Random(seed)
    w, h = 1180, 820
    c = card_canvas(w, h, (226, 232, 240), rnd)
    dr = ImageDraw.Draw(c)
    purple = (88, 40, 80)
    bold(dr, (50, 30), "日本国　JAPAN", font(34), purple)
    bold(dr, (560, 34), "旅券　PASSPORT", font(34), purple)
    face(c, (60, 150, 330, 500), rnd, shirt=(80, 52, 70), long_hair=long_hair)
    dr = ImageDraw.Draw(c)
    lab, val = font(17), font(30)

    def field(x, y, label, value):
        dr.text((x, y), label, font=lab, fill=(80, 80, 80))
        bold(dr, (x, y + 20), value, val, (20, 20, 20))

    field(380, 110, "型／Type", "P")
    field(620, 110, "発行国／Issuing country", "JPN")
    field(880, 110, "旅券番号／Passport No.", number)
    field(380, 175, "姓／Surname", p["sur"])
    field(380, 240, "名／Given name", p["given"])
    field(380, 305, "国籍／Nationality", "JAPAN")
    field(700, 305, "生年月日／Date of birth", p["dob_en"])
    field(380, 370, "性別／Sex", p["sex_en"])
    field(700, 370, "本籍／Registered Domicile", p.get("domicile", "TOKYO"))
    field(380, 435, "発行年月日／Date of issue", p["pp_issue"])
    field(380, 500, "有効期間満了日／Date of expiry", p["pp_expiry"])
    field(380, 565, "発行官庁／Authority", "MINISTRY OF FOREIGN AFFAIRS")
    dr.text((60, 540), "所持人自署／Signature of bearer", font=lab, fill=(80, 80, 80))
    dr.text((80, 570), p["name"].replace(" ", ""), font=font(34, MINCHO), fill=(30, 30, 90))
    dr.rectangle((0, 650, w, h), fill=(240, 242, 246))
    l1, l2 = mrz_lines(p["sur"], p["given"], number, p["dob_mrz"], p["sex_en"], p["exp_mrz"])
    mf = ImageFont.truetype(MONO, 38)
    dr.text((40, 668), l1, font=mf, fill=(15, 15, 15))
    dr.text((40, 730), l2, font=mf, fill=(15, 15, 15))
    return photograph(c, seed + 1, angle, out, quality, bg=(236, 236, 232), scan=not exif_orientation, margin=40,
                      exif_orientation=exif_orientation)


def residence_card(out: str, seed: int, p: dict, angle: float = 2.8) -> Image.Image:
    rnd = random.Random(seed)
    w, h = 1000, 630
    c = card_canvas(w, h, (226, 236, 246), rnd, (206, 218, 236))
    dr = ImageDraw.Draw(c)
    blue = (30, 60, 120)
    bold(dr, (36, 24), "在留カード", font(38), blue)
    dr.text((250, 34), "RESIDENCE CARD", font=font(24), fill=blue)
    dr.text((620, 30), "番号", font=font(20), fill=(60, 60, 60))
    bold(dr, (680, 22), p["card_no"], font(34))
    dr.text((36, 88), "氏名", font=font(20), fill=(60, 60, 60))
    dr.text((36, 110), "NAME", font=font(16), fill=(60, 60, 60))
    bold(dr, (110, 90), p["name"], font(38))
    dr.text((36, 150), "生年月日 " + p["dob_card"] + "　性別 " + p["sex_card"] + "　国籍・地域 " + p["nationality_ja"],
            font=font(23), fill=(20, 20, 20))
    dr.text((36, 196), "住居地", font=font(20), fill=(60, 60, 60))
    dr.text((120, 194), p["addr_card"], font=font(21), fill=(20, 20, 20))
    dr.text((36, 246), "在留資格", font=font(20), fill=(60, 60, 60))
    bold(dr, (140, 238), p["status"], font(30))
    dr.rectangle((36, 290, 690, 336), outline=(60, 60, 60), width=2)
    dr.text((46, 298), "就労制限の有無　" + p["work"], font=font(24), fill=(20, 20, 20))
    dr.text((36, 356), "在留期間（満了日）　" + p["period"], font=font(24), fill=(20, 20, 20))
    dr.text((36, 400), "許可の種類　在留期間更新許可（例浜出入国在留管理局長）", font=font(20), fill=(20, 20, 20))
    dr.text((36, 436), "許可年月日　" + p["permit"] + "　交付年月日　" + p["permit"], font=font(20), fill=(20, 20, 20))
    face(c, (730, 90, 960, 380), rnd, hair=(30, 24, 22), shirt=(120, 60, 60), long_hair=True)
    dr = ImageDraw.Draw(c)
    dr.rectangle((0, 520, w, h), fill=(200, 214, 236))
    bold(dr, (36, 548), "このカードは " + p["valid_until"] + " まで有効　です。", font(28), (150, 30, 30))
    dr.text((720, 500), "法務大臣", font=font(24), fill=(20, 20, 20))
    dr.rectangle((840, 492, 884, 536), outline=(190, 30, 30), width=2)
    dr.text((846, 500), "法務", font=font(15), fill=(190, 30, 30))
    return photograph(c, seed + 1, angle, out, fmt="PNG", bg=(200, 196, 190), width=960)


def insurance_card(out: str, seed: int, p: dict, angle: float = -3.1, quality: int = 66) -> Image.Image:
    rnd = random.Random(seed)
    w, h = 1000, 630
    c = card_canvas(w, h, (250, 236, 214), rnd, (236, 218, 196))
    dr = ImageDraw.Draw(c)
    dr.rectangle((0, 0, w, 70), fill=(214, 120, 60))
    bold(dr, (30, 14), "健康保険　被保険者証", font(38), (255, 255, 255))
    dr.text((640, 22), "本人（被保険者）", font=font(28), fill=(255, 255, 255))
    dr.text((700, 86), "令和３年４月１日交付", font=font(22), fill=(30, 30, 30))
    bold(dr, (40, 90), "記号　" + p["kigo"] + "　　番号　" + p["bango"] + "　（枝番）" + p["eda"], font(32))
    rows = [("氏名", p["name"]), ("生年月日", p["dob_era"] + "　　性別　" + p["sex"]),
            ("資格取得年月日", "令和３年４月１日"), ("事業所名称", p["employer"]),
            ("保険者番号", p["insurer_no"]), ("保険者名称", p["insurer"]), ("保険者所在地", p["insurer_addr"])]
    for i, (a, b) in enumerate(rows):
        yy = 150 + i * 62
        dr.text((40, yy + 6), a, font=font(22), fill=(70, 70, 70))
        if a in ("氏名", "保険者番号"):
            bold(dr, (240, yy), b, font(34))
        else:
            dr.text((240, yy + 2), b, font=font(28), fill=(20, 20, 20))
        dr.line((36, yy + 50, 960, yy + 50), fill=(200, 170, 140), width=1)
    dr.rectangle((870, 520, 930, 580), outline=(190, 30, 30), width=2)
    dr.text((878, 534), "理事", font=font(20), fill=(190, 30, 30))
    return photograph(c, seed + 1, angle, out, quality, bg=(120, 96, 72))


def eligibility_certificate(out: str, seed: int, p: dict, angle: float = -1.4, quality: int = 72) -> Image.Image:
    """資格確認書 (the card-sized paper that replaces the health insurance card), numbers readable."""
    rnd = random.Random(seed)
    w, h = 1000, 630
    c = card_canvas(w, h, (236, 244, 250), rnd, (222, 232, 242))
    dr = ImageDraw.Draw(c)
    dr.rectangle((0, 0, w, 66), fill=(40, 110, 170))
    bold(dr, (30, 12), "資格確認書", font(38), (255, 255, 255))
    dr.text((300, 22), "（健康保険）", font=font(26), fill=(255, 255, 255))
    dr.text((650, 22), "有効期限 " + p["valid"], font=font(24), fill=(255, 255, 255))
    bold(dr, (36, 86), "記号　" + p["kigo"] + "　番号　" + p["bango"] + "　枝番　" + p["eda"], font(30))
    rows = [("氏名", p["name"]), ("生年月日", p["dob_era"] + "　性別　" + p["sex"]),
            ("資格取得年月日", "令和元年10月1日"), ("保険者番号", p["insurer_no"]),
            ("保険者名称", p["insurer"]), ("交付年月日", "令和6年12月2日")]
    for i, (a_, b_) in enumerate(rows):
        yy = 146 + i * 64
        dr.text((40, yy + 6), a_, font=font(22), fill=(70, 70, 70))
        if a_ in ("氏名", "保険者番号"):
            bold(dr, (250, yy), b_, font(34))
        else:
            dr.text((250, yy + 2), b_, font=font(28), fill=(20, 20, 20))
        dr.line((36, yy + 52, 960, yy + 52), fill=(170, 190, 210), width=1)
    dr.text((40, 548), "※この資格確認書は、健康保険の資格を確認するためのものです。", font=font(20), fill=(60, 60, 60))
    return photograph(c, seed + 1, angle, out, quality, bg=(150, 150, 150))


def my_number_card(out: str, seed: int, p: dict, angle: float = 1.9, quality: int = 80,
                   long_hair: bool = False) -> Image.Image:
    rnd = random.Random(seed)
    w, h = 1000, 630
    c = card_canvas(w, h, (246, 236, 240), rnd, (232, 220, 226))
    dr = ImageDraw.Draw(c)
    dr.rectangle((0, 0, w, 64), fill=(226, 90, 120))
    bold(dr, (28, 10), "個人番号カード", font(36), (255, 255, 255))
    dr.text((40, 96), "氏名", font=font(22), fill=(60, 60, 60))
    bold(dr, (120, 86), p["name"], font(38))
    dr.text((40, 160), "住所", font=font(22), fill=(60, 60, 60))
    dr.text((120, 154), p["addr_card"], font=font(28), fill=(20, 20, 20))
    dr.text((40, 290), p["dob_era"] + "生　　性別　" + p["sex"], font=font(28), fill=(20, 20, 20))
    dr.rectangle((36, 346, 660, 400), outline=(200, 120, 140), width=2)
    bold(dr, (52, 352), p["mnc_valid"] + "まで有効", font(32))
    dr.text((40, 418), "電子証明書の有効期限の記載欄", font=font(16), fill=(120, 120, 120))
    for i in range(3):
        dr.rectangle((40 + i * 206, 442, 230 + i * 206, 484), outline=(160, 160, 160), width=1)
    dr.text((40, 540), "臓器提供意思（裏面参照）", font=font(16), fill=(120, 120, 120))
    face(c, (716, 90, 950, 390), rnd, long_hair=long_hair, shirt=(60, 70, 90))
    dr = ImageDraw.Draw(c)
    dr.text((716, 420), p["mayor"], font=font(28), fill=(20, 20, 20))
    dr.rectangle((900, 412, 946, 458), outline=(190, 30, 30), width=2)
    dr.text((906, 422), "市長", font=font(16), fill=(190, 30, 30))
    return photograph(c, seed + 1, angle, out, quality)


def scanned_resident_record(out: str, seed: int, p: dict) -> None:
    """A 住民票 printed, scanned at 150 dpi in grey, saved as an image-only PDF."""
    rnd = random.Random(seed)
    W, H = 1240, 1754
    img = Image.new("L", (W, H), 250)
    dr = ImageDraw.Draw(img)
    mf = lambda s: ImageFont.truetype(MINCHO, s)  # noqa: E731
    dr.text((100, 100), p["city"], font=mf(30), fill=20)
    title = "住　民　票　の　写　し"
    tw = dr.textlength(title, font=mf(52))
    dr.text(((W - tw) / 2, 170), title, font=mf(52), fill=10)
    dr.text((860, 260), "交付番号　" + p.get("serial", "第01822号"), font=mf(26), fill=20)
    y = 320
    rows = [("住　所", p["addr"]), ("世帯主", p["name"]), ("氏　名", p["name"] + "（" + p["kana"] + "）"),
            ("生年月日", p["dob"]), ("性　別", p["sex"]), ("続　柄", "世帯主"),
            ("住民となった年月日", "令和２年３月２８日"), ("前住所", p["prev"]),
            ("個人番号", p.get("number", "（記載省略）")), ("住民票コード", "（記載省略）")]
    dr.rectangle((100, y, 1140, y + 76 * len(rows)), outline=30, width=3)
    dr.line((400, y, 400, y + 76 * len(rows)), fill=30, width=2)
    for i, (a, b) in enumerate(rows):
        if i:
            dr.line((100, y + 76 * i, 1140, y + 76 * i), fill=60, width=2)
        dr.text((120, y + 76 * i + 20), a, font=mf(30), fill=15)
        dr.text((420, y + 76 * i + 18), b, font=mf(33), fill=10)
    y += 76 * len(rows) + 60
    dr.text((120, y), "備考　本籍・筆頭者の記載を省略しています。", font=mf(28), fill=20)
    dr.text((140, y + 110), "この写しは、住民票の原本と相違ないことを証明する。", font=mf(36), fill=10)
    dr.text((180, y + 190), p.get("issued", "令和７年５月２２日"), font=mf(36), fill=10)
    dr.text((470, y + 292), p["mayor"], font=mf(40), fill=10)
    dr.rectangle((1000, y + 260, 1110, y + 370), outline=90, width=4)
    dr.text((1018, y + 280), "市長", font=mf(36), fill=90)
    dr.text((1018, y + 320), "之印", font=mf(36), fill=90)
    img = img.rotate(0.8, resample=Image.BICUBIC, fillcolor=235)
    nz = noise_layer((W, H), rnd)
    img = Image.blend(img, nz, 0.05).filter(ImageFilter.GaussianBlur(0.6))
    img = img.point(lambda v: min(255, int(v * 1.04)))
    fixed = time.strptime("2025-05-22 09:12:40", "%Y-%m-%d %H:%M:%S")  # deterministic /CreationDate
    img.save(OUT / out, "PDF", resolution=150.0, quality=55, creationDate=fixed, modDate=fixed,
             producer="", creator="")


def multi_document_pdf(out: str, licence_img: Image.Image, rec: dict) -> None:
    """Page 1: a copy of a driving licence (image, as a phone scan app makes it);
    page 2: the resident record (text layer)."""
    d = Doc(out, "")
    d.image(licence_img, 25, 30, 160)
    d.page()
    d.t(18, 18, rec["city"], 10, "M")
    d.tc(105, 30, "住民票（世帯一部）の写し", 16, "M")
    y = 46
    rows = [("住所", rec["addr"]), ("世帯主", rec["name"]), ("氏名", rec["name"] + "（" + rec["kana"] + "）"),
            ("生年月日", rec["dob"]), ("性別", rec["sex"]), ("続柄", "世帯主"), ("住民となった年月日", "平成３０年１０月１日"),
            ("個人番号", "省略"), ("住民票コード", "省略")]
    d.rect(18, y, 174, 8 * len(rows), 0.6)
    d.line(60, y, 60, y + 8 * len(rows), 0.4)
    for i, (a, b) in enumerate(rows):
        if i:
            d.line(18, y + 8 * i, 192, y + 8 * i, 0.3)
        d.t(21, y + 8 * i + 5.5, a, 9.5, "M")
        d.t(64, y + 8 * i + 5.5, b, 10, "M")
    y += 8 * len(rows) + 16
    d.t(24, y, "この写しは、住民票の原本と相違ないことを証明する。", 10.5, "M")
    d.t(30, y + 10, "令和７年５月２６日", 10.5, "M")
    d.t(100, y + 22, rec["mayor"], 12, "M")
    d.seal(178, y + 20, "市長之印", 8, square=True)
    d.save()


# --------------------------------------------------------------------------- people

PEOPLE = {
    "matsuo": dict(name="松尾 健太", kana="マツオ ケンタ", dob="昭和54年11月4日", dob_era="昭和54年11月04日",
                   addr="〒231-0098 例浜県例浜市中区見本通四丁目6番2号", addr_card="例浜県例浜市中区見本通四丁目6番2号",
                   addr_short="例浜県例浜市中区見本通四丁目6番2号", tel="045-000-1104", email="kenta.matsuo@example.com",
                   sex="男", lic_issued="令和04年12月01日", lic_ref="31842", lic_valid="令和09年12月04日",
                   lic_first="平成12年08月20日", lic_cond="眼鏡等", kana_rec="マツオ ケンタ"),
    "onodera": dict(name="小野寺 美咲", kana="オノデラ ミサキ", dob="1992年2月17日", addr="〒980-0098 例城県例台市青葉区試験町二丁目4番",
                    tel="022-000-0217", email="misaki.onodera@example.net", sex="女", sur="ONODERA", given="MISAKI",
                    dob_en="17 FEB 1992", dob_mrz="920217", sex_en="F", pp_issue="08 AUG 2022", pp_expiry="08 AUG 2032",
                    exp_mrz="320808", domicile="MIYAGI"),
    "ishikawa": dict(name="石川 大輔", kana="イシカワ ダイスケ", dob="昭和63年7月9日", dob_era="昭和63年7月9日",
                     addr="〒460-0098 例知県例古屋市中区見本丸三丁目1番8号", tel="052-000-0709",
                     email="daisuke.ishikawa@example.org", sex="男", kigo="5102", bango="37", eda="00",
                     employer="例古屋精機株式会社", insurer_no="06230417", insurer="例古屋機械工業健康保険組合",
                     insurer_addr="例知県例古屋市中区見本丸一丁目2番3号"),
    "nguyen": dict(name="NGUYEN THI LAN", kana="グエン ティ ラン", dob="21 July 1995 (1995年7月21日)",
                   addr="〒330-0098 例玉県例いたま市浦和区試験台2-14-7 サンプルハイツ203", tel="080-0000-0721",
                   email="lan.nguyen@example.com", nationality="Viet Nam (ベトナム)", card_no="UH48213076KA",
                   dob_card="1995年07月21日", sex_card="女 F", nationality_ja="ベトナム",
                   addr_card="例玉県例いたま市浦和区試験台2-14-7 サンプルハイツ203", status="技術・人文知識・国際業務",
                   work="在留資格に基づく就労活動のみ可", period="5年（2029年07月14日）", permit="2024年07月10日",
                   valid_until="2029年07月14日"),
    "murakami": dict(name="村上 直樹", kana="ムラカミ ナオキ", dob="昭和49年5月30日", dob_era="昭和49年05月30日",
                     addr="〒730-0098 例島県例島市中区見本町一丁目7番3号", addr_card="例島県例島市中区見本町一丁目7番3号",
                     tel="082-000-0530", email="naoki.murakami@example.net", sex="男", lic_issued="令和05年06月22日",
                     lic_ref="50271", lic_valid="令和10年06月30日", lic_first="平成05年03月11日", lic_cond=""),
    "okamoto": dict(name="岡本 由美子", kana="オカモト ユミコ", dob="昭和61年12月1日", addr="〒700-0098 例山県例山市北区試験町4丁目9-2",
                    addr_short="例山県例山市北区試験町4丁目9-2", tel="086-000-1201", email="yumiko.okamoto@example.com",
                    sex="女", sur="OKAMOTO", given="YUMIKO", dob_en="01 DEC 1986", dob_mrz="861201", sex_en="F",
                    pp_issue="14 MAR 2023", pp_expiry="14 MAR 2033", exp_mrz="330314", domicile="OKAYAMA"),
    "hayashi": dict(name="林 浩二", kana="ハヤシ コウジ", dob="昭和45年3月3日", dob_era="昭和45年03月03日",
                    addr="〒860-0098 例本県例本市中央区見本町二丁目2番22号", addr_card="例本県例本市中央区見本町二丁目2番22号",
                    tel="096-000-0303", email="koji.hayashi@example.org", sex="男", lic_issued="令和03年02月18日",
                    lic_ref="20984", lic_valid="令和08年04月03日", lic_first="平成元年07月14日", lic_cond="眼鏡等"),
    "takahashi_yota": dict(name="高橋 陽太", kana="タカハシ ヨウタ", dob="平成21年8月5日", addr="〒222-0098 例浜県例浜市港北区見本台五丁目8番1号",
                           tel="045-000-0805", email="", sex="男", sur="TAKAHASHI", given="YOTA", dob_en="05 AUG 2009",
                           dob_mrz="090805", sex_en="M", pp_issue="20 JUL 2023", pp_expiry="20 JUL 2028", exp_mrz="280720",
                           domicile="REIHAMA"),
    "takahashi_mariko": dict(name="高橋 真理子", kana="タカハシ マリコ", dob="昭和58年6月22日", dob_era="昭和58年06月22日",
                             addr="〒222-0098 例浜県例浜市港北区見本台五丁目8番1号", addr_card="例浜県例浜市港北区見本台五丁目8番1号",
                             tel="090-0000-0622", email="mariko.takahashi@example.com", sex="女",
                             lic_issued="令和06年05月30日", lic_ref="62205", lic_valid="令和11年07月22日",
                             lic_first="平成14年01月09日", lic_cond=""),
    "nakagawa_tome": dict(name="中川 トメ", kana="ナカガワ トメ", dob="昭和14年2月11日", dob_era="昭和14年2月11日",
                          addr="〒226-0098 例浜県例浜市緑区見本町三丁目2番1号", addr_card="例浜県例浜市緑区見本町三丁目2番1号",
                          sex="女", mnc_valid="2029年02月11日", mayor="例浜市長", tel="045-000-0211", email=""),
    "nakagawa_makoto": dict(name="中川 誠", kana="ナカガワ マコト", dob="昭和41年9月19日", dob_era="昭和41年09月19日",
                            addr="〒225-0098 例浜県例浜市青葉区試験台一丁目5番9号", addr_card="例浜県例浜市青葉区試験台一丁目5番9号",
                            tel="090-0000-0919", email="makoto.nakagawa@example.net", sex="男",
                            lic_issued="令和05年08月25日", lic_ref="91904", lic_valid="令和10年10月19日",
                            lic_first="昭和60年12月02日", lic_cond="眼鏡等"),
    "kimura": dict(name="木村 恵", kana="キムラ メグミ", dob="平成2年3月14日", dob_era="平成02年03月14日",
                   addr="〒220-0098 例浜県例浜市西区試験町七丁目1番20号", addr_card="例浜県例浜市西区試験町七丁目1番20号",
                   tel="080-0000-0314", email="", sex="女", lic_issued="令和04年04月11日", lic_ref="40318",
                   lic_valid="令和09年04月14日", lic_first="平成22年05月07日", lic_cond=""),
    "sasaki": dict(name="佐々木 隆", kana="ササキ タカシ", dob="昭和52年11月2日", dob_era="昭和52年11月02日",
                   addr="例浜県例浜市中区見本通二丁目3番4号 見本ビル5階", addr_card="例浜県例浜市南区試験町八丁目12番3号",
                   tel="045-000-3629", email="t.sasaki@sasaki-law.example", sex="男", lic_issued="令和06年10月01日",
                   lic_ref="11028", lic_valid="令和11年12月02日", lic_first="平成08年02月26日", lic_cond="眼鏡等"),
    "yamaguchi": dict(name="山口 和夫", kana="ヤマグチ カズオ", dob="昭和30年4月8日", dob_era="昭和30年04月08日",
                      addr="〒420-0098 例岡県例岡市葵区見本町九丁目9番", addr_card="例岡県例岡市葵区見本町九丁目9番",
                      tel="054-000-0408", email="", sex="男", lic_issued="令和03年03月15日", lic_ref="70415",
                      lic_valid="令和08年05月08日", lic_first="昭和51年06月01日", lic_cond="眼鏡等"),
    "yoshida": dict(name="吉田 さくら", kana="ヨシダ サクラ", dob="平成8年4月1日", dob_era="平成8年4月1日",
                    addr="〒422-0098 例岡県例岡市駿河区試験台三丁目3番3号", addr_card="例岡県例岡市駿河区試験台三丁目3番3号",
                    tel="070-0000-0401", email="sakura.yoshida@example.org", sex="女", mnc_valid="2032年04月01日",
                    mayor="例岡市長"),
    "inoue_haru": dict(name="井上 ハル", kana="イノウエ ハル", dob="昭和12年10月20日", dob_era="昭和12年10月20日",
                       addr="〒371-0098 例馬県例橋市見本町一丁目11番", addr_card="例馬県例橋市見本町一丁目11番", sex="女",
                       mnc_valid="2030年10月20日", mayor="例橋市長", tel="027-000-1020", email=""),
    "inoue_sho": dict(name="井上 翔", kana="イノウエ ショウ", dob="平成9年1月25日", addr="〒150-0098 東京都例谷区試験坂二丁目2番2号",
                      tel="080-0000-0125", email="sho.inoue@example.com", sex="男"),
    "nishida": dict(name="西田 優子", kana="ニシダ ユウコ", dob="昭和57年9月27日", addr="〒600-0098 例都府例都市下京区見本町581番地",
                    tel="075-000-0927", email="yuko.nishida@example.org", sex="女", sur="NISHIDA", given="YUKO",
                    dob_en="27 SEP 1982", dob_mrz="820927", sex_en="F", pp_issue="02 FEB 2021", pp_expiry="02 FEB 2031",
                    exp_mrz="310202", domicile="KYOTO"),
    "kato": dict(name="加藤 学", kana="カトウ マナブ", dob="昭和50年1月16日", dob_era="昭和50年01月16日",
                 addr="〒370-0098 例馬県例崎市見本町四丁目4番4号", addr_card="例馬県例崎市見本町四丁目4番4号",
                 tel="027-000-0116", email="manabu.kato@example.com", sex="男", lic_issued="令和04年02月10日",
                 lic_ref="11604", lic_valid="令和09年02月16日", lic_first="平成06年09月30日", lic_cond=""),
    "mori": dict(name="森 和也", kana="モリ カズヤ", dob="平成元年6月6日", addr="〒330-0098 例玉県例いたま市大宮区見本町6-6-6",
                 addr_short="例玉県例いたま市大宮区見本町6-6-6", tel="048-000-0606", email="kazuya.mori@example.net",
                 sex="男"),
    "sakai": dict(name="坂井 亮", kana="サカイ リョウ", dob="平成5年10月10日", addr="〒810-0098 例岡県例岡市博多区試験浜五丁目5番",
                  tel="092-000-1010", email="ryo.sakai@example.com", sex="男", sur="SAKAI", given="RYO",
                  dob_en="10 OCT 1993", dob_mrz="931010", sex_en="M", pp_issue="11 NOV 2024", pp_expiry="11 NOV 2034",
                  exp_mrz="341111", domicile="FUKUOKA"),
    "ikeda": dict(name="池田 涼子", kana="イケダ リョウコ", dob="昭和59年8月8日", dob_era="昭和59年08月08日",
                  addr="〒060-0098 例海道例幌市中央区見本条西八丁目8番", addr_card="例海道例幌市中央区見本条西八丁目8番",
                  tel="011-000-0808", email="ryoko.ikeda@example.org", sex="女", lic_issued="令和05年09月01日",
                  lic_ref="80808", lic_valid="令和10年09月08日", lic_first="平成15年04月18日", lic_cond=""),
    "watanabe": dict(name="渡辺 真一", kana="ワタナベ シンイチ", dob="昭和56年4月2日", addr="〒260-0098 例葉県例葉市中央区試験町二丁目12番",
                     tel="043-000-0402", email="shinichi.watanabe@example.com", sex="男", sur="WATANABE",
                     given="SHINICHI", dob_en="02 APR 1981", dob_mrz="810402", sex_en="M", pp_issue="19 JUN 2020",
                     pp_expiry="19 JUN 2030", exp_mrz="300619", domicile="CHIBA"),
    "kobayashi": dict(name="小林 亜希子", kana="コバヤシ アキコ", dob="平成3年11月22日", dob_era="平成3年11月22日",
                      addr="〒320-0098 例木県例都宮市見本町十丁目10番", tel="028-000-1122",
                      email="akiko.kobayashi@example.net", sex="女", kigo="71", bango="2094", eda="01",
                      insurer_no="01090018", insurer="全国健康保険協会 例木支部", valid="令和12年11月30日"),
    "matsumoto": dict(name="松本 葵", kana="マツモト アオイ", dob="平成10年6月18日", addr="〒390-0098 例野県例本市見本町五丁目5番5号",
                      addr_short="例野県例本市見本町五丁目5番5号", tel="0263-00-0618", email="aoi.matsumoto@example.org",
                      sex="女", sur="MATSUMOTO", given="AOI", dob_en="18 JUN 1998", dob_mrz="980618", sex_en="F",
                      pp_issue="03 APR 2024", pp_expiry="03 APR 2034", exp_mrz="340403", domicile="NAGANO"),
    "hara": dict(name="原 大樹", kana="ハラ ダイキ", dob="昭和62年1月9日", addr="〒500-0098 例阜県例阜市試験町一丁目9番",
                 tel="058-000-0109", email="daiki.hara@example.com", sex="男", sur="HARA", given="DAIKI",
                 dob_en="09 JAN 1987", dob_mrz="870109", sex_en="M", pp_issue="25 SEP 2019", pp_expiry="25 SEP 2029",
                 exp_mrz="290925", domicile="GIFU"),
    "shimizu": dict(name="清水 隆之", kana="シミズ タカユキ", dob="昭和47年3月25日", dob_era="昭和47年3月25日",
                    addr="〒920-0098 例川県例沢市見本町二丁目20番", addr_card="例川県例沢市見本町二丁目20番",
                    tel="076-000-0325", email="takayuki.shimizu@example.com", sex="男", mnc_valid="2031年03月25日",
                    mayor="例沢市長"),
}


def licence_no(first11: str) -> str:
    """A 12-digit licence number that does NOT pass the individual-number check."""
    return invalid_12(first11)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    P = PEOPLE

    # ---------------------------------------------------------------- o01 松尾 (layout A)
    form_a("o01_form.pdf", P["matsuo"], {"notify_purpose", "disclose"}, {"drivers_license", "resident_record"},
           target="御社通販サイトの会員情報、購入履歴及びお問い合わせ履歴")
    licence("o01_licence.jpg", 101, P["matsuo"], licence_no("53012840197"), "例浜県公安委員会", angle=-2.4, quality=61)
    scanned_resident_record("o01_juminhyo_scan.pdf", 102, dict(
        city="例浜市中区", addr="例浜県例浜市中区見本通四丁目6番2号", name="松尾 健太", kana="マツオ ケンタ",
        dob="昭和54年11月4日", sex="男", prev="例川県見本市試験町1-1", mayor="例浜市中区長　見本 一男"))

    # ---------------------------------------------------------------- o02 小野寺 (layout B)
    form_b("o02_form.pdf", P["onodera"], {"suspend", "stop_third_party"}, {"passport", "resident_record"},
           target="貴社ポイントサービスの会員情報（氏名・住所・購買履歴）",
           reason="退会済みであり、今後の利用及び提携先への提供を望まないため")
    passport("o02_passport.jpg", 201, P["onodera"], "TZ4481207", angle=1.3, quality=69, long_hair=True)
    resident_record("o02_juminhyo.pdf", "例台市青葉区", "例台市青葉区長　見本 二郎",
                    [dict(name="小野寺 美咲", kana="オノデラ ミサキ", dob="平成4年2月17日", sex="女", rel="世帯主")],
                    "例城県例台市青葉区試験町二丁目4番", "令和3年4月1日", "例城県例石巻市見本町8-8",
                    "令和７年５月２７日", serial="第02914号")

    # ---------------------------------------------------------------- o03 石川 (layout C)
    form_c("o03_form.pdf", P["ishikawa"], {"disclose_third_party_records"}, {"health_insurance_card", "resident_record"},
           target="貴社が第三者に提供した私の個人データに係る記録（提供先・提供日）")
    insurance_card("o03_insurance.jpg", 301, P["ishikawa"])
    resident_record("o03_juminhyo.pdf", "例古屋市中区", "例古屋市中区長　見本 三郎",
                    [dict(name="石川 大輔", kana="イシカワ ダイスケ", dob="昭和63年7月9日", sex="男", rel="世帯主")],
                    "例知県例古屋市中区見本丸三丁目1番8号", "平成31年2月1日", "例知県例崎市試験町3-3",
                    "令和７年５月２６日", number_field="省略", serial="第11052号")

    # ---------------------------------------------------------------- o04 NGUYEN (layout D)
    form_d("o04_form.pdf", P["nguyen"], {"disclose", "correct"}, {"residence_card", "resident_record"},
           target="My member account data (会員登録情報) and order history",
           correction="Correction: my family name is registered as \"NGUEN\"; correct it to \"NGUYEN\".")
    residence_card("o04_zairyu.png", 401, P["nguyen"])
    resident_record("o04_juminhyo.pdf", "例いたま市浦和区", "例いたま市浦和区長　見本 四郎",
                    [dict(name="NGUYEN THI LAN", kana="グエン ティ ラン", dob="1995年7月21日", sex="女", rel="世帯主")],
                    "例玉県例いたま市浦和区試験台2-14-7 サンプルハイツ203", "令和4年8月1日", "国外",
                    "令和７年５月２８日", serial="第07731号",
                    foreign=dict(nationality="ベトナム", status="技術・人文知識・国際業務", period="5年　満了日 2029年7月14日",
                                 card="UH48213076KA"))

    # ---------------------------------------------------------------- o05 村上 (layout E; licence no. passes the check)
    form_e("o05_form.pdf", P["murakami"], {"correct", "suspend"}, {"drivers_license", "resident_record"},
           target="登録住所（旧住所のまま）の訂正、及びダイレクトメール送付への利用の停止",
           note="本人確認書類：運転免許証（免許証番号 " + LICENCE_VALID_CHECK + "）")
    licence("o05_licence.jpg", 501, P["murakami"], LICENCE_VALID_CHECK, "例島県公安委員会", band=(218, 182, 80),
            angle=2.0, quality=73)
    resident_record("o05_juminhyo.pdf", "例島市中区", "例島市中区長　見本 五郎",
                    [dict(name="村上 直樹", kana="ムラカミ ナオキ", dob="昭和49年5月30日", sex="男", rel="世帯主")],
                    "例島県例島市中区見本町一丁目7番3号", "令和6年11月5日", "例島県例島市南区試験町2-5",
                    "令和７年５月２９日", serial="第05530号")

    # ---------------------------------------------------------------- o06 岡本 (layout F, My Number in the 住民票)
    form_f("o06_form.pdf", P["okamoto"], [
        "私は、貴社に対し、個人情報の保護に関する法律第３３条に基づき、貴社が保有する私の保有個人データの開示を請求します。",
        "対象は、貴社オンラインショップの会員情報及び購入履歴です。開示は電磁的記録でお願いします。",
    ], ["本人確認書類（旅券の写し）", "住民票の写し"])
    passport("o06_passport.jpg", 601, P["okamoto"], "TR9017754", angle=-1.1, quality=63, long_hair=True)
    n = MY_NUMBER_O06
    resident_record("o06_juminhyo.pdf", "例山市北区", "例山市北区長　見本 六郎",
                    [dict(name="岡本 由美子", kana="オカモト ユミコ", dob="昭和61年12月1日", sex="女", rel="世帯主",
                          number=fw(n[:4]) + "　" + fw(n[4:8]) + "　" + fw(n[8:]))],
                    "例山県例山市北区試験町4丁目9-2", "平成29年4月1日", "例山県例敷市見本町1-2-3",
                    "令和７年５月２８日", serial="第03307号")

    # ---------------------------------------------------------------- o07 林 (multi-document PDF)
    form_b("o07_form.pdf", P["hayashi"], {"disclose"}, {"drivers_license", "resident_record"},
           target="貴社に登録されている私の顧客情報一式")
    lic = licence("o07_licence_tmp.jpg", 701, P["hayashi"], licence_no("46820931157"), "例本県公安委員会", angle=-0.6)
    (OUT / "o07_licence_tmp.jpg").unlink()
    multi_document_pdf("o07_licence_and_juminhyo.pdf", lic, dict(
        city="例本市中央区", addr="例本県例本市中央区見本町二丁目2番22号", name="林 浩二", kana="ハヤシ コウジ",
        dob="昭和45年3月3日", sex="男", mayor="例本市中央区長　見本 七郎"))

    # ---------------------------------------------------------------- o10 高橋 (minor, legal representative)
    form_c("o10_form.pdf", P["takahashi_yota"], {"disclose"},
           {"passport", "resident_record", "family_register", "drivers_license"},
           agent=dict(name="高橋 真理子", addr="例浜県例浜市港北区見本台五丁目8番1号",
                      tel="090-0000-0622 / mariko.takahashi@example.com", type="minor_legal_rep"),
           target="貴社の学習アプリに登録された子（高橋陽太）のアカウント情報及び利用履歴")
    passport("o10_child_passport.jpg", 1001, P["takahashi_yota"], "TK2290518", angle=-1.8, quality=65)
    licence("o10_mother_licence.jpg", 1002, P["takahashi_mariko"], licence_no("45122307364"), "例浜県公安委員会",
            band=(120, 180, 110), angle=1.4, quality=60, long_hair=True)
    family_register("o10_koseki.pdf")
    resident_record("o10_juminhyo.pdf", "例浜市港北区", "例浜市港北区長　見本 太郎",
                    [dict(name="高橋 健一", kana="タカハシ ケンイチ", dob="昭和55年10月3日", sex="男", rel="世帯主"),
                     dict(name="高橋 真理子", kana="タカハシ マリコ", dob="昭和58年6月22日", sex="女", rel="妻"),
                     dict(name="高橋 陽太", kana="タカハシ ヨウタ", dob="平成21年8月5日", sex="男", rel="子")],
                    "例浜県例浜市港北区見本台五丁目8番1号", "平成20年4月12日", "例浜県例浜市中区試験町2-2",
                    "令和７年５月２３日", serial="第00318号")

    # ---------------------------------------------------------------- o11 中川 (adult guardian)
    form_a("o11_form.pdf", P["nakagawa_tome"], {"suspend"},
           {"my_number_card", "resident_record", "guardianship_ruling", "drivers_license"},
           agent=dict(name="中川 誠", addr="例浜県例浜市青葉区試験台一丁目5番9号",
                      tel="090-0000-0919", type="adult_guardian"),
           target="本人宛ての電話勧誘・ダイレクトメールに用いている顧客情報", method="書面")
    my_number_card("o11_ward_card.jpg", 1101, P["nakagawa_tome"], angle=-2.6, quality=63, long_hair=True)
    licence("o11_guardian_licence.jpg", 1102, P["nakagawa_makoto"], licence_no("45190611827"), "例浜県公安委員会",
            angle=3.0, quality=67)
    guardianship_certificate("o11_touki.pdf")
    resident_record("o11_juminhyo.pdf", "例浜市緑区", "例浜市緑区長　見本 八郎",
                    [dict(name="中川 トメ", kana="ナカガワ トメ", dob="昭和14年2月11日", sex="女", rel="世帯主")],
                    "例浜県例浜市緑区見本町三丁目2番1号", "昭和48年5月1日", "例浜県例浜市南区見本町5-5",
                    "令和７年５月２１日", serial="第01139号")

    # ---------------------------------------------------------------- o12 佐々木 (lawyer)
    lawyer_letter("o12_letter.pdf")
    power_of_attorney("o12_ininjo.pdf", dict(name="木村 恵", addr="例浜県例浜市西区試験町七丁目1番20号", dob="平成2年3月14日"),
                      dict(name="佐々木 隆", addr="例浜県例浜市中区見本通二丁目3番4号 佐々木総合法律事務所"),
                      ["株式会社クロス・プロップワークスに対する保有個人データの開示請求に関する一切の件",
                       "同社に対する第三者提供記録の開示請求に関する一切の件"], "令和７年５月２７日", "弁護士　")
    lawyer_certificate("o12_shikaku.pdf")
    licence("o12_client_licence.jpg", 1201, P["kimura"], licence_no("45200418893"), "例浜県公安委員会",
            angle=-1.7, quality=63, long_hair=True)
    licence("o12_lawyer_licence.jpg", 1202, P["sasaki"], licence_no("45961022471"), "例浜県公安委員会",
            band=(218, 182, 80), angle=2.3, quality=71)
    resident_record("o12_juminhyo.pdf", "例浜市西区", "例浜市西区長　見本 九郎",
                    [dict(name="木村 恵", kana="キムラ メグミ", dob="平成2年3月14日", sex="女", rel="世帯主")],
                    "例浜県例浜市西区試験町七丁目1番20号", "令和5年3月20日", "例川県見本市試験町7-7",
                    "令和７年５月２６日", serial="第04421号")

    # ---------------------------------------------------------------- o13 吉田 for 山口 (relationship not stated)
    form_b("o13_form.pdf", P["yamaguchi"], {"disclose"}, {"drivers_license", "resident_record", "my_number_card"},
           agent=dict(name="吉田 さくら", addr="例岡県例岡市駿河区試験台三丁目3番3号", tel="070-0000-0401"),
           target="貴社の会員情報")
    licence("o13_principal_licence.jpg", 1301, P["yamaguchi"], licence_no("49750811026"), "例岡県公安委員会",
            band=(120, 180, 110), angle=-2.9, quality=64)
    my_number_card("o13_agent_card.jpg", 1302, P["yoshida"], angle=1.2, quality=70, long_hair=True)
    resident_record("o13_juminhyo.pdf", "例岡市葵区", "例岡市葵区長　見本 十郎",
                    [dict(name="山口 和夫", kana="ヤマグチ カズオ", dob="昭和30年4月8日", sex="男", rel="世帯主")],
                    "例岡県例岡市葵区見本町九丁目9番", "昭和62年4月1日", "例岡県例松市見本町1-9",
                    "令和７年５月２７日", serial="第09901号")

    # ---------------------------------------------------------------- o14 井上 (voluntary agent without own ID)
    form_e("o14_form.pdf", P["inoue_haru"], {"notify_purpose"},
           {"my_number_card", "resident_record", "power_of_attorney", "seal_certificate"},
           agent=dict(name="井上 翔", addr="東京都例谷区試験坂二丁目2番2号", tel="080-0000-0125 sho.inoue@example.com",
                      type="voluntary"),
           target="祖母（井上ハル）の会員情報の利用目的")
    my_number_card("o14_principal_card.jpg", 1401, P["inoue_haru"], angle=-1.5, quality=66, long_hair=True)
    power_of_attorney("o14_ininjo.pdf", P["inoue_haru"] | dict(addr="例馬県例橋市見本町一丁目11番"),
                      dict(name="井上 翔", addr="東京都例谷区試験坂二丁目2番2号"),
                      ["株式会社クロス・プロップワークスに対する私の個人情報の利用目的の通知の求めに関すること"],
                      "令和７年５月２５日")
    seal_certificate("o14_inkan.pdf", P["inoue_haru"] | dict(addr="例馬県例橋市見本町一丁目11番"), "例橋市長　見本 花子",
                     "令和７年５月２６日", "00481920")
    resident_record("o14_juminhyo.pdf", "例橋市", "例橋市長　見本 花子",
                    [dict(name="井上 ハル", kana="イノウエ ハル", dob="昭和12年10月20日", sex="女", rel="世帯主")],
                    "例馬県例橋市見本町一丁目11番", "昭和40年3月3日", "例馬県例崎市試験町4-1",
                    "令和７年５月２６日", serial="第00733号")

    # ---------------------------------------------------------------- o15 西田 (follow-up by a new mail with the tag)
    form_e("o15_form.pdf", P["nishida"], {"disclose"}, {"passport", "resident_record"},
           target="貴社旅行予約サービスの予約履歴及び会員情報")
    resident_record("o15_juminhyo.pdf", "例都市下京区", "例都市下京区長　見本 一子",
                    [dict(name="西田 優子", kana="ニシダ ユウコ", dob="昭和57年9月27日", sex="女", rel="世帯主")],
                    "例都府例都市下京区見本町581番地", "令和元年7月1日", "例阪府例阪市北区試験町9-9",
                    "令和７年５月２９日", serial="第06622号")
    passport("o15_passport.jpg", 1501, P["nishida"], "TS7730462", angle=-2.1, quality=60, long_hair=True)

    # ---------------------------------------------------------------- o16 加藤 (tag from another address)
    form_b("o16_form.pdf", P["kato"], {"disclose"}, {"drivers_license", "resident_record"},
           target="貴社ガス料金の契約者情報")
    licence("o16_licence.jpg", 1601, P["kato"], licence_no("40040116523"), "例馬県公安委員会", angle=1.8, quality=62)
    resident_record("o16_juminhyo.pdf", "例崎市", "例崎市長　見本 二子",
                    [dict(name="加藤 学", kana="カトウ マナブ", dob="昭和50年1月16日", sex="男", rel="世帯主"),
                     dict(name="加藤 恵子", kana="カトウ ケイコ", dob="昭和52年5月5日", sex="女", rel="妻")],
                    "例馬県例崎市見本町四丁目4番4号", "平成26年4月1日", "例馬県例橋市試験町2-8",
                    "令和７年５月３０日", serial="第08816号")

    # ---------------------------------------------------------------- o17 森 (duplicates)
    resident_record("o17_juminhyo.pdf", "例いたま市大宮区", "例いたま市大宮区長　見本 三子",
                    [dict(name="森 和也", kana="モリ カズヤ", dob="平成元年6月6日", sex="男", rel="世帯主")],
                    "例玉県例いたま市大宮区見本町6-6-6", "平成30年6月6日", "東京都例島区試験町1-6",
                    "令和７年５月２９日", serial="第06606号")

    # ---------------------------------------------------------------- o19 坂井 (corrupt PDF) / o19b (encrypted PDF)
    form_e("o19_form.pdf", P["sakai"], {"disclose"}, {"passport", "resident_record"},
           target="貴社フィットネスクラブの会員情報及び入退館記録")
    passport("o19_passport.jpg", 1901, P["sakai"], "TH6152093", angle=2.4, quality=60)
    resident_record("o19_juminhyo.pdf", "例岡市博多区", "例岡市博多区長　見本 四子",
                    [dict(name="坂井 亮", kana="サカイ リョウ", dob="平成5年10月10日", sex="男", rel="世帯主")],
                    "例岡県例岡市博多区試験浜五丁目5番", "令和2年10月10日", "例賀県例賀市見本町5-5",
                    "令和７年５月２８日", serial="第10101号")
    corrupt_pdf("o19_corrupt.pdf")
    pixel_bomb_png("o27_huge.png")
    encrypted_pdf("o19b_locked.pdf", dict(name="藤田 加奈", addr="例良県例良市見本町三丁目3番", dob="平成11年9月9日"))

    # ---------------------------------------------------------------- o20 池田 (staff: partial payment …)
    form_b("o20_form.pdf", P["ikeda"], {"notify_purpose", "disclose"}, {"drivers_license", "resident_record"},
           target="貴社の保険見積りサービスに入力した私の情報")
    licence("o20_licence.jpg", 2001, P["ikeda"], licence_no("10840808335"), "例海道公安委員会", angle=-3.3, quality=68,
            long_hair=True)
    resident_record("o20_juminhyo.pdf", "例幌市中央区", "例幌市中央区長　見本 五子",
                    [dict(name="池田 涼子", kana="イケダ リョウコ", dob="昭和59年8月8日", sex="女", rel="世帯主")],
                    "例海道例幌市中央区見本条西八丁目8番", "平成27年8月8日", "例海道例館市試験町8-1",
                    "令和７年５月２９日", serial="第08080号")

    # ---------------------------------------------------------------- o21 清水 (staff: wrong states)
    form_e("o21_form.pdf", P["shimizu"], {"correct"}, {"my_number_card", "resident_record"},
           target="登録されている勤務先電話番号の訂正")
    my_number_card("o21_card.jpg", 2101, P["shimizu"], angle=2.7, quality=61)
    resident_record("o21_juminhyo.pdf", "例沢市", "例沢市長　見本 六子",
                    [dict(name="清水 隆之", kana="シミズ タカユキ", dob="昭和47年3月25日", sex="男", rel="世帯主")],
                    "例川県例沢市見本町二丁目20番", "平成22年3月25日", "例山県例山市試験町3-25",
                    "令和７年５月２７日", serial="第03250号")

    # ---------------------------------------------------------------- o23 渡辺 (scanned 住民票 with a number, EXIF photo)
    form_b("o23_form.pdf", P["watanabe"], {"disclose"}, {"passport", "resident_record"},
           target="貴社カード会員としての登録情報及び利用明細")
    passport("o23_passport_exif.jpg", 2301, P["watanabe"], "TN5508316", angle=0.9, quality=63, exif_orientation=6)
    n = MY_NUMBER_O23
    scanned_resident_record("o23_juminhyo_scan.pdf", 2302, dict(
        city="例葉市中央区", addr="例葉県例葉市中央区試験町二丁目12番", name="渡辺 真一", kana="ワタナベ シンイチ",
        dob="昭和56年4月2日", sex="男", prev="東京都例東区見本町3-3-3", mayor="例葉市中央区長　見本 七子",
        number=n, serial="第02302号", issued="令和７年５月２７日"))

    # ---------------------------------------------------------------- o25 小林 (資格確認書)
    form_e("o25_form.pdf", P["kobayashi"], {"disclose"}, {"health_insurance_card", "resident_record"},
           target="貴社ネットスーパーの会員情報及び配送先情報")
    eligibility_certificate("o25_shikaku_kakunin.jpg", 2501, P["kobayashi"] | dict(dob_era="平成3年11月22日"))
    resident_record("o25_juminhyo.pdf", "例都宮市", "例都宮市長　見本 八子",
                    [dict(name="小林 亜希子", kana="コバヤシ アキコ", dob="平成3年11月22日", sex="女", rel="世帯主")],
                    "例木県例都宮市見本町十丁目10番", "令和4年4月1日", "例木県例山市試験町1-22",
                    "令和７年５月３０日", serial="第11220号")

    # ---------------------------------------------------------------- o29 松本 (everything in one PDF)
    pp = passport("o29_passport_tmp.jpg", 2901, P["matsumoto"], "TR3318064", angle=-0.8, quality=60, long_hair=True)
    (OUT / "o29_passport_tmp.jpg").unlink()
    d = Doc("o29_all_in_one.pdf", "")
    form_f("", P["matsumoto"], [
        "私は、貴社に対し、貴社が保有する私の保有個人データの開示を請求します。",
        "対象は、貴社の動画配信サービスの会員情報及び視聴履歴です。",
    ], ["旅券の写し", "住民票の写し"], doc=d)
    d.image(pp, 25, 30, 160)
    d.page()
    resident_record("", "例本市", "例本市長　見本 九子",
                    [dict(name="松本 葵", kana="マツモト アオイ", dob="平成10年6月18日", sex="女", rel="世帯主")],
                    "例野県例本市見本町五丁目5番5号", "令和3年4月1日", "例野県例野市試験町6-18",
                    "令和７年５月２８日", serial="第06180号", doc=d)
    d.c.save()

    # ---------------------------------------------------------------- o30 原 (sideways photo without EXIF)
    passport("o30_passport_sideways.jpg", 3001, P["hara"], "TK9920417", angle=1.2, quality=66, exif_orientation=-1)

    total = 0
    for f in sorted(OUT.iterdir()):
        total += f.stat().st_size
        if f.stat().st_size > 150_000:
            print(f"WARNING: {f.name} is {f.stat().st_size} bytes")
    print(f"{len(list(OUT.iterdir()))} files, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
