"""The mail-reading layer on mail built the way Japanese mailers build it.

Messages are made with the stdlib where it can, and by hand where Japanese mailers do
what the stdlib will not (NEC extension characters in ISO-2022-JP, encoded words inside
quoted parameters, raw 8-bit filenames), so each test fails if the decoding regresses.
"""

from __future__ import annotations

import base64
import time
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import ParsedMessage
from parsers.charsets import charset_family, decode_bytes, decode_header_value, decode_iso2022jp, jis_to_sjis
from parsers.headers import case_tags, referenced_ids, robot_reasons
from parsers.mime import MAX_DEPTH, MAX_PARTS, html_to_text, parse_message

ESC_KANJI = b"\x1b$B"
ESC_ASCII = b"\x1b(B"
ESC_KANA = b"\x1b(I"
WINDOW = "info@example.jp"


def jis(*pairs: int) -> bytes:
    """JIS X 0208 codes written by hand, wrapped in the ISO-2022-JP escapes."""
    return ESC_KANJI + b"".join(bytes((code >> 8, code & 0xFF)) for code in pairs) + ESC_ASCII


def b_word(data: bytes, charset: str) -> bytes:
    return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data) + b"?="


def raw_mail(headers: list[bytes], body: bytes) -> bytes:
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


# JIS codes: テ 0x2546, ス 0x2539, ト 0x2548, ① 0x2D21, ② 0x2D22, № 0x2D62, ㈱ 0x2D6A,
# ～ 0x2141, － 0x215D, 開 0x332B, 示 0x3C28, 住 0x3D3B, 民 0x4C31, 票 0x493C, 申 0x3F3D,
# 請 0x4041, 山 0x3B33, 田 0x4544, 題 0x426A, 名 0x4C3E, ⅱ (NEC-selected IBM) 0x7C72.
TESUTO = (0x2546, 0x2539, 0x2548)


# --------------------------------------------------------------------------- charsets


def test_jis_arithmetic_matches_cp932_for_standard_rows() -> None:
    assert jis_to_sjis(0x30, 0x21) == "亜".encode("cp932")
    assert jis_to_sjis(0x24, 0x22) == "あ".encode("cp932")
    assert jis_to_sjis(0x2D, 0x21) == "①".encode("cp932")
    assert jis_to_sjis(0x7C, 0x72) == "ⅱ".encode("cp932")


def test_iso2022jp_nec_and_windows_characters() -> None:
    data = jis(0x2D21, 0x2D22, 0x2D62, 0x2D6A, 0x2141, 0x215D, 0x7C72)
    text = decode_iso2022jp(data)
    assert text == "①②№㈱\uff5e\uff0dⅱ"
    assert decode_bytes(data, "ISO-2022-JP") == text


def test_iso2022jp_half_width_kana_by_escape_and_by_shift() -> None:
    by_escape = b"(=" + ESC_KANA + b"_" + ESC_KANJI + b"&X" + ESC_KANA + b"_" + ESC_ASCII + b")"
    assert decode_bytes(by_escape, "iso-2022-jp") == "(=ﾟωﾟ)"
    by_shift = b"a\x0e\x31\x32\x0fb"  # SO ｱｲ SI
    assert decode_bytes(by_shift, "iso-2022-jp") == "aｱｲb"


def test_iso2022jp_line_breaks_inside_kanji_mode_survive() -> None:
    data = ESC_KANJI + b"\x33\x2b\r\n\x3c\x28" + ESC_ASCII
    assert decode_iso2022jp(data) == "開\r\n示"


def test_au_emoji_rows_are_private_use_not_replacement() -> None:
    text = decode_bytes(jis(0x426A, 0x4C3E, 0x765E), "iso-2022-jp", au_emoji=True)
    assert text.startswith("題名")
    assert "\ufffd" not in text
    assert "\ue000" <= text[-1] <= "\uf8ff"
    # au's own rows 0x79-0x7B are emoji only in au mode; otherwise NEC-selected IBM kanji
    assert "\ue000" <= decode_iso2022jp(jis(0x794C), au_emoji=True) <= "\uf8ff"
    assert decode_iso2022jp(jis(0x794C)) == bytes((0xED, 0x6B)).decode("cp932")


