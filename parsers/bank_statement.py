"""Bank statement files (入出金明細) -> deposits, for matching fee payments.

Pure parsing: bytes in, a `Statement` out; no I/O, no database.  Two families:

* 全銀協 fixed-length records ("zengin"): 200-byte 入出金取引明細 (種別コード 03) and
  振込入金通知 (種別コード 01), with or without CR/LF between records, Shift_JIS (cp932).
  The 120-byte old form is recognised and refused with a clear message.
* Generic CSV (or TSV) exported from internet banking, UTF-8 (BOM or not) or cp932.
  The header row is found by its Japanese column names, or the caller gives a
  `ColumnMapping` (see `parse_mapping`).

Only deposits become `Transfer`s.  Rows that are not usable deposits are returned
as `Skipped` with an English reason that never repeats the payer name.  A file that
cannot be read at all raises `StatementError`, whose message says what to do.

全銀 dates are 和暦 YYMMDD without the era.  Rule used here: YY <= the current 令和
year (taken from `today`, default the local date) is 令和 (2018 + YY), otherwise
平成 (1988 + YY, valid up to 平成31).  Banks that were set up to send 西暦 YYMMDD
instead are not detected; such a file gives wrong years, so check one line.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ColumnMapping",
    "Skipped",
    "Statement",
    "StatementError",
    "Transfer",
    "normalize_payer",
    "parse_amount",
    "parse_date",
    "parse_mapping",
    "read_statement",
    "zengin_date",
]


@dataclass(frozen=True)
class Transfer:
    line: int  # 1-based line (CSV) or record (全銀) number, for staff to find it
    booked_on: dt.date
    amount_yen: int  # deposits only, > 0
    payer: str  # normalize_payer() of the payer name / 摘要
    fingerprint: str  # sha256 hex, stable across re-imports of the same export


@dataclass(frozen=True)
class Skipped:
    line: int
    reason: str  # English, never contains the payer name


@dataclass(frozen=True)
class Statement:
    format: str  # "zengin" | "csv"
    transfers: tuple[Transfer, ...]
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class ColumnMapping:
    date: int | str
    amount: int | str
    payer: int | str  # 0-based index or header name
    withdrawal: int | str | None = None  # separate 出金 column: rows with a value there are skipped


class StatementError(ValueError):
    """The whole file is unusable; the message says what to do."""


COLUMNS_HINT = "give --columns date=…,amount=…,payer=… (header names or 0-based column numbers)"
NO_DEPOSIT = "withdrawal or no deposit"

# --------------------------------------------------------------------------- text helpers

_LOWER_LATIN = re.compile(r"[a-z]+")


def normalize_payer(text: str) -> str:
    """NFKC (full-width ASCII -> ASCII, half-width ｶﾅ -> full-width カナ with ﾞ/ﾟ combined),
    upper-case latin letters, runs of whitespace -> one space, trimmed."""
    text = unicodedata.normalize("NFKC", text)
    text = _LOWER_LATIN.sub(lambda m: m.group(0).upper(), text)
    return " ".join(text.split())


def _fingerprint(booked_on: dt.date, amount: int, payer: str, reference: str) -> str:
    blob = "\x1f".join((booked_on.isoformat(), str(amount), payer, reference))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _decode(data: bytes) -> tuple[str, str]:
    """(text, codec): strict UTF-8 (BOM dropped) first, then strict cp932."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError:
        raise StatementError(
            "the file is neither UTF-8 nor Shift_JIS (cp932) text; export it again as CSV or 全銀 format"
        ) from None


# --------------------------------------------------------------------------- dates

