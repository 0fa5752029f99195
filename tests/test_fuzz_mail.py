"""Property-based fuzzing of the mail path: MIME trees built at random, then broken.

The guarantee: `parse_message` and `read_attachment` never raise; `handle()` never lets an
exception out, every distinct message ends as exactly one ledger row with a known outcome,
and the next message is handled as if nothing had happened. Bounded for CI; `bench/fuzz.py`
runs the same strategies for longer.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import io
import itertools
import quopri
import random
import tempfile
import zipfile
from collections.abc import Iterator
from typing import get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.app import App, build_app
from bot.db import InboundMessage
from bot.mailbox import Incoming
from bot.models import Attachment, AttachmentReading, ParsedMessage
from bot.pipeline import Outcome, Result, handle
from config.settings import load_settings
from parsers.attachments import ReadLimits, read_attachment
from parsers.mime import parse_message
from tests import factory

OUTCOMES = frozenset(get_args(Outcome))
WINDOW = "info@example.jp"
BASE = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))


def fuzz(examples: int) -> settings:
    """CI-sized runs, random each time, no example database left behind."""
    return settings(BASE, max_examples=examples)

# --------------------------------------------------------------------------- sample files


@functools.lru_cache(maxsize=1)
def samples() -> dict[str, bytes]:
    """Real files, made once: a text PDF, our filled form, a JPEG, a PNG, a ZIP."""
    jpeg, png, zbuf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(jpeg, "JPEG")
    Image.new("L", (40, 30), 128).save(png, "PNG")
    with zipfile.ZipFile(zbuf, "w") as archive:
        archive.writestr("license.jpg", jpeg.getvalue())
    return {
        "pdf": factory.text_pdf(["住所 東京都例区1-1", "氏名 山田 太郎"], title="住民票（写）"),
        "form": factory.filled_form({"requester_name": "山田 太郎"}, ["type_disclose"]),
        "jpeg": jpeg.getvalue(),
        "png": png.getvalue(),
        "zip": zbuf.getvalue(),
    }


class FastOcr:
    """Reads nothing, at once: Tesseract would make each example take seconds."""

    def image_to_text(self, image: object) -> str:
        return ""


# --------------------------------------------------------------------------- strategies

CHARSETS = ["utf-8", "iso-2022-jp", "shift_jis", "euc-jp", "cp932", "latin-1", "us-ascii", "x-bogus",
            "utf-8\r\nBcc: x@example.org", "", '"', "unicode-1-1-utf-7", "gb2312", "ks_c_5601-1987"]
CTES = ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "bogus", ""]
TEXT = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(list("開示請求住民票①㈱髙﨑～−ｱｲｳ \r\n=?\t"))),
    max_size=120,
)
REQUEST_LINES = st.sampled_from(["", "開示を請求します。", "開示を請求します。", "利用停止をお願いします。", "お問い合わせです。",
                                 "Please disclose my personal data."])
NAMES = st.sampled_from(["山田 太郎", "taro", "", "\"quoted, name\"", "=?utf-8?B?5bGx55Sw?=", "a\r\nBcc: v@example.org",
                         "=?iso-2022-jp?B?GyRCOzNFRBsoQg==?=", "=?bogus?Q?x?=", "=?utf-8?B?!!!?=", "<>", "@"])
_GOOD_ADDRESSES = st.sampled_from(["taro@example.com", "TARO@Example.COM", "hanako@example.org", "ken@example.net",
                                   "yuki@example.co.jp"])
ADDRESSES = st.one_of(_GOOD_ADDRESSES, _GOOD_ADDRESSES, _GOOD_ADDRESSES, st.sampled_from(
    ["", "no-at-sign", "a@b@c", "<>", "MAILER-DAEMON", "x@[127.0.0.1]", "\"a b\"@example.net", "info@example.jp"]))


_SERIAL = itertools.count()
MESSAGE_IDS = st.one_of(*[st.builds(lambda: f"m{next(_SERIAL)}")] * 12, st.sampled_from(["a", "x y", "", "<", "\r\n"]))


def _encode_text(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset, "replace")
    except (LookupError, ValueError):
        return text.encode("utf-8", "surrogatepass")


def _break(data: bytes, draw: st.DrawFn) -> bytes:
    """Sometimes damage an encoded body: cut it, or put junk in it."""
    how = draw(st.sampled_from(["none", "none", "cut", "junk", "qp_tail"]))
    if how == "cut" and data:
        return data[: draw(st.integers(0, len(data)))]
    if how == "junk":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.sampled_from([b"!!@@", b"=", b"=Z", b"\x00\xff", b"====", b"\r\n--"])) + data[at:]
    if how == "qp_tail":
        return data + b"=E3=8"
    return data


def _cte_body(data: bytes, cte: str, draw: st.DrawFn) -> bytes:
    if cte == "base64":
        encoded = base64.encodebytes(data)
    elif cte == "quoted-printable":
        encoded = quopri.encodestring(data)
    elif cte == "x-uuencode" and data:
        encoded = b"begin 644 x\n" + b"".join(binascii.b2a_uu(data[i:i + 45]) for i in range(0, len(data), 45)) + b"`\nend\n"
    else:
        encoded = data
    return _break(encoded, draw)


def _encoded_word(text: str, draw: st.DrawFn) -> str:
    """Text as an RFC 2047 encoded word, valid or broken, or left raw."""
    how = draw(st.sampled_from(["raw", "b", "q", "broken", "split"]))
    charset = draw(st.sampled_from(["utf-8", "iso-2022-jp", "shift_jis", "x-bogus", "UTF-8*ja"]))
    data = _encode_text(text, charset)
    if how == "b":
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    if how == "q":
        return f"=?{charset}?Q?{quopri.encodestring(data, header=True).decode('ascii', 'replace')}?="
    if how == "broken":
        return f"=?{charset}?B?{base64.b64encode(data).decode()[:-1]}!?"
    if how == "split" and len(data) > 1:
        half = len(data) // 2
        return (f"=?{charset}?B?{base64.b64encode(data[:half]).decode()}?=\r\n "
                f"=?{charset}?B?{base64.b64encode(data[half:]).decode()}?=")
    return text


def _filename_params(name: str, draw: st.DrawFn) -> str:
    how = draw(st.sampled_from(["none", "plain", "2047", "2231", "2231cont", "quoted2047", "path"]))
    if how == "none":
        return ""
    if how == "plain":
        return f'; filename="{name}"'
    if how == "2047":
        return f"; filename={_encoded_word(name, draw)}"
    if how == "quoted2047":
        return f'; name="{_encoded_word(name, draw)}"'
    quoted = "".join(f"%{b:02X}" for b in name.encode("utf-8", "surrogatepass"))
    if how == "2231":
        return f"; filename*=utf-8''{quoted}"
    if how == "2231cont":
        return f"; filename*0*=utf-8''{quoted[:9]}; filename*1*={quoted[9:]}; filename*3=lost"
    return f'; filename="../../etc/{name}"'


@st.composite
def text_part(draw: st.DrawFn) -> bytes:
    subtype = draw(st.sampled_from(["plain", "html", "plain", "calendar"]))
    charset = draw(st.sampled_from(CHARSETS))
    cte = draw(st.sampled_from(CTES))
    text = draw(REQUEST_LINES) + draw(TEXT)
    if subtype == "html":
        text = draw(st.sampled_from(["<p>", "<img src=http://tracker.example/p.gif>", "<script>x()</script>",
                                     "<style>p{}</style>", "<br", "<!--"])) + text + "</p>"
    body = _cte_body(_encode_text(text, charset), cte, draw)
    params = draw(st.sampled_from([f'; charset="{charset}"', f"; charset={charset}", "", "; format=flowed; delsp=yes"]))
    head = f"Content-Type: text/{subtype}{params}\r\n"
    if cte:
        head += f"Content-Transfer-Encoding: {cte}\r\n"
    return head.encode("utf-8", "surrogatepass") + b"\r\n" + body


@st.composite
def attachment_part(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["pdf", "form", "jpeg", "png", "zip", "random", "empty", "mutated"]))
    files = samples()
    if kind == "random":
        data = draw(st.binary(max_size=400))
    elif kind == "empty":
        data = b""
    elif kind == "mutated":
        buf = bytearray(files[draw(st.sampled_from(["pdf", "jpeg", "png"]))])
        for _ in range(draw(st.integers(1, 8))):
            buf[draw(st.integers(0, len(buf) - 1))] = draw(st.integers(0, 255))
        data = bytes(buf)
    else:
        data = files[kind]
    ctype = draw(st.sampled_from(["application/pdf", "image/jpeg", "image/png", "application/octet-stream",
                                  "application/zip", "text/plain", "image/heic", "bogus", "", "application/pdf;"]))
    name = draw(st.sampled_from(["scan0001.pdf", "住民票.pdf", "IMG_0001.JPG", "docs.zip", "docs.pdf", "a", "免許証.jpg"]))
    cte = draw(st.sampled_from(["base64", "base64", "quoted-printable", "8bit", "bogus"]))
    disp = draw(st.sampled_from(["attachment", "inline", "", "attachment; size=-1"]))
    head = f"Content-Type: {ctype}{_filename_params(name, draw)}\r\n"
    if disp:
        head += f"Content-Disposition: {disp}{_filename_params(name, draw)}\r\n"
    head += f"Content-Transfer-Encoding: {cte}\r\n"
    return head.encode("utf-8", "surrogatepass") + b"\r\n" + _cte_body(data, cte, draw)


def multipart(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        subtype = draw(st.sampled_from(["mixed", "alternative", "related", "signed", "report", "digest", "x-odd"]))
        boundary = draw(st.sampled_from(["b1", "=_b2", "--", "a b", "b1"]))  # the same boundary nested, too
        parts = draw(st.lists(children, max_size=4))
        head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"'
        if subtype == "report":
            head += "; report-type=delivery-status"
        body = b"preamble\r\n" + b"".join(f"--{boundary}\r\n".encode() + p + b"\r\n" for p in parts)
        if draw(st.booleans()):
            body += f"--{boundary}--\r\nepilogue\r\n".encode()  # else the closing line is missing
        return head.encode() + b"\r\n\r\n" + body

    return build()


def rfc822(inner: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        cte = draw(st.sampled_from(["", "7bit", "base64"]))
        message = draw(top_headers()) + draw(inner)
        head = b"Content-Type: message/rfc822\r\n"
        if cte:
            head += f"Content-Transfer-Encoding: {cte}\r\n".encode()
        return head + b"\r\n" + (base64.encodebytes(message) if cte == "base64" else message)

    return build()


def body_tree() -> st.SearchStrategy[bytes]:
    """One MIME entity (its own headers, a blank line, its body), nested at random."""
    leaves = st.one_of(text_part(), attachment_part())
    tree = st.recursive(leaves, lambda kids: st.one_of(multipart(kids), rfc822(kids)), max_leaves=6)
    usual = multipart(st.one_of(text_part(), attachment_part(), attachment_part()))  # a request with files
    return st.one_of(tree, usual)


@st.composite
def top_headers(draw: st.DrawFn) -> bytes:
    name = draw(NAMES)
    addr = draw(ADDRESSES)
    shown = _encoded_word(name, draw) if name and draw(st.booleans()) else name
    subject = _encoded_word(draw(st.sampled_from(["開示請求", "Re: [#20250602-0001] 書類", "", "質問"])) + draw(TEXT)[:30],
                            draw)
    lines = [f"From: {shown} <{addr}>" if shown else f"From: {addr}",
             "To: info@example.jp",
             f"Subject: {subject}",
             f"Message-ID: <{draw(MESSAGE_IDS)}@fuzz>",
             draw(st.sampled_from(["Date: Mon, 02 Jun 2025 10:00:00 +0900", "Date: yesterday", ""])),
             "MIME-Version: 1.0"]
    extra = draw(st.lists(st.sampled_from([
        "Reply-To: other@example.net", "From: second@example.org", "Subject: second", "Cc: ,,,<>",
        "In-Reply-To: <20250602-0001.ack.x@example.jp>", "References: <<<>>>", "Auto-Submitted: auto-replied",
        "Return-Path: <>", "Authentication-Results: mx.example.jp; dmarc=fail", "X-Empty:", " folded-without-name",
        "Content-Type: text/plain; charset=utf-8", "Subject: \udcff\udcfe8-bit", "X-Nul: a\x00b",
        "Content-Type: multipart/mixed", "Content-Transfer-Encoding: base64", "X-Long: " + "x" * 5000,
    ]), max_size=2))
    lines = [line for line in lines + extra if line]
    lines = draw(st.permutations(lines)) if draw(st.booleans()) else lines
    if draw(st.integers(0, 3)) == 0:
        lines = [line for line in lines if draw(st.booleans())]  # missing headers
    head = "\r\n".join(lines)
    try:
        return head.encode("utf-8", "surrogateescape") + b"\r\n"  # '\udcff' stands for a raw 8-bit byte
    except UnicodeEncodeError:
        return head.encode("utf-8", "surrogatepass") + b"\r\n"


@st.composite
def mails(draw: st.DrawFn) -> bytes:
    raw = draw(top_headers()) + draw(body_tree())
    newline = draw(st.sampled_from([b"\r\n", b"\r\n", b"\n", b"\r"]))
    if newline != b"\r\n":
        raw = raw.replace(b"\r\n", newline)
    if draw(st.integers(0, 4)) == 0:
        raw = raw[: max(0, len(raw) - draw(st.integers(1, 400)))]  # the end cut off in transit
    if draw(st.integers(0, 5)) == 0:  # bytes damaged anywhere, headers included
        raw = _mutate(raw, random.Random(draw(st.integers(0, 2**32))), draw(st.integers(1, 10)))
    return raw


# --------------------------------------------------------------------------- an app without a mailbox


@contextlib.contextmanager
def fuzz_app(**env_extra: str) -> Iterator[App]:
    with tempfile.TemporaryDirectory(prefix="madoguchi-fuzz-") as tmp:
        env = {
            "MADOGUCHI_MAILBOX_URL": f"maildir:{tmp}/mail",
            "MADOGUCHI_OUTBOX_URL": f"dir:{tmp}/outbox",
            "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp}/m.db",
            "MADOGUCHI_DATA_DIR": f"{tmp}/data",
            "MADOGUCHI_WINDOW_ADDRESS": WINDOW,
            "MADOGUCHI_STAFF_ADDRESSES": "staff@example.jp",
            "MADOGUCHI_NOW": "2025-06-02T10:00:00+09:00",
            **env_extra,
        }
        app = build_app(load_settings(environ=env), actor="fuzz")
        app.ocr = FastOcr()
        app.read_limits = ReadLimits(max_pages=3, timeout_seconds=20.0)
        try:
            yield app
        finally:
            app.close()


class Ledger:
    """Feeds messages to one app and checks the no-loss guarantee after each."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.fed: set[bytes] = set()
        self.offset = 0  # rows expected beyond one per distinct message (bench/fuzz.py resyncs after a loss)
        self.crashes: list[str] = []  # quarantines caused by an exception in our code

    def rows(self) -> int:
        with self.app.session() as s:
            return s.query(InboundMessage).count()

    def feed(self, raw: bytes) -> Result:
        key = f"fuzz-{len(self.fed)}"
        result = handle(self.app, Incoming(key=key, raw=raw), mark_mailbox=False)  # must not raise
        assert result.outcome in OUTCOMES
        self.fed.add(raw)
        assert self.rows() == len(self.fed) + self.offset, "a message was lost or counted twice"
        if result.outcome == "quarantined":
            with self.app.session() as s:
                row = s.query(InboundMessage).filter_by(sha256=result.sha256).one()
                if row.step != "size":
                    self.crashes.append(f"{row.step}: {row.reason}")
        return result