def test_shift_jis_label_decodes_with_cp932_emoji() -> None:
    data = "申請①".encode("cp932") + b"\xf8\x9f"  # docomo sun emoji (cp932 user area)
    text = decode_bytes(data, "Shift_JIS")
    assert text.startswith("申請①")
    assert "\ufffd" not in text


def test_euc_jp_with_nec_row13_and_wave_dash() -> None:
    data = "開示請求".encode("euc_jp") + b"\xad\xa1" + b"\xa1\xc1"
    assert decode_bytes(data, "EUC-JP") == "開示請求①\uff5e"


@pytest.mark.parametrize(
    ("label", "expected"),
    [("iso-2022-jp", "開示請求です"), ("us-ascii", "開示請求です"), ("x-unknown", "開示請求です")],
)
def test_lying_labels_over_utf8(label: str, expected: str) -> None:
    assert decode_bytes(expected.encode("utf-8"), label) == expected


def test_gb2312_label_on_japanese_exchange_ndr() -> None:
    data = "次の受信者またはグループへの配信に失敗しました".encode("gbk")
    assert decode_bytes(data, "gb2312") == "次の受信者またはグループへの配信に失敗しました"


def test_unlabelled_bytes_are_sniffed() -> None:
    assert decode_bytes("利用停止をお願いします".encode("cp932")) == "利用停止をお願いします"
    assert decode_bytes("利用停止をお願いします".encode("euc_jp")) == "利用停止をお願いします"
    assert decode_bytes("Grüße aus Köln".encode("latin-1")) == "Grüße aus Köln"
    assert decode_bytes("Grüße".encode("latin-1"), "iso-8859-1") == "Grüße"


def test_unknown_and_hostile_labels_do_not_raise() -> None:
    for label in ("fakescii", "x-mac-cyrillic", "charset=us-ascii", "unicode_escape", "zlib", "", None):
        assert decode_bytes(b"plain \\x41 text", label) == "plain \\x41 text"
    assert charset_family('"ISO-2022-JP"') == "jis"
    assert charset_family("windows-31j") == "sjis"
    assert charset_family("iso-2022-jp*ja") == "jis"


def test_encoded_words_iso2022jp_and_sjis_emoji() -> None:
    assert decode_header_value(b_word(jis(*TESUTO, 0x2D21), "iso-2022-jp")) == "テスト①"
    sjis = decode_header_value(b"=?shift_jis?B?keiWvPjX?=")
    assert sjis.startswith("題名") and "\ufffd" not in sjis


def test_encoded_words_split_inside_a_character_are_joined() -> None:
    data = "開示".encode()
    header = b_word(data[:2], "utf-8") + b"\r\n " + b_word(data[2:], "UTF-8")
    assert decode_header_value(header) == "開示"


def test_header_decoding_strips_line_breaks() -> None:
    assert decode_header_value(b"=?utf-8?Q?a=0D=0ABcc:_x@evil?=") == "a Bcc: x@evil"


# --------------------------------------------------------------------------- messages


def test_iso2022jp_mail_with_nec_characters() -> None:
    raw = raw_mail(
        [
            b"From: " + b_word(jis(0x3B33, 0x4544), "ISO-2022-JP") + b" <Taro@Example.JP>",
            b"To: info@example.jp",
            b"Subject: " + b_word(jis(0x332B, 0x3C28) + b" " + jis(0x2D21), "iso-2022-jp"),
            b"Message-ID: <abc@example.jp>",
            b"Date: Thu, 02 Apr 2009 10:37:53 +0900",
            b"Content-Type: text/plain; charset=ISO-2022-JP",
            b"Content-Transfer-Encoding: 7bit",
        ],
        jis(0x332B, 0x3C28) + b"\r\n" + jis(0x2D6A, 0x2141, 0x215D) + b"\r\n",
    )
    msg = parse_message(raw)
    assert msg.from_addr == "taro@example.jp"
    assert msg.from_name == "山田"
    assert msg.subject == "開示 ①"
    assert msg.text == "開示\n㈱\uff5e\uff0d"
    assert msg.message_id == "<abc@example.jp>"
    assert msg.date is not None and msg.date.utcoffset() is not None
    assert msg.to == ("info@example.jp",)


def test_shift_jis_base64_body() -> None:
    raw = raw_mail(
        [
            b"From: hanako@docomo.ne.jp",
            b'Content-Type: text/plain; charset="Shift_JIS"',
            b"Content-Transfer-Encoding: base64",
        ],
        base64.encodebytes("本人確認書類を送ります①".encode("cp932")),
    )
    msg = parse_message(raw)
    assert msg.text == "本人確認書類を送ります①"


