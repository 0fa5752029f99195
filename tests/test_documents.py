"""Classification of document text: the shared fixtures, and made-up documents of every kind.

The synthetic texts and the helpers that draw them as card photos or put them in PDFs are
imported by tests/test_attachments.py too.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from parsers.documents import (
    classify_text,
    filename_hint,
    find_issue_date,
    find_names,
    insurance_number_readable,
    read_text,
)
from parsers.japanese import find_my_numbers
from parsers.ocr import TesseractOcr, ocr_available

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "samples" / "fixtures"
FONT = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")

needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"shared fixtures not found at {FIXTURES}")
needs_font = pytest.mark.skipif(not FONT.is_file(), reason=f"Japanese font not found at {FONT}")

# --------------------------------------------------------------------------- made-up documents

SYNTHETIC: dict[str, str] = {
    "residence_card": (
        "在留カード RESIDENCE CARD 番号 AB12345678CD\n"
        "氏名 NGUYEN VAN AN\n"
        "生年月日 1990年01月02日 性別 男 M. 国籍・地域 ベトナム\n"
        "住居地 東京都例宿区見本台一丁目2番3号\n"
        "在留資格 技術・人文知識・国際業務\n"
        "就労制限の有無 在留資格に基づく就労活動のみ可\n"
        "在留期間(満了日) 5年 (2028年04月01日)\n"
        "許可の種類 在留期間更新許可 許可年月日 2023年04月01日 交付年月日 2023年04月01日\n"
        "このカードは2028年04月01日まで有効です。 法務大臣"
    ),
    "special_permanent_resident_certificate": (
        "特別永住者証明書\nSPECIAL PERMANENT RESIDENT CERTIFICATE\n"
        "氏名 金 英姫\n生年月日 1970年3月4日 性別 女 F. 国籍・地域 韓国\n"
        "住居地 大阪府例阪市見本区一丁目2番\n交付年月日 2021年3月4日\n"
        "このカードは2028年03月04日まで有効です。 法務大臣"
    ),
    "alien_registration_card": (
        "外国人登録証明書\nCERTIFICATE OF ALIEN REGISTRATION\n登録番号 A12345678\n"
        "氏名 李 明\n国籍 中国 生年月日 1965年5月6日\n在留の資格 永住者\n居住地 横浜市例区一丁目1番"
    ),
    "health_insurance_card": (
        "健康保険\n被保険者証 本人(被保険者)\n令和5年4月1日交付\n"
        "記号 1234 番号 56 (枝番) 01\n氏名 山田 花子\n生年月日 昭和60年5月6日 性別 女\n"
        "資格取得年月日 平成20年4月1日\n事業所名称 株式会社見本商事\n"
        "保険者番号 06130012\n保険者名称 見本健康保険組合"
    ),
    "insurance_eligibility_certificate": (
        "資格確認書\n被保険者氏名 鈴木 一郎\n生年月日 昭和50年2月3日 性別 男\n"
        "記号・番号 12345・67 (枝番) 00\n保険者番号 01234567\n保険者名称 全国健康保険協会 例宿支部\n"
        "有効期限 令和8年12月1日\n交付年月日 令和7年6月1日"
    ),
    "basic_resident_card": (
        "住民基本台帳カード\n氏名 佐藤 次郎\n住所 東京都例宿区見本台二丁目3番4号\n"
        "生年月日 昭和45年6月7日 性別 男\n有効期限 平成27年6月7日\n例宿区長"
    ),
    "my_number_card": (
        "個人番号カード\n氏名 藤井 里奈\n住所 栃木県例都宮市試験台一丁目23番\n平成元年1月23日生 性別 女\n"
        "2034年01月23日まで有効\n電子証明書の有効期限の記載欄\n臓器提供意思（裏面参照）"
    ),
    "family_register": (
        "全部事項証明\n本籍 東京都例宿区見本台一丁目1番\n氏名 山田 太郎\n"
        "戸籍事項\n戸籍編製 【編製日】平成20年4月1日\n"
        "戸籍に記録されている者 【名】太郎 【生年月日】昭和55年1月2日 【父】山田一郎 【母】山田春子 【続柄】長男\n"
        "身分事項\n出生 【出生日】昭和55年1月2日 【出生地】東京都例宿区\n"
        "戸籍に記録されている者 【名】花子 【生年月日】平成25年8月9日 【父】山田太郎 【続柄】長女\n"
        "以下余白\nこれは、戸籍に記録されている事項の全部を証明した書面である。\n"
        "令和7年5月20日\n例宿区長 例宿 一子"
    ),
    "guardianship_ruling": (
        "登記事項証明書\n後見\n後見開始の裁判\n【裁判所】例宿家庭裁判所\n【事件の表示】令和6年(家)第123号\n"
        "【裁判の確定日】令和6年7月1日\n【登記年月日】令和6年7月10日\n成年被後見人\n【氏名】山田 一郎\n"
        "【生年月日】昭和20年1月1日\n成年後見人\n【氏名】山田 太郎\n"
        "上記のとおり後見登記等ファイルに記録されていることを証明する。\n令和7年5月15日\n東京法務局 登記官 見本 一"
    ),
    "power_of_attorney": (
        "委 任 状\n令和7年5月28日\n（代理人）住所 栃木県例都宮市試験台一丁目23番\n氏名 藤井 里奈\n"
        "私は、上記の者を代理人と定め、次の事項に関する一切の権限を委任します。\n"
        "1．個人情報の開示の請求に関すること\n（委任者）住所 栃木県例都宮市見本町七丁目7番7号\n氏名 遠藤 勝 印"
    ),
    "seal_certificate": (
        "印鑑登録証明書\n氏名 遠藤 勝\n生年月日 昭和33年7月7日\n住所 栃木県例都宮市見本町七丁目7番7号\n"
        "この写しは、登録されている印影と相違ないことを証明します。\n令和7年5月27日\n例都宮市長 例都宮 三郎"
    ),
    "resident_record": (
        "例宿区\n住民票（写）\n住所 東京都例宿区見本台三丁目18番5号\n世帯主氏名 青木 陽子\n"
        "氏名 生年月日 性別 続柄 住民となった日 個人番号\n"
        "青木 陽子 1985年3月18日 女 世帯主 2020年4月1日 省略\n"
        "この写しは、住民票の原本と相違ないことを証明します。\n令和7年5月29日\n例宿区長 例宿 一子"
    ),
    "qualification_proof": (
        "身分証明書\n日本弁護士連合会\n弁護士 高橋 三郎\n登録番号 12345\n所属 第一例宿弁護士会\n"
        "上記の者は本会の会員であることを証明する。\n令和7年4月1日"
    ),
    "passport": (
        "日本国 JAPAN 旅券 PASSPORT\n型/Type P 発行国/Issuing country JPN 旅券番号/Passport No. TK1234567\n"
        "姓/Surname\nYAMADA\n名/Given name\nHANAKO\n国籍/Nationality JAPAN 生年月日/Date of birth 06 MAY 1985\n"
        "発行年月日/Date of issue\n10 APR 2022\n有効期間満了日/Date of expiry\n10 APR 2032\n"
        "P<JPNYAMADA<<HANAKO<<<<<<<<<<<<<<<<<<<<<<<<<<\nTK12345674JPN8505068F3204109<<<<<<<<<<<<<<02"
    ),
    "drivers_license": (
        "氏名 原田 哲也 昭和55年08月15日生\n住所 熊本県例本市中央区見本町八丁目15番\n交付 令和05年05月10日 98513\n"
        "令和10年06月12日まで有効\n免許の条件等 眼鏡等\n優良\n番号 第 004014271543 号\n"
        "二・小・原 平成24年04月10日\n見本県公安委員会 運転免許証"
    ),
    "request_form": (
        "開 示 等 請 求 書\n株式会社見本 殿 令和7年6月2日\n請 求 者 氏名 坂本 修\n"
        "請求内容 レ 利用目的の通知の求め 開示の請求\n"
        "添付書類 運転免許証 レ 旅券（パスポート） 写真付き住民基本台帳カード\n"
        "個人番号カード（表面のみ） 健康保険被保険者証 外国人登録証明書\n"
        "在留カード 住民票の写し 戸籍謄本\n後見開始審判書の写し 委任状 印鑑登録証明書\n資格を証明する書類"
    ),
}

GUARDIANSHIP_COURT_RULING = (
    "審判\n申立人 山田 太郎\n本人 山田 一郎\n主文\n1 本人について後見を開始する。\n"
    "2 本人の成年後見人として申立人を選任する。\n令和6年6月1日\n例宿家庭裁判所 家事第1部 裁判官 見本 次郎"
)
NOT_DOCUMENTS: dict[str, str] = {
    "long-term care card": "介護保険被保険者証\n番号 0001234567\n被保険者 氏名 山田 一郎\n保険者番号 131001",
    "driving history certificate": "運転経歴証明書\n氏名 山田 一郎\n番号 第 123456789012 号\n見本県公安委員会",
    "company register": "履歴事項全部証明書\n商号 株式会社見本\n本店 東京都例宿区\n会社法人等番号 0100-01-123456",
    "cover letter": "お世話になっております。開示請求の書類一式を送付いたします。ご確認のほどよろしくお願いいたします。",
    "empty": "",
}


def card_image(
    lines: list[str],
    *,
    title: str | None = None,
    band: tuple[int, int, int] = (232, 90, 122),
    angle: float = 2.0,
    quality: int = 80,
    width: int = 1100,
) -> bytes:
    """A card-like JPEG: an optional white title on a coloured band, dark lines below,
    turned by `angle` degrees like a hand-held photo."""
    height = 130 + 56 * len(lines)
    image = Image.new("RGB", (width, height), (244, 242, 238))
    draw = ImageDraw.Draw(image)
    body = ImageFont.truetype(str(FONT), 32)
    top = 30
    if title:
        draw.rectangle((0, 0, width, 96), fill=band)
        draw.text((40, 20), title, font=ImageFont.truetype(str(FONT), 48), fill=(255, 255, 255))
        top = 120
    for i, line in enumerate(lines):
        draw.text((48, top + 56 * i), line, font=body, fill=(25, 25, 25))
    image = image.rotate(angle, expand=True, fillcolor=(225, 225, 222), resample=Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def text_pdf(pages: list[str]) -> bytes:
    """A PDF with a real text layer (reportlab, embedded IPAex Gothic)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("IPAexGothic", str(FONT)))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    for page in pages:
        pdf.setFont("IPAexGothic", 12)
        y = 790
        for line in page.splitlines():
            pdf.drawString(50, y, line)
            y -= 20
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def text_pdf_with_photo(text: str, photo: bytes) -> bytes:
    """One page of text with a card photo pasted at the card's real size (85.6 x 54 mm)."""
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("IPAexGothic", str(FONT)))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    pdf.setFont("IPAexGothic", 12)
    for i, line in enumerate(text.splitlines()):
        pdf.drawString(50, 790 - 20 * i, line)
    pdf.drawImage(ImageReader(io.BytesIO(photo)), 50, 120, width=85.6 * mm, height=54 * mm)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def image_pdf(images: list[bytes]) -> bytes:
    """A scan: an image-only PDF, one page per image."""
    pages = [Image.open(io.BytesIO(data)).convert("RGB") for data in images]
    buf = io.BytesIO()
    pages[0].save(buf, format="PDF", save_all=True, append_images=pages[1:], resolution=150.0)
    return buf.getvalue()


