"""What a mail's bytes say on their own, before anything is looked up or written.

Parsing the MIME and reading the body for a request are a third of the cost of a text
mail, and need nothing but the bytes: no store, no clock, no settings beyond the size
limit. That is what lets a backlog be read one batch ahead in a second process
(`bot.read_ahead`) while this one records the batch before it. Nothing here raises for a
mail's content: a failure is kept, with the step it belongs to, for the pipeline to
quarantine exactly as it would have had it parsed the mail itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.models import ParsedMessage, RequestFacts

if TYPE_CHECKING:
    from bot.rawstore import BlobStore


@dataclass(frozen=True)
class Prepared:
    """A parsed mail and what its body says; or why it could not be parsed."""

    msg: ParsedMessage | None
    failure: tuple[str, str] | None = None  # (step, reason): "size" or "parse", no content
    body: RequestFacts | None = None  # None: not read (or the reading failed; the pipeline reads again)
    kept_as: str | None = None  # the raw copy's digest, when the reader kept it (durably); None: keep it here
    robots: tuple[str, ...] | None = None  # why a robot sent it (() for a person); None: not asked yet


def prepare(raw: bytes, max_bytes: int, parse: Callable[[bytes], ParsedMessage]) -> Prepared:
    """Parse `raw` and read its body; never raises for what the mail holds."""
    if len(raw) > max_bytes:
        return Prepared(None, ("size", f"larger than MADOGUCHI_MAX_MESSAGE_BYTES ({max_bytes:,})"))
    try:
        msg = parse(raw)
    except Exception as exc:  # noqa: BLE001 - kept as the quarantine reason (its type only, never its text)
        return Prepared(None, ("parse", type(exc).__name__))
    return Prepared(msg, body=_body_facts(msg))


def _body_facts(msg: ParsedMessage) -> RequestFacts | None:
    from parsers.body import facts_from_body

    try:
        return facts_from_body(msg.text, msg.subject)
    except Exception:  # noqa: BLE001 - read again in the pipeline, whose failure handling owns it
        return None


def read_batch(raws: list[bytes], max_bytes: int, store: BlobStore | None = None, window_address: str = "",
               parse: Callable[[bytes], ParsedMessage] | None = None) -> list[Prepared]:
    """Each mail kept in `store` (durably, before anything reads it), parsed, its body read
    and its robot signs looked for: what the read-ahead process runs."""
    parse_one = parse or parse_mail
    kept = _keep(raws, store)
    return [_with_robots(replace(prepare(raw, max_bytes, parse_one), kept_as=digest), window_address)
            for raw, digest in zip(raws, kept, strict=True)]


def parse_mail(raw: bytes) -> ParsedMessage:
    """The MIME parser, loaded on first use (a process that never parses never loads it)."""
    from parsers.mime import parse_message

    return parse_message(raw)


def _with_robots(ready: Prepared, window_address: str) -> Prepared:
    from parsers.headers import robot_reasons

    if ready.msg is None:
        return ready
    try:
        return replace(ready, robots=robot_reasons(ready.msg, window_address))
    except Exception:  # noqa: BLE001 - asked again in `_screen`, whose failure handling owns it
        return ready


def _keep(raws: list[bytes], store: BlobStore | None) -> list[str | None]:
    if store is None:
        return [None] * len(raws)
    try:
        digests: list[str | None] = [store.put(raw, sync=False) for raw in raws]
        store.sync()
    except Exception:  # noqa: BLE001 - kept by the pipeline instead, where a failure stops the pass
        return [None] * len(raws)
    return digests
