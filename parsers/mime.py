"""Bytes of one mail -> ParsedMessage, for any bytes at all.

The stdlib parser (compat32 policy) only splits the MIME tree; everything that reads a
value — header decoding, addresses, parameters and filenames, transfer encodings,
charsets — is done here from the raw bytes, because that is where the stdlib raises
(Group addresses, CR/LF in encoded words, unknown charsets, broken multiparts) or loses
Japanese text (see `parsers.charsets`). Every step is guarded so that one bad header or
part costs that value, not the message, and the walk is bounded so hostile input stays
cheap. Nothing here logs message contents.
"""

from __future__ import annotations

import binascii
import dataclasses
import datetime as dt
import email
import email.policy
import email.utils
import html
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message

from bot.models import Attachment, ParsedMessage
from parsers.charsets import decode_bytes, decode_header_value

__all__ = ["parse_message", "html_to_text", "parse_params", "MAX_PARTS", "MAX_DEPTH"]

MAX_PARTS = 500  # MIME parts visited per message
MAX_DEPTH = 20  # multipart / message nesting
MAX_TEXT_CHARS = 1_000_000  # of body text kept
MAX_TEXT_PART_BYTES = 4_000_000  # of one text part decoded
MAX_HEADERS = 1000  # top-level headers kept
MAX_HEADER_CHARS = 65_536  # of one header value decoded
MAX_DEFECTS = 50