# --------------------------------------------------------------------------- the properties


@fuzz(300)
@given(mails())
def test_any_mime_tree_parses_without_raising(raw: bytes) -> None:
    msg = parse_message(raw)
    assert isinstance(msg, ParsedMessage)
    for att in msg.attachments:
        assert isinstance(att.data, bytes)
    assert "\r" not in msg.subject and "\n" not in msg.subject
    assert not any(c in msg.from_addr for c in "\r\n\x00 ")


def test_every_mime_tree_ends_as_one_ledger_row() -> None:
    with fuzz_app() as app:
        ledger = Ledger(app)

        @fuzz(60)
        @given(mails())
        def feed(raw: bytes) -> None:
            ledger.feed(raw)

        feed()
        # the bot goes on: a normal request right after the fuzzing is handled normally
        after = ledger.feed(factory.mail(sender="山田 太郎 <taro@example.com>", subject="開示請求",
                                         body="開示を請求します。"))
        assert after.outcome == "request"
        assert ledger.crashes == []


def test_the_same_bytes_twice_stay_one_row() -> None:
    with fuzz_app() as app:
        ledger = Ledger(app)

        @fuzz(15)
        @given(mails())
        def twice(raw: bytes) -> None:
            first = ledger.feed(raw)
            again = ledger.feed(raw)
            assert again.outcome == "duplicate" and again.sha256 == first.sha256

        twice()


