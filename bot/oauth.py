"""OAuth 2.0 access tokens for IMAP and SMTP (SASL XOAUTH2), where basic auth is switched off.

Microsoft 365 (Exchange Online) and Google Workspace refuse passwords for IMAP and SMTP;
they want an access token, sent with the user name in the SASL XOAUTH2 format. This module
only obtains the token; imapclient (`oauth2_login`) and aiosmtplib (`auth_xoauth2`) send it.

Two sources, chosen by settings (docs/mail-servers.md shows both at work):

* a command (`CommandSource`): run without a shell; the first line of its output is the
  token, or the output is a JSON object {"access_token": "...", "expires_in": 3599}. Any
  helper fits: a google-auth script for a Workspace service account (whose JWT assertion
  the client-credentials flow below does not do), a vault client, `az account get-access-token`.
* the OAuth 2.0 client-credentials grant (`ClientCredentialsSource`, RFC 6749 section 4.4),
  done with urllib: a form POST of grant_type, client_id, client_secret and scope to the
  token URL, answered with JSON. This is what Exchange Online documents for daemons.

`TokenProvider` caches the token and fetches a new one `margin` seconds before it expires
(a token without `expires_in` is kept for 50 minutes), with an injected clock for tests.

Secrets stay secret: the client secret and the tokens are never logged, never part of an
exception's message, and not shown by repr(). An error from the token endpoint is reduced
to its HTTP status, its `error` code and a shortened `error_description`, from which the
secret is cut out should a server ever echo it.
"""

from __future__ import annotations

import http.client
import json
import logging
import shlex
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from bot.tls import client_context

log = logging.getLogger("madoguchi.oauth")

REFRESH_MARGIN_SECONDS = 5 * 60.0
#: A token that does not say how long it lives is used for this long (tokens usually live 60 minutes).
DEFAULT_LIFETIME_SECONDS = 50 * 60.0
MAX_RESPONSE_BYTES = 1024 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class OAuthError(Exception):
    """No token could be obtained; str() is safe to show and log (no secret, no token)."""


@dataclass(frozen=True)
class Token:
    """An access token and how many seconds it lives (None: not said)."""

    access_token: str = field(repr=False)
    expires_in: float | None = None


class TokenSource(Protocol):
    def fetch(self) -> Token: ...

    def describe(self) -> str:
        """Where tokens come from, for messages and logs (no secret)."""
        ...


# --- the command ----------------------------------------------------------------------------


class CommandSource:
    """Runs a configured command (no shell) and reads the token from its standard output.

    Its standard error is not captured: it goes to madoguchi's own standard error (the
    journal), so that the helper's diagnostics reach the operator without this process ever
    reading, logging or quoting them.
    """

    def __init__(self, command: str | Sequence[str], *, timeout: float = 60.0,
                 cwd: Path | None = None) -> None:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise ValueError("the token command is empty")
        self._argv = argv
        self._timeout = timeout
        self._cwd = cwd

    def describe(self) -> str:
        return f"the token command {Path(self._argv[0]).name!r}"

    def fetch(self) -> Token:
        try:
            done = subprocess.run(self._argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None,
                                  timeout=self._timeout, check=False, cwd=self._cwd)
        except FileNotFoundError as exc:
            raise OAuthError(f"{self.describe()} was not found") from exc
        except PermissionError as exc:
            raise OAuthError(f"{self.describe()} cannot be run (permission denied)") from exc
        except subprocess.TimeoutExpired as exc:
            raise OAuthError(f"{self.describe()} did not finish within {self._timeout:g} seconds") from exc
        except OSError as exc:
            raise OAuthError(f"{self.describe()} cannot be run ({exc.strerror or type(exc).__name__})") from exc
        if done.returncode != 0:
            raise OAuthError(f"{self.describe()} failed with exit status {done.returncode} "
                             "(its own messages are on madoguchi's standard error)")
        return _parse_command_output(done.stdout, self.describe())


def _parse_command_output(stdout: bytes, what: str) -> Token:
    try:
        text = stdout.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise OAuthError(f"{what} printed something that is not UTF-8 text") from exc
    if not text:
        raise OAuthError(f"{what} printed no token")
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OAuthError(f"{what} printed JSON that cannot be read (at line {exc.lineno})") from exc
        return _token_from_json(data, what)
    return Token(_checked_token(text.splitlines()[0].strip(), what), None)


# --- the client-credentials grant -------------------------------------------------------------


