"""The decision core, exhaustively: every request type, agent type and missing set."""

from __future__ import annotations

import itertools

import pytest

from bot.models import AGENT_TYPES, REQUEST_TYPES, CaseFacts, DocumentFact
from bot.policy import decide, may_auto_reply, missing_documents
from config.policy import Policy, PolicyError, load_policy

POLICY = load_policy("builtin:seed")
FEES = {"notify_purpose": 1000, "disclose": 1000, "disclose_third_party_records": 1000}


def facts(**kw: object) -> CaseFacts:
    base: dict[str, object] = {
        "request_types": frozenset({"correct"}),
        "agent_present": False,
        "agent_type": None,
        "documents": (),
    }
    base.update(kw)
    return CaseFacts(**base)  # type: ignore[arg-type]


def docs(*kinds: str, holder: str = "unknown") -> tuple[DocumentFact, ...]:
    return tuple(DocumentFact(kind=k, holder=holder) for k in kinds)  # type: ignore[arg-type]


# ---------------------------------------------------------------- fees


@pytest.mark.parametrize(
    "types",
    [frozenset(c) for n in range(1, len(REQUEST_TYPES) + 1) for c in itertools.combinations(REQUEST_TYPES, n)],
)
def test_fee_is_the_sum_of_the_policy_fees(types: frozenset[str]) -> None:
    d = decide(facts(request_types=types), POLICY, "request")
    assert d.fee_yen == sum(FEES.get(t, 0) for t in types)


# ---------------------------------------------------------------- principal requests

PRINCIPAL_PIECES = {
    "request_form": ("request_form",),
    "identity_document": ("drivers_license",),
    "resident_record": ("resident_record",),
}


@pytest.mark.parametrize(
    "present",
    [set(c) for n in range(4) for c in itertools.combinations(PRINCIPAL_PIECES, n)],
    ids=lambda p: "+".join(sorted(p)) or "nothing",
)
def test_principal_missing_is_exactly_what_was_not_sent(present: set[str]) -> None:
    kinds = [k for code in present for k in PRINCIPAL_PIECES[code]]
    d = decide(facts(documents=docs(*kinds)), POLICY, "request")
    assert set(d.missing) == set(PRINCIPAL_PIECES) - present


@pytest.mark.parametrize("kind", POLICY.identity_documents)
def test_every_accepted_identity_document_counts(kind: str) -> None:
    d = decide(facts(documents=docs("request_form", kind, "resident_record")), POLICY, "request")
    assert d.missing == ()


@pytest.mark.parametrize(
    "kind", ["resident_record", "power_of_attorney", "seal_certificate", "family_register", "unknown"]
)
def test_documents_that_are_not_identity_documents_do_not_prove_identity(kind: str) -> None:
    d = decide(facts(documents=docs("request_form", kind, "resident_record")), POLICY, "request")
    assert "identity_document" in d.missing


# ---------------------------------------------------------------- agent requests

AUTHORITY = {
    "minor_legal_rep": ("family_register",),
    "adult_guardian": ("guardianship_ruling",),
    "voluntary": ("power_of_attorney", "seal_certificate"),
    "professional": ("qualification_proof",),
}


def agent_pieces(agent_type: str) -> dict[str, tuple[DocumentFact, ...]]:
    pieces = {
        "request_form": docs("request_form"),
        "principal_identity_document": docs("drivers_license", holder="principal"),
        "agent_identity_document": docs("passport", holder="agent"),
        "principal_resident_record": docs("resident_record", holder="principal"),
    }
    for kind in AUTHORITY[agent_type]:
        pieces[kind] = docs(kind)
    return pieces


AGENT_CASES = [
    (agent_type, frozenset(present))
    for agent_type in AGENT_TYPES
    for n in range(len(agent_pieces(agent_type)) + 1)
    for present in itertools.combinations(agent_pieces(agent_type), n)
]


@pytest.mark.parametrize(
    ("agent_type", "present"), AGENT_CASES, ids=[f"{a}:{'+'.join(sorted(p)) or '-'}" for a, p in AGENT_CASES]
)
def test_agent_missing_is_exactly_what_was_not_sent(agent_type: str, present: frozenset[str]) -> None:
    pieces = agent_pieces(agent_type)
    documents = tuple(d for code in present for d in pieces[code])
    f = facts(agent_present=True, agent_type=agent_type, documents=documents)
    assert set(missing_documents(f, POLICY)) == set(pieces) - present


def test_agent_of_unstated_type_is_asked_for_its_authority() -> None:
    f = facts(agent_present=True, agent_type=None, documents=docs("request_form"))
    assert "agent_authority" in missing_documents(f, POLICY)


def test_two_ids_of_unknown_holder_cover_principal_and_agent() -> None:
    f = facts(
        agent_present=True,
        agent_type="voluntary",
        documents=docs("request_form", "drivers_license", "my_number_card", "resident_record",
                       "power_of_attorney", "seal_certificate"),
    )
    assert missing_documents(f, POLICY) == ()


