"""Reading request forms: our AcroForm exactly, other layouts from their text layer.

The sample forms (two layouts) come from the shared acceptance samples; the other layouts
are drawn here with reportlab into real text-layer PDFs (fonts embedded) and read back with
pdfplumber, so the reader sees what it will see in production: extracted text, not the
strings we wrote.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import RequestFacts
from config.form_definition import FIELDS
from parsers.request_form import facts_from_fields, facts_from_text

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "samples" / "fixtures"
GOTHIC = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
SYMBOLS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

needs_samples = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"shared acceptance samples not found at {FIXTURES}")
needs_fonts = pytest.mark.skipif(
    not (GOTHIC.is_file() and SYMBOLS.is_file()), reason="IPAex Gothic or DejaVu Sans font not installed"
)


def pdf_text(data: bytes) -> str:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


# =========================================================================== sample forms


@dataclass(frozen=True)
class Expect:
    types: set[str]
    name: str
    agent_type: str | None = None
    agent_name: str | None = None
    email: str | None = None
    method: str | None = None


SAMPLES = {
    "s01_request.pdf": Expect({"disclose"}, "青木 陽子", email="yoko.aoki@example.com"),
    "s02_request.pdf": Expect({"notify_purpose"}, "坂本 修", email="osamu.sakamoto@example.net"),
    "s04_request.pdf": Expect({"correct"}, "遠藤 勝", "voluntary", "藤井 里奈"),
    "s07_request.pdf": Expect({"disclose"}, "太田 沙織", email="saori.ota@example.com"),
    "s08_request.pdf": Expect({"disclose"}, "原田 哲也", email="tetsuya.harada@example.org"),
}


def check(facts: RequestFacts | None, want: Expect) -> None:
    assert facts is not None, "not recognised as a request form"
    assert facts.source == "form"
    assert facts.request_types == frozenset(want.types)
    assert facts.requester_name == want.name
    assert facts.agent_type == want.agent_type
    assert facts.agent_name == want.agent_name
    assert facts.agent_present == bool(want.agent_type or want.agent_name)
    if want.email is not None:
        assert facts.requester_email == want.email
    assert facts.disclosure_method == want.method


@needs_samples
@pytest.mark.parametrize("filename", sorted(SAMPLES))
def test_sample_forms(filename: str) -> None:
    check(facts_from_text(pdf_text((FIXTURES / filename).read_bytes())), SAMPLES[filename])


@needs_samples
@pytest.mark.parametrize(
    "filename",
    ["s04_letter_of_attorney.pdf", "s04_seal_cert.pdf", "s01_residence_record.pdf", "s07_record_with_number.pdf"],
)
def test_other_sample_documents_are_not_forms(filename: str) -> None:
    assert facts_from_text(pdf_text((FIXTURES / filename).read_bytes())) is None


@needs_samples
def test_sample_agent_phone_is_not_the_principals() -> None:
    facts = facts_from_text(pdf_text((FIXTURES / "s04_request.pdf").read_bytes()))
    assert facts is not None
    assert facts.requester_email is None  # メール： is empty; the agent's address is under 代理人
    assert facts.requester_phone == "028-000-0707"


# =========================================================================== drawn layouts

Row = Sequence[tuple[float, str]]  # (x in points, text) pieces of one printed row


def draw_form(rows: Sequence[Row], grid: bool = False) -> bytes:
    """A one-page text-layer PDF: each row's pieces at their x, rows 22 pt apart.

    Japanese is set in IPAex Gothic and the check glyphs IPAex lacks (☑ ☐ ✔) in DejaVu
    Sans, both embedded; `grid` draws table lines between rows and pieces.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("TestGothic", str(GOTHIC)))
    pdfmetrics.registerFont(TTFont("TestSymbols", str(SYMBOLS)))
    gothic = pdfmetrics.getFont("TestGothic").face
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    y = A4[1] - 50
    for row in rows:
        for x, text in row:
            draw_text(c, x, y, text, gothic)
        if grid:
            c.line(40, y - 6, A4[0] - 40, y - 6)
            for x, _ in row[1:]:
                c.line(x - 4, y - 6, x - 4, y + 16)
        y -= 22
    c.save()
    return buf.getvalue()


