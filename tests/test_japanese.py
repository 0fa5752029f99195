"""Normalisation, era dates and the individual number (My Number) rules."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.japanese import (
    compact,
    find_dates,
    find_my_numbers,
    fold_kanji,
    mask_my_numbers,
    my_number_check_ok,
    normalize,
    parse_date,
)

VALID = "621498320257"  # the example of the domain notes
VALID_2 = "506986631942"  # the number printed in s07_record_with_number.pdf


def _check_digit(body: str) -> int:
    total = sum(int(body[11 - n]) * (n + 1 if n <= 6 else n - 5) for n in range(1, 12))
    r = total % 11
    return 0 if r <= 1 else 11 - r


# --------------------------------------------------------------------------- normalisation


def test_compact_removes_spaces_and_width_differences() -> None:
    assert compact("開 示 等 請 求 書") == "開示等請求書"
    assert compact("印　鑑　登　録　証　明　書") == "印鑑登録証明書"
    assert compact("ＰＡＳＳＰＯＲＴ　１２３") == "PASSPORT123"
    assert compact("ｶｰﾄﾞ") == "カード"


def test_old_kanji_forms_fold_to_modern_ones() -> None:
    assert fold_kanji("印鑑登録證明書") == "印鑑登録証明書"
    assert normalize("髙橋 國男") == "高橋 国男"
    assert len(fold_kanji("舊證號")) == 3  # one to one: offsets stay valid


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和7年6月2日", dt.date(2025, 6, 2)),
        ("令和元年5月1日", dt.date(2019, 5, 1)),
        ("平成元年1月8日", dt.date(1989, 1, 8)),
        ("平成６年４月２９日", dt.date(1994, 4, 29)),
        ("昭和33年7月7日生", dt.date(1958, 7, 7)),
        ("大正15年12月24日", dt.date(1926, 12, 24)),
        ("明治45年7月29日", dt.date(1912, 7, 29)),
        ("令和七年五月二十七日", dt.date(2025, 5, 27)),
        ("平成弐拾年参月壱日", dt.date(2008, 3, 1)),
        ("㍻31年4月30日", dt.date(2019, 4, 30)),
        ("令 和 05 年 05 月 10 日", dt.date(2023, 5, 10)),  # OCR spacing
        ("R7.6.2", dt.date(2025, 6, 2)),
        ("H6/4/29", dt.date(1994, 4, 29)),
        ("2025年6月2日", dt.date(2025, 6, 2)),
        ("２０２５年６月２日", dt.date(2025, 6, 2)),
        ("2025/06/02", dt.date(2025, 6, 2)),
        ("2025-6-2", dt.date(2025, 6, 2)),
        ("20 MAY 2021", dt.date(2021, 5, 20)),
        ("01 Sep 1976", dt.date(1976, 9, 1)),
    ],
)
def test_parse_date_reads_era_and_western_dates(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["令和7年2月30日", "平成0年1月1日", "2025/13/01", "電話 090-1234-5678", "", "年月日"])
def test_parse_date_rejects_impossible_dates_and_non_dates(text: str) -> None:
    assert parse_date(text) is None


def test_find_dates_gives_offsets_into_the_original_text() -> None:
    text = "交付 令和05年05月10日　昭和60年03月18日生"
    found = find_dates(text)
    assert [f.date for f in found] == [dt.date(2023, 5, 10), dt.date(1985, 3, 18)]
    assert text[found[0].start : found[0].end] == "令和05年05月10日"


# --------------------------------------------------------------------------- check digit


def test_check_digit_of_the_documented_examples() -> None:
    assert my_number_check_ok(VALID)
    assert my_number_check_ok(VALID_2)
    assert my_number_check_ok("６２１４９８３２０２５７")


@pytest.mark.parametrize("digits", ["621498320258", "62149832025", "6214983202571", "62149832025a", ""])
def test_check_digit_rejects_wrong_or_malformed_numbers(digits: str) -> None:
    assert not my_number_check_ok(digits)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_check_digit_accepts_exactly_one_last_digit(body: str) -> None:
    accepted = [d for d in "0123456789" if my_number_check_ok(body + d)]
    assert accepted == [str(_check_digit(body))]


# --------------------------------------------------------------------------- finding numbers


@pytest.mark.parametrize(
    "text",
    [
        VALID,
        "６２１４９８３２０２５７",
        "6214 9832 0257",
        "6214-9832-0257",
        "６２１４－９８３２－０２５７",
        "6214　9832　0257",
        "6214 - 9832 - 0257",
        "個人番号：621498320257",
        "マイナンバー 6214 9832 0257 です",
        "個人番号\n621498320257",
        "2020年4月1日 6214 9832 0257",
        "本人の番号は621498320257です。",
    ],
)
def test_finds_a_valid_number_in_every_spelling(text: str) -> None:
    found = find_my_numbers(text)
    assert [digits for _, _, digits in found] == [VALID]
    start, end, _ = found[0]
    assert compact(text[start:end]).replace("-", "") == VALID


@pytest.mark.parametrize(
    "text",
    [
        "621498320258",  # wrong check digit
        "6214983202570",  # part of a longer run
        "16214983202570",
        "1234 6214 9832 0257",  # last 12 of a 16-digit card number
        "6214 9832 0257 1234",
        "6214-9832-0257-12",
        "3.621498320257",  # a decimal
        "621498320257.5",
        "ABC621498320257",  # an alphanumeric code
        "621498320257JPN",
        "番号 第 621498320257 号",  # a driving licence number
        "第621498320257号",
        "免許証番号 621498320257",
        "免許証の番号：621498320257",
        "旅券番号 621498320257",
        "Passport No. 621498320257",
        "記号 621498320257",
        "保険者番号 621498320257",
        "被保険者番号：621498320257",
        "証明番号 第 621498320257",
        "電話 621498320257",
        "TEL: 6214-9832-0257",
        "郵便番号 621498320257",
        "お問い合わせ番号 6214-9832-0257",
        "口座番号 621498320257",
        "電話番号\n621498320257",
    ],
)
def test_does_not_flag_other_numbers(text: str) -> None:
    assert find_my_numbers(text) == []


def test_the_licence_numbers_of_the_fixtures_are_not_my_numbers() -> None:
    for number in ("036735732806", "004014271543", "152697505571"):
        assert find_my_numbers(f"番号 第 {number} 号") == []


def test_finds_several_numbers_with_their_positions() -> None:
    text = f"A: {VALID}\nB: 5069 8663 1942\nC: 621498320258"
    found = find_my_numbers(text)
    assert [d for _, _, d in found] == [VALID, VALID_2]
    assert [text[s:e] for s, e, _ in found] == [VALID, "5069 8663 1942"]


def test_mask_replaces_every_digit_and_keeps_the_rest() -> None:
    text = f"氏名 太田 沙織 個人番号 5069 8663 1942 電話 092-000-0429 番号 {VALID}"
    masked = mask_my_numbers(text)
    assert "5069" not in masked and VALID not in masked
    assert "**** **** ****" in masked
    assert "092-000-0429" in masked and "太田 沙織" in masked
    assert find_my_numbers(masked) == []


_FILLER = st.text(alphabet="あいうえお漢字住所氏名 年月日、。\n", max_size=30)


@settings(max_examples=60)
@given(before=_FILLER, after=_FILLER, spelling=st.sampled_from(["{}", "{} {} {}", "{}-{}-{}"]))
def test_a_valid_number_is_found_wherever_it_stands(before: str, after: str, spelling: str) -> None:
    groups = (VALID[:4], VALID[4:8], VALID[8:]) if spelling != "{}" else (VALID,)
    text = before + " " + spelling.format(*groups) + " " + after
    assert [d for _, _, d in find_my_numbers(text)] == [VALID]


@settings(max_examples=60)
@given(st.text(alphabet="0123456789 -", max_size=60))
def test_every_reported_number_is_valid_and_located(text: str) -> None:
    for start, end, digits in find_my_numbers(text):
        assert my_number_check_ok(digits)
        assert "".join(c for c in text[start:end] if c.isdigit()) == digits


# --------------------------------------------------------------------------- numbers OCR broke up

CARD_BACK = "318450271632"  # mnc_back_1: Tesseract reads it as 3184 5027 1 632
RECORD = "402173598611"  # rr_okamoto: the 住民票 prints ４０２１　７３５９　８６１１
_FW_VALID = "６２１４９８３２０２５７"


@pytest.mark.parametrize(
    ("text", "number", "expected"),
    [
        ("個人番号\n3184 5027 1 632\n氏名 清水隆之", "3184 5027 1 632", CARD_BACK),
        ("個人番号 3184 5027 1 632", "3184 5027 1 632", CARD_BACK),
        ("個人番号：3184 5027 1 632 です", "3184 5027 1 632", CARD_BACK),
        ("個人番号 :\n 3184 5027 1 632", "3184 5027 1 632", CARD_BACK),
        ("個 人 番 號 | 3184-5027-1 632", "3184-5027-1 632", CARD_BACK),
        ("マイナンバー（個人番号）: 31 84 50 27 16 32", "31 84 50 27 16 32", CARD_BACK),
        ("My Number 3184 5027 1 632", "3184 5027 1 632", CARD_BACK),
        ("個人番号カード番号 3184 50271 632", "3184 50271 632", CARD_BACK),
        ("個人番号　６２１４　　９８３２　　０２５７", "６２１４　　９８３２　　０２５７", VALID),
        ("個人番号　" + "　".join(_FW_VALID), "　".join(_FW_VALID), VALID),
        ("個人番号 " + " ".join(_FW_VALID) + " 住民票コード", " ".join(_FW_VALID), VALID),
        ("個人番号 3184 5027 1 632\n2025年6月2日", "3184 5027 1 632", CARD_BACK),
        # a narrow column wraps the number: rr_okamoto scanned, as the reader's OCR sees it
        ("前住所 例川県見本市試験町1-1\n個人番号\n4021\n7359 8611\n住民票コード", "4021\n7359 8611", RECORD),
        # a table read column by column: the values come before their label
        ("前住所 例川県見本市試験町1-1\n4021\n7359 8611\n個人番号\n住民票コード", "4021\n7359 8611", RECORD),
    ],
)
def test_finds_a_labelled_number_that_ocr_broke_up(text: str, number: str, expected: str) -> None:
    found = find_my_numbers(text)
    assert [d for _, _, d in found] == [expected]
    start, end, _ = found[0]
    assert text[start:end] == number  # first digit to last: what is masked and blacked out
    assert find_my_numbers(mask_my_numbers(text)) == []
    assert sum(c != m for c, m in zip(text, mask_my_numbers(text), strict=True)) == 12


@pytest.mark.parametrize(
    ("text", "other_labels"),
    [
        ("3184 5027 1 632", ()),  # unlabelled: only the strict spellings count
        ("氏名 清水隆之\n3184 5027 1 632", ()),
        ("本人の番号は 3184 5027 1 632", ()),
        ("　".join(_FW_VALID), ()),
        ("090 1234 5678 4", ()),  # a phone number and a digit: twelve digits, valid, not one number
        ("電話 090 1234 5678 4", ()),
        ("電話番号：090-1234-5678 4", ()),
        ("0901 2345 678 4", ()),
        ("4021\n7359 8611", ()),
        ("個人番号 090 1234 5678", ()),  # eleven digits
        ("個人番号 3184 5027 1 632 4", ()),  # the run goes on: another number, not cut to fit
        ("個人番号 3184 5027 1 632.5", ()),
        ("個人番号 3184 5027 1 632ABC", ()),
        ("個人番号 3184 5027 1 633", ()),  # wrong check digit
        ("個人番号の記載\n有\n3184 5027 1 632", ()),  # the label is not right before the digits
        ("個人番号\n\n\n3184 5027 1 632", ()),
        ("個人番号 4021\n7359 8611 1234", ()),  # a wrapped run must still hold twelve digits
        ("個人番号 4021 7359\n8611 1234 5678", ()),
        ("個人番号 090\n1234 5678 4", ()),  # wraps only at a printed group of four
        ("番号 3184 5027 1 632", ("番号",)),  # a licence number labelled 番号
        ("番号 第 3184 5027 1 632 号", ("番号",)),
        ("番号 318450271632", ("番号",)),
        ("免許証番号 3184 5027 1 632", ()),
        ("4021\n7359 8611\n電話番号", ()),  # column-read values with another label
        ("4021\n7359 861 1\n個人番号", ()),  # label after: only the printed 4-4-4 grouping
        ("前住所 4021\n7359 8611\n個人番号", ()),
    ],
)
def test_does_not_take_broken_runs_without_a_my_number_label(text: str, other_labels: tuple[str, ...]) -> None:
    assert find_my_numbers(text, other_labels) == []


@settings(max_examples=80)
@given(st.text(alphabet="0123456789０２５ 　-\n個人番号", max_size=80))
def test_labelled_runs_are_valid_and_located(text: str) -> None:
    found = find_my_numbers(text)
    assert found == sorted(found)
    for start, end, digits in found:
        assert my_number_check_ok(digits)
        assert text[start].isdigit() and text[end - 1].isdigit()
        assert normalize("".join(c for c in text[start:end] if c.isdigit())) == digits