_AU_DOMAINS = ("ezweb.ne.jp", "au.com")
_CTYPE_RE = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+/[a-z0-9!#$%&'*+.^_`|~-]+$")
_BODY_TYPES = frozenset({"text/plain", "text/html"})
_FORWARD_TYPES = frozenset({"message/rfc822", "message/global", "message/news"})
_ENCODED_CTES = frozenset({b"base64", b"quoted-printable", b"quotedprintable", b"qp"})
_FORWARD_RULE = "---------- Forwarded message ----------"


# --------------------------------------------------------------------------- raw headers


def _raw_items(part: Message) -> list[tuple[str, bytes]]:
    """The part's headers as (lower-case name, raw value bytes), without stdlib decoding.

    When parsing bytes, compat32 keeps header values as ASCII str with 8-bit bytes as
    surrogate escapes; encoding back gives the exact bytes the sender wrote.
    """
    try:
        items = part.raw_items()
        return [(str(name).strip().lower(), _to_bytes(value)) for name, value in list(items)[:MAX_HEADERS]]
    except Exception:  # noqa: BLE001
        return []


def _to_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogateescape")


def _raw_header(items: list[tuple[str, bytes]], name: str) -> bytes | None:
    for key, value in items:
        if key == name:
            return value
    return None


def _unfold(value: bytes) -> bytes:
    return re.sub(rb"\r\n|\r|\n", b"", value)


# --------------------------------------------------------------------------- parameters


def parse_params(value: bytes) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a Content-Type / Content-Disposition value into its main value and params.

    Hand-written because real headers have unbalanced quotes, duplicate parameters, raw
    8-bit names and encoded words inside quotes; the result keeps raw bytes so the
    caller decides the charset. Parameter names are lower-cased; quotes removed.
    """
    text = _unfold(value).decode("latin-1")
    pieces = _split_semicolons(text)
    main = pieces[0].strip().lower() if pieces else ""
    params: list[tuple[str, bytes]] = []
    for piece in pieces[1:]:
        name, sep, raw = piece.partition("=")
        if not sep or not name.strip():
            continue
        params.append((name.strip().lower(), _unquote(raw.strip()).encode("latin-1")))
    return main, params


def _split_semicolons(text: str) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            pieces.append("".join(current))
            current = []
            continue
        current.append(ch)
    pieces.append("".join(current))
    return pieces


def _unquote(raw: str) -> str:
    if raw.startswith('"'):
        end = raw.rfind('"')
        inner = raw[1:end] if end > 0 else raw[1:]
        return re.sub(r"\\(.)", r"\1", inner)
    return raw.strip("'")


def _param(params: list[tuple[str, bytes]], key: str, au_emoji: bool = False) -> str | None:
    """A parameter's decoded value: RFC 2231 (with continuations) first, else plain.

    Plain values may hold RFC 2047 words inside the quotes (many Japanese mailers) or raw
    8-bit Shift_JIS / UTF-8; `decode_header_value` handles all of those.
    """
    extended = _rfc2231(params, key, au_emoji)
    if extended is not None:
        return extended
    for name, raw in params:
        if name == key:
            return decode_header_value(raw, au_emoji=au_emoji)
    return None


_SECTION_RE = re.compile(r"^(?P<key>[^*]+)\*(?:(?P<index>\d+)(?P<star>\*)?)?$")


def _rfc2231(params: list[tuple[str, bytes]], key: str, au_emoji: bool) -> str | None:
    sections: dict[int, tuple[bool, bytes]] = {}
    for name, raw in params:
        match = _SECTION_RE.match(name)
        if not match or match.group("key") != key:
            continue
        index = int(match.group("index") or 0) if len(match.group("index") or "") < 4 else 999
        encoded = match.group("index") is None or match.group("star") is not None
        sections.setdefault(index, (encoded, raw))
    if not sections:
        return None
    charset: str | None = None
    data = bytearray()
    for position, index in enumerate(sorted(sections)):
        encoded, raw = sections[index]
        if encoded and position == 0 and raw.count(b"'") >= 2:
            label, _lang, raw = raw.split(b"'", 2)
            charset = label.decode("ascii", "replace") or None
        data += urllib.parse.unquote_to_bytes(raw) if encoded else raw
    return decode_bytes(bytes(data), charset, au_emoji=au_emoji)


# --------------------------------------------------------------------------- payloads


def _payload_bytes(part: Message, items: list[tuple[str, bytes]]) -> bytes:
    """The part's body with its transfer encoding undone, leniently.

    Done here, not by `get_payload(decode=True)`, so that a CTE with junk after it
    ('base64; x'), bad padding or stray characters still decodes.
    """
    payload = _stored_payload(part)
    if not isinstance(payload, str):
        try:
            fallback = part.get_payload(decode=True)
        except Exception:  # noqa: BLE001
            return b""
        return fallback if isinstance(fallback, bytes) else b""
    return _undo_cte(_to_bytes(payload), _cte(items))


def _cte(items: list[tuple[str, bytes]]) -> bytes:
    raw = _raw_header(items, "content-transfer-encoding") or b""
    return re.split(rb"[\s;(]", _unfold(raw).strip().lower() + b" ", maxsplit=1)[0].strip(b"\"'")


def _undo_cte(raw: bytes, cte: bytes) -> bytes:
    try:
        if cte == b"base64":
            return _base64(raw)
        if cte in (b"quoted-printable", b"quotedprintable", b"qp"):
            return binascii.a2b_qp(raw)
        if cte in (b"x-uuencode", b"uuencode", b"x-uue", b"uue"):
            return _uudecode(raw)
    except (binascii.Error, ValueError):
        return raw
    return raw


def _base64(raw: bytes) -> bytes:
    """Base64 up to the first padding, junk characters dropped, padding repaired."""
    clean = re.sub(rb"[^A-Za-z0-9+/]", b"", raw.split(b"=", 1)[0])
    rest = len(clean) % 4
    if rest == 1:
        clean = clean[:-1]
    elif rest:
        clean += b"=" * (4 - rest)
    return binascii.a2b_base64(clean)


def _uudecode(raw: bytes) -> bytes:
    out = bytearray()
    for line in raw.splitlines():
        if line.startswith(b"begin ") or not line.strip():
            continue
        if line.strip() == b"end":
            break
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            continue
    return bytes(out)


# --------------------------------------------------------------------------- HTML

_TAG_NAME = re.compile(r"/?\s*([a-zA-Z][a-zA-Z0-9]*)")
_SKIP_CLOSE = {name: re.compile(rf"</\s*{name}\b[^>]*>", re.I) for name in ("script", "style", "title")}
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "pre", "hr", "dd", "dt", "dl", "section", "article", "header", "footer",
        "address", "center", "form", "fieldset", "legend", "caption", "tbody", "thead", "body",
    }
)  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})


def html_to_text(markup: str) -> str:
    """Plain text from HTML: scripts/styles dropped, blocks and <br> as line breaks.

    A single forward scan with `str.find` (no regex backtracking, no parser recursion), so
    unclosed comments or tags, and megabytes of nesting, stay linear.
    """
    out: list[str] = []
    pos, size = 0, len(markup)
    while pos < size:
        lt = markup.find("<", pos)
        if lt < 0:
            out.append(_html_text(markup[pos:]))
            break
        out.append(_html_text(markup[pos:lt]))
        pos = _html_tag(markup, lt, out)
    return _tidy_lines(html.unescape("".join(out)))


def _html_text(chunk: str) -> str:
    return re.sub(r"[ \t\r\n\f]+", " ", chunk)


def _html_tag(markup: str, lt: int, out: list[str]) -> int:
    """Handle the tag, comment or declaration starting at `lt`; return the next position."""
    if markup.startswith("<!--", lt):
        end = markup.find("-->", lt + 4)
        return len(markup) if end < 0 else end + 3
    gt = markup.find(">", lt + 1)
    if gt < 0:
        return len(markup)
    match = _TAG_NAME.match(markup, lt + 1, gt)
    if match is None:
        return gt + 1
    name = match.group(1).lower()
    closing = markup[lt + 1 : gt].lstrip().startswith("/")
    if name in _SKIP_CLOSE and not closing and not markup[lt:gt].endswith("/"):
        close = _SKIP_CLOSE[name].search(markup, gt + 1)
        if close is not None:  # unclosed: keep what follows rather than lose the body
            return close.end()
    if name == "br" or (name in _BLOCK_TAGS and not _ends_line(out)):
        out.append("\n")
    elif name in _CELL_TAGS and not closing:
        out.append("\t")
    return gt + 1


def _ends_line(out: list[str]) -> bool:
    """Whether the text so far ends a line: adjacent block tags make one break, not many."""
    for piece in reversed(out):
        if piece.strip(" \t"):
            return piece.rstrip(" \t").endswith("\n")
    return True


def _tidy_lines(text: str) -> str:
    text = text.replace("\xa0", " ").replace("\u200b", "")
    lines = [line.strip(" \t") for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)


def _html_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


# --------------------------------------------------------------------------- plain text


def _unflow(text: str, delsp: bool) -> str:
    """Join format=flowed soft line breaks (RFC 3676), so wrapped sentences read whole."""
    out: list[str] = []
    buffer = ""
    for line in text.split("\n"):
        if line.startswith(" "):
            line = line[1:]
        if line.endswith(" ") and line.rstrip() != "--":
            buffer += line[:-1] if delsp else line
            continue
        out.append(buffer + line)
        buffer = ""
    if buffer:
        out.append(buffer)
    return "\n".join(out)


# --------------------------------------------------------------------------- walk


@dataclass
class _Walk:
    """What the walk collects; `forwarded` slots are reserved in discovery order."""

    au_emoji: bool
    body: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    parts: int = 0
    text_chars: int = 0

    def defect(self, name: str) -> None:
        if name not in self.defects and len(self.defects) < MAX_DEFECTS:
            self.defects.append(name)


@dataclass(frozen=True)
class _PartInfo:
    items: list[tuple[str, bytes]]
    ctype: str
    params: list[tuple[str, bytes]]
    disposition: str
    disp_params: list[tuple[str, bytes]]


def _part_info(part: Message) -> _PartInfo:
    items = _raw_items(part)
    raw_ctype = _raw_header(items, "content-type")
    ctype, params = parse_params(raw_ctype) if raw_ctype is not None else ("", [])
    if not _CTYPE_RE.match(ctype):
        ctype = _stdlib_ctype(part) if raw_ctype is not None else "text/plain"
    raw_disp = _raw_header(items, "content-disposition")
    disposition, disp_params = parse_params(raw_disp) if raw_disp is not None else ("", [])
    return _PartInfo(items, ctype, params, disposition, disp_params)


def _stdlib_ctype(part: Message) -> str:
    """RFC 2045: an invalid Content-Type means text/plain; the parser may know better."""
    try:
        if part.is_multipart():
            return "multipart/mixed"
    except Exception:  # noqa: BLE001
        pass
    return "text/plain"


def _filename(info: _PartInfo, au_emoji: bool) -> str | None:
    """The attachment's name, decoded; path parts and control characters removed."""
    name = _param(info.disp_params, "filename", au_emoji) or _param(info.params, "name", au_emoji)
    if not name:
        return None
    name = re.sub(r"[\x00-\x1f\x7f]", "", name)
    name = re.split(r"[/\\]", name)[-1].strip()
    return name or None


def _visit(part: Message, depth: int, walk: _Walk, texts: list[str] | None) -> None:
    """Visit one part. `texts` is where body text goes, None inside an unchosen alternative."""
    if walk.parts >= MAX_PARTS:
        walk.defect("part_limit")
        return
    if depth > MAX_DEPTH:
        walk.defect("depth_limit")
        return
    walk.parts += 1
    _collect_defects(part, walk)
    info = _part_info(part)
    payload = _stored_payload(part)
    if isinstance(payload, list):
        _visit_container(payload, info, depth, walk, texts)
    elif info.ctype in _FORWARD_TYPES:
        _visit_embedded_bytes(_payload_bytes(part, info.items), depth, walk)
    else:
        _visit_leaf(part, info, walk, texts)


def _collect_defects(part: Message, walk: _Walk) -> None:
    try:
        for defect in list(part.defects)[:MAX_DEFECTS]:
            walk.defect(type(defect).__name__)
    except Exception:  # noqa: BLE001
        pass


def _visit_container(
    children: Sequence[object], info: _PartInfo, depth: int, walk: _Walk, texts: list[str] | None
) -> None:
    messages = [child for child in children if isinstance(child, Message)]
    if info.ctype in _FORWARD_TYPES and messages:
        cte = _cte(info.items)
        if cte in _ENCODED_CTES:  # illegal for message/*, but sent: the parser saw no headers
            _visit_embedded_bytes(_undo_cte(_message_bytes(messages[0]), cte), depth, walk)
        else:
            _visit_forwarded(messages[0], depth + 1, walk)
        return
    if info.ctype.startswith("message/"):  # delivery-status, disposition-notification …
        data = b"\n".join(_message_bytes(block) for block in messages)
        walk.attachments.append(Attachment(filename=_filename(info, walk.au_emoji), content_type=info.ctype, data=data))
        return
    if info.ctype == "multipart/alternative":
        _visit_alternatives(messages, depth, walk, texts)
        return
    for child in messages:
        _visit(child, depth + 1, walk, texts)


def _message_bytes(block: Message) -> bytes:
    """A parsed sub-part back to bytes; header lines only if the generator chokes."""
    try:
        return block.as_bytes()
    except Exception:  # noqa: BLE001
        return b"".join(name.encode() + b": " + value + b"\n" for name, value in _raw_items(block))


def _visit_alternatives(children: list[Message], depth: int, walk: _Walk, texts: list[str] | None) -> None:
    """multipart/alternative: one rendition's text, but every rendition's files.

    Plain text is preferred to HTML; an empty rendition gives way to the next best. All
    branches are walked because Apple Mail puts attachments inside the HTML branch.
    """
    renditions: list[list[str]] = []
    for child in children:
        rendition: list[str] = []
        _visit(child, depth + 1, walk, rendition if texts is not None else None)
        renditions.append(rendition)
    if texts is None:
        return
    ranked = sorted(range(len(children)), key=lambda i: -_alternative_score(children[i], 0))
    for index in ranked:
        if any(chunk.strip() for chunk in renditions[index]):
            texts.extend(renditions[index])
            return


def _stored_payload(part: Message) -> object:
    """The parsed payload as stored: a list of sub-parts, or the undecoded body as str.

    Read directly because compat32's `get_payload()` decodes 8-bit bodies with the
    labelled charset, replacing what it cannot, which is exactly what must not happen.
    """
    return getattr(part, "_payload", None)


def _alternative_score(part: Message, depth: int) -> int:
    if depth > 3:
        return 0
    info = _part_info(part)
    payload = _stored_payload(part)
    if isinstance(payload, list):
        scores = [_alternative_score(c, depth + 1) for c in payload[:20] if isinstance(c, Message)]
        return max(scores, default=0)
    if info.disposition == "attachment":
        return 0
    return {"text/plain": 3, "text/html": 2}.get(info.ctype, 0)


def _visit_leaf(part: Message, info: _PartInfo, walk: _Walk, texts: list[str] | None) -> None:
    data = _payload_bytes(part, info.items)
    filename = _filename(info, walk.au_emoji)
    ctype = info.ctype if not info.ctype.startswith("multipart/") else "text/plain"
    is_text = ctype in _BODY_TYPES and info.disposition != "attachment" and filename is None
    if is_text and not info.items:
        sniffed = _sniff_file_type(data)
        if sniffed is not None:  # not mail at all (a PDF, an Outlook .msg): keep the bytes
            is_text, ctype = False, sniffed
    if not is_text:
        walk.attachments.append(Attachment(filename=filename, content_type=ctype, data=data))
        return
    if texts is None:
        return  # the alternative that was not chosen
    text = _leaf_text(data, ctype, info, walk)
    if text.strip():
        texts.append(text)


_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/vnd.ms-outlook"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"\x78\x9f\x3e\x22", "application/ms-tnef"),
)