def draw_text(c: object, x: float, y: float, text: str, gothic: object) -> None:
    """Draw `text` in runs, each in the first font that has its glyphs."""
    from reportlab.pdfbase import pdfmetrics

    size = 10
    runs: list[tuple[str, str]] = []
    for ch in text:
        font = "TestGothic" if ord(ch) in gothic.charToGlyph or ch == " " else "TestSymbols"  # type: ignore[attr-defined]
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + ch)
        else:
            runs.append((font, ch))
    for font, run in runs:
        c.setFont(font, size)  # type: ignore[attr-defined]
        c.drawString(x, y, run)  # type: ignore[attr-defined]
        x += pdfmetrics.stringWidth(run, font, size)


TABLE_SQUARES: list[Row] = [
    [(200, "保有個人データ開示等請求書")],
    [(40, "■ご請求者（ご本人）について")],
    [(40, "お名前"), (150, "山田 太郎 様")],
    [(40, "フリガナ"), (150, "ヤマダ タロウ")],
    [(40, "メールアドレス"), (150, "taro.yamada@example.jp")],
    [(40, "電話番号"), (150, "03-1234-5678")],
    [(40, "■ご請求内容")],
    [(40, "□利用目的の通知"), (200, "■開示"), (320, "□訂正等")],
    [(40, "■利用停止等"), (200, "□第三者提供の停止"), (320, "□第三者提供記録の開示")],
    [(40, "■開示の方法"), (150, "■書面（郵送）"), (280, "□電磁的記録"), (400, "□その他")],
    [(40, "■代理人による請求の場合")],
    [(40, "代理人氏名"), (150, "")],
    [(40, "代理人区分"), (150, "□未成年者の法定代理人"), (300, "□成年後見人")],
    [(150, "□任意代理人"), (300, "□弁護士等")],
    [(40, "■添付書類"), (150, "■運転免許証"), (260, "■住民票の写し"), (380, "□委任状")],
]

BALLOT_MINOR: list[Row] = [
    [(180, "個人情報の開示等の請求書")],
    [(40, "1. ご本人")],
    [(60, "氏 名："), (120, "佐藤 花子")],
    [(60, "住 所："), (120, "大阪府例阪市北区見本町1-2-3")],
    [(60, "電 話："), (120, "06-0000-1111")],
    [(40, "2. 請求の種類（該当するものにチェックしてください）")],
    [(60, "☐ 利用目的の通知"), (260, "☑ 開示")],
    [(60, "☐ 訂正・追加・削除"), (260, "☐ 利用停止・消去")],
    [(60, "☐ 第三者提供の停止"), (260, "☑ 第三者提供記録の開示")],
    [(40, "3. 代理人（代理人が請求する場合のみ）")],
    [(60, "氏 名："), (120, "佐藤 一郎")],
    [(60, "連絡先："), (120, "ichiro.sato@example.com")],
    [(60, "本人との関係："), (140, "☑ 親権者（未成年者の法定代理人）"), (330, "☐ 成年後見人")],
    [(140, "☐ 任意代理人"), (330, "☐ 弁護士・司法書士")],
    [(40, "4. 開示の方法："), (140, "☐ 書面"), (220, "☑ 電磁的記録")],
    [(40, "5. 添付書類：☑ 戸籍謄本 ☑ 健康保険被保険者証")],
]

TICKS_AFTER: list[Row] = [
    [(200, "開示等請求書")],
    [(40, "申請者")],
    [(60, "氏名"), (160, "中村 美咲（ナカムラ ミサキ）")],
    [(60, "E-mail"), (160, "misaki@example.net")],
    [(40, "請求項目"), (400, "選択欄")],
    [(60, "利用目的の通知")],
    [(60, "保有個人データの開示"), (400, "✓")],
    [(60, "保有個人データの訂正・追加・削除")],
    [(60, "保有個人データの利用停止・消去"), (400, "✔")],
    [(60, "第三者への提供の停止")],
    [(60, "第三者提供記録の開示")],
    [(40, "代理人欄")],
    [(60, "氏名"), (160, "")],
]

CIRCLED: list[Row] = [
    [(160, "個人情報の開示等の求めに関する申出書")],
    [(40, "申出人")],
    [(60, "お名前：高橋 健一")],
    [(60, "連絡先：080-1111-2222 / kenichi.takahashi@example.com")],
    [(40, "求めの内容")],
    [(60, "（○）利用目的の通知"), (220, "（　）開示"), (340, "（○）訂正等")],
    [(60, "（　）利用停止等"), (220, "（　）第三者提供の停止")],
    [(40, "代理人")],
    [(60, "氏名：")],
]