# --------------------------------------------------------------------------- the fixtures

FIXTURE_PDFS = {
    "s01_request.pdf": ("request_form", ("青木 陽子",), dt.date(2025, 6, 2)),
    "s01_residence_record.pdf": ("resident_record", ("青木 陽子",), dt.date(2025, 5, 29)),
    "s02_request.pdf": ("request_form", ("坂本 修",), dt.date(2025, 6, 2)),
    "s02_residence_record.pdf": ("resident_record", ("坂本 修",), dt.date(2025, 5, 27)),
    "s04_letter_of_attorney.pdf": ("power_of_attorney", ("藤井 里奈", "遠藤 勝"), dt.date(2025, 5, 28)),
    "s04_principal_record.pdf": ("resident_record", ("遠藤 勝",), dt.date(2025, 5, 27)),
    "s04_request.pdf": ("request_form", ("遠藤 勝", "藤井 里奈"), dt.date(2025, 6, 2)),
    "s04_seal_cert.pdf": ("seal_certificate", ("遠藤 勝",), dt.date(2025, 5, 27)),
    "s07_record_with_number.pdf": ("resident_record", ("太田 沙織",), dt.date(2025, 5, 27)),
    "s07_request.pdf": ("request_form", ("太田 沙織",), dt.date(2025, 6, 2)),
    "s08_record.pdf": ("resident_record", ("原田 哲也",), dt.date(2025, 5, 27)),
    "s08_request.pdf": ("request_form", ("原田 哲也",), dt.date(2025, 6, 2)),
}
FIXTURE_PHOTOS = {
    "s01_id_card.jpg": ("drivers_license", "青木陽子"),
    "s04_principal_id.jpg": ("drivers_license", "遠藤勝"),
    "s08_license.jpg": ("drivers_license", "原田哲也"),
    "s02_passport_scan.jpg": ("passport", "SAKAMOTO OSAMU"),
    "s07_passport.jpg": ("passport", "OTA SAORI"),
    "s04_agent_card.jpg": ("my_number_card", "藤井里奈"),
}


