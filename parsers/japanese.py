"""Japanese text helpers: normalisation, dates, and the individual number (マイナンバー).

Documents reach us as PDF text layers and OCR output, which spell the same thing many
ways: full-width digits, spaced titles (印 鑑 登 録 証 明 書), old kanji forms (證, 號),
era dates (令和7年5月27日, 平成元年, R7.5.27, 令和七年五月二十七日). Matching is done on
`compact()` text so that these differences do not matter.

The individual number must never be kept readable (番号法), so `find_my_numbers` errs
towards precision on labels (a licence number is not a My Number) but accepts every
spelling of the digits themselves. Nothing here logs or prints document contents.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "DateMatch",
    "compact",
    "find_dates",
    "find_my_numbers",
    "fold_kanji",
    "mask_my_numbers",
    "my_number_check_ok",
    "normalize",
    "parse_date",
]

# --------------------------------------------------------------------------- normalisation

# Old (旧字体) and variant forms seen on older certificates, seals and names, to their
# common modern form, so that 證明書 matches 証明書 and 髙橋 matches 高橋.
_OLD_TO_NEW = str.maketrans(
    {
        "證": "証", "號": "号", "國": "国", "舊": "旧", "臺": "台", "區": "区", "縣": "県",
        "體": "体", "發": "発", "賣": "売", "與": "与", "濱": "浜", "邊": "辺", "邉": "辺",
        "澤": "沢", "髙": "高", "﨑": "崎", "嵜": "崎", "德": "徳", "廣": "広", "櫻": "桜",
        "圓": "円", "實": "実", "壽": "寿", "惠": "恵", "關": "関", "寫": "写", "覽": "覧",
        "轉": "転", "戶": "戸", "當": "当", "條": "条", "處": "処", "辯": "弁", "團": "団",
        "齋": "斎", "齊": "斉", "眞": "真", "榮": "栄", "藏": "蔵", "萬": "万", "彌": "弥",
        "兒": "児", "學": "学", "會": "会", "鐵": "鉄", "驛": "駅", "營": "営", "險": "険",
        "檢": "検", "舍": "舎", "亞": "亜", "惡": "悪", "圍": "囲", "爲": "為", "黑": "黒",
        "靜": "静", "盡": "尽", "聲": "声", "繼": "継", "續": "続", "顯": "顕", "驗": "験",
        "淸": "清", "禮": "礼", "靑": "青", "瀨": "瀬", "錄": "録",
    }
)  # fmt: skip

_WS = re.compile(r"\s+")


def fold_kanji(text: str) -> str:
    """Old/variant kanji to the modern form (one character to one, so offsets are kept)."""
    return text.translate(_OLD_TO_NEW)


def normalize(text: str) -> str:
    """NFKC (full-width to ASCII, ㍻ to 平成, half-width kana to full) plus modern kanji."""
    return fold_kanji(unicodedata.normalize("NFKC", text))


def compact(text: str) -> str:
    """`normalize` without any white space: the form all phrase matching is done on.

    OCR and PDF extraction insert spaces inside words (開 示 等 請 求 書, 運転免許 証),
    so a match on the compact form is a match on what a person would read.
    """
    return _WS.sub("", normalize(text))


# --------------------------------------------------------------------------- numbers

_FW_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_KANJI_DIGITS = {
    "〇": 0, "零": 0, "一": 1, "壱": 1, "二": 2, "弐": 2, "三": 3, "参": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_KANJI_UNITS = {"十": 10, "拾": 10, "廿": 20, "卅": 30, "百": 100, "千": 1000}


def _to_int(token: str) -> int | None:
    """'05', '０５', '二十七', '弐拾', '二〇二五', '元' (year 1) to an int; None if not a number."""
    token = token.translate(_FW_DIGITS)
    if token.isascii() and token.isdigit():
        return int(token)
    if token == "元":
        return 1
    if token and all(c in _KANJI_DIGITS for c in token):  # 二〇二五 style
        return int("".join(str(_KANJI_DIGITS[c]) for c in token))
    total, current = 0, 0
    for char in token:
        if char in _KANJI_DIGITS:
            current = _KANJI_DIGITS[char]
        elif char in ("廿", "卅"):
            total, current = total + _KANJI_UNITS[char], 0
        elif char in _KANJI_UNITS:
            total, current = total + (current or 1) * _KANJI_UNITS[char], 0
        else:
            return None
    return total + current if token else None


# --------------------------------------------------------------------------- dates

_ERAS = {"明治": 1867, "大正": 1911, "昭和": 1925, "平成": 1988, "令和": 2018}
_ERA_SQUARES = {"㍾": "明治", "㍽": "大正", "㍼": "昭和", "㍻": "平成", "㋿": "令和"}
_ERA_LETTERS = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
_MONTHS = {
    m: i + 1 for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))
}

_DIGITS = "0-9０-９"
_D = f"[{_DIGITS}]"
_KNUM = r"[0-9０-９〇零一二三四五六七八九十壱弐参拾廿卅]"
_SP = r"[ \t\u3000]*"
_ERA_DATE = re.compile(
    rf"(?P<era>明{_SP}治|大{_SP}正|昭{_SP}和|平{_SP}成|令{_SP}和|[㍾㍽㍼㍻㋿])"
    rf"{_SP}(?P<y>元|{_KNUM}{{1,4}}){_SP}年{_SP}(?P<m>{_KNUM}{{1,3}}){_SP}月{_SP}(?P<d>{_KNUM}{{1,4}}){_SP}日"
)
_ERA_SHORT = re.compile(
    rf"(?<![A-Za-z])(?P<era>[MTSHR])(?P<y>{_D}{{1,2}})[.．/／](?P<m>{_D}{{1,2}})[.．/／](?P<d>{_D}{{1,2}})(?!{_D})"
)
_WEST_KANJI = re.compile(
    rf"(?<!{_D})(?P<y>{_D}{{4}}){_SP}年{_SP}(?P<m>{_D}{{1,2}}){_SP}月{_SP}(?P<d>{_D}{{1,2}}){_SP}日"
)
_WEST_SEP = re.compile(
    rf"(?<![{_DIGITS}.])(?P<y>(?:19|20|１９|２０){_D}{{2}})(?P<s>[-/.／－．])(?P<m>{_D}{{1,2}})(?P=s)"
    rf"(?P<d>{_D}{{1,2}})(?![{_DIGITS}])"
)
_WEST_DMY = re.compile(
    r"(?<![0-9A-Za-z])(?P<d>[0-9]{1,2})[ \t]*(?P<mon>JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)"
    r"[A-Z]*\.?[ \t]*(?P<y>(?:19|20)[0-9]{2})(?![0-9])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateMatch:
    """A date found in a text, with its offsets in that text."""

    start: int
    end: int
    date: dt.date


def _make_date(year: int | None, month: int | None, day: int | None) -> dt.date | None:
    if year is None or month is None or day is None:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _era_year(era: str, year: int | None) -> int | None:
    era = re.sub(r"\s", "", era)
    era = _ERA_SQUARES.get(era, _ERA_LETTERS.get(era, era))
    if year is None or year < 1 or year > 99:
        return None
    return _ERAS[era] + year


def _match_date(m: re.Match[str]) -> dt.date | None:
    groups = m.groupdict()
    year = _to_int(groups["y"])
    if "era" in groups:
        year = _era_year(groups["era"], year)
    month = _MONTHS[groups["mon"][:3].upper()] if groups.get("mon") else _to_int(groups["m"])
    return _make_date(year, month, _to_int(groups["d"]))


def find_dates(text: str) -> list[DateMatch]:
    """Every date written in `text` (和暦 included), in order, with offsets into `text`.

    Offsets are into the text as given (no normalisation that changes lengths is applied),
    so callers can look at the words around a date (生, まで有効, 交付 …).
    """
    found: dict[int, DateMatch] = {}
    for pattern in (_ERA_DATE, _ERA_SHORT, _WEST_KANJI, _WEST_SEP, _WEST_DMY):
        for m in pattern.finditer(text):
            if any(f.start <= m.start() < f.end for f in found.values()):
                continue
            date = _match_date(m)
            if date is not None:
                found[m.start()] = DateMatch(m.start(), m.end(), date)
    return [found[k] for k in sorted(found)]


def parse_date(text: str) -> dt.date | None:
    """The first date in `text`, or None: '令和7年6月2日', '平成元年1月8日', '2025/6/2' …"""
    dates = find_dates(text)
    return dates[0].date if dates else None


# --------------------------------------------------------------------------- My Number


def my_number_check_ok(digits: str) -> bool:
    """Whether a 12-digit string carries a valid individual-number check digit.

    With P1..P11 the first eleven digits counted from the right (P1 is the 11th digit),
    Q = n+1 for n <= 6 and n-5 for n >= 7, r = sum(Pn*Qn) mod 11, the check digit is
    0 if r <= 1 else 11 - r. Full-width digits are accepted; anything else is not valid.
    """
    digits = digits.translate(_FW_DIGITS)
    if len(digits) != 12 or not digits.isascii() or not digits.isdigit():
        return False
    body = digits[:11]
    total = 0
    for n in range(1, 12):
        p = int(body[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    r = total % 11
    return int(digits[11]) == (0 if r <= 1 else 11 - r)


_HSPACE = " \t\u3000\u00a0"
_DASH = "\\-‐‑‒–—―−－ー─"
_GROUP_SEP = rf"(?:[{_HSPACE}]{{1,3}}|[{_HSPACE}]{{0,2}}[{_DASH}][{_HSPACE}]{{0,2}})"
_CANDIDATE = re.compile(
    rf"(?<![{_DIGITS}])[{_DIGITS}]{{4}}(?P<s1>{_GROUP_SEP})?[{_DIGITS}]{{4}}(?P<s2>{_GROUP_SEP})?[{_DIGITS}]{{4}}"
    rf"(?![{_DIGITS}])"
)
_PREV_GROUP = re.compile(rf"[{_DIGITS}]{_GROUP_SEP}$")
_NEXT_GROUP = re.compile(rf"^{_GROUP_SEP}[{_DIGITS}]")
_GLUE = re.compile(rf"^[.,．，{_DASH}][{_DIGITS}]")

# Labels that name the number as something else. Compared against the compact, lower-case
# text just before the number, after stripping punctuation such as ':' '(' 'No.'.
_OTHER_LABELS = (
    "免許証番号", "免許番号", "免許の番号", "免許証の番号", "旅券番号", "passport", "passportnumber",
    "documentno", "記号", "保険者番号", "被保険者番号", "被保険者証番号", "保険証番号", "証明番号",
    "証明書番号", "交付番号", "登録番号", "会員番号", "受付番号", "整理番号", "管理番号", "注文番号",
    "伝票番号", "問合せ番号", "問合番号", "問い合わせ番号", "お問い合わせ番号", "追跡番号", "口座番号",
    "口座", "カード番号", "契約番号", "証券番号", "顧客番号", "お客様番号", "請求番号", "申込番号",
    "申請番号", "社員番号", "職員番号", "学籍番号", "基礎年金番号", "年金番号", "住民票コード",
    "法人番号", "在留カード番号", "証明書番号", "事件番号", "登記番号", "文書番号", "帳票番号",
    "電話", "電話番号", "携帯", "携帯電話", "tel", "fax", "phone", "mobile", "郵便", "郵便番号", "〒",
    "serialno", "serial", "orderno", "invoiceno", "accountno",
)  # fmt: skip
_MY_NUMBER_LABELS = ("個人番号", "マイナンバー", "mynumber", "individualnumber", "個人番号カード番号")
_LABEL_FILLER = re.compile(r"(?:[:：=#№.()（）\[\]［］「」『』【】/／\-]|no\.?|番号は)*$")


def _label_before(text: str, start: int) -> str:
    """The compact, lower-case text right before `start` on its line (or the line before)."""
    line_start = text.rfind("\n", 0, start) + 1
    before = compact(text[line_start:start])
    if not before and line_start > 0:  # the label may sit alone on the line above
        prev_start = text.rfind("\n", 0, line_start - 1) + 1
        before = compact(text[prev_start : line_start - 1])
    return before[-24:].lower()


def _labelled_as_other(text: str, start: int, end: int, extra: tuple[str, ...]) -> bool:
    """Whether the label before the number (or 第…号 around it) says it is not a My Number."""
    before = _label_before(text, start)
    if before.endswith("第"):  # 番号 第 036735732806 号: a licence or certificate number
        return True
    stripped = _LABEL_FILLER.sub("", before)
    if any(stripped.endswith(label) for label in _MY_NUMBER_LABELS):
        return False
    if any(stripped.endswith(label) for label in (*_OTHER_LABELS, *extra)):
        return True
    after = compact(text[end : end + 4])
    return after.startswith("号") and before.endswith(("番号", "no"))


def _part_of_longer(text: str, start: int, end: int, grouped: bool) -> bool:
    """Whether the 12 digits continue into more digits (a 16-digit card, a decimal …)."""
    head, tail = text[max(0, start - 6) : start], text[end : end + 6]
    if _GLUE.match(tail) or _GLUE.match(head[::-1]):
        return True
    if head[-1:].isascii() and head[-1:].isalpha() or tail[:1].isascii() and tail[:1].isalpha():
        return True  # glued to Latin letters: an alphanumeric code such as an MRZ line
    if grouped:
        return bool(_PREV_GROUP.search(head) or _NEXT_GROUP.match(tail))
    return False


# A run of digits that OCR split anywhere (3184 5027 1 632, １　２　３　４ …): digits joined by
# a few spaces or one dash. Only read after a My Number label (see `_labelled_runs`).
_LOOSE_SEP = rf"(?:[{_HSPACE}]{{1,3}}|[{_HSPACE}]{{0,2}}[{_DASH}][{_HSPACE}]{{0,2}})"
_LOOSE_RUN = rf"[{_DIGITS}](?:{_LOOSE_SEP}?[{_DIGITS}])*"
_H = f"[{_HSPACE}]*"


def _spaced(word: str) -> str:
    """`word` as a pattern that lets OCR put spaces between its characters (個 人 番 号)."""
    return _H.join(re.escape(c) for c in word)


_MY_NUMBER_LABEL = (
    rf"(?:{_spaced('個人番号')}(?:{_H}{_spaced('カード番号')})?|{_spaced('マイナンバー')}"
    rf"|{_spaced('my')}{_H}{_spaced('number')}|{_spaced('individual')}{_H}{_spaced('number')})"
)
# What OCR leaves between a label and its digits: spaces, a colon, brackets, No., a stray
# bar from a table rule, and at most one line break.
_FILLER_CHARS = rf"[{_HSPACE}:：=#№.．()（）\[\]［］「」『』【】|｜]"
_LABEL_GAP = rf"{_FILLER_CHARS}*(?:no\.?{_FILLER_CHARS}*)?(?:\r?\n{_FILLER_CHARS}*)?"
# The run may wrap once onto the next line (個人番号 / 4021 / 7359 8611 in a narrow column).
_LABELLED_RUN = re.compile(
    rf"{_MY_NUMBER_LABEL}{_LABEL_GAP}(?P<run>{_LOOSE_RUN})(?P<wrap>{_H}\r?\n{_H}{_LOOSE_RUN})?", re.IGNORECASE
)
# The same label read after its digits: Tesseract emits a table's value column before its
# label column (4021 / 7359 8611 / 個人番号). Only the printed 4-4-4 grouping, each group
# whole, the run on lines of its own and the label alone on the very next line.
_LABEL_AFTER_RUN = re.compile(
    rf"(?:^|(?<=\n)){_H}(?P<run>[{_DIGITS}]{{4}}(?:(?:[{_HSPACE}]{{1,3}}|{_H}\r?\n{_H})[{_DIGITS}]{{4}}){{2}})"
    rf"{_H}\r?\n{_H}{_MY_NUMBER_LABEL}{_FILLER_CHARS}*(?=\r?\n|$)",
    re.IGNORECASE,
)


def _labelled_runs(text: str) -> list[tuple[int, int, str]]:
    """Numbers that OCR broke up irregularly, taken only where a My Number label stands right
    before them (or, in a table read column by column, right after them).

    The whole run of digits joined by spaces or dashes must hold exactly twelve digits with a
    valid check digit: more digits means another number runs on, and is not split up to fit.
    After one or two groups of four on the label's line, the run may go on at the start of the next.
    """
    folded = fold_kanji(text)  # 個人番號 is 個人番号; one character to one, offsets hold
    found: list[tuple[int, int, str]] = []
    for pattern in (_LABELLED_RUN, _LABEL_AFTER_RUN):
        for m in pattern.finditer(folded):
            start, end = m.span("run")
            digits = re.sub(rf"[^{_DIGITS}]", "", m.group("run")).translate(_FW_DIGITS)
            wrap = m.groupdict().get("wrap")
            if wrap and len(digits) in (4, 8):  # wrapped onto the next line between printed groups
                end = m.end("wrap")
                digits += re.sub(rf"[^{_DIGITS}]", "", wrap).translate(_FW_DIGITS)
            if not my_number_check_ok(digits):
                continue
            tail = text[end : end + 2]
            if _GLUE.match(tail) or tail[:1].isascii() and tail[:1].isalpha():
                continue  # a decimal or an alphanumeric code, not a number of its own
            found.append((start, end, digits))
    return found


def find_my_numbers(text: str, other_labels: tuple[str, ...] = ()) -> list[tuple[int, int, str]]:
    """Individual numbers in `text`, as (start, end, twelve ASCII digits), in order.

    A candidate is 12 digits (half- or full-width), contiguous or in 4-4-4 groups split by
    spaces or a dash, not part of a longer digit run or code, with a valid check digit, and
    not labelled as another document's number (免許証番号, 第…号, 記号, 電話 …).
    `other_labels` adds labels the caller knows to mean another number on this document
    (a bare 番号 on a driving licence).

    Right after a My Number label (個人番号, マイナンバー, allowing a colon, spaces or a line
    break in between) the digits may also be split anywhere, as OCR splits them (3184 5027
    1 632, １　２　３　４ …). The span then runs from the first digit to the last, spaces included.
    """
    found: list[tuple[int, int, str]] = []
    for m in _CANDIDATE.finditer(text):
        digits = re.sub(rf"[^{_DIGITS}]", "", m.group()).translate(_FW_DIGITS)
        if not my_number_check_ok(digits):
            continue
        grouped = bool(m.group("s1") or m.group("s2"))
        if _part_of_longer(text, m.start(), m.end(), grouped):
            continue
        if _labelled_as_other(text, m.start(), m.end(), other_labels):
            continue
        found.append((m.start(), m.end(), digits))
    for start, end, digits in _labelled_runs(text):
        if not any(start < e and s < end for s, e, _ in found):
            found.append((start, end, digits))
    return sorted(found)


def mask_my_numbers(text: str, mask: str = "*") -> str:
    """`text` with the digits of every individual number replaced by `mask` (separators kept)."""
    spans = find_my_numbers(text)
    if not spans:
        return text
    chars = list(text)
    for start, end, _ in spans:
        for i in range(start, end):
            if chars[i].translate(_FW_DIGITS).isdigit():
                chars[i] = mask
    return "".join(chars)
