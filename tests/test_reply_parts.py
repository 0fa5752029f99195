"""The blank form is stored once; queued replies refer to it; what is sent is the whole message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from bot.crypto import Cipher
from bot.db import OutboundMessage
from bot.delivery import deliver_queued
from bot.pipeline import handle_batch
from bot.rawstore import BlobStore
from bot.reply_parts import ReplyParts
from bot.runner import run_once
from tests import factory
from tests.apps import make_app
from tests.test_pipeline import deliver, outbox


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = make_app(tmp_path)
    yield a
    a.close()


def test_replies_with_the_form_refer_to_one_stored_copy_and_are_sent_whole(app: App) -> None:
    for n in range(3):
        deliver(app, factory.mail(sender=f"要求者{n} <user{n}@example.com>", subject="開示請求",
                                  body=f"保有個人データの開示を請求します。({n})"), f"{n}.test")
    report = run_once(app)
    assert report.count("request") == 3 and report.delivery.sent >= 3
    with app.session() as s:
        rows = list(s.scalars(select(OutboundMessage).where(OutboundMessage.kind != "new_case_alert")))
    assert rows and all(len(o.raw) < 20_000 for o in rows)  # the form's 220 KB is not in the row
    assert len(list((app.settings.data_dir / "parts").rglob("*.bin"))) == 1  # stored once for all
    sent = outbox(app)
    forms = [p.get_content() for m in sent for p in m.iter_attachments()]
    assert len(forms) == len(rows) and all(f.startswith(b"%PDF") and f == forms[0] for f in forms)
    assert all(b"\x00" not in p.read_bytes() for p in Path(app.settings.outbox_url[4:]).glob("*.eml"))


def test_expand_puts_back_exactly_the_part_that_was_referred_to(tmp_path: Path) -> None:
    parts = ReplyParts(BlobStore(tmp_path / "parts", Cipher(bytes(32))))
    part_a, part_b = b"Content-Type: application/pdf\r\n\r\nAAAA\r\n", b"Content-Type: image/png\r\n\r\nBBBB\r\n"
    raw = b"head\r\n--b\r\n" + parts.ref(part_a) + b"\r\n--b\r\n" + parts.ref(part_b) + b"\r\n--b--\r\n"
    assert parts.ref(part_a) == parts.ref(bytes(part_a))  # equal bytes, the same marker
    assert parts.expand(raw) == b"head\r\n--b\r\n" + part_a + b"\r\n--b\r\n" + part_b + b"\r\n--b--\r\n"
    restarted = ReplyParts(BlobStore(tmp_path / "parts", Cipher(bytes(32))))  # a new process reads the stored copy
    assert restarted.expand(raw) == parts.expand(raw)
    assert parts.expand(b"no markers here") == b"no markers here"


def test_a_lost_part_fails_its_replies_alone_with_a_reason_staff_can_act_on(app: App) -> None:
    for n in range(2):
        deliver(app, factory.mail(sender=f"要求者{n} <user{n}@example.com>", subject="開示請求",
                                  body="保有個人データの開示を請求します。"), f"{n}.test")
    results = handle_batch(app, list(app.mailbox.fetch_new()))
    assert [r.outcome for r in results] == ["request", "request"]
    for part in (app.settings.data_dir / "parts").rglob("*.bin"):
        part.unlink()  # lost between queueing and delivery, as in a restore that forgot the folder
    report = deliver_queued(app)  # does not raise: each reply is tried and recorded
    with app.session() as s:
        rows = list(s.scalars(select(OutboundMessage)))
    with_form = [o for o in rows if b"\x00madoguchi-part:" in o.raw]
    assert with_form and all(o.status == "failed" and "data_dir/parts/" in (o.last_error or "") for o in with_form)
    assert all(o.status == "sent" for o in rows if o not in with_form)
    assert report.failed == len(with_form) and report.sent == len(rows) - len(with_form)
