"""IMAP benchmark: a real Dovecot (implicit TLS on loopback) in, SQLite, folder outbox; and IDLE reaction.

    .venv/bin/python bench/imap_bench.py --commit HEAD --json bench/results/imap-default.json   # default plan (~19 min)
    .venv/bin/python bench/imap_bench.py --quick                           # 200 mails, 1 run, 5 reactions: ~1 min
    .venv/bin/python bench/imap_bench.py --text-sizes 1000 --pdf-sizes "" --reaction-samples 0   # one slice
    .venv/bin/python bench/imap_bench.py --profile-only /tmp/imap.txt      # pyinstrument (.txt/.html), else cProfile

Everything runs against ONE Dovecot started by this script (tests/servers.py: its own
config, a throwaway certificate, 127.0.0.1 only) and, for the reaction, one aiosmtpd.

Throughput, per (set, N, repeat), in fresh processes:

- Before the timers: the N mails (bench/make_mail.py, sets ``text`` and ``pdf``) are
  APPENDed (MULTIAPPEND, 250 a command) into two fresh folders, one for the baseline and
  one for the bot (the bot marks what it reads; the baseline only PEEKs). The file system
  is synced before each timed child: the bot's durability barrier (``syncfs``) also writes
  back whatever else is dirty on the file system, and just before a run that is the 2N
  mails Dovecot has just stored, which the baseline never waits for (at d27946a a first run
  at N=1000 took 0.3 s longer than the next two for the same CPU time).
- baseline: a bare imapclient loop with imaplib's debug output off (``client._imap.debug =
  0``; imapclient sets it to 5): connect over TLS, log in, SELECT, SEARCH ALL, then
  ``UID FETCH BODY.PEEK[]`` in batches of 100, each message parsed with
  ``email.message_from_bytes(raw, policy=email.policy.default)``, Subject and From touched
  and ``get_content()`` called on every leaf part (as bench/intake.py's baseline). Timed
  from the connect to the last parse. Once per set at the smallest N it is also run with
  imapclient's default debug level, to show what that costs.
- madoguchi: ``bot.runner.run_once(app)`` with ``app = build_app(load_settings(environ=…))``
  from tests/crash_helpers.bot_env: mailbox ``imaps://…/FOLDER`` with the CA file, a fresh
  SQLite file and data directory, and a ``dir:`` outbox. ``deliver_queued`` (called by
  run_once after intake) is wrapped and timed apart, so the *intake* figure is run_once
  minus delivery: connect, SEARCH, sizes, FETCH in the bot's batches, raw store, parse,
  attachments (PDF sandbox), decide, commit, reply queued, message marked on the server.
  ``bot.runner.handle_batch`` (``handle`` before group commits) is wrapped to time each
  message (bench/intake.py's ``time_messages``); "fetch" is intake minus the sum of those
  (connect, SEARCH, FETCH, the generator); the mailbox's ``mark`` is wrapped too.
  Each run checks: every mail a ``request``, every reply written, nothing left UNSEEN.

Peak memory is the bot child's VmHWM (its own peak RSS since exec; ``ru_maxrss`` is not used
because Linux carries it over fork and exec, so a child would report at least the parent's
RSS, and the parent holds the generated mail). The child also samples its RSS every 1000
messages, and a thread samples every 0.5 s the RSS of its child processes (the PDF zygote
and its jobs; the read-ahead reader, started for a backlog) and the PSS of the bot plus
them. Figures are medians over the repeats.

Reaction: ``madoguchi -v run`` as a service (the snapshot's code, poll_seconds 3600 so it
relies on IDLE) with the aiosmtpd as its outbox (STARTTLS). After a warm-up mail has been
answered, request mails are APPENDed one at a time, a few seconds apart, and the time from
APPEND's completion to the reply's arrival at the SMTP server is recorded. Before the bot
starts, a bare IDLE client measures how long Dovecot itself takes to announce an APPEND.
The bot is stopped with SIGTERM at the end.

The code measured is a snapshot (bench/intake.py's ``snapshot_code``): bot/, parsers/,
replies/, config/ are copied and byte-compiled, and every child and the service import them
from there, so edits to the tree during the run cannot mix versions; ``--commit REV`` takes
them as committed in REV instead (``git archive``, read-only), so that the figures belong to
one commit even while the working tree is being edited. The JSON records the commit
(``git rev-parse HEAD``, and the measured one), whether the code directories or the tree
differed from it, and a hash of the copied sources.

Default plan: text and pdf at N=1000 and N=5000, 3 runs each, then 20 reaction samples:
19 minutes on 2 cores at commit 06b6fe1 (with the warm PDF sandbox; before it, a PDF run at
N=1000 took ~95 s, so one at 5000 would take ~8 minutes: ``--repeats-large 1`` then keeps the
plan under 30 minutes). Figures and their reading: docs/performance-imap.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.append(str(PROJECT))  # for tests/ (the servers); last, so a child's PYTHONPATH snapshot of bot/ wins

from intake import (  # noqa: E402
    _cpu,
    _rss_kb,
    _usage,
    machine,
    print_pages_and_memory,
    run_json_child,
    snapshot_code,
    time_messages,
)
from make_mail import generate, make_mail  # noqa: E402

BASELINE_BATCH = 100
APPEND_CHUNK = 250
REACTION_INDEX = 900_000  # make_mail indexes of the reaction mails: senders no throughput run uses


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def quantile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


# =========================================================================== children


def _status_kb(field: str, pid: str = "self") -> int:
    """A VmRSS/VmHWM line of /proc/<pid>/status in KiB (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: str = "self") -> int:
    """Proportional set size (shared pages split between the processes sharing them), in KiB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _peak_kb() -> int:
    """This process's own peak RSS since exec (VmHWM). Not ru_maxrss: Linux carries that over
    fork and execve, so a child would report at least its parent's RSS at the fork (here the
    parent holds 90 MB of generated mail)."""
    return _status_kb("VmHWM")


class ChildSampler:
    """Every `interval` s: the RSS of this process's direct children (the PDF zygote and its
    jobs, which it clones as our children), and the PSS of this process plus them (PSS, so
    pages a clone shares with the zygote count once). Short-lived jobs (~20 ms) are mostly
    missed; the long-lived zygote is not."""

    def __init__(self, interval: float = 0.5) -> None:
        import threading

        self.interval = interval
        self.max_child_kb = 0
        self.max_total_kb = 0
        self.max_children = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join(timeout=5)
        return {"sampled_child_peak_kb": self.max_child_kb, "sampled_total_peak_kb": self.max_total_kb,
                "sampled_max_children": self.max_children}

    def _run(self) -> None:
        me = str(os.getpid())
        while not self._stop.wait(self.interval):
            kids = []
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/stat") as fh:
                        stat = fh.read()
                except OSError:
                    continue
                if stat[stat.rfind(")") + 2:].split()[1] == me:
                    kids.append(pid)
            self.max_children = max(self.max_children, len(kids))
            self.max_child_kb = max([self.max_child_kb, *(_status_kb("VmRSS", k) for k in kids)])
            self.max_total_kb = max(self.max_total_kb, _pss_kb() + sum(_pss_kb(k) for k in kids))


def child_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    import email
    import email.policy

    from imapclient import IMAPClient

    c0, t0 = _cpu(), time.perf_counter()
    ctx = ssl.create_default_context(cafile=spec["ca_file"])
    client = IMAPClient(spec["host"], port=spec["port"], ssl=True, ssl_context=ctx, timeout=60)
    if not spec.get("imaplib_debug"):
        client._imap.debug = 0  # imapclient sets 5: imaplib then formats every response, bodies included
    client.login(spec["user"], spec["password"])
    client.select_folder(spec["folder"], readonly=True)
    uids = sorted(int(u) for u in client.search("ALL"))
    count = leaves = chars = 0
    fetch_s = 0.0
    for start in range(0, len(uids), BASELINE_BATCH):
        batch = uids[start:start + BASELINE_BATCH]
        tf = time.perf_counter()
        response = client.fetch(batch, ["BODY.PEEK[]"])
        fetch_s += time.perf_counter() - tf
        for uid in batch:
            raw = response.pop(uid)[b"BODY[]"]
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            chars += len(str(msg["subject"] or "")) + len(str(msg["from"] or ""))
            for part in msg.walk():
                if part.is_multipart():
                    continue
                chars += len(part.get_content())
                leaves += 1
            count += 1
    seconds = time.perf_counter() - t0
    cpu = _cpu() - c0
    client.logout()
    return {"seconds": seconds, "cpu_seconds": cpu, "fetch_seconds": fetch_s, "count": count, "leaves": leaves,
            "chars": chars, "imaplib_debug": bool(spec.get("imaplib_debug")), "peak_rss_kb": _peak_kb(),
            **_usage()}


def child_madoguchi(spec: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    t_start = time.perf_counter()
    import bot.runner
    from bot.app import build_app
    from config.settings import load_settings

    app = build_app(load_settings(environ=spec["env"]))
    startup = time.perf_counter() - t_start
    rss_after_startup = _rss_kb()

    per_message: list[float] = []
    rss_samples: list[tuple[int, int]] = []
    timing = {"deliver": 0.0, "deliver_cpu": 0.0, "mark": 0.0}
    inner_deliver = getattr(bot.runner, "deliver_queued")  # noqa: B009

    time_messages(per_message, lambda: rss_samples.append((len(per_message), _rss_kb())))

    def timed_deliver(app_: Any) -> Any:
        c, t = _cpu(), time.perf_counter()
        report = inner_deliver(app_)
        timing["deliver"] += time.perf_counter() - t
        timing["deliver_cpu"] += _cpu() - c
        return report

    mailbox = app.mailbox  # made now (it connects lazily, at the first fetch)
    inner_mark = mailbox.mark

    def timed_mark(key: str, mark: Any) -> None:
        t = time.perf_counter()
        inner_mark(key, mark)
        timing["mark"] += time.perf_counter() - t

    setattr(bot.runner, "deliver_queued", timed_deliver)  # noqa: B010
    mailbox.mark = timed_mark  # type: ignore[method-assign]
    imaplib_debug = None

    profiler: Any = None
    if profile:
        if profile.endswith((".html", ".txt")):
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001)
            profiler.start()
        else:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()

    sampler = ChildSampler()
    sampler.start()
    c0, t0 = _cpu(), time.perf_counter()
    report = bot.runner.run_once(app)
    run_once_s = time.perf_counter() - t0
    cpu = _cpu() - c0
    sampled = sampler.stop()
    peak_rss = _peak_kb()

    if profiler is not None and profile:
        if hasattr(profiler, "output_html"):
            profiler.stop()
            out = profiler.output_html() if profile.endswith(".html") else profiler.output_text(
                unicode=True, color=False, show_all=False)
            Path(profile).write_text(out, encoding="utf-8")
        else:
            profiler.disable()
            profiler.dump_stats(profile)

    client = getattr(mailbox, "_client", None)
    if client is not None:
        imaplib_debug = getattr(getattr(client, "_imap", None), "debug", None)
    outcomes: dict[str, int] = {}
    for r in report.results:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    outbox = Path(spec["outbox"])
    written = sum(1 for p in outbox.iterdir() if p.suffix == ".eml") if outbox.is_dir() else 0
    intake = run_once_s - timing["deliver"]
    app.close()
    return {
        "code_path": str(Path(bot.runner.__file__).resolve().parents[1]),
        "seconds": intake,  # intake only: run_once minus deliver_queued
        "cpu_seconds": cpu - timing["deliver_cpu"],
        "run_once_seconds": run_once_s,
        "deliver_seconds": timing["deliver"],
        "deliver_cpu_seconds": timing["deliver_cpu"],
        "handle_seconds": sum(per_message),
        "fetch_seconds": intake - sum(per_message),
        "mark_seconds": timing["mark"],
        "startup_seconds": startup,
        "count": len(report.results),
        "outcomes": outcomes,
        "sent": report.delivery.sent,
        "written": written,
        "imaplib_debug_level": imaplib_debug,
        "per_message": per_message,
        "rss_after_startup_kb": rss_after_startup,
        "rss_samples": rss_samples,
        "peak_rss_kb": peak_rss,  # VmHWM at the end of run_once: the bot's own peak
        **sampled,
        **_usage(),  # ru_maxrss: inflated by the parent's RSS at fork, kept for reference only
    }


# =========================================================================== parent: servers


class Servers:
    """One Dovecot (and, for the reaction, one aiosmtpd) for the whole benchmark."""

    def __init__(self, workdir: Path) -> None:
        from tests.servers import Dovecot, dovecot_binary, make_cert, new_tempdir

        if dovecot_binary() is None:
            raise SystemExit("dovecot is not installed (apt-get install dovecot-imapd)")
        self.cert = make_cert(workdir / "cert")
        self.dovecot = Dovecot(new_tempdir("madoguchi-bench-dovecot-"), self.cert, tls=True)
        self.dovecot.start()
        self.smtp: Any = None

    def client(self) -> Any:
        """A logged-in helper connection (not timed). Dovecot.client()'s 10 s timeout is too short
        for DELETE of a 5000-message folder on a busy disk."""
        from imapclient import IMAPClient

        from tests.servers import LOOPBACK

        c = IMAPClient(LOOPBACK, port=self.dovecot.imaps_port, ssl=True, ssl_context=self.cert.client_context(),
                       timeout=600)
        c._imap.debug = 0
        c.login(self.dovecot.user, self.dovecot.password)
        return c

    def fill(self, folder: str, raws: list[bytes]) -> float:
        """A fresh folder holding `raws` in order (UIDs follow the list); returns the seconds it took."""
        t = time.perf_counter()
        c = self.client()
        try:
            if c.folder_exists(folder):
                c.delete_folder(folder)
            c.create_folder(folder)
            if c.has_capability("MULTIAPPEND"):
                for i in range(0, len(raws), APPEND_CHUNK):
                    c.multiappend(folder, raws[i:i + APPEND_CHUNK])
            else:
                for raw in raws:
                    c.append(folder, raw)
            status = c.folder_status(folder, [b"MESSAGES", b"UNSEEN"])
            if int(status[b"MESSAGES"]) != len(raws) or int(status[b"UNSEEN"]) != len(raws):
                raise RuntimeError(f"{folder}: {status} after appending {len(raws)} mails")
        finally:
            c.logout()
        return time.perf_counter() - t

    def status(self, folder: str) -> dict[str, int]:
        c = self.client()
        try:
            st = c.folder_status(folder, [b"MESSAGES", b"UNSEEN"])
            return {"messages": int(st[b"MESSAGES"]), "unseen": int(st[b"UNSEEN"])}
        finally:
            c.logout()

    def drop(self, *folders: str) -> float:
        """Delete the folders (a failure only leaves them on disk); returns the seconds it took."""
        t = time.perf_counter()
        try:
            c = self.client()
            try:
                for f in folders:
                    if c.folder_exists(f):
                        c.delete_folder(f)
            finally:
                c.logout()
        except Exception as exc:  # noqa: BLE001 - cleanup only
            print(f"# could not delete {folders}: {type(exc).__name__}: {exc}", flush=True)
        return time.perf_counter() - t

    def spec(self, folder: str) -> dict[str, Any]:
        d = self.dovecot
        from tests.servers import LOOPBACK

        return {"host": LOOPBACK, "port": d.imaps_port, "user": d.user, "password": d.password,
                "ca_file": str(self.cert.cert), "folder": folder}

    def start_smtp(self) -> Any:
        from tests.servers import SmtpServer

        self.smtp = SmtpServer(self.cert)
        self.smtp.handler.messages = TimedList()
        self.smtp.start()
        return self.smtp

    def stop(self) -> None:
        if self.smtp is not None:
            self.smtp.stop()
        self.dovecot.stop()
        shutil.rmtree(self.dovecot.root, ignore_errors=True)


class TimedList(list):  # type: ignore[type-arg]
    """The SMTP handler's list of messages, noting when each one was accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, item: Any) -> None:
        self.times.append(time.perf_counter())
        super().append(item)


