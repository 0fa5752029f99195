"""The path of one message: store raw → parse → sort → read → decide → commit → mark.

Each step is a short function; `handle()` runs them and turns any failure into a
quarantine entry (with the step and the kind of error, never the content), so one bad
message cannot stop the ones behind it. `handle_batch()` runs the same steps for a fetched
batch, committing runs of mail without attachments together.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy.orm import Session

from bot import casestore
from bot.app import App
from bot.case_clock import advance
from bot.db import Case, InboundMessage
from bot.holders import holder_of
from bot.mailbox import Incoming, Mark
from bot.models import Attachment, AttachmentReading, DocumentEvidence, ParsedMessage, RequestFacts
from bot.policy import Event, decide, may_auto_reply
from bot.prepared import Prepared, prepare
from bot.prepared import parse_mail as _parse  # a name of its own here: tests break it for the pipeline only
from bot.replying import queue_reply
from parsers.headers import case_tags, referenced_ids, robot_reasons, sender_authentication

log = logging.getLogger("madoguchi.pipeline")

Outcome = Literal["request", "followup", "inquiry", "robot", "duplicate", "quarantined"]
MARKS: dict[str, Mark] = {
    "request": "processed",
    "followup": "processed",
    "inquiry": "inquiry",
    "robot": "ignored",
    "duplicate": "processed",
    "quarantined": "quarantined",
}


NEUTRAL_INSTEAD = frozenset({"ack", "missing_documents", "fee_notice"})
UNVERIFIED_AUTO_REPLIES_PER_DAY = 1  # a forged sender's address gets one neutral acknowledgement a day at most
AUTO_REPLY_WINDOW = dt.timedelta(days=1)  # the automatic replies an address has had are counted over this


class StepError(Exception):
    """A failure inside a named step; the message is safe to show (no personal data)."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


class _LedgerUnreadable(Exception):
    """The ledger could not be read (the store is down or locked): not the message's fault,
    so `handle` raises the cause instead of quarantining the message."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    case_id: str | None = None
    sha256: str = ""
    mark: Mark = "processed"  # what the mailbox was (or, for a worker, is to be) told


def handle(app: App, incoming: Incoming, *, mark_mailbox: bool = True, ready: Prepared | None = None) -> Result:
    """Process one mailbox message end to end. Never raises for the message's content.

    `mark_mailbox=False` is for replaying a stored message that is no longer in the mailbox,
    and for workers, whose leader applies `Result.mark` later. `ready`: the mail as already
    parsed (`bot.prepared`), else it is parsed here.
    """
    mark = app.mailbox.mark if mark_mailbox else _no_mark
    digest = app.raw.put(incoming.raw)  # kept before anything reads it
    try:
        result, seen_before = _intake(app, incoming, digest, ready)
    except _LedgerUnreadable as exc:
        raise exc.cause from None  # nothing was decided: the mail stays in the mailbox for the next pass
    except Exception as exc:  # noqa: BLE001 - the quarantine is the handler of last resort
        reason = exc.reason if isinstance(exc, StepError) else type(exc).__name__
        where = exc.step if isinstance(exc, StepError) else "sort"
        quarantine(app, incoming, digest, where, reason)
        log.warning("quarantined message sha256=%s step=%s reason=%s", digest[:16], where, reason,
                    extra={"sha256": digest[:16], "step": where, "outcome": "quarantined", "kind": reason})
        if where == "size":
            _tell_sender_too_large(app, incoming.raw, digest)
        mark(incoming.key, "quarantined")
        return Result("quarantined", sha256=digest, mark="quarantined")
    _done(mark, incoming, result, seen_before)
    return result


def _done(mark: Callable[[str, Mark], None], incoming: Incoming, result: Result, seen_before: bool) -> None:
    """After the commit: the mailbox mark, and the log line of a message seen the first time."""
    mark(incoming.key, result.mark)
    if not seen_before:
        log.info("message sha256=%s outcome=%s case=%s", result.sha256[:16], result.outcome, result.case_id or "-",
                 extra={"sha256": result.sha256[:16], "outcome": result.outcome, "case_id": result.case_id})


GROUP_SECONDS = 1.0  # the longest a group of mails keeps the write lock before it commits
GROUP_FLUSH_EVERY = 50  # mails whose rows are flushed together (a reply's row is small: the form is kept apart)


class _GroupFailed(Exception):
    """Message `index` of a group failed: the group is rolled back and handled one by one."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def handle_batch(app: App, batch: list[Incoming], stop: threading.Event | None = None,
                 ready: list[Prepared] | None = None) -> list[Result]:
    """Process a fetched batch, in order, committing runs of mail together (a group commit).

    Each commit makes the case changes durable with an fsync, as does each raw copy; for a
    mail without attachments those two were most of its cost. A group shares one
    transaction and one barrier for its raw copies, and is marked in the mailbox only after
    it commits, so a crash anywhere re-reads the whole group and the ledger lets nothing be
    decided twice: what holds for one message holds for the group.

    The group's rows are flushed every GROUP_FLUSH_EVERY mails and at the commit, not before
    each mail's first query: the ORM's flush costs about as much as the rest of a mail, and
    much of it is per flush. (When a reply's row carried the blank form, 0.2 MB, a flush of
    50 raised the peak memory by 60 MB; the form is now kept apart, `bot.reply_parts`.) The
    lookups a mail makes of the mails before it in its group see them all the same: the
    ledger's checks for the same bytes or Message-ID look at the rows in hand first
    (`casestore`), and a mail that refers to a case flushes before it looks (`_thread_case`).
    A group read ahead (`ready`) also gives its ledger rows and replies their ids in hand
    (`casestore.next_id`), so that each table's rows go in one statement.

    A mail with attachments ends the group before it and is handled on its own (its files
    are read outside any transaction). A failure inside a group rolls it back and handles
    the group's mails one by one, where the failing one is quarantined as before. With
    `stop` set, the mail in hand is finished, the group committed, the rest left unread.

    `ready` holds the batch's mails as already parsed (`bot.prepared.read_batch`, in the read-ahead
    process); without it each is parsed here.
    """
    results: list[Result] = []
    while len(results) < len(batch) and not (results and stop is not None and stop.is_set()):
        done = len(results)
        results.extend(_group(app, batch[done:], stop, ready[done:] if ready is not None else None))
    return results


