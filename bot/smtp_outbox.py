"""Replies out over SMTP (aiosmtplib), encrypted whenever the server allows it.

smtp://[user@]host:port uses STARTTLS when the server offers it (and insists on it when a
password is configured, or when `require_tls` is set); smtps://[user@]host:port speaks TLS
from the first byte. Certificates are always verified, against the configured CA file when
there is one. The login is the password, or — for Microsoft 365 and Google Workspace — an
OAuth 2.0 access token by SASL XOAUTH2 (aiosmtplib's `auth_xoauth2`), taken from the token
provider (bot/oauth.py) for each connection.

One connection carries a whole delivery run (the delivery loop calls `close()` at its end):
the 250 for one reply is followed at once by our commit, with no QUIT and no new TLS
handshake in between. That keeps the window in which a crash re-sends a reply as short as
SMTP allows (RFC 1047), and saves a handshake per reply. A connection that failed is
dropped, and the next reply opens a new one; one that sat idle is checked with NOOP first.

The delivery loop needs one decision from us: can a retry help? A 5xx answer to this
message (sender, recipient or data refused) is permanent. A 4xx, a timeout, a refused or
dropped connection, a TLS failure, and session-level refusals that every message would meet
alike (a 5xx greeting, a failed login) are temporary: a retry after the operator's fix
delivers, and the delivery loop bounds the attempts. The bytes go out as they are; they
already carry a stable Message-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPConnectResponseError,
    SMTPException,
    SMTPRecipientsRefused,
    SMTPResponseException,
)

from bot.oauth import OAuthError, TokenProvider
from bot.outbox import DeliveryError, PermanentDeliveryError, TemporaryDeliveryError
from bot.tls import client_context

log = logging.getLogger("madoguchi.smtp")
_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}\b")


@dataclass(frozen=True)
class SmtpTarget:
    """Where replies go: parsed from smtp://[user@]host:port or smtps://[user@]host:port."""

    host: str
    port: int
    user: str | None
    implicit_tls: bool

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"not an smtp:// or smtps:// URL (scheme {parts.scheme!r})")
        implicit = parts.scheme == "smtps"
        return cls(host=parts.hostname, port=parts.port or (465 if implicit else 587),
                   user=unquote(parts.username) if parts.username else None, implicit_tls=implicit)

    def __str__(self) -> str:  # without the user: it may be a personal address
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port}"


