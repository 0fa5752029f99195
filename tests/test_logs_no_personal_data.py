"""No personal data reaches the log: the whole path, run on mail full of it, logging at its most verbose."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import casestore, staff
from bot.app import App
from bot.delivery import deliver_queued
from bot.digest_job import digest_text
from bot.housekeeping import housekeep
from bot.logs import configure_logging, message_ref, redact
from bot.runner import run_once
from tests import factory
from tests.apps import make_app

NOW = "2025-06-02T10:00:00+09:00"
NAME = "山田 太郎"
KANA = "ヤマダ タロウ"
ADDRESS = "東京都千代田区丸の内1-2-3"
POSTCODE = "100-0005"
PHONE = "090-1234-5678"
EMAIL = "taro.yamada@example.com"
MY_NUMBER = "621498320257"  # check digit valid
SUBJECT = f"開示請求（{NAME}）マイナンバー {MY_NUMBER}"
SENTENCE = "私は千代田区丸の内に住んでおり、夫の借金の件で御社に登録された情報の開示を求めます。"
FILENAME = "yamada_taro_license.pdf"
BODY = (f"{SENTENCE}\n氏名: {NAME}（{KANA}）\n住所: 〒{POSTCODE} {ADDRESS}\n電話: {PHONE}\n"
        f"メール: {EMAIL}\n個人番号: {MY_NUMBER[:4]} {MY_NUMBER[4:8]} {MY_NUMBER[8:]}\n")

PERSONAL = [
    NAME, "山田太郎", "山田", "太郎", KANA, "ヤマダ", "Yamada", "yamada", "YAMADA",
    ADDRESS, "千代田区", "丸の内", POSTCODE, "1000005",
    PHONE, "09012345678", "1234-5678",
    EMAIL, "taro.yamada", "example.com",
    MY_NUMBER, "6214 9832 0257", "6214-9832-0257",
    SUBJECT, "開示請求（", SENTENCE, "夫の借金", FILENAME, "yamada_taro", "license.pdf",
]


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    named = {n: logging.getLogger(n).level for n in ("madoguchi", "parsers", "replies", "bot")}
    yield
    for h in list(root.handlers):
        if h not in saved[1]:
            root.removeHandler(h)
    root.setLevel(saved[0])
    for n, level in named.items():
        logging.getLogger(n).setLevel(level)
    logging.captureWarnings(False)


def _app(tmp_path: Path) -> App:
    return make_app(tmp_path, MADOGUCHI_NOW=NOW)


def _deliver(app: App, raw: bytes) -> None:
    root = Path(app.settings.mailbox_url.removeprefix("maildir:"))
    for d in ("new", "cur", "tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    n = len(list((root / "new").iterdir())) + len(list((root / "cur").iterdir()))
    (root / "new" / f"{n}.test").write_bytes(raw)


def _verbose(fmt: str, buf: io.StringIO) -> None:
    configure_logging(fmt, verbose=True, stream=buf)
    for name in ("", "madoguchi", "parsers", "replies", "bot"):
        logging.getLogger(name).setLevel(logging.DEBUG)  # stricter than --verbose


def _sender() -> str:
    return f"{NAME} <{EMAIL}>"


def _request(*, with_resident_record: bool) -> bytes:
    form = {"requester_name": NAME, "requester_email": EMAIL}
    attachments = [
        ("山田太郎_請求書.pdf", "application/pdf", factory.filled_form(form, ["type_disclose"])),
        (FILENAME, "application/pdf", factory.drivers_license(NAME, ADDRESS)),
        ("yamada_taro_memo.pdf", "application/pdf",
         factory.text_pdf([f"氏名 {NAME}", f"住所 {ADDRESS}", f"電話 {PHONE}", SENTENCE], title="申立書")),
    ]
    if with_resident_record:
        attachments.append(("yamada_taro_juminhyo.pdf", "application/pdf",
                            factory.resident_record(NAME, ADDRESS, MY_NUMBER)))
    return factory.mail(sender=_sender(), subject=SUBJECT, body=BODY, attachments=tuple(attachments),
                        message_id=f"<{MY_NUMBER}.{int(with_resident_record)}.{EMAIL}>")


def _malformed() -> bytes:
    """Broken MIME: an unterminated multipart, a bad base64 part, an unknown charset in the header."""
    return (f"From: =?x-unknown?B?5bGx55Sw?= <{EMAIL}>\r\nTo: info@example.jp\r\n"
            f"Subject: {SUBJECT}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nPOISON {BODY}\r\n--zz\r\n"
            f"Content-Type: application/pdf; name=\"{FILENAME}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            "JVBERi0xLjQK!!!not-base64\r\n").encode()


def _run_the_whole_path(app: App, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every kind of message, staff actions, delivery, digest, housekeeping; the sha256 prefixes seen."""
    import bot.pipeline as pipeline

    real = pipeline._parse

    def fragile(raw: bytes):  # type: ignore[no-untyped-def]
        if b"POISON" in raw:  # a parser error whose message carries content, as real ones do
            raise ValueError(f"cannot decode {EMAIL} {NAME} {FILENAME} {PHONE} {MY_NUMBER}")
        return real(raw)

    monkeypatch.setattr(pipeline, "_parse", fragile)
    seen: list[str] = []
    _deliver(app, _request(with_resident_record=True))            # a complete request
    _deliver(app, _request(with_resident_record=False))           # one missing the 住民票
    _deliver(app, _malformed())                                   # quarantined
    _deliver(app, factory.mail(sender=f"{NAME} <{EMAIL}>", subject=f"営業時間について {NAME}",  # an inquiry
                               body=f"千代田区丸の内の窓口の営業時間を教えてください。折り返し {PHONE} までお電話ください。{NAME}"))
    report = run_once(app)
    seen += [r.sha256[:16] for r in report.results]
    assert sorted(r.outcome for r in report.results) == ["inquiry", "quarantined", "request", "request"]

    with app.session() as s:
        all_cases = casestore.all_cases(s)
        by_missing = {bool(c.missing): c.id for c in all_cases}
    outbox = sorted(Path(app.settings.outbox_url.removeprefix("dir:")).glob("*.eml"),
                    key=lambda p: p.stat().st_mtime_ns)
    import email
    import email.policy
    replies = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in outbox]
    first = next(m for m in replies if f"[#{by_missing[True]}]" in str(m["Subject"]))
    _deliver(app, factory.mail(sender=_sender(), subject=f"Re: {first['Subject']} {NAME}",
                               body=f"住民票を送ります。{SENTENCE}", in_reply_to=first["Message-ID"],
                               attachments=(("yamada_taro_juminhyo2.pdf", "application/pdf",
                                             factory.resident_record(NAME, ADDRESS, MY_NUMBER)),)))
    report = run_once(app)
    seen += [r.sha256[:16] for r in report.results]
    assert [r.outcome for r in report.results] == ["followup"]

    case_id = by_missing[False]
    staff.record_payment(app, case_id, 1000, "bank_transfer")
    staff.verify(app, case_id)
    staff.close(app, case_id)
    deliver_queued(app)
    digest = digest_text(app)
    assert digest  # the digest itself names cases; it is mail to staff, not a log
    housekeep(app)
    return seen


