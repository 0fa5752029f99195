"""Logging for madoguchi: text or JSON lines, identifiers only, never personal data.

What a log line may carry (docs/security.md, "Logs"): case ids (20250602-001), the first 16
hex digits of the sha256 of a stored raw message (the key `madoguchi quarantine` shows),
outbound row ids, step and outcome names, document kinds, counts, server URLs without the
user, and exception *types*. Never: addresses, names, subjects, bodies, filenames,
document text, Message-IDs, or the text of an exception raised while reading mail.

Two guarantees, in this order:

1. The log calls pass no such data (reviewed; tests/test_logs_no_personal_data.py runs
   the whole path on mail full of personal data and greps the output).
2. Defence in depth on our handler: `RedactingFilter` masks e-mail addresses (which also
   covers Message-IDs), 12-digit runs (My Number), phone numbers and postal codes in the
   final message and in string extras; a `message_id` extra is replaced by a short hash;
   exception messages and tracebacks are reduced to types and frames, except for a few of
   madoguchi's own exceptions whose messages are written for the operator
   (`SAFE_EXCEPTIONS`), and those are redacted too.

Message-IDs are never logged as they are: they often carry the sender's domain or even an
address (`<CAF…@mail.gmail.com>`). Inbound mail is identified by the raw-message sha256
prefix (as the pipeline always did); where a Message-ID must be correlated, log
`message_ref(message_id)`, a 12-hex-digit hash (`mid:…`), which staff can recompute.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import sys
import traceback
from types import TracebackType
from typing import IO, Any

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# Third-party loggers that can print message content (imapclient's protocol trace prints
# whole messages; the PDF and image libraries print object and stream contents at DEBUG):
# held at WARNING whatever --verbose says.
QUIET_LOGGERS = ("imapclient", "imaplib", "aiosmtplib", "pdfminer", "pdfplumber", "pypdf", "PIL", "fontTools",
                 "reportlab", "pytesseract", "urllib3", "asyncio", "multipart", "sqlalchemy", "alembic")

# Exceptions whose message madoguchi writes itself for the operator, from configuration or
# the step name, never from mail content. Everything else logs its type only.
SAFE_EXCEPTIONS = frozenset({
    "bot.pipeline.StepError",
    "bot.oauth.OAuthError",
    "bot.runner.SchedulerBusy",
    "config.settings.SettingsError",
    "config.policy.PolicyError",
})

_DIGIT = "[0-9０-９]"
_SEP = "[-‐‑–−ー－ ]"  # hyphens as typed in Japanese text, and a space
_EDGE_L = r"(?<![0-9A-Za-z０-９])"
_EDGE_R = r"(?![0-9A-Za-z０-９])"
_NOT_CASE_ID = r"(?!(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])-[0-9]{4,}(?![0-9]))"
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*", re.UNICODE), "[email]"),
    # My Number (12 digits, also as 4-4-4) before phone numbers; not a case id of a busy day
    # (20250602-1000: the date, a hyphen, the thousandth case), which staff need to see.
    (re.compile(f"{_EDGE_L}{_NOT_CASE_ID}{_DIGIT}{{4}}{_SEP}?{_DIGIT}{{4}}{_SEP}?{_DIGIT}{{4}}{_EDGE_R}"),
     "[number]"),
    # Postal codes (〒123-4567), not inside a longer hyphenated number.
    (re.compile(f"(?:〒\\s*)?(?<![0-9A-Za-z０-９\\-－ー]){_DIGIT}{{3}}[-－ー]{_DIGIT}{{4}}(?![0-9A-Za-z０-９\\-－ー])"),
     "[postcode]"),
    # Phone numbers: 0X-XXXX-XXXX in its variants, 10-11 digits from 0, +81 forms.
    (re.compile(f"{_EDGE_L}(?:\\+81{_SEP}?|[0０]){_DIGIT}{{1,4}}{_SEP}{_DIGIT}{{1,4}}{_SEP}{_DIGIT}{{3,4}}{_EDGE_R}"),
     "[phone]"),
    (re.compile(f"{_EDGE_L}(?:\\+81|[0０]){_DIGIT}{{9,10}}{_EDGE_R}"), "[phone]"),
    (re.compile(f"{_EDGE_L}\\(?[0０]{_DIGIT}{{1,4}}\\){_DIGIT}{{1,4}}{_SEP}{_DIGIT}{{3,4}}{_EDGE_R}"), "[phone]"),
)

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "", None, None))) | {
    "message", "asctime", "taskName"}
_MARK = "_madoguchi_handler"
_HEX = re.compile(r"[0-9a-f]{8,64}")


def redact(text: str) -> str:
    """Mask what looks like an address, a My Number, a phone number or a postal code."""
    for pattern, mask in _REDACTIONS:
        text = pattern.sub(mask, text)
    return text


def message_ref(message_id: str | None) -> str:
    """A short, stable stand-in for a Message-ID: `mid:` and 12 hex digits of its sha256."""
    if not message_id:
        return "-"
    if message_id.startswith("mid:"):
        return message_id
    return "mid:" + hashlib.sha256(message_id.strip().encode("utf-8", "replace")).hexdigest()[:12]


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a call passed with `extra=`."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


def _qualified(exc_type: type[BaseException]) -> str:
    module = exc_type.__module__
    return exc_type.__qualname__ if module == "builtins" else f"{module}.{exc_type.__qualname__}"


def safe_exception(exc: BaseException) -> str:
    """`Type` or, for madoguchi's own operator-facing errors, `Type: redacted message`."""
    name = _qualified(type(exc))
    if name in SAFE_EXCEPTIONS:
        return f"{type(exc).__name__}: {redact(str(exc))[:300]}"
    return type(exc).__name__


