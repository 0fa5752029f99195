"""Replies: Jinja2 templates per language, turned into complete RFC 5322 messages.

Templates carry the subject on their first line (`件名: …`) so that a translation changes
one file, not code. StrictUndefined makes a template that names a missing value fail in
tests instead of sending a requester a blank.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
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
                  attachments: tuple[OutgoingAttachment, ...] = (), html: str | None = None) -> bytes:
    """A complete message with the headers the contract requires of every reply.

    Two parts never change between replies: the From header (the company's name, folded into
    RFC 2047 words by a slow, quadratic stdlib routine) and an attachment such as the blank
    request form (117 KB to base64-encode). Both are generated once, cached, and spliced in
    for placeholders; the bytes are exactly those the stdlib would have written.
    """
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _FROM_PLACEHOLDER
    msg["To"] = env.to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(env.date)
    msg["Message-ID"] = env.message_id
    if env.in_reply_to:
        msg["In-Reply-To"] = env.in_reply_to
    if env.references:
        msg["References"] = " ".join(env.references)
    msg["Auto-Submitted"] = env.auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"
    msg["Precedence"] = "auto_reply"
    msg.set_content(body, charset="utf-8", cte="base64")
    if html is not None:  # multipart/alternative: the text first, the HTML as the preferred part
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    for n, att in enumerate(attachments):
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(_placeholder_data(n), maintype=maintype, subtype=subtype, filename=att.filename)
    raw = msg.as_bytes()
    raw = _splice(raw, b"From: " + _FROM_PLACEHOLDER.encode() + b"\r\n", _from_header(env.sender_name, env.sender))
    for n, att in enumerate(attachments):
        raw = _splice(raw, _encoded_body(_placeholder_data(n), att.content_type),
                      _encoded_body(att.data, att.content_type))
    return raw


_FROM_PLACEHOLDER = "from-placeholder@madoguchi.invalid"


def _placeholder_data(n: int) -> bytes:
    return f"\x00madoguchi attachment placeholder {n}\x00".encode()


def _splice(raw: bytes, placeholder: bytes, real: bytes) -> bytes:
    head, found, tail = raw.partition(placeholder)
    if not found:
        raise AssertionError("a reply placeholder went missing while the message was generated")
    return head + real + tail


@functools.lru_cache(maxsize=8)
def _from_header(name: str, addr: str) -> bytes:
    """The folded `From:` line with its CRLF, as the generator writes it."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _display(name, addr)
    return msg.as_bytes()[:-2]  # without the blank line that ends the header


@functools.lru_cache(maxsize=8)
def _encoded_body(data: bytes, content_type: str) -> bytes:
    """An attachment's base64 body, as the generator writes it inside a message."""
    maintype, _, subtype = content_type.partition("/")
    part = EmailMessage(policy=SMTP)
    part.set_content(data, maintype=maintype, subtype=subtype)
    return part.as_bytes().split(b"\r\n\r\n", 1)[1]


def _display(name: str, addr: str) -> str:
    from email.headerregistry import Address

    local, _, domain = addr.partition("@")
    return str(Address(display_name=name, username=local, domain=domain))
