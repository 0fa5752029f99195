"""bot.payment_matching: transfers -> fee notices, by reference only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.payment_matching import Match, OpenFee, find_reference, find_references, match_transfers
from parsers.bank_statement import Transfer, read_statement

FIXTURES = Path(__file__).parent / "fixtures" / "bank"
TODAY = dt.date(2026, 12, 10)

OPEN = [
    OpenFee("20261129-001", 1000, 0),
    OpenFee("20261129-002", 1000, 0),
    OpenFee("20261130-003", 1000, 0),
]


def tr(payer: str, amount: int = 1000, fp: str | None = None, line: int = 1) -> Transfer:
    return Transfer(line, dt.date(2026, 11, 29), amount, payer, fp or f"fp-{line}-{payer}-{amount}")


def outcomes(matches: list[Match]) -> list[tuple[int, str, str | None, int | None]]:
    return [(m.transfer.line, m.outcome, m.case_id, m.outstanding_yen) for m in matches]


# ------------------------------------------------------------------ references


@pytest.mark.parametrize(
    ("payer", "expected"),
    [
        ("20261129-001 ヤマダ タロウ", "20261129-001"),
        ("ヤマダ タロウ 20261129-001", "20261129-001"),
        ("ﾔﾏﾀﾞ 20261129ｰ001", "20261129-001"),
        ("タナカ 20261129ー002", "20261129-002"),
        ("２０２６１１２９－００１ヤマダ", "20261129-001"),
        ("20261129‐001 ヤマダ", "20261129-001"),
        ("20261129−001 ヤマダ", "20261129-001"),
        ("20261129 001 ヤマダ", "20261129-001"),
        ("20261129001ヤマダ", "20261129-001"),
        ("ヤマダ20261129001", "20261129-001"),
        ("20261129-0012 ヤマダ", "20261129-0012"),
        ("202611291234 ヤマダ", "20261129-1234"),
        ("振込 20261129-001 20261129-001", "20261129-001"),  # same reference twice is fine
        ("ヤマダ タロウ", None),
        ("", None),
        ("20261129 ヤマダ", None),  # a date alone
        ("20261129-01 ヤマダ", None),  # serial too short
        ("20261332-001 ヤマダ", None),  # not a valid date
        ("20260230-001", None),
        ("19991231-001", None),
        ("09012345678 ヤマダ", None),  # phone number
        ("120261129-001", None),  # digits run on before the date
        ("20261129-001 20261129-002", None),  # two cases: staff decides
    ],
)
def test_find_reference(payer: str, expected: str | None) -> None:
    assert find_reference(payer) == expected


def test_find_references_lists_each_once() -> None:
    assert find_references("20261129-002 x 20261129-001 20261129ｰ002") == ["20261129-002", "20261129-001"]


# ------------------------------------------------------------------ outcomes


def test_each_outcome() -> None:
    fees = [*OPEN, OpenFee("20261201-004", 1000, 1000)]
    transfers = [
        tr("20261129-001 ヤマダ", 1000, line=1),
        tr("20261129-002 タナカ", 999, line=2),
        tr("20261130-003 カ)ヤマダ", 1001, line=3),
        tr("20261201-004 スズキ", 1000, line=4),
        tr("20261128-999 サトウ", 1000, line=5),
        tr("スズキ ハナコ", 1000, line=6),
        tr("known", 1000, fp="seen-before", line=7),
    ]
    assert outcomes(match_transfers(transfers, fees, {"seen-before"})) == [
        (1, "matched", "20261129-001", 1000),
        (2, "short", "20261129-002", 1000),
        (3, "over", "20261130-003", 1000),
        (4, "already_paid", "20261201-004", 0),
        (5, "unknown_reference", "20261128-999", None),
        (6, "no_reference", None, None),
        (7, "duplicate", None, None),
    ]


def test_earlier_matches_in_the_batch_count_but_short_ones_do_not() -> None:
    transfers = [
        tr("20261129-002", 500, line=1),
        tr("20261129-002", 500, line=2),
        tr("20261129-001", 1000, line=3),
        tr("20261129-001", 1000, line=4),
        tr("20261129001", 1, line=5),
    ]
    assert outcomes(match_transfers(transfers, OPEN, set())) == [
        (1, "short", "20261129-002", 1000),
        (2, "short", "20261129-002", 1000),  # a short payment is not recorded, so still 1,000 owed
        (3, "matched", "20261129-001", 1000),
        (4, "already_paid", "20261129-001", 0),
        (5, "already_paid", "20261129-001", 0),
    ]


def test_partly_paid_fee_matches_the_remainder() -> None:
    fees = [OpenFee("20261129-001", 1000, 400)]
    assert outcomes(match_transfers([tr("20261129-001", 600)], fees, ())) == [(1, "matched", "20261129-001", 600)]
    assert outcomes(match_transfers([tr("20261129-001", 1000)], fees, ())) == [(1, "over", "20261129-001", 600)]
    overpaid = [OpenFee("20261129-001", 1000, 1500)]
    assert outcomes(match_transfers([tr("20261129-001", 1000)], overpaid, ())) == [
        (1, "already_paid", "20261129-001", 0)
    ]


def test_duplicate_within_batch_and_known() -> None:
    a = tr("20261129-001", 1000, fp="A", line=1)
    again = tr("20261129-001", 1000, fp="A", line=2)
    known = tr("20261129-002", 1000, fp="B", line=3)
    assert outcomes(match_transfers([a, again, known], OPEN, frozenset({"B"}))) == [
        (1, "matched", "20261129-001", 1000),
        (2, "duplicate", "20261129-001", None),
        (3, "duplicate", "20261129-002", None),
    ]


def test_never_matched_by_amount_or_name_alone() -> None:
    fees = [OpenFee("20261129-001", 1000, 0)]
    for payer in ("ヤマダ タロウ", "20261129", "001", "1129-001"):
        [m] = match_transfers([tr(payer, 1000)], fees, ())
        assert m.outcome == "no_reference" and m.case_id is None


def test_serial_width_does_not_matter_but_case_id_comes_from_the_fee() -> None:
    fees = [OpenFee("20261129-001", 1000, 0), OpenFee("20261129-1001", 1000, 0)]
    ms = match_transfers([tr("202611290001", line=1), tr("20261129-1001", line=2)], fees, ())
    assert outcomes(ms) == [(1, "matched", "20261129-001", 1000), (2, "matched", "20261129-1001", 1000)]


def test_no_open_fees() -> None:
    assert outcomes(match_transfers([tr("20261129-001")], [], ())) == [
        (1, "unknown_reference", "20261129-001", None)
    ]
    assert match_transfers([], OPEN, ()) == []


# ------------------------------------------------------------------ real files end to end

EXPECTED = {
    # line: (outcome, case_id, outstanding) -- same story in every file (see make_fixtures.py)
    "zengin_nyushukkin.dat": [
        (2, "matched", "20261129-001", 1000),
        (3, "no_reference", None, None),
        (4, "unknown_reference", "20261128-999", None),
        (5, "short", "20261129-002", 1000),
        (6, "over", "20261130-003", 1000),
        (7, "duplicate", "20261129-001", None),
        (9, "already_paid", "20261129-001", 0),
    ],
    "zengin_furikomi.dat": [
        (2, "matched", "20261129-001", 1000),
        (3, "no_reference", None, None),
        (4, "unknown_reference", "20261128-999", None),
        (5, "short", "20261129-002", 1000),
        (6, "over", "20261130-003", 1000),
        (7, "duplicate", "20261129-001", None),
        (9, "already_paid", "20261129-001", 0),
    ],
    "generic_cp932.csv": [
        (4, "matched", "20261129-001", 1000),
        (5, "no_reference", None, None),
        (6, "unknown_reference", "20261128-999", None),
        (7, "short", "20261129-002", 1000),
        (8, "over", "20261130-003", 1000),
        (9, "duplicate", "20261129-001", None),
        (11, "already_paid", "20261129-001", 0),
    ],
    "wareki_utf8_bom.csv": [
        (2, "matched", "20261129-001", 1000),
        (3, "no_reference", None, None),
        (4, "unknown_reference", "20261128-999", None),
        (5, "short", "20261129-002", 1000),
        (6, "over", "20261130-003", 1000),
        (7, "duplicate", None, None),
        (9, "already_paid", "20261129-001", 0),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_files_end_to_end(name: str) -> None:
    statement = read_statement((FIXTURES / name).read_bytes(), today=TODAY)
    matches = match_transfers(statement.transfers, OPEN, set())
    assert outcomes(matches) == EXPECTED[name]
    # Importing the same export again: everything is a duplicate, nothing is matched twice.
    recorded = {m.transfer.fingerprint for m in matches if m.outcome == "matched"}
    earlier = {t.fingerprint for t in statement.transfers}
    again = match_transfers(statement.transfers, [OpenFee("20261129-001", 1000, 1000), *OPEN[1:]], earlier)
    assert {m.outcome for m in again} == {"duplicate"}
    assert len(recorded) == 1