# =========================================================================== parent: runs


CODE: Path | None = None


def run_child(kind: str, spec: dict[str, Any], cwd: Path, profile: str | None = None) -> dict[str, Any]:
    return run_json_child(Path(__file__), kind, ["--spec", json.dumps(spec)], cwd, CODE, profile)


def bot_spec(servers: Servers, root: Path, folder: str) -> dict[str, Any]:
    from tests.crash_helpers import bot_env

    outbox = root / "outbox"
    env = bot_env(root, mailbox_url=servers.dovecot.url(folder, "imaps"), dovecot=servers.dovecot,
                  outbox_url=f"dir:{outbox}", cert=servers.cert)
    return {"env": {k: v for k, v in env.items() if k.startswith("MADOGUCHI_")}, "outbox": str(outbox)}


def one_run(servers: Servers, workdir: Path, raws: list[bytes], label: str,
            debug_baseline: bool) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=workdir))
    base_folder, bot_folder = f"B-{label}", f"M-{label}"
    append_s = servers.fill(base_folder, raws) + servers.fill(bot_folder, raws)
    load = os.getloadavg()[0]
    os.sync()  # what the harness wrote (the APPENDed mail, the last run's files) is not the timed child's to flush
    base = run_child("baseline", servers.spec(base_folder), root)
    base_debug = run_child("baseline", {**servers.spec(base_folder), "imaplib_debug": True}, root) \
        if debug_baseline else None
    os.sync()
    bot = run_child("madoguchi", bot_spec(servers, root, bot_folder), root)
    after = servers.status(bot_folder)
    drop_s = servers.drop(base_folder, bot_folder)
    shutil.rmtree(root, ignore_errors=True)
    n = len(raws)
    ok = (bot["count"] == n and bot["outcomes"].get("request", 0) == n and bot["sent"] == n
          and bot["written"] == n and base["count"] == n and after["unseen"] == 0)
    return {"load_before": load, "append_seconds": append_s, "delete_seconds": drop_s, "baseline": base,
            "baseline_debug": base_debug, "madoguchi": bot, "bot_folder_after": after, "ok": ok}