def _mutate(data: bytes, rng: random.Random, edits: int) -> bytes:
    out = bytearray(data)
    for _ in range(edits):
        how = rng.randrange(4)
        at = rng.randrange(len(out)) if out else 0
        if how == 0 and out:
            out[at] = rng.randrange(256)
        elif how == 1:
            del out[at:at + rng.randrange(1, 64)]
        elif how == 2:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        else:
            out = out[: at or 1]
    return bytes(out)


@fuzz(40)
@given(kind=st.sampled_from(["pdf", "form", "jpeg", "png", "zip"]), seed=st.integers(0, 2**32),
       edits=st.integers(1, 12), ctype=st.sampled_from(["application/pdf", "image/jpeg", "application/zip", ""]),
       name=st.sampled_from(["x.pdf", "x.jpg", "x.zip", "x", "=?utf-8?B?5L2P5rCR56Wo?=.pdf"]))
def test_mutated_real_files_are_read_or_flagged_unreadable(kind: str, seed: int, edits: int, ctype: str,
                                                           name: str) -> None:
    data = _mutate(samples()[kind], random.Random(seed), edits)
    reading = read_attachment(Attachment(filename=name, content_type=ctype, data=data), ocr=FastOcr(),
                              limits=ReadLimits(max_pages=3, timeout_seconds=20.0))
    assert isinstance(reading, AttachmentReading)
    if reading.unreadable_reason:  # archives too: never opened, one unreadable document
        assert [d.unreadable for d in reading.documents] == [True]