def _pdf_text(path: Path) -> str:
    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


@needs_fixtures
@pytest.mark.parametrize("name", sorted(FIXTURE_PDFS))
def test_fixture_pdfs_are_recognised_with_names_dates_and_numbers(name: str) -> None:
    kind, names, issued = FIXTURE_PDFS[name]
    reading = read_text(_pdf_text(FIXTURES / name), filename="scan0001.pdf")
    assert reading.kind == kind
    assert reading.confidence >= 0.8
    assert reading.names == names
    assert reading.issued_on == issued
    assert reading.my_number is (name == "s07_record_with_number.pdf")
    assert reading.titled


@needs_fixtures
@pytest.mark.parametrize("name", [n for n in sorted(FIXTURE_PDFS) if "request" in n])
def test_request_forms_listing_documents_name_no_other_kind(name: str) -> None:
    assert [kind for kind, _ in classify_text(_pdf_text(FIXTURES / name))] == ["request_form"]


@functools.lru_cache(maxsize=1)
def shared_tesseract() -> TesseractOcr | None:
    """One engine for all OCR tests, so that each photo is read once (results are cached)."""
    return TesseractOcr() if ocr_available() else None


@pytest.fixture
def tesseract() -> TesseractOcr:
    engine = shared_tesseract()
    if engine is None:
        pytest.skip("Tesseract with Japanese data is not installed")
    return engine