def test_rfc2231_filenames() -> None:
    outer = MIMEMultipart()
    outer.attach(MIMEText("本文", "plain", "utf-8"))
    utf8 = MIMEApplication(b"%PDF-1.4 one", "pdf")
    utf8.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "開示等請求書.pdf"))
    outer.attach(utf8)
    jis_part = MIMEApplication(b"%PDF-1.4 two", "pdf")
    encoded = "".join(f"%{b:02X}" for b in jis(0x3D3B, 0x4C31, 0x493C)) + ".pdf"  # 住民票
    jis_part["Content-Disposition"] = f"attachment; filename*=iso-2022-jp'ja'{encoded}"
    outer.attach(jis_part)
    msg = parse_message(outer.as_bytes())
    names = [a.filename for a in msg.attachments]
    assert names == ["開示等請求書.pdf", "住民票.pdf"]
    assert msg.attachments[0].data == b"%PDF-1.4 one"
    assert msg.attachments[0].content_type == "application/pdf"


def test_rfc2231_continuations_and_encoded_words_in_quotes() -> None:
    name = "かきくけこかきくけこ.txt".encode()
    quoted = "".join(f"%{b:02X}" for b in name)
    raw = raw_mail(
        [b"From: a@example.jp", b'Content-Type: multipart/mixed; boundary="B"'],
        b"--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n"
        b" filename*0*=utf-8''" + quoted[:30].encode() + b";\r\n filename*1*=" + quoted[30:].encode() + b"\r\n"
        b"\r\nAAAA\r\n"
        b"--B\r\nContent-Type: application/pdf;\r\n name=\"" + b_word(jis(0x3F3D, 0x4041), "ISO-2022-JP")
        + b'.pdf"\r\nContent-Disposition: attachment\r\n\r\nBBBB\r\n--B--\r\n',
    )
    msg = parse_message(raw)
    assert [a.filename for a in msg.attachments] == ["かきくけこかきくけこ.txt", "申請.pdf"]


@pytest.mark.parametrize("encoding", ["cp932", "utf-8"])
def test_raw_8bit_filenames(encoding: str) -> None:
    raw = raw_mail(
        [b"From: a@example.jp", b'Content-Type: multipart/mixed; boundary="B"'],
        b"--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n--B\r\n"
        b'Content-Type: application/pdf; name="' + "運転免許証.pdf".encode(encoding) + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"%PDF-1.4") + b"\r\n--B--\r\n",
    )
    msg = parse_message(raw)
    assert msg.attachments[0].filename == "運転免許証.pdf"
    assert msg.attachments[0].data == b"%PDF-1.4"


def test_filename_path_parts_are_removed() -> None:
    part = MIMEApplication(b"x", "octet-stream")
    part.add_header("Content-Disposition", "attachment", filename="..\\..\\C:\\tmp/../1234.txt")
    assert parse_message(part.as_bytes()).attachments[0].filename == "1234.txt"


def test_html_only_body() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><p>開示を請求します。</p>氏名&nbsp;山田&amp;太郎<br>電話&#x3a; 03<br/>"
        "<!-- hidden --><div>以上</div></body></html>"
    )
    msg = parse_message(MIMEText(html, "html", "utf-8").as_bytes())
    assert msg.text == "開示を請求します。\n氏名 山田&太郎\n電話: 03\n以上"
    assert "alert" not in msg.text and "color" not in msg.text


def test_html_meta_charset_when_part_has_none() -> None:
    body = '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"><p>開示</p>'
    raw = raw_mail([b"From: a@example.jp", b"Content-Type: text/html"], body.encode("cp932"))
    assert parse_message(raw).text == "開示"


def test_html_converter_is_linear_on_hostile_markup() -> None:
    started = time.perf_counter()
    html_to_text("<!--" * 50_000 + "<script>" * 50_000 + "<a " * 50_000)
    assert time.perf_counter() - started < 5


def test_alternative_prefers_plain_and_keeps_attachments_in_html_branch() -> None:
    related = MIMEMultipart("mixed")
    related.attach(MIMEText("<p>HTML版</p>", "html", "utf-8"))
    pdf = MIMEApplication(b"%PDF-1.4", "pdf")
    pdf.add_header("Content-Disposition", "attachment", filename="form.pdf")
    related.attach(pdf)
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("プレーン版", "plain", "utf-8"))
    alternative.attach(related)
    msg = parse_message(alternative.as_bytes())
    assert msg.text == "プレーン版"
    assert [a.filename for a in msg.attachments] == ["form.pdf"]


