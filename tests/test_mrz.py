"""Passport MRZ: ICAO 9303 check digits, OCR's usual confusions, and what a verified zone proves."""

from __future__ import annotations

import datetime as dt

import pytest

from parsers.documents import classify_text
from parsers.mrz import check_digit, find_mrz

# The specimen of ICAO Doc 9303 part 4 (Anna Maria Eriksson, Utopia).
SPECIMEN = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TODAY = dt.date(2026, 11, 29)


def line2(number: str, nationality: str, birth: str, sex: str, expiry: str, optional: str = "") -> str:
    """A TD3 second line with correct check digits, built the way ICAO 9303 says."""
    number = number.ljust(9, "<")
    optional = optional.ljust(14, "<")
    opt_check = str(check_digit(optional)) if optional.strip("<") else "<"
    parts = [number + str(check_digit(number)), birth + str(check_digit(birth)),
             expiry + str(check_digit(expiry)), optional + opt_check]
    composite = "".join(parts)
    return (f"{parts[0]}{nationality}{parts[1]}{sex}{parts[2]}{parts[3]}{check_digit(composite)}")


def test_check_digits_of_the_icao_specimen() -> None:
    assert check_digit("L898902C3") == 6 and check_digit("740812") == 2 and check_digit("120415") == 9
    mrz = find_mrz(SPECIMEN, TODAY)
    assert mrz is not None
    assert (mrz.document_number, mrz.nationality, mrz.sex) == ("L898902C3", "UTO", "F")
    assert mrz.birth_date == dt.date(1974, 8, 12) and mrz.expiry_date == dt.date(2012, 4, 15)


@pytest.mark.parametrize("position", [0, 9, 13, 19, 21, 27, 43])
def test_one_wrong_character_anywhere_checked_is_refused(position: int) -> None:
    line = SPECIMEN.splitlines()[1]
    wrong = "7" if line[position] != "7" else "8"
    assert find_mrz(line[:position] + wrong + line[position + 1:], TODAY) is None


def test_a_japanese_passport_read_by_ocr_with_its_usual_confusions() -> None:
    line = line2("TR1234567", "JPN", "850101", "F", "300115")
    assert find_mrz(line, TODAY) is not None
    ocr = line.replace("<", "く").replace("0", "O", 1)  # '<' as く; a 0 in the birth date as O
    ocr = ocr[:13] + ocr[13:19].replace("0", "O") + ocr[19:]
    mrz = find_mrz("日本国 旅券\n" + " ".join([ocr[:20], ocr[20:]]), TODAY)
    assert mrz is not None and mrz.document_number == "TR1234567" and mrz.birth_date == dt.date(1985, 1, 1)
    assert mrz.expiry_date == dt.date(2030, 1, 15)


def test_a_verified_zone_alone_makes_a_passport_and_a_made_up_one_does_not() -> None:
    verified = line2("TZ0000001", "JPN", "900230", "M", "310101")  # 30 Feb: the date is not read, the digits agree
    assert [k for k, _ in classify_text(verified)] == ["passport"]
    made_up = "TR1234567<2JPN8501017F3001015<<<<<<<<<<<<<<02"  # the right shape, wrong digits
    assert classify_text(made_up) == []