@pytest.mark.slow
@needs_fixtures
@pytest.mark.parametrize("name", sorted(FIXTURE_PHOTOS))
def test_fixture_photos_are_recognised_by_ocr(name: str, tesseract: TesseractOcr) -> None:
    kind, holder = FIXTURE_PHOTOS[name]
    with Image.open(FIXTURES / name) as photo:
        text = tesseract.image_to_text(ImageOps.exif_transpose(photo).convert("RGB"))
    reading = read_text(text, filename="IMG_0412.jpg")
    assert reading.kind == kind
    assert any(holder.replace(" ", "") in n.replace(" ", "") for n in reading.names), reading.names
    assert not reading.my_number  # licence numbers are not individual numbers


# --------------------------------------------------------------------------- made-up documents


@pytest.mark.parametrize("kind", sorted(SYNTHETIC))
def test_every_kind_is_recognised_from_its_text(kind: str) -> None:
    ranked = classify_text(SYNTHETIC[kind])
    assert ranked and ranked[0][0] == kind, ranked


def test_the_court_ruling_is_a_guardianship_document_too() -> None:
    assert classify_text(GUARDIANSHIP_COURT_RULING)[0][0] == "guardianship_ruling"


@pytest.mark.parametrize("label", sorted(NOT_DOCUMENTS))
def test_look_alikes_are_not_taken_for_accepted_documents(label: str) -> None:
    assert classify_text(NOT_DOCUMENTS[label]) == []