def measure_throughput(args: argparse.Namespace, servers: Servers, workdir: Path) -> list[dict[str, Any]]:
    plan: list[tuple[str, int]] = [("text", n) for n in args.text_sizes] + [("pdf", n) for n in args.pdf_sizes]
    mails: dict[str, list[Any]] = {}
    for variant in ("text", "pdf"):
        sizes = [n for v, n in plan if v == variant]
        if sizes:
            t = time.perf_counter()
            mails[variant] = list(generate(max(sizes), variant, args.seed))
            print(f"# generated {max(sizes)} {variant} mails ({sum(len(m.raw) for m in mails[variant]):,} bytes) "
                  f"in {time.perf_counter() - t:.1f} s", flush=True)
    runs: list[dict[str, Any]] = []
    for variant, n in plan:
        chosen = mails[variant][:n]
        raws = [m.raw for m in chosen]
        pages = [m.pdf_pages for m in chosen]
        repeats = args.repeats_large if n >= args.large else args.repeats
        for rep in range(repeats):
            debug_baseline = args.debug_baseline and rep == 0 and n == min(x for v, x in plan if v == variant)
            r = one_run(servers, workdir, raws, f"{variant}{n}-{rep}", debug_baseline)
            r.update({"set": variant, "n": n, "repeat": rep, "pages": pages, "pdf_pages": sum(pages),
                      "pdf_mails": sum(1 for p in pages if p), "bytes": sum(len(x) for x in raws)})
            runs.append(r)
            b, m = r["baseline"], r["madoguchi"]
            dbg = f" (debug on {n / r['baseline_debug']['seconds']:.0f})" if r["baseline_debug"] else ""
            print(f"  {variant:4} N={n:5} run {rep + 1}/{repeats}: baseline {b['seconds']:6.2f} s "
                  f"({n / b['seconds']:5.0f} msg/s{dbg})  madoguchi intake {m['seconds']:7.2f} s "
                  f"({n / m['seconds']:5.1f} msg/s, fetch {m['fetch_seconds']:.1f} s, mark {m['mark_seconds']:.1f} s,"
                  f" cpu {m['cpu_seconds']:.1f} s) + deliver {m['deliver_seconds']:.1f} s  "
                  f"peak {m['peak_rss_kb'] / 1024:.0f} MB (+children {m['sampled_child_peak_kb'] / 1024:.0f})  "
                  f"load {r['load_before']:.2f}  "
                  f"(append {r['append_seconds']:.1f} s, delete {r['delete_seconds']:.1f} s)  "
                  f"{'ok' if r['ok'] else 'CHECK FAILED: ' + json.dumps(m['outcomes']) + str(r['bot_folder_after'])}",
                  flush=True)
    return runs