def _group(app: App, batch: list[Incoming], stop: threading.Event | None,
           ready: list[Prepared] | None) -> list[Result]:
    """Handle a prefix of `batch` (at least one mail) and return its results."""
    staged: list[tuple[Incoming, Result, bool]] = []
    has_files: Prepared | None = None
    started = time.monotonic()
    try:
        with app.session() as s, s.begin(), s.no_autoflush:  # flushed every few mails (see handle_batch)
            casestore.defer_events(s)  # autoflush off: the group's events wait for its commit
            if ready is not None:  # its mails' digests and senders known: their lookups in three queries
                casestore.look_ahead(s, [r.kept_as for r in ready if r.kept_as],
                                     [(r.msg.message_id, r.msg.from_addr) for r in ready if r.msg is not None],
                                     since=app.clock.now() - AUTO_REPLY_WINDOW)
            for index, incoming in enumerate(batch):
                if staged and (time.monotonic() - started > GROUP_SECONDS or (stop is not None and stop.is_set())):
                    break
                read = ready[index] if ready is not None else None
                digest = (read and read.kept_as) or app.raw.put(incoming.raw, sync=False)  # kept before it is read
                try:
                    outcome = _intake_in(app, s, incoming, digest, app.clock.now(), read)
                except _LedgerUnreadable:
                    raise
                except Exception as exc:  # noqa: BLE001 - handled one by one below, where it is quarantined
                    raise _GroupFailed(index) from exc
                if isinstance(outcome, Prepared):  # files to read: on its own, after the group
                    has_files = outcome
                    break
                staged.append((incoming, *outcome))
                if len(staged) % GROUP_FLUSH_EVERY == 0:
                    s.flush()
            app.raw.sync()  # the raw copies are durable before the changes that name them
    except _LedgerUnreadable as exc:
        raise exc.cause from None  # nothing was decided: the mails stay in the mailbox for the next pass
    except _GroupFailed as failed:
        app.raw.sync()
        return [handle(app, incoming) for incoming in batch[:failed.index + 1]]
    except Exception:  # the commit failed: one by one, each mail's own failure shows
        if not staged:
            raise
        app.raw.sync()
        return [handle(app, incoming) for incoming, _result, _seen in staged]
    for incoming, result, seen_before in staged:
        _done(app.mailbox.mark, incoming, result, seen_before)
    results = [result for _incoming, result, _seen in staged]
    if has_files is not None:
        results.append(handle(app, batch[len(staged)], ready=has_files))
    return results


