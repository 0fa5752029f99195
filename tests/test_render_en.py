"""English replies: one template per Japanese reply kind, fed by the real reply context.

The policy's labels are Japanese; the English templates must show the codes' English labels
instead, and keep every fact of the Japanese reply (case tag, fees, reference, contact).
"""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from typing import Any

import pytest

from bot.db import Case, Document
from bot.replying import reply_context
from config.policy import MISSING_CODES, load_policy
from replies.render import render

POLICY = load_policy("builtin:seed")
WINDOW = "info@example.jp"
CASE_ID = "20250602-0007"


# Mail to staff, not to requesters: stays Japanese. The notice for a mail too large to read is
# written in both languages at once: nothing of the mail was read, so its language is unknown.
STAFF_ONLY = {"digest", "new_case_alert", "size_notice"}


def _kinds(lang: str) -> list[str]:
    """The reply kinds that have a template of their own in `lang` (render falls back to ja)."""
    folder = resources.files("replies") / "templates" / lang
    names = (p.name.removesuffix(".txt.j2") for p in folder.iterdir() if p.name.endswith(".txt.j2"))
    return sorted(n for n in names if n not in STAFF_ONLY)


KINDS = _kinds("ja")

# What the staff and chasing code pass along (bot/staff.py, bot/chasing.py).
EXTRA: dict[str, Any] = {
    "lapse_on": dt.date(2025, 7, 16),
    "status_before": "awaiting_fee",
    "outcome": "corrected",
    "reason": "The requested records were deleted under our retention rules.",
    "payment_amount": 1000,
    "payment_method_label": "銀行振込",
    "payment_method": "bank_transfer",
}


def make_case(**overrides: Any) -> Case:
    """A case as intake leaves it for a foreign resident who sent a residence card."""
    fields: dict[str, Any] = dict(
        id=CASE_ID, status="awaiting_documents", requester_name="SMITH JOHN",
        requester_email="john.smith@example.com", agent_present=False, agent_type=None, agent_name=None,
        request_types=["disclose", "notify_purpose", "correct"], disclosure_method="electronic",
        fee_yen=2000, paid_yen=0, missing=["resident_record", "request_form"],
        flags=["my_number_detected", "insurance_number_unmasked", "unreadable_attachment"], outcome=None,
        due_on=dt.date(2025, 6, 16), waiting_since=dt.date(2025, 6, 2), reminded_on=dt.date(2025, 6, 16),
        lang="en",
    )
    fields.update(overrides)
    case = Case(**fields)
    case.documents = [Document(kind="residence_card"), Document(kind="unknown")]
    return case


def render_en(kind: str, extra: dict[str, Any] | None = None, followup: bool = False,
              **overrides: Any) -> tuple[str, str]:
    ctx = reply_context(make_case(**overrides), POLICY, WINDOW, followup=followup, extra={**EXTRA, **(extra or {})})
    return render(kind, ctx, "en")


def japanese_labels() -> list[str]:
    """Policy and code labels that must never reach an English reply."""
    return [*POLICY.missing_labels.values(),
            *(t.label for t in POLICY.request_types.values()),
            "運転免許証", "旅券（パスポート）", "在留カード等", "1件", "円", "様", "ご請求者", "手数料", "銀行振込",
            "成年後見人", "代理人によるご請求", "電磁的記録の提供"]


def test_every_japanese_kind_has_an_english_template() -> None:
    assert len(KINDS) == 12
    assert _kinds("en") == KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_in_english_with_the_case_tag_and_the_footer(kind: str) -> None:
    subject, body = render_en(kind)
    assert subject.startswith(f"[{POLICY.company.name}] ")
    assert subject.endswith(f"[#{CASE_ID}]")
    assert re.search(r"[A-Za-z]{4,}", subject)
    for leak in japanese_labels():
        assert leak not in body, (kind, leak)
    # the contact footer, with the certified body for complaints
    assert f"[#{CASE_ID}]" in body
    assert "[Contact]" in body
    assert POLICY.company.postal_address in body
    assert f"Email: {WINDOW}" in body
    assert POLICY.complaint_body.name in body
    assert POLICY.complaint_body.postal_address in body
    assert "accredited personal\ninformation protection organization" in body
    if kind != "neutral_ack":
        assert body.startswith("Dear SMITH JOHN,\n")


def test_missing_documents_lists_each_english_label() -> None:
    from jinja2 import Environment, PackageLoader

    labels = Environment(loader=PackageLoader("replies", "templates/en")).get_template("_labels.j2").module
    assert set(labels.MISSING) == set(MISSING_CODES)  # type: ignore[attr-defined]
    _, body = render_en("missing_documents", missing=list(MISSING_CODES), agent_present=True,
                        agent_type="voluntary", agent_name="SMITH JANE")
    for n, code in enumerate(MISSING_CODES, 1):
        assert f"\n{n}. {labels.MISSING[code]}\n" in body  # type: ignore[attr-defined]
    for label in POLICY.missing_labels.values():
        assert label not in body
    assert "住民票の写し（" not in body
    assert "certificate of residence (住民票の写し), issued without your individual number" in body
    assert "[Documents we have confirmed so far]\n- Residence card (在留カード)\n" in body
    assert "Requested by: an agent appointed by the principal on behalf of the principal" in body
    assert body.startswith("Dear SMITH JANE,\n")
    assert "If it is difficult for you to send a copy of an identity document" in body
    assert "A fee of 2,000 yen applies to this request (Notification of the purpose of use: 1,000 yen; " \
           "Disclosure of retained personal data: 1,000 yen)." in body
    assert "Correction, addition or deletion:" not in body  # free of charge
    assert "The request form (個人情報開示等請求書) is attached to this email." in body


