"""Helpers for the crash-safety and fault tests: mails, the bot as a subprocess, what the servers saw.

The bot runs exactly as an operator runs it (`madoguchi run --once` with MADOGUCHI_*
variables), against the real Dovecot and the recording aiosmtpd of tests/servers.py.
"""

from __future__ import annotations

import collections
import email
import email.policy
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from tests.servers import Dovecot, Recorded, SmtpServer, ThrowawayCert

WINDOW = "info@example.jp"
NOW = "2025-06-02T10:00:00+09:00"
REPO = Path(__file__).resolve().parent.parent
MADOGUCHI = REPO / ".venv" / "bin" / "madoguchi"
REQUEST_BODY = "ご担当者様\n\n保有個人データの開示を請求します。\n\n{name}\n"
FOLLOWUP_BODY = "ご担当者様\n\n先ほどの開示請求について、本人確認書類は追って郵送します。\n\n{name}\n"


@dataclass(frozen=True)
class Mail:
    sender: str
    message_id: str
    raw: bytes


def sender(i: int) -> str:
    return f"requester{i:04d}@example.com"


def request_mail(i: int, *, domain: str = "example.com") -> Mail:
    """A short request from a sender of its own, with a fixed Message-ID (so runs are reproducible)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    addr = sender(i)
    mid = f"<request-{i:04d}@{domain}>"
    msg["From"] = f"請求者 {i:04d} <{addr}>"
    msg["To"] = WINDOW
    msg["Subject"] = "保有個人データの開示請求"
    msg["Date"] = "Mon, 02 Jun 2025 09:30:00 +0900"
    msg["Message-ID"] = mid
    msg.set_content(REQUEST_BODY.format(name=f"請求者 {i:04d}"))
    return Mail(addr, mid, msg.as_bytes())


def followup_mail(i: int, answering: Mail) -> Mail:
    """The same requester writing again, in reply to their own request (later in the folder)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    mid = f"<followup-{i:04d}@example.com>"
    msg["From"] = f"請求者 {i:04d} <{answering.sender}>"
    msg["To"] = WINDOW
    msg["Subject"] = "Re: 保有個人データの開示請求"
    msg["Date"] = "Mon, 02 Jun 2025 09:45:00 +0900"
    msg["Message-ID"] = mid
    msg["In-Reply-To"] = answering.message_id
    msg["References"] = answering.message_id
    msg.set_content(FOLLOWUP_BODY.format(name=f"請求者 {i:04d}"))
    return Mail(answering.sender, mid, msg.as_bytes())


def append_all(dovecot: Dovecot, folder: str, raws: Iterable[bytes]) -> int:
    """APPEND every message over one connection, in order (so UIDs follow the list)."""
    client = dovecot.client()
    n = 0
    try:
        for raw in raws:
            client.append(folder, raw)
            n += 1
    finally:
        client.logout()
    return n


def folder_flags(dovecot: Dovecot, folder: str) -> dict[int, set[bytes]]:
    client = dovecot.client()
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        if not uids:
            return {}
        return {int(u): set(f) - {b"\\Recent"} for u, f in client.get_flags(uids).items()}
    finally:
        client.logout()


def recreate_folder(dovecot: Dovecot, folder: str, raws: Iterable[bytes]) -> None:
    """Delete and create the folder again with the same mails: a new UIDVALIDITY, all unread."""
    client = dovecot.client()
    try:
        client.delete_folder(folder)
        client.create_folder(folder)
        for raw in raws:
            client.append(folder, raw)
    finally:
        client.logout()


def uidvalidity(dovecot: Dovecot, folder: str) -> int:
    client = dovecot.client()
    try:
        return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
    finally:
        client.logout()


# --- the bot as an operator runs it -------------------------------------------------------