# =========================================================================== parent: reaction


def measure_notify(servers: Servers, samples: int) -> list[float]:
    """Dovecot alone: APPEND complete → EXISTS seen by a bare client in IDLE."""
    folder = "R-notify"
    servers.fill(folder, [])
    idler, writer = servers.client(), servers.client()
    out: list[float] = []
    try:
        idler.select_folder(folder)
        for i in range(samples):
            idler.idle()
            time.sleep(0.3)
            writer.append(folder, make_mail(REACTION_INDEX + 50_000 + i).raw)
            t0 = time.perf_counter()
            deadline = t0 + 10
            while time.perf_counter() < deadline:
                resp = idler.idle_check(timeout=max(0.0, deadline - time.perf_counter()))
                if any(isinstance(r, tuple) and len(r) > 1 and r[1] == b"EXISTS" for r in resp):
                    out.append(time.perf_counter() - t0)
                    break
            idler.idle_done()
            time.sleep(0.5)
    finally:
        idler.logout()
        writer.logout()
        servers.drop(folder)
    return out


def measure_reaction(args: argparse.Namespace, servers: Servers, workdir: Path) -> dict[str, Any]:
    from tests.crash_helpers import bot_command, bot_env

    notify = measure_notify(servers, args.notify_samples)
    print(f"# Dovecot alone, APPEND → EXISTS in IDLE: median {median(notify) * 1000:.0f} ms "
          f"(n={len(notify)}, max {max(notify, default=float('nan')) * 1000:.0f} ms)", flush=True)
    smtp = servers.start_smtp()
    folder = "R-reaction"
    servers.fill(folder, [])
    root = Path(tempfile.mkdtemp(prefix="reaction-", dir=workdir))
    extra = {"MADOGUCHI_POLL_SECONDS": "3600"}
    if CODE is not None:
        extra["PYTHONPATH"] = os.pathsep.join(p for p in (str(CODE), os.environ.get("PYTHONPATH", "")) if p)
    env = bot_env(root, mailbox_url=servers.dovecot.url(folder, "imaps"), dovecot=servers.dovecot,
                  outbox_url=smtp.url, cert=servers.cert, extra=extra)
    log_path = root / "bot.log"
    writer = servers.client()
    rng = random.Random(args.seed)
    samples: list[float] = []
    missed = 0
    t_start = time.perf_counter()
    with log_path.open("ab") as log:
        proc = subprocess.Popen(bot_command("-v", "run"), env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        # Warm-up: the first pass, the first reply (imports, the form PDF), then let it settle into IDLE.
        writer.append(folder, make_mail(REACTION_INDEX).raw)
        if not _wait_count(smtp, 1, 120, proc):
            raise RuntimeError(f"no warm-up reply within 120 s:\n{log_path.read_text(errors='replace')[-3000:]}")
        warmup_s = time.perf_counter() - t_start
        time.sleep(3)
        for i in range(1, args.reaction_samples + 1):
            before = len(smtp.messages)
            writer.append(folder, make_mail(REACTION_INDEX + i).raw)
            t0 = time.perf_counter()
            if _wait_count(smtp, before + 1, 60, proc):
                samples.append(smtp.messages.times[before] - t0)
            else:
                missed += 1
            time.sleep(rng.uniform(2.0, 4.0))
    finally:
        writer.logout()
        t_stop = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait(timeout=10)
        stop_s = time.perf_counter() - t_stop
    log_text = log_path.read_text(errors="replace")
    warnings = [line for line in log_text.splitlines() if " WARNING " in line or " ERROR " in line]
    result: dict[str, Any] = {
        "samples_s": samples, "missed": missed, "median_s": median(samples), "p90_s": quantile(samples, 0.9),
        "max_s": max(samples, default=float("nan")), "warmup_s": warmup_s, "replies": len(smtp.messages),
        "sigterm_exit_code": code, "sigterm_stop_s": stop_s, "log_warnings": warnings[-20:],
        "dovecot_notify_s": notify, "dovecot_notify_median_s": median(notify),
        "dovecot_notify_p90_s": quantile(notify, 0.9),
    }
    servers.drop(folder)
    shutil.rmtree(root, ignore_errors=True)
    print(f"# reaction (APPEND → reply at the SMTP server): median {result['median_s'] * 1000:.0f} ms, "
          f"p90 {result['p90_s'] * 1000:.0f} ms, max {result['max_s'] * 1000:.0f} ms over {len(samples)} samples "
          f"({missed} missed); SIGTERM → exit {code} in {stop_s:.1f} s", flush=True)
    return result


def _wait_count(smtp: Any, count: int, timeout: float, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if len(smtp.messages) >= count:
            return True
        if proc.poll() is not None:
            raise RuntimeError(f"the bot exited with {proc.returncode}")
        time.sleep(0.002)
    return len(smtp.messages) >= count


# =========================================================================== summary


def snapshot_commit(workdir: Path, rev: str) -> dict[str, Any]:
    """Like intake.snapshot_code, but the packages as committed in `rev` (git archive: reads only)."""
    import compileall
    import hashlib
    import io
    import tarfile

    dest = workdir / "code"
    dirs = ("bot", "parsers", "replies", "config")
    tar = subprocess.run(["git", "--no-optional-locks", "archive", "--format=tar", rev, *dirs], cwd=PROJECT,
                         capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(dest, filter="data")
    digest = hashlib.sha256()
    for path in sorted(dest.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(dest)).encode() + b"\0" + path.read_bytes())
    compileall.compile_dir(str(dest), quiet=1)
    commit = subprocess.run(["git", "--no-optional-locks", "rev-parse", rev], cwd=PROJECT, capture_output=True,
                            text=True, check=True).stdout.strip()
    return {"measured_commit": commit, "source_sha256": digest.hexdigest()[:16]}


def git_state() -> dict[str, Any]:
    def git(*a: str) -> str:
        out = subprocess.run(["git", "--no-optional-locks", *a], cwd=PROJECT, capture_output=True, text=True,
                             check=False)
        return out.stdout.strip()

    status = git("status", "--porcelain").splitlines()
    return {"git_commit": git("rev-parse", "HEAD"), "tree_dirty": bool(status), "dirty_paths": len(status),
            "code_dirs_dirty": bool(git("status", "--porcelain", "--", "bot", "parsers", "replies", "config"))}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["set"], r["n"]), []).append(r)

    def med(rs: list[dict[str, Any]], who: str, key: str) -> float:
        return median([r[who][key] for r in rs])

    rows = []
    for (variant, n), rs in groups.items():
        b, m = med(rs, "baseline", "seconds"), med(rs, "madoguchi", "seconds")
        dbg = [r["baseline_debug"]["seconds"] for r in rs if r["baseline_debug"]]
        rows.append({
            "set": variant, "n": n, "runs": len(rs), "ok": all(r["ok"] for r in rs),
            "pdf_mails": rs[0]["pdf_mails"], "pdf_pages": rs[0]["pdf_pages"], "bytes": rs[0]["bytes"],
            "baseline_s": b, "baseline_rate": n / b, "baseline_fetch_s": med(rs, "baseline", "fetch_seconds"),
            "baseline_cpu_s": med(rs, "baseline", "cpu_seconds"),
            "baseline_debug_on_rate": n / median(dbg) if dbg else None,
            "madoguchi_s": m, "madoguchi_rate": n / m, "ratio": b / m,
            "ratio_runs": [r["baseline"]["seconds"] / r["madoguchi"]["seconds"] for r in rs],
            "madoguchi_cpu_s": med(rs, "madoguchi", "cpu_seconds"),
            "fetch_s": med(rs, "madoguchi", "fetch_seconds"), "mark_s": med(rs, "madoguchi", "mark_seconds"),
            "handle_s": med(rs, "madoguchi", "handle_seconds"),
            "deliver_s": med(rs, "madoguchi", "deliver_seconds"),
            "run_once_s": med(rs, "madoguchi", "run_once_seconds"),
            "startup_s": med(rs, "madoguchi", "startup_seconds"),
            "ms_per_msg_p50": median([median(r["madoguchi"]["per_message"]) * 1000 for r in rs]),
            "peak_mb": median([r["madoguchi"]["peak_rss_kb"] / 1024 for r in rs]),
            "startup_rss_mb": median([r["madoguchi"]["rss_after_startup_kb"] / 1024 for r in rs]),
            "sandbox_peak_mb": median([r["madoguchi"]["sampled_child_peak_kb"] / 1024 for r in rs]),
            "total_peak_mb": median([r["madoguchi"]["sampled_total_peak_kb"] / 1024 for r in rs]),
            "baseline_peak_mb": median([r["baseline"]["peak_rss_kb"] / 1024 for r in rs]),
            "load_before": [round(r["load_before"], 2) for r in rs],
            "imaplib_debug_level_of_bot": rs[0]["madoguchi"].get("imaplib_debug_level"),
            "rss_samples_mb": [[k, round(v / 1024, 1)] for k, v in rs[0]["madoguchi"]["rss_samples"]],
        })
    rows.sort(key=lambda row: (row["set"] != "text", row["n"]))

    per_page = []
    for row in rows:
        text_runs, pdf_runs = groups.get(("text", row["n"])), groups[(row["set"], row["n"])]
        if row["set"] != "pdf" or not text_runs or not row["pdf_pages"]:
            continue
        pages = row["pdf_pages"]
        k = min(len(text_runs), len(pdf_runs))
        paired = [(p["madoguchi"]["seconds"] - t["madoguchi"]["seconds"]) / pages * 1000
                  for t, p in zip(text_runs[:k], pdf_runs[:k], strict=True)]
        cpu_paired = [(p["madoguchi"]["cpu_seconds"] - t["madoguchi"]["cpu_seconds"]) / pages * 1000
                      for t, p in zip(text_runs[:k], pdf_runs[:k], strict=True)]
        per_msg: list[float] = []
        by_pages: dict[int, list[float]] = {1: [], 2: []}
        for p in pdf_runs:
            times = p["madoguchi"]["per_message"]
            plain = median([t for t, pg in zip(times, p["pages"], strict=True) if pg == 0])
            for t, pg in zip(times, p["pages"], strict=True):
                if pg:
                    per_msg.append((t - plain) / pg * 1000)
                    by_pages.setdefault(pg, []).append((t - plain) * 1000)
        text_row = next(x for x in rows if x["set"] == "text" and x["n"] == row["n"])
        per_page.append({
            "n": row["n"], "pages": pages, "pdf_mails": row["pdf_mails"],
            "ms_per_page": median(paired), "ms_per_page_runs": paired,
            "cpu_ms_per_page": median(cpu_paired), "cpu_ms_per_page_runs": cpu_paired,
            "ms_per_page_of_medians": (row["madoguchi_s"] - text_row["madoguchi_s"]) / pages * 1000,
            "ms_per_page_per_message_median": median(per_msg),
            "ms_extra_for_1_page_file": median(by_pages[1]), "ms_extra_for_2_page_file": median(by_pages[2]),
        })
    return {"rows": rows, "per_page": per_page}