def test_fee_notice_shows_total_breakdown_reference_and_payment_details() -> None:
    subject, body = render_en("fee_notice", status="awaiting_fee", missing=[])
    assert subject == f"[{POLICY.company.name}] Fee for your request concerning personal information [#{CASE_ID}]"
    assert "[Fee] Total 2,000 yen\n" in body
    assert "  - Notification of the purpose of use: 1,000 yen\n" in body
    assert "  - Disclosure of retained personal data: 1,000 yen\n" in body
    assert f"[Reference number to quote when paying] {CASE_ID}\n" in body
    bank = POLICY.payment.bank_account
    assert bank is not None
    assert f"Bank: {bank.bank} {bank.branch}\n" in body
    assert f"{bank.account_type} {bank.number}\n" in body
    assert f"Account holder: {bank.holder}\n" in body
    assert f'reference number "{CASE_ID}" before the remitter\'s name' in body
    assert "cash sent by registered mail (現金書留) or postal money order (定額小為替)" in body
    assert POLICY.payment.postal_recipient in body


def test_notes_explain_my_number_insurance_number_and_unreadable_files() -> None:
    _, body = render_en("ack")
    assert "[About your individual number (My Number)]" in body
    assert "[About the numbers on your health insurance card or eligibility certificate]" in body
    assert "[About attachments we could not read]" in body
    _, quiet = render_en("ack", flags=[])
    assert "My Number" not in quiet and "attachments we could not read" not in quiet


def test_ack_by_status_and_english_dates() -> None:
    _, fee = render_en("ack", status="awaiting_fee")
    assert "payment of the fee of 2,000 yen" in fee
    assert f'quote the reference number "{CASE_ID}"' in fee
    assert "by Monday, 16 June 2025 at the latest" in fee
    _, verifying = render_en("ack", status="awaiting_verification")
    assert "verifying your identity" in verifying
    subject, _ = render_en("ack", followup=True)
    assert subject.startswith(f"[{POLICY.company.name}] We have received your email")


def test_payments_reminder_and_lapse() -> None:
    _, partial = render_en("payment_partial", status="awaiting_fee", paid_yen=1000)
    assert "[Amount received] 1,000 yen (bank transfer)\n" in partial
    assert "[Balance due] 1,000 yen\n" in partial
    assert f'"{CASE_ID}"' in partial
    _, receipt = render_en("receipt", paid_yen=2000, extra={"payment_amount": 2000})
    assert "[Total fee] 2,000 yen (paid: 2,000 yen)" in receipt
    _, fee_due = render_en("reminder", status="awaiting_fee", paid_yen=500)
    assert "[Fee to be paid] 1,500 yen (500 yen of the total fee of 2,000 yen already received)" in fee_due
    assert "Monday, 2 June 2025" in fee_due and "Wednesday, 16 July 2025" in fee_due
    _, docs = render_en("reminder", status="awaiting_documents")
    assert "1. Your certificate of residence (住民票の写し)" in docs
    _, lapse = render_en("lapse_notice", status="lapsed")
    assert "payment of the fee\nthat we asked for on Monday, 16 June 2025." in lapse
    _, lapse_docs = render_en("lapse_notice", status="lapsed", extra={"status_before": "awaiting_documents"})
    assert "submission of the documents" in lapse_docs


def test_closing_notice_branches_are_distinct() -> None:
    bodies = {outcome: render_en("closing_notice", extra={"outcome": outcome, "reason": ""})[1]
              for outcome in ("corrected", "suspended", "third_party_stopped")}
    actions = {o: b.split("[Action taken]\n", 1)[1].split("\n", 1)[0] for o, b in bodies.items()}
    assert "corrected, added to or deleted" in actions["corrected"]
    assert "suspended the use of, or erased" in actions["suspended"]
    assert "stopped providing your personal data to third parties" in actions["third_party_stopped"]
    assert len(set(actions.values())) == 3
    assert "[Additional information]" not in bodies["corrected"]


def test_refusals_show_the_reason_and_the_method() -> None:
    for kind in ("rejection_notice", "partial_refusal_notice", "no_data_notice"):
        _, body = render_en(kind)
        assert EXTRA["reason"] in body
    _, partial = render_en("partial_refusal_notice", disclosure_method="paper")
    assert "by the method you specified (delivery of a paper document)" in partial
    _, paid = render_en("no_data_notice", paid_yen=2000)
    assert "contact you separately about the fee you have paid" in paid
