"""Reading a backlog one batch ahead in a second process changes nothing but the speed.

The reader parses batch k+1 while the pipeline records batch k. These tests hold it to
that: the same outcomes as without it, mail it cannot read quarantined as before (also
when the parser fails only in the reader's copy of this process), a reader that dies
costing nothing but speed, and no reader left behind, by the pass or by a killed bot.
A group read ahead also makes its lookups once for the group and gives its rows ids in
hand: those must give the answers that asking mail by mail gives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot import pipeline, read_ahead
from bot.app import App
from bot.db import CaseCounter, CaseEvent, InboundMessage, OutboundMessage
from bot.mailbox import Incoming
from bot.prepared import Prepared, prepare, read_batch
from bot.runner import run_once
from config.settings import SettingsError
from tests import factory
from tests.apps import make_app, poison_parser
from tests.test_group_commit import count_commits, text_request
from tests.test_pipeline import cases, deliver, outbox

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = make_app(tmp_path, MADOGUCHI_MAILBOX_BATCH_SIZE="3")
    yield a
    a.close()


@pytest.fixture(autouse=True)
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader runs only with a second core; these tests want it wherever they run."""
    monkeypatch.setattr(read_ahead, "_cores", lambda: 2)


def spied(monkeypatch: pytest.MonkeyPatch) -> list[list[Prepared] | None]:
    """What `handle_batch` was given with each batch (None: read in the pipeline)."""
    given: list[list[Prepared] | None] = []
    real = pipeline.handle_batch

    def spy(app: App, batch: list[Incoming], stop: object = None, ready: list[Prepared] | None = None) -> object:
        given.append(ready)
        return real(app, batch, stop, ready)  # type: ignore[arg-type]

    monkeypatch.setattr("bot.runner.handle_batch", spy)
    return given


def test_a_backlog_read_ahead_gives_what_reading_in_the_pipeline_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = spied(monkeypatch)
    readers: list[str] = []
    real_take = read_ahead._Reader.take

    def take(reader: read_ahead._Reader) -> object:
        pid = reader.pid()
        if pid is not None:
            readers.append(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))
        return real_take(reader)

    monkeypatch.setattr(read_ahead._Reader, "take", take)
    outcomes = {}
    robot = factory.mail(sender="不在 <away@example.net>", subject="自動応答: 開示請求", body="不在にしております。",
                         headers={"Auto-Submitted": "auto-replied"})
    mails = [text_request(n) for n in range(9)] + [robot, b"not a mail at all\x00\xff"]
    for name, cores in (("ahead", 2), ("here", 1)):
        monkeypatch.setattr(read_ahead, "_cores", lambda cores=cores: cores)
        a = make_app(tmp_path / name, MADOGUCHI_MAILBOX_BATCH_SIZE="3")
        try:
            for n, raw in enumerate(mails):
                deliver(a, raw, f"{n:02}.test")
            report = run_once(a)
            outcomes[name] = ([r.outcome for r in report.results], cases(a),
                              sorted(_reply(m) for m in outbox(a)))
        finally:
            a.close()
    assert outcomes["ahead"] == outcomes["here"]
    assert outcomes["ahead"][0].count("request") == 9 and outcomes["ahead"][0].count("robot") == 2  # no sender: junk
    assert [r.robots for r in given[3] or []] == [("auto_submitted",), ("no_from",)]  # looked for by the reader
    # With two cores, every batch came read, the first too: 11 mails in batches of 3.
    assert [len(g) if g is not None else None for g in given[:4]] == [3, 3, 3, 2]
    kept = [r.kept_as for g in given[:4] if g is not None for r in g]
    assert all(kept) and all(list((tmp_path / "ahead" / "data").rglob(f"{d}.bin")) for d in kept)  # by the reader
    assert readers and all("bot.reader_process" in cmdline for cmdline in readers)  # a fresh interpreter, not a fork
    assert given[4:] == [None] * 4  # one core: all read in the pipeline