@fuzz(60)
@given(data=st.binary(max_size=3000),
       ctype=st.sampled_from(["application/pdf", "image/jpeg", "image/png", "image/heic", "text/html",
                              "application/vnd.openxmlformats-officedocument.wordprocessingml.document"]),
       name=st.sampled_from(["a.pdf", "a.jpg", "a.heic", "a.docx", "a.html", "a.txt"]))
def test_random_bytes_under_any_label_never_raise(data: bytes, ctype: str, name: str) -> None:
    reading = read_attachment(Attachment(filename=name, content_type=ctype, data=data), ocr=FastOcr(),
                              limits=ReadLimits(max_pages=3, timeout_seconds=20.0))
    assert isinstance(reading, AttachmentReading)
    if ctype == "application/pdf" and not data.startswith((b"\xff\xd8", b"\x89PNG")):
        # random bytes called a PDF are not a document: flagged, or at least not evidence
        assert reading.unreadable_reason or all(d.kind == "unknown" for d in reading.documents)


# --------------------------------------------------------------------------- the text readers

WORDS = st.sampled_from([
    "開示", "請求", "します", "利用停止", "訂正", "第三者提供記録", "住民票", "運転免許証", "個人番号", "氏名", "住所",
    "生年月日", "令和", "平成", "昭和", "元年", "年", "月", "日", "13", "32", "0", "99", "２", "〇", "十二", "生",
    "まで有効", "交付", "番号", "第", "号", "保険者番号", "記号", "被保険者", "請求者", "代理人", "法定代理人",
    "委任状", "■", "□", "☑", "✓", "レ", "(", "）", "：", ":", "\n", " ", "　", "-", "‐", "1980", "2025/13/45",
    "R7.2.30", "H31.5.1", "S64.1.8", "123456789012", "1234 5678 9012", "様", "Dear", "request", "disclose",
    "@", "taro@example.com", "090-1234-5678", "〒100-0001", "\x00", "\u200b", "\ufeff", "𠮷", "髙",
])