def print_table(data: dict[str, Any]) -> None:
    m, c, s = data["machine"], data["code"], data["summary"]
    print()
    print(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB, Python {m['python']}; "
          f"total wall time {data['wall_seconds'] / 60:.1f} min")
    measured = c.get("measured_commit")
    if measured:
        print(f"code: as committed in {measured[:12]} (HEAD was {c['git_commit'][:12]}; working tree "
              f"{'dirty: ' + str(c['dirty_paths']) + ' paths' if c['tree_dirty'] else 'clean'}, not measured), "
              f"sources {c['source_sha256']}")
    else:
        print(f"code: commit {c['git_commit'][:12]}{' + local changes in the code' if c['code_dirs_dirty'] else ''}"
              f"{' (tree dirty: ' + str(c['dirty_paths']) + ' paths)' if c['tree_dirty'] else ''}, "
              f"sources {c.get('source_sha256', 'live')}")
    head = (f"{'set':4} {'N':>5} {'runs':>4} {'pages':>5} | {'base s':>6} {'msg/s':>6} {'dbg on':>6} | "
            f"{'intake s':>8} {'msg/s':>6} {'ms/msg':>6} {'fetch':>5} {'mark':>5} {'cpu s':>7} | {'ratio':>6} | "
            f"{'deliv s':>7} {'peak MB':>7} {'child':>5} {'total':>5} | {'load':>14} | ok")
    print(head)
    print("-" * len(head))
    for r in s["rows"]:
        dbg = f"{r['baseline_debug_on_rate']:6.0f}" if r["baseline_debug_on_rate"] else f"{'':6}"
        load = "/".join(f"{x:.1f}" for x in r["load_before"])
        print(f"{r['set']:4} {r['n']:5} {r['runs']:4} {r['pdf_pages']:5} | {r['baseline_s']:6.2f} "
              f"{r['baseline_rate']:6.0f} {dbg} | {r['madoguchi_s']:8.2f} {r['madoguchi_rate']:6.1f} "
              f"{r['ms_per_msg_p50']:6.1f} {r['fetch_s']:5.1f} {r['mark_s']:5.1f} {r['madoguchi_cpu_s']:7.1f} | "
              f"{r['ratio']:6.3f} | {r['deliver_s']:7.1f} {r['peak_mb']:7.1f} {r['sandbox_peak_mb']:5.0f} "
              f"{r['total_peak_mb']:5.0f} | "
              f"{load:>14} | {'yes' if r['ok'] else 'NO'}")
    print("medians over the runs. intake = run_once minus deliver_queued; fetch = intake minus the per-message")
    print("handle() time; mark = the mailbox's mark() (inside handle); ratio = madoguchi msg/s / baseline msg/s;")
    print("dbg on = the baseline with imapclient's default imaplib debug level; peak MB = the bot process's VmHWM;")
    print("child: largest RSS of a child (PDF zygote, read-ahead reader); total: PSS of the bot plus its children;")
    print("both sampled every 0.5 s.")
    print_pages_and_memory(s)
    re_ = data.get("reaction")
    if re_:
        print(f"reaction: median {re_['median_s'] * 1000:.0f} ms, p90 {re_['p90_s'] * 1000:.0f} ms, max "
              f"{re_['max_s'] * 1000:.0f} ms ({len(re_['samples_s'])} samples, {re_['missed']} missed); Dovecot alone "
              f"median {re_['dovecot_notify_median_s'] * 1000:.0f} ms, p90 {re_['dovecot_notify_p90_s'] * 1000:.0f} ms")