def bot_env(root: Path, *, mailbox_url: str, dovecot: Dovecot, outbox_url: str, cert: ThrowawayCert,
            now: str = NOW, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings of one deployment: its own SQLite file and data folder under `root`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")}
    env.update({
        "MADOGUCHI_MAILBOX_URL": mailbox_url,
        "MADOGUCHI_MAILBOX_PASSWORD": dovecot.password,
        "MADOGUCHI_MAILBOX_CA_FILE": str(cert.cert),
        "MADOGUCHI_OUTBOX_URL": outbox_url,
        "MADOGUCHI_OUTBOX_CA_FILE": str(cert.cert),
        "MADOGUCHI_DATABASE_URL": f"sqlite:///{root}/m.db",
        "MADOGUCHI_DATA_DIR": str(root / "data"),
        "MADOGUCHI_WINDOW_ADDRESS": WINDOW,
        "MADOGUCHI_NOW": now,
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


def bot_command(*args: str) -> list[str]:
    if MADOGUCHI.exists():
        return [str(MADOGUCHI), *args]
    return [sys.executable, "-c", "from bot.cli import main; main()", *args]  # an installed venv elsewhere


def start_bot(env: Mapping[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """`madoguchi -v run --once` in the background, its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(bot_command("-v", "run", "--once"), env=dict(env), cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def run_bot(env: Mapping[str, str], cwd: Path, *args: str, timeout: float = 120.0) -> str:
    """One complete `madoguchi -v <args>` (default: a pass); fails the test unless it exits 0."""
    command = bot_command("-v", *(args or ("run", "--once")))
    done = subprocess.run(command, env=dict(env), cwd=cwd, capture_output=True, timeout=timeout, check=False)
    out = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command[-3:])} exited {done.returncode}:\n{out[-4000:]}")
    return out


def export_cases(env: Mapping[str, str], cwd: Path) -> list[dict[str, object]]:
    done = subprocess.run(bot_command("cases", "export", "--format", "json"), env=dict(env), cwd=cwd,
                          capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        raise AssertionError(f"cases export exited {done.returncode}: {done.stderr.decode(errors='replace')}")
    data = json.loads(done.stdout)
    assert isinstance(data, list)
    return data


def requester_emails(cases: list[dict[str, object]]) -> collections.Counter[str]:
    out: collections.Counter[str] = collections.Counter()
    for case in cases:
        requester = case["requester"]
        assert isinstance(requester, dict)
        out[str(requester["email"])] += 1
    return out


# --- what the store and the SMTP server hold -------------------------------------------------


def db_count(db: Path, sql: str) -> int:
    """A read-only count that never waits long on the bot's write lock (0 before the schema exists)."""
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)
    except sqlite3.Error:
        return 0
    try:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def inbound_rows(db: Path) -> int:
    return db_count(db, "SELECT count(*) FROM inbound_messages")


def outbound_by_status(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return {str(s): int(n) for s, n in
                conn.execute("SELECT status, count(*) FROM outbound_messages GROUP BY status")}
    finally:
        conn.close()


def outbound_ids(db: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return {str(r[0]) for r in conn.execute("SELECT message_id FROM outbound_messages")}
    finally:
        conn.close()


def message_id_of(recorded: Recorded) -> str:
    msg = email.message_from_bytes(recorded.data, policy=email.policy.default)
    return str(msg["Message-ID"]).strip()


@dataclass(frozen=True)
class SmtpTally:
    """The SMTP server's record, grouped by Message-ID."""

    copies: dict[str, list[Recorded]]

    @classmethod
    def of(cls, server: SmtpServer) -> SmtpTally:
        copies: dict[str, list[Recorded]] = collections.defaultdict(list)
        for rec in list(server.messages):
            copies[message_id_of(rec)].append(rec)
        return cls(dict(copies))

    @property
    def duplicates(self) -> int:
        """Extra acceptances: the same Message-ID taken more than once."""
        return sum(len(v) - 1 for v in self.copies.values())

    def differing(self) -> list[str]:
        """Message-IDs whose copies are not byte-identical (or went to other recipients)."""
        return [mid for mid, recs in self.copies.items()
                if len({(r.data, r.recipients, r.sender) for r in recs}) > 1]

    def recipients(self) -> collections.Counter[str]:
        out: collections.Counter[str] = collections.Counter()
        for recs in self.copies.values():
            for rcpt in recs[0].recipients:
                out[rcpt] += 1
        return out


def wait_until(predicate: object, timeout: float, interval: float = 0.05) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
