"""Replies: Jinja2 templates per language, turned into complete RFC 5322 messages.

Templates carry the subject on their first line (`件名: …`) so that a translation changes
one file, not code. StrictUndefined makes a template that names a missing value fail in
tests instead of sending a requester a blank.
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
)

WEEKDAYS_JA = "月火水木金土日"
SUBJECT_PREFIXES = ("件名:", "Subject:")


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    content_type: str
    data: bytes


def _yen(amount: int) -> str:
    return f"{amount:,}円"


def _jdate(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS_JA[day.weekday()]}）"


@functools.lru_cache(maxsize=32)
def _environment(lang: str, overrides: Path | None = None) -> Environment:
    """One environment per language, so templates include their siblings by plain name.

    A window's own templates folder (MADOGUCHI_TEMPLATES_DIR) comes first: a file there
    replaces the packaged one of the same name (its letterhead, its footer), and every
    template it does not have is the packaged one.
    """
    packaged = PackageLoader("replies", f"templates/{lang}")
    loader: BaseLoader = packaged if overrides is None else ChoiceLoader(
        [FileSystemLoader(str(overrides / lang)), packaged])
    env = Environment(
        loader=loader,
        auto_reload=overrides is not None,  # a window's own templates may be edited while it runs; ours may not
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    env.filters["yen"] = _yen
    env.filters["jdate"] = _jdate
    return env



def template_problems(overrides: Path) -> list[str]:
    """What is wrong in a window's templates folder: a file that does not compile, or one
    that replaces no packaged template (a misspelt name would silently change nothing).

    Checked at start (and by `madoguchi health`), so that a broken footer stops the start
    with its line number instead of sending every mail of the day to quarantine.
    """
    found: list[str] = []
    packaged_root = Path(__file__).resolve().parent / "templates"
    for lang_dir in sorted(p for p in overrides.iterdir() if p.is_dir()):
        packaged = packaged_root / lang_dir.name
        if not packaged.is_dir():
            found.append(f"{lang_dir.name}/: no such language among the packaged templates "
                         f"({', '.join(sorted(d.name for d in packaged_root.iterdir() if d.is_dir()))})")
            continue
        for path in sorted(lang_dir.glob("*.j2")):
            name = f"{lang_dir.name}/{path.name}"
            if not (packaged / path.name).exists():
                found.append(f"{name}: replaces no packaged template (see replies/templates/{lang_dir.name}/)")
                continue
            try:
                _environment(lang_dir.name, overrides).get_template(path.name)
            except TemplateSyntaxError as exc:
                found.append(f"{name} line {exc.lineno}: {exc.message}")
    return found


def render(kind: str, context: dict[str, Any], lang: str = "ja", templates: Path | None = None) -> tuple[str, str]:
    """Render one reply kind to (subject, body)."""
    try:
        template = _environment(lang, templates).get_template(f"{kind}.txt.j2")
    except TemplateNotFound:
        if lang == "ja":
            raise
        # Japanese is complete; others may lag
        template = _environment("ja", templates).get_template(f"{kind}.txt.j2")
    text = template.render(**context)
    first, _, rest = text.partition("\n")
    for prefix in SUBJECT_PREFIXES:
        if first.startswith(prefix):
            subject = first.removeprefix(prefix).strip()
            break
    else:
        raise ValueError(f"template {lang}/{kind} lacks a subject line")
    return _clean_subject(subject), _tidy(rest)


def render_text(name: str, context: dict[str, Any], lang: str = "ja") -> str:
    """Render a template that is not a mail (the digest)."""
    return _environment(lang).get_template(name).render(**context)


def _clean_subject(subject: str) -> str:
    """A subject is one line: anything that could start a new header is removed."""
    return " ".join(subject.replace("\r", " ").replace("\n", " ").split())


def _tidy(body: str) -> str:
    lines = [line.rstrip() for line in body.strip("\n").splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue  # templates with optional blocks leave double blank lines
        out.append(line)
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Envelope:
    sender: str
    sender_name: str
    to: str
    message_id: str
    date: dt.datetime
    in_reply_to: str | None
    references: tuple[str, ...]
    auto_submitted: str = "auto-replied"


def build_message(env: Envelope, subject: str, body: str,
                  attachments: tuple[OutgoingAttachment, ...] = (), html: str | None = None,
                  part_ref: Callable[[bytes], bytes] | None = None) -> bytes:
    """A complete message with the headers the contract requires of every reply.

    A reply (a text part, perhaps attachments such as the blank request form) is written
    directly: building an `EmailMessage` parses and refolds each of its headers, which made
    the reply cost more than the case it answers. Headers that need folding or encoding (a
    Japanese subject, an unusual address) still go through the stdlib, one at a time, and an
    attachment's part is the stdlib's, generated once and cached; every byte is the one
    `EmailMessage.as_bytes()` would have written, but the random boundary (tests/test_render.py).

    `part_ref` gives, for an attachment's whole MIME part, what to write in its place: a
    reference to the part stored once (`bot.reply_parts`), so that a thousand replies with
    the same blank form do not each carry its 220 KB.
    """
    if html is not None:
        if attachments:
            raise ValueError("an HTML message goes without attachments (the staff digest)")
        return _build_with_stdlib(env, subject, body, html)
    # In the stdlib's order: every header is set (a line break is refused here), then the
    # parts are encoded, then the headers are folded.
    stored = [_store(name, value) for name, value in _reply_headers(env, subject)]
    text = _base64_text(body)
    parts = [attachment_part(att) for att in attachments]
    head = [_from_header(env.sender_name, env.sender)]
    head += [line if isinstance(line, bytes) else SMTP.fold_binary(*line) for line in stored]
    if not parts:
        return b"".join(head) + _TEXT_PART_HEADERS + b"MIME-Version: 1.0\r\n\r\n" + text
    return _multipart_mixed(head, [_TEXT_PART_HEADERS + b"\r\n" + text, *parts], part_ref)


def _multipart_mixed(head: list[bytes], texts: list[bytes],
                     part_ref: Callable[[bytes], bytes] | None = None) -> bytes:
    """The message `add_attachment()` makes of a text message, as the generator writes it
    (joined once: the attachment makes it large enough that every copy counts)."""
    boundary = _boundary(texts)
    dash = b"--" + boundary.encode("ascii")
    head.append(b"MIME-Version: 1.0\r\n")
    head.append(SMTP.fold_binary("Content-Type", f'multipart/mixed; boundary="{boundary}"'))
    head.append(b"\r\n")
    if part_ref is not None:
        texts = texts[:1] + [part_ref(part) for part in texts[1:]]
    for n, text in enumerate(texts):
        head += [b"\r\n" if n else b"", dash, b"\r\n", text]
    head += [b"\r\n", dash, b"--\r\n"]
    return b"".join(head)


_TOKEN_WIDTH = len(repr(sys.maxsize - 1))


def _boundary(texts: list[bytes]) -> str:
    """A random boundary of the generator's form that occurs in none of the parts.

    The generator looks for it with a regular expression over all the parts joined (a
    millisecond for the blank form's 160 KB); a boundary that is not in any part at all is
    one it would accept. The text part (`texts[0]`) is searched for it; an attachment's part,
    the same at every reply, is searched once for what every such boundary starts with.
    Only when either is found is the generator asked.
    """
    boundary = f"{'=' * 15}{random.randrange(sys.maxsize):0{_TOKEN_WIDTH}d}=="
    dash = b"--" + boundary.encode("ascii")
    if dash not in texts[0] and not any(map(_may_hold_a_boundary, texts[1:])):
        return boundary
    return str(BytesGenerator._make_boundary(b"\r\n".join(texts)))  # type: ignore[attr-defined]


_BOUNDARY_START = b"--" + b"=" * 15


@functools.lru_cache(maxsize=8)
def _may_hold_a_boundary(part: bytes) -> bool:
    """Whether an attachment's part holds the start every generated boundary has; asked once
    per part (the same blank form goes with every acknowledgement), not at every reply."""
    return _BOUNDARY_START in part


@functools.lru_cache(maxsize=8)
def attachment_part(att: OutgoingAttachment) -> bytes:
    """An attached file's whole MIME part (headers and base64 body), as `add_attachment()`
    makes it and the generator writes it; the same blank form goes with many replies."""
    maintype, _, subtype = att.content_type.partition("/")
    part = EmailMessage(policy=SMTP)
    part.set_content(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
    if "content-disposition" not in part:
        part["Content-Disposition"] = "attachment"
    return part.as_bytes()


def _reply_headers(env: Envelope, subject: str) -> list[tuple[str, str]]:
    """The reply's headers after From, in the order they are written."""
    headers = [("To", env.to), ("Subject", subject), ("Date", format_datetime(env.date)),
               ("Message-ID", env.message_id)]
    if env.in_reply_to:
        headers.append(("In-Reply-To", env.in_reply_to))
    if env.references:
        headers.append(("References", " ".join(env.references)))
    headers += [("Auto-Submitted", env.auto_submitted), ("X-Auto-Response-Suppress", "All"),
                ("Precedence", "auto_reply")]
    return headers


# What `set_content(text, charset="utf-8", cte="base64")` adds, in its order (then MIME-Version).
_TEXT_PART_HEADERS = b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n'
_UNSTRUCTURED = frozenset({"Subject", "In-Reply-To", "References", "Auto-Submitted", "X-Auto-Response-Suppress",
                           "Precedence"})
# Values the stdlib writes back unchanged on one line (if short, and with no encoded-word
# marker "=?" anywhere): plain ASCII words between single spaces; a dot-atom address; a
# <dot-atom@dot-atom> Message-ID; an RFC 5322 date.
_PLAIN_TEXT = re.compile(r"[!-~]+(?: [!-~]+)*")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_MAX_LINE = 78  # SMTP.max_line_length
_PLAIN = {
    "To": re.compile(rf"{_ATOM}@{_DOMAIN}"),
    "Message-ID": re.compile(rf"<{_ATOM}@{_DOMAIN}>"),
    "Date": re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
                       r" \d{4} \d\d:\d\d:\d\d (?:\+\d{4}|-(?!0000)\d{4})"),
}


