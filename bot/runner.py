"""Running the window: one pass (`run --once`) or the scheduled service (`run`)."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from types import FrameType

from bot.app import App
from bot.delivery import DeliveryReport, deliver_queued
from bot.pipeline import Result, handle

log = logging.getLogger("madoguchi.runner")


@dataclass
class PassReport:
    results: list[Result] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)


def run_once(app: App, stop: threading.Event | None = None) -> PassReport:
    """Ingest every message not yet seen, then deliver every queued reply."""
    report = PassReport()
    for incoming in app.mailbox.fetch_new():
        report.results.append(handle(app, incoming))
        if stop is not None and stop.is_set():
            break  # finish the message in hand, then stop
    report.delivery = deliver_queued(app)
    return report


def _send_digest(app: App) -> None:
    from bot.digest_job import queue_digest

    queue_digest(app)
    deliver_queued(app)


def run_forever(app: App) -> None:
    """Poll on a schedule (APScheduler) until SIGTERM/SIGINT, then stop cleanly."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    stop = threading.Event()
    scheduler = BlockingScheduler(timezone=app.settings.timezone)
    scheduler.add_job(lambda: run_once(app, stop), "interval", seconds=app.settings.poll_seconds,
                      id="poll", max_instances=1, coalesce=True, next_run_time=app.clock.now())
    if app.settings.staff_addresses:
        t = app.settings.digest_time
        scheduler.add_job(lambda: _send_digest(app), "cron", hour=t.hour, minute=t.minute, id="digest",
                          max_instances=1, coalesce=True)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the message in hand", signum)
        stop.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    scheduler.start()