def _intake(app: App, incoming: Incoming, digest: str, ready: Prepared | None) -> tuple[Result, bool]:
    """Check, parse, sort and record one stored message; (its result, whether these bytes were seen before).

    A mail without attachments is done in one transaction, from the check for its bytes to
    its case and queued reply: each transaction costs a BEGIN, a commit and a session, and
    there is nothing slow to keep out of it. A mail with attachments commits the check
    first and reads its files (PDF sandbox, OCR: seconds) outside any transaction, so that
    no write lock is held meanwhile.
    """
    now = app.clock.now()
    with app.session() as s, s.begin():
        casestore.defer_events(s)
        files = _intake_in(app, s, incoming, digest, now, ready)
        if not isinstance(files, Prepared):
            return files
    msg = _message(files)
    readings = _read_attachments(app, msg)
    with app.session() as s, s.begin():
        casestore.defer_events(s)
        return _sort_and_store(app, s, incoming, digest, msg, readings, now, files.body), False


def _intake_in(app: App, s: Session, incoming: Incoming, digest: str, now: dt.datetime,
               ready: Prepared | None) -> tuple[Result, bool] | Prepared:
    """The message's result and whether its bytes were seen before, recorded in `s`; or,
    when it has files to read first, the parsed message (nothing is recorded then)."""
    try:
        seen = casestore.inbound_outcome(s, digest)
    except Exception as exc:
        raise _LedgerUnreadable(exc) from exc
    if seen is not None:
        # Re-apply the first outcome's mark: an inquiry stays unread for staff after a restart.
        return Result("duplicate", sha256=digest, mark=MARKS.get(seen, "processed")), True
    ready = ready or prepare(incoming.raw, app.settings.max_message_bytes, _parse)
    msg = _message(ready)
    early = _screen(app, s, incoming, digest, msg, now, ready.robots)
    if early is not None or not msg.attachments:
        return early or _sort_and_store(app, s, incoming, digest, msg, [], now, ready.body), False
    return ready


def _message(ready: Prepared) -> ParsedMessage:
    """The parsed message; a StepError (step "size" or "parse") when there is none."""
    if ready.msg is None:
        step, reason = ready.failure or ("parse", "no message")
        raise StepError(step, reason)
    return ready.msg


def _tell_sender_too_large(app: App, raw: bytes, digest: str) -> None:
    from bot.size_notice import queue_size_notice

    try:
        queue_size_notice(app, raw, digest)
    except Exception as exc:  # noqa: BLE001 - the mail is safe in quarantine; the notice is a courtesy
        log.warning("size notice not queued sha256=%s reason=%s", digest[:16], type(exc).__name__,
                    extra={"sha256": digest[:16], "step": "size_notice", "kind": type(exc).__name__})


def _no_mark(key: str, mark: Mark) -> None:
    return None


def _result(outcome: Outcome, digest: str, case_id: str | None = None) -> Result:
    return Result(outcome, case_id, digest, MARKS[outcome])


def _screen(app: App, s: Session, incoming: Incoming, digest: str, msg: ParsedMessage,
            now: dt.datetime, robots: tuple[str, ...] | None) -> Result | None:
    """The outcome of a mail that opens no case whatever it says (a re-sent copy, a robot's
    mail, no address to answer), recorded in the ledger; None for every other mail.
    `robots`: the robot signs, when they were looked for already (`bot.prepared.read_batch`)."""
    if msg.message_id and casestore.message_id_seen(s, msg.message_id, msg.from_addr):
        _ledger(s, incoming, digest, msg, now, "duplicate", None)
        return _result("duplicate", digest)
    robots = robot_reasons(msg, app.settings.window_address) if robots is None else robots
    if robots:
        _ledger(s, incoming, digest, msg, now, "robot", None, reason=",".join(robots))
        return _result("robot", digest)
    if not _routable(msg.from_addr):
        # "taro" alone (a line break injected in the display name leaves such a From): a reply
        # would go to a local mailbox of some relay. A person may still have written: staff look.
        _ledger(s, incoming, digest, msg, now, "inquiry", None, reason="no usable sender address")
        return _result("inquiry", digest)
    return None