CIRCLE_TYPED: list[Row] = [
    [(200, "個人情報開示等請求書")],
    [(40, "該当する項目に○をつけてください。")],
    [(40, "請求者 氏名"), (160, "伊藤 裕子")],
    [(40, "請求内容")],
    [(60, "利用目的の通知"), (200, "○ 保有個人データの開示"), (380, "訂正・追加・削除")],
    [(60, "利用停止・消去"), (200, "第三者提供の停止")],
]

ENGLISH: list[Row] = [
    [(160, "Personal Information Request Form")],
    [(40, "Requester (data subject)")],
    [(60, "Full name: John Smith")],
    [(60, "Email: john.smith@example.com"), (320, "Phone: +81-90-1234-5678")],
    [(40, "Type of request (tick all that apply)")],
    [(60, "[x] Notification of the purpose of use"), (320, "[ ] Disclosure")],
    [(60, "[ ] Correction, addition or deletion"), (320, "[x] Suspension of use or erasure")],
    [(60, "[ ] Cessation of provision to third parties")],
    [(60, "[ ] Disclosure of third-party provision records")],
    [(40, "Agent (only if applicable)")],
    [(60, "Name of agent: Mary Smith")],
    [(60, "Relationship to the principal: [ ] Legal representative of a minor [ ] Adult guardian")],
    [(60, "[x] Authorized agent [ ] Attorney")],
    [(40, "Method of disclosure: [x] Electronic [ ] Paper")],
]

OCR_NOISE: list[Row] = [
    [(200, "開 示 等 請 求 書")],
    [(40, "請 求 者 氏 名 ： 小林 誠")],
    [(40, "メ ー ル ： ｍａｋｏｔｏ＠ｅｘａｍｐｌｅ．ｊｐ")],
    [(40, "請 求 の 種 類")],
    [(60, "〇 利 用 目 的 の 通 知　 ◉ 開 示　 〇 訂 正 等")],
    [(60, "〇 利 用 停 止 等　 ◉ 第 三 者 提 供 の 停 止")],
    [(40, "代 理 人 氏 名 ：")],
    [(40, "代 理 人 の 種 類 ： 〇 法 定 代 理 人 　〇 任 意 代 理 人")],
]

PROFESSIONAL: list[Row] = [
    [(200, "開示等請求書")],
    [(40, "本人氏名"), (140, "渡辺 直樹")],
    [(40, "請求の種類"), (140, "利用目的の通知"), (260, "レ 開示"), (330, "訂正等"), (400, "レ 利用停止等")],
    [(40, "代理人氏名"), (140, "木村 法子")],
    [(40, "代理人の資格"), (140, "法定代理人"), (240, "任意代理人"), (340, "レ 弁護士")],
    [(40, "添付書類"), (140, "レ 委任状"), (240, "レ 資格を証明する書類")],
]

LAYOUTS = {
    "table_squares": (
        TABLE_SQUARES,
        True,
        Expect({"disclose", "suspend"}, "山田 太郎", email="taro.yamada@example.jp", method="paper"),
    ),
    "ballot_minor": (
        BALLOT_MINOR,
        False,
        Expect(
            {"disclose", "disclose_third_party_records"},
            "佐藤 花子",
            "minor_legal_rep",
            "佐藤 一郎",
            method="electronic",
        ),
    ),
    "ticks_after": (TICKS_AFTER, True, Expect({"disclose", "suspend"}, "中村 美咲", email="misaki@example.net")),
    "circled": (
        CIRCLED,
        False,
        Expect({"notify_purpose", "correct"}, "高橋 健一", email="kenichi.takahashi@example.com"),
    ),
    "circle_typed": (CIRCLE_TYPED, False, Expect({"disclose"}, "伊藤 裕子")),
    "english": (
        ENGLISH,
        False,
        Expect(
            {"notify_purpose", "suspend"},
            "John Smith",
            "voluntary",
            "Mary Smith",
            email="john.smith@example.com",
            method="electronic",
        ),
    ),
    "ocr_noise": (OCR_NOISE, False, Expect({"disclose", "stop_third_party"}, "小林 誠", email="makoto@example.jp")),
    "professional": (PROFESSIONAL, True, Expect({"disclose", "suspend"}, "渡辺 直樹", "professional", "木村 法子")),
}


@needs_fonts
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_drawn_layouts(layout: str) -> None:
    rows, grid, want = LAYOUTS[layout]
    text = pdf_text(draw_form(rows, grid))
    check(facts_from_text(text), want)