def _store(name: str, value: str) -> bytes | tuple[str, Any]:
    """A header's line as the generator will write it, where that is known without parsing.

    A short value the stdlib would leave as it is is written as it is (the line, with its
    CRLF); a Japanese subject is encoded here (`_encoded_subject`); anything else is parsed
    by the stdlib (which refuses a value with a line break) and folded by it later (the name
    and the parsed header).
    """
    plain = _PLAIN_TEXT if name in _UNSTRUCTURED else _PLAIN.get(name)
    if (plain is not None and len(name) + 2 + len(value) <= _MAX_LINE and "=?" not in value
            and plain.fullmatch(value)):
        return f"{name}: {value}\r\n".encode("ascii")
    if name == "Subject":
        encoded = _encoded_subject(value)
        if encoded is not None:
            return encoded
    return SMTP.header_store_parse(name, value)


_EW_BYTES = 36  # UTF-8 bytes per encoded word: "=?utf-8?b?" + 48 base64 characters + "?=" is 60 wide
_LITERAL_WORD = re.compile(r"[!-~]{1,60}")  # printable ASCII, short enough for a folded line of its own


def _encoded_subject(subject: str) -> bytes | None:
    """The Subject line (with its CRLF) of a subject with non-ASCII text, RFC 2047 encoded.

    The stdlib's folder tries both encodings at every character to pick the shorter (half a
    millisecond a reply, for a subject that is always UTF-8 Japanese). Here each run of
    words with non-ASCII text becomes base64 encoded words of whole characters, ASCII words
    between them stay as they are, and lines are folded at 78 characters: what the stdlib
    decodes back to the same subject (tests/test_render.py), though not its very bytes.
    None (the stdlib's way) for a subject this does not cover: ASCII only, or one with
    control characters, runs of spaces, "=?" or a word too long to fold.
    """
    words = subject.split(" ")
    if subject.isascii() or "=?" in subject or "" in words or not subject.isprintable():
        return None
    items: list[str] = []  # the space between two encoded words is not read: a run's spaces go inside
    run: list[str] = []
    for word in [*words, None]:
        if word is not None and not word.isascii():
            run.append(word)
            continue
        if run:
            items += _encoded_words(" ".join(run))
            run = []
        if word is not None:
            if not _LITERAL_WORD.fullmatch(word):
                return None
            items.append(word)
    lines = ["Subject:"]
    for n, item in enumerate(items):
        if n and len(lines[-1]) + 1 + len(item) > _MAX_LINE:
            lines.append("")
        lines[-1] += " " + item
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _encoded_words(text: str) -> list[str]:
    """`text` as base64 UTF-8 encoded words of at most _EW_BYTES bytes, split between characters."""
    chunks: list[bytes] = []
    piece = b""
    for char in text:
        data = char.encode("utf-8")
        if len(piece) + len(data) > _EW_BYTES:
            chunks.append(piece)
            piece = b""
        piece += data
    chunks.append(piece)
    return [f"=?utf-8?b?{binascii.b2a_base64(c, newline=False).decode('ascii')}?=" for c in chunks]