def _assert_clean(out: str) -> None:
    assert out.strip(), "nothing was logged"
    for s in PERSONAL:
        assert s not in out, f"personal data in the log: {s!r}"
        escaped = json.dumps(s)[1:-1]
        assert escaped not in out, f"personal data (escaped) in the log: {s!r}"
    assert not re.search(r"621498320257|6214\D?9832\D?0257", out)
    assert not re.search(r"090\D?1234\D?5678", out)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_the_whole_path_logs_identifiers_and_no_personal_data(fmt: str, tmp_path: Path, root_logging: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.StringIO()
    configure_logging("text", verbose=False)  # early, with defaults, as the command does
    _verbose(fmt, buf)
    app = _app(tmp_path)
    try:
        seen = _run_the_whole_path(app, monkeypatch)
    finally:
        app.close()
    out = buf.getvalue()
    _assert_clean(out)
    lines = out.splitlines()
    for digest in seen:  # at least one line a message, with its outcome
        assert any(digest in line and "outcome" in line for line in lines), digest
    assert any("housekeeping" in line for line in lines)
    if fmt == "json":
        records = [json.loads(line) for line in lines if line.startswith("{")]
        assert len(records) == len([ln for ln in lines if not ln.startswith(" ")])
        for r in records:
            assert {"time", "level", "logger", "message"} <= r.keys(), r
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", r["time"]), r["time"]
            _assert_clean(json.dumps(r, ensure_ascii=False))
        outcomes = {r.get("outcome") for r in records if r["logger"] == "madoguchi.pipeline"}
        assert {"request", "followup", "inquiry", "quarantined"} <= outcomes
        assert all(r.get("case_id") for r in records if r.get("outcome") in ("request", "followup"))
        [q] = [r for r in records if r.get("outcome") == "quarantined"]
        assert q["step"] == "parse" and q["kind"] == "ValueError" and len(q["sha256"]) == 16


def test_exception_messages_and_extras_never_reach_the_log(root_logging: None) -> None:
    buf = io.StringIO()
    configure_logging("json", verbose=True, stream=buf)
    configure_logging("json", verbose=True, stream=buf)  # idempotent: one line a call, not two
    log = logging.getLogger("madoguchi.test")
    try:
        try:
            raise KeyError(f"{NAME} {ADDRESS}")
        except KeyError as inner:
            raise ValueError(f"{EMAIL} {FILENAME}") from inner
    except ValueError:
        log.exception("reading failed", extra={"case_id": "20250602-001", "message_id": f"<{EMAIL}>",
                                               "sha256": "ab" * 32, "step": f"to {EMAIL}"})
    log.warning("defence in depth: %s %s %s %s", EMAIL, MY_NUMBER, PHONE, "0312345678")
    logging.getLogger("imapclient.imaplib").info("FETCH %s %s", NAME, BODY)  # held at WARNING
    logging.getLogger("sqlalchemy.engine").info("INSERT (%s)", NAME)
    lines = buf.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 2
    exc, warn = records
    assert exc["exc_type"] == "ValueError" and "exc_message" not in exc
    assert "KeyError" in exc["traceback"] and "ValueError" in exc["traceback"]
    assert exc["case_id"] == "20250602-001" and exc["sha256"] == "ab" * 8
    assert exc["message_id"] == message_ref(f"<{EMAIL}>") and exc["message_id"].startswith("mid:")
    assert exc["step"] == "to [email]"
    assert warn["message"] == "defence in depth: [email] [number] [phone] [phone]"
    _assert_clean(buf.getvalue())


def test_text_format_keeps_todays_shape_with_fields(root_logging: None) -> None:
    buf = io.StringIO()
    configure_logging("text", verbose=False, stream=buf)
    log = logging.getLogger("madoguchi.test")
    log.info("not shown at WARNING")
    log.warning("message sha256=%s", "0123abcd0123abcd", extra={"sha256": "0123abcd0123abcd", "outcome": "request"})
    [line] = buf.getvalue().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING madoguchi\.test message "
                        r"sha256=0123abcd0123abcd \[sha256=0123abcd0123abcd outcome=request\]", line), line


def test_redaction_leaves_identifiers_alone() -> None:
    assert redact("case 20250602-001 sha256=1234567890123456 outbound id=12 at 2025-06-02T10:00:00+09:00") == \
        "case 20250602-001 sha256=1234567890123456 outbound id=12 at 2025-06-02T10:00:00+09:00"
    assert redact("〒100-0005 ０９０－１２３４－５６７８ +81 90 1234 5678") == "[postcode] [phone] [phone]"
    # The thousandth case of a busy day has a 12-digit id; it is not an individual number.
    assert redact("case=20250602-1000 case=20251231-12345") == "case=20250602-1000 case=20251231-12345"
    for number in ("1234-5678-9012", "123456789012", "2025 0602 1000", "２０２５０６０２１０００", "20251341-1000"):
        assert redact(f"no. {number}") == "no. [number]", number
    assert message_ref("<CAF1@mail.gmail.com>") == "mid:" + hashlib.sha256(b"<CAF1@mail.gmail.com>").hexdigest()[:12]