@needs_fonts
def test_drawn_english_phone_and_ballot_contacts() -> None:
    english = facts_from_text(pdf_text(draw_form(ENGLISH)))
    assert english is not None and english.requester_phone == "+81-90-1234-5678"
    ballot = facts_from_text(pdf_text(draw_form(BALLOT_MINOR)))
    assert ballot is not None
    assert ballot.requester_phone == "06-0000-1111"
    assert ballot.requester_email is None  # the address given is the agent's


@needs_fonts
def test_blank_form_is_a_form_with_nothing_asked() -> None:
    blank = [[(x, t.replace("■", "□").replace("■", "□")) for x, t in row] for row in TABLE_SQUARES[:11]]
    blank[2] = [(40, "お名前"), (150, "")]
    facts = facts_from_text(pdf_text(draw_form(blank, True)))
    assert facts is not None
    assert facts.request_types == frozenset()
    assert facts.requester_name is None


# =========================================================================== text-level cases

ALL_OPEN_CIRCLES = """個人情報の開示等請求書
該当する項目の「○」を「●」に塗りつぶしてください。
請求者（ご本人）
請求者氏名：
請求の種類
○ 利用目的の通知 ○ 保有個人データの開示
○ 訂正等（訂正・追加・削除） ○ 利用停止等（利用停止・消去）
代理人の場合
代理人氏名：
○ 法定代理人（未成年者） ○ 成年後見人
"""


def test_all_open_circles_mean_nothing_checked() -> None:
    facts = facts_from_text(ALL_OPEN_CIRCLES)
    assert facts == RequestFacts(source="form")


def test_records_do_not_also_count_as_disclose() -> None:
    text = ALL_OPEN_CIRCLES.replace("○ 利用停止等", "● 第三者提供記録の開示 ○ 利用停止等")
    facts = facts_from_text(text)
    assert facts is not None and facts.request_types == {"disclose_third_party_records"}


def test_typed_answers_instead_of_boxes() -> None:
    text = """開示等請求書
ご本人 氏名：松本 大輔
請求の種類：開示、利用停止
開示の方法：郵送
代理人
氏名：松本 恵子
ご本人との関係：成年後見人
"""
    facts = facts_from_text(text)
    assert facts is not None
    assert facts.request_types == {"disclose", "suspend"}
    assert (facts.requester_name, facts.agent_name) == ("松本 大輔", "松本 恵子")
    assert facts.agent_type == "adult_guardian"
    assert facts.disclosure_method == "paper"


def test_unmarked_checklist_after_a_colon_is_not_an_answer() -> None:
    text = """開示等請求書
氏名：松本 大輔
請求の種類：利用目的の通知 開示 訂正等 利用停止等 第三者提供の停止
"""
    facts = facts_from_text(text)
    assert facts is not None and facts.request_types == frozenset()


def test_form_written_as_a_letter() -> None:
    text = """個人情報開示請求書
株式会社例示 御中
私は、貴社が保有する私の個人情報について、利用目的の通知及び開示を請求します。
氏名 石井 浩二
住所 東京都例区見本1-1
"""
    facts = facts_from_text(text)
    assert facts is not None
    assert facts.request_types == {"notify_purpose", "disclose"}
    assert facts.requester_name == "石井 浩二"


def test_agent_name_only_still_means_an_agent() -> None:
    text = """開示等請求書
請求者氏名：森 彩
■ 開示
代理人氏名：森 拓也
"""
    facts = facts_from_text(text)
    assert facts is not None
    assert facts.agent_present and facts.agent_type is None and facts.agent_name == "森 拓也"
    assert facts.requester_name == "森 彩"


FILER = """個人情報開示請求書
請求者（代理人による請求の場合は代理人）
氏名：藤井 里奈
電話：080-0000-0000
本人（代理人による請求の場合のみ記入）
氏名：遠藤 勝
請求の種類 □利用目的の通知 ☑開示 □訂正等
代理権の種類 □法定代理人（親権者） ☑任意代理人
"""


def test_filer_section_is_the_agent_when_a_principal_section_names_another() -> None:
    facts = facts_from_text(FILER)
    assert facts is not None
    assert (facts.requester_name, facts.agent_name, facts.agent_type) == ("遠藤 勝", "藤井 里奈", "voluntary")
    assert facts.requester_phone is None  # the filer's phone is the agent's here