def safe_traceback(exc: BaseException | None, tb: TracebackType | None = None) -> str:
    """Frames (file, line, function) and exception types of the chain; no messages, no values."""
    lines: list[str] = []
    seen: set[int] = set()
    chain: list[BaseException] = []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    for i, e in enumerate(reversed(chain)):
        if i:
            lines.append("  (then)")
        for frame in traceback.extract_tb(tb if e is chain[0] and tb is not None else e.__traceback__):
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        lines.append(safe_exception(e))
    return "Traceback (types only):\n" + "\n".join(lines)


class RedactingFilter(logging.Filter):
    """Defence in depth on madoguchi's handler: the message and string extras, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken call must not print its arguments
            message = f"(unformattable log message from {record.name}:{record.lineno})"
        record.msg = redact(message)
        record.args = None
        for key, value in extras(record).items():
            if key == "message_id" and isinstance(value, str):
                setattr(record, key, message_ref(value))
            elif key == "sha256" and isinstance(value, str) and _HEX.fullmatch(value):
                setattr(record, key, value[:16])
            elif isinstance(value, str):
                setattr(record, key, redact(value))
            elif not isinstance(value, int | float | bool | type(None)):
                setattr(record, key, redact(str(value)))
        return True


def _time(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the extras, exc_type."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["exc_type"] = _qualified(type(exc))
            if _qualified(type(exc)) in SAFE_EXCEPTIONS:
                entry["exc_message"] = redact(str(exc))[:300]
            entry["traceback"] = safe_traceback(exc, record.exc_info[2])
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Today's format, the extras appended as key=value, exceptions as types and frames."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{k}={v}" for k, v in extras(record).items())
        if not fields:
            return line
        head, sep, rest = line.partition("\n")
        return f"{head} [{fields}]{sep}{rest}"

    def formatException(self, ei: Any) -> str:  # noqa: N802 - the logging API's name
        return safe_traceback(ei[1], ei[2])


def configure_logging(fmt: str, verbose: bool, stream: IO[str] | None = None) -> None:
    """Install madoguchi's one handler on the root logger (replacing an earlier one).

    `fmt` is "text" or "json" (MADOGUCHI_LOG_FORMAT); `verbose` means INFO, else WARNING.
    Idempotent: a second call replaces the handler, level and format; handlers others
    installed (pytest's, an embedding program's) are left alone.
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
            handler.close()
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    setattr(handler, _MARK, True)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    level = logging.INFO if verbose else logging.WARNING
    root.setLevel(level)
    logging.getLogger("madoguchi").setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(level)  # job names and run times: nothing personal
    logging.captureWarnings(True)  # warnings.warn() texts go through the filter too
