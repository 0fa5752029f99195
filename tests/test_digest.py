"""The staff digest names every open case with its status and days left, and no personal data."""

from __future__ import annotations

import datetime as dt

from replies.digest import DigestCase, DigestItem, digest_context, render_digest

TODAY = dt.date(2025, 6, 16)
T0 = dt.datetime(2025, 6, 2, 1, 0, tzinfo=dt.UTC)


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
    assert "期限超過: 1件" in text
    assert "入金 1,000/2,000円" in text and "不足: resident_record" in text and "代理人請求" in text
    assert "隔離" in text and "abc123" in text
    assert "q@example.net" in text


def test_empty_digest_says_so() -> None:
    text = render_digest(digest_context([], TODAY, since=None, quarantined=[], inquiries=[], failed_replies=[]))
    assert "対応中の案件: 0件" in text


def test_digest_mail_goes_to_staff_once_a_day(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import email
    import email.policy

    from bot.app import build_app
    from bot.delivery import deliver_queued
    from bot.digest_job import queue_digest
    from config.settings import load_settings

    env = {"MADOGUCHI_MAILBOX_URL": f"maildir:{tmp_path}/mail", "MADOGUCHI_OUTBOX_URL": f"dir:{tmp_path}/out",
           "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path}/m.db", "MADOGUCHI_DATA_DIR": str(tmp_path / "d"),
           "MADOGUCHI_STAFF_ADDRESSES": "a@example.jp,b@example.jp", "MADOGUCHI_NOW": "2025-06-02T08:30:00+09:00"}
    app = build_app(load_settings(environ=env))
    assert queue_digest(app) == 2
    assert queue_digest(app) == 0
    deliver_queued(app)
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in (tmp_path / "out").glob("*.eml")]
    assert sorted(str(m["To"]) for m in mails) == ["a@example.jp", "b@example.jp"]
    assert all(m["Auto-Submitted"] == "auto-generated" and "日次ダイジェスト" in str(m["Subject"]) for m in mails)
    app.close()
