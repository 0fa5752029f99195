"""The staff side over weeks of simulated time: every status, the deadline clock, reminders,
lapsing, bank statements, closing notices, the audit trail and the staff views.

The clock is the app's injected clock, moved forward day by day; mail goes through the
real pipeline (Maildir in, SQLite, folder outbox) with real PDFs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from bot import casestore, staff
from bot.app import App
from bot.audit import export_events
from bot.chasing import chase_cases
from bot.delivery import deliver_queued
from bot.payments_import import import_statement
from bot.runner import run_once
from tests import factory
from tests.apps import make_app
from tests.test_pipeline import FORM_DISCLOSE, body_of, cases, complete_request, deliver, outbox

DAY0 = dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = make_app(tmp_path, actor="suzuki", MADOGUCHI_NOW=DAY0.isoformat())
    yield a
    a.close()


def on_day(app: App, n: int, hour: int = 10) -> None:
    app.clock._fixed = DAY0 + dt.timedelta(days=n, hours=hour - 10)


def case_row(app: App, case_id: str) -> dict[str, object]:
    return next(c for c in cases(app) if c["id"] == case_id)


def events(app: App, case_id: str) -> list[tuple[str, str, dict[str, object]]]:
    with app.session() as s:
        case = casestore.get_case(s, case_id)
        assert case is not None
        return [(e.type, e.actor, e.detail) for e in case.events]


def subjects_to(app: App, addr: str) -> list[str]:
    return [str(m["Subject"]) for m in outbox(app) if m["To"] == addr]


def body_only_request(sender: str = "山田 太郎 <taro@example.com>") -> bytes:
    return factory.mail(sender=sender, subject="開示請求", body="保有個人データの開示を請求します。")


def followup_with_documents(case_id: str, sender: str = "山田 太郎 <taro@example.com>") -> bytes:
    return factory.mail(
        sender=sender, subject=f"Re: 不足書類のご案内 [#{case_id}]", body="書類を添付します。",
        attachments=(
            ("seikyusho.pdf", "application/pdf", factory.filled_form(FORM_DISCLOSE, ["type_disclose"])),
            ("license.pdf", "application/pdf", factory.drivers_license("山田 太郎", "東京都例区1-1")),
            ("juminhyo.pdf", "application/pdf", factory.resident_record("山田 太郎", "東京都例区1-1")),
        ),
    )


def transfer_csv(lines: list[tuple[str, str, int]]) -> bytes:
    """A bank's CSV export as its web banking writes it: Shift_JIS, 全角 header, half-width kana."""
    rows = ["日付,摘要,お支払金額,お預り金額,差引残高"]
    balance = 100_000
    for day, payer, amount in lines:
        balance += amount
        rows.append(f"{day},{payer},,{amount},{balance}")
    return ("\r\n".join(rows) + "\r\n").encode("cp932")


def test_a_case_through_every_status_with_the_clock_stopped_while_it_waits(app: App) -> None:
    deliver(app, body_only_request())
    run_once(app)
    case_id = str(cases(app)[0]["id"])
    assert case_row(app, case_id)["status"] == "awaiting_documents"

    on_day(app, 5)  # the documents arrive: the case now waits on the fee, the clock still stopped
    deliver(app, followup_with_documents(case_id))
    run_once(app)
    assert case_row(app, case_id)["status"] == "awaiting_fee"

    on_day(app, 8)  # paid by bank transfer: the clock restarts today; 14 days from here
    report = import_statement(app, transfer_csv([("2025/06/10", f"{case_id.replace('-', '')} ﾔﾏﾀﾞ ﾀﾛｳ", 1000)]))
    assert [m.outcome for m in report.matches] == ["matched"] and report.recorded == [case_id]
    deliver_queued(app)
    row = case_row(app, case_id)
    assert row["status"] == "awaiting_verification" and row["due_on"] == "2025-06-24"

    on_day(app, 9)
    staff.verify(app, case_id)
    assert case_row(app, case_id)["status"] == "in_progress"
    with pytest.raises(staff.StaffError, match="reason"):
        staff.close(app, case_id, "partially_refused", "  ")
    on_day(app, 12)
    closed = staff.close(app, case_id, "disclosed")
    assert closed.status == "closed" and closed.outcome == "disclosed"

    clock = [(d["clock"], d["due_on"]) for t, _, d in events(app, case_id) if t == "deadline" and "clock" in d]
    assert clock == [("stopped", "2025-06-16"), ("restarted", "2025-06-24")]
    actors = {t: a for t, a, _ in events(app, case_id) if t.startswith("staff_")}
    assert actors == {"staff_payment": "suzuki", "staff_verify": "suzuki", "staff_close": "suzuki"}
    subjects = subjects_to(app, "taro@example.com")
    assert any("不足書類" in s for s in subjects) and any("手数料のご案内" in s for s in subjects)
    assert any("手数料受領" in s for s in subjects)
    assert len(subjects) == 3  # a disclosure is sent by staff by the chosen method, not by the robot


