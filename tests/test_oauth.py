"""OAuth 2.0 tokens for XOAUTH2: the command source, the client-credentials grant against a real
local HTTP server, caching with a fake clock, secrets kept out of messages and logs, and the
IMAP mailbox and SMTP outbox logging in with the token."""

from __future__ import annotations

import base64
import json
import logging
import shlex
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from imapclient.exceptions import LoginError

from bot.app import make_mailbox, make_outbox
from bot.imap_mailbox import ImapMailbox, MailboxError
from bot.oauth import (
    ClientCredentialsSource,
    CommandSource,
    OAuthError,
    Token,
    TokenProvider,
    provider_from_settings,
)
from bot.outbox import TemporaryDeliveryError
from bot.smtp_outbox import SmtpOutbox
from config.settings import SettingsError, load_settings
from tests.servers import LOOPBACK, RecordingHandler, SmtpServer, ThrowawayCert

SECRET = "s3cr3t~Value.With-Chars_0123456789"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature"
TENANT = "contoso.onmicrosoft.com"


# --- helpers ------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class CountingSource:
    """A token source that hands out tok-1, tok-2, … and says how long each lives."""

    expires_in: float | None = 3600.0
    calls: int = 0

    def fetch(self) -> Token:
        self.calls += 1
        return Token(f"tok-{self.calls}", self.expires_in)

    def describe(self) -> str:
        return "the counting source"


def script(tmp_path: Path, body: str) -> str:
    """A tiny Python script in tmp_path, as a command line run without a shell."""
    path = tmp_path / "get-token.py"
    path.write_text(body, encoding="utf-8")
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(path))}"


# --- the command source ---------------------------------------------------------------------------


def test_command_prints_the_token_on_its_first_line(tmp_path: Path) -> None:
    source = CommandSource(script(tmp_path, f"print({TOKEN!r})\nprint('second line is ignored')\n"))
    token = source.fetch()
    assert token.access_token == TOKEN and token.expires_in is None
    assert TOKEN not in repr(token)


def test_command_prints_json_with_expiry(tmp_path: Path) -> None:
    out = json.dumps({"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"})
    token = CommandSource(script(tmp_path, f"print({out!r})\n")).fetch()
    assert token == Token(TOKEN, 3599.0)


def test_command_runs_without_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "injected"
    command = script(tmp_path, "import sys\nprint('t-' + str(len(sys.argv)))\n") + f" ; touch {marker}"
    assert CommandSource(command).fetch().access_token == "t-4"  # ';', 'touch' and the path are arguments
    assert not marker.exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (f"import sys\nprint({TOKEN!r})\nsys.exit(3)\n", "exit status 3"),
        ("pass\n", "printed no token"),
        (f"print('Bearer ' + {TOKEN!r})\n", "spaces or control characters"),
        ("print('{\"expires_in\": 60}')\n", "without an access_token"),
        (f"print('{{\"access_token\": \"{TOKEN}\", \"expires_in\": \"soon\"}}')\n", "not a number"),
        ("print('{not json')\n", "cannot be read"),
    ],
)
def test_command_failures_are_clear_and_never_quote_the_output(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(OAuthError, match=expected) as caught:
        CommandSource(script(tmp_path, body)).fetch()
    assert TOKEN not in str(caught.value)


def test_missing_command_and_timeout(tmp_path: Path) -> None:
    with pytest.raises(OAuthError, match="was not found"):
        CommandSource(str(tmp_path / "no-such-helper")).fetch()
    slow = CommandSource(script(tmp_path, "import time\ntime.sleep(5)\n"), timeout=0.5)
    with pytest.raises(OAuthError, match="did not finish within 0.5 seconds"):
        slow.fetch()


# --- caching and refresh --------------------------------------------------------------------------


def test_token_is_cached_and_refreshed_five_minutes_before_expiry() -> None:
    clock, source = FakeClock(), CountingSource(expires_in=3600)
    provider = TokenProvider(source, clock=clock)
    assert provider.token() == "tok-1"
    clock.now += 3600 - 300 - 1
    assert provider.token() == "tok-1" and source.calls == 1
    clock.now += 1
    assert provider.token() == "tok-2" and source.calls == 2


def test_token_without_expiry_is_refreshed_after_fifty_minutes() -> None:
    clock, source = FakeClock(), CountingSource(expires_in=None)
    provider = TokenProvider(source, clock=clock)
    provider.token()
    clock.now += 50 * 60 - 1
    assert provider.token() == "tok-1"
    clock.now += 1
    assert provider.token() == "tok-2"


def test_short_lived_token_is_renewed_halfway_not_on_every_use() -> None:
    clock, source = FakeClock(), CountingSource(expires_in=120)
    provider = TokenProvider(source, clock=clock)
    provider.token()
    clock.now += 59
    assert provider.token() == "tok-1"
    clock.now += 1
    assert provider.token() == "tok-2"


def test_invalidate_forgets_the_token_and_failures_are_not_cached() -> None:
    clock, source = FakeClock(), CountingSource()
    provider = TokenProvider(source, clock=clock)
    provider.token()
    provider.invalidate()
    assert provider.token() == "tok-2"

    class Failing:
        def fetch(self) -> Token:
            raise OAuthError("the endpoint is down")

        def describe(self) -> str:
            return "failing"

    failing = TokenProvider(Failing(), clock=clock)
    for _ in range(2):  # each call tries again
        with pytest.raises(OAuthError, match="down"):
            failing.token()


# --- the client-credentials grant against a real HTTP server --------------------------------------


@dataclass
class TokenEndpoint:
    """A token endpoint on 127.0.0.1: records each request; `reply` decides the answer."""

    reply: tuple[int, bytes] = (200, json.dumps({"token_type": "Bearer", "expires_in": 3599,
                                                 "ext_expires_in": 3599, "access_token": TOKEN}).encode())
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def endpoint() -> Iterator[TokenEndpoint]:
    state = TokenEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server naming
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("ascii")
            state.requests.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                   "form": {k: v[0] for k, v in parse_qs(body, strict_parsing=True).items()},
                                   "repeated": any(len(v) > 1 for v in parse_qs(body).values())})
            status, payload = state.reply
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep the test output quiet
            return None

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://{LOOPBACK}:{server.server_address[1]}/{TENANT}/oauth2/v2.0/token"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def grant(url: str, secret: str = SECRET) -> ClientCredentialsSource:
    return ClientCredentialsSource(url, "00000000-aaaa-bbbb-cccc-111111111111", secret,
                                   "https://outlook.office365.com/.default", timeout=5)


