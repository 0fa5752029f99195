"""Fixtures for the real mail servers of tests/servers.py (Dovecot, aiosmtpd) on loopback."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import (
    Dovecot,
    SmtpServer,
    ThrowawayCert,
    dovecot_binary,
    fresh_folder,
    make_cert,
    new_tempdir,
)

ON_POSTGRESQL = os.environ.get("MADOGUCHI_TEST_DATABASE") == "postgresql"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster on loopback for the whole session (tests/pg_server.py)."""
    from tests.pg_server import running_postgres

    with running_postgres() as pg:
        yield pg


@pytest.fixture(autouse=True)
def _database_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """With MADOGUCHI_TEST_DATABASE=postgresql, every app a test builds in-process runs on a
    real PostgreSQL: each SQLite file a test names becomes a database of its own (the same
    file, the same database, so a test that restarts the app finds its cases again).
    Tests that start `madoguchi` as a child process keep SQLite."""
    if not ON_POSTGRESQL:
        return
    import hashlib

    import config.settings as settings_module

    pg = request.getfixturevalue("postgres_server")
    real = settings_module._database_url

    def on_postgres(url: str, base: Path) -> str:
        if url.startswith("sqlite:///"):
            path = real(url, base).removeprefix("sqlite:///")
            return pg.database("t_" + hashlib.sha256(path.encode()).hexdigest()[:24])
        return real(url, base)

    monkeypatch.setattr(settings_module, "_database_url", on_postgres)


NO_AIOSMTPD = "aiosmtpd is not installed in the venv: .venv/bin/pip install aiosmtpd (a dev dependency)"
NO_DOVECOT = ("dovecot is not installed: apt-get install dovecot-imapd "
              "(CI: scripts/ci_services.sh installs it when run as root)")


@pytest.fixture(scope="session")
def mail_cert() -> Iterator[ThrowawayCert]:
    """The throwaway certificate every test server presents (trust it as the CA file)."""
    root = new_tempdir("madoguchi-cert-")
    yield make_cert(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def other_cert() -> Iterator[ThrowawayCert]:
    """A certificate no server presents: trusting only it must make every connection fail."""
    root = new_tempdir("madoguchi-other-cert-")
    yield make_cert(root, name="someone-else")
    shutil.rmtree(root, ignore_errors=True)


def _start_dovecot(cert: ThrowawayCert | None, tls: bool) -> Iterator[Dovecot]:
    if dovecot_binary() is None:
        _missing(NO_DOVECOT)
    root = new_tempdir("madoguchi-dovecot-")
    yield from _serve(Dovecot(root, cert, tls=tls), root)


def _serve(server: Dovecot | Pymap, root: Path) -> Iterator[Any]:
    """Run a test server for as long as its fixture lives, then remove its folder."""
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot(mail_cert: ThrowawayCert) -> Iterator[Dovecot]:
    """One Dovecot for the session (ssl=required); each test works in a folder of its own."""
    yield from _start_dovecot(mail_cert, tls=True)


@pytest.fixture
def lone_dovecot(mail_cert: ThrowawayCert) -> Iterator[Dovecot]:
    """A Dovecot of its own, for tests that fail logins: Dovecot then slows down every login
    from the same address for seconds (its auth penalty), which would slow the other tests."""
    yield from _start_dovecot(mail_cert, tls=True)


@pytest.fixture(scope="session")
def plain_dovecot() -> Iterator[Dovecot]:
    """A Dovecot configured without TLS: it offers no STARTTLS."""
    yield from _start_dovecot(None, tls=False)


@pytest.fixture
def imap_folder(dovecot: Dovecot, request: pytest.FixtureRequest) -> str:
    """A fresh, empty folder named after the test."""
    name = "T-" + re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:60]
    return fresh_folder(dovecot.client(), name)


def _start_smtp(cert: ThrowawayCert | None, implicit_tls: bool = False) -> Iterator[SmtpServer]:
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        _missing(NO_AIOSMTPD)
    server = SmtpServer(cert, implicit_tls=implicit_tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server(mail_cert: ThrowawayCert) -> Iterator[SmtpServer]:
    """aiosmtpd offering STARTTLS with the throwaway certificate (smtp://)."""
    yield from _start_smtp(mail_cert)


@pytest.fixture
def smtps_server(mail_cert: ThrowawayCert) -> Iterator[SmtpServer]:
    """aiosmtpd speaking TLS from the first byte (smtps://)."""
    yield from _start_smtp(mail_cert, implicit_tls=True)


@pytest.fixture
def plain_smtp_server() -> Iterator[SmtpServer]:
    """aiosmtpd without TLS at all."""
    yield from _start_smtp(None)


def _missing(reason: str) -> None:
    """Skip on a developer's machine without the server; in CI a missing server is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


# --- pymap: the second IMAP implementation (tests/imap_second_server.py) -------------------
# (imported here rather than at the top, so that this section stays one addition at the end)

from tests.imap_second_server import NO_PYMAP, Pymap, pymap_installed  # noqa: E402


def _start_pymap(cert: ThrowawayCert | None) -> Iterator[Pymap]:
    if not pymap_installed():
        _missing(NO_PYMAP)
    root = new_tempdir("madoguchi-pymap-")
    yield from _serve(Pymap(root, cert), root)


@pytest.fixture(scope="session")
def pymap_server(mail_cert: ThrowawayCert) -> Iterator[Pymap]:
    """One pymap for the session (STARTTLS with the throwaway certificate); a folder per test."""
    yield from _start_pymap(mail_cert)


@pytest.fixture
def lone_pymap(mail_cert: ThrowawayCert) -> Iterator[Pymap]:
    """A pymap of its own, for tests that restart it (a restart empties its folders)."""
    yield from _start_pymap(mail_cert)


@pytest.fixture(scope="session")
def plain_pymap() -> Iterator[Pymap]:
    """A pymap without TLS: it offers no STARTTLS."""
    yield from _start_pymap(None)


@pytest.fixture
def pymap_folder(pymap_server: Pymap, request: pytest.FixtureRequest) -> str:
    """A fresh, empty folder on the session's pymap, named after the test."""
    return pymap_server.fresh_folder("T-" + re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:60])
