"""Who is writing: the trusted Authentication-Results, what an unverified sender is sent
(one neutral acknowledgement a day, nothing else), staff confirming the sender, and the
polite notice for a mail too large to read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import staff
from bot.app import App
from bot.delivery import deliver_queued
from bot.runner import run_once
from parsers.headers import sender_authentication
from parsers.mime import parse_message
from tests import factory
from tests.apps import make_app
from tests.test_pipeline import body_of, cases, complete_request, deliver, outbox

OURS = "mx.window.example.jp"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = make_app(tmp_path, actor="suzuki", MADOGUCHI_TRUSTED_AUTHSERV_IDS=OURS,
                 MADOGUCHI_MAX_MESSAGE_BYTES="2000000")
    yield a
    a.close()


def with_results(raw: bytes, *results: str) -> bytes:
    """Authentication-Results headers on top, as receiving servers add them."""
    return b"".join(f"Authentication-Results: {r}\r\n".encode() for r in results) + raw


def headers(ar: str, sender: str = "taro@mail.example.com") -> bytes:
    return f"Authentication-Results: {ar}\r\nFrom: {sender}\r\nSubject: x\r\n\r\nbody\r\n".encode()


@pytest.mark.parametrize(("ar", "expected"), [
    (f"{OURS}; dmarc=pass header.from=example.com", "pass"),
    (f"{OURS}; spf=pass smtp.mailfrom=bounce@example.com; dkim=none; dmarc=none", "pass"),  # aligned SPF
    (f"{OURS}; dkim=pass header.d=mail.example.com header.s=s1; dmarc=none", "pass"),  # aligned DKIM
    (f"{OURS}; spf=pass smtp.mailfrom=x@bulk.example.net; dkim=pass header.d=bulk.example.net", "unknown"),
    (f"{OURS}; spf=none; dkim=none; dmarc=none", "unknown"),
    (f"{OURS}; dmarc=fail (p=reject) header.from=example.com", "fail"),
    ("mx.forger.example; dmarc=pass", "unknown"),  # somebody else's header is not read
])
def test_sender_authentication_reads_only_our_server(ar: str, expected: str) -> None:
    assert sender_authentication(parse_message(headers(ar)), (OURS,)) == expected


def test_without_a_configured_server_only_a_fail_counts() -> None:
    assert sender_authentication(parse_message(headers("any.example; dmarc=pass")), ()) == "unknown"
    assert sender_authentication(parse_message(headers("any.example; dmarc=fail")), ()) == "fail"


def test_an_authenticated_sender_gets_the_full_reply(app: App) -> None:
    deliver(app, with_results(complete_request("山田 太郎 <taro@example.com>"),
                              f"{OURS}; spf=pass smtp.mailfrom=taro@example.com; dmarc=pass header.from=example.com"))
    run_once(app)
    assert "sender_unverified" not in cases(app)[0]["flags"]
    assert "手数料" in str(outbox(app)[-1]["Subject"])


def test_an_unauthenticated_sender_learns_nothing_until_staff_confirm(app: App) -> None:
    forged = with_results(complete_request("山田 太郎 <taro@example.com>"),
                          f"{OURS}; spf=softfail smtp.mailfrom=x@evil.example; dkim=none; dmarc=none",
                          "evil.example; dmarc=pass")  # the forger's own header above ours counts for nothing
    deliver(app, forged)
    run_once(app)
    case = cases(app)[0]
    case_id = str(case["id"])
    assert "sender_unverified" in case["flags"] and case["status"] == "awaiting_fee"
    first = outbox(app)
    assert len(first) == 1
    neutral = body_of(first[0])
    assert "山田" not in neutral and "1,000" not in neutral and "手数料" not in neutral
    assert "住民票" not in neutral and "運転免許証" not in neutral

    # More mail from the same address the same day: no more replies (no backscatter).
    for n in range(3):
        deliver(app, factory.mail(sender="taro@example.com", subject=f"Re: [#{case_id}] {n}", body="追加です。"),
                name=f"more{n}.eml")
    run_once(app)
    assert len(outbox(app)) == 1

    # Staff actions on an unconfirmed case send nothing either.
    staff.record_payment(app, case_id, 1000, "bank_transfer")
    deliver_queued(app)
    assert len(outbox(app)) == 1

    # Confirmed by telephone: the requester now gets where the case stands (paid: an acknowledgement).
    staff.confirm_sender(app, case_id)
    deliver_queued(app)
    after = outbox(app)[1:]
    assert len(after) == 1 and "[#" + case_id + "]" in str(after[0]["Subject"])
    assert "sender_unverified" not in cases(app)[0]["flags"]
    with pytest.raises(staff.StaffError, match="not flagged"):
        staff.confirm_sender(app, case_id)


def test_a_mail_too_large_gets_a_polite_notice_and_stays_for_staff(app: App) -> None:
    big = factory.mail(sender="山田 太郎 <taro@example.com>", subject="開示請求", body="開示を請求します。",
                       attachments=(("scan.jpg", "image/jpeg", b"\xff\xd8" + b"\x00" * 2_100_000),))
    deliver(app, big)
    report = run_once(app)
    assert report.count("quarantined") == 1
    notices = outbox(app)
    assert len(notices) == 1 and notices[0]["To"] == "taro@example.com"
    assert notices[0]["Auto-Submitted"] == "auto-replied" and notices[0]["In-Reply-To"]
    text = body_of(notices[0])
    assert f"約{len(big) / 2**20:.1f}MB" in text and f"（{2_000_000 / 2**20:.0f}MB）" in text
    assert "受け付けられる大きさ" in text and "分けて" in text and "smaller files" in text
    run_once(app)  # seen again: no second notice
    assert len(outbox(app)) == 1


def test_no_size_notice_to_robots_or_failed_senders(app: App) -> None:
    payload = (("scan.jpg", "image/jpeg", b"\xff\xd8" + b"\x00" * 2_100_000),)
    deliver(app, factory.mail(sender="MAILER-DAEMON@example.net", subject="Undelivered", body="x",
                              attachments=payload), name="bounce.eml")
    deliver(app, with_results(factory.mail(sender="taro@example.com", subject="開示", body="開示を請求します。",
                                           attachments=payload), f"{OURS}; dmarc=fail"), name="forged.eml")
    report = run_once(app)
    assert report.count("quarantined") == 2
    assert outbox(app) == []