# 元号 -> the Gregorian year of its year 0 (令和1 = 2019, 平成1 = 1989, 昭和1 = 1926).
_ERA_BASE = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988, "昭和": 1925, "S": 1925}
_SEP = r"\s*[./\-]\s*"
_TIME_TAIL = r"(?:[\sT].*)?"
_WESTERN = re.compile(rf"(\d{{4}})(?:{_SEP}|\s*年\s*)(\d{{1,2}})(?:{_SEP}|\s*月\s*)(\d{{1,2}})\s*日?{_TIME_TAIL}")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_WAREKI = re.compile(
    rf"(令和|平成|昭和|R|H|S)\s*(元|\d{{1,2}})(?:{_SEP}|\s*年\s*)(\d{{1,2}})(?:{_SEP}|\s*月\s*)(\d{{1,2}})\s*日?{_TIME_TAIL}"
)


def _make_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str) -> dt.date | None:
    """2026/11/29, 2026-11-29, 2026.11.29, 20261129, 2026年11月29日, 令和8年11月29日,
    R8.11.29, R08/11/29, H31.4.30, 令和元年5月1日 (full-width forms too); else None."""
    s = unicodedata.normalize("NFKC", text).strip().upper()  # NFKC also turns ㋿ into 令和
    if m := _WESTERN.fullmatch(s):
        return _make_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _COMPACT.fullmatch(s):
        return _make_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _WAREKI.fullmatch(s):
        year = 1 if m[2] == "元" else int(m[2])
        if year < 1:
            return None
        return _make_date(_ERA_BASE[m[1]] + year, int(m[3]), int(m[4]))
    return None


def zengin_date(yymmdd: str, today: dt.date | None = None) -> dt.date | None:
    """全銀 和暦 YYMMDD -> date.  YY <= current 令和 year -> 令和, else 平成 (YY <= 31)."""
    if len(yymmdd) != 6 or not yymmdd.isascii() or not yymmdd.isdigit():
        return None
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    reiwa_now = (today or dt.date.today()).year - _ERA_BASE["令和"]
    if 1 <= yy <= reiwa_now:
        return _make_date(_ERA_BASE["令和"] + yy, mm, dd)
    if 1 <= yy <= 31:
        return _make_date(_ERA_BASE["平成"] + yy, mm, dd)
    return None


# --------------------------------------------------------------------------- amounts

_AMOUNT = re.compile(r"([+\-]?)(\d+)(?:\.0+)?")


def parse_amount(text: str) -> int | None:
    """'1,000' '¥1,000' '1000円' '１，０００' -> 1000; '' or '-' -> 0; '-500' '△500' -> -500;
    anything else -> None."""
    s = unicodedata.normalize("NFKC", text)
    s = s.replace("△", "-").replace("▲", "-").replace("−", "-")
    for junk in (",", "¥", "\\", "円", " ", "\u3000"):
        s = s.replace(junk, "")
    if s in ("", "-", "+", "--"):
        return 0
    m = _AMOUNT.fullmatch(s)
    if not m:
        return None
    value = int(m[2])
    return -value if m[1] == "-" else value


# --------------------------------------------------------------------------- column mapping

_MAPPING_KEYS = ("date", "amount", "payer", "withdrawal")


def _norm_header(cell: str) -> str:
    s = unicodedata.normalize("NFKC", cell)
    s = re.sub(r"\((?:円|¥|\\|JPY)\)", "", s)
    return "".join(s.split()).strip("\"'")


def parse_mapping(spec: str) -> ColumnMapping:
    """'date=取引日,amount=入金額,payer=摘要' or 'date=0,amount=2,payer=4' (optional withdrawal=…)."""
    usage = "expected --columns date=…,amount=…,payer=…[,withdrawal=…] (header names or 0-based column numbers)"
    values: dict[str, int | str] = {}
    for part in unicodedata.normalize("NFKC", spec).split(","):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not eq or key not in _MAPPING_KEYS or not value:
            raise StatementError(f"cannot read column spec part {part.strip()!r}; {usage}")
        if key in values:
            raise StatementError(f"column {key!r} given twice; {usage}")
        values[key] = int(value) if value.isdigit() else _norm_header(value)
    missing = [k for k in _MAPPING_KEYS[:3] if k not in values]
    if missing:
        raise StatementError(f"missing {', '.join(missing)}; {usage}")
    return ColumnMapping(values["date"], values["amount"], values["payer"], values.get("withdrawal"))


