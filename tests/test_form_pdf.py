"""The request form PDF: one AcroForm field per table entry, Japanese that shows and survives.

The request-form parser reads fields back by name and recognises our form by /Subject, so
names, kinds and metadata are checked exactly; labels are checked through pdfplumber,
which only finds them when the font is embedded with a ToUnicode map.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from pypdf import PdfReader, PdfWriter

from config.form_definition import FIELDS, FORM_ID
from replies import form_pdf
from replies.form_pdf import TITLE, FontNotFoundError, build_request_form, wrap_japanese

SEED_FEES = {
    "notify_purpose": 1000,
    "disclose": 1000,
    "correct": 0,
    "suspend": 0,
    "stop_third_party": 0,
    "disclose_third_party_records": 1000,
}
MINCHO = "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"


def _build(**overrides: Any) -> bytes:
    kwargs: dict[str, Any] = {
        "company_name": "株式会社クロス・プロップワークス",
        "window_name": "個人情報苦情及び相談窓口",
        "window_address": "info@propworks.co.jp",
        "fees": SEED_FEES,
    }
    kwargs.update(overrides)
    return build_request_form(**kwargs)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return _build()


@pytest.fixture(scope="module")
def reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


@pytest.fixture(scope="module")
def page_texts(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [page.extract_text() or "" for page in doc.pages]


def _obj(value: Any) -> Any:
    """A resolved PDF object, typed loosely: these tests walk dictionaries by hand."""
    return value.get_object()


def _widgets(reader: PdfReader) -> list[Any]:
    found = []
    for page in reader.pages:
        for ref in page.get("/Annots", []):
            annot = _obj(ref)
            if annot.get("/Subtype") == "/Widget":
                found.append(annot)
    return found


def _fill(pdf: bytes, values: dict[str, str], regenerate: bool = True) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=regenerate)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- structure ----------------------------------------------------------------------


def test_is_an_a4_pdf_of_one_or_two_pages(pdf: bytes, reader: PdfReader) -> None:
    assert pdf.startswith(b"%PDF-")
    assert 1 <= len(reader.pages) <= 2
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


def test_has_exactly_the_fields_of_the_definition(reader: PdfReader) -> None:
    fields = reader.get_fields()
    assert fields is not None
    assert sorted(fields) == sorted(f.name for f in FIELDS)
    expected_type = {"text": "/Tx", "checkbox": "/Btn"}
    for field in FIELDS:
        assert fields[field.name]["/FT"] == expected_type[field.kind], field.name


def test_one_widget_per_field(reader: PdfReader) -> None:
    names = [str(w["/T"]) for w in _widgets(reader)]
    assert sorted(names) == sorted(f.name for f in FIELDS)


def test_checkboxes_start_unchecked_and_nothing_is_required(reader: PdfReader) -> None:
    fields = reader.get_fields()
    assert fields is not None
    for field in FIELDS:
        ff = int(fields[field.name].get("/Ff", 0))
        assert ff & 2 == 0, f"{field.name} is marked required"
        if field.kind == "checkbox":
            assert fields[field.name].get("/V") == "/Off"
        else:
            assert fields[field.name].get("/V", "") == ""


def test_metadata_names_the_form(reader: PdfReader) -> None:
    meta = reader.metadata
    assert meta is not None
    assert meta.subject == FORM_ID
    assert meta.title == TITLE == "個人情報開示等請求書"


# -- printed text and fonts ---------------------------------------------------------


def test_title_and_every_label_are_extractable(page_texts: list[str]) -> None:
    text = "\n".join(page_texts)
    assert TITLE in page_texts[0].splitlines()[:3]
    for field in FIELDS:
        assert field.label_ja in text, field.label_ja


def test_fees_are_printed_next_to_each_request_type(page_texts: list[str]) -> None:
    text = page_texts[0]
    assert "利用目的の通知 手数料 1,000円" in text
    assert "開示 手数料 1,000円" in text
    assert "第三者提供記録の開示 手数料 1,000円" in text
    for label in ("訂正・追加・削除", "利用停止・消去", "第三者提供の停止"):
        assert f"{label} 手数料 無料" in text


def test_fees_come_from_the_argument() -> None:
    pdf = _build(fees={"disclose": 300})
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        text = doc.pages[0].extract_text() or ""
    assert "開示 手数料 300円" in text
    assert "利用目的の通知 手数料 無料" in text
    assert "1,000円" not in text


def test_guidance_names_documents_and_warns_about_my_number(page_texts: list[str]) -> None:
    text = "".join("".join(page_texts).split())
    for phrase in (
        "本人確認書類の写し1点",
        "住民票の写し1通（個人番号（マイナンバー）の記載のないもの）",
        "戸籍謄本",
        "後見開始審判書の写し",
        "委任状",
        "印鑑登録証明書の写し",
        "個人番号（マイナンバー）は送らないでください",
        "保険者番号、被保険者等記号・番号およびQRコードを黒く塗りつぶして",
        "info@propworks.co.jp",
        "個人情報苦情及び相談窓口御中",
    ):
        assert phrase in text, phrase


def test_label_font_is_embedded_truetype(reader: PdfReader) -> None:
    embedded = []
    for page in reader.pages:
        fonts = _obj(page["/Resources"])["/Font"].get_object()
        assert fonts, "page uses no font"
        for ref in fonts.values():
            font = ref.get_object()
            descriptor = font["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor, f"{font['/BaseFont']} is not embedded"
            assert "/ToUnicode" in font, f"{font['/BaseFont']} has no ToUnicode map"
            embedded.append(str(font["/BaseFont"]))
    assert embedded and all(re.fullmatch(r"/[A-Z]{6}\+IPAexGothic", name) for name in embedded), embedded


def test_font_path_argument_is_used() -> None:
    if not Path(MINCHO).is_file():
        pytest.skip("fonts-ipaexfont-mincho is not installed")
    reader = PdfReader(io.BytesIO(_build(font_path=MINCHO)))
    fonts = _obj(reader.pages[0]["/Resources"])["/Font"].get_object()
    assert all("IPAexMincho" in str(ref.get_object()["/BaseFont"]) for ref in fonts.values())


def test_missing_font_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(form_pdf, "FONT_CANDIDATES", ("/nonexistent/ipaexg.ttf",))
    with pytest.raises(FontNotFoundError, match="fonts-ipaexfont-gothic"):
        _build()
    with pytest.raises(FontNotFoundError, match="/nonexistent/other.ttf"):
        _build(font_path="/nonexistent/other.ttf")


def test_bad_fees_are_refused() -> None:
    with pytest.raises(ValueError, match="dislcose"):
        _build(fees={"dislcose": 1000})
    with pytest.raises(ValueError, match="negative"):
        _build(fees={"disclose": -1})


# -- Japanese field values ----------------------------------------------------------


def test_text_fields_default_to_a_japanese_font(reader: PdfReader) -> None:
    acro_form = _obj(_obj(reader.trailer["/Root"])["/AcroForm"])
    assert acro_form["/NeedAppearances"].value is True
    font = acro_form["/DR"]["/Font"]["/HeiGo"].get_object()
    assert font["/Subtype"] == "/Type0"
    assert font["/Encoding"] == "/UniJIS-UCS2-H"
    assert "/ToUnicode" in font
    cid = font["/DescendantFonts"][0].get_object()
    assert cid["/CIDSystemInfo"]["/Ordering"] == "Japan1"
    for widget in _widgets(reader):
        if widget["/FT"] == "/Tx":
            assert str(widget["/DA"]).startswith("/HeiGo "), widget["/T"]


def test_fill_round_trip_keeps_japanese_values(pdf: bytes) -> None:
    values = {
        "date_submitted": "2025年4月1日",
        "requester_name": "山田 太郎",
        "requester_kana": "ヤマダ タロウ",
        "requester_address": "〒100-0001 東京都千代田区千代田1-1",
        "requester_email": "taro@example.jp",
        "reason": "登録されている住所が誤っているため、訂正を求めます。",
        "agent_name": "山田 花子",
        "type_disclose": "/Yes",
        "agent_voluntary": "/Yes",
    }
    fields = PdfReader(io.BytesIO(_fill(pdf, values))).get_fields()
    assert fields is not None
    for name, value in values.items():
        assert fields[name]["/V"] == value, name
    assert fields["type_correct"]["/V"] == "/Off"
    assert fields["agent_minor_legal_rep"]["/V"] == "/Off"


def test_filled_appearance_draws_the_japanese_characters(pdf: bytes) -> None:
    """pypdf must encode typed Japanese in the field font, not replace it with '?'."""
    reader = PdfReader(io.BytesIO(_fill(pdf, {"requester_name": "山田 太郎"})))
    widget = next(w for w in _widgets(reader) if w["/T"] == "requester_name")
    stream = widget["/AP"]["/N"].get_object()
    data = stream.get_data().decode("latin-1").lower()
    assert "/heigo" in data
    assert "山田 太郎".encode("utf-16-be").hex() in data
    assert "/HeiGo" in stream["/Resources"]["/Font"]


def test_text_fields_do_not_share_appearance_streams(reader: PdfReader) -> None:
    """pypdf overwrites a field's appearance object in place when it fills it."""
    refs = [w["/AP"].raw_get("/N").idnum for w in _widgets(reader) if w["/FT"] == "/Tx"]
    assert len(refs) == len(set(refs)) == sum(f.kind == "text" for f in FIELDS)


def test_each_filled_field_shows_its_own_value(pdf: bytes) -> None:
    """Same-sized fields keep separate appearances even after identical objects are merged."""
    values = {
        "requester_birthdate": "1980年4月1日",
        "requester_phone": "03-1234-5678",
        "requester_email": "taro@example.jp",
    }
    merged = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    merged.compress_identical_objects()  # as a later optimiser might
    out = io.BytesIO()
    merged.write(out)
    reader = PdfReader(io.BytesIO(_fill(out.getvalue(), values, regenerate=False)))
    for widget in _widgets(reader):
        if widget["/T"] in values:
            data = widget["/AP"]["/N"].get_data().decode("latin-1").lower()
            assert values[widget["/T"]].encode("utf-16-be").hex() in data, widget["/T"]


def test_wrap_japanese_keeps_width_and_line_start_rules() -> None:
    font = form_pdf._register_label_font(form_pdf.find_label_font())
    text = "個人番号（マイナンバー）は送らないでください。" * 4
    lines = wrap_japanese(text, font, 10, 120)
    assert "".join(lines) == text
    assert len(lines) > 1
    for line in lines:
        assert not line.startswith(("。", "、", "）"))
