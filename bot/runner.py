"""Running the window: one pass (`run --once`) or the scheduled service (`run`).

The service reads mail in the main thread (reacting within seconds through IMAP IDLE
where the mailbox offers it) and leaves the timed jobs — delivery retries, the staff
digest, housekeeping — to APScheduler. Exactly one scheduler runs per deployment: a lock
file in the data folder says so clearly when a second one starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from bot.app import App
from bot.delivery import DeliveryReport, deliver_queued
from bot.pipeline import Result, handle_batch
from bot.read_ahead import ReadSpec, read_ahead
from bot.replying import warm

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger("madoguchi.runner")
PASS_GC_THRESHOLD = 10_000  # objects made and not freed between two collections, during a pass
WAIT_SLICE_SECONDS = 10.0  # how long one IDLE/sleep lasts before the stop flag is looked at


class SchedulerBusy(Exception):
    """Another `madoguchi run` holds the scheduler lock; str() says which and what to do."""


@dataclass
class PassReport:
    results: list[Result] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)


def run_once(app: App, stop: threading.Event | None = None) -> PassReport:
    """Ingest every message not yet seen, then deliver every queued reply."""
    with mailbox_reader(app):
        return _pass(app, stop)


@contextlib.contextmanager
def mailbox_reader(app: App) -> Iterator[None]:
    """On PostgreSQL, the leader lock the workers use: one reader of the mailbox at a time.

    Also finishes what `madoguchi worker`s left in their queue (a deployment that went back
    from workers to `run`), so no message waits for a worker that will never come.
    """
    if app.engine.dialect.name != "postgresql":
        yield
        return
    from bot.workers import Leadership, apply_marks, work_one, worker_name

    leadership = Leadership(app.engine, app.settings.window)
    if not leadership.try_take():
        raise SchedulerBusy("a `madoguchi worker` (or another `madoguchi run`) leads this deployment and reads "
                            "the mailbox; stop it first, or let the workers do the work")
    try:
        while work_one(app, worker_name()):
            pass
        apply_marks(app)
        yield
    finally:
        leadership.release()


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a pass runs.

    A pass makes many short-lived objects a mail (ORM rows and their states, parsed mail, the
    reply) and few reference cycles. At the default threshold (a collection every 700 objects
    made and not freed) the collector ran 200 times per 1,000 text mails, one of them over
    everything the bot holds, for 5 % of the pass; at 10,000 it runs about 10 times.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], PASS_GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _pass(app: App, stop: threading.Event | None = None) -> PassReport:
    report = PassReport()
    window = app.settings.window_address
    spec = ReadSpec(app.settings.max_message_bytes, window, app.raw.handover())
    batches = read_ahead(app.mailbox.fetch_batches(), spec, app.settings.read_ahead != "off",
                         lambda: warm(app.policy, window, app.reply_parts), full=app.settings.mailbox_batch_size)
    with _fewer_collections():
        with contextlib.closing(batches):  # a stop ends the reader and the mailbox's pass (its marks) here
            for batch, ready in batches:
                report.results.extend(handle_batch(app, batch, stop, ready))
                if stop is not None and stop.is_set():
                    break  # the message in hand was finished and its group committed: stop
        report.delivery = deliver_queued(app)
    return report


@contextlib.contextmanager
def scheduler_lock(data_dir: Path) -> Iterator[None]:
    """Hold data_dir/scheduler.lock for the life of the service (released by the OS on a crash)."""
    path = data_dir / "scheduler.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise SchedulerBusy(f"another `madoguchi run` (pid {holder}) already runs for {data_dir}; "
                                "only one scheduler may run per deployment — stop it first") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def run_forever(windows: list[App]) -> None:
    """Read mail until SIGTERM/SIGINT, finishing the message in hand; timed jobs in APScheduler.

    With several windows, each has its own scheduler lock, jobs and mailbox; their
    mailboxes are read in turn, every poll interval (IDLE needs one connection per folder).
    """
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the message in hand", signum)
        stop.set()

    with contextlib.ExitStack() as held:
        for app in windows:
            held.enter_context(scheduler_lock(app.settings.data_dir))
            held.enter_context(mailbox_reader(app))
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        schedulers = [build_scheduler(app) for app in windows]
        for scheduler in schedulers:
            scheduler.start()
        try:
            _intake_loop(windows, stop)
        finally:
            for scheduler in schedulers:
                scheduler.shutdown(wait=True)
            for app in windows:
                app.close()


def build_scheduler(app: App, *, deliver: bool = True) -> BackgroundScheduler:
    """The timed jobs: delivery retries, the morning chase and staff digest, daily housekeeping (local times).

    Reminders go out at the digest time (office hours, not the middle of the night), just
    before the digest, so the digest shows who was reminded and what lapsed.
    """
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.housekeeping import housekeep

    scheduler = BackgroundScheduler(timezone=app.settings.timezone)
    if deliver:  # workers deliver in their own loop
        scheduler.add_job(lambda: deliver_queued(app), "interval", seconds=app.settings.poll_seconds,
                          id="deliver", max_instances=1, coalesce=True)
    t = app.settings.digest_time
    scheduler.add_job(lambda: _chase(app), "cron", hour=t.hour, minute=t.minute, id="chase",
                      max_instances=1, coalesce=True)
    if app.settings.staff_addresses:
        scheduler.add_job(lambda: _send_digest(app), "cron", hour=t.hour, minute=t.minute, second=30, id="digest",
                          max_instances=1, coalesce=True)
    h = app.settings.housekeeping_time
    scheduler.add_job(lambda: housekeep(app), "cron", hour=h.hour, minute=h.minute, id="housekeeping",
                      max_instances=1, coalesce=True)
    return scheduler


def _intake_loop(windows: list[App], stop: threading.Event) -> None:
    while not stop.is_set():
        failed = False
        for app in windows:
            if stop.is_set():
                break
            try:
                _pass(app, stop)
            except Exception as exc:  # noqa: BLE001 - a lost connection must not end the service
                log.warning("pass failed (%s); retrying after a pause", type(exc).__name__,
                            extra={"window": app.settings.window})
                stop.wait(min(app.settings.poll_seconds, 30))
                failed = True
        if failed:
            continue
        if len(windows) == 1:
            _wait_for_mail(windows[0], stop)
        else:
            stop.wait(min(app.settings.poll_seconds for app in windows))


def _wait_for_mail(app: App, stop: threading.Event) -> None:
    """Until new mail, the poll interval, or a stop: IDLE where the mailbox offers it."""
    waited = 0.0
    wait = getattr(app.mailbox, "wait_for_new", None)
    while not stop.is_set() and waited < app.settings.poll_seconds:
        slice_ = min(WAIT_SLICE_SECONDS, app.settings.poll_seconds - waited)
        if wait is not None:
            if wait(slice_, stop=stop):
                return
        else:
            stop.wait(slice_)
        waited += slice_


def _chase(app: App) -> None:
    from bot.chasing import chase_cases

    report = chase_cases(app)
    log.info("chase: %d reminded, %d lapsed", len(report.reminded), len(report.lapsed))
    deliver_queued(app)


def _send_digest(app: App) -> None:
    from bot.digest_job import queue_digest

    queue_digest(app)
    deliver_queued(app)