# Header names seen in Japanese bank exports, best first.  Exact matches win over
# "contains" matches; each role has words that rule a column out.
_DATE_NAMES = ("取引日", "お取引日", "日付", "勘定日", "年月日", "取扱日", "お取扱日", "入金日")
_DEPOSIT_NAMES = ("入金額", "お預り金額", "お預入金額", "預入金額", "入金", "お預かり金額", "預かり金額", "入金金額",
                  "お預入れ金額", "預入額")
_AMOUNT_NAMES = ("金額", "取引金額", "お取引金額")
_PAYER_NAMES = ("振込依頼人名", "依頼人名", "振込依頼人", "摘要内容", "お取引内容", "取引内容", "摘要", "内容", "備考")
_WITHDRAWAL_NAMES = ("出金額", "お引出金額", "お支払金額", "出金", "支払金額", "お引出し金額", "引出金額", "支払い金額",
                     "払出金額")
_DATE_NOT = ("起算",)
_DEPOSIT_NOT = ("出", "払", "引", "残")
_AMOUNT_NOT = ("出", "払", "引", "残", "入", "預")
_WITHDRAWAL_NOT = ("入", "預", "残")
_PAYER_NOT = ("日", "金額", "残高")


def _pick(cells: Sequence[str], names: Sequence[str], exclude: Sequence[str], taken: set[int]) -> int | None:
    for name in names:
        for i, cell in enumerate(cells):
            if i not in taken and cell == name:
                return i
    for name in names:
        if len(name) < 2:
            continue
        for i, cell in enumerate(cells):
            if i not in taken and name in cell and not any(bad in cell for bad in exclude):
                return i
    return None


def _auto_columns(row: Sequence[str]) -> ColumnMapping | None:
    cells = [_norm_header(c) for c in row]
    taken: set[int] = set()
    date = _pick(cells, _DATE_NAMES, _DATE_NOT, taken)
    if date is None:
        return None
    taken.add(date)
    withdrawal = _pick(cells, _WITHDRAWAL_NAMES, _WITHDRAWAL_NOT, taken)
    if withdrawal is not None:
        taken.add(withdrawal)
    amount = _pick(cells, _DEPOSIT_NAMES, _DEPOSIT_NOT, taken)
    if amount is None:
        amount = _pick(cells, _AMOUNT_NAMES, _AMOUNT_NOT, taken)
    if amount is None:
        return None
    taken.add(amount)
    payer = _pick(cells, _PAYER_NAMES, _PAYER_NOT, taken)
    if payer is None:
        return None
    return ColumnMapping(date, amount, payer, withdrawal)


# --------------------------------------------------------------------------- CSV

_HEADER_SCAN_ROWS = 10


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """(first physical line number, cells) for every record."""
    head = text.splitlines()[:_HEADER_SCAN_ROWS]
    tabs, commas = sum(h.count("\t") for h in head), sum(h.count(",") for h in head)
    delimiter = "\t" if tabs > commas else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    previous = 0
    try:
        for cells in reader:
            rows.append((previous + 1, cells))
            previous = reader.line_num
    except csv.Error as exc:
        raise StatementError(
            f"line {previous + 1} is not valid CSV ({exc}); check the file is the bank's CSV export"
        ) from None
    return rows


def _resolve(mapping: ColumnMapping, header: Sequence[str]) -> ColumnMapping | None:
    cells = [_norm_header(c) for c in header]

    def index(col: int | str | None) -> int | None:
        if col is None or isinstance(col, int):
            return col
        name = _norm_header(col)
        return cells.index(name) if name in cells else -1

    date, amount, payer, withdrawal = (index(c) for c in (mapping.date, mapping.amount, mapping.payer,
                                                           mapping.withdrawal))
    if date is None or amount is None or payer is None or -1 in (date, amount, payer, withdrawal):
        return None
    return ColumnMapping(date, amount, payer, withdrawal)