def _sort_and_store(app: App, s: Session, incoming: Incoming, digest: str, msg: ParsedMessage,
                    readings: list[AttachmentReading], now: dt.datetime, body: RequestFacts | None) -> Result:
    """A follow-up to its case, a new request to a new case, anything else to staff."""
    facts = _request_facts(msg, readings, body)
    case = _thread_case(s, msg)
    if case is not None:
        _apply_followup(app, s, case, incoming, digest, msg, readings, facts, now)
        return _result("followup", digest, case.id)
    if not (facts.states_request or _has_form(readings)):
        _ledger(s, incoming, digest, msg, now, "inquiry", None)
        return _result("inquiry", digest)
    case = _open_case(app, s, incoming, digest, msg, readings, facts, now)
    return _result("request", digest, case.id)


def _routable(addr: str) -> bool:
    local, at, domain = addr.rpartition("@")
    return bool(local and at and ("." in domain or (domain.startswith("[") and domain.endswith("]"))))


def _ledger(s: Session, incoming: Incoming, digest: str, msg: ParsedMessage, now: dt.datetime, outcome: str,
            case: Case | None, reason: str | None = None) -> InboundMessage:
    row = InboundMessage(id=casestore.next_id(s, InboundMessage), sha256=digest, message_id=msg.message_id,
                         from_addr=msg.from_addr, received_at=now,
                         mailbox_key=incoming.key, outcome=outcome, reason=reason, size=len(incoming.raw),
                         case_id=case.id if case else None)
    s.add(row)
    if case is not None:
        case.inbound.append(row)
    return row  # flushed with the rest of the transaction: one flush instead of one per row


def _thread_case(s: Session, msg: ParsedMessage) -> Case | None:
    """The case this mail continues: by our Message-IDs or the [#ID] tag, from its requester only."""
    ids, tags = referenced_ids(msg), case_tags(msg.subject)
    if not (ids or tags):
        return None
    s.flush()  # in a group (no autoflush) the cases and mails recorded before this one are looked up too
    candidates = casestore.cases_referenced(s, ids) + list(tags)
    for case_id in candidates:
        case = casestore.get_case(s, case_id, lock=True)
        if case is not None and case.requester_email == msg.from_addr:
            return case
    return None


def _read_attachments(app: App, msg: ParsedMessage) -> list[AttachmentReading]:
    """One reading per attachment, in order; the reader never raises (a bad file is unreadable)."""
    from parsers.attachments import read_attachment

    ocr = app.reader_ocr() if msg.attachments else None
    return [read_attachment(att, ocr=ocr, limits=app.read_limits) for att in msg.attachments]


def _has_form(readings: list[AttachmentReading]) -> bool:
    """A request form attached opens a case even when no request type could be read on it."""
    return any(r.form is not None or any(d.kind == "request_form" for d in r.documents) for r in readings)


def _request_facts(msg: ParsedMessage, readings: list[AttachmentReading], body: RequestFacts | None) -> RequestFacts:
    """Body first (`body`, when it was read already), then the form over it: where the two
    disagree, the form wins."""
    if body is None:  # not read ahead: a process that was given readings never loads the body reader
        from parsers.body import facts_from_body

        body = facts_from_body(msg.text, msg.subject)
    forms = [r.form for r in readings if r.form is not None]
    if not forms:
        return body
    form = forms[0]
    return RequestFacts(
        request_types=form.request_types or body.request_types,
        requester_name=form.requester_name or body.requester_name,
        requester_email=form.requester_email or body.requester_email,
        requester_phone=form.requester_phone or body.requester_phone,
        agent_present=form.agent_present or body.agent_present,
        agent_type=form.agent_type or body.agent_type,
        agent_name=form.agent_name or body.agent_name,
        disclosure_method=form.disclosure_method or body.disclosure_method,
        source="form",
        lang=body.lang,
    )