def test_empty_plain_alternative_gives_way_to_html() -> None:
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(" \n", "plain", "utf-8"))
    alternative.attach(MIMEText("<p>HTMLだけに本文</p>", "html", "utf-8"))
    assert parse_message(alternative.as_bytes()).text == "HTMLだけに本文"


def test_format_flowed_is_joined() -> None:
    raw = raw_mail(
        [b"From: a@example.jp", b"Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes"],
        "開示を請求 \r\nします。\r\n-- \r\n署名".encode(),
    )
    assert parse_message(raw).text == "開示を請求します。\n-- \n署名"


def test_forwarded_message_text_after_body_and_its_attachments() -> None:
    inner = MIMEMultipart()
    inner["From"] = "Hanako <hanako@example.jp>"
    inner["Subject"] = "元のメール"
    inner.attach(MIMEText("転送された本文", "plain", "utf-8"))
    doc = MIMEApplication(b"\x89PNG\r\n\x1a\n", "png")
    doc.add_header("Content-Disposition", "attachment", filename="license.png")
    inner.attach(doc)
    outer = MIMEMultipart()
    outer.attach(MIMEText("転送します", "plain", "utf-8"))
    outer.attach(MIMEMessage(inner))
    msg = parse_message(outer.as_bytes())
    assert msg.text.startswith("転送します\n\n")
    assert msg.text.index("転送します") < msg.text.index("転送された本文")
    assert "Subject: 元のメール" in msg.text
    assert [a.filename for a in msg.attachments] == ["license.png"]


def test_base64_encoded_rfc822_part_is_still_read() -> None:
    inner = b"From: x@example.jp\r\nSubject: inner\r\n\r\ninner body\r\n"
    raw = raw_mail(
        [b"From: a@example.jp", b'Content-Type: multipart/mixed; boundary="B"'],
        b"--B\r\nContent-Type: text/plain\r\n\r\nouter\r\n--B\r\nContent-Type: message/rfc822\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(inner) + b"\r\n--B--\r\n",
    )
    assert "inner body" in parse_message(raw).text


def test_headers_in_order_decoded_and_threading_ids() -> None:
    raw = raw_mail(
        [
            b"Return-Path: <>",
            b"From: a@example.jp",
            b"X-Test: " + b_word("値".encode(), "utf-8"),
            b"x-test: second",
            b"In-Reply-To: <one@example.jp>",
            b"References: <zero@example.jp>\r\n <one@example.jp>",
            b"Message-ID: bare-id@example.jp",
        ],
        b"body",
    )
    msg = parse_message(raw)
    assert msg.headers[:4] == (
        ("return-path", "<>"),
        ("from", "a@example.jp"),
        ("x-test", "値"),
        ("x-test", "second"),
    )
    assert msg.header_all("x-test") == ["値", "second"]
    assert msg.return_path == ""
    assert msg.in_reply_to == ("<one@example.jp>",)
    assert msg.references == ("<zero@example.jp>", "<one@example.jp>")
    assert referenced_ids(msg) == ("<one@example.jp>", "<zero@example.jp>")
    assert msg.message_id == "<bare-id@example.jp>"


def test_return_path_absent_is_none() -> None:
    assert parse_message(b"From: a@example.jp\r\n\r\nx").return_path is None
    assert parse_message(b"Return-Path: <B@Example.jp>\r\n\r\nx").return_path == "b@example.jp"


def test_group_addresses_and_crlf_in_display_name() -> None:
    raw = raw_mail(
        [
            b"From: =?utf-8?Q?James=0D=0AEvil?= <James@Example.com>",
            b"To: unlisted-recipients:; (no To-header on input)",
            b"Cc: team: a@example.jp, b@example.jp;, C <c@example.jp>",
            b"Reply-To: <Reply@Example.jp>",
        ],
        b"x",
    )
    msg = parse_message(raw)
    assert msg.from_addr == "james@example.com"
    assert msg.from_name == "James Evil"
    assert msg.to == ()
    assert msg.cc == ("a@example.jp", "b@example.jp", "c@example.jp")
    assert msg.reply_to == ("reply@example.jp",)


