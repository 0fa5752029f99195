"""Whose document is it? Names read on a document matched against the request's names.

Pure: agent requests are checked person by person, so a licence must be attributed to
the principal or the agent before the policy can say which one is still missing.
"""

from __future__ import annotations

import unicodedata

from bot.models import DocumentEvidence, Holder


def normalise_name(name: str) -> str:
    """Width, spaces and the middle dots people put between names do not make a person."""
    text = unicodedata.normalize("NFKC", name)
    return "".join(ch for ch in text if not ch.isspace() and ch not in "・･.,")


def holder_of(doc: DocumentEvidence, principal: str | None, agent: str | None) -> Holder:
    names = {normalise_name(n) for n in doc.names if n.strip()}
    p = normalise_name(principal) if principal else ""
    a = normalise_name(agent) if agent else ""
    hit_p = bool(p) and any(_same(p, n) for n in names)
    hit_a = bool(a) and any(_same(a, n) for n in names)
    if hit_p and not hit_a:
        return "principal"
    if hit_a and not hit_p:
        return "agent"
    return doc.holder


def _same(wanted: str, read: str) -> bool:
    """OCR may add stray characters around a name; containment either way is a match."""
    if len(wanted) < 2 or len(read) < 2:
        return wanted == read
    return wanted in read or read in wanted