def _open_case(app: App, s: Session, incoming: Incoming, digest: str, msg: ParsedMessage,
               readings: list[AttachmentReading], facts: RequestFacts, now: dt.datetime) -> Case:
    name = facts.requester_name or (msg.from_name if not facts.agent_present else None)
    case = Case(
        id=casestore.new_case_id(s, now.date()),
        window=app.settings.window,
        status="awaiting_documents",
        channel="email",
        requester_name=name,
        requester_email=msg.from_addr,
        agent_present=facts.agent_present,
        agent_type=facts.agent_type,
        agent_name=facts.agent_name,
        request_types=sorted(facts.request_types),
        disclosure_method=facts.disclosure_method,
        lang=facts.lang,
        created_at=now,
        updated_at=now,
        due_on=now.date() + dt.timedelta(days=app.policy.response_period_days),
        missing=[],
        flags=[],
        # A new case has none of these yet; saying so spares three SELECTs (lazy loads) per request.
        documents=[],
        inbound=[],
        outbound=[],
    )
    s.add(case)  # inserted at the next flush, before the rows that refer to it
    inbound = _ledger(s, incoming, digest, msg, now, "request", case)
    casestore.add_event(s, case.id, now, "madoguchi", "mail_in",
                        {"sha256": digest, "kind": "request", "source": facts.source})
    _add_documents(app, s, case, inbound, msg, readings)
    _decide(app, s, case, "request", inbound, now, cause=digest)
    if app.policy.alerts.new_case:
        from bot.digest_job import queue_new_case_alert

        queue_new_case_alert(s, app, case, now)
    return case


def _apply_followup(app: App, s: Session, case: Case, incoming: Incoming, digest: str, msg: ParsedMessage,
                    readings: list[AttachmentReading], facts: RequestFacts, now: dt.datetime) -> None:
    inbound = _ledger(s, incoming, digest, msg, now, "followup", case)
    casestore.add_event(s, case.id, now, "madoguchi", "mail_in", {"sha256": digest, "kind": "followup"})
    if case.final_status is not None:
        casestore.add_event(s, case.id, now, "madoguchi", "staff_attention",
                            {"why": "mail to an ended case", "sha256": digest})
        return
    if facts.source == "form":
        _merge_form(case, facts)
    _add_documents(app, s, case, inbound, msg, readings)
    _decide(app, s, case, "followup", inbound, now, cause=digest)


def _merge_form(case: Case, facts: RequestFacts) -> None:
    """A form sent later fills in or corrects what the case knew (the form wins)."""
    if facts.request_types:
        case.request_types = sorted(facts.request_types)
    case.requester_name = facts.requester_name or case.requester_name
    if facts.agent_present:
        case.agent_present = True
        case.agent_type = facts.agent_type or case.agent_type
        case.agent_name = facts.agent_name or case.agent_name
    case.disclosure_method = facts.disclosure_method or case.disclosure_method


def _add_documents(app: App, s: Session, case: Case, inbound: InboundMessage, msg: ParsedMessage,
                   readings: list[AttachmentReading]) -> None:
    flags = set(case.flags)
    for att, reading in zip(msg.attachments, readings, strict=True):  # readings follow the attachments
        if reading.form is not None and reading.form.read_from_image:
            flags.add("form_needs_confirmation")  # handwriting and hand marks: staff check what was read
            # what was read, and how sure the box reader was, for staff and the audit (no names)
            casestore.add_event(s, case.id, inbound.received_at, "madoguchi", "form_read_from_image",
                                {"sha256": inbound.sha256, "request_types": sorted(reading.form.request_types),
                                 "box_confidence": reading.form.confidence})
        stored = _store_document(app, reading, att)
        for doc in reading.documents:
            doc = replace(doc, holder=holder_of(doc, case.requester_name, case.agent_name))
            doc_flags = _doc_flags(doc)
            flags.update(doc_flags)
            casestore.add_document(s, case, inbound, doc.filename, doc.kind, doc.holder, doc.pages,
                                   doc.issued_on, sorted(doc_flags), stored)
    if _body_has_my_number(msg.text):
        flags.add("my_number_detected")
    if _sender_unverified(msg, app.settings.trusted_authserv_ids):
        flags.add("sender_unverified")
    case.flags = sorted(flags)


def _sender_unverified(msg: ParsedMessage, trusted_authserv_ids: tuple[str, ...]) -> bool:
    """DMARC failed; or, where the operator named the receiving server to trust, it did not
    authenticate the From domain (no DMARC pass, no aligned DKIM or SPF pass)."""
    trust = sender_authentication(msg, trusted_authserv_ids)
    return trust == "fail" or (bool(trusted_authserv_ids) and trust != "pass")


def _doc_flags(doc: DocumentEvidence) -> set[str]:
    flags = set()
    if doc.my_number:
        flags.add("my_number_detected")
    if doc.insurance_number_unmasked:
        flags.add("insurance_number_unmasked")
    if doc.unreadable:
        flags.add("unreadable_attachment")
    return flags


