"""ImapMailbox against a real Dovecot on loopback: UIDs, flags, folders, TLS, IDLE."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from typing import Any

import pytest

from bot.imap_mailbox import ImapMailbox, ImapTarget, MailboxError, MailboxSecurityError, batches
from tests.crash_helpers import folder_flags, uidvalidity
from tests.servers import Dovecot, ThrowawayCert, free_port

SEEN, FLAGGED, DELETED = b"\\Seen", b"\\Flagged", b"\\Deleted"


def mail(n: int) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"requester{n}@example.com"
    msg["To"] = "info@example.jp"
    msg["Subject"] = f"開示請求 {n}"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(f"保有個人データの開示を請求します。({n})\n", cte="8bit")
    return msg.as_bytes()


def append(dovecot: Dovecot, folder: str, *raws: bytes, flags: tuple[bytes, ...] = ()) -> None:
    client = dovecot.client()
    try:
        for raw in raws:
            client.append(folder, raw, flags=flags)
    finally:
        client.logout()


@pytest.fixture
def open_box(dovecot: Dovecot, mail_cert: ThrowawayCert, imap_folder: str) -> Iterator[Any]:
    boxes: list[ImapMailbox] = []

    def _open(folder: str = imap_folder, scheme: str = "imaps", **options: Any) -> ImapMailbox:
        options.setdefault("ca_file", mail_cert.cert)
        options.setdefault("retry_delay", 0.05)
        box = ImapMailbox.from_url(dovecot.url(folder, scheme), dovecot.password, timeout=10, **options)
        boxes.append(box)
        return box

    yield _open
    for box in boxes:
        box.close()


def test_fetch_new_yields_by_uid_with_exact_bytes_in_batches(dovecot: Dovecot, imap_folder: str,
                                                              open_box: Any) -> None:
    raws = [mail(n) for n in range(5)]
    append(dovecot, imap_folder, *raws)
    box = open_box(batch_uids=2)
    got = list(box.fetch_new())
    validity = uidvalidity(dovecot, imap_folder)
    assert [g.key for g in got] == [f"{validity}:{uid}" for uid in range(1, 6)]
    assert [g.raw for g in got] == raws
    assert all(f == set() for f in folder_flags(dovecot, imap_folder).values()), "BODY.PEEK must not set \\Seen"


def test_starttls_on_imap_url(dovecot: Dovecot, imap_folder: str, open_box: Any) -> None:
    append(dovecot, imap_folder, mail(1))
    assert len(list(open_box(scheme="imap").fetch_new())) == 1


def test_processed_is_seen_and_not_yielded_again_even_after_a_restart(dovecot: Dovecot, imap_folder: str,
                                                                      open_box: Any) -> None:
    append(dovecot, imap_folder, mail(1), mail(2))
    box = open_box()
    first, second = list(box.fetch_new())
    box.mark(first.key, "processed")
    box.mark(second.key, "ignored")
    assert folder_flags(dovecot, imap_folder) == {1: {SEEN}, 2: {SEEN}}
    assert list(box.fetch_new()) == []
    assert list(open_box().fetch_new()) == []


def test_processed_moves_to_a_folder(dovecot: Dovecot, imap_folder: str, open_box: Any) -> None:
    done = imap_folder + "-done"
    append(dovecot, imap_folder, mail(1))
    box = open_box(processed_folder=done)
    [msg] = box.fetch_new()
    box.mark(msg.key, "processed")
    assert folder_flags(dovecot, imap_folder) == {}
    assert list(folder_flags(dovecot, done).values()) == [{SEEN}]


def test_move_falls_back_to_copy_delete_uid_expunge(dovecot: Dovecot, imap_folder: str, open_box: Any) -> None:
    done, other = imap_folder + "-done", mail(2)
    append(dovecot, imap_folder, mail(1))
    append(dovecot, imap_folder, other, flags=(SEEN, DELETED))  # someone else's; must survive
    box = open_box(processed_folder=done, ignore_capabilities=["MOVE"])
    [msg] = box.fetch_new()
    box.mark(msg.key, "processed")
    assert folder_flags(dovecot, imap_folder) == {2: {SEEN, DELETED}}
    assert list(folder_flags(dovecot, done).values()) == [{SEEN}]


def test_quarantined_is_flagged_or_moved(dovecot: Dovecot, imap_folder: str, open_box: Any) -> None:
    append(dovecot, imap_folder, mail(1), mail(2))
    box = open_box()
    first, second = list(box.fetch_new())
    box.mark(first.key, "quarantined")
    assert folder_flags(dovecot, imap_folder)[1] == {SEEN, FLAGGED}
    held = imap_folder + "-held"
    other = open_box(quarantine_folder=held)
    assert [m.key for m in other.fetch_new()] == [second.key]
    other.mark(second.key, "quarantined")
    assert list(folder_flags(dovecot, held).values()) == [{SEEN, FLAGGED}]


def test_inquiry_is_left_unread_and_not_yielded_again_in_this_process(dovecot: Dovecot, imap_folder: str,
                                                                      open_box: Any) -> None:
    append(dovecot, imap_folder, mail(1))
    box = open_box()
    [msg] = box.fetch_new()
    box.mark(msg.key, "inquiry")
    assert folder_flags(dovecot, imap_folder) == {1: set()}
    assert list(box.fetch_new()) == []
    # A new process reads it once more; the pipeline's ledger makes that a duplicate.
    assert [m.key for m in open_box().fetch_new()] == [msg.key]


def test_inquiry_marked_seen_when_the_operator_wants(dovecot: Dovecot, imap_folder: str, open_box: Any) -> None:
    append(dovecot, imap_folder, mail(1))
    box = open_box(inquiry_seen=True)
    [msg] = box.fetch_new()
    box.mark(msg.key, "inquiry")
    assert folder_flags(dovecot, imap_folder) == {1: {SEEN}}


def test_new_mail_read_by_staff_before_the_pass_is_not_missed(dovecot: Dovecot, imap_folder: str,
                                                             open_box: Any) -> None:
    append(dovecot, imap_folder, mail(1))
    box = open_box()
    [msg] = box.fetch_new()
    box.mark(msg.key, "processed")
    late = mail(2)
    append(dovecot, imap_folder, late, flags=(SEEN,))
    assert [m.raw for m in box.fetch_new()] == [late]


def test_uidvalidity_change_reads_recent_mail_afresh_and_drops_old_marks(dovecot: Dovecot, imap_folder: str,
                                                                         open_box: Any) -> None:
    """After a rebuild, mail since the last saved position is read again, read or not (the ledger
    recognises it by its bytes); a mark for an old key never lands on a new message."""
    a, b = mail(1), mail(2)
    append(dovecot, imap_folder, a, b)
    box = open_box()
    old_a, old_b = list(box.fetch_new())
    box.mark(old_a.key, "processed")
    # The folder is rebuilt: same mail, new UIDVALIDITY (this also drops our selected session).
    client = dovecot.client()
    client.delete_folder(imap_folder)
    client.create_folder(imap_folder)
    client.logout()
    append(dovecot, imap_folder, a, flags=(SEEN,))
    append(dovecot, imap_folder, b)
    new_validity = uidvalidity(dovecot, imap_folder)
    assert old_b.key.split(":")[0] != str(new_validity)
    box.mark(old_b.key, "processed")  # an old key: must not flag the new message with UID 2
    assert folder_flags(dovecot, imap_folder) == {1: {SEEN}, 2: set()}
    got = list(box.fetch_new())
    assert [(m.key, m.raw) for m in got] == [(f"{new_validity}:1", a), (f"{new_validity}:2", b)]
    for m in got:
        box.mark(m.key, "processed")
    assert list(box.fetch_new()) == []  # the rebuilt folder has its position now


def test_a_restart_goes_on_from_the_stored_position(dovecot: Dovecot, imap_folder: str, open_box: Any) -> None:
    """Unread inquiries and mail a colleague marked unread again are not read twice; new mail is,
    read or not."""
    from bot.mailbox_state import MemoryMailboxState

    positions = MemoryMailboxState()
    old_read = mail(0)
    append(dovecot, imap_folder, old_read, flags=(SEEN,))  # there before the bot: handled by people
    inquiry, request = mail(1), mail(2)
    append(dovecot, imap_folder, inquiry, request)
    box = open_box(positions=positions)
    got = list(box.fetch_new())
    assert [m.raw for m in got] == [inquiry, request], "a first pass reads the unread mail only"
    box.mark(got[0].key, "inquiry")  # left unread for staff
    box.mark(got[1].key, "processed")
    assert list(box.fetch_new()) == []
    box.close()

    client = dovecot.client()
    client.select_folder(imap_folder)
    client.remove_flags([3], [SEEN])  # a colleague marks the handled request unread again
    client.logout()
    late = mail(3)
    append(dovecot, imap_folder, late, flags=(SEEN,))  # opened by a colleague before the bot looked
    restarted = open_box(positions=positions)
    got = list(restarted.fetch_new())
    assert [m.raw for m in got] == [late]
    restarted.mark(got[0].key, "processed")
    assert folder_flags(dovecot, imap_folder)[3] == set(), "the colleague's unread mark stays"
    restarted.close()
    [row] = positions._rows.values()
    assert row.last_uid == 4 and row.uidvalidity == uidvalidity(dovecot, imap_folder)


def test_a_crash_mid_pass_reads_again_from_the_last_saved_batch(dovecot: Dovecot, imap_folder: str,
                                                                open_box: Any) -> None:
    from bot.mailbox_state import MemoryMailboxState

    positions = MemoryMailboxState()
    raws = [mail(n) for n in range(7)]
    append(dovecot, imap_folder, raws[0])
    box = open_box(positions=positions, batch_uids=3)
    for m in box.fetch_new():  # a first, whole pass: the folder gets its position
        box.mark(m.key, "processed")
    append(dovecot, imap_folder, *raws[1:])
    seen = []
    for m in box.fetch_new():
        seen.append(m.raw)
        box.mark(m.key, "processed")
        if len(seen) == 4:
            break  # killed after marking the first of the second batch (no close, no save)
    assert positions._rows, "the position is saved per batch"
    restarted = open_box(positions=positions, batch_uids=3)
    again = [m.raw for m in restarted.fetch_new()]
    assert again == raws[5:], "only what came after the last saved batch is read again"


def test_a_failed_mark_holds_the_position_below_that_message(dovecot: Dovecot, imap_folder: str,
                                                             open_box: Any) -> None:
    from bot.mailbox_state import MemoryMailboxState

    positions = MemoryMailboxState()
    append(dovecot, imap_folder, mail(0))
    box = open_box(positions=positions)
    for m in box.fetch_new():
        box.mark(m.key, "processed")
    a, b = mail(1), mail(2)
    append(dovecot, imap_folder, a, b)
    first, second = box.fetch_new()
    dovecot.kick(box._client)
    real_connect = box._connect

    def unreachable() -> Any:
        raise ConnectionRefusedError("the server is away for a moment")

    box._connect = unreachable
    box.mark(first.key, "processed")  # lost: the line is gone and the one retry cannot connect
    box._connect = real_connect
    box.mark(second.key, "processed")  # reconnects and marks
    box.close()
    restarted = open_box(positions=positions)
    assert [m.raw for m in restarted.fetch_new()] == [a, b], "read again from the message whose mark was lost"


def test_reconnects_after_a_dropped_connection(dovecot: Dovecot, imap_folder: str, open_box: Any) -> None:
    append(dovecot, imap_folder, mail(1))
    box = open_box()
    [first] = box.fetch_new()
    dovecot.kick(box._client)
    box.mark(first.key, "processed")  # the line is gone: the mark reconnects once and lands
    assert folder_flags(dovecot, imap_folder)[1] == {SEEN}
    second = mail(2)
    append(dovecot, imap_folder, second)
    dovecot.kick(box._client)
    again = list(box.fetch_new())  # reconnects; only the new one
    assert [m.raw for m in again] == [second]


def test_a_dropped_line_ends_idle_at_once(dovecot: Dovecot, imap_folder: str, open_box: Any) -> None:
    box = open_box()
    assert list(box.fetch_new()) == []
    timer = threading.Timer(0.5, dovecot.kick)
    started = time.monotonic()
    timer.start()
    try:
        assert box.wait_for_new(15) is False
    finally:
        timer.join()
    assert time.monotonic() - started < 5
    append(dovecot, imap_folder, mail(1))
    assert len(list(box.fetch_new())) == 1


def test_plain_server_without_starttls_is_refused(plain_dovecot: Dovecot) -> None:
    box = ImapMailbox.from_url(plain_dovecot.url("INBOX", "imap"), plain_dovecot.password, timeout=5)
    with pytest.raises(MailboxSecurityError, match="does not offer STARTTLS"):
        list(box.fetch_new())
    allowed = ImapMailbox.from_url(plain_dovecot.url("INBOX", "imap"), plain_dovecot.password, timeout=5,
                                   allow_plaintext=True)
    assert list(allowed.fetch_new()) == []
    allowed.close()


@pytest.mark.parametrize("scheme", ["imaps", "imap"])
def test_untrusted_certificate_is_refused(dovecot: Dovecot, other_cert: ThrowawayCert, scheme: str) -> None:
    box = ImapMailbox.from_url(dovecot.url("INBOX", scheme), dovecot.password, ca_file=other_cert.cert, timeout=5)
    started = time.monotonic()
    with pytest.raises(MailboxSecurityError, match="certificate is not trusted"):
        list(box.fetch_new())
    assert time.monotonic() - started < 3, "a certificate failure is final, not retried"


def test_wrong_password_is_a_clear_error(lone_dovecot: Dovecot, mail_cert: ThrowawayCert) -> None:
    box = ImapMailbox.from_url(lone_dovecot.url(), "wrong", ca_file=mail_cert.cert, timeout=5)
    with pytest.raises(MailboxError, match="login refused") as info:
        list(box.fetch_new())
    assert "wrong" not in str(info.value) and lone_dovecot.user not in str(info.value)


def test_unreachable_server_is_retried_then_reported() -> None:
    box = ImapMailbox.from_url(f"imaps://u@127.0.0.1:{free_port()}/INBOX", "pw", timeout=2, retry_delay=0.01,
                               connect_attempts=3)
    with pytest.raises(MailboxError, match="after 3 attempts"):
        list(box.fetch_new())


def test_idle_wakes_up_soon_after_an_append(dovecot: Dovecot, imap_folder: str, open_box: Any) -> None:
    box = open_box()
    assert list(box.fetch_new()) == []
    timer = threading.Timer(0.5, append, (dovecot, imap_folder, mail(1)))
    started = time.monotonic()
    timer.start()
    try:
        assert box.wait_for_new(20) is True
    finally:
        timer.join()
    assert time.monotonic() - started < 5
    assert len(list(box.fetch_new())) == 1


def test_idle_times_out_and_renews(dovecot: Dovecot, imap_folder: str, open_box: Any) -> None:
    box = open_box(idle_renew_seconds=0.3)
    started = time.monotonic()
    assert box.wait_for_new(1.0) is False
    assert 0.9 < time.monotonic() - started < 3
    append(dovecot, imap_folder, mail(1))
    assert box.wait_for_new(5) is True  # already there: no need to wait


def test_without_idle_it_sleeps_then_looks(dovecot: Dovecot, imap_folder: str, open_box: Any) -> None:
    box = open_box(ignore_capabilities=["IDLE"])
    timer = threading.Timer(0.2, append, (dovecot, imap_folder, mail(1)))
    timer.start()
    assert box.wait_for_new(1.0) is True
    timer.join()


def test_urls() -> None:
    t = ImapTarget.from_url("imaps://window%40example.jp@mail.example.jp/%E7%AA%93%E5%8F%A3")
    assert (t.host, t.port, t.user, t.folder, t.implicit_tls) == ("mail.example.jp", 993, "window@example.jp",
                                                                  "窓口", True)
    assert str(t) == "imaps://mail.example.jp:993/窓口"
    assert ImapTarget.from_url("imap://u@h").port == 143 and ImapTarget.from_url("imap://u@h").folder == "INBOX"
    with pytest.raises(MailboxError):
        ImapTarget.from_url("imaps://mail.example.jp/INBOX")


def test_batches_bound_count_and_bytes() -> None:
    sizes = {1: 10, 2: 10, 3: 100, 4: 10, 5: 10}
    assert list(batches([1, 2, 3, 4, 5], sizes, max_count=50, max_bytes=30)) == [[1, 2], [3], [4, 5]]
    assert list(batches([1, 2, 3, 4, 5], sizes, max_count=2, max_bytes=10**9)) == [[1, 2], [3, 4], [5]]
    assert list(batches([], {}, 50, 10)) == []


def test_make_mailbox_builds_it_from_settings(dovecot: Dovecot, mail_cert: ThrowawayCert, tmp_path: Any) -> None:
    from bot.app import make_mailbox
    from config.settings import SettingsError, load_settings

    env = {"MADOGUCHI_MAILBOX_URL": dovecot.url(), "MADOGUCHI_MAILBOX_CA_FILE": str(mail_cert.cert),
           "MADOGUCHI_DATA_DIR": str(tmp_path)}
    with pytest.raises(SettingsError, match="MADOGUCHI_MAILBOX_PASSWORD"):
        make_mailbox(load_settings(environ=env))
    box = make_mailbox(load_settings(environ={**env, "MADOGUCHI_MAILBOX_PASSWORD": dovecot.password}))
    assert isinstance(box, ImapMailbox)
    list(box.fetch_new())
    box.close()


def test_a_server_that_leaves_uidnext_out_still_keeps_old_read_mail_out(dovecot: Dovecot, imap_folder: str,
                                                                        open_box: Any) -> None:
    """The first pass's position must cover the read mail above the last unread one."""
    append(dovecot, imap_folder, mail(0))
    append(dovecot, imap_folder, mail(1), mail(2), flags=(SEEN,))  # read before the bot came
    box = open_box()
    real_connect = box._connect

    def connect_without_uidnext() -> Any:
        client = real_connect()
        real_select = client.select_folder

        def select(folder: str, readonly: bool = False) -> dict[bytes, Any]:
            info = dict(real_select(folder, readonly))
            info.pop(b"UIDNEXT", None)
            return info

        client.select_folder = select
        return client

    box._connect = connect_without_uidnext
    [first] = box.fetch_new()
    box.mark(first.key, "processed")
    assert list(box.fetch_new()) == []