def test_filer_section_is_the_principal_when_alone() -> None:
    text = FILER.split("本人（")[0] + "請求の種類 ☑開示\n"
    facts = facts_from_text(text)
    assert facts is not None
    assert (facts.requester_name, facts.agent_name, facts.agent_present) == ("藤井 里奈", None, False)
    assert facts.requester_phone == "080-0000-0000"


def test_table_cells_after_section_headers() -> None:
    text = "開示等請求書\nご本人　　青木 陽子\n連絡先　　aoki@example.com\n請求の種類　■ 開示　□ 訂正\n代理人　　藤井 里奈\n"
    facts = facts_from_text(text)
    assert facts is not None
    assert (facts.requester_name, facts.agent_name) == ("青木 陽子", "藤井 里奈")
    assert facts.request_types == {"disclose"} and facts.requester_email == "aoki@example.com"


def test_two_columns_merged_into_one_line() -> None:
    text = (
        "開示等請求書\n氏名（自署） 青木 陽子 ● 保有個人データの開示 ○ 利用目的の通知\n"
        "メール aoki@example.com ○ 訂正等 ○ 利用停止等\n"
    )
    facts = facts_from_text(text)
    assert facts is not None
    assert facts.requester_name == "青木 陽子"
    assert facts.request_types == {"disclose"}


def test_english_typed_answers() -> None:
    text = """Data Subject Request Form
Name of data subject: Emma Brown
Email: emma@example.com
Type of request: Disclosure
Agent
Agent's name: Olivia Brown
Relationship: Parent (legal representative of a minor)
"""
    facts = facts_from_text(text)
    assert facts is not None
    assert (facts.requester_name, facts.requester_email) == ("Emma Brown", "emma@example.com")
    assert facts.request_types == {"disclose"}
    assert (facts.agent_type, facts.agent_name) == ("minor_legal_rep", "Olivia Brown")


def test_bracketed_legal_rep_kind_and_numbered_circles() -> None:
    text = "開示等請求書\nご本人氏名：佐藤 花子\n■ 開示\n代理人氏名：佐藤 一郎\n本人との関係： ■ 法定代理人（親権者） □ 任意代理人\n"
    facts = facts_from_text(text)
    assert facts is not None and facts.agent_type == "minor_legal_rep"
    circled = "個人情報開示等請求書\n請求者 氏名 田中 一\n請求内容（該当する番号を○で囲んでください）\n ○ 1.利用目的の通知 2.開示 3.訂正等\n"
    facts = facts_from_text(circled)
    assert facts is not None and facts.request_types == {"notify_purpose"}


def test_instruction_lines_do_not_open_sections() -> None:
    text = (
        "個人情報開示等請求書\n1．請求者（ご本人）\n代理人による請求の場合も、ご本人の情報をご記入ください。\n"
        "氏名 山田 太郎\nメールアドレス taro@example.jp\n請求の種類 ■開示 □訂正\n"
    )
    facts = facts_from_text(text)
    assert facts is not None
    assert (facts.requester_name, facts.requester_email, facts.agent_present) == ("山田 太郎", "taro@example.jp", False)


def test_our_own_blank_form_as_text_asks_nothing() -> None:
    """Our form printed blank: labels, options and instructions, but nothing chosen or filled."""
    try:
        from replies.form_pdf import build_request_form

        data = build_request_form(
            company_name="株式会社例示",
            window_name="個人情報窓口",
            window_address="info@example.jp",
            fees={"notify_purpose": 1000, "disclose": 1000, "disclose_third_party_records": 1000},
        )
    except Exception as exc:  # noqa: BLE001 - another module's form builder; skip if it cannot run here
        pytest.skip(f"our form cannot be drawn here: {exc}")
    facts = facts_from_text(pdf_text(data))
    assert facts == RequestFacts(source="form")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "委任状\n私は下記の者を代理人と定め、個人情報の開示の請求に関する権限を委任します。\n氏名 藤井 里奈",
        "住民票（写）\n氏名 青木 陽子\n住所 東京都",
        "委任状\n令和7年5月28日\n私は開示等請求書の提出に関する一切の権限を委任します。\n（代理人）\n氏 名 藤井 里奈",
        "お問い合わせありがとうございます。\n料金プランのご案内です。",
        "Invoice\nName: ACME\nTotal: 1,000 JPY",
    ],
)
def test_not_a_request_form(text: str) -> None:
    assert facts_from_text(text) is None


# =========================================================================== AcroForm


