"""The staff digest names every open case with its status, next step and days left, and no personal data.

The pure part (replies.digest) is tested on summaries; the whole digest (text and HTML, the
multipart mail, the new-case alert) on real cases in a store, on one fixed day.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from replies.digest import DigestCase, DigestItem, digest_context, render_digest, render_digest_html

TODAY = dt.date(2025, 6, 16)
T0 = dt.datetime(2025, 6, 2, 1, 0, tzinfo=dt.UTC)
JST = ZoneInfo("Asia/Tokyo")


def case(id_: str, status: str, due: dt.date, **kw: object) -> DigestCase:
    base: dict[str, object] = {"agent": False, "flags": (), "missing": (), "fee_yen": 0, "paid_yen": 0,
                               "created_at": T0}
    base.update(kw)
    return DigestCase(id=id_, status=status, due_on=due, **base)  # type: ignore[arg-type]


def test_digest_names_every_open_case_with_days_left() -> None:
    cases = [
        case("20250602-001", "awaiting_documents", dt.date(2025, 6, 16), missing=("resident_record",)),
        case("20250602-002", "awaiting_fee", dt.date(2025, 6, 20), fee_yen=2000, paid_yen=1000),
        case("20250601-001", "awaiting_verification", dt.date(2025, 6, 10), agent=True),
        case("20250530-001", "in_progress", dt.date(2025, 6, 30), flags=("my_number_detected",)),
        case("20250501-001", "closed", dt.date(2025, 5, 15)),
    ]
    ctx = digest_context(cases, TODAY, since=None, quarantined=[DigestItem("abc123", T0, "parse: ValueError")],
                         inquiries=[DigestItem("k1", T0, "q@example.net")], failed_replies=[])
    text = render_digest(ctx)
    for c in cases[:4]:
        assert f"[#{c.id}] {c.status}" in text
    assert "20250501-001" not in text  # closed cases are not listed
    assert "本日期限" in text and "残り4日" in text and "期限超過 6日" in text and "残り14日" in text
    assert "!![#20250601-001]" in text  # overdue stands out
    assert "! [#20250602-001]" in text and "  [#20250602-002]" in text  # due today stands out, 4 days not
    assert "期限超過: 1件" in text
    assert "入金 1,000/2,000円" in text and "不足: 住民票" in text and "代理人請求" in text
    assert "要注意: マイナンバー記載あり" in text
    assert "隔離" in text and "abc123" in text
    assert "q@example.net" in text


def test_a_stopped_clock_is_not_a_countdown() -> None:
    c = case("20250602-001", "awaiting_documents", dt.date(2025, 6, 20), days_left=4, stopped=True)
    ctx = digest_context([c], TODAY, since=None, quarantined=[], inquiries=[], failed_replies=[])
    text = render_digest(ctx)
    assert "期限停止中（残り4日）" in text and "  [#20250602-001]" in text  # neither overdue nor due soon
    assert ctx["due_soon"] == [] and ctx["overdue"] == []


def test_empty_digest_says_so() -> None:
    text = render_digest(digest_context([], TODAY, since=None, quarantined=[], inquiries=[], failed_replies=[]))
    assert "対応中の案件: 0件" in text
    html = render_digest_html(digest_context([], TODAY, since=None, quarantined=[], inquiries=[], failed_replies=[]))
    assert "対応中の案件 <b>0件</b>" in html


# --- the whole digest, from a store with every kind of entry -----------------------------------------

NOW = "2025-06-16T08:30:00+09:00"
LAST_DIGEST = dt.datetime(2025, 6, 15, 8, 30, tzinfo=JST)
OPEN = {  # id: status, as the acceptance checks grep them
    "20250602-001": "awaiting_documents",  # clock stopped since the day it came, reminded today
    "20250605-001": "awaiting_fee",  # clock stopped after 5 days, not reminded, agent
    "20250527-001": "awaiting_verification",  # overdue
    "20250604-001": "in_progress",  # due soon
    "20250610-001": "in_progress",  # plenty of time
    "20250616-001": "awaiting_verification",  # new since the last digest
}
ENDED = ("20250501-001", "20250502-001")
NAME, REQUESTER = "山田太郎", "taro@example.jp"
EVIL = '<script>alert("x")</script>'


def _env(tmp_path: Path, now: str = NOW) -> dict[str, str]:
    return {"MADOGUCHI_MAILBOX_URL": f"maildir:{tmp_path}/mail", "MADOGUCHI_OUTBOX_URL": f"dir:{tmp_path}/out",
            "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path}/m.db", "MADOGUCHI_DATA_DIR": str(tmp_path / "d"),
            "MADOGUCHI_STAFF_ADDRESSES": "a@example.jp,b@example.jp", "MADOGUCHI_NOW": now}


def _app(tmp_path: Path, now: str = NOW) -> App:
    from bot.app import build_app
    from config.settings import load_settings

    return build_app(load_settings(environ=_env(tmp_path, now)))


def _case(id_: str, status: str, created: dt.datetime, **kw: Any) -> Any:
    from bot.db import Case

    fields: dict[str, Any] = {
        "id": id_, "status": status, "requester_name": NAME, "requester_email": REQUESTER,
        "request_types": ["disclosure"], "created_at": created, "updated_at": created,
        "due_on": created.date() + dt.timedelta(days=14), "clock_stops": [], "missing": [], "flags": [],
    }
    fields.update(kw)
    return Case(**fields)


def _jst(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, 0, tzinfo=JST)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    from bot.db import InboundMessage, OutboundMessage

    app = _app(tmp_path)
    with app.session() as s, s.begin():
        s.add_all([
            _case("20250602-001", "awaiting_documents", _jst(6, 2), clock_stops=[["2025-06-02", None]],
                  waiting_since=dt.date(2025, 6, 2), reminded_on=dt.date(2025, 6, 16), missing=["resident_record"]),
            _case("20250605-001", "awaiting_fee", _jst(6, 5), clock_stops=[["2025-06-10", None]],
                  waiting_since=dt.date(2025, 6, 10), fee_yen=2000, paid_yen=1000, agent_present=True,
                  agent_type="proxy", agent_name="代理花子"),
            _case("20250527-001", "awaiting_verification", _jst(5, 27), flags=["sender_unverified"]),
            _case("20250604-001", "in_progress", _jst(6, 4), flags=["my_number_detected", "insurance_number_unmasked"]),
            _case("20250610-001", "in_progress", _jst(6, 10), clock_stops=[["2025-06-11", "2025-06-13"]],
                  flags=["form_needs_confirmation", "unreadable_attachment"]),
            _case("20250616-001", "awaiting_verification", _jst(6, 16, 7), agent_present=True,
                  request_types=["disclosure", "correction"]),
            _case("20250501-001", "closed", _jst(5, 1), final_status="closed"),
            _case("20250502-001", "rejected", _jst(5, 2), final_status="rejected"),
        ])
        s.flush()
        s.add_all([
            OutboundMessage(case_id="20250527-001", kind="verification_pending", to_addr=REQUESTER,
                            message_id="<r1@example.jp>", raw=b"", created_at=_jst(6, 14), status="failed",
                            last_error=f"550 5.1.1 <{REQUESTER}>: user unknown"),
            OutboundMessage(case_id=None, kind="digest", to_addr="a@example.jp", message_id="<d0@example.jp>",
                            raw=b"", created_at=LAST_DIGEST, status="sent", automatic=False),
            InboundMessage(sha256="ab" * 32, from_addr="", received_at=_jst(6, 15, 23), outcome="quarantined",
                           step="parse", reason=f"{EVIL} broken header"),
            InboundMessage(sha256="cd" * 32, from_addr="asker@example.net", received_at=_jst(6, 16, 6),
                           mailbox_key="cur/1718.inquiry", outcome="inquiry"),
        ])
    app.raw.put_as("ab" * 32, b"the quarantined mail, kept for a replay")
    yield app
    app.close()


def test_digest_text_has_every_kind_of_entry(store: App) -> None:
    from bot.digest_job import digest_text

    text = digest_text(store)
    for id_, status in OPEN.items():
        assert f"[#{id_}] {status}" in text
    for id_ in ENDED:
        assert id_ not in text
    # deadlines from the case clock: a stopped clock, overdue, due soon, plenty of time
    assert "[#20250602-001] awaiting_documents  期限 2025-06-30（期限停止中（残り14日））" in text
    assert "[#20250605-001] awaiting_fee  期限 2025-06-25（期限停止中（残り9日））" in text
    assert "!![#20250527-001] awaiting_verification  期限 2025-06-10（期限超過 6日）" in text
    assert "! [#20250604-001] in_progress  期限 2025-06-18（残り2日）" in text
    assert "  [#20250610-001] in_progress  期限 2025-06-26（残り10日）" in text  # two days stopped, then answered
    assert "期限超過: 1件（20250527-001）" in text and "期限間近（3日以内）: 1件（20250604-001）" in text
    # waiting on the requester: how long, and the reminder
    assert "待機 14日（2025-06-02から）・催促 2025-06-16 送付済み" in text
    assert "待機 6日（2025-06-10から）・催促 未送信" in text
    # what to do next
    assert "madoguchi cases verify 20250527-001" in text
    assert "madoguchi cases record-payment 20250605-001 --amount 1000" in text
    assert "madoguchi payments import FILE" in text
    assert "madoguchi cases close 20250604-001 --outcome" in text
    # new since the last digest, and only that one
    new = text.split("■ 新しい案件（前回のダイジェスト 2025-06-15 08:30 以降）: 1件\n")[1].split("■")[0]
    assert "[#20250616-001] awaiting_verification  受付 2025-06-16 07:00  請求: disclosure, correction  代理人請求" \
        in new
    assert "20250610-001" not in new
    # flags and agents
    assert "要注意: 送信元未確認" in text and "要注意: マイナンバー記載あり" in text
    assert "要注意: 保険証の番号記載あり" in text and "要注意: 請求書の読取結果を画像と照合" in text
    assert "要注意: 読めない添付あり" in text and "代理人請求" in text
    assert "不足: 住民票" in text and "入金 1,000/2,000円" in text
    # mail staff must look at
    assert "■ 配信できなかった返信: 1件" in text and "[#20250527-001]  2025-06-14 10:00  verification_pending" in text
    assert "■ 処理できず隔離したメール: 1件" in text and "abababababab" in text
    assert "cur/1718.inquiry  2025-06-16 06:00  asker@example.net" in text
    # no personal data of requesters or agents
    for secret in (NAME, REQUESTER, "代理花子"):
        assert secret not in text


class _Rows(HTMLParser):
    """The case rows of the digest's tables (data-case), with their style and text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, Any]] = {}
        self.tags: list[str] = []
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "tr" and a.get("data-case"):  # a case may take two rows (its commands below)
            self._current = self.rows.setdefault(str(a["data-case"]), {"attrs": a, "text": "", "styles": []})
            self._current["styles"].append(str(a.get("style")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current["text"] += data


RED = "background:#fde8e8;color:#b00020;"
SOON = "background:#fff4cc;"


def test_digest_html_shows_every_case_and_marks_the_overdue_red(store: App) -> None:
    from bot.digest_job import digest_html

    html = digest_html(store)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="ja">' in html and '<meta charset="utf-8">' in html
    parser = _Rows()
    parser.feed(html)
    assert "style" not in parser.tags and "script" not in parser.tags and "img" not in parser.tags
    assert set(parser.rows) == set(OPEN)
    overdue = parser.rows["20250527-001"]
    assert RED in str(overdue["attrs"]["style"]) and overdue["attrs"].get("data-overdue") == "1"
    assert overdue["styles"] == [RED, RED]  # the row and its commands below
    assert "期限超過 6日" in overdue["text"] and "madoguchi cases verify 20250527-001" in overdue["text"]
    for id_ in set(OPEN) - {"20250527-001"}:
        assert RED not in str(parser.rows[id_]["attrs"]["style"])
    soon = parser.rows["20250604-001"]
    assert SOON in str(soon["attrs"]["style"]) and soon["attrs"].get("data-due-soon") == "1"
    assert "残り2日" in soon["text"]
    assert all(SOON not in str(parser.rows[i]["attrs"]["style"]) for i in ("20250602-001", "20250605-001"))
    stopped = parser.rows["20250602-001"]["text"]
    assert "期限停止中（残り14日）" in stopped and "催促 2025-06-16 送付済み" in stopped
    assert "代理人請求" in parser.rows["20250605-001"]["text"]
    assert "要注意: 送信元未確認（別経路でご請求者を確認）" in overdue["text"]
    # escaped: a quarantine reason is text, never markup
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; broken header" in html
    assert "asker@example.net" in html and "新しい案件（前回のダイジェスト 2025-06-15 08:30 以降）: 1件" in html
    for secret in (NAME, REQUESTER, "代理花子"):
        assert secret not in html


def test_due_soon_is_the_policy_s_days_and_new_is_the_last_day_before_any_digest(tmp_path: Path) -> None:
    from bot.digest_job import digest_text

    app = _app(tmp_path, "2025-06-15T08:30:00+09:00")
    with app.session() as s, s.begin():
        s.add(_case("20250604-001", "in_progress", _jst(6, 4)))  # due 06-18: 3 days left
        s.add(_case("20250614-001", "in_progress", _jst(6, 14, 9)))  # 23.5 hours ago
        s.add(_case("20250614-002", "in_progress", _jst(6, 14, 8)))  # 24.5 hours ago
    text = digest_text(app)
    assert "! [#20250604-001] in_progress  期限 2025-06-18（残り3日）" in text
    assert "■ 新しい案件（過去24時間）: 1件\n  [#20250614-001]" in text  # no digest sent before
    app.policy = app.policy.model_copy(
        update={"deadline": app.policy.deadline.model_copy(update={"due_soon_days": 2})})
    assert "  [#20250604-001] in_progress  期限 2025-06-18（残り3日）" in digest_text(app)
    app.close()


def test_digest_mail_goes_to_staff_once_a_day(tmp_path: Path) -> None:
    from bot.delivery import deliver_queued
    from bot.digest_job import queue_digest

    app = _app(tmp_path, "2025-06-02T08:30:00+09:00")
    assert queue_digest(app) == 2
    assert queue_digest(app) == 0
    deliver_queued(app)
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in (tmp_path / "out").glob("*.eml")]
    assert sorted(str(m["To"]) for m in mails) == ["a@example.jp", "b@example.jp"]
    assert all(m["Auto-Submitted"] == "auto-generated" and "日次ダイジェスト" in str(m["Subject"]) for m in mails)
    assert len({m["Message-ID"] for m in mails}) == 2 and all(m["Date"] for m in mails)
    for m in mails:
        assert m["From"].addresses[0].addr_spec == app.settings.window_address
        assert m.get_content_type() == "multipart/alternative"
        plain = m.get_body(preferencelist=("plain",))
        html = m.get_body(preferencelist=("html",))
        assert plain is not None and html is not None
        assert "対応中の案件: 0件" in plain.get_content()
        assert '<html lang="ja">' in html.get_content() and html.get_content_charset() == "utf-8"
    app.close()


def test_the_next_digest_lists_cases_since_the_last_one(store: App, tmp_path: Path) -> None:
    from bot.digest_job import digest_text, queue_digest

    assert queue_digest(store) == 2
    text = digest_text(store)  # `digest --print` after this morning's digest: nothing new since
    assert "■ 新しい案件（前回のダイジェスト 2025-06-16 08:30 以降）: 0件" in text


# --- the new-case alert ----------------------------------------------------------------------------------


def _alerting(app: App, on: bool) -> App:
    from config.policy import Alerts

    app.policy = app.policy.model_copy(update={"alerts": Alerts(new_case=on)})
    return app


def test_new_case_alert_goes_to_every_staff_address_once(tmp_path: Path) -> None:
    from bot.db import OutboundMessage
    from bot.digest_job import queue_new_case_alert

    app = _alerting(_app(tmp_path), True)
    now = dt.datetime(2025, 6, 16, 9, 0, tzinfo=JST)
    with app.session() as s, s.begin():
        c = _case("20250616-002", "awaiting_documents", now, agent_present=True, agent_name="代理花子",
                  flags=["my_number_detected"], missing=["identity_document"], clock_stops=[["2025-06-16", None]])
        s.add(c)
        s.flush()
        assert queue_new_case_alert(s, app, c, now) == 2
        assert queue_new_case_alert(s, app, c, now) == 0  # the same case again: nothing twice
    with app.session() as s:
        alerts = list(s.query(OutboundMessage).filter(OutboundMessage.kind == "new_case_alert"))
    assert sorted(a.to_addr for a in alerts) == ["a@example.jp", "b@example.jp"]
    assert all(a.message_id.startswith("<alert.20250616-002.") and a.case_id == "20250616-002" for a in alerts)
    assert all(a.status == "queued" and not a.automatic for a in alerts)
    m = email.message_from_bytes(alerts[0].raw, policy=email.policy.default)
    assert m["Auto-Submitted"] == "auto-generated" and "[#20250616-002]" in str(m["Subject"])
    body = m.get_content()
    assert "案件: [#20250616-002] awaiting_documents" in body
    assert "請求: disclosure" in body and "代理人: あり" in body
    assert "期限: 2025-06-30（期限停止中・残り14日）" in body
    assert "要注意: マイナンバー記載あり" in body and "不足: 本人確認書類" in body
    for secret in (NAME, REQUESTER, "代理花子"):
        assert secret not in body and secret not in str(m["Subject"])
    app.close()


def test_no_alert_unless_the_policy_asks(tmp_path: Path) -> None:
    from bot.digest_job import queue_new_case_alert

    app = _alerting(_app(tmp_path), False)
    now = dt.datetime(2025, 6, 16, 9, 0, tzinfo=JST)
    with app.session() as s, s.begin():
        c = _case("20250616-002", "awaiting_documents", now)
        s.add(c)
        s.flush()
        assert queue_new_case_alert(s, app, c, now) == 0
    app.close()


def test_the_answer_step_names_the_disclosure_method_the_requester_chose() -> None:
    from replies.digest import next_step

    base = {"due_on": TODAY, "agent": False, "flags": (), "missing": (), "fee_yen": 1000, "paid_yen": 1000,
            "created_at": T0, "request_types": ("disclose",)}
    assert "書面で送付" in next_step(DigestCase(id="1", status="in_progress", disclosure_method="paper", **base))[0]
    assert "ご請求者に確認" in next_step(DigestCase(id="2", status="in_progress", **base))[0]


def test_a_quarantined_mail_deleted_by_retention_leaves_the_digest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.app import build_app
    from bot.digest_job import digest_text
    from bot.mailbox import Incoming
    from bot.pipeline import handle
    from config.settings import load_settings

    env = {"MADOGUCHI_MAILBOX_URL": f"maildir:{tmp_path}/mail", "MADOGUCHI_OUTBOX_URL": f"dir:{tmp_path}/out",
           "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path}/m.db", "MADOGUCHI_DATA_DIR": str(tmp_path / "d"),
           "MADOGUCHI_MAX_MESSAGE_BYTES": "100", "MADOGUCHI_NOW": "2025-06-02T08:30:00+09:00"}
    app = build_app(load_settings(environ=env))
    try:
        result = handle(app, Incoming(key="big", raw=b"From: MAILER-DAEMON@x.example\r\n\r\n" + b"x" * 200),
                        mark_mailbox=False)
        assert result.outcome == "quarantined"
        assert result.sha256[:12] in digest_text(app)
        app.raw.delete(result.sha256)  # as the retention policy does after raw_messages_days
        assert result.sha256[:12] not in digest_text(app)
    finally:
        app.close()
