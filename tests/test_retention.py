"""Retention: what the policy says has expired is deleted, recorded, and nothing else is touched."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import casestore, staff
from bot.app import App
from bot.db import CaseEvent, InboundMessage, OutboundMessage
from bot.delivery import deliver_queued
from bot.export import case_to_json
from bot.housekeeping import housekeep
from bot.retention import (
    PURGED_EMAIL,
    PURGED_FILENAME,
    CaseFact,
    DocumentFact,
    MessageFact,
    ReplyFact,
    add_years,
    describe,
    dry_run,
    plan,
)
from bot.retention import run as run_retention
from bot.runner import run_once
from config.policy import Retention, load_policy
from tests import factory
from tests.apps import make_app, poison_parser
from tests.test_pipeline import FORM_DISCLOSE, deliver

JST = dt.timezone(dt.timedelta(hours=9))
DAY0 = dt.datetime(2025, 6, 2, 10, 0, tzinfo=JST)
CHECK = dt.datetime(2029, 6, 2, 10, 0, tzinfo=JST)  # four years on
RULES = Retention(identity_documents_days=30, raw_messages_days=90, closed_cases_years=3)
D = dt.date(2025, 6, 2)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = make_app(tmp_path, MADOGUCHI_STAFF_ADDRESSES="", MADOGUCHI_NOW=DAY0.isoformat())
    yield a
    a.close()


def at(app: App, when: dt.datetime) -> None:
    app.clock._fixed = when


def request(name: str, addr: str, street: str) -> bytes:
    """A complete 開示 request whose documents name this person (so no two cases share a file)."""
    form = factory.filled_form({**FORM_DISCLOSE, "requester_name": name, "requester_email": addr}, ["type_disclose"])
    return factory.mail(sender=f"{name} <{addr}>", subject="開示請求", body="開示を請求します。書類を添付します。",
                        attachments=(("seikyusho.pdf", "application/pdf", form),
                                     (f"{addr}_menkyo.pdf", "application/pdf", factory.drivers_license(name, street)),
                                     ("juminhyo.pdf", "application/pdf", factory.resident_record(name, street))))


def new_case(app: App, raw: bytes) -> str:
    deliver(app, raw)
    report = run_once(app)
    [result] = [r for r in report.results if r.outcome == "request"]
    assert result.case_id
    return result.case_id


def files_of(app: App, case_id: str) -> tuple[list[str], list[str]]:
    """(document digests, raw mail digests) the case refers to."""
    with app.session() as s:
        case = casestore.get_case(s, case_id)
        assert case is not None
        return [d.stored_as for d in case.documents if d.stored_as], [m.sha256 for m in case.inbound]


def snapshot(app: App) -> tuple[list[str], int, str]:
    data = app.settings.data_dir
    files = sorted(str(p.relative_to(data)) for p in data.rglob("*.bin"))
    with app.session() as s:
        events = len(list(s.scalars(select(CaseEvent))))
        cases = json.dumps([case_to_json(c) for c in casestore.all_cases(s)], ensure_ascii=False)
    return files, events, cases


def retention_events(app: App) -> list[CaseEvent]:
    with app.session() as s:
        return list(s.scalars(select(CaseEvent).where(CaseEvent.type == "retention").order_by(CaseEvent.id)))


def test_the_seed_policy_keeps_documents_30_days_mails_90_and_names_3_years() -> None:
    r = load_policy("builtin:seed").retention
    assert (r.identity_documents_days, r.raw_messages_days, r.closed_cases_years) == (30, 90, 3)


def test_expired_data_goes_the_rest_stays_and_every_deletion_is_recorded(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_parser(monkeypatch)

    # Four years ago: a case answered and closed (D), an inquiry.
    old = new_case(app, request("古田 一郎", "furuta@example.com", "東京都古区1-1"))
    staff.record_payment(app, old, 1000, "bank_transfer")
    staff.verify(app, old)
    staff.close(app, old)
    deliver(app, factory.mail(sender="質問 花子 <q@example.net>", subject="料金プランについての質問",
                              body="御社のBPOサービスの料金プランについて資料をいただけますか。"))
    assert run_once(app).count("inquiry") == 1
    # 100 days ago: a case closed without an answer (C), one verified and still open (B), a quarantined mail.
    at(app, CHECK - dt.timedelta(days=100))
    closed = new_case(app, request("中田 次郎", "nakata@example.com", "大阪府中区2-2"))
    staff.close(app, closed, "withdrawn")
    verified = new_case(app, request("検証 三郎", "kensho@example.com", "京都府検区3-3"))
    staff.record_payment(app, verified, 1000, "bank_transfer")
    staff.verify(app, verified)
    deliver(app, factory.mail(sender="x@example.org", subject="POISON", body="開示を請求します。"))
    assert run_once(app).count("quarantined") == 1
    # 5 days ago: a case still waiting for its fee (A), and a fresh quarantined mail.
    at(app, CHECK - dt.timedelta(days=5))
    waiting = new_case(app, request("待合 四郎", "machiai@example.com", "札幌市待区4-4"))
    deliver(app, factory.mail(sender="y@example.org", subject="POISON again", body="開示を請求します。"))
    assert run_once(app).count("quarantined") == 1
    deliver_queued(app)
    at(app, CHECK)

    before = {cid: files_of(app, cid) for cid in (old, closed, verified, waiting)}
    assert all(docs and raws for docs, raws in before.values())
    with app.session() as s:
        loose = {m.outcome: m.sha256 for m in s.scalars(select(InboundMessage)
                                                           .where(InboundMessage.case_id.is_(None))
                                                           .order_by(InboundMessage.id))}
        quarantined = [m.sha256 for m in casestore.quarantined(s)]
    assert len(quarantined) == 2

    # The dry run shows it all and changes nothing.
    state = snapshot(app)
    preview = dry_run(app)
    assert snapshot(app) == state
    assert {a.case_id for a in preview.cases} == {old, closed, verified}
    lines = describe(preview)
    text = "\n".join(lines)
    assert old in text and closed in text and verified in text and waiting not in text
    assert "inquiry 1" in text and "quarantined 1" in text
    for secret in ("古田", "furuta", "中田", "nakata", "kensho", "q@example.net"):
        assert secret not in text

    report = housekeep(app)
    assert report.documents_deleted == sum(len(before[c][0]) for c in (old, closed, verified))
    assert report.raw_messages_deleted == len(before[old][1]) + len(before[closed][1]) + 2  # inquiry, old quarantine
    assert report.cases_purged == 1 and report.replies_purged > 0 and not report.retention_failed

    # Files really gone from disk; the open cases' mails and the waiting case's documents stay.
    for cid in (old, closed, verified):
        assert not any(app.documents.has(d) for d in before[cid][0])
        assert files_of(app, cid)[0] == []
    for cid in (old, closed):
        assert not any(app.raw.has(r) for r in before[cid][1])
    assert all(app.raw.has(r) for r in before[verified][1])
    assert all(app.documents.has(d) for d in before[waiting][0]) and all(app.raw.has(r) for r in before[waiting][1])
    assert not app.raw.has(loose["inquiry"])
    assert not app.raw.has(quarantined[0]) and app.raw.has(quarantined[1])

    # Cases stay; only the four-year-old one is purged of names and addresses.
    with app.session() as s:
        rows = {c.id: c for c in casestore.all_cases(s)}
        assert set(rows) == {old, closed, verified, waiting}
        purged = rows[old]
        assert purged.requester_name is None and purged.requester_email == PURGED_EMAIL
        assert purged.final_status == "closed" and purged.fee_yen == 1000 and purged.paid_yen == 1000
        assert all(d.filename == PURGED_FILENAME for d in purged.documents) and purged.documents
        assert all(m.from_addr == PURGED_EMAIL and m.message_id is None for m in purged.inbound)
        assert rows[closed].requester_email == "nakata@example.com"
        assert rows[closed].documents[0].filename != PURGED_FILENAME
        outs = {o.case_id: o for o in s.scalars(select(OutboundMessage))}
        assert outs[old].raw == b"" and outs[old].to_addr == PURGED_EMAIL
        assert outs[closed].raw == b"" and outs[verified].raw and outs[waiting].raw
        purged_json = json.dumps(case_to_json(purged), ensure_ascii=False)
    for secret in ("古田", "一郎", "furuta", "東京都古区", "example.com"):
        assert secret not in purged_json
    assert json.loads(purged_json)["requester"] == {"name": None, "email": PURGED_EMAIL}

    # One event per case and one for the mails without a case: counts, never contents.
    events = retention_events(app)
    by_case = {e.case_id: e.detail for e in events}
    assert len(events) == 4 and set(by_case) == {old, closed, verified, None}
    assert by_case[verified] == {"rules": ["identity_documents_days"],
                                 "documents_deleted": len(before[verified][0])}
    assert by_case[closed]["rules"] == ["identity_documents_days", "raw_messages_days"]
    assert by_case[closed]["raw_messages_deleted"] == len(before[closed][1])
    assert by_case[old]["rules"] == ["closed_cases_years"] and by_case[old]["personal_data_purged"]
    assert by_case[None]["by_outcome"] == {"inquiry": 1, "quarantined": 1}
    dumped = json.dumps([e.detail for e in events], ensure_ascii=False)
    assert "example" not in dumped and "田" not in dumped

    # A second run the same day deletes and records nothing.
    state = snapshot(app)
    assert dry_run(app).empty and describe(dry_run(app)) == [f"retention {CHECK.date()}: nothing has expired"]
    again = run_retention(app)
    assert again.events == 0 and snapshot(app) == state

    # The export still works on the purged case.
    from typer.testing import CliRunner

    from bot.cli import _state, cli

    _state.clear()
    _state["app"] = app
    try:
        out = CliRunner().invoke(cli, ["cases", "export"])
    finally:
        _state.clear()
    assert out.exit_code == 0, out.stderr
    exported = {c["id"]: c for c in json.loads(out.stdout)}
    assert exported[old]["requester"]["email"] == PURGED_EMAIL and exported[waiting]["requester"]["name"] == "待合 四郎"


def test_a_file_shared_with_a_case_in_use_is_kept(app: App) -> None:
    license_pdf = factory.drivers_license("共有 五郎", "名古屋市共区5-5")
    form = factory.filled_form(FORM_DISCLOSE, ["type_disclose"])

    def mail(addr: str) -> bytes:
        return factory.mail(sender=f"共有 五郎 <{addr}>", subject="開示請求", body="開示を請求します。",
                            attachments=(("form.pdf", "application/pdf", form),
                                         ("license.pdf", "application/pdf", license_pdf)))

    first = new_case(app, mail("kyoyu@example.com"))
    staff.reject(app, first, "本人確認ができないため")
    second = new_case(app, mail("kyoyu2@example.com"))  # the same files, in a case still open
    shared = set(files_of(app, first)[0]) & set(files_of(app, second)[0])
    assert shared
    at(app, DAY0 + dt.timedelta(days=30))
    result = run_retention(app)
    assert result.documents_deleted == len(files_of(app, second)[0]) and result.document_files_deleted == 0
    assert files_of(app, first)[0] == [] and all(app.documents.has(d) for d in shared)
    assert files_of(app, second)[0]  # still linked


def test_a_crash_after_deleting_files_is_finished_by_the_next_run(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = new_case(app, request("途中 六郎", "tochu@example.com", "福岡市途区6-6"))
    staff.reject(app, cid, "本人確認ができないため")
    docs, _ = files_of(app, cid)
    at(app, DAY0 + dt.timedelta(days=30))
    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(casestore, "add_event", crash)  # the process dies before the commit
    with pytest.raises(RuntimeError):
        run_retention(app)
    monkeypatch.undo()
    assert not any(app.documents.has(d) for d in docs)  # the files went, the rows still say stored
    assert files_of(app, cid)[0] == docs
    assert run_retention(app).documents_deleted == len(docs)
    assert files_of(app, cid)[0] == [] and len(retention_events(app)) == 1


# --- the pure rules ---------------------------------------------------------------------


def case(cid: str = "c1", *, verified: dt.date | None = None, ended: dt.date | None = None,
         docs: tuple[str | None, ...] = ("d1",), personal: bool = True) -> CaseFact:
    return CaseFact(cid, verified, ended, tuple(DocumentFact(i, d) for i, d in enumerate(docs, 1)), personal)


def test_documents_go_exactly_n_days_after_verification_or_end_whichever_first() -> None:
    verified = case(verified=D)
    assert plan([verified], [], [], D + dt.timedelta(days=29), RULES).empty
    assert plan([verified], [], [], D + dt.timedelta(days=30), RULES).cases[0].documents == (1,)
    both = case(verified=D + dt.timedelta(days=10), ended=D)  # ended first, then verified: the earlier counts
    assert plan([both], [], [], D + dt.timedelta(days=30), RULES).document_files == ("d1",)
    lapsed = case(ended=D)  # never verified, but ended
    assert plan([lapsed], [], [], D + dt.timedelta(days=30), RULES).cases[0].rules == ("identity_documents_days",)
    open_unverified = case()
    assert plan([open_unverified], [], [], D + dt.timedelta(days=3650), RULES).empty
    already = case(verified=D, docs=(None,))
    assert plan([already], [], [], D + dt.timedelta(days=31), RULES).empty
    never = Retention(identity_documents_days=None, raw_messages_days=None, closed_cases_years=None)
    assert plan([case(verified=D, ended=D)], [], [], D + dt.timedelta(days=9999), never).empty


def test_raw_mails_of_a_case_go_m_days_after_the_later_of_arrival_and_end() -> None:
    ended = D + dt.timedelta(days=10)
    c = case(ended=ended, docs=())
    mails = [MessageFact(1, "old", "c1", "request", D), MessageFact(2, "late", "c1", "followup", ended)]
    replies = [ReplyFact(1, "c1", D, "sent"), ReplyFact(2, "c1", D, "queued")]
    assert plan([c], mails, replies, ended + dt.timedelta(days=89), RULES).empty
    p = plan([c], mails, replies, ended + dt.timedelta(days=90), RULES)
    assert p.cases[0].raw_messages == ("old", "late") and p.cases[0].replies == (1,)  # a queued reply waits
    open_case = case(docs=())
    assert plan([open_case], mails, replies, D + dt.timedelta(days=3650), RULES).empty
    gone = [MessageFact(1, "old", "c1", "request", D, stored=False)]
    assert plan([c], gone, [], ended + dt.timedelta(days=90), RULES).empty
    unknown = [MessageFact(3, "x", "c9", "request", D)]  # a case missing from the facts is treated as open
    assert plan([], unknown, [], D + dt.timedelta(days=3650), RULES).empty


def test_mails_without_a_case_go_m_days_after_arrival_and_their_senders_after_y_years() -> None:
    mails = [MessageFact(1, "inq", None, "inquiry", D, sender_kept=True),
             MessageFact(2, "q", None, "quarantined", D + dt.timedelta(days=1))]
    p = plan([], mails, [ReplyFact(7, None, D, "sent")], D + dt.timedelta(days=90), RULES)
    assert p.caseless.raw_messages == (("inq", "inquiry"),) and p.caseless.replies == (7,)
    assert p.caseless.senders == ()
    p = plan([], mails, [], add_years(D, 3), RULES)
    assert p.caseless.senders == (1,) and len(p.caseless.raw_messages) == 2


def test_ended_cases_are_purged_y_years_after_they_ended_with_everything_left() -> None:
    ended = dt.date(2024, 2, 29)
    c = case(ended=ended, docs=("d1",))
    mails = [MessageFact(1, "m", "c1", "request", ended, stored=False)]
    assert add_years(ended, 3) == dt.date(2027, 2, 28)
    assert not any(a.purge for a in plan([c], mails, [], dt.date(2027, 2, 27), RULES).cases)
    p = plan([c], mails, [], dt.date(2027, 2, 28), RULES)
    [a] = p.cases
    assert a.purge and a.documents == (1,) and a.rules == ("closed_cases_years",)
    # documents kept forever by policy still go when the case is purged
    keep_docs = Retention(identity_documents_days=None, raw_messages_days=None, closed_cases_years=3)
    assert plan([c], [], [], dt.date(2027, 2, 28), keep_docs).cases[0].documents == (1,)
    done = case(ended=ended, docs=(None,), personal=False)
    assert plan([done], mails, [], dt.date(2035, 1, 1), RULES).empty


def test_a_file_is_deleted_only_when_no_kept_document_shares_it() -> None:
    expired = case("c1", ended=D, docs=("shared", "own"))
    in_use = case("c2", docs=("shared",))
    p = plan([expired, in_use], [], [], D + dt.timedelta(days=30), RULES)
    assert p.document_files == ("own",) and p.cases[0].documents == (1, 2)


def test_the_policy_rejects_nonsense_retention() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Retention(identity_documents_days=0)
    with pytest.raises(ValidationError):
        Retention.model_validate({"raw_messages_days": 90, "keep_forever": True})
    assert Retention(closed_cases_years=None).closed_cases_years is None
