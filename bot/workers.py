"""`madoguchi worker`: several processes sharing the windows' work on PostgreSQL.

Every worker claims messages and replies (row locks, SKIP LOCKED: bot/work_queue.py and
bot/delivery.py). For each window exactly one of them is also the leader: it holds that
window's PostgreSQL advisory lock on a connection of its own, reads the mailbox into the
queue, puts the workers' outcomes back on the mailbox as marks, and runs the window's
timed jobs (chase, digest, housekeeping). Only the leader talks to the mailbox, so the
mailbox sees one client, as with `madoguchi run`.

When the leader dies its connection closes and the server frees the lock; the other
workers try to take it on every turn of their loop, so one of them leads within about a
second. A leader that finds its lock connection broken (the server restarted) steps down
at once rather than risk two readers of one mailbox.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from bot import work_queue
from bot.app import App
from bot.delivery import deliver_queued
from bot.mailbox import Incoming, Mark
from bot.pipeline import handle, quarantine

log = logging.getLogger("madoguchi.workers")

LEADER_LOCK = 0x6D61646F  # "mado": the advisory lock key of the leader of one database
IDLE_PAUSE = 0.25  # seconds a worker waits when it found nothing to do
LEADER_PAUSE = 0.25  # seconds between the leader's passes while the queue is not empty
LEADER_WAIT = 2.0  # at most this long in IDLE (or asleep) with nothing to do
# A worker's round of claims ends after this long even in a backlog, so that it looks at the
# leader lock (takes it over, or finds it lost) about this often, not once the queue is empty.
ROUND_SECONDS = 1.0
PRUNE_AFTER_DAYS = 7
MAX_ATTEMPTS = 3  # starts of one message's handling before it is quarantined (it kills its worker)


class WorkerError(Exception):
    """The worker cannot run with these settings; str() says why and what to do."""


class Leadership:
    """The advisory lock that makes one worker a window's leader, on a connection kept for it.

    One lock per window (the key pairs LEADER_LOCK with the window's name), so that windows
    whose schemas share one database each get a leader, possibly in different workers.
    """

    def __init__(self, engine: Engine, window: str = "default") -> None:
        self._engine = engine
        self.window = window
        self._keys = {"a": LEADER_LOCK, "b": window_lock_key(window)}
        self._conn: Connection | None = None
        self.held = False

    def try_take(self) -> bool:
        """Take the lock if nobody holds it; True while this process holds it."""
        if self.held:
            return True
        try:
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self.held = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), self._keys).scalar())
        except Exception:  # noqa: BLE001 - the database away: not the leader, try again later
            self._discard()
        return self.held

    def still_held(self) -> bool:
        """False (and let go) when the lock's connection no longer answers."""
        if not self.held:
            return False
        try:
            assert self._conn is not None
            self._conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - a broken connection: the server has freed the lock
            self._discard()
            return False

    def release(self) -> None:
        if self._conn is not None and self.held:
            # Closing the connection frees the lock even when the unlock itself fails.
            with contextlib.suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), self._keys)
        self._discard()

    def _discard(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None
        self.held = False


def window_lock_key(window: str) -> int:
    """The window's half of the leader lock's key: a signed 32-bit number from its name."""
    return zlib.crc32(window.encode()) - 2**31


@dataclass
class WorkerReport:
    handled: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    queued: int = 0  # messages this process read into the queue while it led
    led: bool = False


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def require_postgresql(app: App) -> None:
    if app.engine.dialect.name != "postgresql":
        raise WorkerError("`madoguchi worker` needs PostgreSQL (MADOGUCHI_DATABASE_URL=postgresql+psycopg://…); "
                          "with SQLite run one `madoguchi run`")


# --- the worker's part ------------------------------------------------------------------------

def work_one(app: App, name: str, report: WorkerReport | None = None) -> bool:
    """Claim one message, handle it, and record its outcome; False when nothing was free."""
    with work_queue.claim_session(app.session) as s:
        claim = work_queue.claim_next(s)
        if claim is None:
            return False
        outcome: str
        mark: Mark
        if work_queue.attempts(s, claim) >= MAX_ATTEMPTS:
            quarantine(app, Incoming(claim.mailbox_key, b""), claim.sha256, "worker",
                       f"its handling stopped the worker {MAX_ATTEMPTS} times; the original stays in the mailbox")
            outcome, mark = "quarantined", "quarantined"
        else:
            work_queue.record_attempt(app.session, claim, name, app.clock.now())
            outcome, mark = _handle_claim(app, claim)
        work_queue.finish(s, claim, outcome, mark, name, app.clock.now())
    if report is not None:
        report.handled += 1
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
    return True


def _handle_claim(app: App, claim: work_queue.Claim) -> tuple[str, Mark]:
    """The outcome and the mark the pipeline chose (a duplicate keeps its first outcome's)."""
    try:
        raw = app.raw.get(claim.sha256)
    except Exception as exc:  # noqa: BLE001 - a stored copy that cannot be opened: staff must see it
        quarantine(app, Incoming(claim.mailbox_key, b""), claim.sha256, "store",
                   f"stored copy unreadable ({type(exc).__name__}); the original stays in the mailbox")
        return "quarantined", "quarantined"
    result = handle(app, Incoming(claim.mailbox_key, raw), mark_mailbox=False)
    return result.outcome, result.mark


# --- the leader's part ------------------------------------------------------------------------

def queue_new_mail(app: App, stop: threading.Event | None = None) -> int:
    """Read every new message into the queue; the mailbox counts it as taken ("queued")."""
    count = 0
    for incoming in app.mailbox.fetch_new():
        digest = app.raw.put(incoming.raw)  # kept before anything else
        sender = work_queue.sender_key(incoming.raw, digest)
        with app.session() as s, s.begin():
            if work_queue.enqueue(s, incoming.key, digest, sender, app.clock.now()):
                count += 1
        app.mailbox.mark(incoming.key, "queued")
        if stop is not None and stop.is_set():
            break
    return count


def apply_marks(app: App) -> int:
    """Put the workers' outcomes on the mailbox (after their commits), then remember that."""
    total = 0
    while True:
        with app.session() as s:
            due = work_queue.marks_due(s)
        if not due:
            return total
        app.mailbox.mark_many([(key, mark) for _, key, mark in due])
        with app.session() as s, s.begin():
            work_queue.set_marked(s, [item_id for item_id, _, _ in due])
        total += len(due)


def prune_queue(app: App) -> int:
    with app.session() as s, s.begin():
        return work_queue.prune(s, app.clock.now() - dt.timedelta(days=PRUNE_AFTER_DAYS))


class LeaderLoop(threading.Thread):
    """A window leader's thread: mailbox → queue, outcomes → mailbox marks, until told to stop."""

    def __init__(self, app: App, report: WorkerReport) -> None:
        super().__init__(name=f"madoguchi-leader-{app.settings.window}", daemon=True)
        self.app = app
        self.stop = threading.Event()
        self.report = report
        self.idle = False  # the last pass found no new mail, no pending message and no mark to apply

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                queued = queue_new_mail(self.app, self.stop)
                self.report.queued += queued
                marked = apply_marks(self.app)
                with self.app.session() as s:
                    self.idle = not (queued or marked or work_queue.pending_count(s))
                if self.idle:
                    self._wait_for_mail()
                else:
                    self.stop.wait(LEADER_PAUSE)
            except Exception as exc:  # noqa: BLE001 - a lost connection must not end the leader
                log.warning("leader pass failed (%s); retrying after a pause", type(exc).__name__)
                self.stop.wait(2.0)
        try:  # the outcomes of the last messages handled, before letting go
            apply_marks(self.app)
        except Exception as exc:  # noqa: BLE001 - the next leader applies them
            log.warning("leader could not apply the last marks (%s)", type(exc).__name__)

    def _wait_for_mail(self) -> None:
        """IDLE where the mailbox offers it (reaction within a second), else a short poll; at
        most LEADER_WAIT, so the marks of what the workers finish meanwhile follow soon."""
        wait: Any = getattr(self.app.mailbox, "wait_for_new", None)
        if wait is not None:
            wait(LEADER_WAIT, stop=self.stop)
        else:
            self.stop.wait(min(float(self.app.settings.poll_seconds), LEADER_WAIT))


# --- the process ------------------------------------------------------------------------------

def run_worker(apps: list[App], stop: threading.Event, *, until_idle: bool = False) -> WorkerReport:
    """Work until `stop` (SIGTERM); with `until_idle`, also return once nothing is left to do.

    On every turn the worker tries to lead each window nobody leads, so a dead leader's
    windows find a new one within about a second (a round of claims lasts ROUND_SECONDS).
    """
    for app in apps:
        require_postgresql(app)
    name = worker_name()
    report = WorkerReport()
    ships = [Leadership(app.engine, app.settings.window) for app in apps]
    leading: dict[int, tuple[LeaderLoop, Any]] = {}
    try:
        while not stop.is_set():
            for i, (app, ship) in enumerate(zip(apps, ships, strict=True)):
                if i not in leading and ship.try_take():
                    leading[i] = _become_leader(app, report)
                elif i in leading and not ship.still_held():
                    log.warning("lost the leader lock of a window; stepping down", extra={"window": ship.window})
                    _step_down(*leading.pop(i))
            did = _work_round(apps, name, report, stop)
            if not did:
                if until_idle and _all_quiet(apps, [loop for loop, _ in leading.values()]):
                    break
                stop.wait(IDLE_PAUSE)
    finally:
        for loop, scheduler in leading.values():
            _step_down(loop, scheduler)
        for ship in ships:
            ship.release()
    return report


def _work_round(apps: list[App], name: str, report: WorkerReport, stop: threading.Event) -> bool:
    did = False
    for app in apps:
        deadline = time.monotonic() + ROUND_SECONDS
        while not stop.is_set() and time.monotonic() < deadline and work_one(app, name, report):
            did = True
        delivered = deliver_queued(app, budget_seconds=ROUND_SECONDS)
        did = did or bool(delivered.sent or delivered.failed or delivered.retry)
    return did


def _all_quiet(apps: list[App], leaders: list[LeaderLoop]) -> bool:
    """Nothing pending for any window and, where leading, the mailbox read and every mark applied.

    A worker that does not lead cannot know what the leader is about to queue: `until_idle`
    is for one worker draining a backlog (tests, a catch-up by hand), not for a fleet.
    """
    if any(not loop.idle for loop in leaders):
        return False
    for app in apps:
        with app.session() as s:
            if work_queue.pending_count(s) or work_queue.marks_due(s, limit=1):
                return False
    return True


def _become_leader(app: App, report: WorkerReport) -> tuple[LeaderLoop, Any]:
    from bot.runner import build_scheduler

    log.info("this worker leads: reading the mailbox and running the timed jobs", extra={"window": app.settings.window})
    report.led = True
    loop = LeaderLoop(app, report)
    loop.start()
    scheduler = build_scheduler(app, deliver=False)
    scheduler.add_job(lambda: prune_queue(app), "interval", hours=6, id="prune-queue", max_instances=1,
                      coalesce=True)
    scheduler.start()
    return loop, scheduler


def _step_down(loop: LeaderLoop, scheduler: Any) -> None:
    loop.stop.set()
    loop.join(timeout=60)
    scheduler.shutdown(wait=True)
    loop.app.forget_mailbox()  # the next leader moves the folder's position on; read it afresh if we lead again


def leader_count(engine: Engine, window: str = "default") -> int:
    """For operators' scripts and tests: how many sessions hold the window's leader lock (0 or 1)."""
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND classid::bigint = :a AND objid::bigint = :b"),
            {"a": LEADER_LOCK, "b": window_lock_key(window) % 2**32}).scalar() or 0)
