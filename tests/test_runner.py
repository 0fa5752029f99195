"""The service: delivery retries with backoff, one scheduler per deployment, a clean stop."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.delivery import deliver_queued, retry_pause
from bot.outbox import PermanentDeliveryError, TemporaryDeliveryError
from bot.runner import SchedulerBusy, run_once, scheduler_lock
from config.settings import load_settings
from tests import factory


def env_for(tmp_path: Path) -> dict[str, str]:
    return {
        "MADOGUCHI_MAILBOX_URL": f"maildir:{tmp_path}/mail", "MADOGUCHI_OUTBOX_URL": f"dir:{tmp_path}/outbox",
        "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path}/m.db", "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
        "MADOGUCHI_NOW": "2025-06-02T10:00:00+09:00", "MADOGUCHI_DELIVERY_RETRY_HOURS": "2",
    }


class FlakyOutbox:
    """Fails as told, then records what it accepted (a unit-test stand-in for a server)."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.accepted: list[str] = []

    def deliver(self, raw: bytes, message_id: str, sender: str, recipients: list[str]) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.accepted.append(message_id)

    def close(self) -> None:
        return None


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = build_app(load_settings(environ=env_for(tmp_path)))
    mail = tmp_path / "mail" / "new"
    mail.mkdir(parents=True)
    (mail / "1").write_bytes(factory.mail(sender="a@example.com", subject="開示請求", body="開示を請求します。"))
    yield a
    a.close()


def later(app: App, minutes: int) -> None:
    assert app.clock._fixed is not None
    app.clock._fixed += dt.timedelta(minutes=minutes)


def test_temporary_failures_are_retried_with_growing_pauses(app: App) -> None:
    flaky = FlakyOutbox([TemporaryDeliveryError("451"), TemporaryDeliveryError("451")])
    app._outbox = flaky
    assert run_once(app).delivery.retry == 1
    assert deliver_queued(app).retry == 0  # not due yet: the pause is running
    later(app, 1)
    assert deliver_queued(app).retry == 1
    later(app, 1)
    assert deliver_queued(app).sent == 0  # second pause is two minutes
    later(app, 1)
    assert deliver_queued(app).sent == 1
    assert len(flaky.accepted) == 1
    assert deliver_queued(app).sent == 0  # never twice


def test_permanent_failure_is_marked_failed_at_once(app: App) -> None:
    app._outbox = FlakyOutbox([PermanentDeliveryError("550 5.1.1")])
    assert run_once(app).delivery.failed == 1
    from bot.digest_job import digest_text

    assert "配信できなかった返信: 1件" in digest_text(app)


def test_temporary_failures_give_up_after_the_retry_window(app: App) -> None:
    app._outbox = FlakyOutbox([TemporaryDeliveryError("421")] * 50)
    run_once(app)
    for _ in range(10):
        later(app, 61)
        report = deliver_queued(app)
        if report.failed:
            break
    assert report.failed == 1



@pytest.mark.sqlite_only  # PostgreSQL uses row locks instead: tests/test_workers.py
def test_a_second_process_leaves_delivery_to_the_one_delivering(app: App) -> None:
    """Two deliverers (the service and a `run --once` by hand) must not send one reply twice."""
    import fcntl

    flaky = FlakyOutbox([])
    app._outbox = flaky
    fd = os.open(app.settings.data_dir / "delivery.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another open file: the same conflict another process has
        report = run_once(app)
        assert report.delivery.sent == 0 and flaky.accepted == []
    finally:
        os.close(fd)
    assert deliver_queued(app).sent == 1
    assert len(flaky.accepted) == 1


def test_retry_pause_is_bounded() -> None:
    assert retry_pause(1) == dt.timedelta(minutes=1)
    assert retry_pause(3) == dt.timedelta(minutes=4)
    assert retry_pause(30) == dt.timedelta(hours=1)


def test_only_one_scheduler_per_data_dir(tmp_path: Path) -> None:
    with scheduler_lock(tmp_path), pytest.raises(SchedulerBusy, match="only one scheduler"), \
            scheduler_lock(tmp_path):
        pass
    with scheduler_lock(tmp_path):  # released after the first one ended
        pass


def test_service_answers_mail_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in env_for(tmp_path).items() if k != "MADOGUCHI_NOW"}
    env.update({"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MADOGUCHI_POLL_SECONDS": "1",
                "HOME": str(tmp_path)})
    mail = tmp_path / "mail" / "new"
    mail.mkdir(parents=True)
    exe = str(Path(sys.executable).parent / "madoguchi")
    proc = subprocess.Popen([exe, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        (mail / "1").write_bytes(factory.mail(sender="a@example.com", subject="開示請求", body="開示を請求します。"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list((tmp_path / "outbox").glob("*.eml")):
            time.sleep(0.2)
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
        second = subprocess.run([exe, "run"], env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "only one scheduler" in second.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_pass_collects_garbage_less_often_and_puts_the_collector_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    import bot.runner

    app = build_app(load_settings(environ=env_for(tmp_path)))
    during: list[tuple[int, int, int]] = []
    real = bot.runner.handle_batch
    fail = [True]

    def spy(*args: object, **kwargs: object) -> object:
        during.append(gc.get_threshold())
        if fail[0]:
            raise RuntimeError("the store went away")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.runner, "handle_batch", spy)
    before = gc.get_threshold()
    (tmp_path / "mail" / "new").mkdir(parents=True, exist_ok=True)
    (tmp_path / "mail" / "new" / "1.test").write_bytes(
        factory.mail(sender="山田 <taro@example.com>", subject="開示請求", body="開示を請求します。"))
    try:
        with pytest.raises(RuntimeError):
            run_once(app)
        assert gc.get_threshold() == before  # put back when the pass fails too
        fail[0] = False
        assert run_once(app).results
    finally:
        app.close()
    assert during == [(max(before[0], bot.runner.PASS_GC_THRESHOLD), *before[1:])] * 2
    assert gc.get_threshold() == before