def test_reminder_once_then_the_request_lapses_with_a_final_notice(app: App) -> None:
    deliver(app, body_only_request())
    run_once(app)
    case_id = str(cases(app)[0]["id"])
    sent = len(outbox(app))
    for day in range(1, 14):
        on_day(app, day)
        assert chase_cases(app).reminded == []
    on_day(app, 14)
    assert chase_cases(app).reminded == [case_id]
    deliver_queued(app)
    for day in (14, 15, 30, 43):  # the same day again, and the days before the lapse: nothing more
        on_day(app, day, hour=18)
        assert chase_cases(app).reminded == [] and chase_cases(app).lapsed == []
    deliver_queued(app)
    reminders = outbox(app)[sent:]
    assert len(reminders) == 1 and "書類のご提出のお願い" in str(reminders[0]["Subject"])
    body = body_of(reminders[0])
    assert "2025年7月16日" in body  # the day it will lapse, 30 days after the reminder
    assert "住民票の写し" in body  # what is still missing is named again

    on_day(app, 44)
    assert chase_cases(app, dry_run=True).lapsed == [case_id]
    assert case_row(app, case_id)["status"] == "awaiting_documents"  # a dry run changes nothing
    assert chase_cases(app).lapsed == [case_id]
    on_day(app, 45)
    assert chase_cases(app).lapsed == []
    deliver_queued(app)
    row = case_row(app, case_id)
    assert row["status"] == "closed" and row["outcome"] == "lapsed"
    final = outbox(app)[sent + 1:]
    assert len(final) == 1 and "手続き終了" in str(final[0]["Subject"])
    types = [t for t, _, _ in events(app, case_id)]
    assert types.count("reminder") == 1 and types.count("lapsed") == 1


def test_an_answer_restarts_the_reminder_wait(app: App) -> None:
    deliver(app, body_only_request())
    run_once(app)
    case_id = str(cases(app)[0]["id"])
    on_day(app, 10)  # the requester sends only the form: still waiting on documents, but not silent
    deliver(app, factory.mail(sender="山田 太郎 <taro@example.com>", subject=f"Re: [#{case_id}]", body="請求書です。",
                              attachments=(("f.pdf", "application/pdf",
                                            factory.filled_form(FORM_DISCLOSE, ["type_disclose"])),)))
    run_once(app)
    on_day(app, 14)
    assert chase_cases(app).reminded == []
    on_day(app, 24)
    assert chase_cases(app).reminded == [case_id]


def test_bank_statement_with_matched_unmatched_short_and_duplicate_transfers(app: App) -> None:
    for n, who in enumerate(("taro", "hanako", "jiro")):
        deliver(app, complete_request(f"{who} <{who}@example.com>"), name=f"{n}.eml")
    run_once(app)
    ids = [str(c["id"]) for c in cases(app)]
    assert all(case_row(app, i)["status"] == "awaiting_fee" for i in ids)
    on_day(app, 3)
    statement = transfer_csv([
        ("2025/06/04", f"{ids[0]} ﾀﾛｳ", 1000),  # matched
        ("2025/06/04", "ﾔﾏﾀﾞ ﾊﾅｺ", 1000),  # no reference: not matched by amount alone
        ("2025/06/05", f"{ids[1].replace('-', 'ｰ')} ﾊﾅｺ", 500),  # short
        ("2025/06/05", f"{ids[0]} ﾀﾛｳ", 1000),  # paid twice
        ("2025/06/05", "20250101-009 ｽｽﾞｷ", 1000),  # no such case
    ])
    report = import_statement(app, statement)
    assert [m.outcome for m in report.matches] == ["matched", "no_reference", "short", "already_paid",
                                                   "unknown_reference"]
    assert report.recorded == [ids[0]]
    assert case_row(app, ids[0])["paid_yen"] == 1000 and case_row(app, ids[1])["paid_yen"] == 0
    again = import_statement(app, statement)  # the same file once more
    assert {m.outcome for m in again.matches} == {"duplicate"} and again.recorded == []
    assert case_row(app, ids[0])["status"] == "awaiting_verification"
    deliver_queued(app)
    assert sum("手数料受領" in s for s in subjects_to(app, "taro@example.com")) == 1  # one receipt only
    assert any(t == "bank_transfer_unmatched" and d["outcome"] == "short" for t, _, d in events(app, ids[1]))