def _sniff_file_type(data: bytes) -> str | None:
    """The type of a headerless input that is a file rather than a mail, else None."""
    for magic, ctype in _MAGIC:
        if data.startswith(magic):
            return ctype
    return "application/octet-stream" if b"\x00" in data[:8192] else None


def _leaf_text(data: bytes, ctype: str, info: _PartInfo, walk: _Walk) -> str:
    if len(data) > MAX_TEXT_PART_BYTES:
        data = data[:MAX_TEXT_PART_BYTES]
        walk.defect("text_truncated")
    charset = _param(info.params, "charset")
    if ctype == "text/html":
        text = html_to_text(decode_bytes(data, charset or _html_charset(data), au_emoji=walk.au_emoji))
    else:
        text = decode_bytes(data, charset, au_emoji=walk.au_emoji).replace("\r\n", "\n").replace("\r", "\n")
        if (_param(info.params, "format") or "").lower() == "flowed":
            text = _unflow(text, (_param(info.params, "delsp") or "").lower() == "yes")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    room = MAX_TEXT_CHARS - walk.text_chars
    if len(text) > room:
        text = text[: max(room, 0)]
        walk.defect("text_truncated")
    walk.text_chars += len(text)
    return text


def _visit_forwarded(inner: Message, depth: int, walk: _Walk) -> None:
    """A message/rfc822 part: its text goes after the main body, its files with the rest."""
    if depth > MAX_DEPTH:
        walk.defect("depth_limit")
        return
    slot = len(walk.forwarded)
    walk.forwarded.append("")
    texts: list[str] = []
    _visit(inner, depth, walk, texts)
    walk.forwarded[slot] = _forward_summary(inner, walk.au_emoji) + "\n".join(texts)


