"""A second, different IMAP server for the tests: pymap (PyPI, pure Python, by Ian Good).

Dovecot (tests/servers.py) is one implementation; a mailbox that only ever met Dovecot may
lean on its habits (UIDs from 1, MOVE, implicit TLS). pymap is written from the RFCs by
someone else: its in-memory `dict` backend starts UIDs at 101, picks a random UIDVALIDITY
per folder, speaks STARTTLS only (no imaps port) and offers IDLE, UIDPLUS and MOVE.

One `pymap … dict` process per server, on 127.0.0.1 and a free port, with the throwaway
certificate for STARTTLS (or `--no-tls`), one user, and its pid file and log in its own
temporary folder. Its mail lives in the process's memory: a restart empties every folder
and gives each a new UIDVALIDITY, as a rebuilt server would.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ssl
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient

from tests.servers import (
    LOOPBACK,
    ThrowawayCert,
    free_port,
    fresh_folder,
    stop_process,
    wait_for_imap_greeting,
)

NO_PYMAP = "pymap is not installed in the venv: .venv/bin/pip install 'pymap>=0.36' (a dev dependency)"
#: pymap's optional services (admin: gRPC, managesieve, swim): never wanted here, and each would take a port.
OTHER_SERVICES = ("admin", "managesieve", "swim")
#: pymap's own command line, but with 1,000 PBKDF2 rounds for the test password instead of 500,000
#: (else a quarter of a second per LOGIN, and these tests log in some hundred times).
RUN_PYMAP = """\
import pymap.config
from pysasl.hashing import BuiltinHash
pymap.config.IMAPConfig._get_hash_context = classmethod(lambda cls, passlib_cfg: BuiltinHash(rounds=1000))
from pymap.main import main
main()
"""


def pymap_installed() -> bool:
    return importlib.util.find_spec("pymap") is not None


@dataclass
class Pymap:
    """One pymap server (dict backend) serving one test user over IMAP with STARTTLS."""

    root: Path
    cert: ThrowawayCert | None
    user: str = "window"
    password: str = "window-test-password"
    port: int = field(default_factory=free_port)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def tls(self) -> bool:
        return self.cert is not None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-c", RUN_PYMAP, "--pid-file", str(self.root / "pymap.pid"),
               "--host", LOOPBACK, "--port", str(self.port)]
        for service in OTHER_SERVICES:
            cmd += ["--no-service", service]
        cmd += ["--cert", str(self.cert.cert), "--key", str(self.cert.key)] if self.cert else ["--no-tls"]
        return [*cmd, "dict", "--demo-user", self.user, "--demo-password", self.password]

    def start(self, timeout: float = 15.0) -> None:
        if not pymap_installed():
            raise RuntimeError(NO_PYMAP)
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / "pymap.log").open("ab")
        self._proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.root)
        log.close()
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        wait_for_imap_greeting("pymap", self._proc, self.port, timeout, self.log_tail, self.stop)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        stop_process(proc)

    def restart(self) -> None:
        """Stop and start on the same port: every connection drops, every folder starts afresh."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.root / "pymap.log").read_text(errors="replace").splitlines()[-lines:])
        return ""

    def url(self, folder: str = "INBOX") -> str:
        """imap:// (STARTTLS): pymap has no implicit-TLS port."""
        return f"imap://{self.user}@{LOOPBACK}:{self.port}/{folder}"

    def client(self) -> IMAPClient:
        """A logged-in client for the test itself (APPEND, flags), over STARTTLS when there is TLS."""
        client = IMAPClient(LOOPBACK, port=self.port, ssl=False, timeout=10)
        try:
            if self.cert is not None:
                client.starttls(ssl.create_default_context(cafile=str(self.cert.cert)))
            client.login(self.user, self.password)
        except BaseException:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        return client

    def append(self, folder: str, *raws: bytes, flags: tuple[bytes, ...] = ()) -> None:
        """APPEND each message, in order, over a connection of its own."""
        client = self.client()
        try:
            for raw in raws:
                client.append(folder, raw, flags=flags)
        finally:
            client.logout()

    def flags(self, folder: str) -> dict[int, set[bytes]]:
        """UID → flags (without \\Recent) of every message in the folder, read without touching it."""
        client = self.client()
        try:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["FLAGS"]) if uids else {}
            return {int(uid): set(d[b"FLAGS"]) - {b"\\Recent"} for uid, d in fetched.items()}
        finally:
            client.logout()

    def uids_and_validity(self, folder: str) -> tuple[list[int], int]:
        client = self.client()
        try:
            info = client.select_folder(folder, readonly=True)
            return sorted(int(u) for u in client.search("ALL")), int(info[b"UIDVALIDITY"])
        finally:
            client.logout()

    def fresh_folder(self, name: str) -> str:
        """Delete the folder if it is there, and create it empty."""
        return fresh_folder(self.client(), name)