def _body_has_my_number(text: str) -> bool:
    from parsers.japanese import find_my_numbers

    return bool(find_my_numbers(text))


def _store_document(app: App, reading: AttachmentReading, att: Attachment) -> str | None:
    """Keep the document encrypted; where a number had to be hidden keep only the masked copy."""
    if any(d.my_number or d.insurance_number_unmasked for d in reading.documents):
        return app.documents.put(reading.masked_data) if reading.masked_data else None
    if not reading.documents:
        return None  # a signature logo or a text file: nothing the case needs as evidence
    return app.documents.put(att.data) if att.data else None


def _decide(app: App, s: Session, case: Case, event: Event, inbound: InboundMessage | None, now: dt.datetime,
            cause: str, paid_before: int = 0, extra: dict[str, object] | None = None,
            outcome: str | None = None) -> None:
    """Run the policy over the case, record the outcome and queue the replies it earns."""
    facts = casestore.case_facts(case)
    decision = decide(facts, app.policy, event, paid_before=paid_before, outcome=outcome)
    before = None if event == "request" else case.status
    case.status = decision.status
    case.missing = list(decision.missing)
    case.fee_yen = decision.fee_yen
    case.updated_at = now
    actor = app.actor if event not in ("request", "followup", "remind", "lapse") else "madoguchi"
    casestore.add_event(s, case.id, now, actor, "decision", {"event": event, "rules": list(decision.rules)})
    clock = advance(case, app.policy, before, now.astimezone(app.clock.tz).date(), app.clock.tz,
                    requester_answered=event == "followup")
    if clock is not None:
        casestore.add_event(s, case.id, now, actor, "deadline", clock)
    for kind in decision.replies:
        _queue(app, s, case, kind, inbound, now, cause, event, extra)


def _queue(app: App, s: Session, case: Case, kind: str, inbound: InboundMessage | None, now: dt.datetime,
           cause: str, event: Event, extra: dict[str, object] | None) -> None:
    automatic = event in ("request", "followup")
    unverified = "sender_unverified" in case.flags
    if unverified:
        # The address may be forged: its owner learns nothing (no names, documents, fees or
        # outcomes) and gets nothing but a neutral acknowledgement until staff confirm it.
        if kind not in NEUTRAL_INSTEAD:
            casestore.add_event(s, case.id, now, "madoguchi", "reply_suppressed", {"kind": kind, "why": "unverified"})
            return
        kind, automatic = "neutral_ack", True
    if automatic:
        cap = UNVERIFIED_AUTO_REPLIES_PER_DAY if unverified else app.policy.auto_replies_per_address_per_day
        sent = casestore.auto_replies_since(s, case.requester_email, now - AUTO_REPLY_WINDOW)
        if not may_auto_reply(sent, cap):
            casestore.add_event(s, case.id, now, "madoguchi", "reply_suppressed", {"kind": kind, "why": "cap"})
            return
    if case.requester_email in (app.settings.window_address, *app.settings.staff_addresses):
        casestore.add_event(s, case.id, now, "madoguchi", "reply_suppressed", {"kind": kind, "why": "own address"})
        return
    queue_reply(s, case, kind, policy=app.policy, window_address=app.settings.window_address, now=now,
                answering=inbound, cause=cause, automatic=automatic, extra=dict(extra or {}),
                followup=event == "followup", templates=app.settings.templates_dir, parts=app.reply_parts)


def redecide(app: App, s: Session, case: Case, event: Event, now: dt.datetime, cause: str, paid_before: int = 0,
             extra: dict[str, object] | None = None, outcome: str | None = None) -> None:
    """For staff actions and chasing: decide again, answering the case's latest incoming mail."""
    _decide(app, s, case, event, casestore.latest_inbound(case), now, cause, paid_before, extra, outcome)


def quarantine(app: App, incoming: Incoming, digest: str, step: str, reason: str) -> None:
    now = app.clock.now()
    with app.session() as s, s.begin():
        if casestore.inbound_outcome(s, digest) is not None:
            return
        s.add(InboundMessage(sha256=digest, message_id=None, from_addr="", received_at=now,
                             mailbox_key=incoming.key, outcome="quarantined", reason=reason[:500], step=step,
                             size=len(incoming.raw)))
        casestore.add_event(s, None, now, "madoguchi", "quarantined", {"sha256": digest, "step": step})
