"""parsers.bank_statement: CSV and 全銀 bank statements -> deposits."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import random
import re
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.bank_statement import (
    ColumnMapping,
    Skipped,
    Statement,
    StatementError,
    normalize_payer,
    parse_amount,
    parse_date,
    parse_mapping,
    read_statement,
    zengin_date,
)

FIXTURES = Path(__file__).parent / "fixtures" / "bank"
TODAY = dt.date(2026, 12, 10)  # 令和8
D = dt.date


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bank_fixture_builder", FIXTURES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def read(name: str, **kw: object) -> Statement:
    return read_statement(fixture(name), today=TODAY, **kw)  # type: ignore[arg-type]


def rows(statement: Statement) -> list[tuple[int, dt.date, int, str]]:
    return [(t.line, t.booked_on, t.amount_yen, t.payer) for t in statement.transfers]


# ------------------------------------------------------------------ fixtures are what the builder makes


def test_fixture_files_are_up_to_date() -> None:
    for name, data in builder.build().items():
        assert fixture(name) == data, f"{name} is stale: run python tests/fixtures/bank/make_fixtures.py"


@pytest.mark.parametrize("name", ["generic_cp932.csv", "zengin_nyushukkin.dat", "zengin_furikomi.dat"])
def test_shift_jis_fixtures_really_are_cp932(name: str) -> None:
    data = fixture(name)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    data.decode("cp932")


def test_zengin_fixtures_are_200_byte_records() -> None:
    lined = fixture("zengin_nyushukkin.dat").split(b"\r\n")
    assert lined[-1] == b"" and {len(r) for r in lined[:-1]} == {200}
    assert [r[:1] for r in lined[:-1]] == [b"1"] + [b"2"] * 8 + [b"8", b"9"]
    flat = fixture("zengin_furikomi.dat")
    assert len(flat) == 11 * 200 and b"\n" not in flat


# ------------------------------------------------------------------ generic CSV (cp932)


def test_generic_cp932_csv() -> None:
    st_ = read("generic_cp932.csv")
    assert st_.format == "csv"
    assert rows(st_) == [
        (4, D(2026, 11, 29), 1000, "振込 20261129-001 ヤマダ タロウ"),
        (5, D(2026, 11, 29), 1000, "振込 スズキ ハナコ"),
        (6, D(2026, 11, 30), 1000, "振込 20261128-999 サトウ イチロウ"),
        (7, D(2026, 11, 30), 500, "振込 タナカ ジロウ 20261129ー002"),
        (8, D(2026, 12, 1), 2000, "振込 20261130-003 カ)ヤマダショウジ"),
        (9, D(2026, 11, 29), 1000, "振込 20261129-001 ヤマダ タロウ"),
        (11, D(2026, 12, 2), 1000, "振込 20261129-001 ヤマダ タロウ"),
    ]
    assert st_.skipped == (
        Skipped(10, "withdrawal or no deposit"),
        Skipped(12, "blank line"),
        Skipped(13, "date not recognised (footer or note?)"),
    )
    fps = [t.fingerprint for t in st_.transfers]
    assert fps[0] == fps[5]  # the duplicated line
    assert len(set(fps)) == 6
    assert all(re.fullmatch(r"[0-9a-f]{64}", f) for f in fps)


def test_csv_fingerprints_survive_reencoding_and_reimport() -> None:
    cp932 = read("generic_cp932.csv")
    utf8 = read_statement(fixture("generic_cp932.csv").decode("cp932").encode("utf-8"))
    again = read("generic_cp932.csv")
    assert [t.fingerprint for t in cp932.transfers] == [t.fingerprint for t in utf8.transfers]
    assert cp932 == again


# ------------------------------------------------------------------ UTF-8 BOM CSV with 和暦


def test_wareki_utf8_bom_csv() -> None:
    st_ = read("wareki_utf8_bom.csv")
    assert rows(st_) == [
        (2, D(2026, 11, 29), 1000, "20261129-001 ヤマダ タロウ"),
        (3, D(2026, 11, 29), 1000, "スズキ ハナコ"),
        (4, D(2026, 11, 30), 1000, "20261128-999 サトウ イチロウ"),
        (5, D(2026, 11, 30), 500, "タナカ ジロウ 20261129ー002"),
        (6, D(2026, 12, 1), 2000, "20261130-003 カ)ヤマダショウジ"),
        (7, D(2026, 11, 29), 1000, "スズキ ハナコ"),
        (9, D(2026, 12, 2), 1000, "20261129-001 ヤマダ タロウ"),
    ]
    assert st_.skipped == (Skipped(8, "withdrawal or no deposit"),)
    assert st_.transfers[1].fingerprint == st_.transfers[5].fingerprint


# ------------------------------------------------------------------ 全銀


def test_zengin_nyushukkin_meisai() -> None:
    st_ = read("zengin_nyushukkin.dat")
    assert st_.format == "zengin"
    assert rows(st_) == [
        (2, D(2026, 11, 29), 1000, "20261129-001 ヤマダ タロウ"),
        (3, D(2026, 11, 29), 1000, "スズキ ハナコ"),
        (4, D(2026, 11, 30), 1000, "20261128-999 サトウ イチロウ"),
        (5, D(2026, 11, 30), 500, "タナカ ジロウ 20261129ー002"),
        (6, D(2026, 12, 1), 2000, "20261130003 カ)ヤマダショウジ"),
        (7, D(2026, 11, 29), 1000, "20261129-001 ヤマダ タロウ"),
        (9, D(2026, 12, 2), 1000, "20261129-001 ヤマダ タロウ"),
    ]
    assert st_.skipped == (Skipped(8, "withdrawal or no deposit"),)  # header/trailer/end are not noise
    fps = [t.fingerprint for t in st_.transfers]
    assert fps[0] == fps[5] and fps[0] != fps[6]  # same 照会番号 record twice; a later payment differs


def test_zengin_furikomi_tsuchi_without_line_breaks() -> None:
    st_ = read("zengin_furikomi.dat")
    assert st_.format == "zengin"
    assert rows(st_) == [
        (2, D(2026, 11, 29), 1000, "ヤマダ タロウ 20261129-001"),
        (3, D(2026, 11, 29), 1000, "スズキ ハナコ"),
        (4, D(2026, 11, 30), 1000, "20261128 999 サトウ イチロウ"),
        (5, D(2026, 11, 30), 500, "20261129-002 タナカ ジロウ"),
        (6, D(2026, 12, 1), 2000, "20261130-003 カ)ヤマダショウジ"),
        (7, D(2026, 11, 29), 1000, "ヤマダ タロウ 20261129-001"),
        (9, D(2026, 12, 2), 1000, "20261129-001 ヤマダ タロウ"),
    ]
    assert st_.skipped == (Skipped(8, "cancellation (取消) record; check the original transfer by hand"),)


@pytest.mark.parametrize("sep", [b"", b"\n", b"\r\n"])
def test_zengin_record_separators_do_not_matter(sep: bytes) -> None:
    records = [r for r in fixture("zengin_nyushukkin.dat").split(b"\r\n") if r]
    st_ = read_statement(sep.join(records) + sep, today=TODAY)
    assert rows(st_) == rows(read("zengin_nyushukkin.dat"))
    assert [t.fingerprint for t in st_.transfers] == [t.fingerprint for t in read("zengin_nyushukkin.dat").transfers]


def test_zengin_lines_with_trailing_spaces_stripped() -> None:
    records = [r.rstrip(b" ") for r in fixture("zengin_nyushukkin.dat").split(b"\r\n") if r]
    assert rows(read_statement(b"\r\n".join(records), today=TODAY)) == rows(read("zengin_nyushukkin.dat"))


def test_zengin_detected_by_content_not_name_and_utf8_zengin() -> None:
    text = fixture("zengin_furikomi.dat").decode("cp932")
    st_ = read_statement(text.encode("utf-8"), today=TODAY)  # half-width kana are 3 bytes in UTF-8
    assert st_.format == "zengin" and rows(st_) == rows(read("zengin_furikomi.dat"))


def test_zengin_truncated_file_reports_instead_of_crashing() -> None:
    data = fixture("zengin_furikomi.dat")[: 200 * 4 + 77]
    st_ = read_statement(data, today=TODAY)
    assert [t.line for t in st_.transfers] == [2, 3, 4]
    assert st_.skipped == (
        Skipped(5, "truncated record (77 of 200 bytes)"),
        Skipped(5, "file ends without a trailer record; it may be incomplete"),
    )


def test_zengin_trailer_mismatch_is_reported() -> None:
    records = [r for r in fixture("zengin_nyushukkin.dat").split(b"\r\n") if r]
    del records[3]  # lose one 1,000 yen deposit
    st_ = read_statement(b"\r\n".join(records), today=TODAY)
    assert len(st_.transfers) == 6
    assert st_.skipped[-1] == Skipped(
        9, "trailer says 7 deposits totalling 7500 yen but 6 totalling 6500 yen were read; the file may be incomplete"
    )


def test_zengin_bad_fields_are_skipped_with_reasons() -> None:
    records = [r for r in fixture("zengin_nyushukkin.dat").split(b"\r\n") if r]
    bad_date = records[1][:9] + b"081340" + records[1][15:]
    bad_amount = records[2][:24] + b"00000000X000" + records[2][36:]
    zero = records[3][:24] + b"0" * 12 + records[3][36:]
    odd_type = b"7" + records[4][1:]
    data = b"\r\n".join([records[0], bad_date, bad_amount, zero, odd_type, *records[5:]])
    st_ = read_statement(data, today=TODAY)
    assert st_.skipped[:4] == (
        Skipped(2, "勘定日 is not a valid 和暦 YYMMDD date"),
        Skipped(3, "amount is not a number"),
        Skipped(4, "withdrawal or no deposit"),
        Skipped(5, "unknown record type (expected 1, 2, 8 or 9)"),
    )


def test_zengin_unsupported_variants_raise_statement_error() -> None:
    header = fixture("zengin_furikomi.dat")[:200]
    with pytest.raises(StatementError, match="種別コード 21"):
        read_statement(b"121" + header[3:] + b"9" + b" " * 199)
    with pytest.raises(StatementError, match="EBCDIC"):
        read_statement(header[:3] + b"1" + header[4:] + b"9" + b" " * 199)
    old = (b"1010" + b"0" * 18 + b" " * 98) + (b"2" + b"0" * 119) + (b"8" + b"0" * 119) + (b"9" + b" " * 119)
    assert len(old) == 480
    with pytest.raises(StatementError, match="120-byte"):
        read_statement(old)
    with pytest.raises(StatementError, match="120-byte"):
        read_statement(b"\r\n".join(old[i : i + 120] for i in range(0, 480, 120)))


# ------------------------------------------------------------------ zengin era rule


@pytest.mark.parametrize(
    ("yymmdd", "today", "expected"),
    [
        ("081129", TODAY, D(2026, 11, 29)),  # 令和8
        ("010501", TODAY, D(2019, 5, 1)),  # 令和元年
        ("080101", TODAY, D(2026, 1, 1)),
        ("090101", TODAY, D(1997, 1, 1)),  # 9 > 令和8 -> 平成9
        ("310430", TODAY, D(2019, 4, 30)),  # 平成31
        ("090101", D(2027, 1, 4), D(2027, 1, 1)),  # a year later 09 is 令和9
        ("320101", TODAY, None),
        ("000101", TODAY, None),
        ("081340", TODAY, None),
        ("0811AA", TODAY, None),
        ("08112", TODAY, None),
    ],
)
def test_zengin_date(yymmdd: str, today: dt.date, expected: dt.date | None) -> None:
    assert zengin_date(yymmdd, today) == expected


# ------------------------------------------------------------------ dates, amounts, names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026/11/29", D(2026, 11, 29)),
        ("2026-11-29", D(2026, 11, 29)),
        ("2026.11.29", D(2026, 11, 29)),
        ("20261129", D(2026, 11, 29)),
        ("2026年11月29日", D(2026, 11, 29)),
        ("２０２６/１１/２９", D(2026, 11, 29)),
        ("2026/1/5", D(2026, 1, 5)),
        ("2026/11/29 10:15", D(2026, 11, 29)),
        ("令和8年11月29日", D(2026, 11, 29)),
        ("R8.11.29", D(2026, 11, 29)),
        ("R08/11/29", D(2026, 11, 29)),
        ("r8.11.29", D(2026, 11, 29)),
        ("H31.4.30", D(2019, 4, 30)),
        ("平成31年4月30日", D(2019, 4, 30)),
        ("令和元年5月1日", D(2019, 5, 1)),
        ("㋿8年11月29日", D(2026, 11, 29)),
        ("令和８年１２月１日", D(2026, 12, 1)),
        ("2026/02/30", None),
        ("20261329", None),
        ("合計", None),
        ("", None),
        ("11/29", None),
        ("令和0年1月1日", None),
    ],
)
def test_parse_date(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1000", 1000), ("1,000", 1000), ("¥1,000", 1000), ("￥1,000", 1000), ("1,000円", 1000),
        ("１，０００", 1000), (" 2000 ", 2000), ("1000.00", 1000), ("+500", 500), ("-500", -500),
        ("△500", -500), ("▲1,000", -1000), ("", 0), ("-", 0), ("abc", None), ("10.5", None), ("1 000x", None),
    ],
)
def test_parse_amount(text: str, expected: int | None) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ｶ)ﾔﾏﾀﾞﾀﾛｳ", "カ)ヤマダタロウ"),
        ("ﾊﾟﾝ ﾎﾞｳﾙ", "パン ボウル"),
        ("ｶﾌﾞｼｷｶﾞｲｼｬ abc", "カブシキガイシャ ABC"),
        ("　ヤマダ　　タロウ  ", "ヤマダ タロウ"),
        ("ＡＢＣ１２３", "ABC123"),
    ],
)
def test_normalize_payer(raw: str, expected: str) -> None:
    assert normalize_payer(raw) == expected


# ------------------------------------------------------------------ column mapping


def test_parse_mapping() -> None:
    assert parse_mapping("date=取引日,amount=入金額,payer=摘要") == ColumnMapping("取引日", "入金額", "摘要")
    assert parse_mapping("date=0, amount=2 ,payer=4,withdrawal=3") == ColumnMapping(0, 2, 4, 3)
    assert parse_mapping("ｄａｔｅ＝０，amount=入金額(円),payer=1") == ColumnMapping(0, "入金額", 1)
    for bad in ("", "date=0,amount=1", "date=0,amount=1,payer=2,colour=3", "date=0,date=1,amount=2,payer=3",
                "date0,amount=1,payer=2", "date=,amount=1,payer=2"):
        with pytest.raises(StatementError, match="--columns"):
            parse_mapping(bad)


UNUSUAL = "\r\n".join([
    "年,お客様メモ,入ったお金,ご依頼主",
    "2026/11/29,x,1000,20261129-001 ﾔﾏﾀﾞ",
    "2026/11/30,y,0,ﾎｹﾞ",
]).encode("cp932")


def test_unrecognised_header_asks_for_columns() -> None:
    with pytest.raises(StatementError, match=r"--columns date=…,amount=…,payer=…"):
        read_statement(UNUSUAL)


def test_mapping_by_header_name() -> None:
    st_ = read_statement(UNUSUAL, parse_mapping("date=年,amount=入ったお金,payer=ご依頼主"))
    assert rows(st_) == [(2, D(2026, 11, 29), 1000, "20261129-001 ヤマダ")]
    assert st_.skipped == (Skipped(3, "withdrawal or no deposit"),)
    with pytest.raises(StatementError, match="--columns"):
        read_statement(UNUSUAL, parse_mapping("date=年,amount=金額,payer=ご依頼主"))


def test_mapping_by_index_without_header() -> None:
    data = "2026/11/29,1000,,20261129-001 ﾔﾏﾀﾞ\n2026/11/30,,300,ｺｳｷﾝ\nshort\n".encode()
    st_ = read_statement(data, ColumnMapping(date=0, amount=1, payer=3, withdrawal=2))
    assert rows(st_) == [(1, D(2026, 11, 29), 1000, "20261129-001 ヤマダ")]
    assert st_.skipped == (
        Skipped(2, "withdrawal or no deposit"),
        Skipped(3, "only 1 columns; not a transaction row"),
    )


def test_mapping_by_index_skips_a_header_row() -> None:
    data = "日付,入金額,出金額,摘要\n2026/11/29,1000,,A\n".encode()
    st_ = read_statement(data, ColumnMapping(0, 1, 3))
    assert rows(st_) == [(2, D(2026, 11, 29), 1000, "A")] and st_.skipped == ()


def test_mufg_style_header_prefers_detail_column() -> None:
    data = "\r\n".join([
        "日付,摘要,摘要内容,支払い金額,預かり金額,差引残高,メモ",
        '2026/11/29,振込１,20261129-001 ﾔﾏﾀﾞ ﾀﾛｳ,,"1,000","101,000",',
        '2026/11/30,口座振替,ﾃﾞﾝｷ,"3,000",,"98,000",',
    ]).encode("cp932")
    st_ = read_statement(data)
    assert rows(st_) == [(2, D(2026, 11, 29), 1000, "20261129-001 ヤマダ タロウ")]
    assert st_.skipped == (Skipped(3, "withdrawal or no deposit"),)


def test_single_signed_amount_column_and_tabs() -> None:
    data = "取引日\t金額\t残高\t振込依頼人名\n2026/11/29\t1,000\t5\tA\n2026/11/29\t-700\t5\tB\n2026/11/30\tx\t5\tC\n"
    st_ = read_statement(data.encode("utf-8"))
    assert rows(st_) == [(2, D(2026, 11, 29), 1000, "A")]
    assert st_.skipped == (
        Skipped(3, "withdrawal or no deposit"),
        Skipped(4, "deposit amount not understood"),
    )


def test_quoted_multiline_cell_keeps_line_numbers() -> None:
    data = '日付,摘要,入金額\n2026/11/29,"A\nB",1000\n2026/11/30,C,2000\n'.encode()
    assert [(t.line, t.payer) for t in read_statement(data).transfers] == [(2, "A B"), (4, "C")]


# ------------------------------------------------------------------ never crash, never leak names


def _no_payer_in_reasons(st_: Statement) -> None:
    for s in st_.skipped:
        assert not re.search(r"[\u30a0-\u30ff\uff66-\uff9f]", s.reason), s  # no katakana names echoed


def test_reasons_never_contain_payer_names() -> None:
    for name in builder.FILES:
        _no_payer_in_reasons(read(name))
    data = "日付,摘要,入金額\n2026/13/01,ヤマダ,1000\nヤマダ,ヤマダ,ヤマダ\n2026/11/29,ヤマダ,ヤマダ\n".encode()
    st_ = read_statement(data)
    assert len(st_.skipped) == 3
    _no_payer_in_reasons(st_)


@pytest.mark.parametrize(
    "data",
    [b"", b"   \r\n", b"\xff\xfe\x00\x01", b"\x81\x39\x82", b"\x00" * 50, b"1" * 500, b"1" * 200,
     b"1030" + b"0" * 18, b"\xef\xbb\xbf", b'"unterminated,1\n' * 3, b"a,b,c\n1,2,3\n"],
)
def test_garbage_gives_statement_error_or_skips(data: bytes) -> None:
    try:
        st_ = read_statement(data)
    except StatementError as exc:
        assert str(exc)
    else:
        assert not st_.transfers or st_.format in ("csv", "zengin")


def test_random_bytes_never_raise_anything_else() -> None:
    rnd = random.Random(20261129)
    samples = [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 700))) for _ in range(300)]
    for name in builder.FILES:  # damaged copies of the real files
        data = fixture(name)
        for _ in range(40):
            cut = rnd.randrange(len(data))
            flipped = bytearray(data)
            flipped[rnd.randrange(len(data))] = rnd.randrange(256)
            samples += [data[:cut], bytes(flipped)]
    for data in samples:
        with contextlib.suppress(StatementError):
            read_statement(data, today=TODAY)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1200))
def test_any_bytes_statement_or_statement_error(data: bytes) -> None:
    try:
        st_ = read_statement(data, today=TODAY)
    except StatementError:
        return
    assert all(t.amount_yen > 0 for t in st_.transfers)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789,\"\r\n 日付摘要入金額出/-ｱｲｳ令和年月R.", max_size=300))
def test_any_csvish_text_statement_or_statement_error(text: str) -> None:
    for enc in ("utf-8", "cp932"):
        with contextlib.suppress(StatementError):
            read_statement(text.encode(enc), today=TODAY)


def test_undecodable_bytes_statement_error() -> None:
    with pytest.raises(StatementError, match="neither UTF-8 nor Shift_JIS"):
        read_statement("日付,摘要,入金額\n".encode("cp932") + b"\x81\x20\xa0\xfd\n")
