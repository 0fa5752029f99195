"""Reply messages: written directly, they are what the stdlib would write (the subject read back the same)."""

from __future__ import annotations

import datetime as dt
import email
import re
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replies.render import Envelope, OutgoingAttachment, build_message

NAME = "株式会社サンプル商事 個人情報苦情及び相談窓口（プライバシーマーク担当）"


def envelope(n: int) -> Envelope:
    return Envelope(sender="info@example.jp", sender_name=NAME, to=f"user{n}@example.com",
                    message_id=f"<reply{n}@example.jp>", date=dt.datetime(2025, 6, 2, 1, tzinfo=dt.UTC),
                    in_reply_to=f"<req{n}@example.com>", references=(f"<req{n}@example.com>",))


def stdlib_message(env: Envelope, subject: str, body: str, attachments: tuple[OutgoingAttachment, ...]) -> bytes:
    """The plain, uncached way: what build_message must match byte for byte (but the boundary)."""
    from email.headerregistry import Address

    msg = EmailMessage(policy=SMTP)
    local, _, domain = env.sender.partition("@")
    msg["From"] = str(Address(display_name=env.sender_name, username=local, domain=domain))
    msg["To"] = env.to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(env.date)
    msg["Message-ID"] = env.message_id
    msg["In-Reply-To"] = env.in_reply_to or ""
    msg["References"] = " ".join(env.references)
    msg["Auto-Submitted"] = env.auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"
    msg["Precedence"] = "auto_reply"
    msg.set_content(body, charset="utf-8", cte="base64")
    for att in attachments:
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
    return msg.as_bytes()


def without_boundary(raw: bytes) -> bytes:
    return re.sub(rb"={15}\d+==", b"BOUNDARY", raw)


_SUBJECT_LINE = re.compile(rb"\r\nSubject:(?: [^\r\n]*)?\r\n(?: [^\r\n]*\r\n)*")


def comparable(raw: bytes) -> bytes:
    """The message without its boundary and its Subject line, which is compared decoded."""
    return _SUBJECT_LINE.sub(b"\r\nSUBJECT\r\n", without_boundary(raw), count=1)


def assert_same_reply(raw: bytes, expected: bytes, subject: str) -> None:
    """`raw` is the stdlib's bytes (`expected`) but the boundary and how the subject is
    encoded; its subject reads back as the stdlib's does, in lines of at most 78 characters."""
    assert comparable(raw) == comparable(expected)
    decoded = email.message_from_bytes(raw, policy=default)["Subject"]
    assert decoded == email.message_from_bytes(expected, policy=default)["Subject"]
    if not subject.isascii() and subject.isprintable() and " ".join(subject.split()) == subject:
        assert decoded == subject  # a subject as the templates make them, encoded here: exactly back
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n")[1:])


def test_replies_are_the_bytes_the_stdlib_writes_and_read_back_intact() -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 500
    other = b"\x89PNG\r\n\x1a\n" + bytes(reversed(range(256))) * 7
    atts = (OutgoingAttachment("kojinjoho_kaiji_seikyusho.pdf", "application/pdf", pdf),
            OutgoingAttachment("写真.png", "image/png", other))
    for n, attached in enumerate([(), atts[:1], atts, atts]):  # the last one from the caches
        env = envelope(n)
        subject, body = f"[#20250602-00{n}] 開示等のご請求を受け付けました", "山田 太郎 様\n\n受け付けました。\n"
        raw = build_message(env, subject, body, attached)
        assert_same_reply(raw, stdlib_message(env, subject, body, attached), subject)
        msg = email.message_from_bytes(raw, policy=default)
        # Decoded as RFC 2047 says (the stdlib's address parser puts spaces between encoded words).
        from_line = raw.split(b"\r\nTo: ")[0].removeprefix(b"From: ").decode("ascii")
        assert str(make_header(decode_header(from_line))) == f"{NAME} <info@example.jp>"
        assert msg["To"] == f"user{n}@example.com"
        assert [p.get_content() for p in msg.iter_attachments()] == [a.data for a in attached]
        assert "placeholder" not in raw.decode("ascii")


_ADDRESS_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.-_+"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=st.one_of(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=120),
        st.lists(st.text("abcXYZ09=?[]#-", min_size=1, max_size=12), max_size=12).map(" ".join),  # ASCII, any length
        st.sampled_from(["[#20250602-001] 開示等のご請求を受け付けました", "Re: request", "=?utf-8?q?x?="]),
    ),
    body=st.text(max_size=400),
    local=st.text(_ADDRESS_CHARS, min_size=1, max_size=70),
    domain=st.sampled_from(["example.com", "例え.jp", "xn--r8jz45g.jp", "a-b.example.co.jp", "localhost"]),
    token=st.text(_ADDRESS_CHARS + "=$", min_size=1, max_size=60),
    attached=st.booleans(),
)
def test_any_reply_is_the_bytes_the_stdlib_writes(subject: str, body: str, local: str, domain: str, token: str,
                                                  attached: bool) -> None:
    """The reply is written without EmailMessage for speed; for any subject, body and address
    it must be what the stdlib writes, its subject read back the same (or be refused as the
    stdlib refuses it)."""
    env = Envelope(sender="info@example.jp", sender_name=NAME, to=f"{local}@{domain}", message_id=f"<{token}@example.jp>",
                   date=dt.datetime(2025, 6, 2, 1, tzinfo=dt.UTC), in_reply_to=f"<{token}@example.com>",
                   references=(f"<{token}@example.com>", "<other@example.com>"))
    atts = (OutgoingAttachment("kojinjoho_kaiji_seikyusho.pdf", "application/pdf", b"%PDF-1.4\n" + bytes(300)),)
    chosen = atts if attached else ()
    try:
        expected = stdlib_message(env, subject, body, chosen)
    except Exception as exc:  # noqa: BLE001 - whatever the stdlib refuses, build_message must refuse too
        with pytest.raises(type(exc)):
            build_message(env, subject, body, chosen)
        return
    assert_same_reply(build_message(env, subject, body, chosen), expected, subject)


def test_only_an_attachment_that_holds_a_boundary_start_is_searched_by_the_stdlib(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The blank form cannot hold "--===============" (base64, plain headers), so its part is
    not searched again at each reply; a part that does hold it goes to the stdlib's search."""
    import replies.render as render

    asked: list[bytes] = []
    real = render.BytesGenerator._make_boundary  # type: ignore[attr-defined]

    def spy(text: bytes) -> str:
        asked.append(text)
        return str(real(text))

    monkeypatch.setattr(render.BytesGenerator, "_make_boundary", staticmethod(spy))
    odd = OutgoingAttachment(f"--{'=' * 15}1.txt", "application/octet-stream", b"x")
    plain = OutgoingAttachment("kojinjoho_kaiji_seikyusho.pdf", "application/pdf", b"%PDF-1.4\n" + bytes(300))
    for attached, searched in (((plain,), False), ((odd,), True), ((plain,), False)):
        asked.clear()
        raw = build_message(envelope(1), "受付", "本文\n", attached)
        msg = email.message_from_bytes(raw, policy=default)
        assert [p.get_content() for p in msg.iter_attachments()] == [a.data for a in attached]
        assert bool(asked) is searched