def _base64_text(body: str) -> bytes:
    """The text part's body as `set_content(..., charset="utf-8", cte="base64")` writes it:
    lines ended by CRLF, then base64 in lines of 76 characters."""
    data = b"\r\n".join(body.encode("utf-8").splitlines()) + b"\r\n"
    step = _MAX_LINE // 4 * 3
    lines = [binascii.b2a_base64(data[i:i + step], newline=False) for i in range(0, len(data), step)]
    return b"".join(line + b"\r\n" for line in lines)


def _build_with_stdlib(env: Envelope, subject: str, body: str, html: str) -> bytes:
    """With an HTML part (the staff digest, once a day and never with attachments), the
    stdlib builds the whole message: its speed does not matter there."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _display(env.sender_name, env.sender)
    for name, value in _reply_headers(env, subject):
        msg[name] = value
    msg.set_content(body, charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")  # the HTML as the preferred part
    return msg.as_bytes()


@functools.lru_cache(maxsize=8)
def _from_header(name: str, addr: str) -> bytes:
    """The folded `From:` line with its CRLF, as the generator writes it."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _display(name, addr)
    return msg.as_bytes()[:-2]  # without the blank line that ends the header


def _display(name: str, addr: str) -> str:
    from email.headerregistry import Address

    local, _, domain = addr.partition("@")
    return str(Address(display_name=name, username=local, domain=domain))
