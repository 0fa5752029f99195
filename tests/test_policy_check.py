"""`policy check`: a new policy is validated and the open cases replayed under it, read-only."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import casestore, staff
from bot.app import App
from bot.db import Case, CaseEvent, OutboundMessage
from bot.models import CaseFacts, DocumentFact
from bot.policy_check import CaseClock, Change, PolicyCheck, check_policy, compare, lines, policy_differences, to_json
from bot.runner import run_once
from config.policy import Policy, PolicyError, load_policy
from tests import factory
from tests.apps import make_app
from tests.test_pipeline import FORM_DISCLOSE, complete_request, deliver

SEED = resources.files("config").joinpath("policies", "seed.yaml").read_text(encoding="utf-8")
DISCLOSE_FEE = "disclose: {label: 保有個人データの開示, fee_yen: 1000}"
PRINCIPAL = "principal_requires: [identity_document, resident_record]"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = make_app(tmp_path)
    yield a
    a.close()


def write_policy(tmp_path: Path, name: str, *replacements: tuple[str, str]) -> str:
    text = SEED
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def ids_by_email(app: App) -> dict[str, str]:
    with app.session() as s:
        return {c.requester_email: c.id for c in casestore.all_cases(s)}


@pytest.fixture
def cases(app: App) -> dict[str, str]:
    """paid (awaiting_verification), no 住民票 (awaiting_documents), rejected (final)."""
    deliver(app, complete_request("山田 太郎 <taro@example.com>"))
    deliver(app, factory.mail(
        sender="hanako@example.com", subject="開示請求", body="開示を請求します。",
        attachments=(("f.pdf", "application/pdf", factory.filled_form(FORM_DISCLOSE, ["type_disclose"])),
                     ("id.pdf", "application/pdf", factory.drivers_license("佐藤 花子", "東京都例区2-2")))))
    deliver(app, complete_request("鈴木 一郎 <ichiro@example.com>"))
    run_once(app)
    ids = ids_by_email(app)
    paid, nodoc, rejected = ids["taro@example.com"], ids["hanako@example.com"], ids["ichiro@example.com"]
    assert staff.record_payment(app, paid, 1000, "bank_transfer").status == "awaiting_verification"
    assert staff.reject(app, rejected, "本人確認ができません").status == "rejected"
    with app.session() as s:
        found = casestore.get_case(s, nodoc)
        assert found is not None and found.status == "awaiting_documents"
        assert list(found.missing) == ["resident_record"]
    return {"paid": paid, "nodoc": nodoc, "rejected": rejected}


def by_case(check: PolicyCheck) -> dict[str, dict[str, Change]]:
    return {cc.case_id: {c.field: c for c in cc.changes} for cc in check.changed}


def test_a_higher_fee_puts_a_paid_case_back_to_awaiting_fee(app: App, cases: dict[str, str],
                                                            tmp_path: Path) -> None:
    spec = write_policy(tmp_path, "fee.yaml", (DISCLOSE_FEE, DISCLOSE_FEE.replace("1000", "2000")))
    check = check_policy(app, spec)
    assert (check.open_cases, check.final_cases) == (2, 1)
    changed = by_case(check)
    assert set(changed) == {cases["paid"], cases["nodoc"]}
    paid = changed[cases["paid"]]
    assert set(paid) == {"fee", "status"}
    assert (paid["fee"].before, paid["fee"].after) == (1000, 2000)
    assert (paid["status"].before, paid["status"].after) == ("awaiting_verification", "awaiting_fee")
    assert set(changed[cases["nodoc"]]) == {"fee"}  # still waits for its 住民票 first
    text = lines(check)
    assert text[0] == f"policy {spec} is valid"
    assert "  request_types.disclose.fee_yen 1,000 → 2,000" in text
    assert "2 open cases replayed, 2 would change" in text
    assert any("not replayed" in line for line in text)
    assert f"{cases['paid']}  fee 1,000 → 2,000; status awaiting_verification → awaiting_fee" in text
    assert cases["rejected"] not in "\n".join(text)
    data = to_json(check)
    assert data["valid"] is True and data["final_cases_not_replayed"] == 1
    [entry] = [c for c in data["changed_cases"] if c["id"] == cases["paid"]]
    assert {"field": "fee", "before": 1000, "after": 2000} in entry["changes"]


def test_dropping_the_resident_record_lets_a_case_go_on_to_the_fee(app: App, cases: dict[str, str],
                                                                  tmp_path: Path) -> None:
    spec = write_policy(tmp_path, "p.yaml", (PRINCIPAL, "principal_requires: [identity_document]"))
    check = check_policy(app, spec)
    changed = by_case(check)
    assert set(changed) == {cases["nodoc"]}
    c = changed[cases["nodoc"]]
    assert (c["status"].before, c["status"].after) == ("awaiting_documents", "awaiting_fee")
    assert (c["missing"].before, c["missing"].after) == (("resident_record",), ())
    text = lines(check)
    assert "  principal_requires -resident_record" in text
    assert f"{cases['nodoc']}  missing -resident_record; status awaiting_documents → awaiting_fee" in text


def test_a_longer_response_period_moves_the_due_dates(app: App, cases: dict[str, str],
                                                      tmp_path: Path) -> None:
    spec = write_policy(tmp_path, "r.yaml", ("response_period_days: 14", "response_period_days: 30"))
    check = check_policy(app, spec)
    changed = by_case(check)
    assert set(changed) == {cases["paid"], cases["nodoc"]}
    for fields in changed.values():
        assert set(fields) == {"due"}
        before = dt.date.fromisoformat(str(fields["due"].before))
        after = dt.date.fromisoformat(str(fields["due"].after))
        assert after - before == dt.timedelta(days=16)
    assert "  response_period_days 14 → 30" in lines(check)


def test_an_identical_copy_changes_nothing(app: App, cases: dict[str, str], tmp_path: Path) -> None:
    check = check_policy(app, write_policy(tmp_path, "same.yaml"))
    assert check.changed == () and check.policy_changes == ()
    assert lines(check)[1:3] == ["no policy differences that matter to requesters",
                                 "2 open cases replayed, 0 would change"]


def test_an_unknown_key_is_refused_with_its_name(app: App, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SEED + "\nsurprise_fee: 5\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="surprise_fee"):
        check_policy(app, str(bad))
    with pytest.raises(PolicyError, match="cannot read"):
        check_policy(app, "absent.yaml", base_dir=tmp_path)


def _db_state(app: App, tmp_path: Path) -> tuple[object, ...]:
    with app.session() as s:
        counts = tuple(s.scalar(select(func.count()).select_from(t)) for t in (Case, CaseEvent, OutboundMessage))
        stamps = tuple((c.id, c.status, c.updated_at, c.due_on) for c in casestore.all_cases(s))
    files = tuple(hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tmp_path.glob("m.db*")))
    outbox = sorted(p.name for p in (tmp_path / "outbox").glob("*"))
    return counts, stamps, files, tuple(outbox)


def test_a_check_changes_nothing_in_the_store(app: App, cases: dict[str, str], tmp_path: Path) -> None:
    before = _db_state(app, tmp_path)
    spec = write_policy(tmp_path, "fee.yaml", (DISCLOSE_FEE, DISCLOSE_FEE.replace("1000", "2000")),
                        (PRINCIPAL, "principal_requires: [identity_document]"))
    assert len(check_policy(app, spec).changed) == 2
    assert _db_state(app, tmp_path) == before


# --------------------------------------------------------------------------- pure


def _seed() -> Policy:
    return load_policy("builtin:seed")


def _variant(tmp_path: Path, *replacements: tuple[str, str]) -> Policy:
    return load_policy(write_policy(tmp_path, "v.yaml", *replacements))


FACTS = CaseFacts(request_types=frozenset({"disclose"}), agent_present=False, agent_type=None,
                  documents=(DocumentFact("request_form", "unknown"), DocumentFact("drivers_license", "principal"),
                             DocumentFact("resident_record", "principal")),
                  paid_yen=1000, form_received=True)


def test_compare_the_same_policy_is_no_change() -> None:
    clock = CaseClock(dt.date(2025, 6, 2), (), dt.date(2025, 6, 3))
    assert compare(FACTS, _seed(), _seed(), clock) == []


def test_compare_reports_fee_and_status(tmp_path: Path) -> None:
    new = _variant(tmp_path, (DISCLOSE_FEE, DISCLOSE_FEE.replace("1000", "1500")))
    assert compare(FACTS, _seed(), new) == [Change("fee", 1000, 1500),
                                           Change("status", "awaiting_verification", "awaiting_fee")]


def test_compare_reports_new_missing_documents(tmp_path: Path) -> None:
    new = _variant(tmp_path, (PRINCIPAL, "principal_requires: [identity_document, resident_record, "
                                         "seal_certificate]"))
    assert compare(FACTS, _seed(), new) == [Change("missing", (), ("seal_certificate",)),
                                           Change("status", "awaiting_verification", "awaiting_documents")]


def test_compare_due_dates_follow_the_counting(tmp_path: Path) -> None:
    new = _variant(tmp_path, ("count: calendar_days", "count: business_days"))
    clock = CaseClock(dt.date(2025, 6, 2), (), dt.date(2025, 6, 3))  # a Monday
    [change] = compare(FACTS, _seed(), new, clock)
    assert change == Change("due", "2025-06-16", "2025-06-20")  # 14 business days


def test_payment_differences_are_listed(tmp_path: Path) -> None:
    new = _variant(tmp_path, ("methods: [bank_transfer, registered_cash, postal_money_order]",
                              "methods: [bank_transfer]"), ('number: "0000000"', 'number: "1234567"'))
    assert [(d.key, d.after) for d in policy_differences(_seed(), new)] == [
        ("payment.methods", ("bank_transfer",)), ("payment.bank_account", "changed")]


def test_the_command_line_says_valid_or_names_the_fault(app: App, cases: dict[str, str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bot.cli import _state, cli

    higher = write_policy(tmp_path, "higher.yaml", ("fee_yen: 1000}", "fee_yen: 3000}"))
    broken = tmp_path / "broken.yaml"
    broken.write_text(Path(higher).read_text(encoding="utf-8") + "\nbogus_key: 1\n", encoding="utf-8")
    runner = CliRunner()
    try:
        _state.clear()
        _state["app"] = app
        ok = runner.invoke(cli, ["policy", "check", higher])
        assert ok.exit_code == 0 and ok.stdout.startswith(f"policy {higher} is valid")
        assert "would change" in ok.stdout
        as_json = runner.invoke(cli, ["policy", "check", higher, "--format", "json"])
        assert as_json.exit_code == 0 and '"valid": true' in as_json.stdout
        bad = runner.invoke(cli, ["policy", "check", str(broken)])
        assert bad.exit_code == 2 and "bogus_key" in bad.stderr
    finally:
        _state.clear()
