"""Several workers on PostgreSQL against one Dovecot, as ratios to one SQLite process (issue 7).

    .venv/bin/python bench/workers_bench.py --json bench/results/workers.json   # 5,000 mails, 3 runs a configuration
    .venv/bin/python bench/workers_bench.py --quick                           # 300 mails, 1 run: a smoke run
    .venv/bin/python bench/workers_bench.py --workers 1,2 --runs 2 --mails 2000

The script starts ONE Dovecot (tests/servers.py: its own config, a throwaway certificate,
implicit TLS on 127.0.0.1) and ONE PostgreSQL (tests/pg_server.py: its own cluster on
127.0.0.1, fsync off). The mails are bench/make_mail.py's ``text`` set (a distinct sender
each), the same bytes for every run.

Each run gets a fresh IMAP folder (the mails APPENDed before the clock starts), a fresh data
directory and a ``dir:`` outbox (so no SMTP is measured), and either

- ``sqlite``: a fresh SQLite file and one ``madoguchi run --once`` process, timed from its
  start (Popen) to its exit; or
- ``workers N``: a fresh PostgreSQL database, ``madoguchi db upgrade`` run first (untimed,
  it also makes the keys in the shared data directory), then N ``madoguchi worker``
  processes started together and timed from the first start until the database shows every
  mail in the ledger (``inbound_messages`` = mails), no work item pending and no reply
  ``queued`` (polled every 0.1 s on a connection of the script's own). Then the workers get
  SIGTERM (their stop, during which the leader applies its last marks, is not timed).

Both sides therefore include the process start (imports, settings, schema check) and the
delivery of every reply as an ``.eml`` file. Each run checks: every mail a ``request`` in
the ledger, one ``.eml`` per mail, nothing left UNSEEN in the folder once the processes
have stopped.

Also recorded per run: the 1-minute load average at its start; per process, its peak RSS
(VmHWM, sampled every 0.1 s; the last sample before it exits) and its CPU seconds (from
wait4's rusage); the CPU seconds the PostgreSQL and Dovecot process trees spent during the
timed window (/proc, live processes plus what their parents reaped); and, for the workers,
when the leader had read every mail into the queue, when the last reply was written, and
how many messages each worker handled (``work_items.worker``).

The code measured is ``bot/``, ``parsers/``, ``replies/``, ``config/`` as committed in
``--commit`` (default HEAD; ``git archive``, read-only), imported by every child through
PYTHONPATH, so that edits to the working tree during the run cannot mix versions;
``--live-code`` runs the working tree instead. Configurations are interleaved run by run
(sqlite, 1, 2, 4, then again) so that a change of load hits them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
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
sys.path.append(str(PROJECT))  # for tests/ (the servers); last, so the children's PYTHONPATH snapshot wins

from imap_bench import Servers, snapshot_commit  # noqa: E402
from intake import machine  # noqa: E402
from make_mail import generate  # noqa: E402

POLL_SECONDS = 0.1
RUN_TIMEOUT = 1800.0  # a run that has not finished in 30 minutes is a failure, not a figure
STOP_TIMEOUT = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


# =========================================================================== /proc


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()  # fields from 3 (state) on


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU of a process tree: utime+stime of every live process under root_pid (itself included)
    plus cutime+cstime (what each has reaped), so exited children count once."""
    parents: dict[int, int] = {}
    fields: dict[int, list[str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        f = _stat_fields(int(name))
        if f is None:
            continue
        parents[int(name)] = int(f[1])
        fields[int(name)] = f
    members = {root_pid}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in members and pid not in members:
                members.add(pid)
                grew = True
    ticks = 0
    for pid in members:
        f = fields.get(pid)
        if f:  # utime stime cutime cstime: fields 14-17, i.e. indexes 11-14 here
            ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return ticks / CLK_TCK


class Proc:
    """A child process whose peak RSS we sample and whose rusage we collect with wait4."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        with log.open("ab") as out:
            self.popen = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL)
        self.pid = self.popen.pid
        self.log = log
        self.hwm_kb = 0
        self.rusage: Any = None
        self.status: int | None = None
        self.terminated = False

    def sample(self) -> None:
        if self.status is None:
            self.hwm_kb = max(self.hwm_kb, _status_kb(self.pid, "VmHWM"))

    def poll(self) -> bool:
        """True once it has exited (and been reaped, with its rusage)."""
        if self.status is not None:
            return True
        self.sample()
        try:
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere (it should not be): no rusage then
            self.status, self.rusage = self.popen.returncode, None
            return True
        if pid == 0:
            return False
        self._reaped(status, rusage)
        return True

    def _reaped(self, status: int, rusage: Any) -> None:
        self.status = os.waitstatus_to_exitcode(status)
        self.rusage = rusage
        self.popen.returncode = self.status  # so Popen does not try to reap it again

    def terminate(self) -> None:
        # os.kill, not Popen.send_signal: that polls first and could reap the child (and its rusage).
        # Once only: a second SIGTERM that lands while the interpreter is finalizing (its handler
        # already reset to the default) would end the process with -15 after a clean stop.
        if self.status is None and not self.terminated:
            self.terminated = True
            os.kill(self.pid, signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT) -> float:
        """SIGTERM, wait (SIGKILL after `timeout`); the seconds it took to exit."""
        t = time.perf_counter()
        if self.status is None:
            self.sample()
            self.terminate()
            deadline = t + timeout
            while not self.poll():
                if time.perf_counter() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    _, status, rusage = os.wait4(self.pid, 0)
                    self._reaped(status, rusage)
                    break
                time.sleep(0.02)
        return time.perf_counter() - t

    def figures(self) -> dict[str, Any]:
        ru = self.rusage
        return {"pid": self.pid, "exit_code": self.status, "peak_rss_kb": self.hwm_kb,
                "cpu_seconds": (ru.ru_utime + ru.ru_stime) if ru else None,
                "user_seconds": ru.ru_utime if ru else None, "sys_seconds": ru.ru_stime if ru else None,
                "log_tail": self.log.read_text(errors="replace").splitlines()[-3:]}


# =========================================================================== runs


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path, servers: Servers, pg: Any, code: Path | None):
        self.args = args
        self.workdir = workdir
        self.servers = servers
        self.pg = pg
        self.code = code
        self.pg_pid = int((Path(pg.root) / "data" / "postmaster.pid").read_text().split()[0])
        dovecot_proc = getattr(servers.dovecot, "_proc", None)
        self.dovecot_pid = dovecot_proc.pid if dovecot_proc is not None else 0

    def env(self, root: Path, folder: str, database_url: str | None) -> dict[str, str]:
        from tests.crash_helpers import bot_env

        extra = {}
        if database_url:
            extra["MADOGUCHI_DATABASE_URL"] = database_url
        if self.code is not None:
            extra["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.code), os.environ.get("PYTHONPATH", "")) if p)
        return bot_env(root, mailbox_url=self.servers.dovecot.url(folder, "imaps"), dovecot=self.servers.dovecot,
                       outbox_url=f"dir:{root / 'outbox'}", cert=self.servers.cert, extra=extra)

    def server_cpu(self) -> dict[str, float]:
        return {"postgresql": tree_cpu_seconds(self.pg_pid),
                "dovecot": tree_cpu_seconds(self.dovecot_pid) if self.dovecot_pid else float("nan")}

    def run(self, config: str, raws: list[bytes], label: str) -> dict[str, Any]:
        from tests.crash_helpers import bot_command

        root = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=self.workdir))
        (root / "outbox").mkdir()
        folder = f"W-{label}"
        append_s = self.servers.fill(folder, raws)
        n = len(raws)
        result: dict[str, Any] = {"config": config, "label": label, "mails": n, "append_seconds": append_s}
        if config == "sqlite":
            env = self.env(root, folder, None)
            load = os.getloadavg()
            cpu0 = self.server_cpu()
            t0 = time.perf_counter()
            p = Proc(bot_command("run", "--once"), env, root, root / "run.log")
            while not p.poll():
                if time.perf_counter() - t0 > RUN_TIMEOUT:
                    p.stop()
                    break
                time.sleep(POLL_SECONDS)
            seconds = time.perf_counter() - t0
            cpu1 = self.server_cpu()
            db = sqlite3.connect(root / "m.db")
            try:
                outcomes = dict(db.execute("SELECT outcome, count(*) FROM inbound_messages GROUP BY outcome"))
                queued = db.execute("SELECT count(*) FROM outbound_messages WHERE status = 'queued'").fetchone()[0]
            finally:
                db.close()
            procs = [p]
            result.update({"workers": 0, "timeline": {}})
        else:
            workers = int(config)
            url = self.pg.new_database("w")
            env = self.env(root, folder, url)
            up = subprocess.run(bot_command("db", "upgrade"), env=env, cwd=root, capture_output=True, text=True,
                                check=False)
            if up.returncode != 0:
                raise RuntimeError(f"db upgrade failed: {up.stderr[-2000:]}")
            import psycopg

            conninfo = url.replace("postgresql+psycopg://", "postgresql://")
            conn = psycopg.connect(conninfo, autocommit=True)
            load = os.getloadavg()
            cpu0 = self.server_cpu()
            t0 = time.perf_counter()
            procs = [Proc(bot_command("worker"), env, root, root / f"worker{i}.log") for i in range(workers)]
            timeline: dict[str, float | None] = {"all_queued": None, "all_in_ledger": None, "done": None,
                                                 "all_marked": None}
            samples: list[list[float]] = []
            last_sample = -1.0
            seconds = float("nan")
            while True:
                inbound, items, pending, queued, marked = conn.execute(
                    "SELECT (SELECT count(*) FROM inbound_messages), (SELECT count(*) FROM work_items), "
                    "(SELECT count(*) FROM work_items WHERE state = 'pending'), "
                    "(SELECT count(*) FROM outbound_messages WHERE status = 'queued'), "
                    "(SELECT count(*) FROM work_items WHERE marked)").fetchone()
                now = time.perf_counter() - t0
                if timeline["all_queued"] is None and items >= n:
                    timeline["all_queued"] = now
                if timeline["all_in_ledger"] is None and inbound >= n:
                    timeline["all_in_ledger"] = now
                if timeline["all_marked"] is None and marked >= n:
                    timeline["all_marked"] = now
                if now - last_sample >= 1.0:
                    samples.append([round(now, 2), items, inbound, pending, queued, marked])
                    last_sample = now
                for p in procs:
                    p.sample()
                if inbound >= n and pending == 0 and queued == 0:
                    seconds = now
                    timeline["done"] = now
                    break
                dead = [p for p in procs if p.poll()]
                if dead:
                    raise RuntimeError(f"a worker exited early ({dead[0].status}): "
                                       f"{dead[0].log.read_text(errors='replace')[-3000:]}")
                if now > RUN_TIMEOUT:
                    break
                time.sleep(POLL_SECONDS)
            cpu1 = self.server_cpu()
            t_stop = time.perf_counter()
            for p in procs:
                p.terminate()
            stop_s = [p.stop() for p in procs]
            result["stop_seconds"] = time.perf_counter() - t_stop
            result["stop_seconds_each"] = stop_s
            outcomes = dict(conn.execute("SELECT outcome, count(*) FROM inbound_messages GROUP BY outcome")
                            .fetchall())
            queued = conn.execute("SELECT count(*) FROM outbound_messages WHERE status = 'queued'").fetchone()[0]
            per_worker = dict(conn.execute("SELECT worker, count(*) FROM work_items GROUP BY worker").fetchall())
            marked_after = conn.execute("SELECT count(*) FROM work_items WHERE marked").fetchone()[0]
            conn.close()
            handled = {f"{p.pid}": next((c for w, c in per_worker.items() if w and w.endswith(f":{p.pid}")), 0)
                       for p in procs}
            leaders = [p.pid for p in procs if any("did not lead" not in line and " led," in line
                                                   for line in p.log.read_text(errors="replace").splitlines())]
            result.update({"workers": workers, "timeline": timeline, "progress_samples": samples,
                           "handled_per_worker": handled, "leader_pids": leaders, "marked_after_stop": marked_after})
        after = self.servers.status(folder)
        written = sum(1 for x in (root / "outbox").iterdir() if x.suffix == ".eml")
        result["drop_seconds"] = self.servers.drop(folder)
        ok = (outcomes.get("request", 0) == n and sum(outcomes.values()) == n and written == n and queued == 0
              and after["unseen"] == 0 and all(p.status == 0 for p in procs))
        result.update({
            "load_1min_at_start": round(load[0], 2), "load_at_start": [round(x, 2) for x in load],
            "seconds": seconds, "rate": n / seconds, "outcomes": outcomes, "eml_written": written,
            "replies_left_queued": queued, "folder_after": after, "ok": ok,
            "processes": [p.figures() for p in procs],
            "server_cpu_seconds": {k: round(cpu1[k] - cpu0[k], 2) for k in cpu0},
            "process_cpu_seconds": round(sum((p.rusage.ru_utime + p.rusage.ru_stime) for p in procs if p.rusage), 2),
        })
        shutil.rmtree(root, ignore_errors=True)
        return result


def summarise(runs: list[dict[str, Any]], configs: list[str]) -> list[dict[str, Any]]:
    base_rate = median([r["rate"] for r in runs if r["config"] == "sqlite"])
    rows = []
    for config in configs:
        rs = [r for r in runs if r["config"] == config]
        if not rs:
            continue
        secs = median([r["seconds"] for r in rs])
        n = rs[0]["mails"]
        rate = n / secs
        tl = [r["timeline"] for r in rs if r["timeline"]]
        rows.append({
            "config": config, "label": "SQLite, 1 × `run --once`" if config == "sqlite" else
            f"PostgreSQL, {config} worker{'s' if config != '1' else ''}",
            "runs": len(rs), "mails": n, "median_seconds": secs, "seconds_runs": [r["seconds"] for r in rs],
            "rate": rate, "ratio": rate / base_rate, "ratio_runs": [r["rate"] / base_rate for r in rs],
            "all_queued_median_s": median([t["all_queued"] for t in tl if t.get("all_queued") is not None]) if tl
            else None,
            "process_cpu_median_s": median([r["process_cpu_seconds"] for r in rs]),
            "postgresql_cpu_median_s": median([r["server_cpu_seconds"]["postgresql"] for r in rs]),
            "dovecot_cpu_median_s": median([r["server_cpu_seconds"]["dovecot"] for r in rs]),
            "peak_rss_mb_max": max(p["peak_rss_kb"] for r in rs for p in r["processes"]) / 1024,
            "peak_rss_mb_median": median([p["peak_rss_kb"] / 1024 for r in rs for p in r["processes"]]),
            "load_1min_at_start": [r["load_1min_at_start"] for r in rs],
            "ok": all(r["ok"] for r in rs),
        })
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'configuration':30} {'runs':>4} {'median s':>8} {'msg/s':>6} {'ratio':>6} {'queued@':>7} "
            f"{'cpu bot':>7} {'cpu pg':>6} {'cpu dov':>7} {'RSS MB':>6} {'load':>15} ok")
    print(head)
    print("-" * len(head))
    for r in rows:
        q = f"{r['all_queued_median_s']:7.1f}" if r["all_queued_median_s"] else f"{'':7}"
        load = "/".join(f"{x:.1f}" for x in r["load_1min_at_start"])
        print(f"{r['label']:30} {r['runs']:4} {r['median_seconds']:8.1f} {r['rate']:6.1f} {r['ratio']:6.2f} {q} "
              f"{r['process_cpu_median_s']:7.1f} {r['postgresql_cpu_median_s']:6.1f} {r['dovecot_cpu_median_s']:7.1f} "
              f"{r['peak_rss_mb_max']:6.0f} {load:>15} {'yes' if r['ok'] else 'NO'}")


def write_json(args: argparse.Namespace, argv: list[str] | None, runs: list[dict[str, Any]], configs: list[str],
               code_info: dict[str, Any], t_all: float, partial: bool) -> dict[str, Any]:
    data = {"issue": 7, "machine": machine(), "code": code_info, "mails": args.mails, "set": "text",
            "seed": args.seed, "runs_per_config": args.runs, "quick": args.quick, "partial": partial,
            "command": "bench/workers_bench.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "wall_seconds": time.perf_counter() - t_all, "summary": summarise(runs, configs), "runs": runs}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        tmp.replace(args.json)
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="madoguchi: several workers on PostgreSQL vs one SQLite process")
    ap.add_argument("--mails", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    ap.add_argument("--no-sqlite", dest="sqlite", action="store_false", help="skip the SQLite baseline")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="300 mails, 1 run: a smoke run")
    ap.add_argument("--commit", default="HEAD", metavar="REV", help="measure the code as committed in REV")
    ap.add_argument("--live-code", action="store_true", help="run the working tree instead of a snapshot")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.mails, args.runs = 300, 1
    configs = (["sqlite"] if args.sqlite else []) + [str(int(x)) for x in args.workers.split(",") if x]

    from tests.pg_server import running_postgres

    t_all = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-workers-bench-", dir=args.workdir))
    workdir.chmod(0o755)
    short = subprocess.run(["git", "--no-optional-locks", "rev-parse", "--short", args.commit], cwd=PROJECT,
                           capture_output=True, text=True, check=False).stdout.strip()
    code_info: dict[str, Any] = {"commit": short}
    code: Path | None = None
    if args.live_code:
        code_info["live"] = True
    else:
        code_info.update(snapshot_commit(workdir, args.commit))
        code = workdir / "code"
    print(f"# code: {code_info}", flush=True)
    t = time.perf_counter()
    raws = [m.raw for m in generate(args.mails, "text", args.seed)]
    print(f"# {len(raws)} text mails ({sum(map(len, raws)):,} bytes) made in {time.perf_counter() - t:.1f} s",
          flush=True)
    servers = Servers(workdir)
    runs: list[dict[str, Any]] = []
    try:
        with running_postgres() as pg:
            bench = Bench(args, workdir, servers, pg, code)
            for rep in range(args.runs):
                for config in configs:
                    r = bench.run(config, raws, f"{'sq' if config == 'sqlite' else 'w' + config}-{rep}")
                    r["repeat"] = rep
                    runs.append(r)
                    extra = ""
                    if r["timeline"]:
                        tl = r["timeline"]
                        extra = (f" all queued {tl['all_queued']:.1f} s, marked {tl['all_marked'] or float('nan'):.1f}"
                                 f" s, handled {list(r['handled_per_worker'].values())}, stop "
                                 f"{r['stop_seconds']:.1f} s")
                    print(f"  {config:6} run {rep + 1}/{args.runs}: {r['seconds']:6.1f} s {r['rate']:6.1f} msg/s  "
                          f"cpu bot {r['process_cpu_seconds']:.1f} pg {r['server_cpu_seconds']['postgresql']:.1f} "
                          f"dovecot {r['server_cpu_seconds']['dovecot']:.1f}  peak "
                          f"{[round(p['peak_rss_kb'] / 1024) for p in r['processes']]} MB  load "
                          f"{r['load_1min_at_start']:.2f}{extra}  {'ok' if r['ok'] else 'CHECK FAILED ' + json.dumps({k: r[k] for k in ('outcomes', 'eml_written', 'replies_left_queued', 'folder_after')}) + str([p['exit_code'] for p in r['processes']])}",  # noqa: E501
                          flush=True)
                    if args.json:  # after every run, so that a plan cut short still leaves its figures
                        write_json(args, argv, runs, configs, code_info, t_all, partial=True)
    finally:
        servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    data = write_json(args, argv, runs, configs, code_info, t_all, partial=False)
    rows = data["summary"]
    print()
    m = data["machine"]
    print(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB; code {short}; "
          f"wall {data['wall_seconds'] / 60:.1f} min")
    print_table(rows)
    if args.json:
        print(f"figures written to {args.json}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