def test_unknown_charset_and_broken_multipart_do_not_raise() -> None:
    raw = raw_mail(
        [b"From: a@example.jp", b"Content-Type: multipart/mixed"],  # no boundary
        b"--x\r\nContent-Type: text/plain; charset=fakescii\r\n\r\nhello\r\n",
    )
    msg = parse_message(raw)
    assert "hello" in msg.text
    assert msg.defects


def test_sender_without_address_and_au_detection() -> None:
    assert parse_message(b"From: =?utf-8?B?5bGx55Sw?=\r\n\r\nx").from_addr == ""
    assert parse_message(b"From: MAILER-DAEMON (Mail Delivery)\r\n\r\nx").from_addr == "mailer-daemon"
    body = jis(0x794C)
    au = parse_message(b"From: x@ezweb.ne.jp\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n" + body)
    other = parse_message(b"From: x@beau.com\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n" + body)
    assert "\ue000" <= au.text <= "\uf8ff"
    assert not ("\ue000" <= other.text <= "\uf8ff")


def test_multipart_report_is_report() -> None:
    outer = MIMEMultipart("report", report_type="delivery-status")
    outer.attach(MIMEText("could not deliver", "plain"))
    outer["From"] = "MAILER-DAEMON@example.jp"
    msg = parse_message(outer.as_bytes())
    assert msg.is_report and msg.content_type == "multipart/report"


# --------------------------------------------------------------------------- never raise


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
        b"From: a@example.jp\rSubject: bare CR\r\rbody\r",
        b"Subject: " + b"x" * 210_000 + b"\r\n\r\nbody",
        b"Content-Type: text/plain; charset=\"\r\n\r\n\xff\xfe\xfd",
        b"From: \x1b$B\r\n\r\n\x1b$B\x7f\x7f\x1b(B",
    ],
)
def test_pathological_inputs(raw: bytes) -> None:
    assert isinstance(parse_message(raw), ParsedMessage)


def test_not_mail_files_become_attachments() -> None:
    msg = parse_message(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n")
    assert msg.text == ""
    assert msg.attachments[0].content_type == "application/pdf"


def test_deep_nesting_and_many_parts_are_bounded() -> None:
    depth = 400
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    started = time.perf_counter()
    msg = parse_message(b"From: a@example.jp\r\n" + head + b"Content-Type: text/plain\r\n\r\ndeep" + tail)
    assert "depth_limit" in msg.defects or "unparseable" in msg.defects
    many = MIMEMultipart()
    for index in range(MAX_PARTS + 50):
        many.attach(MIMEApplication(b"x", "octet-stream", Name=f"{index}.bin"))
    msg = parse_message(many.as_bytes())
    assert "part_limit" in msg.defects
    assert len(msg.attachments) < MAX_PARTS
    assert time.perf_counter() - started < 10
    assert MAX_DEPTH <= 50


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    assert isinstance(parse_message(raw), ParsedMessage)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["iso-2022-jp", "shift_jis", "euc-jp", "utf-8", None, "bogus"]))
def test_random_bytes_decode_in_every_charset(data: bytes, label: str | None) -> None:
    assert isinstance(decode_bytes(b"\x1b$B" + data, label), str)
    assert isinstance(decode_header_value(b"=?" + (label or "x").encode() + b"?B?" + data + b"?="), str)


# --------------------------------------------------------------------------- robots


def message(headers: list[tuple[str, str]], **kw: object) -> ParsedMessage:
    base: dict[str, object] = {
        "message_id": "<m@example.jp>", "from_addr": "taro@example.jp", "from_name": None,
        "to": (WINDOW,), "cc": (), "reply_to": (), "subject": "", "date": None,
        "in_reply_to": (), "references": (), "text": "", "attachments": (),
        "headers": tuple(headers), "return_path": "taro@example.jp",
    }  # fmt: skip
    base.update(kw)
    return ParsedMessage(**base)  # type: ignore[arg-type]


def test_a_person_is_not_a_robot() -> None:
    assert robot_reasons(message([("auto-submitted", "no")]), WINDOW) == ()
    assert robot_reasons(message([("precedence", "first-class")]), WINDOW) == ()