def test_refusal_and_no_data_notices_carry_the_reason(app: App) -> None:
    for n, who in enumerate(("taro", "hanako")):
        deliver(app, complete_request(f"{who} <{who}@example.com>"), name=f"{n}.eml")
    run_once(app)
    a, b = (str(c["id"]) for c in cases(app))
    with pytest.raises(staff.StaffError, match="not in_progress"):
        staff.close(app, a, "no_data_held")  # not paid, not verified: no answer yet
    for case_id in (a, b):
        staff.record_payment(app, case_id, 1000, "registered_cash")
        staff.verify(app, case_id)
    staff.close(app, a, "no_data_held")
    staff.close(app, b, "partially_refused", "第三者の権利利益を害するおそれがあるため（法第33条第2項第1号）")
    deliver_queued(app)
    no_data = [m for m in outbox(app) if m["To"] == "taro@example.com" and "保有個人データなし" in str(m["Subject"])]
    partial = [m for m in outbox(app) if m["To"] == "hanako@example.com" and "一部" in str(m["Subject"])]
    assert len(no_data) == 1 and len(partial) == 1
    assert "保有しておりませんでした" in body_of(no_data[0])
    assert "法第33条第2項第1号" in body_of(partial[0])
    assert f"[#{b}]" in str(partial[0]["Subject"]) and partial[0]["Auto-Submitted"] == "auto-replied"


def test_a_refusal_ends_the_case_as_rejected_at_any_stage(app: App) -> None:
    deliver(app, body_only_request())
    run_once(app)
    case_id = str(cases(app)[0]["id"])
    with pytest.raises(staff.StaffError, match="--reason"):
        staff.close(app, case_id, "refused")
    rejected = staff.close(app, case_id, "refused", "同一内容のご請求に既に回答済みのため")
    assert rejected.status == "rejected" and rejected.outcome == "refused"
    row = case_row(app, case_id)
    assert row["status"] == "rejected" and row["closed_at"] is not None
    deliver_queued(app)
    assert "同一内容のご請求に既に回答済みのため" in body_of(outbox(app)[-1])
    assert [d for t, _, d in events(app, case_id) if t == "deadline"][-1]["due_on"]  # the clock was closed too
    with app.session() as s:
        case = casestore.get_case(s, case_id)
        assert case is not None and case.clock_stops[-1][1] == "2025-06-02"


def test_an_english_request_is_answered_in_english(app: App) -> None:
    deliver(app, factory.mail(sender="John Smith <john@example.com>", subject="Request for disclosure",
                              body="Dear Sir or Madam,\n\nI hereby request disclosure of the personal data "
                                   "your company holds about me. Please let me know what documents you need.\n\n"
                                   "Kind regards,\nJohn Smith"))
    run_once(app)
    row = cases(app)[0]
    assert row["lang"] == "en" and row["request_types"] == ["disclose"]
    reply = outbox(app)[-1]
    assert "[#" in str(reply["Subject"])
    assert "request" in str(reply["Subject"]).lower()
    body = body_of(reply)
    assert "でございます" not in body and "certificate of residence" in body.lower()  # 住民票, named in English


