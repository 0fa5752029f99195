"""Real mail servers for the integration tests: a throwaway Dovecot and an aiosmtpd.

Both listen on 127.0.0.1 only, on a free port, with their own state in a temporary
folder, so the tests exercise the same protocol code paths as production (TLS, STARTTLS,
UIDs, IDLE, SMTP replies) without mocks and without touching the system's configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import grp
import ipaddress
import os
import pwd
import select
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from imapclient import IMAPClient

if TYPE_CHECKING:  # aiosmtpd is a test dependency, imported only when an SMTP server starts
    from aiosmtpd.smtp import SMTP, Envelope, Session

LOOPBACK = "127.0.0.1"


# --- certificates -------------------------------------------------------------------------


@dataclass(frozen=True)
class ThrowawayCert:
    """A self-signed certificate for 127.0.0.1/localhost, trusted by passing `cert` as CA file."""

    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


def make_cert(folder: Path, name: str = "madoguchi-test") -> ThrowawayCert:
    """Make a fresh EC key and a self-signed certificate valid for 127.0.0.1 and localhost."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=True, key_cert_sign=True,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
                       critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ThrowawayCert(cert_path, key_path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


# --- Dovecot ------------------------------------------------------------------------------


def dovecot_binary() -> str | None:
    """Debian puts it in /usr/sbin, which is not on every user's PATH."""
    found = shutil.which("dovecot")
    if found is None and os.access("/usr/sbin/dovecot", os.X_OK):
        found = "/usr/sbin/dovecot"
    return found


def _service_users() -> tuple[pwd.struct_passwd, pwd.struct_passwd]:
    """(login user, internal user). Dovecot refuses to run imap-login or imap as root.

    As root we use the unprivileged users the Debian package creates (or nobody), and the
    internal user also owns the mail; as any other user, Dovecot runs everything as that user.
    """
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me, me

    def existing(name: str) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            return pwd.getpwnam("nobody")

    return existing("dovenull"), existing("dovecot")


DOVECOT_CONF = """\
# A throwaway Dovecot for tests: loopback only, its own folders, no system config.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
listen = {host}
protocols = imap
ssl = {ssl}
{ssl_files}
disable_plaintext_auth = {no_plaintext}
auth_mechanisms = plain login
auth_failure_delay = 0 secs
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 1 mins
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


@dataclass
class Dovecot:
    """One Dovecot master process (`dovecot -F -c <own config>`) serving one test user."""

    root: Path
    cert: ThrowawayCert | None
    tls: bool = True
    user: str = "window"
    password: str = "window-test-password"
    imap_port: int = field(default_factory=free_port)
    imaps_port: int = field(default_factory=free_port)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    def config_text(self) -> str:
        login_user, internal_user = _service_users()
        ssl_files = (f"ssl_cert = <{self.cert.cert}\nssl_key = <{self.cert.key}"
                     if self.tls and self.cert else "")
        return DOVECOT_CONF.format(
            root=self.root, host=LOOPBACK, ssl="required" if self.tls else "no", ssl_files=ssl_files,
            no_plaintext="yes" if self.tls else "no", login_user=login_user.pw_name,
            internal_user=internal_user.pw_name, internal_group=grp.getgrgid(internal_user.pw_gid).gr_name, uid=internal_user.pw_uid, gid=internal_user.pw_gid, imap_port=self.imap_port,
            imaps_port=self.imaps_port if self.tls else 0,
        )

    def start(self, timeout: float = 15.0) -> None:
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError("dovecot is not installed")
        # The auth process runs as an unprivileged user and must read the passwd file.
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        owner = _service_users()[1]
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(exist_ok=True)
        for sub in ("mail", "home"):  # written by the imap process, which runs as the mail user
            os.chown(self.root / sub, owner.pw_uid, owner.pw_gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        (self.root / "passwd").chmod(0o644)
        self.config_path.write_text(self.config_text())
        log = (self.root / "stdout.log").open("wb")
        self._proc = subprocess.Popen([binary, "-F", "-c", str(self.config_path)], stdout=log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True)
        log.close()
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        wait_for_imap_greeting("dovecot", self._proc, self.imap_port, timeout, self.log_tail, self.stop)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        stop_process(proc)

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("stdout.log", "dovecot.log"):
            with contextlib.suppress(OSError):
                text += (self.root / name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def url(self, folder: str = "INBOX", scheme: str = "imaps") -> str:
        port = self.imaps_port if scheme == "imaps" else self.imap_port
        return f"{scheme}://{self.user}@{LOOPBACK}:{port}/{folder}"

    def client(self) -> IMAPClient:
        """A logged-in client for the test itself (APPEND, flags), over implicit TLS."""
        assert self.cert is not None and self.tls
        client = IMAPClient(LOOPBACK, port=self.imaps_port, ssl=True, ssl_context=self.cert.client_context(),
                            timeout=10)
        client.login(self.user, self.password)
        return client

    def kick(self, *clients: Any) -> None:
        """Drop every connection of the test user, as a server restart or a NAT timeout would.

        doveadm returns once it has signalled the server's processes, before they hang up: pass
        the IMAPClient objects whose connection must be gone before the test goes on.
        """
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        done = subprocess.run([doveadm, "-c", str(self.config_path), "kick", self.user], check=False,
                              capture_output=True, timeout=10)
        if done.returncode not in (0, 68):  # 68: nobody was connected
            raise RuntimeError(f"doveadm kick failed: {done.stderr.decode(errors='replace')}")
        for client in clients:
            if client is not None:  # readable: the BYE and the end of the stream have arrived
                readable, _, _ = select.select([client.socket()], [], [], 10)
                assert readable, "the server did not hang up within 10 s of the kick"


# --- SMTP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    sender: str
    recipients: tuple[str, ...]
    data: bytes
    tls: bool
    peer: str = ""  # the client's address and port: one value per connection


@dataclass
class RecordingHandler:
    """Records each accepted message; `mode` makes it answer 451, 550 or drop the line.

    `delay` seconds pass before each answer to DATA, like a busy relay (tests that must act
    while delivery is still going on).
    """

    mode: str = "ok"
    delay: float = 0.0
    messages: list[Recorded] = field(default_factory=list)
    sessions: list[SMTP] = field(default_factory=list)  # the server side of each connection seen at DATA

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if server not in self.sessions:
            self.sessions.append(server)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.mode == "451":
            return "451 4.3.0 Try again later"
        if self.mode == "550":
            return "550 5.1.1 Mailbox unavailable"
        if self.mode == "drop":
            assert server.transport is not None
            server.transport.close()
            return "250 OK (never seen: the line is gone)"
        self.messages.append(Recorded(
            sender=str(envelope.mail_from),
            recipients=tuple(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b""),
            tls=session.ssl is not None,
            peer=str(session.peer),
        ))
        return "250 2.0.0 Accepted"


class SmtpServer:
    """aiosmtpd on loopback in its own thread: plain+STARTTLS (`smtp://`) or implicit TLS (`smtps://`)."""

    def __init__(self, cert: ThrowawayCert | None, *, implicit_tls: bool = False,
                 require_starttls: bool = False) -> None:
        from aiosmtpd.controller import Controller

        self.handler = RecordingHandler()
        self.port = free_port()
        self.implicit_tls = implicit_tls
        kwargs: dict[str, Any] = {}
        if cert is not None and not implicit_tls:
            kwargs.update(tls_context=cert.server_context(), require_starttls=require_starttls)
        self.controller = Controller(
            self.handler, hostname=LOOPBACK, port=self.port, ready_timeout=10,
            ssl_context=cert.server_context() if (cert is not None and implicit_tls) else None,
            server_hostname="madoguchi-test-smtp", **kwargs,
        )

    @property
    def url(self) -> str:
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{LOOPBACK}:{self.port}"

    @property
    def messages(self) -> list[Recorded]:
        return self.handler.messages

    def start(self) -> None:
        self.controller.start()

    def hang_up(self) -> None:
        """Close every connection from the server's side, as a relay's idle timeout does."""
        done = threading.Event()

        def close_all() -> None:
            for server in self.handler.sessions:
                if server.transport is not None:
                    server.transport.close()
            done.set()

        self.controller.loop.call_soon_threadsafe(close_all)
        assert done.wait(5)
        time.sleep(0.1)  # the FIN reaches the client

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.controller.stop()


def new_tempdir(prefix: str) -> Path:
    """A temporary folder outside pytest's 0700 tree (Dovecot's own users must read it)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def wait_for_imap_greeting(name: str, proc: subprocess.Popen[bytes] | None, port: int, timeout: float,
                           log_tail: Callable[[], str], stop: Callable[[], None]) -> None:
    """Until the server says `* OK` on its port; a server that died or stays silent fails loudly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log_tail()}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1) as s:
                s.settimeout(3)
                if s.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    stop()
    raise RuntimeError(f"{name} did not answer within {timeout} s:\n{log_tail()}")



def fresh_folder(client: IMAPClient, name: str) -> str:
    """Delete the folder if it is there, create it empty, and log the client out."""
    try:
        if client.folder_exists(name):
            client.delete_folder(name)
        client.create_folder(name)
    finally:
        client.logout()
    return name


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