def test_a_stop_ends_an_idle_wait_within_a_second_or_two(dovecot: Dovecot, imap_folder: str,
                                                         open_box: Any) -> None:
    box = open_box()
    assert list(box.fetch_new()) == []
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    started = time.monotonic()
    timer.start()
    try:
        assert box.wait_for_new(30, stop) is False
    finally:
        timer.join()
    assert time.monotonic() - started < 3, "SIGTERM must not wait for the end of the IDLE slice"
    append(dovecot, imap_folder, mail(1))  # the connection is still good after the stopped IDLE
    assert len(list(box.fetch_new())) == 1


def test_imaplib_traces_nothing_of_the_conversation(dovecot: Dovecot, imap_folder: str, open_box: Any,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """imapclient turns imaplib's tracing on; an operator's DEBUG level must not log the traffic."""
    append(dovecot, imap_folder, mail(1))
    box = open_box()
    with caplog.at_level(logging.DEBUG, logger="imapclient.imaplib"):
        [msg] = box.fetch_new()
        box.mark(msg.key, "processed")
    assert [r for r in caplog.records if r.name == "imapclient.imaplib"] == []


def test_a_pass_marks_each_batch_with_one_store_per_outcome(dovecot: Dovecot, imap_folder: str,
                                                             open_box: Any) -> None:
    """A round trip per message would cost more than handling it: marks go out per batch."""
    append(dovecot, imap_folder, *[mail(n) for n in range(7)])
    box = open_box(batch_uids=3)
    stores: list[list[int]] = []
    real_connect = box._connect

    def counting_connect() -> Any:
        client = real_connect()
        real_add_flags = client.add_flags

        def add_flags(uids: list[int], flags: list[bytes], silent: bool = False) -> Any:
            stores.append(list(uids))
            return real_add_flags(uids, flags, silent=silent)

        client.add_flags = add_flags
        return client

    box._connect = counting_connect
    for m in box.fetch_new():
        box.mark(m.key, "inquiry" if m.key.endswith(":2") else "processed")  # an inquiry stays unread
    assert stores == [[1, 3], [4, 5, 6], [7]]
    flags = folder_flags(dovecot, imap_folder)
    assert flags[2] == set() and all(flags[u] == {SEEN} for u in (1, 3, 4, 5, 6, 7))