@pytest.mark.parametrize(
    ("headers", "kw", "reason"),
    [
        ([("auto-submitted", "auto-replied")], {}, "auto_submitted"),
        ([("auto-submitted", "auto-generated (vacation)")], {}, "auto_submitted"),
        ([("x-autoreply", "yes")], {}, "x_autoreply"),
        ([("x-autorespond", "on vacation")], {}, "x_autorespond"),
        ([("precedence", "bulk")], {}, "precedence"),
        ([("precedence", "List")], {}, "precedence"),
        ([("precedence", "junk")], {}, "precedence"),
        ([("precedence", "auto_reply")], {}, "precedence"),
        ([("list-id", "<news.example.jp>")], {}, "list_header"),
        ([("list-unsubscribe", "<mailto:u@example.jp>")], {}, "list_header"),
        ([("x-auto-response-suppress", "DR, RN, NRN, OOF, AutoReply")], {}, "x_auto_response_suppress"),
        ([("x-auto-response-suppress", "OOF")], {}, "x_auto_response_suppress"),
        ([], {"from_addr": "mailer-daemon@example.jp"}, "mailer_daemon"),
        ([], {"from_addr": "postmaster@example.jp"}, "postmaster"),
        ([], {"return_path": ""}, "empty_return_path"),
        ([], {"is_report": True, "content_type": "multipart/report"}, "multipart_report"),
        ([], {"from_addr": ""}, "no_from"),
        ([], {"from_addr": "info@example.jp"}, "from_window"),
        ([("x-loop", "info@example.jp")], {}, "x_loop"),
    ],
)
def test_robot_reasons(headers: list[tuple[str, str]], kw: dict[str, object], reason: str) -> None:
    assert reason in robot_reasons(message(headers, **kw), WINDOW)


def test_window_address_comparison_ignores_case_and_display_name() -> None:
    msg = message([], from_addr="info@example.jp")
    assert "from_window" in robot_reasons(msg, "Madoguchi <INFO@Example.JP>")


def test_robot_headers_from_real_bytes() -> None:
    raw = b"From: Taro <taro@example.jp>\r\nAuto-Submitted: auto-replied\r\nList-Id: <x>\r\n\r\nout of office"
    assert set(robot_reasons(parse_message(raw), WINDOW)) == {"auto_submitted", "list_header"}
    bounce = b"Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.jp>\r\n\r\nx"
    assert {"empty_return_path", "mailer_daemon"} <= set(robot_reasons(parse_message(bounce), WINDOW))


# --------------------------------------------------------------------------- tags and ids


def test_case_tags_half_and_full_width() -> None:
    assert case_tags("Re: [#A1B2-C3] 開示請求") == ("A1B2-C3",)
    assert case_tags("Re: ［＃ＡＢ１２］ 書類") == ("AB12",)
    assert case_tags("[#X1] [#X1] [#y-2] [#bad id] [x]") == ("X1", "y-2")
    assert case_tags("") == ()


def test_referenced_ids_normalized_and_deduplicated() -> None:
    msg = message([], in_reply_to=("<a@x>",), references=("<z@x>", " < a@x > ", "<b@x>"))
    assert referenced_ids(msg) == ("<a@x>", "<z@x>", "<b@x>")


def test_stdlib_built_japanese_mail_round_trips() -> None:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = "山田 太郎 <taro@example.jp>"
    mail["To"] = WINDOW
    mail["Subject"] = "保有個人データの開示請求 ①"
    mail.set_content("開示を請求します。\n～以上～")
    mail.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="開示等請求書.pdf")
    msg = parse_message(mail.as_bytes())
    assert (msg.from_name, msg.subject) == ("山田 太郎", "保有個人データの開示請求 ①")
    assert msg.text == "開示を請求します。\n～以上～"
    assert msg.attachments[0].filename == "開示等請求書.pdf"


def test_dmarc_result_reads_only_the_trusted_header() -> None:
    from parsers.headers import dmarc_result

    raw = (b"Authentication-Results: mx.ours.example; dmarc=fail header.from=x.example\r\n"
           b"Authentication-Results: other.example; dmarc=pass\r\n"
           b"From: a@x.example\r\nSubject: t\r\n\r\nbody\r\n")
    msg = parse_message(raw)
    assert dmarc_result(msg) == "fail"
    assert dmarc_result(msg, ("other.example",)) == "pass"
    assert dmarc_result(msg, ("unknown.example",)) is None
    assert dmarc_result(parse_message(b"From: a@x.example\r\n\r\nbody\r\n")) is None
