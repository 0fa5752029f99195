"""A passport's machine-readable zone (ICAO 9303, TD3: two lines of 44 characters).

Its second line carries check digits over the document number, the date of birth, the
date of expiry, the optional data and all of them together. An OCR'd line whose digits all
check is a passport beyond reasonable doubt; a line of the right shape whose digits do not
check is an OCR misreading or something made up, and counts only as a shape. OCR of the
OCR-B font confuses a few characters (`<` read as `く`, `K` or `«`; `O` for `0` in digit
fields), so the digit fields are read with the usual substitutions before they are checked.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

_WEIGHTS = (7, 3, 1)
_FILLERS = str.maketrans({"く": "<", "«": "<", "‹": "<", "〈": "<", "＜": "<", " ": ""})
_AS_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "B": "8", "G": "6"})
# document number (9) + check, nationality (3), birth YYMMDD + check, sex, expiry YYMMDD + check,
# optional data (14) + check, final check: 44 characters.
_LINE2 = re.compile(
    r"([A-Z0-9<]{9})([0-9OQDILZSBG<])([A-Z<]{3})([0-9OQDILZSBG]{6})([0-9OQDILZSBG])([MF<X])"
    r"([0-9OQDILZSBG]{6})([0-9OQDILZSBG])([A-Z0-9<]{14})([0-9OQDILZSBG<])([0-9OQDILZSBG])"
)


@dataclass(frozen=True)
class Mrz:
    document_number: str
    nationality: str
    birth_date: dt.date | None
    sex: str
    expiry_date: dt.date | None


def check_digit(field: str) -> int:
    """ICAO 9303 check digit: 0-9 as is, A-Z as 10-35, '<' as 0, weights 7, 3, 1 repeating."""
    total = 0
    for i, ch in enumerate(field):
        if ch.isdigit():
            value = int(ch)
        elif "A" <= ch <= "Z":
            value = ord(ch) - ord("A") + 10
        else:
            value = 0
        total += value * _WEIGHTS[i % 3]
    return total % 10


def find_mrz(text: str, today: dt.date | None = None) -> Mrz | None:
    """The first TD3 second line in `text` whose check digits all agree, or None.

    `today` only places two-digit years in their century."""
    year = (today or dt.date.today()).year % 100
    cleaned = unicodedata.normalize("NFKC", text).upper().translate(_FILLERS)
    for line in cleaned.splitlines():
        for m in _LINE2.finditer(line):
            mrz = _checked(m, year)
            if mrz is not None:
                return mrz
    return None


def _checked(m: re.Match[str], this_year: int) -> Mrz | None:
    number, number_check, nationality, birth, birth_check, sex, expiry, expiry_check, optional, \
        optional_check, final = m.groups()
    digits = [birth, birth_check, expiry, expiry_check, final]
    birth, birth_check, expiry, expiry_check, final = (d.translate(_AS_DIGIT) for d in digits)
    number_check = number_check.translate(_AS_DIGIT)
    optional_check = optional_check.translate(_AS_DIGIT)
    checks = [(number, number_check), (birth, birth_check), (expiry, expiry_check)]
    if optional_check != "<" or optional.strip("<"):
        checks.append((optional, "0" if optional_check == "<" else optional_check))
    if any(not c.isdigit() or check_digit(f) != int(c) for f, c in checks):
        return None
    composite = number + number_check + birth + birth_check + expiry + expiry_check + optional + optional_check
    if not final.isdigit() or check_digit(composite) != int(final):
        return None
    return Mrz(number.rstrip("<"), nationality, _date(birth, this_year, past=True), sex,
               _date(expiry, this_year, past=False))


def _date(yymmdd: str, this_year: int, *, past: bool) -> dt.date | None:
    """YYMMDD with the century ICAO leaves out: births in the past, expiries within 20 years."""
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    latest = this_year if past else this_year + 20  # the last two-digit year of this century
    century = 2000 if yy <= latest else 1900
    try:
        return dt.date(century + yy, mm, dd)
    except ValueError:
        return None
