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