def _find_header(
    rows: Sequence[tuple[int, list[str]]], mapping: ColumnMapping | None
) -> tuple[int, ColumnMapping]:
    """(index of the first data row, mapping with integer columns)."""
    by_name = mapping is not None and any(
        isinstance(c, str) for c in (mapping.date, mapping.amount, mapping.payer, mapping.withdrawal)
    )
    for i, (_, cells) in enumerate(rows[:_HEADER_SCAN_ROWS]):
        if mapping is None:
            found = _auto_columns(cells)
        elif by_name:
            found = _resolve(mapping, cells)
        else:
            found = mapping if _auto_columns(cells) is not None else None  # skip a header row if there is one
        if found is not None:
            return i + 1, found
    if mapping is None:
        raise StatementError(
            f"could not find the date, deposit amount and payer columns in the first {_HEADER_SCAN_ROWS} rows; "
            + COLUMNS_HINT
        )
    if by_name:
        raise StatementError(
            f"the named columns were not all found in one of the first {_HEADER_SCAN_ROWS} rows; " + COLUMNS_HINT
        )
    return 0, mapping


def _cell(cells: Sequence[str], col: int | str | None) -> str | None:
    if not isinstance(col, int):
        return None
    return cells[col].strip() if col < len(cells) else None


def _read_csv(text: str, mapping: ColumnMapping | None) -> Statement:
    rows = _csv_rows(text)
    if not rows:
        raise StatementError("the file is empty")
    start, cols = _find_header(rows, mapping)
    transfers: list[Transfer] = []
    skipped: list[Skipped] = []
    for line, cells in rows[start:]:
        if not any(c.strip() for c in cells):
            skipped.append(Skipped(line, "blank line"))
            continue
        raw_date, raw_amount, raw_payer = (_cell(cells, c) for c in (cols.date, cols.amount, cols.payer))
        if raw_date is None or raw_amount is None or raw_payer is None:
            skipped.append(Skipped(line, f"only {len(cells)} columns; not a transaction row"))
            continue
        booked_on = parse_date(raw_date)
        if booked_on is None:
            reason = "no date (footer or note?)" if not raw_date else "date not recognised (footer or note?)"
            skipped.append(Skipped(line, reason))
            continue
        raw_withdrawal = _cell(cells, cols.withdrawal)
        if raw_withdrawal:
            out = parse_amount(raw_withdrawal)
            if out is None:
                skipped.append(Skipped(line, "withdrawal amount not understood"))
                continue
            if out != 0:
                skipped.append(Skipped(line, NO_DEPOSIT))
                continue
        amount = parse_amount(raw_amount)
        if amount is None:
            skipped.append(Skipped(line, "deposit amount not understood"))
            continue
        if amount <= 0:
            skipped.append(Skipped(line, NO_DEPOSIT))
            continue
        payer = normalize_payer(raw_payer)
        raw_line = "\x1e".join(c.strip() for c in cells)
        transfers.append(Transfer(line, booked_on, amount, payer, _fingerprint(booked_on, amount, payer, raw_line)))
    return Statement("csv", tuple(transfers), tuple(skipped))


# --------------------------------------------------------------------------- 全銀 (zengin)

ZENGIN_RECORD = 200
ZENGIN_OLD_RECORD = 120
KIND_FURIKOMI = "01"  # 振込入金通知
KIND_NYUSHUKKIN = "03"  # 入出金取引明細

