"""End to end on the embedded defaults: Maildir in, SQLite, folder outbox, real PDFs."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from bot import casestore, staff
from bot.app import App, build_app
from bot.export import case_to_json
from bot.runner import run_once
from config.settings import load_settings
from tests import factory
from tests.apps import NOW, WINDOW, make_app, poison_parser


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = make_app(tmp_path)
    yield a
    a.close()


def deliver(app: App, raw: bytes, name: str | None = None) -> None:
    root = Path(app.settings.mailbox_url.removeprefix("maildir:"))
    (root / "new").mkdir(parents=True, exist_ok=True)
    (root / "cur").mkdir(exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    n = name or f"{len(list((root / 'new').iterdir())) + len(list((root / 'cur').iterdir()))}.test"
    (root / "new" / n).write_bytes(raw)


def outbox(app: App) -> list[email.message.EmailMessage]:
    root = Path(app.settings.outbox_url.removeprefix("dir:"))
    msgs = []
    for p in sorted(root.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        m = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        msgs.append(m)  # type: ignore[arg-type]
    return msgs


def body_of(m: email.message.EmailMessage) -> str:
    part = m.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def cases(app: App) -> list[dict[str, object]]:
    with app.session() as s:
        return [case_to_json(c) for c in casestore.all_cases(s)]


def advance(app: App, minutes: int) -> None:
    assert app.clock._fixed is not None
    app.clock._fixed = app.clock._fixed + dt.timedelta(minutes=minutes)


FORM_DISCLOSE = {"requester_name": "山田 太郎", "requester_email": "taro@example.com"}


def complete_request(sender: str = "山田 太郎 <taro@example.com>") -> bytes:
    return factory.mail(
        sender=sender,
        subject="開示請求",
        body="開示を請求します。書類を添付します。",
        attachments=(
            ("seikyusho.pdf", "application/pdf", factory.filled_form(FORM_DISCLOSE, ["type_disclose"])),
            ("scan0001.pdf", "application/pdf", factory.drivers_license("山田 太郎", "東京都例区1-1")),
            ("scan0002.pdf", "application/pdf", factory.resident_record("山田 太郎", "東京都例区1-1")),
        ),
    )


def test_complete_request_gets_a_fee_notice(app: App) -> None:
    raw = complete_request()
    deliver(app, raw)
    report = run_once(app)
    assert report.count("request") == 1
    [case] = cases(app)
    assert case["status"] == "awaiting_fee"
    assert case["request_types"] == ["disclose"]
    assert case["fee_yen"] == 1000
    assert case["missing"] == []
    assert case["requester"] == {"name": "山田 太郎", "email": "taro@example.com"}
    kinds = {d["kind"] for d in case["documents"]}  # type: ignore[union-attr]
    assert kinds == {"request_form", "drivers_license", "resident_record"}
    [reply] = outbox(app)
    incoming = email.message_from_bytes(raw, policy=email.policy.default)
    assert reply["To"] == "taro@example.com"
    assert WINDOW in reply["From"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == incoming["Message-ID"]
    assert incoming["Message-ID"] in reply["References"]
    assert f"[#{case['id']}]" in reply["Subject"]
    text = body_of(reply)
    assert "1,000円" in text and "お問い合わせ先" in text and "日本データ通信協会" in text


def test_body_only_request_lists_what_is_missing_and_attaches_the_form(app: App) -> None:
    deliver(app, factory.mail(sender="近藤 明美 <akemi@example.org>", subject="個人情報について",
                              body="御社が保有している私の個人情報について、利用目的の通知及び開示を請求いたします。"))
    run_once(app)
    [case] = cases(app)
    assert set(case["missing"]) == {"request_form", "identity_document", "resident_record"}  # type: ignore[arg-type]
    assert case["fee_yen"] == 2000
    assert case["requester"]["name"] == "近藤 明美"  # type: ignore[index]
    [reply] = outbox(app)
    text = body_of(reply)
    assert "個人情報開示等請求書" in text and "住民票" in text and "本人確認書類" in text
    pdfs = [p for p in reply.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1


def test_the_same_message_twice_makes_one_case_and_one_reply(app: App) -> None:
    raw = complete_request()
    deliver(app, raw, "a")
    run_once(app)
    deliver(app, raw, "b")  # identical bytes
    again = raw.replace(b"Date: Mon, 02 Jun", b"Date: Tue, 03 Jun")  # same Message-ID, re-sent
    deliver(app, again, "c")
    report = run_once(app)
    assert report.count("duplicate") == 2
    assert len(cases(app)) == 1
    assert len(outbox(app)) == 1


def test_reply_to_our_reply_joins_the_case(app: App) -> None:
    deliver(app, factory.mail(
        sender="taro@example.com", subject="開示請求", body="開示を請求します。",
        attachments=(("f.pdf", "application/pdf", factory.filled_form(FORM_DISCLOSE, ["type_disclose"])),
                     ("id.pdf", "application/pdf", factory.drivers_license("山田 太郎", "東京都例区1-1")))))
    run_once(app)
    [first] = outbox(app)
    assert cases(app)[0]["missing"] == ["resident_record"]
    advance(app, 2880)
    follow = factory.mail(sender="taro@example.com", subject="Re: " + first["Subject"], body="住民票を送ります。",
                          in_reply_to=first["Message-ID"],
                          attachments=(("x.pdf", "application/pdf",
                                        factory.resident_record("山田 太郎", "東京都例区1-1")),))
    deliver(app, follow)
    run_once(app)
    [case] = cases(app)
    assert case["status"] == "awaiting_fee"
    assert [m["direction"] for m in case["messages"]].count("in") == 2  # type: ignore[union-attr]
    second = outbox(app)[-1]
    assert "1,000円" in body_of(second)
    assert second["In-Reply-To"] == email.message_from_bytes(follow, policy=email.policy.default)["Message-ID"]


def test_a_tag_from_another_address_never_joins_the_case(app: App) -> None:
    deliver(app, complete_request())
    run_once(app)
    case_id = cases(app)[0]["id"]
    deliver(app, factory.mail(sender="mallory@example.net", subject=f"書類 [#{case_id}]",
                              body="よろしくお願いします。"))
    report = run_once(app)
    assert report.count("inquiry") == 1
    [case] = cases(app)
    assert len(case["messages"]) == 2  # type: ignore[arg-type]
    assert all("mallory" not in str(m["To"]) for m in outbox(app))


@pytest.mark.parametrize(
    "headers",
    [{"Auto-Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"List-Id": "<x.example.org>"},
     {"X-Auto-Response-Suppress": "OOF, AutoReply"}, {"X-Autoreply": "yes"}],
)
def test_robots_get_nothing_even_with_a_request_in_the_body(app: App, headers: dict[str, str]) -> None:
    deliver(app, factory.mail(sender="robot@example.com", subject="開示等請求について",
                              body="開示を請求します。", headers=headers))
    report = run_once(app)
    assert report.count("robot") == 1
    assert cases(app) == [] and outbox(app) == []


def test_mail_from_the_window_itself_is_never_answered(app: App) -> None:
    deliver(app, factory.mail(sender=WINDOW, subject="開示請求", body="開示を請求します。"))
    run_once(app)
    assert cases(app) == [] and outbox(app) == []


def test_general_inquiry_is_left_unread_for_staff(app: App) -> None:
    deliver(app, factory.mail(sender="q@example.net", subject="料金プランについての質問",
                              body="御社のBPOサービスの料金プランについて資料をいただけますか。"), "inq")
    run_once(app)
    assert cases(app) == [] and outbox(app) == []
    cur = Path(app.settings.mailbox_url.removeprefix("maildir:")) / "cur"
    [kept] = list(cur.iterdir())
    assert kept.name.endswith(":2,")  # no S flag: still unread in a mail client


def test_a_failing_message_is_quarantined_and_the_next_goes_on(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_parser(monkeypatch)
    deliver(app, factory.mail(sender="a@example.com", subject="POISON", body="開示を請求します。"), "1")
    deliver(app, complete_request(), "2")
    report = run_once(app)
    assert report.count("quarantined") == 1 and report.count("request") == 1
    with app.session() as s:
        [q] = casestore.quarantined(s)
        assert q.step == "parse" and q.reason == "RuntimeError"
    cur = Path(app.settings.mailbox_url.removeprefix("maildir:")) / "cur"
    assert any(p.name.endswith(":2,F") for p in cur.iterdir())


def test_reply_cap_stops_a_loop(app: App) -> None:
    for i in range(8):
        deliver(app, factory.mail(sender="loop@example.com", subject=f"開示請求 {i}", body="開示を請求します。"))
    run_once(app)
    assert len(cases(app)) == 8
    assert len(outbox(app)) == app.policy.auto_replies_per_address_per_day


def test_staff_payment_verify_close(app: App) -> None:
    deliver(app, complete_request())
    run_once(app)
    case_id = str(cases(app)[0]["id"])
    case = staff.record_payment(app, case_id, 400, "registered_cash")
    assert case.status == "awaiting_fee" and case.paid_yen == 400
    case = staff.record_payment(app, case_id, 600, "bank_transfer")
    assert case.status == "awaiting_verification"
    with pytest.raises(staff.StaffError, match="already fully paid"):
        staff.record_payment(app, case_id, 100, "bank_transfer")
    assert staff.verify(app, case_id).status == "in_progress"
    with pytest.raises(staff.StaffError, match="already verified"):
        staff.verify(app, case_id)
    assert staff.close(app, case_id).status == "closed"
    with pytest.raises(staff.StaffError, match="already closed"):
        staff.close(app, case_id)
    run_once(app)
    kinds = [m["kind"] for m in cases(app)[0]["messages"] if m["direction"] == "out"]  # type: ignore[union-attr]
    assert kinds == ["fee_notice", "other", "other"]  # fee notice, partial receipt, receipt


def test_staff_cannot_take_payment_for_a_free_case(app: App) -> None:
    deliver(app, factory.mail(sender="b@example.com", subject="利用停止", body="私の個人情報の利用停止をお願いします。"))
    run_once(app)
    [case] = cases(app)
    assert case["fee_yen"] == 0
    with pytest.raises(staff.StaffError, match="no fee"):
        staff.record_payment(app, str(case["id"]), 1000, "bank_transfer")


def test_my_number_in_the_body_is_flagged_and_never_stored_readable(app: App, tmp_path: Path) -> None:
    number = "621498320257"
    deliver(app, factory.mail(sender="c@example.com", subject="開示請求",
                              body=f"開示を請求します。私の個人番号は {number} です。"))
    run_once(app)
    [case] = cases(app)
    assert "my_number_detected" in case["flags"]  # type: ignore[operator]
    for p in tmp_path.rglob("*"):
        if p.is_file() and "mail" not in p.parts:
            assert number.encode() not in p.read_bytes(), p
    assert number not in json.dumps(cases(app))


def test_an_oversized_mail_is_quarantined_not_read(tmp_path: Path) -> None:
    env = {
        "MADOGUCHI_MAILBOX_URL": f"maildir:{tmp_path}/mail", "MADOGUCHI_OUTBOX_URL": f"dir:{tmp_path}/outbox",
        "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path}/m.db", "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
        "MADOGUCHI_NOW": NOW, "MADOGUCHI_MAX_MESSAGE_BYTES": "2000",
    }
    small = build_app(load_settings(environ=env))
    try:
        deliver(small, complete_request())
        report = run_once(small)
        assert report.count("quarantined") == 1
        with small.session() as s:
            [q] = casestore.quarantined(s)
            assert q.step == "size" and "MADOGUCHI_MAX_MESSAGE_BYTES" in (q.reason or "")
    finally:
        small.close()


AR_FAIL = "mx.example.jp; spf=fail smtp.mailfrom=example.com; dkim=none; dmarc=fail (p=REJECT) header.from=example.com"


def test_a_dmarc_failure_flags_the_case_and_the_reply_stays_neutral(app: App) -> None:
    deliver(app, factory.mail(sender="山田 太郎 <taro@example.com>", subject="開示請求", body="開示を請求します。",
                              headers={"Authentication-Results": AR_FAIL}))
    run_once(app)
    [case] = cases(app)
    assert "sender_unverified" in case["flags"]  # type: ignore[operator]
    [reply] = outbox(app)
    text = body_of(reply)
    assert "1,000円" not in text and "山田" not in text and "住民票" not in text
    assert list(reply.iter_attachments()) == []
    assert [m["kind"] for m in case["messages"] if m["direction"] == "out"] == ["ack"]  # type: ignore[union-attr]


def test_a_forged_authentication_results_below_ours_is_ignored(app: App) -> None:
    raw = factory.mail(sender="taro@example.com", subject="開示請求", body="開示を請求します。",
                       headers={"Authentication-Results": "mx.example.jp; dmarc=pass header.from=example.com"})
    raw = raw.replace(b"\n\n", b"\nAuthentication-Results: evil.example; dmarc=fail\n\n", 1)
    deliver(app, raw)
    run_once(app)
    assert "sender_unverified" not in cases(app)[0]["flags"]  # type: ignore[operator]


def test_a_quarantined_message_can_be_replayed_after_a_fix(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.pipeline as pipeline
    from bot.views import replay

    real = pipeline._parse

    def broken(raw: bytes):  # type: ignore[no-untyped-def]
        raise RuntimeError("parser bug")

    monkeypatch.setattr(pipeline, "_parse", broken)
    deliver(app, complete_request())
    assert run_once(app).count("quarantined") == 1
    monkeypatch.setattr(pipeline, "_parse", real)  # the fix
    with app.session() as s:
        [q] = casestore.quarantined(s)
        sha = q.sha256
    assert replay(app, sha[:12])
    with app.session() as s:
        assert casestore.quarantined(s) == []
    [case] = cases(app)
    assert case["status"] == "awaiting_fee" and len(outbox(app)) == 1
    assert not replay(app, sha[:12])  # nothing left to replay


def test_a_form_with_nothing_ticked_still_opens_a_case(app: App) -> None:
    deliver(app, factory.mail(
        sender="ito@example.com", subject="書類送付", body="よろしくお願いいたします。",
        attachments=(("f.pdf", "application/pdf", factory.filled_form({"requester_name": "伊藤 一"}, [])),)))
    run_once(app)
    [case] = cases(app)
    assert case["request_types"] == [] and "request_form" not in case["missing"]  # type: ignore[operator]
    assert len(outbox(app)) == 1


class _FormOcr:
    """Reads every image as a request form asking for disclosure (a stand-in for Tesseract)."""

    def image_to_text(self, image: object) -> str:
        return "個人情報開示等請求書\n請求者氏名 山田 太郎\n請求の種類\n■ 開示\n□ 訂正\n□ 利用停止"


def test_a_form_read_from_a_photo_asks_staff_to_confirm_it(app: App) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (1200, 1700), "white").save(buf, "JPEG")
    app.ocr = _FormOcr()
    deliver(app, factory.mail(sender="山田 太郎 <taro@example.com>", subject="開示請求", body="請求書の写真を送ります。",
                              attachments=(("IMG_0007.JPG", "image/jpeg", buf.getvalue()),)))
    deliver(app, complete_request("佐藤 花子 <hanako@example.com>"))
    run_once(app)
    by_sender = {c["requester"]["email"]: c for c in cases(app)}  # type: ignore[index]
    photographed, digital = by_sender["taro@example.com"], by_sender["hanako@example.com"]
    assert photographed["request_types"] == ["disclose"]
    assert "form_needs_confirmation" in photographed["flags"]  # type: ignore[operator]
    assert "form_needs_confirmation" not in digital["flags"]  # type: ignore[operator]
    with app.session() as s:
        found = casestore.get_case(s, str(photographed["id"]))
        assert found is not None
        events = found.events
        [read] = [e for e in events if e.type == "form_read_from_image"]
        # the ■ that OCR read is not trusted; the case has 開示 from the subject line
        assert read.detail["request_types"] == [] and "box_confidence" in read.detail
        assert "山田" not in json.dumps(read.detail, ensure_ascii=False)