def test_client_credentials_posts_the_form_and_reads_the_token(endpoint: TokenEndpoint) -> None:
    token = grant(endpoint.url).fetch()
    assert token == Token(TOKEN, 3599.0)
    [request] = endpoint.requests
    assert request["path"] == f"/{TENANT}/oauth2/v2.0/token"
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {"grant_type": "client_credentials", "client_id": "00000000-aaaa-bbbb-cccc-111111111111",
                               "client_secret": SECRET, "scope": "https://outlook.office365.com/.default"}
    assert not request["repeated"]


def test_client_credentials_from_settings_with_a_secret_file(endpoint: TokenEndpoint, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(SECRET + "\n", encoding="utf-8")
    settings = load_settings(environ={
        "MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL": endpoint.url,
        "MADOGUCHI_MAILBOX_OAUTH_CLIENT_ID": "app-id",
        "MADOGUCHI_MAILBOX_OAUTH_CLIENT_SECRET_FILE": str(tmp_path / "secret"),
        "MADOGUCHI_MAILBOX_OAUTH_SCOPE": "https://outlook.office365.com/.default",
    })
    assert SECRET not in repr(settings)
    provider = provider_from_settings(settings.mailbox_oauth_token_command, settings.mailbox_oauth_token_url,
                                      settings.mailbox_oauth_client_id, settings.mailbox_oauth_client_secret,
                                      settings.mailbox_oauth_scope)
    assert provider is not None
    assert provider.token() == TOKEN
    assert endpoint.requests[0]["form"]["client_secret"] == SECRET
    assert SECRET not in repr(provider) and SECRET not in repr(provider.source)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"error": "invalid_client", "error_description":
               f"AADSTS7000215: Invalid client secret provided ({SECRET}).\r\nTrace ID: 1"},
         r"HTTP 401 invalid_client \(AADSTS7000215: Invalid client secret provided \(\[secret\]\)\.\)"),
        (400, {"error": "invalid_scope", "error_description": "AADSTS70011: The provided value for scope is not valid."},
         r"HTTP 400 invalid_scope \(AADSTS70011"),
        (400, {"error": "unauthorized_client"}, r"HTTP 400 unauthorized_client$"),
    ],
)
def test_refusals_name_status_and_error_without_the_secret(endpoint: TokenEndpoint, caplog: pytest.LogCaptureFixture,
                                                          status: int, body: dict[str, str], expected: str) -> None:
    endpoint.reply = (status, json.dumps(body).encode())
    caplog.set_level(logging.DEBUG)
    with pytest.raises(OAuthError, match=expected) as caught:
        TokenProvider(grant(endpoint.url)).token()
    message = str(caught.value)
    assert message.startswith(f"the token endpoint {LOOPBACK} refused the request")
    assert SECRET not in message and SECRET not in caplog.text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ((500, b"<html>oops</html>"), r"HTTP 500$"),
        ((200, b"not json"), "not JSON"),
        ((200, json.dumps({"token_type": "Bearer", "expires_in": 3599}).encode()), "without an access_token"),
        ((200, json.dumps({"token_type": "mac", "access_token": TOKEN}).encode()), "not Bearer"),
    ],
)
def test_bad_answers_are_clear(endpoint: TokenEndpoint, reply: tuple[int, bytes], expected: str) -> None:
    endpoint.reply = reply
    with pytest.raises(OAuthError, match=expected) as caught:
        grant(endpoint.url).fetch()
    assert TOKEN not in str(caught.value) and SECRET not in str(caught.value)