class ClientCredentialsSource:
    """OAuth 2.0 client-credentials grant: POST a form to the token URL, read the JSON answer."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: str, *,
                 timeout: float = 30.0, ca_file: Path | None = None) -> None:
        parts = urlsplit(token_url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
            raise ValueError("the token URL must be https:// (plain http:// only on loopback, for tests)")
        if not (client_id and client_secret and scope):
            raise ValueError("the client-credentials grant needs a client id, a client secret and a scope")
        self._url = token_url
        self._host = parts.hostname or "?"
        self._client_id = client_id
        self._secret = client_secret
        self._scope = scope
        self._timeout = timeout
        self._ca_file = ca_file

    def __repr__(self) -> str:  # never the secret
        return f"ClientCredentialsSource({self._url!r}, client_id={self._client_id!r}, scope={self._scope!r})"

    def describe(self) -> str:
        return f"the token endpoint {self._host}"

    def fetch(self) -> Token:
        body = urlencode({"grant_type": "client_credentials", "client_id": self._client_id,
                          "client_secret": self._secret, "scope": self._scope}).encode("ascii")
        request = urllib.request.Request(
            self._url, data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
                     "User-Agent": "madoguchi"})
        context = client_context(self._ca_file) if self._url.startswith("https:") else None
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=context) as response:
                raw = response.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            raise OAuthError(self._refusal(exc)) from None
        except urllib.error.URLError as exc:
            reason = exc.reason if isinstance(exc.reason, str) else type(exc.reason).__name__
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                reason = f"certificate not trusted: {exc.reason.verify_message}"
            raise OAuthError(f"{self.describe()} cannot be reached ({self._redact(str(reason))})") from None
        except (TimeoutError, OSError) as exc:
            raise OAuthError(f"{self.describe()} cannot be reached ({type(exc).__name__})") from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise OAuthError(f"{self.describe()} answered with something that is not JSON") from None
        return _token_from_json(data, self.describe())

    def _refusal(self, exc: urllib.error.HTTPError) -> str:
        """'... refused the request: HTTP 401 invalid_client (AADSTS7000215: ...)', secret cut out."""
        detail = ""
        try:
            data: Any = json.loads(exc.read(MAX_RESPONSE_BYTES).decode("utf-8"))
        except (OSError, ValueError, http.client.HTTPException):  # unreadable: the status alone is the message
            data = None
        if isinstance(data, dict):
            code = data.get("error")
            description = data.get("error_description")
            if isinstance(code, str) and code:
                detail += f" {_printable(self._redact(code), 60)}"
            if isinstance(description, str) and description.strip():
                detail += f" ({_printable(self._redact(description).strip().splitlines()[0], 300)})"
        return f"{self.describe()} refused the request: HTTP {exc.code}{detail}"

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "[secret]") if self._secret else text


def _token_from_json(data: Any, what: str) -> Token:
    if not isinstance(data, dict):
        raise OAuthError(f"{what} answered with JSON that is not an object")
    token_type = data.get("token_type")
    if isinstance(token_type, str) and token_type.lower() != "bearer":
        raise OAuthError(f"{what} issued a token of type {_printable(token_type, 30)!r}, not Bearer")
    access = data.get("access_token")
    if not isinstance(access, str) or not access.strip():
        raise OAuthError(f"{what} answered without an access_token")
    expires: Any = data.get("expires_in")
    lifetime: float | None = None
    if expires is not None and expires != "":
        try:
            lifetime = float(expires)
        except (TypeError, ValueError):
            raise OAuthError(f"{what} answered with an expires_in that is not a number") from None
        if not lifetime > 0:
            raise OAuthError(f"{what} answered with an expires_in that is not above zero")
    return Token(_checked_token(access.strip(), what), lifetime)


def _checked_token(token: str, what: str) -> str:
    """A token is one printable word: a space or a control character would break SASL XOAUTH2."""
    if not token or not token.isprintable() or any(c.isspace() for c in token):
        raise OAuthError(f"{what} produced a token with spaces or control characters")
    return token


def _printable(text: str, limit: int) -> str:
    clean = "".join(c if c.isprintable() else " " for c in text).strip()
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


# --- the cache --------------------------------------------------------------------------------


class TokenProvider:
    """A cached access token from one source, fetched again `margin` seconds before it expires.

    `clock` returns seconds (monotonic); a test passes a fake one. Thread-safe: the IMAP
    mailbox and the SMTP outbox may ask at the same time and share one token.
    """

    def __init__(self, source: TokenSource, *, clock: Callable[[], float] = time.monotonic,
                 margin: float = REFRESH_MARGIN_SECONDS,
                 default_lifetime: float = DEFAULT_LIFETIME_SECONDS) -> None:
        self.source = source
        self._clock = clock
        self._margin = margin
        self._default_lifetime = default_lifetime
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def __repr__(self) -> str:
        return f"TokenProvider({self.source.describe()})"

    def token(self) -> str:
        """A token valid for at least `margin` more seconds (when the source says how long); OAuthError if none."""
        with self._lock:
            if self._token is not None and self._clock() < self._renew_at:
                return self._token
            asked = self._clock()  # counted from before the request: never later than the server's clock
            fresh = self.source.fetch()
            self._token = fresh.access_token
            self._renew_at = asked + self._lifetime(fresh.expires_in)
            log.info("obtained an OAuth access token from %s", self.source.describe())
            return self._token

    def _lifetime(self, expires_in: float | None) -> float:
        if expires_in is None:
            return self._default_lifetime
        if expires_in > 2 * self._margin:
            return expires_in - self._margin
        return expires_in / 2  # a short-lived token: renew halfway rather than on every use

    def invalidate(self) -> None:
        """Forget the cached token (the server refused it: revoked, or permissions changed)."""
        with self._lock:
            self._token = None
            self._renew_at = 0.0


def provider_from_settings(command: str | None, token_url: str | None, client_id: str | None,
                           client_secret: str | None, scope: str | None, *,
                           cwd: Path | None = None) -> TokenProvider | None:
    """The provider the settings describe, or None when no OAuth setting is given.

    config.settings has already checked that the combination is complete and unambiguous.
    """
    if command:
        return TokenProvider(CommandSource(command, cwd=cwd))
    if token_url:
        return TokenProvider(ClientCredentialsSource(token_url, client_id or "", client_secret or "", scope or ""))
    return None
