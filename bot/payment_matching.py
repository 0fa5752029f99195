"""Match bank transfers to open fee notices -- pure: no I/O, no database, no clock.

Each fee notice asks the requester to put the case reference (``20261129-001``)
before their name in the payer name (振込依頼人名).  A transfer is matched only
through that reference and only when the amount is exactly what the case still
owes; everything else is returned with an outcome for staff to look at.  Nothing
is ever matched by amount or name alone.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from parsers.bank_statement import Transfer

__all__ = ["Match", "OpenFee", "Outcome", "find_reference", "find_references", "match_transfers"]

Outcome = Literal["matched", "short", "over", "already_paid", "unknown_reference", "no_reference", "duplicate"]


@dataclass(frozen=True)
class OpenFee:
    case_id: str
    fee_yen: int
    paid_yen: int


@dataclass(frozen=True)
class Match:
    transfer: Transfer
    outcome: Outcome
    case_id: str | None
    outstanding_yen: int | None  # what the case still owed before this transfer


# YYYYMMDD, then an optional separator as banks and payers write it (ASCII hyphen,
# katakana prolonged sound mark ー / half-width ｰ, hyphen/dash/minus variants, a
# space), then the serial of 3 or more digits.  Full-width digits and ｰ/－ are
# folded by NFKC before matching.  Not preceded or followed by another digit.
_SEPARATORS = "-\u30fc\uff70\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d "
_REFERENCE = re.compile(rf"(?<![0-9])([0-9]{{4}})([0-9]{{2}})([0-9]{{2}})[{_SEPARATORS}]?([0-9]{{3,}})(?![0-9])")
_MIN_YEAR = 2000


def _canonical(m: re.Match[str]) -> str | None:
    year, month, day, serial = m.group(1, 2, 3, 4)
    if int(year) < _MIN_YEAR:
        return None
    try:
        dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    return f"{year}{month}{day}-{serial}"


def find_references(payer: str) -> list[str]:
    """Every distinct case id written in `payer`, canonical ``YYYYMMDD-NNN``, in order."""
    text = unicodedata.normalize("NFKC", payer)
    found: list[str] = []
    for m in _REFERENCE.finditer(text):
        ref = _canonical(m)
        if ref is not None and ref not in found:
            found.append(ref)
    return found


def find_reference(payer: str) -> str | None:
    """The case id in a payer name, canonical ``YYYYMMDD-NNN`` (serial width kept), or None.

    Two *different* case ids in one name give None: which case was meant (or how to
    split the money) is for staff to decide, so the transfer is not matched.
    """
    refs = find_references(payer)
    return refs[0] if len(refs) == 1 else None


def _key(case_id: str) -> tuple[str, int] | None:
    """Case ids compare by date and serial number, so ``-001`` and ``-0001`` are the same case."""
    m = _REFERENCE.fullmatch(unicodedata.normalize("NFKC", case_id.strip()))
    if m is None or _canonical(m) is None:
        return None
    return m.group(1) + m.group(2) + m.group(3), int(m.group(4))


def match_transfers(
    transfers: Sequence[Transfer], open_fees: Sequence[OpenFee], known_fingerprints: Collection[str]
) -> list[Match]:
    """One `Match` per transfer, in order.  Only ``matched`` results should be recorded.

    * ``duplicate``: fingerprint in `known_fingerprints` or seen earlier in this batch.
    * ``no_reference``: no (single) case id in the payer name.
    * ``unknown_reference``: a case id with no open fee.
    * ``already_paid`` / ``matched`` / ``short`` / ``over``: compared with what the case
      still owes, counting ``matched`` transfers earlier in this batch.
    """
    fees: dict[tuple[str, int], OpenFee] = {}
    for open_fee in open_fees:
        fee_key = _key(open_fee.case_id)
        if fee_key is not None:
            fees.setdefault(fee_key, open_fee)
    owed = {key: max(fee.fee_yen - fee.paid_yen, 0) for key, fee in fees.items()}
    seen: set[str] = set()
    results: list[Match] = []
    for transfer in transfers:
        reference = find_reference(transfer.payer)
        if transfer.fingerprint in seen or transfer.fingerprint in known_fingerprints:
            results.append(Match(transfer, "duplicate", reference, None))
            continue
        seen.add(transfer.fingerprint)
        if reference is None:
            results.append(Match(transfer, "no_reference", None, None))
            continue
        key = _key(reference)
        fee = fees.get(key) if key is not None else None
        if key is None or fee is None:
            results.append(Match(transfer, "unknown_reference", reference, None))
            continue
        outstanding = owed[key]
        outcome: Outcome
        if outstanding <= 0:
            outcome = "already_paid"
        elif transfer.amount_yen == outstanding:
            outcome = "matched"
            owed[key] = 0
        elif transfer.amount_yen < outstanding:
            outcome = "short"
        else:
            outcome = "over"
        results.append(Match(transfer, outcome, fee.case_id, outstanding))
    return results
