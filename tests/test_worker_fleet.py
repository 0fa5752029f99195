"""Three `madoguchi worker` processes on PostgreSQL, the leader SIGKILLed, over a backlog of 2,000 mails.

A backlog of requests from distinct senders, and follow-ups replying to some of them
(later in the folder), waits in a Dovecot folder. Three workers are started as an operator
starts them; one of them leads (it alone reads the mailbox into the queue and marks it).
While the leader is still reading the folder into the queue it is killed with SIGKILL:
another worker must lead within seconds, go on reading where the dead one stopped (its
position, and the queue's unique mailbox keys, make the overlap harmless) and apply the
marks it left; a worker is started in its place. Later, with two thirds of the mail in the
ledger, a worker that does not lead is killed and replaced too. When the backlog is done the workers are stopped
with SIGTERM. Then, as in tests/test_crash_safety.py:

* every sender has exactly one case, every mail is in the ledger once, none quarantined;
* every queued reply was delivered once and is marked sent; every requester got a reply;
* all copies of one Message-ID the SMTP server accepted are byte-identical, and raw
  duplicates are at most one per killed process (a kill between the server's 250 and the
  commit);
* every message in the folder ended \\Seen, and every surviving worker did a share.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.crash_helpers import (
    Mail,
    SmtpTally,
    append_all,
    bot_command,
    bot_env,
    export_cases,
    folder_flags,
    followup_mail,
    request_mail,
    requester_emails,
    run_bot,
)
from tests.servers import Dovecot, SmtpServer, ThrowawayCert

REQUESTS = 1900
FOLLOWUP_EVERY = 19  # 100 of the senders write again, replying to their own request
WORKERS = 3
LEADS = "this worker leads"
TAKEOVER_LIMIT = 10.0  # seconds from the leader's death until another worker says it leads
DRAIN_LIMIT = 900.0
QUEUED_AT_KILL = 400  # the leader is killed once it has read this many of the 2,000 mails
POLL = 0.5

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]


def backlog() -> tuple[list[Mail], list[Mail]]:
    requests = [request_mail(i) for i in range(REQUESTS)]
    followups = [followup_mail(i, requests[i]) for i in range(0, REQUESTS, FOLLOWUP_EVERY)]
    return requests, followups


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def leads(self) -> bool:
        return LEADS in self.output()


@dataclass
class Fleet:
    """The worker processes, each with a log file of its own (stdout and stderr)."""

    env: dict[str, str]
    root: Path
    workers: list[Worker] = field(default_factory=list)
    killed: list[Worker] = field(default_factory=list)

    def start(self) -> Worker:
        log = self.root / f"worker-{len(self.workers) + len(self.killed)}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(bot_command("-v", "worker"), env=dict(self.env), cwd=self.root, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        worker = Worker(proc, log)
        self.workers.append(worker)
        return worker

    def kill(self, worker: Worker) -> None:
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(timeout=10)
        self.workers.remove(worker)
        self.killed.append(worker)

    def leaders(self) -> list[Worker]:
        return [w for w in self.workers if w.leads()]

    def check_alive(self) -> None:
        dead = [w for w in self.workers if w.proc.poll() is not None]
        assert not dead, "a worker exited by itself:\n" + "\n".join(w.output()[-3000:] for w in dead)

    def stop_all(self) -> None:
        for w in self.workers + self.killed:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(timeout=10)


class Ledger:
    """What the workers' database holds, read directly (autocommit: every query sees the latest)."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)

    def count(self, sql: str) -> int:
        row = self.conn.execute(sql).fetchone()
        return int(row[0]) if row else 0

    def inbound(self) -> int:
        return self.count("SELECT count(*) FROM inbound_messages")

    def done(self, mails: int) -> bool:
        return (self.inbound() == mails
                and self.count("SELECT count(*) FROM work_items") == mails
                and self.count("SELECT count(*) FROM work_items WHERE state = 'pending'") == 0
                and self.count("SELECT count(*) FROM work_items WHERE state = 'done' AND NOT marked") == 0
                and self.count("SELECT count(*) FROM outbound_messages WHERE status <> 'sent'") == 0)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql).fetchall())

    def close(self) -> None:
        self.conn.close()


def wait_for(predicate: Any, timeout: float, fleet: Fleet, what: str, interval: float = POLL) -> float:
    """Seconds until `predicate()` held; fails the test on timeout or when a worker died by itself."""
    started = time.monotonic()
    while not predicate():
        fleet.check_alive()
        if time.monotonic() - started > timeout:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(interval)
    return time.monotonic() - started


HANDLED = re.compile(r"worker: (\d+) messages handled")