def test_spaced_and_full_width_titles_are_read() -> None:
    assert classify_text("印 鑑 登 録 証 明 書\n氏 名 遠藤 勝")[0][0] == "seal_certificate"
    assert classify_text("委　任　状\n私は代理人と定め権限を委任します")[0][0] == "power_of_attorney"
    assert classify_text("印鑑登録證明書\n登録されている印影と相違ないことを證明します")[0][0] == "seal_certificate"


def test_a_title_deep_in_a_long_text_counts_less_than_the_heading() -> None:
    letter = (
        "委任状\n" + "私は下記の者を代理人と定め、権限を委任します。" * 10 + "\n添付：運転免許証の写し、住民票の写し"
    )
    assert [kind for kind, _ in classify_text(letter)] == ["power_of_attorney"]


def test_a_resident_record_with_a_number_column_is_not_a_my_number_card() -> None:
    ranked = classify_text(SYNTHETIC["resident_record"])
    assert ranked[0][0] == "resident_record"
    assert "my_number_card" not in [kind for kind, _ in ranked]


def test_file_names_only_hint() -> None:
    assert filename_hint("menkyo_omote.JPG") == "drivers_license"
    assert filename_hint("住民票.pdf") == "resident_record"
    assert filename_hint("IMG_0412.jpg") is None
    assert filename_hint("scan0001.pdf") is None
    assert classify_text("", filename="passport.jpg") == [("passport", 0.3)]
    # the text decides against the name
    assert classify_text(SYNTHETIC["resident_record"], filename="license.jpg")[0][0] == "resident_record"
    assert classify_text("お世話になっております。よろしくお願いします。", filename="license.jpg") == []
    assert classify_text("お世話になっております。運転免許証を送ります。", filename="license.pdf") == []
    both = SYNTHETIC["resident_record"] + "\n" + SYNTHETIC["drivers_license"]  # two kinds, close scores
    assert classify_text(both, filename="juminhyo.pdf")[0][0] == "resident_record"
    assert classify_text(both, filename="menkyo.pdf")[0][0] == "drivers_license"


def test_insurance_numbers_readable_or_masked() -> None:
    assert insurance_number_readable(SYNTHETIC["health_insurance_card"])
    assert insurance_number_readable(SYNTHETIC["insurance_eligibility_certificate"])
    masked = "健康保険 被保険者証\n記号 ＊＊＊＊ 番号 ＊＊\n保険者番号 ●●●●●●●●\n氏名 山田 花子"
    assert not insurance_number_readable(masked)
    reading = read_text(SYNTHETIC["health_insurance_card"])
    assert reading.kind == "health_insurance_card" and reading.insurance_number_unmasked
    assert not read_text(masked).insurance_number_unmasked
    assert not read_text(SYNTHETIC["resident_record"]).insurance_number_unmasked


