"""Pure questions about a parsed mail's headers: is it a robot, which case does it name.

Kept apart from parsing so the policy and the pipeline can ask them of hand-built
`ParsedMessage` values in tests. Robot detection follows RFC 3834 and the contract's
list (`shared/docs/contract.md`, "Which mail opens a case"); answering a robot risks mail
loops and replying to lists, so every reason found is returned, for the audit trail.
"""

from __future__ import annotations

import email.utils
import re
import unicodedata
from typing import Literal

from bot.models import ParsedMessage

__all__ = ["ROBOT_REASONS", "case_tags", "referenced_ids", "robot_reasons"]

# Every code robot_reasons can return, in the order it checks them.
ROBOT_REASONS: tuple[str, ...] = (
    "no_from",
    "from_window",
    "mailer_daemon",
    "postmaster",
    "empty_return_path",
    "multipart_report",
    "auto_submitted",
    "x_autoreply",
    "x_autorespond",
    "precedence",
    "list_header",
    "x_auto_response_suppress",
    "x_loop",
)

_ROBOT_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply", "auto-reply"})
_DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "mailer_daemon", "mailerdaemon"})


def _first_token(value: str) -> str:
    """The value's first word, lower-case, without comments or parameters ('no (x)')."""
    value = re.sub(r"\([^)]*\)", " ", value)
    return re.split(r"[\s;,]+", value.strip(), maxsplit=1)[0].strip("\"'").lower()


def _addr_spec(address: str) -> str:
    """'Name <a@b>' or 'a@b' -> 'a@b', lower-case."""
    _name, addr = email.utils.parseaddr(address)
    return (addr or address).strip().strip("<>").lower()


def _local_part(address: str) -> str:
    return address.rpartition("@")[0] if "@" in address else address


def _sender_reasons(msg: ParsedMessage, window: str) -> list[str]:
    reasons: list[str] = []
    sender = msg.from_addr.strip().lower()
    if not sender:
        reasons.append("no_from")
    elif window and sender == window:
        reasons.append("from_window")
    locals_ = {_local_part(sender), _local_part((msg.return_path or "").lower())}
    if locals_ & _DAEMON_LOCAL_PARTS:
        reasons.append("mailer_daemon")
    if _local_part(sender) == "postmaster":
        reasons.append("postmaster")
    if msg.return_path == "":
        reasons.append("empty_return_path")
    if msg.is_report or msg.content_type.lower() == "multipart/report":
        reasons.append("multipart_report")
    return reasons


def _header_reasons(msg: ParsedMessage, window: str) -> list[str]:
    reasons: list[str] = []
    names = {name for name, _value in msg.headers}
    if any(_first_token(v) != "no" for v in msg.header_all("auto-submitted")):
        reasons.append("auto_submitted")
    if "x-autoreply" in names:
        reasons.append("x_autoreply")
    if "x-autorespond" in names:
        reasons.append("x_autorespond")
    if any(_first_token(v) in _ROBOT_PRECEDENCE for v in msg.header_all("precedence")):
        reasons.append("precedence")
    if any(name.startswith("list-") for name in names):
        reasons.append("list_header")
    if "x-auto-response-suppress" in names:
        reasons.append("x_auto_response_suppress")
    if window and any(window in value.lower() for value in msg.header_all("x-loop")):
        reasons.append("x_loop")
    return reasons


def robot_reasons(msg: ParsedMessage, window_address: str) -> tuple[str, ...]:
    """Why this mail must not open a case or get a reply; () when a person wrote it.

    Codes (see ROBOT_REASONS): no sender; sent by the window itself; MAILER-DAEMON or
    postmaster sender; empty Return-Path (`<>`, a bounce); multipart/report; the RFC 3834
    and vendor auto-reply headers; Precedence bulk/list/junk/auto_reply; any List-*
    header; X-Auto-Response-Suppress with any value; an X-Loop naming the window.
    An Auto-Submitted header counts unless its value is exactly 'no' (an empty one is not
    'no', so it counts: not answering is the safe side of a loop).
    """
    window = _addr_spec(window_address) if window_address else ""
    return tuple(_sender_reasons(msg, window) + _header_reasons(msg, window))


_TAG_RE = re.compile(r"\[#([A-Za-z0-9-]+)\]")