def test_three_workers_and_a_killed_leader_handle_2000_mails_once(
        tmp_path: Path, dovecot: Dovecot, imap_folder: str, smtp_server: SmtpServer, mail_cert: ThrowawayCert,
        postgres_server: Any) -> None:
    requests, followups = backlog()
    mails = requests + followups
    assert len(mails) == 2000 and len({m.sender for m in requests}) == REQUESTS
    assert append_all(dovecot, imap_folder, [m.raw for m in mails]) == len(mails)
    url = postgres_server.new_database("fleet")
    env = bot_env(tmp_path, mailbox_url=dovecot.url(imap_folder), dovecot=dovecot, outbox_url=smtp_server.url,
                  cert=mail_cert, extra={"MADOGUCHI_DATABASE_URL": url})
    run_bot(env, tmp_path, "db", "upgrade")
    ledger = Ledger(url)
    fleet = Fleet(env, tmp_path)
    try:
        t0 = time.monotonic()
        for _ in range(WORKERS):
            fleet.start()
        wait_for(lambda: fleet.leaders(), 60, fleet, "a leader", interval=0.1)
        assert len(fleet.leaders()) == 1, "more than one worker says it leads"
        leader = fleet.leaders()[0]

        # The leader dies halfway through reading the folder (each message is queued in its own
        # transaction, some seconds for the whole folder; the workers are handling the first ones).
        wait_for(lambda: ledger.count("SELECT count(*) FROM work_items") >= QUEUED_AT_KILL, 120, fleet,
                 "the leader reading the folder", interval=0.02)
        fleet.kill(leader)
        queued_at_kill = ledger.count("SELECT count(*) FROM work_items")
        killed_leader_at = ledger.inbound()
        assert queued_at_kill < len(mails), "the leader had read the whole folder before it was killed"
        takeover = wait_for(lambda: fleet.leaders(), 30, fleet, "a new leader", interval=0.05)
        assert len(fleet.leaders()) == 1
        new_leader = fleet.leaders()[0]
        fleet.start()  # three keep running

        # Then one that does not lead, at two thirds.
        wait_for(lambda: ledger.inbound() >= 2 * len(mails) // 3, DRAIN_LIMIT, fleet, "two thirds of the mail")
        follower = next(w for w in fleet.workers if w is not new_leader and not w.leads())
        fleet.kill(follower)
        killed_follower_at = ledger.inbound()
        fleet.start()

        wait_for(lambda: ledger.done(len(mails)), DRAIN_LIMIT, fleet, "the whole backlog, marked and replied")
        drained = time.monotonic() - t0
        assert fleet.leaders() == [new_leader], "leadership moved without a kill"

        for w in fleet.workers:
            w.proc.send_signal(signal.SIGTERM)
        for w in fleet.workers:
            assert w.proc.wait(timeout=60) == 0, w.output()[-3000:]
        handled = []
        for w in fleet.workers:
            found = HANDLED.findall(w.output())
            assert found, w.output()[-3000:]
            handled.append(int(found[-1]))
    finally:
        fleet.stop_all()
    elapsed = time.monotonic() - t0

    tally = SmtpTally.of(smtp_server)
    kills = len(fleet.killed)
    print(f"\nworker fleet: {len(mails)} messages by {WORKERS} workers in {drained:.1f} s ({elapsed:.1f} s with the "
          f"stop); leader SIGKILLed with {queued_at_kill} mails read, {killed_leader_at} in the ledger, another led {takeover:.2f} s later; "
          f"a follower SIGKILLed at {killed_follower_at}; {len(smtp_server.messages)} SMTP acceptances of "
          f"{len(tally.copies)} Message-IDs: {tally.duplicates} raw duplicate deliveries; surviving workers "
          f"handled {handled}")

    assert takeover < TAKEOVER_LIMIT, f"{takeover:.1f} s without a leader"
    assert all(n > 0 for n in handled), f"a worker did nothing: {handled}"

    # Nothing lost, nothing doubled: one case per sender, every mail in the ledger once.
    cases = export_cases(env, tmp_path)
    by_requester = requester_emails(cases)
    assert set(by_requester) == {m.sender for m in requests}, "a sender without a case, or a case from nowhere"
    assert [e for e, n in by_requester.items() if n != 1] == [], "a sender with more than one case"
    try:
        assert ledger.inbound() == len(mails)
        outcomes = dict(ledger.rows("SELECT outcome, count(*) FROM inbound_messages GROUP BY outcome"))
        assert outcomes == {"request": len(requests), "followup": len(followups)}, outcomes
        assert ledger.count("SELECT count(DISTINCT message_id) FROM inbound_messages") == len(mails)
        assert ledger.count("SELECT count(*) FROM work_items WHERE outcome = 'quarantined'") == 0

        # Every reply queued was delivered, and nothing was delivered that is not in the store.
        statuses = dict(ledger.rows("SELECT status, count(*) FROM outbound_messages GROUP BY status"))
        assert set(statuses) == {"sent"}, statuses
        stored_ids = {str(r[0]) for r in ledger.rows("SELECT message_id FROM outbound_messages")}
    finally:
        ledger.close()
    assert set(tally.copies) == stored_ids
    assert set(tally.recipients()) == {m.sender for m in requests}, "a requester without a reply"
    # A reply sent again after a kill is the same message; at most the one in hand per killed process.
    assert tally.differing() == []
    assert tally.duplicates <= kills, f"{tally.duplicates} duplicate deliveries for {kills} kills"

    flags = folder_flags(dovecot, imap_folder)
    assert len(flags) == len(mails)
    assert [uid for uid, f in flags.items() if b"\\Seen" not in f] == []