# Header record (both kinds), 全銀協 record format, 0-based [start, end) byte offsets:
#   データ区分 1 ('1') [0,1) | 種別コード 2 [1,3) | コード区分 1 [3,4) (0=JIS/SJIS, 1=EBCDIC)
#   | 作成日 6 [4,10) | 勘定日(自) 6 [10,16) | 勘定日(至) 6 [16,22) | 銀行コード 4 | 銀行名 15 | 支店… (not used)
HDR_KIND = slice(1, 3)
HDR_CODE = slice(3, 4)
HDR_NUMERIC_PREFIX = 22  # 区分+種別+コード区分+3 dates: all digits in every header

# 入出金取引明細 (種別 03) data record, 200 bytes:
#   データ区分 1 ('2') [0,1) | 照会番号 8 [1,9) | 勘定日 6 [9,15) | 預入・払出日(起算日) 6 [15,21)
#   | 入払区分 1 [21,22) (1=入金, 2=出金) | 取引区分 2 [22,24) | 取引金額 12 [24,36)
#   | うち他店券金額 12 [36,48) | 交換呈示日 6 [48,54) | 不渡返還日 6 [54,60) | 手形・小切手区分 1 [60,61)
#   | 手形・小切手番号 7 [61,68) | 僚店番号 3 [68,71) | 振込依頼人コード 10 [71,81)
#   | 振込依頼人名又は契約者番号 48 [81,129) | 仕向銀行名 15 [129,144) | 仕向店名 15 [144,159)
#   | 摘要内容 20 [159,179) | EDI情報 20 [179,199) | ダミー 1 [199,200)
NK_REF = slice(1, 9)
NK_BOOKED = slice(9, 15)
NK_DIRECTION = slice(21, 22)
NK_AMOUNT = slice(24, 36)
NK_PAYER = slice(81, 129)
# 入出金取引明細 trailer ('8'): 入金件数 6 [1,7) | 入金額合計 13 [7,20) | 出金件数 6 [20,26)
#   | 出金額合計 13 [26,39) | 貸越区分 1 | 取引後残高 14 | データ・レコード件数 7 | ダミー 139
NK_TR_COUNT = slice(1, 7)
NK_TR_TOTAL = slice(7, 20)

# 振込入金通知 (種別 01) data record, 200 bytes:
#   データ区分 1 ('2') [0,1) | 照会番号 6 [1,7) | 勘定日 6 [7,13) | 起算日 6 [13,19) | 金額 10 [19,29)
#   | うち他店券金額 10 [29,39) | 振込依頼人コード 10 [39,49) | 振込依頼人名 48 [49,97)
#   | 仕向銀行名 15 [97,112) | 仕向店名 15 [112,127) | 取消区分 1 [127,128) (1=取消)
#   | EDI情報 20 [128,148) | ダミー 52 [148,200)
FK_REF = slice(1, 7)
FK_BOOKED = slice(7, 13)
FK_AMOUNT = slice(19, 29)
FK_PAYER = slice(49, 97)
FK_CANCEL = slice(127, 128)
# 振込入金通知 trailer ('8'): 合計件数 6 [1,7) | 合計金額 12 [7,19) | 取消件数 6 [19,25)
#   | 取消金額 12 [25,37) | ダミー 163
FK_TR_COUNT = slice(1, 7)
FK_TR_TOTAL = slice(7, 19)
FK_TR_CANCEL_COUNT = slice(19, 25)
FK_TR_CANCEL_TOTAL = slice(25, 37)


def _digits(field: bytes) -> int | None:
    return int(field) if field and field.isdigit() else None