def test_issue_dates() -> None:
    assert find_issue_date(SYNTHETIC["family_register"], "family_register") == dt.date(2025, 5, 20)
    assert find_issue_date(SYNTHETIC["drivers_license"], "drivers_license") == dt.date(2023, 5, 10)
    assert find_issue_date(SYNTHETIC["passport"], "passport") == dt.date(2022, 4, 10)
    assert find_issue_date(SYNTHETIC["my_number_card"], "my_number_card") is None  # birth and expiry only
    assert find_issue_date(SYNTHETIC["guardianship_ruling"], "guardianship_ruling") == dt.date(2025, 5, 15)


def test_names_on_the_documents() -> None:
    assert find_names(SYNTHETIC["passport"], "passport") == ("YAMADA HANAKO",)
    assert find_names(SYNTHETIC["power_of_attorney"]) == ("藤井 里奈", "遠藤 勝")
    assert find_names(SYNTHETIC["resident_record"]) == ("青木 陽子",)
    assert find_names("氏名 青木陽子 昭和60年03月18日生\n住所 東京都") == ("青木陽子",)
    assert find_names("請求者氏名：青木 陽子（アオキ ヨウコ）\n代理人氏名：\n") == ("青木 陽子",)


def test_two_documents_on_one_sheet_are_both_named() -> None:
    sheet = read_text(SYNTHETIC["resident_record"] + "\n" + SYNTHETIC["drivers_license"])
    assert {sheet.kind, *sheet.also} == {"resident_record", "drivers_license"}
    mention = read_text(SYNTHETIC["power_of_attorney"] + "\n添付：運転免許証の写し、住民票の写し")
    assert (mention.kind, mention.also) == ("power_of_attorney", ())
    form = read_text(SYNTHETIC["request_form"])
    assert (form.kind, form.also) == ("request_form", ())


def test_my_number_on_a_page() -> None:
    back = "個人番号 6214 9832 0257\n氏名 藤井 里奈\n生年月日 平成元年1月23日"
    reading = read_text(back)
    assert reading.my_number
    licence = read_text(SYNTHETIC["drivers_license"].replace("004014271543", "621498320257"))
    assert licence.kind == "drivers_license" and not licence.my_number
    ocr_lost_the_brackets = SYNTHETIC["drivers_license"].replace("番号 第 004014271543 号", "番号 621498320257")
    assert not read_text(ocr_lost_the_brackets).my_number


# OCR of a licence photo in shadow: the title and 公安委員会 are lost, so the page is not
# recognised, but its number 315904667022 passes the individual-number check digit.
LICENCE_IN_SHADOW = (
    "昭和49年05月30日生\n斉生島 市 中区 見 本 町一丁目7番3号\n0 5年06月22日50271\n315904667022号\n"
    "平成05年03月11日\n氏名\n直樹\n昭和49 年05月30日 生\n住所\n記例島 市 中区 見 本 町一丁目7番3号\n交付\n"
    "05年06月22日50271\n0 日まで有効\n=\nSS\n番号\n31 5904667022号\n普通\n平成05年03月11日\n|\nABRAREAS\n_,$e oN"
)
# OCR of the backs of two 個人番号カード (no title on that side).
CARD_BACK = (
    "個人番号\n6214 9832 0257\naz 藤井里奈\n生年月日平成元年1月23晶\n臓器提供意思表示欄\n個人番号\n|| | |\nae\n"
    "ann 回\n1 1\n6214 9832 0257\ni“an LIL ll\naaa\n画 SEeee\naz 藤井里奈\n生年月日平成元年1月23晶\n臓器提供意思表示欄"
)
CARD_BACK_TILTED = (
    "個人番号\n3184 5027 1 632\nR& 清水隆之\n生年月日 昭和47 年3 月5日\n個人番号\n3184 5027 1 632\n"
    "ont,ast a\n|\nRe 清水隆之\nSEAR 昭和47年3月25日\na aan\nHe"
)
# OCR of a scanned 住民票 showing the individual number, its title only at the bottom.
RECORD_WITH_NUMBER = (
    "例 岡 市博多区\n交付番号 第03123号\nKA 坂井亮(サカイリョウ)\n生年月日 平成5年10月10日\n性別 男\n"
    "続柄 世帯主\n住民となっ た年月日 令和2 年4月1日\n前人所 例川県見本市試験町1.1\n個人番号 5820 3917 7640\n"
    "住民票コード (記載 省略)\n備考 本 籍・筆 頭者の記載を省略し ています。\n"
    "この写しは、 住 民 票の原本と 相違ないことを証明する。\n例 岡市 博多区長見本一朗 mae\n令和7 年5月 2 8 日\n"
    "住 民 票 の 写 し"
)


