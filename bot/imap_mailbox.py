"""The window's mailbox over IMAP (imapclient): one folder, by UID, always encrypted.

Why UIDs: sequence numbers move whenever anyone expunges, so a flag set by sequence
number could land on somebody else's mail. A key is f"{UIDVALIDITY}:{UID}", which names
one message for as long as the folder exists. When the folder is recreated or rebuilt its
UIDVALIDITY changes; marks for old keys are then dropped (logged) instead of flagging
whichever new message happens to carry that UID, and unread mail is read afresh.

What counts as new: every UID above the highest one done, read or not, so a request that
a colleague opened in a mail client before the bot's pass is not missed. "Done" means marked
after its case change committed; the mailbox handles UIDs in ascending order and a pass stops
at the first message it cannot handle, so one number per folder says it all. That number and
the folder's UIDVALIDITY are kept in the case store (bot/mailbox_state.py), saved after each
batch: a restart re-reads at most one batch (the raw store's deduplication makes those
no-ops), unread inquiries left for staff are not read again, and a handled message a
colleague marks unread is left alone.

Without a usable position — the very first pass over a folder, or after UIDVALIDITY changed
because the folder was recreated or restored — the pass reads the unread mail, plus, after a
change, everything that arrived since a day before the position was last saved (read or
not; deduplicated against the ledger). Read mail older than that was handled by people or
by us before. Only when such a pass has gone through to the end does the folder get its new
position: everything that was in it then is done.

The connection is made in one method, `_connect`: the seam for tests. It logs in with the
password, or — for Microsoft 365 and Google Workspace, where passwords are refused — with an
OAuth 2.0 access token by SASL XOAUTH2, asking the token provider (bot/oauth.py) on every
(re)connect so that an expired token is never reused; a refused token is forgotten.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imapclient import DELETED, FLAGGED, SEEN

from bot.mailbox import BATCH_BYTES, BATCH_COUNT, Incoming, Mark, batched
from bot.mailbox_state import MailboxStateStore, MemoryMailboxState
from bot.oauth import OAuthError, TokenProvider
from bot.tls import client_context

log = logging.getLogger("madoguchi.imap")

#: "The line is gone" (EOF, reset, BYE, timeout): drop the connection, reconnect next time.
LINE_ERRORS: tuple[type[BaseException], ...] = (OSError, IMAPClientAbortError)
#: Any failure of the conversation, a NO or BAD answer included.
IMAP_ERRORS: tuple[type[BaseException], ...] = (OSError, IMAPClientError)
IDLE_RENEW_SECONDS = 25 * 60  # RFC 2177: a server may end an IDLE after 30 minutes
STOP_CHECK_SECONDS = 1.0  # how often a wait looks whether the service is stopping
FLAGS: dict[str, list[bytes]] = {"processed": [SEEN], "ignored": [SEEN], "quarantined": [SEEN, FLAGGED],
                                 "queued": []}


class MailboxError(Exception):
    """The mailbox cannot be used; str() is safe to show (no content, no user, no password)."""


class MailboxSecurityError(MailboxError):
    """The server would make us talk in clear text, or could not prove who it is."""


@dataclass(frozen=True)
class ImapTarget:
    """Where the mailbox is: imap://user@host:port/FOLDER (STARTTLS) or imaps://… (implicit TLS)."""

    host: str
    port: int
    user: str
    folder: str
    implicit_tls: bool

    @classmethod
    def from_url(cls, url: str) -> ImapTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise MailboxError(f"not an imap:// or imaps:// URL (scheme {parts.scheme!r})")
        if not parts.username:
            raise MailboxError("the IMAP URL names no user (imaps://user@host:port/FOLDER)")
        implicit = parts.scheme == "imaps"
        return cls(host=parts.hostname, port=parts.port or (993 if implicit else 143),
                   user=unquote(parts.username), folder=unquote(parts.path.lstrip("/")) or "INBOX",
                   implicit_tls=implicit)

    def __str__(self) -> str:  # without the user: it is often a personal address
        return f"{'imaps' if self.implicit_tls else 'imap'}://{self.host}:{self.port}/{self.folder}"