def test_the_audit_trail_is_append_only_and_exported(app: App) -> None:
    deliver(app, complete_request())
    run_once(app)
    case_id = str(cases(app)[0]["id"])
    staff.record_payment(app, case_id, 1000, "bank_transfer")
    rows = json.loads(export_events(app, "json", case_id=case_id))
    types = [r["type"] for r in rows]
    for expected in ("mail_in", "decision", "reply_queued", "reply_delivered", "staff_payment"):
        assert expected in types
    decision = next(r for r in rows if r["type"] == "decision")
    assert "fee:1000" in decision["detail"]["rules"]
    csv_text = export_events(app, "csv")
    assert csv_text.splitlines()[0] == "event_id,at,case_id,actor,type,detail"
    assert len(csv_text.splitlines()) == len(json.loads(export_events(app, "json"))) + 1
    assert export_events(app, "json", since=dt.date(2025, 6, 3)) == "[]\n"
    with app.engine.begin() as conn, pytest.raises(DatabaseError, match="append-only"):
        conn.execute(text("UPDATE case_events SET actor = 'someone else'"))
    with app.engine.begin() as conn, pytest.raises(DatabaseError, match="append-only"):
        conn.execute(text("DELETE FROM case_events"))


def test_cases_list_filters_overdue_due_soon_and_agent(app: App, tmp_path: Path) -> None:
    from bot.cli import _state, cli

    deliver(app, complete_request(), name="a.eml")
    run_once(app)
    on_day(app, 10)
    deliver(app, complete_request("hanako <hanako@example.com>"), name="b.eml")
    run_once(app)
    first, second = (str(c["id"]) for c in cases(app))
    for case_id in (first, second):
        staff.record_payment(app, case_id, 1000, "bank_transfer")
    on_day(app, 22)  # first paid on day 10 → due day 24; second paid day 10 too → due day 24 as well
    _state.clear()
    _state["app"] = app
    try:
        runner = CliRunner()
        all_rows = json.loads(runner.invoke(cli, ["cases", "list", "--format", "json"]).stdout)
        assert [r["days_left"] for r in all_rows] == [2, 2] and not any(r["overdue"] for r in all_rows)
        soon = runner.invoke(cli, ["cases", "list", "--due-within", "2"]).stdout
        assert first in soon and second in soon
        assert runner.invoke(cli, ["cases", "list", "--overdue"]).stdout.count("\n") == 1  # header only
        on_day(app, 26)
        overdue = runner.invoke(cli, ["cases", "list", "--overdue"]).stdout
        assert first in overdue and "OVERDUE 2d" in overdue
        assert runner.invoke(cli, ["cases", "list", "--agent"]).stdout.count("\n") == 1
        bad = runner.invoke(cli, ["cases", "list", "--format", "xml"])
        assert bad.exit_code == 2
    finally:
        _state.clear()


def test_staff_commands_from_the_command_line(app: App, tmp_path: Path) -> None:
    from bot.cli import _state, cli

    deliver(app, complete_request())
    run_once(app)
    case_id = str(cases(app)[0]["id"])
    env = {"MADOGUCHI_MAILBOX_URL": app.settings.mailbox_url, "MADOGUCHI_OUTBOX_URL": app.settings.outbox_url,
           "MADOGUCHI_DATABASE_URL": app.settings.database_url, "MADOGUCHI_DATA_DIR": str(app.settings.data_dir),
           "MADOGUCHI_WINDOW_ADDRESS": "info@example.jp", "MADOGUCHI_NOW": DAY0.isoformat()}
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        _state.clear()
        try:
            r = runner.invoke(cli, list(args), env=env)
        finally:
            app_ = _state.get("app")
            if app_ is not None:
                app_.close()
            _state.clear()
        return r.exit_code, r.stdout, r.stderr

    garbage = tmp_path / "statement.csv"
    garbage.write_bytes(b"\x00\x01\x02 not a statement")
    code, _, err = invoke("payments", "import", str(garbage))
    assert code == 1 and "statement.csv" in err
    good = tmp_path / "good.csv"
    good.write_bytes(transfer_csv([("2025/06/02", f"{case_id} ﾀﾛｳ", 1000)]))
    code, out, _ = invoke("payments", "import", "--dry-run", str(good))
    assert code == 0 and "would be recorded" in out and "ﾀﾛｳ" not in out and "タロウ" not in out
    assert case_row(app, case_id)["paid_yen"] == 0
    code, out, _ = invoke("--as", "tanaka", "payments", "import", str(good))
    assert code == 0 and "matched" in out and case_row(app, case_id)["paid_yen"] == 1000
    code, _, err = invoke("cases", "close", case_id, "--outcome", "bogus")
    assert code == 1 and "--outcome must be one of" in err
    code, out, _ = invoke("--as", "tanaka", "cases", "verify", case_id)
    assert code == 0 and "in_progress" in out
    code, out, _ = invoke("audit", "export", "--case", case_id)
    payment_rows = [line for line in out.splitlines() if ",staff_payment," in line]
    assert len(payment_rows) == 1 and ",tanaka," in payment_rows[0]
    assert any(",tanaka,staff_verify," in line for line in out.splitlines())
    code, out, _ = invoke("chase", "--dry-run")
    assert code == 0 and "reminders: 0" in out