def test_one_id_of_the_agent_leaves_the_principal_id_missing() -> None:
    f = facts(
        agent_present=True,
        agent_type="professional",
        documents=docs("request_form", "resident_record", "qualification_proof") + docs("passport", holder="agent"),
    )
    assert missing_documents(f, POLICY) == ("principal_identity_document",)


def test_the_agents_own_resident_record_does_not_count_for_the_principal() -> None:
    f = facts(
        agent_present=True,
        agent_type="adult_guardian",
        documents=docs("request_form", "drivers_license", "passport", "guardianship_ruling")
        + docs("resident_record", holder="agent"),
    )
    assert missing_documents(f, POLICY) == ("principal_resident_record",)


def test_a_principal_request_never_asks_for_agent_documents() -> None:
    d = decide(facts(), POLICY, "request")
    assert not any(m.startswith(("agent", "principal_")) for m in d.missing)


# ---------------------------------------------------------------- status and replies

COMPLETE = docs("request_form", "drivers_license", "resident_record")


@pytest.mark.parametrize(
    ("kw", "status"),
    [
        ({"documents": ()}, "awaiting_documents"),
        ({"documents": COMPLETE, "request_types": frozenset({"disclose"})}, "awaiting_fee"),
        ({"documents": COMPLETE, "request_types": frozenset({"disclose"}), "paid_yen": 500}, "awaiting_fee"),
        ({"documents": COMPLETE, "request_types": frozenset({"disclose"}), "paid_yen": 1000},
         "awaiting_verification"),
        ({"documents": COMPLETE}, "awaiting_verification"),
        ({"documents": COMPLETE, "verified": True}, "in_progress"),
        ({"documents": (), "verified": True, "final_status": "closed"}, "closed"),
        ({"documents": COMPLETE, "final_status": "rejected"}, "rejected"),
        # documents come first even when the fee is unpaid
        ({"documents": (), "request_types": frozenset({"disclose"})}, "awaiting_documents"),
    ],
)
def test_status_names_the_first_thing_waited_for(kw: dict[str, object], status: str) -> None:
    assert decide(facts(**kw), POLICY, "request").status == status


@pytest.mark.parametrize(
    ("kw", "event", "paid_before", "replies"),
    [
        ({"documents": ()}, "request", 0, ("missing_documents",)),
        ({"documents": COMPLETE, "request_types": frozenset({"disclose"})}, "request", 0, ("fee_notice",)),
        ({"documents": COMPLETE, "request_types": frozenset({"disclose"}), "fee_notice_sent": True},
         "followup", 0, ("ack",)),
        ({"documents": COMPLETE}, "request", 0, ("ack",)),
        ({"documents": COMPLETE, "final_status": "closed"}, "followup", 0, ()),
        ({"documents": COMPLETE, "request_types": frozenset({"disclose"}), "paid_yen": 1000},
         "payment", 0, ("receipt",)),
        ({"documents": COMPLETE, "request_types": frozenset({"disclose"}), "paid_yen": 400},
         "payment", 0, ("payment_partial",)),
        ({"documents": COMPLETE}, "verify", 0, ()),
        ({"documents": COMPLETE, "final_status": "rejected"}, "reject", 0, ("rejection_notice",)),
    ],
)
def test_replies_follow_the_event(kw: dict[str, object], event: str, paid_before: int,
                                  replies: tuple[str, ...]) -> None:
    d = decide(facts(**kw), POLICY, event, paid_before=paid_before)  # type: ignore[arg-type]
    assert d.replies == replies


def test_rules_explain_the_decision() -> None:
    d = decide(facts(request_types=frozenset({"disclose"})), POLICY, "request")
    assert "request_type:disclose" in d.rules
    assert "missing:request_form" in d.rules
    assert "fee:1000" in d.rules
    assert "status:awaiting_documents" in d.rules


@pytest.mark.parametrize(("sent", "cap", "ok"), [(0, 5, True), (4, 5, True), (5, 5, False), (9, 5, False)])
def test_auto_reply_cap(sent: int, cap: int, ok: bool) -> None:
    assert may_auto_reply(sent, cap) is ok


# ---------------------------------------------------------------- the policy file


def test_seed_policy_loads_and_names_every_code() -> None:
    assert isinstance(POLICY, Policy)
    assert POLICY.fee_for({"notify_purpose", "disclose", "correct"}) == 2000


def test_bad_policy_is_refused_with_the_key_named(tmp_path: object) -> None:
    import pathlib

    import yaml

    p = pathlib.Path(str(tmp_path)) / "bad.yaml"
    data = yaml.safe_load(pathlib.Path(__file__).parents[1].joinpath("config/policies/seed.yaml").read_text())
    data["identity_documents"].append("library_card")
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError, match="identity_documents"):
        load_policy(str(p))


def test_unknown_builtin_policy_is_refused() -> None:
    with pytest.raises(PolicyError, match="no built-in policy"):
        load_policy("builtin:nope")