def _forward_summary(inner: Message, au_emoji: bool) -> str:
    items = _raw_items(inner)
    lines = [_FORWARD_RULE]
    for name in ("from", "date", "subject"):
        raw = _raw_header(items, name)
        if raw is not None:
            lines.append(f"{name.capitalize()}: {_header_text(raw, au_emoji)}")
    return "\n".join(lines) + "\n\n"


def _visit_embedded_bytes(data: bytes, depth: int, walk: _Walk) -> None:
    """A message/rfc822 the parser left as text (e.g. base64-encoded): parse it ourselves."""
    if depth + 1 > MAX_DEPTH:
        walk.defect("depth_limit")
        return
    try:
        inner = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception:  # noqa: BLE001
        walk.defect("embedded_message_unparseable")
        return
    _visit_forwarded(inner, depth + 1, walk)


# --------------------------------------------------------------------------- top headers


def _header_text(raw: bytes, au_emoji: bool) -> str:
    return decode_header_value(raw[:MAX_HEADER_CHARS], au_emoji=au_emoji)


def _getaddresses(value: str) -> list[tuple[str, str]]:
    """email.utils.getaddresses, lenient on every Python (3.13 added a strict mode)."""
    try:
        return email.utils.getaddresses([value], strict=False)
    except TypeError:
        return email.utils.getaddresses([value])