def case_tags(subject: str) -> tuple[str, ...]:
    """Case ids named by '[#ID]' tags in a subject, in order, without repeats.

    NFKC first, so the full-width '［＃ＡＢＣ１］' a Japanese IME produces counts too.
    """
    found = _TAG_RE.findall(unicodedata.normalize("NFKC", subject or ""))
    return tuple(dict.fromkeys(found))


def _normalize_id(value: str) -> str | None:
    inner = re.sub(r"\s+", "", value.strip()).strip("<>")
    return f"<{inner}>" if inner else None


def referenced_ids(msg: ParsedMessage) -> tuple[str, ...]:
    """The message ids this mail answers (In-Reply-To, then References), normalized, once each."""
    seen: dict[str, None] = {}
    for value in (*msg.in_reply_to, *msg.references):
        normalized = _normalize_id(value)
        if normalized is not None:
            seen.setdefault(normalized, None)
    return tuple(seen)


_AUTHSERV_RE = re.compile(r"^\s*([^\s;]+)")
_DMARC_RE = re.compile(r"(?:^|[;\s])dmarc\s*=\s*([A-Za-z]+)", re.IGNORECASE)


def dmarc_result(msg: ParsedMessage, trusted_authserv_ids: tuple[str, ...] = ()) -> str | None:
    """The DMARC verdict of the receiving server we trust, lower-case, or None.

    Anyone can write an Authentication-Results header into a mail, so only one is read:
    the topmost one whose authserv-id is configured, or — with none configured — the
    topmost of all, which the operator's own receiving server adds last (RFC 8601 §5).
    """
    trusted = {t.lower() for t in trusted_authserv_ids}
    for value in msg.header_all("authentication-results"):
        found = _AUTHSERV_RE.match(value)
        authserv = found.group(1).lower() if found else ""
        if trusted and authserv not in trusted:
            continue
        verdict = _DMARC_RE.search(value)
        return verdict.group(1).lower() if verdict else None
    return None


_METHOD_RE = re.compile(r"(?:^|[;\s])(dkim|spf)\s*=\s*([A-Za-z]+)([^;]*)", re.IGNORECASE)
_PROP_RE = re.compile(r"(header\.d|header\.i|smtp\.mailfrom)\s*=\s*([^\s;]+)", re.IGNORECASE)

SenderTrust = Literal["pass", "fail", "unknown"]


def sender_authentication(msg: ParsedMessage, trusted_authserv_ids: tuple[str, ...]) -> SenderTrust:
    """Whether our own receiving server authenticated the From domain.

    "fail": DMARC failed (read as in `dmarc_result`, so a fail is seen even when no server is
    configured: a forger who writes a fail only hurts himself). "pass" only from a configured
    server (RFC 8601 §5: headers of others are ignored), by DMARC pass, or — for the many
    domains without a DMARC record — a DKIM or SPF pass aligned with the From domain
    (relaxed alignment, RFC 7489 §3.1). Everything else is "unknown".
    """
    if dmarc_result(msg, trusted_authserv_ids) == "fail":
        return "fail"
    if not trusted_authserv_ids:
        return "unknown"
    trusted = {t.lower() for t in trusted_authserv_ids}
    domain = msg.from_addr.rpartition("@")[2].lower()
    for value in msg.header_all("authentication-results"):
        found = _AUTHSERV_RE.match(value)
        if not found or found.group(1).lower() not in trusted:
            continue
        verdict = _DMARC_RE.search(value)
        if verdict and verdict.group(1).lower() == "pass":
            return "pass"
        for _method, result, props in _METHOD_RE.findall(value):
            if result.lower() != "pass":
                continue
            for _, ident in _PROP_RE.findall(props):
                if domain and _aligned(ident.rpartition("@")[2].lower().strip("<>"), domain):
                    return "pass"
        return "unknown"
    return "unknown"


def _aligned(authenticated: str, from_domain: str) -> bool:
    """Relaxed alignment without a public-suffix list: the same domain or one a subdomain of the other."""
    if not authenticated or "." not in authenticated:
        return False
    return (authenticated == from_domain or from_domain.endswith("." + authenticated)
            or authenticated.endswith("." + from_domain))