def test_an_unrecognised_licence_photo_shows_no_my_number() -> None:
    assert [d for _, _, d in find_my_numbers(LICENCE_IN_SHADOW)] == ["315904667022"]  # the digits pass the check
    reading = read_text(LICENCE_IN_SHADOW)  # its title lost, its number's form (…号) names it
    assert reading.kind == "drivers_license" and not reading.my_number
    cue_only = "氏名 村上 直樹\n免許の条件等 眼鏡等\n315904667022\n令和10年06月30日まで有効"
    assert read_text(cue_only).kind == "unknown" and not read_text(cue_only).my_number


def test_an_individual_number_cue_keeps_the_number_beside_licence_cues() -> None:
    # a 住民票 page showing 個人番号 with a licence copied on it: the number still counts
    sheet = RECORD_WITH_NUMBER + "\n例島県公安委員会\n番号 第 315904667022 号"
    reading = read_text(sheet)
    assert reading.kind == "resident_record" and reading.my_number
    assert read_text("マイナンバー 621498320257\n運転免許証の写しを添付します").my_number


def test_the_back_of_a_my_number_card_is_recognised() -> None:
    reading = read_text(CARD_BACK)
    assert (reading.kind, reading.my_number, reading.names) == ("my_number_card", True, ("藤井里奈",))
    assert read_text(CARD_BACK_TILTED).kind == "my_number_card"
    assert read_text("個人番号 6214 9832 0257\n氏名 藤井 里奈\n生年月日 平成元年1月23日").kind == "my_number_card"


def test_the_back_side_rule_does_not_take_other_pages() -> None:
    record = read_text(RECORD_WITH_NUMBER)
    assert (record.kind, record.my_number) == ("resident_record", True)
    assert "my_number_card" not in dict(record.candidates)
    # no number under the label, or a long letter quoting one: not a card
    assert read_text("個人番号\n氏名 藤井 里奈\n生年月日 平成元年1月23日").kind == "unknown"
    letter = "お世話になっております。" * 40 + "\n個人番号 6214 9832 0257\n氏名 藤井 里奈"
    assert read_text(letter).kind == "unknown" and read_text(letter).my_number


def test_a_form_titled_without_its_last_character_is_still_a_request_form() -> None:
    """Other companies' forms end their title in 申請 or 申出, without 書, and list every
    document and agent type (成年後見人, 特別永住者証明書 …) that must not outvote the title."""
    text = (
        "個人情報の開示等の求めに関する申請\n株式会社例 個人情報窓口宛\n申請者(ご本人)\n氏名 村上直樹\n"
        "申請の内容\n利用目的の通知\n開示\nレ 訂正 ・ 追加・ 削除\n代理人の資格 (本人との関係)\n"
        "成年 被後見人の法定代理人 (成年後見人)\n添付書類\n運転免許証\n在留カード ・ 特別永住者証明書\n"
        "後見 開始審判書の写し又は登記事項証明書\n委任状\n印鑑登録 証明書\n資格を証明する書類\n"
    )
    assert [kind for kind, _ in classify_text(text)][:1] == ["request_form"]
    assert read_text(text).kind == "request_form"