@dataclass
class _FolderState:
    """What this process knows of the selected folder; replaced when UIDVALIDITY changes."""

    uidvalidity: int
    last_uid: int = 0  # every UID up to this one is done (marked after its commit)
    saved_uid: int = -1  # the last_uid the store holds
    known: bool = False  # False: no usable position yet (first pass, or UIDVALIDITY changed)
    since: dt.date | None = None  # with known=False after a change: re-read what arrived since
    uidnext: int = 0  # from the last SELECT: the UID the next arrival gets
    marked_max: int = 0  # the highest UID marked in this process
    pending: set[int] = field(default_factory=set)  # handed out, not (yet) marked: read again
    whole_pass_below: int | None = None  # known=False: a pass read all candidates below this UID

    def advance(self) -> None:
        """Done up to the highest mark, but never past a message handed out and not marked.

        Without a position, a pass that read every candidate and saw each one marked makes
        everything that was in the folder when it began done: the folder has a position.
        """
        top = self.marked_max if not self.pending else min(self.marked_max, min(self.pending) - 1)
        self.last_uid = max(self.last_uid, top)
        if not self.known and self.whole_pass_below is not None and not self.pending:
            self.known = True
            self.last_uid = max(self.last_uid, self.whole_pass_below - 1)


class ImapMailbox:
    """The Mailbox protocol over IMAP; the module docstring gives the rules it keeps."""

    def __init__(self, target: ImapTarget, password: str | None, *, token_provider: TokenProvider | None = None,
                 ca_file: Path | None = None,
                 allow_plaintext: bool = False, inquiry_seen: bool = False,
                 processed_folder: str | None = None, quarantine_folder: str | None = None,
                 ignore_capabilities: Iterable[str] = (), batch_uids: int = BATCH_COUNT,
                 batch_bytes: int = BATCH_BYTES, timeout: float = 60.0, connect_attempts: int = 3,
                 retry_delay: float = 1.0, idle_renew_seconds: float = IDLE_RENEW_SECONDS,
                 positions: MailboxStateStore | None = None) -> None:
        """`ignore_capabilities` treats advertised ones (e.g. MOVE, IDLE) as absent, for broken servers.

        With a `token_provider` the login is XOAUTH2 and `password` is not used. `positions`
        keeps the folder's position across restarts (the case store in production).
        """
        if token_provider is None and not password:
            raise MailboxError("neither a password nor an OAuth token provider is configured")
        self.target = target
        self._password = password
        self._tokens = token_provider
        self._ca_file = ca_file
        self._allow_plaintext = allow_plaintext
        self._flags = {**FLAGS, "inquiry": [SEEN] if inquiry_seen else []}
        self._move_to = {"processed": processed_folder, "ignored": processed_folder,
                         "quarantined": quarantine_folder}
        self._ignored_caps = {c.upper() for c in ignore_capabilities}
        self._batch = (batch_uids, batch_bytes)
        self._timeout = timeout
        self._attempts = connect_attempts
        self._retry_delay = retry_delay
        self._idle_renew = idle_renew_seconds
        self._client: Any = None
        self._state: _FolderState | None = None
        self._in_pass = False  # fetch_new is being read: marks wait for the end of the batch
        self._deferred: dict[Mark, list[int]] = {}
        self._positions: MailboxStateStore = positions or MemoryMailboxState()
        self._name = f"{'imaps' if target.implicit_tls else 'imap'}://{target.user}@{target.host}:{target.port}/" \
                     f"{target.folder}"

    @classmethod
    def from_url(cls, url: str, password: str | None, **options: Any) -> ImapMailbox:
        return cls(ImapTarget.from_url(url), password, **options)

    # --- the connection -------------------------------------------------------------------

    def _connect(self) -> Any:
        """Open, secure and log in one connection: the only place that dials the server."""
        t = self.target
        token = self._token()  # before dialling: no half-open connection when there is no token
        client = IMAPClient(t.host, port=t.port, ssl=t.implicit_tls, ssl_context=client_context(self._ca_file),
                            timeout=self._timeout)
        # imapclient sets imaplib's debug level to 5, which formats the protocol traffic for
        # the "imapclient.imaplib" logger. Off: nothing of a message may reach a log, whatever
        # level an operator sets. (A private attribute: tolerated if a release drops it.)
        imap = getattr(client, "_imap", None)
        if imap is not None:
            imap.debug = 0
        try:
            if not t.implicit_tls:
                self._starttls(client)
            if token is not None:
                client.oauth2_login(t.user, token)
            else:
                client.login(t.user, self._password)
        except BaseException:
            _shutdown(client)
            raise
        return client

    def _token(self) -> str | None:
        """A valid access token when logging in by XOAUTH2 (None: password login)."""
        if self._tokens is None:
            return None
        try:
            return self._tokens.token()
        except OAuthError as exc:
            raise MailboxError(f"{self.target}: no OAuth access token: {exc}") from exc

    def _starttls(self, client: Any) -> None:
        if client.has_capability("STARTTLS"):
            client.starttls(client_context(self._ca_file))
        elif not self._allow_plaintext:
            raise MailboxSecurityError(
                f"{self.target} does not offer STARTTLS: refusing to send the password and the mail in "
                "clear text (use imaps://, enable STARTTLS on the server, or allow plain text explicitly)")
        else:
            log.warning("%s: no STARTTLS; continuing in clear text as explicitly allowed", self.target)

    def _open(self, attempts: int) -> None:
        """Connect with a few retries and doubling pauses; certificate and login refusals are final."""
        delay = self._retry_delay
        for attempt in range(1, attempts + 1):
            try:
                self._client = self._connect()
                return
            except ssl.SSLCertVerificationError as exc:
                raise MailboxSecurityError(
                    f"{self.target}: the server's certificate is not trusted ({exc.verify_message})") from exc
            except LoginError as exc:
                if self._tokens is None:
                    raise MailboxError(f"{self.target}: login refused") from exc
                self._tokens.invalidate()  # revoked or stale: the next connection fetches a new one
                raise MailboxError(f"{self.target}: XOAUTH2 login refused (check the app's mailbox permission "
                                   "and that the token is for this user and for IMAP)") from exc
            except IMAP_ERRORS as exc:
                last: BaseException = exc
            log.warning("%s: connection attempt %d/%d failed (%s)", self.target, attempt, attempts,
                        type(last).__name__)
            if attempt < attempts:
                time.sleep(delay)
                delay *= 2
        raise MailboxError(f"{self.target}: cannot connect after {attempts} attempts") from last

    def _session(self, attempts: int) -> _FolderState:
        """A live connection with the folder selected; the one we have is reused if it answers."""
        if self._client is not None:
            try:
                self._client.noop()
            except LINE_ERRORS:
                log.info("%s: connection lost; reconnecting", self.target)
                self._drop()
        if self._client is None:
            self._open(attempts)
            self._create_folders()
        return self._select()

    def _select(self) -> _FolderState:
        """SELECT, and notice a changed UIDVALIDITY (the folder was recreated or rebuilt)."""
        try:
            info = self._client.select_folder(self.target.folder)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            raise MailboxError(f"{self.target}: the folder cannot be selected") from exc
        validity = int(info[b"UIDVALIDITY"])
        if self._state is None or self._state.uidvalidity != validity:
            self._state = self._position(validity, changed_here=self._state is not None)
        self._state.uidnext = int(info.get(b"UIDNEXT", 0) or 0)
        return self._state

    def _position(self, validity: int, *, changed_here: bool) -> _FolderState:
        """The stored position when it is for this UIDVALIDITY; else a pass without one."""
        saved = self._positions.load(self._name)
        if saved is not None and saved.uidvalidity == validity:
            return _FolderState(validity, last_uid=saved.last_uid, saved_uid=saved.last_uid, known=True)
        if saved is None and not changed_here:
            return _FolderState(validity)
        last_seen = saved.saved_at if saved is not None else dt.datetime.now(dt.UTC)
        since = (last_seen - dt.timedelta(days=1)).date()
        log.warning("%s: UIDVALIDITY changed (the folder was recreated or restored); mail since %s is read "
                    "afresh and recognised by its bytes", self.target, since)
        return _FolderState(validity, since=since)

    def _create_folders(self) -> None:
        """The processed/quarantine folders, made once per connection if they are missing."""
        for folder in sorted({f for f in self._move_to.values() if f}):
            try:
                if not self._client.folder_exists(folder):
                    self._client.create_folder(folder)
            except IMAPClientAbortError:
                raise
            except IMAPClientError as exc:
                raise MailboxError(f"{self.target}: cannot create the folder {folder!r}") from exc

    def _has(self, capability: str) -> bool:
        return capability not in self._ignored_caps and bool(self._client.has_capability(capability))

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _shutdown(client)

    # --- reading --------------------------------------------------------------------------

    def fetch_new(self) -> Iterator[Incoming]:
        """Messages not yet marked, oldest first, read with BODY.PEEK[] (reading sets no flag)."""
        for batch in self.fetch_batches():
            yield from batch

    def fetch_batches(self) -> Iterator[list[Incoming]]:
        """Messages not yet marked, oldest first, as fetched: one list per FETCH.

        Fetched in batches of at most `batch_uids` messages and about `batch_bytes` bytes,
        so a backlog of thousands is never held in memory at once. The marks given while a
        batch is in hand are sent, and the position saved, when the next one is asked for.
        A line lost midway ends the pass quietly; the rest is read on the next pass, after
        reconnecting.
        """
        state = self._session(self._attempts)
        state.whole_pass_below = None
        self._in_pass = True
        try:
            uids = self._candidates(state)
            uidnext = state.uidnext
            for batch in batches(uids, self._sizes(uids), *self._batch):
                yield list(self._fetch_batch(state, batch))
                self._flush_marks()
                if self._client is None:  # the marks met a line that stayed dead: the rest next pass
                    log.warning("%s: connection lost while marking; the rest follows next pass", self.target)
                    return
                self._save(state)
        except LINE_ERRORS as exc:
            log.warning("%s: connection lost while reading (%s); the rest follows next pass", self.target,
                        type(exc).__name__)
            self._drop()
            return
        finally:
            self._in_pass = False
            self._flush_marks()  # also when the reader stopped early (SIGTERM) or failed
            self._save(state)
        if not state.known and self._client is not None and self._state is state:
            state.whole_pass_below = max(uidnext, max(uids, default=0) + 1)
            state.advance()
            self._save(state)

    def _save(self, state: _FolderState) -> None:
        """Keep the position; a pass without a known position keeps nothing until it is whole."""
        if not state.known or state.last_uid == state.saved_uid:
            return
        try:
            self._positions.save(self._name, state.uidvalidity, state.last_uid)
        except Exception as exc:  # noqa: BLE001 - a lost save costs one re-read batch, never mail
            log.warning("%s: could not save the folder position (%s)", self.target, type(exc).__name__)
            return
        state.saved_uid = state.last_uid

    def _candidates(self, state: _FolderState) -> list[int]:
        if state.known:
            # "n:*" always matches the highest UID, even one below n: keep only what is above.
            above = self._client.search(["UID", f"{state.last_uid + 1}:*"])
            found = {u for u in map(int, above) if u > state.last_uid}
        else:
            found = {int(u) for u in self._client.search(["UNSEEN"])}
            if not state.uidnext:  # a server that leaves UIDNEXT out of SELECT: the highest UID + 1
                state.uidnext = max(map(int, self._client.search(["ALL"])), default=0) + 1
            if state.since is not None:
                found |= {int(u) for u in self._client.search(["SINCE", state.since])}
        if state.pending - found:  # handed out, then expunged by someone else: nothing to wait for
            state.pending &= found
            state.advance()
        return sorted(found)

    def _sizes(self, uids: list[int]) -> dict[int, int]:
        sizes: dict[int, int] = {}
        for start in range(0, len(uids), 500):
            for uid, data in self._client.fetch(uids[start:start + 500], ["RFC822.SIZE"]).items():
                sizes[int(uid)] = int(data.get(b"RFC822.SIZE", 0))
        return sizes

    def _fetch_batch(self, state: _FolderState, batch: list[int]) -> Iterator[Incoming]:
        response = self._client.fetch(batch, ["BODY.PEEK[]"])
        for uid in batch:
            raw = response.pop(uid, {}).get(b"BODY[]")
            if isinstance(raw, bytes):  # else expunged by someone else between SEARCH and FETCH
                state.pending.add(uid)
                yield Incoming(key=f"{state.uidvalidity}:{uid}", raw=raw)

    # --- marking --------------------------------------------------------------------------

    def mark(self, key: str, mark: Mark) -> None:
        """Record the outcome on the server. Never raises: the pipeline's ledger covers a lost mark.

        processed / ignored: \\Seen, then moved when a processed folder is configured;
        quarantined: \\Flagged + \\Seen, or moved to the quarantine folder;
        inquiry: no change, left unread for staff (\\Seen when the operator chose mark_seen).

        During a pass (while fetch_new is being read) marks are collected and sent per batch,
        one UID STORE (or MOVE) for all the batch's messages of one outcome: a round trip per
        message would cost more than handling it, the more so against a distant server. They
        are sent before the next batch is fetched and when the pass ends; a crash before that
        reads the batch again, and the ledger recognises it.
        """
        parsed = _parse_key(key)
        if parsed is None:
            log.warning("%s: ignoring a mark for a key that is not UIDVALIDITY:UID", self.target)
            return
        validity, uid = parsed
        if self._in_pass and self._state is not None and validity == self._state.uidvalidity:
            self._deferred.setdefault(mark, []).append(uid)
            return
        self._mark_now(validity, {mark: [uid]})

    def mark_many(self, marks: list[tuple[str, Mark]]) -> None:
        """Marks decided elsewhere (by the workers), sent as one STORE or MOVE per outcome."""
        by_validity: dict[int, dict[Mark, list[int]]] = {}
        for key, mark in marks:
            parsed = _parse_key(key)
            if parsed is None:
                log.warning("%s: ignoring a mark for a key that is not UIDVALIDITY:UID", self.target)
                continue
            by_validity.setdefault(parsed[0], {}).setdefault(mark, []).append(parsed[1])
        for validity, groups in by_validity.items():
            self._mark_now(validity, groups)

    def _flush_marks(self) -> None:
        if not self._deferred or self._state is None:
            return
        groups, self._deferred = self._deferred, {}
        self._mark_now(self._state.uidvalidity, groups)

    def _mark_now(self, validity: int, groups: dict[Mark, list[int]]) -> None:
        """Apply marks; a line found dead is reconnected once (STORE and MOVE bear a repeat)."""
        uids = sorted(u for group in groups.values() for u in group)
        what = f"{len(uids)} message(s) from UID {uids[0]}" if uids else "nothing"
        state: _FolderState | None = None
        for attempt in (1, 2):
            try:
                state = self._state if self._client is not None and self._state else self._session(1)
                if validity != state.uidvalidity:
                    log.warning("%s: ignoring the marks for %s: the folder's UIDVALIDITY changed", self.target,
                                what)
                    return
                for mark, group in groups.items():
                    self._apply(sorted(group), mark)
                break
            except (OSError, IMAPClientAbortError, MailboxError) as exc:
                self._drop()
                if attempt == 2:
                    log.warning("%s: could not mark %s (%s); they will be read again and recognised",
                                self.target, what, type(exc).__name__)
                    return
            except IMAPClientError as exc:  # a NO from the server (quota, missing folder, …)
                # The case changes are committed; reading them again would only meet the same refusal.
                log.warning("%s: the server refused to mark %s (%s)", self.target, what, type(exc).__name__)
                break
        if state is None:  # refused before the folder was selected (a failed login): read again
            return
        state.pending.difference_update(uids)
        state.marked_max = max(state.marked_max, *uids) if uids else state.marked_max
        state.advance()
        if not self._in_pass:  # marks for a batch handled after its pass ended (read ahead): keep the position
            self._save(state)

    def _apply(self, uids: list[int], mark: Mark) -> None:
        if self._flags[mark]:
            self._client.add_flags(uids, self._flags[mark], silent=True)
        folder = self._move_to.get(mark)
        if folder:
            self._move(uids, folder)

    def _move(self, uids: list[int], folder: str) -> None:
        """MOVE (RFC 6851), else COPY + \\Deleted + UID EXPUNGE of exactly these messages."""
        if self._has("MOVE"):
            self._client.move(uids, folder)
            return
        self._client.copy(uids, folder)
        self._client.add_flags(uids, [DELETED], silent=True)
        if self._has("UIDPLUS"):
            self._client.uid_expunge(uids)
        else:  # a plain EXPUNGE would also remove mail that others flagged \Deleted
            log.warning("%s: no UIDPLUS; the moved original stays flagged \\Deleted", self.target)

    # --- waiting --------------------------------------------------------------------------

    def wait_for_new(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Block until new mail is there or announced (IMAP IDLE), `timeout` seconds pass, or `stop` is set.

        True means: fetch now. Mail that arrived since the last pass returns True at once,
        so nothing slips in between a fetch and the IDLE. Without IDLE this sleeps and then
        looks. A lost line returns False; the next fetch reconnects. `stop` is looked at every
        second, so SIGTERM ends a wait at once rather than at the end of the slice.
        """
        stop = stop or threading.Event()
        try:
            if self._candidates(self._session(self._attempts)):
                return True
            if self._has("IDLE"):
                return self._idle(timeout, stop)
            if stop.wait(timeout):
                return False
            return bool(self._candidates(self._session(1)))
        except IMAP_ERRORS as exc:
            # Any failure while waiting — also a ProtocolError from imapclient's IDLE reader,
            # which can lose half of a line split across TLS records (imapclient #519) —
            # leaves the conversation in an unknown state: drop it and fetch afresh.
            log.warning("%s: connection lost while waiting (%s)", self.target, type(exc).__name__)
            self._drop()
            return False

    def _idle(self, timeout: float, stop: threading.Event) -> bool:
        """IDLE until EXISTS/RECENT, re-issued every `idle_renew_seconds` (well before 29 minutes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stop.is_set():
            until = min(deadline, time.monotonic() + self._idle_renew)
            self._client.idle()
            try:
                woke = self._idle_until(until, stop)
            except BaseException:
                with contextlib.suppress(*IMAP_ERRORS):
                    self._client.idle_done()
                raise
            late = self._client.idle_done()[1]  # what came in just before DONE counts too
            if woke or _announces_new(late):
                return True
        return False

    def _idle_until(self, until: float, stop: threading.Event) -> bool:
        while (left := until - time.monotonic()) > 0 and not stop.is_set():
            started = time.monotonic()
            step = min(left, STOP_CHECK_SECONDS)
            responses = self._client.idle_check(timeout=step)
            if any(_is_bye(r) for r in responses):
                raise IMAPClientAbortError("the server ended the session")
            if _announces_new(responses):
                return True
            if not responses and time.monotonic() - started < step / 2:
                raise IMAPClientAbortError("the connection closed during IDLE")  # EOF polls as readable
        return False

    def close(self) -> None:
        """Keep the position, log out politely; a line that is already gone is simply closed."""
        self._flush_marks()
        if self._state is not None:
            self._save(self._state)
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except IMAP_ERRORS:
            _shutdown(client)


def batches(uids: list[int], sizes: dict[int, int], max_count: int, max_bytes: int) -> Iterator[list[int]]:
    """UIDs in order, in batches of at most `max_count` messages and about `max_bytes` bytes.

    A single message larger than `max_bytes` gets a batch of its own.
    """
    return batched(uids, lambda uid: sizes.get(uid, 0), max_count, max_bytes)


def _parse_key(key: str) -> tuple[int, int] | None:
    validity, _, uid = key.partition(":")
    if validity.isdigit() and uid.isdigit():
        return int(validity), int(uid)
    return None


def _announces_new(responses: Iterable[Any]) -> bool:
    """An untagged EXISTS, or RECENT above zero: something arrived."""
    return any(isinstance(r, tuple) and len(r) >= 2 and isinstance(r[0], int)
               and (r[1] == b"EXISTS" or (r[1] == b"RECENT" and r[0] > 0)) for r in responses)


def _is_bye(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 1 and response[0] == b"BYE"


def _shutdown(client: Any) -> None:
    with contextlib.suppress(*IMAP_ERRORS):
        client.shutdown()