def test_a_new_case_alerts_staff_when_the_policy_says_so(tmp_path: Path) -> None:
    from importlib import resources

    seed = resources.files("config").joinpath("policies/seed.yaml").read_text(encoding="utf-8")
    assert "new_case: false" in seed
    policy = tmp_path / "policy.yaml"
    policy.write_text(seed.replace("new_case: false", "new_case: true"), encoding="utf-8")
    a = make_app(tmp_path, MADOGUCHI_STAFF_ADDRESSES="staff@example.jp,boss@example.jp",
                 MADOGUCHI_POLICY=str(policy), MADOGUCHI_NOW=DAY0.isoformat())
    try:
        raw = complete_request()
        deliver(a, raw)
        deliver(a, raw)  # the same mail again: no second case, no second alert
        run_once(a)
        case_id = str(cases(a)[0]["id"])
        alerts = [m for m in outbox(a) if m["To"] in ("staff@example.jp", "boss@example.jp")]
        assert sorted(m["To"] for m in alerts) == ["boss@example.jp", "staff@example.jp"]
        text_ = body_of(alerts[0])
        assert case_id in text_ and "山田" not in text_ and "taro@example.com" not in text_
        out = [m for m in cases(a)[0]["messages"] if m["direction"] == "out"]  # type: ignore[union-attr]
        assert len(out) == 1  # the case's messages are those with its requester, not staff alerts
    finally:
        a.close()


def test_staff_confirm_a_form_read_from_an_image_and_correct_the_fee(app: App) -> None:
    deliver(app, complete_request())
    run_once(app)
    case_id = str(cases(app)[0]["id"])
    with pytest.raises(staff.StaffError, match="no form read from an image"):
        staff.confirm_form(app, case_id)
    with app.session() as s, s.begin():  # as the pipeline flags a form read from a photo
        case = casestore.get_case(s, case_id)
        assert case is not None
        case.flags = [*case.flags, "form_needs_confirmation"]
    with pytest.raises(staff.StaffError, match="--types"):
        staff.confirm_form(app, case_id, ["disclosure"])
    fee_notices = len([m for m in outbox(app) if "手数料のご案内" in str(m["Subject"])])
    case = staff.confirm_form(app, case_id, ["disclose", "notify_purpose"])  # the photo showed two boxes
    assert case.fee_yen == 2000 and "form_needs_confirmation" not in case.flags
    deliver_queued(app)
    notices = [m for m in outbox(app) if "手数料のご案内" in str(m["Subject"])]
    assert len(notices) == fee_notices + 1 and "2,000円" in body_of(notices[-1])
    confirmed = [d for t, _, d in events(app, case_id) if t == "staff_confirm_form"]
    assert confirmed == [{"request_types": ["disclose", "notify_purpose"], "corrected_from": ["disclose"]}]


def test_the_streamed_export_is_exactly_the_json_array(app: App) -> None:
    from bot.cli import _state, cli
    from bot.export import case_to_json

    runner = CliRunner()
    try:
        _state.clear()
        _state["app"] = app
        assert runner.invoke(cli, ["cases", "export"]).stdout == "[]\n"
        assert runner.invoke(cli, ["cases", "list", "--format", "json"]).stdout == "[]\n"
        for n, who in enumerate(("taro", "hanako", "jiro")):
            deliver(app, complete_request(f"{who} <{who}@example.com>"), name=f"{n}.eml")
        run_once(app)
        with app.session() as s:
            expected = [case_to_json(c) for c in casestore.all_cases(s)]
        out = runner.invoke(cli, ["cases", "export"]).stdout
        assert out == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
        assert len(json.loads(runner.invoke(cli, ["cases", "list", "--format", "json"]).stdout)) == 3
    finally:
        _state.clear()