def test_titles_and_phrases_that_ocr_cut_short_still_name_the_document() -> None:
    """Readings of phone photos from the accuracy set (shortened): each lost part of its title."""
    form = "株式会社見本\n個人情報相談窓口ご担当者様\n示 請求書\n住所 例山県例山市\n添付書類\n1. 旅券の写し\n2. 住民票の写し"
    assert [k for k, _ in classify_text(form)] == ["request_form"]  # a list item is no 住民票's title
    record = "例山市北区\n世帯\n住民となった年月\n令和2年4月1日\n前人所\n例山市北区長 見本一朗"
    assert [k for k, _ in classify_text(record)] == ["resident_record"]
    koseki = "全部 事項 証明\n氏名 見本 花子\n平成20年2月\n全部 事項 証明"
    assert [k for k, _ in classify_text(koseki)] == ["family_register"]
    licence = "松尾健太 昭和54年11月04日生\n令和09年12月04日まで有効\n眼鏡等\n98 530128401973号\nニニ・小・原"
    assert [k for k, _ in classify_text(licence)] == ["drivers_license"]
    card = "個人番号カードた\nを 吉 団さく ら\n住所 PU is By"
    assert [k for k, _ in classify_text(card)] == ["my_number_card"]


def test_a_title_in_a_sentence_or_a_list_still_does_not_stand() -> None:
    assert classify_text("本日、運転免許証の\n写しを添付します。よろしくお願いします。") == []
    assert classify_text("添付書類\n1. 住民票の写し\n2) 運転免許証") == []
    assert classify_text("登記事項証明書\n法務局") == []  # 事項証明 without 全部/個人 is no 戸籍


def test_a_form_is_known_by_its_sections_when_its_title_is_garbled() -> None:
    """A dark scan of a form whose title OCR cut (…に関する申): its checklist names 登記事項証明書,
    特別永住者証明書 and 成年後見人, which outscored it until the form's sections counted."""
    garbled = (
        "個人情報の開示等の求めに関する申\n株式会社見本 個人情報窓口宛\n申請者(ご本人)\n氏名 村上直樹\n申請の内容\n"
        "利用目的の通知\n開示\nレ 訂正・追加・削除\n代理人の資格 (本人との関係)\n成年被後見人の法定代理人(成年後見人)\n"
        "添付書類\n旅券 (パスポート)\n在留カード・特別永住者証明書\n後見開始審判書の写し 又は登記事項証明書\n委任状\n"
        "※開示の申請は1件につき1,000円の手数料がかかります。"
    )
    assert [k for k, _ in classify_text(garbled)] == ["request_form"]
    garbled_title = garbled.replace("個人情報の開示等の求めに関する申", "個人情報のBN等のMOICBT SH")
    assert [k for k, _ in classify_text(garbled_title)] == ["request_form"]
    english = "REQUEST FOR DISCLOSURE, ETC. OF RETAINED PERSONAL DATA\nName: NGUYEN\n(旅券)\nNATIONALITY: Viet Nam"
    assert [k for k, _ in classify_text(english)] == ["request_form"]  # not a passport for its bracketed 旅券
    # a power of attorney keeps its own title although it names the same sections
    proxy = "委任状\n私は下記の者を代理人と定め、開示等の請求に関する権限を委任します。\n本人との関係 母\n添付書類 住民票の写し"
    assert [k for k, _ in classify_text(proxy)][0] == "power_of_attorney"


def test_a_card_is_known_by_garbled_fixed_phrases() -> None:
    front = "予成8年4月日生 件別女\n|2032年04月 07日まで有効\n電子起 明書の有効期限の記載欄\n例岡市 長"
    assert [k for k, _ in classify_text(front)] == ["my_number_card"]
    back = "6214 9832 0257\nae 藤井里奈\n生年 月日平成元年1月23晶\n個人番号\n臓器提供意思表示欄"
    assert [k for k, _ in classify_text(back)] == ["my_number_card"]  # the number above its label