def test_a_parser_that_fails_in_the_reader_quarantines_the_mail_as_before(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    given = spied(monkeypatch)
    poison_parser(monkeypatch)  # in the pipeline
    monkeypatch.setattr(read_ahead, "READER", "tests.reader_faults:poisoned")  # and in the reader
    for n in range(7):
        deliver(app, text_request(n), f"{n}.test")
    deliver(app, factory.mail(sender="x@example.com", subject="POISON", body="開示を請求します。"),
            "8.test")  # the last batch: read ahead
    report = run_once(app)
    assert given[-1] is not None and given[-1][-1].failure == ("parse", "RuntimeError")
    assert [r.outcome for r in report.results] == ["request"] * 7 + ["quarantined"]


def test_a_reader_that_dies_costs_only_speed(app: App, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    given = spied(monkeypatch)
    monkeypatch.setattr(read_ahead, "READER", "tests.reader_faults:dies")
    for n in range(9):
        deliver(app, text_request(n), f"{n}.test")
    report = run_once(app)
    assert [r.outcome for r in report.results] == ["request"] * 9
    assert given == [None, None, None]  # the first batch was read here, and the ones after it
    assert "read-ahead stopped (EOFError)" in caplog.text
    assert len(cases(app)) == 9


def test_no_reader_outlives_its_pass(app: App) -> None:
    for n in range(7):
        deliver(app, text_request(n), f"{n}.test")
    before = _children()
    assert run_once(app).results
    assert _children() == before


def test_a_reader_dies_with_a_bot_killed_by_sigkill(tmp_path: Path) -> None:
    """A reader left behind by a crash would hold the mail it was given and a core."""
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from bot import read_ahead
        from bot.mailbox import Incoming
        read_ahead.READER = "tests.reader_faults:sleeps"
        reader = read_ahead._Reader(read_ahead.ReadSpec(10**6))
        reader.send([Incoming("k", b"x")])
        print(reader.pid(), flush=True)
        time.sleep(60)
    """)
    bot = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert bot.stdout is not None
        reader_pid = int(bot.stdout.readline())
        assert _alive(reader_pid)
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(reader_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(reader_pid)
    finally:
        if bot.poll() is None:
            bot.kill()


def test_batches_too_large_to_copy_are_read_in_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read_ahead, "READ_AHEAD_BYTES", 100)
    monkeypatch.setattr(read_ahead, "READER", "tests.reader_faults:echo")
    small = [Incoming("a", b"x" * 10)]
    large = [Incoming("b", b"y" * 200)]

    got = list(read_ahead.read_ahead(iter([small, large, small]), read_ahead.ReadSpec(10**6)))
    assert [(b[0].key, r) for b, r in got] == [
        ("a", [Prepared(None, ("parse", "x" * 10))]), ("b", None), ("a", [Prepared(None, ("parse", "x" * 10))])]


def test_the_bot_warms_its_replies_while_the_reader_reads_the_first_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first batch's replies need the blank form: built while the reader reads, not after."""
    monkeypatch.setattr(read_ahead, "READER", "tests.reader_faults:echo")
    seen: list[str] = []

    def batches() -> Iterator[list[Incoming]]:
        for key in "abc":
            seen.append(f"fetch {key}")
            yield [Incoming(key, key.encode())]

    def warm() -> None:
        seen.append("warm")

    for batch, ready in read_ahead.read_ahead(batches(), read_ahead.ReadSpec(10**6), warm=warm):
        assert ready is None or [r.failure for r in ready] == [("parse", batch[0].key)]
        seen.append(f"record {batch[0].key} {'read ahead' if ready else 'here'}")
    assert seen == ["fetch a", "fetch b", "warm", "record a read ahead", "fetch c", "record b read ahead",
                    "record c read ahead"]
    seen.clear()
    real_reader = read_ahead._Reader

    class Reader(real_reader):  # type: ignore[valid-type,misc]
        def __init__(self, spec: read_ahead.ReadSpec) -> None:
            seen.append("start reader")
            super().__init__(spec)

    monkeypatch.setattr(read_ahead, "_Reader", Reader)
    for batch, ready in read_ahead.read_ahead(batches(), read_ahead.ReadSpec(10**6), warm=warm, full=1):
        seen.append(f"record {batch[0].key} {'read ahead' if ready else 'here'}")
    assert seen[:3] == ["fetch a", "start reader", "fetch b"]  # a full first batch: started before the second
    seen.clear()
    for batch, ready in read_ahead.read_ahead(batches(), read_ahead.ReadSpec(10**6), warm=warm):
        seen.append(f"record {batch[0].key} {'read ahead' if ready else 'here'}")
    assert seen[:3] == ["fetch a", "fetch b", "start reader"]
    seen.clear()
    for batch, ready in read_ahead.read_ahead(iter([[Incoming("a", b"a")]]), read_ahead.ReadSpec(10**6), warm=warm,
                                              full=1):
        seen.append(f"record {batch[0].key} {'read ahead' if ready else 'here'}")
    assert seen == ["start reader", "warm", "record a read ahead"]  # started for a full batch, then used
    seen.clear()
    for batch, ready in read_ahead.read_ahead(batches(), read_ahead.ReadSpec(10**6), enabled=False, warm=warm):
        seen.append(f"record {batch[0].key} {'read ahead' if ready else 'here'}")
    assert "warm" not in seen  # no reader: the first reply builds what it needs, as it always did


def test_warm_builds_and_keeps_the_blank_form_and_never_fails(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import replying

    replying._form_pdf.cache_clear()
    replying.warm(app.policy, app.settings.window_address, app.reply_parts)
    assert replying._form_pdf.cache_info().currsize == 1
    assert list((Path(app.settings.data_dir) / "parts").rglob("*"))  # its part is kept, ready for the first reply

    def no_font(*args: object, **kwargs: object) -> bytes:
        raise FileNotFoundError("no Japanese font")

    replying._form_pdf.cache_clear()
    monkeypatch.setattr("replies.form_pdf.build_request_form", no_font)
    replying.warm(app.policy, app.settings.window_address, app.reply_parts)  # the reply that needs it says so
    assert replying._form_pdf.cache_info().currsize == 0


def test_what_the_reader_could_not_keep_the_pipeline_keeps_and_makes_durable(app: App) -> None:
    class Full:
        def put(self, data: bytes, *, sync: bool = True) -> str:
            raise OSError(28, "No space left on device")

    raws = [text_request(1), text_request(2)]
    ready = read_batch(raws, 10**6, Full())  # type: ignore[arg-type]
    assert [r.kept_as for r in ready] == [None, None] and all(r.msg is not None for r in ready)
    kept = read_batch(raws[:1], 10**6, app.raw)
    assert kept[0].kept_as is not None and app.raw.get(kept[0].kept_as) == raws[0]
    # A copy kept by the reader but never made durable (it died first) is covered by the
    # pipeline's barrier when the pipeline keeps the mail again.
    app.raw.put(raws[0], sync=False)
    assert app.raw._unsynced and app.raw._unsynced[-1].name == f"{kept[0].kept_as}.bin"


def test_prepare_keeps_the_step_of_a_failure_and_no_content() -> None:
    assert prepare(b"x" * 11, 10, pipeline._parse).failure == ("size", "larger than MADOGUCHI_MAX_MESSAGE_BYTES (10)")

    def broken(raw: bytes) -> object:
        raise ValueError("secret 090-1234-5678")

    ready = prepare(b"Subject: a\n\nb", 100, broken)  # type: ignore[arg-type]
    assert ready == Prepared(None, ("parse", "ValueError"))
    ok = prepare(text_request(1), 10**6, pipeline._parse)
    assert ok.msg is not None and ok.body is not None and ok.body.request_types == {"disclose"}


def _reply(m: EmailMessage) -> tuple[str, ...]:
    """A reply's headers and text (the attached form's PDF differs from build to build)."""
    body = m.get_body(("plain",))
    assert body is not None
    return (m["To"], m["Subject"], m["Message-ID"], m["In-Reply-To"] or "", body.get_content())


def _children() -> set[int]:
    """This process's live children, from /proc."""
    me = os.getpid()
    kids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == me and fields[0] != "Z":
                kids.add(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --------------------------------------------------------------------------- lookups made ahead


def _group_scenario() -> tuple[list[bytes], list[bytes]]:
    """Mail stored before, then a batch whose answers depend on it and on each other."""
    first = text_request(0, "<a0@example.com>")
    many = [factory.mail(sender="c <c@example.com>", subject=f"開示請求 {n}", body=f"開示を請求します。{n}")
            for n in range(7)]  # over the policy's five automatic replies a day: three before, four in the group
    before = [first, *many[:3]]  # cases 001-004
    b1 = factory.mail(sender="b <b@example.com>", subject="開示請求", body="保有個人データの開示を請求します。",
                      message_id="<b1@example.com>")
    resent = factory.mail(sender="b <b@example.com>", subject="開示請求（再送）", body="保有個人データの開示を請求します。",
                          message_id="<b1@example.com>")
    follow = factory.mail(sender="b <b@example.com>", subject="Re: [#20250602-005] 開示請求",
                          body="本人確認書類をお送りします。")
    batch = [first, b1, *many[3:5], b1, resent, *many[5:], follow,
             factory.mail(sender="a <user0@example.com>", subject="訂正請求", body="訂正を請求します。",
                          message_id="<a0@example.com>")]  # a re-sent Message-ID from the mail before
    return before, batch


def test_a_group_with_its_lookups_made_ahead_decides_what_one_asked_mail_by_mail_decides(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Duplicates by bytes and by Message-ID (stored before, and earlier in the group across
    a flush), the reply cap, case numbers and a follow-up to a case opened in the group."""
    monkeypatch.setattr(pipeline, "GROUP_FLUSH_EVERY", 2)
    before, batch = _group_scenario()
    got = {}
    for name, ahead in (("ahead", True), ("asked", False)):
        a = make_app(tmp_path / name)
        try:
            for n, raw in enumerate(before):
                deliver(a, raw, f"0{n}.test")
            run_once(a)
            incoming = [Incoming(f"k{n}", raw) for n, raw in enumerate(batch)]
            ready = read_batch(batch, 10**7, a.raw) if ahead else None
            commits = count_commits(a)
            results = pipeline.handle_batch(a, incoming, None, ready)
            assert len(commits) == 1, name  # no lookup missed a row the group's flushes or commit then met
            with a.session() as s:
                events = [(e.case_id, e.type, e.detail.get("why"), e.detail.get("kind"))
                          for e in s.query(CaseEvent).order_by(CaseEvent.id)]
                counter = s.query(CaseCounter).one().last
            got[name] = ([(r.outcome, r.case_id) for r in results], cases(a), events, counter)
        finally:
            a.close()
    assert got["ahead"] == got["asked"]
    outcomes = [o for o, _ in got["ahead"][0]]
    assert outcomes.count("duplicate") == 4 and ("followup", "20250602-005") in got["ahead"][0]
    # c@ got five automatic replies (three before the group); its sixth and seventh requests
    # are recorded, not answered
    assert [e[0] for e in got["ahead"][2] if e[1:3] == ("reply_suppressed", "cap")] == ["20250602-008", "20250602-009"]
    assert got["ahead"][3] == 9  # four cases before, five in the group: the counter written at the commit


def test_a_case_number_given_in_hand_is_not_given_again_by_the_next_transaction(app: App) -> None:
    raws = [text_request(n) for n in range(3)]
    incoming = [Incoming(f"k{n}", raw) for n, raw in enumerate(raws)]
    first = pipeline.handle_batch(app, incoming[:2], None, read_batch(raws[:2], 10**7, app.raw))
    then = pipeline.handle_batch(app, incoming[2:])  # asked mail by mail
    assert [r.case_id for r in first + then] == ["20250602-001", "20250602-002", "20250602-003"]
    with app.session() as s:  # the ledger rows and replies given ids in hand, then by the database
        for kind in (InboundMessage, OutboundMessage):
            ids = [i for (i,) in s.query(kind.id).order_by(kind.case_id)]
            assert len(ids) == 3 and ids == sorted(set(ids)), kind


def test_an_operator_can_turn_the_reader_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = spied(monkeypatch)
    a = make_app(tmp_path, MADOGUCHI_MAILBOX_BATCH_SIZE="3", MADOGUCHI_READ_AHEAD="off")
    try:
        for n in range(7):
            deliver(a, text_request(n), f"{n}.test")
        started: list[object] = []
        monkeypatch.setattr(read_ahead, "_Reader", lambda *args: started.append(args))
        assert [r.outcome for r in run_once(a).results] == ["request"] * 7
        assert given == [None, None, None] and started == []
    finally:
        a.close()
    with pytest.raises(SettingsError, match="MADOGUCHI_READ_AHEAD"):
        make_app(tmp_path / "bad", MADOGUCHI_READ_AHEAD="yes")


def test_a_pass_stopped_mid_backlog_ends_its_reader_quietly(
        app: App, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """SIGTERM during a backlog: the reader, busy with the next batch, finds the socket closed
    when it answers, and ends without a traceback on the bot's stderr."""
    import threading

    import bot.runner
    from bot.runner import _pass

    stopping = tmp_path / "stopping"
    monkeypatch.setenv("READER_STOPPING", str(stopping))
    monkeypatch.setattr(read_ahead, "READER", "tests.reader_faults:slow_until_stopped")
    stop = threading.Event()
    real_batch = pipeline.handle_batch

    def then_stop(*args: object) -> object:
        done = real_batch(*args)  # type: ignore[arg-type]
        stopping.touch()
        stop.set()
        return done

    monkeypatch.setattr("bot.runner.handle_batch", then_stop)
    for n in range(9):
        deliver(app, text_request(n), f"{n}.test")
    before = _children()
    at_delivery: list[set[int]] = []
    real_deliver = bot.runner.deliver_queued

    def deliver_then(a: App) -> object:
        at_delivery.append(_children())
        return real_deliver(a)

    monkeypatch.setattr(bot.runner, "deliver_queued", deliver_then)
    report = _pass(app, stop)
    assert [r.outcome for r in report.results] == ["request"] * 3  # the first batch, then the stop
    assert at_delivery == [before]  # the reader (and the mailbox's pass) ended at the stop, before delivery
    assert _children() == before
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_the_reader_is_handed_the_current_key_only(tmp_path: Path) -> None:
    """What the reader keeps, the bot opens; a keyring's other keys never leave the bot."""
    from bot.crypto import Keyring, new_key
    from bot.rawstore import BlobStore

    old, current = new_key(), new_key()
    ring = Keyring(old)
    bot_store = BlobStore(tmp_path / "raw", ring)
    sealed_before = bot_store.put(b"kept with the old key")
    ring.make_current(current)
    handover = bot_store.handover()
    assert handover == (tmp_path / "raw", current, ring.key_id) and old not in handover
    keeper = BlobStore.keeper(handover)
    digest = keeper.put(b"kept by the reader")
    assert bot_store.get(digest) == b"kept by the reader"
    with pytest.raises(Exception):  # noqa: B017,PT011 - the old key is not the reader's to use
        keeper.get(sealed_before)