# =========================================================================== main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="madoguchi IMAP benchmark (Dovecot → SQLite → folder outbox; IDLE)")
    ap.add_argument("--text-sizes", default="1000,5000")
    ap.add_argument("--pdf-sizes", default="1000,5000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--repeats-large", type=int, default=3, help="repeats for sizes >= --large")
    ap.add_argument("--large", type=int, default=5000)
    ap.add_argument("--reaction-samples", type=int, default=20, help="0: no reaction measurement")
    ap.add_argument("--notify-samples", type=int, default=10)
    ap.add_argument("--no-debug-baseline", dest="debug_baseline", action="store_false",
                    help="skip the extra baseline run with imapclient's default imaplib debug level")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="200 mails per set, one run each, 5 reaction samples")
    ap.add_argument("--workdir", type=Path, default=None, help="where the temporary directories go")
    ap.add_argument("--live-code", action="store_true", help="run the working tree, not a snapshot of it")
    ap.add_argument("--commit", default=None, metavar="REV",
                    help="measure bot/ parsers/ replies/ config/ as committed in REV (e.g. HEAD), not the working "
                         "tree's copy")
    ap.add_argument("--json", type=Path, default=None, help="write all figures (and raw runs) here")
    ap.add_argument("--profile-only", type=Path, default=None, metavar="OUT",
                    help="profile one madoguchi run instead (OUT.html/.txt: pyinstrument, else cProfile)")
    ap.add_argument("--profile-set", default="text", choices=("text", "pdf"))
    ap.add_argument("--profile-n", type=int, default=1000)
    ap.add_argument("--child", choices=("baseline", "madoguchi"), help=argparse.SUPPRESS)
    ap.add_argument("--spec", help=argparse.SUPPRESS)
    ap.add_argument("--profile", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        spec = json.loads(args.spec)
        result = child_baseline(spec) if args.child == "baseline" else child_madoguchi(spec, args.profile)
        print(json.dumps(result))
        return 0

    global CODE
    if args.quick:
        args.text_sizes, args.pdf_sizes, args.repeats, args.repeats_large = "200", "200", 1, 1
        args.reaction_samples, args.notify_samples = min(args.reaction_samples, 5), min(args.notify_samples, 3)
    args.text_sizes = [int(x) for x in str(args.text_sizes).split(",") if x]
    args.pdf_sizes = [int(x) for x in str(args.pdf_sizes).split(",") if x]

    t_all = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-imap-bench-", dir=args.workdir))
    code = git_state()
    if args.live_code:
        code["live"] = True
    elif args.commit:
        code.update(snapshot_commit(workdir, args.commit))
        CODE = workdir / "code"
    else:
        code["source_sha256"] = snapshot_code(workdir)["source_sha256"]
        CODE = workdir / "code"
    print(f"# code: {code}", flush=True)
    servers = Servers(workdir)
    try:
        if args.profile_only:
            raws = [m.raw for m in generate(args.profile_n, args.profile_set, args.seed)]
            root = Path(tempfile.mkdtemp(prefix="profile-", dir=workdir))
            servers.fill("M-profile", raws)
            out = run_child("madoguchi", bot_spec(servers, root, "M-profile"), root,
                            profile=str(args.profile_only.resolve()))
            print(f"profiled {out['count']} {args.profile_set} mails: intake {out['seconds']:.1f} s "
                  f"(profiler on) -> {args.profile_only}")
            return 0
        runs = measure_throughput(args, servers, workdir)
        reaction = measure_reaction(args, servers, workdir) if args.reaction_samples else None
    finally:
        servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    data: dict[str, Any] = {"machine": machine(), "code": code, "seed": args.seed,
                            "plan": {"text_sizes": args.text_sizes, "pdf_sizes": args.pdf_sizes,
                                     "repeats": args.repeats, "repeats_large": args.repeats_large,
                                     "large": args.large, "reaction_samples": args.reaction_samples,
                                     "quick": args.quick},
                            "wall_seconds": time.perf_counter() - t_all, "runs": runs, "reaction": reaction}
    data["summary"] = summarise(runs)
    print_table(data)
    if args.json:
        for r in runs:  # keep the file small: per-message times become quantiles
            times = sorted(r["madoguchi"].pop("per_message"))
            r["madoguchi"]["per_message_ms_quantiles"] = {
                q: round(times[min(len(times) - 1, int(q / 100 * len(times)))] * 1000, 2)
                for q in (10, 50, 90, 99, 100)} if times else {}
            r.pop("pages")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"figures written to {args.json}")
    ok = all(r["ok"] for r in data["summary"]["rows"]) and (reaction is None or not reaction["missed"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