def _zengin_records(raw: bytes) -> tuple[list[tuple[int, bytes]], bool] | None:
    """([(line or record number, record bytes)], separated by line breaks) if `raw` looks like
    a 全銀 file, else None."""
    raw = raw.rstrip(b"\x1a")  # DOS end-of-file mark
    separated = b"\r" in raw or b"\n" in raw
    if separated:
        numbered = [(i, rec) for i, rec in enumerate(raw.splitlines(), 1) if rec.strip()]
    else:
        size = ZENGIN_RECORD
        if len(raw) % ZENGIN_RECORD and not len(raw) % ZENGIN_OLD_RECORD and raw[120:121] in (b"2", b"8", b"9"):
            size = ZENGIN_OLD_RECORD
        numbered = [(i // size + 1, raw[i : i + size]) for i in range(0, len(raw), size)]
    if not numbered:
        return None
    first = numbered[0][1]
    prefix = first[:HDR_NUMERIC_PREFIX]
    if first[:1] != b"1" or len(prefix) < HDR_NUMERIC_PREFIX or not prefix.isdigit():
        return None
    return numbered, separated


@dataclass
class _Group:
    kind: str
    header_line: int
    deposits: int = 0
    deposit_total: int = 0
    records: int = 0
    records_total: int = 0
    cancelled: int = 0
    cancelled_total: int = 0


def _check_trailer(group: _Group, rec: bytes, line: int) -> Skipped | None:
    if group.kind == KIND_NYUSHUKKIN:
        count, total = _digits(rec[NK_TR_COUNT]), _digits(rec[NK_TR_TOTAL])
        if count is None or total is None:
            return Skipped(line, "trailer record is unreadable; the file may be damaged")
        if (count, total) != (group.deposits, group.deposit_total):
            return Skipped(line, f"trailer says {count} deposits totalling {total} yen but {group.deposits} "
                                 f"totalling {group.deposit_total} yen were read; the file may be incomplete")
        return None
    count, total = _digits(rec[FK_TR_COUNT]), _digits(rec[FK_TR_TOTAL])
    c_count, c_total = _digits(rec[FK_TR_CANCEL_COUNT]), _digits(rec[FK_TR_CANCEL_TOTAL])
    if count is None or total is None or c_count is None or c_total is None:
        return Skipped(line, "trailer record is unreadable; the file may be damaged")
    # Banks differ on whether 合計 includes the 取消 records; accept either reading.
    all_ok = (count, total) == (group.records, group.records_total)
    net_ok = (count, total) == (group.records - group.cancelled, group.records_total - group.cancelled_total)
    if not (all_ok or net_ok):
        return Skipped(line, f"trailer says {count} records totalling {total} yen but {group.records} "
                             f"totalling {group.records_total} yen were read; the file may be incomplete")
    return None


def _read_zengin(records: list[tuple[int, bytes]], separated: bool, today: dt.date) -> Statement:
    first = records[0][1]
    if len(first) == ZENGIN_OLD_RECORD:
        raise StatementError(
            "this is a 120-byte 全銀 file, which is not supported; export the 200-byte 全銀 format or a CSV"
        )
    transfers: list[Transfer] = []
    skipped: list[Skipped] = []
    group: _Group | None = None
    ended = False
    for line, rec in records:
        if len(rec) > ZENGIN_RECORD:
            skipped.append(Skipped(line, f"record is {len(rec)} bytes, expected {ZENGIN_RECORD}"))
            continue
        kind_byte = rec[:1]
        if kind_byte == b"1":
            kind = rec[HDR_KIND].decode("ascii", "replace")
            if kind not in (KIND_FURIKOMI, KIND_NYUSHUKKIN):
                raise StatementError(
                    f"this 全銀 file has 種別コード {kind}, not a statement; export 入出金取引明細 (03) "
                    "or 振込入金通知 (01)"
                )
            if rec[HDR_CODE] == b"1":
                raise StatementError("this 全銀 file is EBCDIC (コード区分 1); export it in JIS/Shift_JIS")
            if group is not None:
                skipped.append(Skipped(line, "header record before the previous trailer; the file may be incomplete"))
            group = _Group(kind, line)
            ended = False
            continue
        if kind_byte == b"8":
            if group is None:
                skipped.append(Skipped(line, "trailer record without a header record"))
            else:
                problem = _check_trailer(group, rec, line)
                if problem is not None:
                    skipped.append(problem)
            group = None
            continue
        if kind_byte == b"9":
            ended = True
            continue
        if kind_byte != b"2":
            skipped.append(Skipped(line, "unknown record type (expected 1, 2, 8 or 9)"))
            continue
        if group is None:
            skipped.append(Skipped(line, "data record outside a header/trailer group"))
            continue
        if len(rec) < ZENGIN_RECORD and separated:
            rec = rec.ljust(ZENGIN_RECORD)  # some tools strip trailing spaces from each line
        if len(rec) < ZENGIN_RECORD:
            skipped.append(Skipped(line, f"truncated record ({len(rec)} of {ZENGIN_RECORD} bytes)"))
            continue
        result = _zengin_data(group, rec, line, today)
        if isinstance(result, Skipped):
            skipped.append(result)
        else:
            transfers.append(result)
    if group is not None:
        skipped.append(Skipped(records[-1][0], "file ends without a trailer record; it may be incomplete"))
    elif not ended:
        skipped.append(Skipped(records[-1][0], "file ends without an end record (9); it may be incomplete"))
    return Statement("zengin", tuple(transfers), tuple(skipped))


def _zengin_data(group: _Group, rec: bytes, line: int, today: dt.date) -> Transfer | Skipped:
    nk = group.kind == KIND_NYUSHUKKIN
    amount = _digits(rec[NK_AMOUNT] if nk else rec[FK_AMOUNT])
    if nk:
        direction = rec[NK_DIRECTION]
        if direction == b"1" and amount is not None:
            group.deposits += 1
            group.deposit_total += amount
        if direction == b"2":
            return Skipped(line, NO_DEPOSIT)
        if direction != b"1":
            return Skipped(line, "unknown 入払区分 (expected 1 or 2)")
    elif amount is not None:
        group.records += 1
        group.records_total += amount
        if rec[FK_CANCEL] == b"1":
            group.cancelled += 1
            group.cancelled_total += amount
            return Skipped(line, "cancellation (取消) record; check the original transfer by hand")
    if amount is None:
        return Skipped(line, "amount is not a number")
    if amount <= 0:
        return Skipped(line, NO_DEPOSIT)
    booked_field = rec[NK_BOOKED] if nk else rec[FK_BOOKED]
    booked_on = zengin_date(booked_field.decode("ascii", "replace"), today)
    if booked_on is None:
        return Skipped(line, "勘定日 is not a valid 和暦 YYMMDD date")
    try:
        payer_raw = (rec[NK_PAYER] if nk else rec[FK_PAYER]).decode("cp932")
    except UnicodeDecodeError:
        return Skipped(line, "payer name is not valid Shift_JIS")
    payer = normalize_payer(payer_raw)
    reference = (rec[NK_REF] if nk else rec[FK_REF]).decode("ascii", "replace")
    return Transfer(line, booked_on, amount, payer, _fingerprint(booked_on, amount, payer, f"{group.kind}:{reference}"))


# --------------------------------------------------------------------------- entry point


def read_statement(data: bytes, mapping: ColumnMapping | None = None, *, today: dt.date | None = None) -> Statement:
    """Parse a bank export.  `mapping` applies to CSV only; `today` fixes the 全銀 era rule."""
    if not data.strip():
        raise StatementError("the file is empty")
    text, codec = _decode(data)
    if codec == "cp932":
        raw = data
    else:
        try:
            raw = text.encode("cp932")  # 全銀 offsets are Shift_JIS bytes (half-width kana = 1 byte)
        except UnicodeEncodeError:
            raw = b""
    found = _zengin_records(raw) if raw else None
    if found is not None:
        return _read_zengin(*found, today or dt.date.today())
    if "\x00" in text:
        raise StatementError("the file contains NUL bytes; it is not a CSV or 全銀 text export")
    return _read_csv(text, mapping)