_ADDR_FALLBACK = re.compile(r"<\s*([^<>\s]+@[^<>\s]+)\s*>|([^\s<>\"(),;:]+@[^\s<>\"(),;:]+)")


def _addresses(raw: bytes | None, au_emoji: bool) -> list[tuple[str, str]]:
    """(decoded display name, lower-case addr-spec) pairs; groups and junk are skipped.

    Parsed before decoding, so a display name whose encoded words decode to commas,
    quotes or CR/LF cannot change the address list.
    """
    if raw is None:
        return []
    value = _unfold(raw)[:MAX_HEADER_CHARS].decode("utf-8", "surrogateescape")
    try:
        pairs = _getaddresses(value)
    except Exception:  # noqa: BLE001
        pairs = []
    result: list[tuple[str, str]] = []
    for name, addr in pairs:
        addr_text = _addr_text(addr)
        if addr_text:
            result.append((_header_text(_to_bytes(name), au_emoji), addr_text))
    if not result:
        match = _ADDR_FALLBACK.search(value)
        if match:
            result.append(("", _addr_text(match.group(1) or match.group(2))))
    return result


def _addr_text(addr: str) -> str:
    """A lower-case addr-spec; a bare local part ('MAILER-DAEMON') is kept, junk is ''."""
    text = decode_bytes(_to_bytes(addr)).strip().strip("<>").strip()
    text = re.sub(r"[\s\x00-\x1f\x7f]", "", text).lower()
    if "@" in text or re.fullmatch(r"[a-z0-9._-]+", text):
        return text
    return ""