class SmtpOutbox:
    """The Outbox protocol over SMTP, one connection per delivery run (see the module doc)."""

    MAX_PER_CONNECTION = 100  # servers cap messages per session (Exchange Online, Postfix limits)
    IDLE_CHECK_SECONDS = 30.0  # longer than this unused: NOOP before trusting the connection

    def __init__(self, target: SmtpTarget, *, password: str | None = None, ca_file: Path | None = None,
                 require_tls: bool = False, timeout: float = 60.0,
                 token_provider: TokenProvider | None = None) -> None:
        if target.user and password is None and token_provider is None:
            raise ValueError("an SMTP user needs a password or an OAuth token provider")
        if token_provider is not None and not target.user:
            raise ValueError("XOAUTH2 needs the user in the URL (smtp://user@host:587)")
        self.target = target
        self._password = password
        self._tokens = token_provider
        self._ca_file = ca_file
        self._require_tls = require_tls or target.user is not None
        self._timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: aiosmtplib.SMTP | None = None
        self._sent_on_client = 0
        self._last_used = 0.0
        self.connections_opened = 0  # for tests and the benchmark: how many sessions a run needed

    @classmethod
    def from_url(cls, url: str, *, password: str | None = None, ca_file: Path | None = None,
                 require_tls: bool = False, timeout: float = 60.0,
                 token_provider: TokenProvider | None = None) -> SmtpOutbox:
        return cls(SmtpTarget.from_url(url), password=password, ca_file=ca_file, require_tls=require_tls,
                   timeout=timeout, token_provider=token_provider)

    def deliver(self, raw: bytes, message_id: str, sender: str, recipients: list[str]) -> None:
        """Hand one message to the server; raise Temporary/PermanentDeliveryError on failure."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._deliver(raw, sender, recipients))
            except DeliveryError:
                self._drop()
                raise
            except (SMTPException, OSError, TimeoutError) as exc:
                self._drop()
                if isinstance(exc, SMTPAuthenticationError) and self._tokens is not None:
                    self._tokens.invalidate()  # refused: the next attempt fetches a new token
                error = classify(exc)
                log.warning("%s: delivery failed (%s, permanent=%s)", self.target, type(exc).__name__,
                            error.permanent)
                raise error from exc

    def close(self) -> None:
        """End the session politely (QUIT); the outbox stays usable and reconnects when asked."""
        with self._lock:
            if self._loop is None:
                return
            client, self._client = self._client, None
            if client is not None and client.is_connected:
                with contextlib.suppress(SMTPException, OSError, TimeoutError):
                    self._loop.run_until_complete(client.quit(timeout=min(self._timeout, 10.0)))
                client.close()
            self._loop.close()
            self._loop = None

    async def _deliver(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        client = await self._session()
        refused, _ = await client.sendmail(sender, recipients, raw)
        self._sent_on_client += 1
        self._last_used = time.monotonic()
        if refused:  # some recipients took it: a retry would send it to them twice
            log.warning("%s: %d of %d recipients refused the message", self.target, len(refused),
                        len(recipients))

    async def _session(self) -> aiosmtplib.SMTP:
        """The open connection when it is still good, else a new, secured, logged-in one."""
        client = self._client
        if client is not None and client.is_connected and self._sent_on_client < self.MAX_PER_CONNECTION:
            if time.monotonic() - self._last_used < self.IDLE_CHECK_SECONDS:
                return client
            try:
                await client.noop()
                return client
            except (SMTPException, OSError, TimeoutError):
                pass  # the server let it go while we were idle: a new one, nothing was sent on it
        if client is not None:
            with contextlib.suppress(SMTPException, OSError, TimeoutError):
                if client.is_connected:
                    await client.quit(timeout=min(self._timeout, 10.0))
            client.close()
        self._client = None
        self._client = await self._connect()
        self._sent_on_client = 0
        return self._client

    async def _connect(self) -> aiosmtplib.SMTP:
        t = self.target
        token = self._token()
        client = aiosmtplib.SMTP(hostname=t.host, port=t.port, use_tls=t.implicit_tls, start_tls=False,
                                 tls_context=client_context(self._ca_file), validate_certs=True, timeout=self._timeout)
        await client.connect()
        self.connections_opened += 1
        try:
            await self._secure(client)
            if t.user is not None and token is not None:
                await self._xoauth2(client, t.user, token)
            elif t.user is not None and self._password is not None:
                await client.login(t.user, self._password)
        except BaseException:
            client.close()
            raise
        return client

    def _drop(self) -> None:
        """Forget a connection after a failure: its state is unknown, the next reply opens a new one."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _token(self) -> str | None:
        """The access token for XOAUTH2 (None: password login); a failure is temporary, like a failed login."""
        if self._tokens is None:
            return None
        try:
            return self._tokens.token()
        except OAuthError as exc:
            log.warning("%s: no OAuth access token (%s)", self.target, exc)
            raise TemporaryDeliveryError(f"no OAuth access token: {exc}") from exc

    async def _secure(self, client: aiosmtplib.SMTP) -> None:
        if self.target.implicit_tls:
            return
        await client.ehlo()
        if client.supports_extension("starttls"):
            await client.starttls()
        elif self._require_tls:
            raise TemporaryDeliveryError(
                f"{self.target} does not offer STARTTLS: refusing to send the password or the mail in clear text")

    async def _xoauth2(self, client: aiosmtplib.SMTP, user: str, token: str) -> None:
        auth = getattr(client, "auth_xoauth2", None)  # aiosmtplib 5 has it; older ones do not
        if auth is None:
            raise TemporaryDeliveryError("this aiosmtplib has no XOAUTH2 (auth_xoauth2): upgrade aiosmtplib")
        await client.ehlo()  # after STARTTLS the server's capabilities are asked again (RFC 3207)
        if not client.supports_extension("auth") or "xoauth2" not in _auth_mechanisms(client):
            log.warning("%s: the server does not advertise AUTH XOAUTH2; trying it anyway", self.target)
        await auth(user, token)


def _auth_mechanisms(client: aiosmtplib.SMTP) -> set[str]:
    """The SASL mechanisms named in the server's EHLO AUTH line, lower case."""
    return {m.lower() for m in client.esmtp_extensions.get("auth", "").split()}


def classify(exc: BaseException) -> DeliveryError:
    """Temporary or permanent, from the SMTP reply code or the kind of failure (see module doc)."""
    if isinstance(exc, SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        permanent = bool(codes) and all(500 <= c < 600 for c in codes)
        kind: type[DeliveryError] = PermanentDeliveryError if permanent else TemporaryDeliveryError
        return kind(f"all recipients refused (codes {sorted(set(codes))})")
    if isinstance(exc, SMTPResponseException):
        session_wide = isinstance(exc, SMTPAuthenticationError | SMTPConnectResponseError)
        reply = f"{exc.code} {_enhanced_status(exc.message)}".strip()
        if 500 <= exc.code < 600 and not session_wide:
            return PermanentDeliveryError(f"refused by the server: {reply}")
        return TemporaryDeliveryError(f"the server answered {reply}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TemporaryDeliveryError(f"the server's certificate is not trusted ({exc.verify_message})")
    if isinstance(exc, OSError):  # refused, reset, dropped (SMTPServerDisconnected), timeouts
        return TemporaryDeliveryError(f"the connection to the server failed ({type(exc).__name__})")
    return TemporaryDeliveryError(f"the SMTP conversation failed ({type(exc).__name__})")


def _enhanced_status(message: str) -> str:
    """Only the RFC 3463 code ("5.1.1") of a reply: its free text may quote an address."""
    match = _ENHANCED.match(message or "")
    return match.group(0) if match else ""