def test_unreachable_endpoint() -> None:
    from tests.servers import free_port

    with pytest.raises(OAuthError, match="cannot be reached") as caught:
        grant(f"http://{LOOPBACK}:{free_port()}/token").fetch()
    assert SECRET not in str(caught.value)


def test_token_url_must_be_https_except_on_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        grant("http://login.example.com/token")


def test_secret_and_token_never_logged(endpoint: TokenEndpoint, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    TokenProvider(grant(endpoint.url)).token()
    assert "obtained an OAuth access token" in caplog.text
    assert SECRET not in caplog.text and TOKEN not in caplog.text


# --- settings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND": "true", "MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL": "https://x.example/t"},
         "MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND: set either"),
        ({"MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL": "https://login.example/t", "MADOGUCHI_MAILBOX_OAUTH_CLIENT_ID": "a",
          "MADOGUCHI_MAILBOX_OAUTH_CLIENT_SECRET": "b"}, "MADOGUCHI_MAILBOX_OAUTH_SCOPE: needed"),
        ({"MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL": "https://login.example/t", "MADOGUCHI_MAILBOX_OAUTH_CLIENT_ID": "a",
          "MADOGUCHI_MAILBOX_OAUTH_SCOPE": "s"}, "MADOGUCHI_MAILBOX_OAUTH_CLIENT_SECRET: needed"),
        ({"MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL": "http://login.example/t"}, "MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL: .* https"),
        ({"MADOGUCHI_MAILBOX_OAUTH_CLIENT_ID": "a"}, "MADOGUCHI_MAILBOX_OAUTH_CLIENT_ID: only used with"),
        ({"MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND": "/nonexistent/get-token --x"},
         "MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND: no program"),
        ({"MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND": "no-such-program-madoguchi"}, "not found on PATH"),
        ({"MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND": "get-token 'unclosed"}, "cannot be split"),
        ({"MADOGUCHI_OUTBOX_AUTH": "kerberos"}, "MADOGUCHI_OUTBOX_AUTH"),
    ],
)
def test_oauth_settings_errors_name_the_setting(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        load_settings(environ=env)


def test_relative_command_resolves_against_the_config_file(tmp_path: Path) -> None:
    helper = tmp_path / "bin" / "get-token"
    helper.parent.mkdir()
    helper.write_text("#!/bin/sh\necho tok\n", encoding="utf-8")
    helper.chmod(0o755)
    conf = tmp_path / "madoguchi.toml"
    conf.write_text('mailbox_oauth_token_command = "bin/get-token --user \'window@example.jp\'"\n', encoding="utf-8")
    s = load_settings(str(conf), environ={})
    assert s.mailbox_oauth_token_command == f"{helper} --user window@example.jp"


IMAP_URL = "imaps://window%40example.co.jp@outlook.office365.com:993/INBOX"


def test_make_mailbox_needs_a_password_or_token_settings(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="MADOGUCHI_MAILBOX_PASSWORD: needed .*MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL"):
        make_mailbox(load_settings(environ={"MADOGUCHI_MAILBOX_URL": IMAP_URL}))
    command = script(tmp_path, "print('tok')\n")
    box = make_mailbox(load_settings(environ={"MADOGUCHI_MAILBOX_URL": IMAP_URL,
                                              "MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND": command}))
    assert isinstance(box, ImapMailbox)
    with pytest.raises(SettingsError, match="MADOGUCHI_MAILBOX_PASSWORD: not used with OAuth"):
        make_mailbox(load_settings(environ={"MADOGUCHI_MAILBOX_URL": IMAP_URL, "MADOGUCHI_MAILBOX_PASSWORD": "pw",
                                            "MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND": command}))


def test_make_outbox_xoauth2(tmp_path: Path) -> None:
    smtp = "smtp://window%40example.co.jp@smtp.office365.com:587"
    with pytest.raises(SettingsError, match="MADOGUCHI_OUTBOX_AUTH: xoauth2 needs"):
        make_outbox(load_settings(environ={"MADOGUCHI_OUTBOX_URL": smtp, "MADOGUCHI_OUTBOX_AUTH": "xoauth2"}))
    command = script(tmp_path, "print('tok')\n")
    outbox = make_outbox(load_settings(environ={"MADOGUCHI_OUTBOX_URL": smtp, "MADOGUCHI_OUTBOX_AUTH": "xoauth2",
                                                "MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND": command}))
    assert isinstance(outbox, SmtpOutbox)
    with pytest.raises(SettingsError, match="MADOGUCHI_OUTBOX_PASSWORD: needed .*xoauth2"):
        make_outbox(load_settings(environ={"MADOGUCHI_OUTBOX_URL": smtp,
                                           "MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND": command}))


# --- the IMAP mailbox logs in with the token (the `_connect` seam, a fake client) ----------------------


class FakeImapClient:
    """Records what ImapMailbox._connect does with the connection; `refuse` makes the login fail."""

    instances: list[FakeImapClient] = []
    refuse = False

    def __init__(self, host: str, **options: Any) -> None:
        self.host, self.options = host, options
        self.calls: list[tuple[Any, ...]] = []
        FakeImapClient.instances.append(self)

    def oauth2_login(self, user: str, token: str) -> bytes:
        self.calls.append(("oauth2_login", user, token))
        if FakeImapClient.refuse:
            raise LoginError("AUTHENTICATE failed.")
        return b"OK"

    def login(self, user: str, password: str) -> bytes:
        self.calls.append(("login", user, password))
        return b"OK"

    def shutdown(self) -> None:
        self.calls.append(("shutdown",))


@pytest.fixture
def fake_imap(monkeypatch: pytest.MonkeyPatch) -> type[FakeImapClient]:
    FakeImapClient.instances = []
    FakeImapClient.refuse = False
    monkeypatch.setattr("bot.imap_mailbox.IMAPClient", FakeImapClient)
    return FakeImapClient


def test_imap_logs_in_with_oauth2_and_a_valid_token_on_each_connect(fake_imap: type[FakeImapClient]) -> None:
    clock, source = FakeClock(), CountingSource(expires_in=3600)
    box = ImapMailbox.from_url("imaps://window%40example.co.jp@outlook.office365.com/INBOX", None,
                               token_provider=TokenProvider(source, clock=clock))
    first = box._connect()
    assert first.calls == [("oauth2_login", "window@example.co.jp", "tok-1")]
    assert first.host == "outlook.office365.com" and first.options["port"] == 993 and first.options["ssl"]
    assert box._connect().calls == [("oauth2_login", "window@example.co.jp", "tok-1")]  # still valid: cached
    clock.now += 3600
    assert box._connect().calls == [("oauth2_login", "window@example.co.jp", "tok-2")]  # reconnect: fresh one


def test_imap_refused_token_is_forgotten(fake_imap: type[FakeImapClient]) -> None:
    source = CountingSource()
    box = ImapMailbox.from_url("imaps://u@imap.gmail.com/INBOX", None, token_provider=TokenProvider(source),
                               retry_delay=0)
    fake_imap.refuse = True
    with pytest.raises(MailboxError, match="XOAUTH2 login refused") as caught:
        box._open(1)
    assert "tok-" not in str(caught.value)
    assert fake_imap.instances[0].calls[-1] == ("shutdown",)
    fake_imap.refuse = False
    box._open(1)
    assert fake_imap.instances[-1].calls == [("oauth2_login", "u", "tok-2")]


def test_imap_without_a_token_does_not_dial(fake_imap: type[FakeImapClient], tmp_path: Path) -> None:
    failing = TokenProvider(CommandSource(script(tmp_path, "import sys\nsys.exit(1)\n")))
    box = ImapMailbox.from_url("imaps://u@outlook.office365.com/INBOX", None, token_provider=failing)
    with pytest.raises(MailboxError, match="no OAuth access token: the token command .* exit status 1"):
        box._open(1)
    assert fake_imap.instances == []


def test_imap_password_login_is_unchanged(fake_imap: type[FakeImapClient]) -> None:
    box = ImapMailbox.from_url("imaps://u@mail.example.jp/INBOX", "pw")
    assert box._connect().calls == [("login", "u", "pw")]
    with pytest.raises(MailboxError, match="neither a password nor an OAuth token provider"):
        ImapMailbox.from_url("imaps://u@mail.example.jp/INBOX", None)


# --- the SMTP outbox: AUTH XOAUTH2 against a real aiosmtpd with STARTTLS -------------------------------


class XOAuth2Handler(RecordingHandler):
    """Accepts AUTH XOAUTH2 with the expected token; records what each attempt sent."""

    expected = "tok-1"
    attempts: list[str]

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:  # noqa: N802 - aiosmtpd's naming
        from aiosmtpd.smtp import AuthResult

        decoded = base64.b64decode(args[1]).decode()
        self.attempts.append(decoded)
        ok = decoded == f"user=window@example.co.jp\x01auth=Bearer {self.expected}\x01\x01"
        return AuthResult(success=ok, handled=False,
                          message=None if ok else "535 5.7.3 Authentication unsuccessful")


@pytest.fixture
def xoauth2_smtp(mail_cert: ThrowawayCert) -> Iterator[SmtpServer]:
    pytest.importorskip("aiosmtpd")
    server = SmtpServer(mail_cert)
    handler = XOAuth2Handler()
    handler.attempts = []
    server.handler = server.controller.handler = handler
    server.start()
    try:
        yield server
    finally:
        server.stop()


def reply() -> tuple[bytes, str]:
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"], msg["To"], msg["Subject"] = "window@example.co.jp", "yamada@example.com", "受付"
    msg["Message-ID"] = mid = "<r1@example.co.jp>"
    msg.set_content("受け付けました。\n")
    return msg.as_bytes(), mid


def test_smtp_sends_with_xoauth2_after_starttls(xoauth2_smtp: SmtpServer, mail_cert: ThrowawayCert) -> None:
    provider = TokenProvider(CountingSource())
    url = xoauth2_smtp.url.replace("smtp://", "smtp://window%40example.co.jp@")
    outbox = SmtpOutbox.from_url(url, token_provider=provider, ca_file=mail_cert.cert, timeout=5)
    raw, mid = reply()
    outbox.deliver(raw, mid, "window@example.co.jp", ["yamada@example.com"])
    [got] = xoauth2_smtp.messages
    assert got.data == raw and got.tls
    handler = xoauth2_smtp.handler
    assert isinstance(handler, XOAuth2Handler)
    assert handler.attempts == ["user=window@example.co.jp\x01auth=Bearer tok-1\x01\x01"]


def test_smtp_refused_token_is_temporary_and_forgotten(xoauth2_smtp: SmtpServer, mail_cert: ThrowawayCert) -> None:
    handler = xoauth2_smtp.handler
    assert isinstance(handler, XOAuth2Handler)
    handler.expected = "tok-2"  # the first token is refused, as after a revocation
    source = CountingSource()
    url = xoauth2_smtp.url.replace("smtp://", "smtp://window%40example.co.jp@")
    outbox = SmtpOutbox.from_url(url, token_provider=TokenProvider(source), ca_file=mail_cert.cert, timeout=5)
    raw, mid = reply()
    with pytest.raises(TemporaryDeliveryError, match="535 5.7.3") as caught:
        outbox.deliver(raw, mid, "window@example.co.jp", ["yamada@example.com"])
    assert "tok-1" not in str(caught.value)
    outbox.deliver(raw, mid, "window@example.co.jp", ["yamada@example.com"])  # the retry fetches tok-2
    assert source.calls == 2 and len(xoauth2_smtp.messages) == 1


def test_smtp_without_a_token_is_a_temporary_failure(tmp_path: Path) -> None:
    failing = TokenProvider(CommandSource(script(tmp_path, "import sys\nsys.exit(2)\n")))
    outbox = SmtpOutbox.from_url("smtp://u@127.0.0.1:9", token_provider=failing, timeout=1)
    raw, mid = reply()
    with pytest.raises(TemporaryDeliveryError, match="no OAuth access token"):
        outbox.deliver(raw, mid, "window@example.co.jp", ["yamada@example.com"])