_MSGID_RE = re.compile(r"<([^<>]*)>")


def _msgids(text: str) -> tuple[str, ...]:
    """Message ids as '<id>', whitespace inside removed; bare ids with '@' accepted too."""
    found = [re.sub(r"\s+", "", m) for m in _MSGID_RE.findall(text)]
    ids = [f"<{m}>" for m in found if m]
    if not ids and not found:
        ids = [f"<{token.strip('<>')}>" for token in re.split(r"[\s,]+", text) if "@" in token]
    return tuple(ids)


def _return_path(raw: bytes | None, au_emoji: bool) -> str | None:
    if raw is None:
        return None
    text = _header_text(raw, au_emoji)
    pairs = _addresses(raw, au_emoji)
    if pairs:
        return pairs[0][1]
    return re.sub(r"[<>\s]", "", text).lower()


def _date(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        return email.utils.parsedate_to_datetime(text)
    except Exception:  # noqa: BLE001 - broken dates are common; the date is optional
        return None


def _is_au(addresses: list[tuple[str, str]]) -> bool:
    """Mail from au/KDDI: their ISO-2022-JP rows 0x79-0x7B are emoji, not IBM kanji."""
    hosts = {addr.rpartition("@")[2] for _name, addr in addresses}
    return any(host == d or host.endswith("." + d) for host in hosts for d in _AU_DOMAINS)


# --------------------------------------------------------------------------- entry point


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one mail from its bytes. Never raises; what cannot be read becomes a defect."""
    data = _input_bytes(raw)
    try:
        return _parse(data)
    except Exception:  # noqa: BLE001 - the contract is 'never raise'
        return _fallback(data)


def _input_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):  # a caller's mistake, but still not a reason to crash
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _fallback(data: bytes) -> ParsedMessage:
    """The structure could not be read (e.g. nesting deeper than the parser's stack).

    Keep the headers, so the sender and robot rules still work, and the body as text.
    """
    pieces = re.split(rb"\r?\n\r?\n|\r\r", data, maxsplit=1)
    head, body = pieces[0], (pieces[1] if len(pieces) > 1 else b"")
    try:
        headers_only = _parse(head + b"\r\n\r\n")
        text = decode_bytes(body[:MAX_TEXT_PART_BYTES]).replace("\x00", "")[:MAX_TEXT_CHARS]
        return dataclasses.replace(headers_only, text=text, attachments=(), defects=("unparseable",))
    except Exception:  # noqa: BLE001
        pass
    try:
        text = decode_bytes(data[:MAX_TEXT_PART_BYTES]).replace("\x00", "")[:MAX_TEXT_CHARS]
    except Exception:  # noqa: BLE001
        text = ""
    return ParsedMessage(
        message_id=None, from_addr="", from_name=None, to=(), cc=(), reply_to=(), subject="",
        date=None, in_reply_to=(), references=(), text=text, attachments=(), headers=(),
        defects=("unparseable",),
    )  # fmt: skip


def _parse(raw: bytes) -> ParsedMessage:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    items = _raw_items(message)
    senders = _addresses(_raw_header(items, "from"), False)
    au_emoji = _is_au(senders + _addresses(_raw_header(items, "return-path"), False))
    if senders:
        senders = _addresses(_raw_header(items, "from"), au_emoji)
    headers = tuple((name, _header_text(value, au_emoji)) for name, value in items)
    walk = _Walk(au_emoji=au_emoji)
    if not items:
        walk.defect("no_headers")
    top = _part_info(message)
    _visit(message, 0, walk, walk.body)
    first = dict(reversed(headers))  # first occurrence of each name
    return ParsedMessage(
        message_id=next(iter(_msgids(first.get("message-id", ""))), None),
        from_addr=senders[0][1] if senders else "",
        from_name=(senders[0][0] or None) if senders else None,
        to=_addr_tuple(items, "to", au_emoji),
        cc=_addr_tuple(items, "cc", au_emoji),
        reply_to=_addr_tuple(items, "reply-to", au_emoji),
        subject=first.get("subject", ""),
        date=_date(first.get("date", "")),
        in_reply_to=_msgids(first.get("in-reply-to", "")),
        references=_msgids(" ".join(v for k, v in headers if k == "references")),
        text=_join_text(walk),
        attachments=tuple(walk.attachments),
        headers=headers,
        content_type=top.ctype,
        is_report=top.ctype == "multipart/report",
        return_path=_return_path(_raw_header(items, "return-path"), au_emoji),
        defects=tuple(walk.defects),
    )


def _addr_tuple(items: list[tuple[str, bytes]], name: str, au_emoji: bool) -> tuple[str, ...]:
    found: list[str] = []
    for key, value in items:
        if key == name:
            found.extend(addr for _n, addr in _addresses(value, au_emoji) if addr not in found)
    return tuple(found)


def _join_text(walk: _Walk) -> str:
    blocks = ["\n".join(walk.body).strip("\n")] + [block.strip("\n") for block in walk.forwarded]
    return "\n\n".join(block for block in blocks if block)