@fuzz(150)
@given(words=st.lists(WORDS, max_size=60), subject=st.lists(WORDS, max_size=8), name=st.none() | st.text(max_size=12))
def test_text_readers_never_raise_on_their_own_vocabulary(words: list[str], subject: list[str],
                                                          name: str | None) -> None:
    from parsers.body import facts_from_body, written_language
    from parsers.documents import find_issue_date, find_names, read_text
    from parsers.japanese import find_dates, find_my_numbers, mask_my_numbers
    from parsers.request_form import checked_request_types, facts_from_fields, facts_from_text

    text = "".join(words)
    facts_from_body(text, "".join(subject))
    written_language(text, "".join(subject))
    read_text(text, name)
    find_names(text, "resident_record")
    find_issue_date(text, "drivers_license")
    find_dates(text)
    assert len(mask_my_numbers(text)) == len(text)
    find_my_numbers(text)
    facts_from_text(text)
    facts_from_text(text, marks_legible=False)
    checked_request_types(text)
    facts_from_fields({"requester_name": text, "type_disclose": "/Yes", "requester_email": name})


# --------------------------------------------------------------------------- a failure at any step


STEPS = ["_parse", "robot_reasons", "_read_attachments", "_request_facts", "_thread_case", "_open_case",
         "_add_documents", "_decide", "queue_reply", "holder_of"]


def test_a_failure_at_any_step_is_quarantined_whole_and_the_next_message_goes_on() -> None:
    import bot.pipeline as pipeline
    from bot.db import Case, OutboundMessage

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("injected")

    with fuzz_app() as app:
        ledger = Ledger(app)
        for n, step in enumerate(STEPS):
            real = getattr(pipeline, step)
            setattr(pipeline, step, broken)
            try:
                raw = factory.mail(sender=f"p{n}@example.com", subject="開示請求", body="開示を請求します。",
                                   attachments=(("r.pdf", "application/pdf", samples()["pdf"]),))
                assert ledger.feed(raw).outcome == "quarantined", step
            finally:
                setattr(pipeline, step, real)
            with app.session() as s:  # nothing half-done is left behind
                assert s.query(Case).count() == 0 and s.query(OutboundMessage).count() == 0, step
        ledger.crashes.clear()
        with app.session() as s:
            steps = sorted({row.step or "" for row in s.query(InboundMessage)})
        assert steps == ["parse", "sort"]
        # and the bot goes on
        assert ledger.feed(factory.mail(sender="next@example.com", subject="開示請求",
                                        body="開示を請求します。")).outcome == "request"