def acroform_pdf(values: dict[str, str], checked: set[str]) -> bytes:
    """Our form's fields drawn by reportlab, then typed into with pypdf as a viewer would."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setSubject("madoguchi-request-form/1")
    c.drawString(300, 800, "request form")
    y = 790.0
    for field in FIELDS:
        if field.kind == "text":
            c.acroForm.textfield(name=field.name, x=50, y=y, width=200, height=14)
        else:
            c.acroForm.checkbox(name=field.name, x=50, y=y, size=12, checked=field.name in checked)
        y -= 29
    c.save()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def fields_of(data: bytes) -> dict[str, str]:
    """What the attachment reader hands over: every field's /V as text, blanks for unset ones."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    fields = reader.get_fields() or {}
    out = {name: str(f.get("/V") or "") for name, f in fields.items()}
    out.update({k: v or "" for k, v in reader.get_form_text_fields().items()})
    return out


def test_acroform_round_trip() -> None:
    data = acroform_pdf(
        {
            "requester_name": "山田 太郎",
            "requester_email": "taro@example.jp",
            "requester_phone": "03-1111-2222",
            "agent_name": "山田　花子",
        },
        {"type_disclose", "type_disclose_third_party_records", "method_paper", "agent_minor_legal_rep"},
    )
    fields = fields_of(data)
    assert fields["type_disclose"] == "/Yes" and fields["type_correct"] == "/Off"
    facts = facts_from_fields(fields)
    assert facts == RequestFacts(
        request_types=frozenset({"disclose", "disclose_third_party_records"}),
        requester_name="山田 太郎",
        requester_email="taro@example.jp",
        requester_phone="03-1111-2222",
        agent_present=True,
        agent_type="minor_legal_rep",
        agent_name="山田 花子",
        disclosure_method="paper",
        source="form",
    )


def test_acroform_without_agent() -> None:
    facts = facts_from_fields(fields_of(acroform_pdf({"requester_name": "青木 陽子"}, {"type_notify_purpose"})))
    assert facts is not None
    assert facts.request_types == {"notify_purpose"}
    assert not facts.agent_present and facts.agent_type is None and facts.agent_name is None
    assert facts.disclosure_method is None


@pytest.mark.parametrize("value", ["/Yes", "/On", "/1", "Yes", "/Checked"])
def test_any_export_value_but_off_is_checked(value: str) -> None:
    fields = {f.name: "" for f in FIELDS} | {"type_correct": value, "type_disclose": "/Off", "type_suspend": "Off"}
    facts = facts_from_fields(fields)
    assert facts is not None and facts.request_types == {"correct"}


def test_qualified_field_names_and_none_values() -> None:
    fields: dict[str, str | None] = {f"form1.{f.name}": None for f in FIELDS}
    fields["form1.type_suspend"] = "/Yes"
    fields["form1.requester_name"] = " 佐藤　花子 "
    facts = facts_from_fields(fields)
    assert facts is not None
    assert facts.request_types == {"suspend"} and facts.requester_name == "佐藤 花子"


@pytest.mark.parametrize("fields", [{}, {"Name": "x", "Check1": "/Yes"}, {"requester_name": "x", "foo": "y"}])
def test_other_acroforms_are_not_ours(fields: dict[str, str]) -> None:
    assert facts_from_fields(fields) is None


def test_ocr_text_keeps_typed_answers_but_not_mark_glyphs() -> None:
    """OCR makes a glyph of an empty box as readily as of a ticked one; words stay words."""
    checklist = "個人情報開示等請求書\n請求者氏名 山田 太郎\n請求の種類\n■ 開示\n□ 訂正\n□ 利用停止\n"
    assert facts_from_text(checklist).request_types == {"disclose"}  # type: ignore[union-attr]
    assert facts_from_text(checklist, marks_legible=False).request_types == set()  # type: ignore[union-attr]
    typed = "個人情報開示等請求書\n請求者氏名 山田 太郎\n請求の種類: 開示\n"
    assert facts_from_text(typed, marks_legible=False).request_types == {"disclose"}  # type: ignore[union-attr]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 .\t\n\u3000\u00a0請求者開示（）:")), max_size=60)
       | st.text(max_size=60))
def test_compact_spaces_keeps_what_the_index_mapping_compaction_keeps(text: str) -> None:
    """The fast compaction (a regular expression) and the one that maps positions agree."""
    from parsers.request_form import _compact, compact_spaces

    assert compact_spaces(text) == _compact(text)[0]
