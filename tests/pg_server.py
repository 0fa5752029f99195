"""A throwaway PostgreSQL server for the tests: its own cluster in a temporary folder,
listening on 127.0.0.1 on a free port, trust authentication for loopback only, removed
afterwards. Debian's `postgresql` package provides the binaries (`.ci/run` installs it).

PostgreSQL refuses to run as root, so when the tests run as root (CI) the cluster is
created and started as the `postgres` system user that the package creates.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
_counter = itertools.count(1)


def pg_bin() -> Path | None:
    for d in PG_BIN_DIRS:
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    port: int
    root: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "t") -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        return self.database(f"{prefix}_{os.getpid()}_{next(_counter)}")

    def database(self, name: str) -> str:
        """The database `name`, created empty on first use; its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_postgres() -> dict[str, object]:
    """Run a command as the postgres user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam("postgres")

    def demote() -> None:
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)

    return {"preexec_fn": demote}


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is needed for these tests: apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="madoguchi-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    demote = _as_postgres()
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                    "--no-sync"], check=True, capture_output=True, env=env, **demote)  # type: ignore[call-overload]
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{root}'\n"
                   "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")
    subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "start"],
                   check=True, capture_output=True, env=env, **demote)  # type: ignore[call-overload]
    try:
        yield PostgresServer(port=port, root=root)
    finally:
        subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, env=env, **demote)  # type: ignore[call-overload]
        shutil.rmtree(root, ignore_errors=True)
