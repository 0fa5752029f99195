"""Intake benchmark on the embedded defaults: Maildir in, SQLite, folder outbox.

    .venv/bin/python bench/intake.py                      # the default plan (15-20 min on 2 cores)
    .venv/bin/python bench/intake.py --quick              # 200 mails, 1 run each: a smoke test
    .venv/bin/python bench/intake.py --pdf-sizes 1000,5000 --repeats-large 1   # + the slow one

What is measured, per (set, N, repeat), each in a fresh directory and a fresh process:

- madoguchi: ``bot.runner.run_once(app)`` on a Maildir whose new/ holds the N mails, with
  ``app = bot.app.build_app(config.settings.load_settings(environ={...}))`` pointing at a
  fresh Maildir, SQLite file, data dir and outbox folder in that directory. Timed is the
  ``run_once`` call only (fetch, raw store, parse, read attachments, decide, commit, queue
  the replies, deliver them to the folder); ``build_app`` (imports, migration, key) is
  reported apart as start-up. The child checks the result: every mail a ``request``,
  every reply written.
- baseline: a bare loop over the same files that reads each one and parses it with
  ``email.message_from_bytes(raw, policy=email.policy.default)``, touching Subject and
  From and calling ``get_content()`` on every leaf part.

Sets (bench/make_mail.py): ``text`` (text/plain only) and ``pdf`` (the same mails, but one
in three carries a 1- or 2-page text-layer PDF). The N=1000 mails are the first 1000 of the
N=5000 ones, so sizes are comparable. Peak memory is ``ru_maxrss`` of the child (and, for
PDFs, of the largest PDF sandbox grandchild); the madoguchi child also samples its RSS
after every 1000 messages. Figures are medians over the repeats.

The Maildir files are copied into each run's directory just before the run, so both the
bot and the baseline read them from the page cache; the runs differ in what they do with
the bytes, not in disk reads. Everything lives under a temporary directory (``--workdir``
to choose it, on the same file system as production data if fsync cost matters).

The code measured is a snapshot: bot/, parsers/, replies/ and config/ are copied into the
work directory at the start (and byte-compiled, as an installed package would be) and the
children import it from there, so edits made to the working tree while the benchmark runs
cannot mix two versions of the code into one set of figures. The git commit, whether the
tree differed from it, and a hash of the copied sources are recorded (``--live-code`` runs
the working tree instead).
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import platform
import resource
import shutil
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

from make_mail import write_maildir  # noqa: E402

NOW = "2025-06-02T10:00:00+09:00"


# =========================================================================== children


def _rss_kb() -> int:
    """Current resident set size of this process in KiB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def _cpu() -> float:
    """CPU seconds (user + system) used so far by this process and its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _usage() -> dict[str, int]:
    return {
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


def child_baseline(root: Path) -> dict[str, Any]:
    import email
    import email.policy

    c0, t0 = _cpu(), time.perf_counter()
    count = 0
    leaves = 0
    chars = 0
    for path in sorted((root / "mail" / "new").iterdir()):
        raw = path.read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        chars += len(str(msg["subject"] or "")) + len(str(msg["from"] or ""))
        for part in msg.walk():
            if part.is_multipart():
                continue
            content = part.get_content()
            chars += len(content)
            leaves += 1
        count += 1
    seconds = time.perf_counter() - t0
    cpu = _cpu() - c0
    return {"seconds": seconds, "cpu_seconds": cpu, "count": count, "leaves": leaves, "chars": chars, **_usage()}


def time_messages(per_message: list[float], every_1000: Any) -> None:
    """Append each message's wall time to `per_message`, in mailbox order, calling
    `every_1000()` after each thousandth; by wrapping what ``bot.runner`` calls.

    Code before group commits calls ``handle`` once per message. Later code calls
    ``handle_batch`` per fetched batch, and ``bot.pipeline.handle`` inside it for a mail
    handled on its own (one with attachments, or after a failed group): such a mail gets
    its own time, the others of the batch an equal share of the rest.
    """
    import bot.pipeline
    import bot.runner

    def note(times: list[float]) -> None:
        for t in times:
            per_message.append(t)
            if len(per_message) % 1000 == 0:
                every_1000()

    if not hasattr(bot.runner, "handle_batch"):
        inner = getattr(bot.runner, "handle")  # noqa: B009 - not re-exported, patched on purpose

        def timed_handle(app_: Any, incoming: Any) -> Any:
            t = time.perf_counter()
            result = inner(app_, incoming)
            note([time.perf_counter() - t])
            return result

        setattr(bot.runner, "handle", timed_handle)  # noqa: B010
        return

    inner_batch = getattr(bot.runner, "handle_batch")  # noqa: B009
    inner_one = bot.pipeline.handle
    alone: dict[str, float] = {}

    def timed_one(app_: Any, incoming: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        result = inner_one(app_, incoming, **kw)
        alone[incoming.key] = alone.get(incoming.key, 0.0) + time.perf_counter() - t
        return result

    def timed_batch(app_: Any, batch: list[Any], *rest: Any) -> Any:  # stop, and the read-ahead's readings
        alone.clear()
        t = time.perf_counter()
        results = inner_batch(app_, batch, *rest)
        total = time.perf_counter() - t
        done = batch[:len(results)]
        grouped = [m for m in done if m.key not in alone]
        share = (total - sum(alone.values())) / len(grouped) if grouped else 0.0
        note([alone.get(m.key, share) for m in done])
        return results

    setattr(bot.pipeline, "handle", timed_one)  # noqa: B010
    setattr(bot.runner, "handle_batch", timed_batch)  # noqa: B010


def child_madoguchi(root: Path, profile: str | None = None) -> dict[str, Any]:
    t_start = time.perf_counter()
    import bot.runner
    from bot.app import build_app
    from config.settings import load_settings

    env = {
        "MADOGUCHI_MAILBOX_URL": f"maildir:{root / 'mail'}",
        "MADOGUCHI_OUTBOX_URL": f"dir:{root / 'outbox'}",
        "MADOGUCHI_DATABASE_URL": f"sqlite:///{root / 'madoguchi.db'}",
        "MADOGUCHI_DATA_DIR": str(root / "data"),
        "MADOGUCHI_NOW": NOW,
    }
    app = build_app(load_settings(environ=env))
    startup = time.perf_counter() - t_start
    rss_after_startup = _rss_kb()

    # Per-message times and RSS samples, by wrapping the functions run_once calls.
    per_message: list[float] = []
    rss_samples: list[tuple[int, int]] = []
    time_messages(per_message, lambda: rss_samples.append((len(per_message), _rss_kb())))

    profiler: Any = None
    out_path = profile or ""
    if out_path:
        if out_path.endswith((".html", ".txt")):
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001)
        else:
            import cProfile

            profiler = cProfile.Profile()
        profiler.start() if hasattr(profiler, "start") else profiler.enable()

    c0, t0 = _cpu(), time.perf_counter()
    report = bot.runner.run_once(app)
    seconds = time.perf_counter() - t0
    cpu = _cpu() - c0

    if profiler is not None:
        if hasattr(profiler, "output_html"):
            profiler.stop()
            out = profiler.output_html() if out_path.endswith(".html") else profiler.output_text(
                unicode=True, color=False, show_all=False)
            Path(out_path).write_text(out, encoding="utf-8")
        else:
            profiler.disable()
            profiler.dump_stats(out_path)

    outcomes: dict[str, int] = {}
    for r in report.results:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    written = sum(1 for p in (root / "outbox").iterdir() if p.suffix == ".eml")
    deliver = seconds - sum(per_message)
    app.close()
    return {
        "code_path": str(Path(bot.runner.__file__).resolve().parents[1]),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "startup_seconds": startup,
        "count": len(report.results),
        "outcomes": outcomes,
        "sent": report.delivery.sent,
        "written": written,
        "per_message": per_message,
        "deliver_seconds": deliver,
        "rss_after_startup_kb": rss_after_startup,
        "rss_samples": rss_samples,
        **_usage(),
    }


# =========================================================================== parent


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "mem_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


CODE_DIRS = ("bot", "parsers", "replies", "config")
_CODE: Path | None = None  # the snapshot the children import, when there is one


def snapshot_code(workdir: Path) -> dict[str, Any]:
    """Copy the packages into workdir/code, byte-compile them, and say which code it is."""
    global _CODE
    dest = workdir / "code"
    digest = hashlib.sha256()
    for pkg in CODE_DIRS:
        shutil.copytree(PROJECT / pkg, dest / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in sorted(dest.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(dest)).encode() + b"\0" + path.read_bytes())
    compileall.compile_dir(str(dest), quiet=1)
    _CODE = dest
    return {**_git_state(), "source_sha256": digest.hexdigest()[:16]}


def _git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        out = subprocess.run(["git", "--no-optional-locks", *args], cwd=PROJECT, capture_output=True, text=True,
                             check=False)
        return out.stdout.strip()

    return {"git_head": git("rev-parse", "--short", "HEAD"),
            "git_tree_differs": bool(git("status", "--porcelain", "--", *CODE_DIRS))}


def run_child(kind: str, root: Path, profile: str | None = None) -> dict[str, Any]:
    # cwd = the run's directory, so no ./madoguchi.toml of the caller is picked up.
    return run_json_child(Path(__file__), kind, ["--root", str(root)], root, _CODE, profile)


def run_json_child(
    script: Path, kind: str, args: list[str], cwd: Path, code: Path | None, profile: str | None = None
) -> dict[str, Any]:
    """Run `script --child KIND ARGS` in a fresh interpreter and return the JSON object on
    the last line of its output (each measurement starts from a cold process)."""
    cmd = [sys.executable, str(script.resolve()), "--child", kind, *args]
    if profile:
        cmd += ["--profile", profile]
    env = dict(os.environ)
    if code is not None:  # the snapshot comes before the editable install's finder
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def fresh_run_dir(workdir: Path, master: Path, n: int, label: str) -> Path:
    """A new directory with a Maildir holding the first n mails of `master` (mtimes kept)."""
    root = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=workdir))
    for sub in ("new", "cur", "tmp"):
        (root / "mail" / sub).mkdir(parents=True)
    names = sorted(p.name for p in (master / "new").iterdir())[:n]
    for name in names:
        shutil.copy2(master / "new" / name, root / "mail" / "new" / name)
    return root


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-bench-", dir=args.workdir))
    code = _git_state() | {"live": True} if args.live_code else snapshot_code(workdir)
    print(f"# code: {code}", flush=True)
    plan: list[tuple[str, int]] = [("text", n) for n in args.text_sizes] + [("pdf", n) for n in args.pdf_sizes]
    masters: dict[str, tuple[Path, dict[str, Any]]] = {}  # manifest as written by make_mail
    t_all = time.perf_counter()
    for variant in ("text", "pdf"):
        sizes = [n for v, n in plan if v == variant]
        if not sizes:
            continue
        t = time.perf_counter()
        master = workdir / f"master-{variant}"
        manifest = write_maildir(master, max(sizes), variant, args.seed)
        masters[variant] = (master, manifest)
        print(f"# generated {max(sizes)} {variant} mails ({manifest['bytes']:,} bytes, "
              f"{manifest['pdf_mails']} PDFs / {manifest['pdf_pages']} pages) in {time.perf_counter() - t:.1f} s",
              flush=True)

    runs: list[dict[str, Any]] = []
    for variant, n in plan:
        master, manifest = masters[variant]
        pages: list[int] = list(manifest["pages"])[:n]
        repeats = args.repeats_large if n >= args.large else args.repeats
        for rep in range(repeats):
            root = fresh_run_dir(workdir, master, n, f"{variant}{n}-{rep}")
            load = os.getloadavg()[0]
            base = run_child("baseline", root)
            bot = run_child("madoguchi", root)
            ok = (bot["count"] == n and bot["outcomes"].get("request", 0) == n and bot["sent"] == n
                  and bot["written"] == n and base["count"] == n)
            runs.append({"set": variant, "n": n, "repeat": rep, "load_before": load, "pdf_pages": sum(pages),
                         "pdf_mails": sum(1 for p in pages if p), "pages": pages,
                         "baseline": base, "madoguchi": bot, "ok": ok})
            print(f"  {variant:4} N={n:5} run {rep + 1}/{repeats}: baseline {base['seconds']:7.2f} s  "
                  f"madoguchi {bot['seconds']:8.2f} s  ({n / bot['seconds']:6.1f} msg/s, "
                  f"cpu {bot['cpu_seconds']:.1f} s)  "
                  f"load {load:.2f}  "
                  f"peak {bot['maxrss_kb'] / 1024:6.1f} MB  {'ok' if ok else 'CHECK FAILED: ' + str(bot['outcomes'])}",
                  flush=True)
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"machine": machine(), "code": code, "seed": args.seed, "wall_seconds": time.perf_counter() - t_all,
            "workdir": str(workdir), "runs": runs}


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in data["runs"]:
        groups.setdefault((r["set"], r["n"]), []).append(r)
    rows = []
    for (variant, n), rs in groups.items():
        b = median([r["baseline"]["seconds"] for r in rs])
        m = median([r["madoguchi"]["seconds"] for r in rs])
        rows.append({
            "set": variant, "n": n, "runs": len(rs), "ok": all(r["ok"] for r in rs),
            "pdf_mails": rs[0]["pdf_mails"], "pdf_pages": rs[0]["pdf_pages"],
            "baseline_s": b, "baseline_rate": n / b, "madoguchi_s": m, "madoguchi_rate": n / m,
            "ratio": b / m,  # (n/m) / (n/b)
            "baseline_cpu_s": median([r["baseline"]["cpu_seconds"] for r in rs]),
            "madoguchi_cpu_s": median([r["madoguchi"]["cpu_seconds"] for r in rs]),
            "cpu_ratio": median([r["baseline"]["cpu_seconds"] for r in rs])
            / median([r["madoguchi"]["cpu_seconds"] for r in rs]),
            "load_before": [round(r["load_before"], 2) for r in rs],
            "ratio_runs": [r["baseline"]["seconds"] / r["madoguchi"]["seconds"] for r in rs],
            "startup_s": median([r["madoguchi"]["startup_seconds"] for r in rs]),
            "deliver_s": median([r["madoguchi"]["deliver_seconds"] for r in rs]),
            "ms_per_msg_p50": median([median(r["madoguchi"]["per_message"]) * 1000 for r in rs]),
            "peak_mb": median([r["madoguchi"]["maxrss_kb"] / 1024 for r in rs]),
            "startup_rss_mb": median([r["madoguchi"]["rss_after_startup_kb"] / 1024 for r in rs]),
            "sandbox_peak_mb": median([r["madoguchi"]["children_maxrss_kb"] / 1024 for r in rs]),
            "baseline_peak_mb": median([r["baseline"]["maxrss_kb"] / 1024 for r in rs]),
            "rss_samples_mb": [[k, round(v / 1024, 1)] for k, v in rs[0]["madoguchi"]["rss_samples"]],
        })
    rows.sort(key=lambda row: (row["set"] != "text", row["n"]))

    per_page = []
    for row in rows:
        if row["set"] != "pdf":
            continue
        text_runs = groups.get(("text", row["n"]))
        pdf_runs = groups[("pdf", row["n"])]
        if not text_runs or not row["pdf_pages"]:
            continue
        paired = [(p["madoguchi"]["seconds"] - t["madoguchi"]["seconds"]) / row["pdf_pages"] * 1000
                  for t, p in zip(text_runs, pdf_runs, strict=True)]
        # Per message: each PDF mail against the median text-only mail of the same run.
        per_msg = []
        for p in pdf_runs:
            times = p["madoguchi"]["per_message"]
            plain = median([t for t, pg in zip(times, p["pages"], strict=True) if pg == 0])
            per_msg += [(t - plain) / pg * 1000 for t, pg in zip(times, p["pages"], strict=True) if pg]
        by_pages = {}
        for k in (1, 2):
            extra = []
            for p in pdf_runs:
                times = p["madoguchi"]["per_message"]
                plain = median([t for t, pg in zip(times, p["pages"], strict=True) if pg == 0])
                extra += [(t - plain) * 1000 for t, pg in zip(times, p["pages"], strict=True) if pg == k]
            by_pages[k] = median(extra)
        cpu_paired = [(p["madoguchi"]["cpu_seconds"] - t["madoguchi"]["cpu_seconds"]) / row["pdf_pages"] * 1000
                      for t, p in zip(text_runs, pdf_runs, strict=True)]
        per_page.append({
            "cpu_ms_per_page": median(cpu_paired), "cpu_ms_per_page_runs": cpu_paired,
            "n": row["n"], "pages": row["pdf_pages"], "pdf_mails": row["pdf_mails"],
            "ms_per_page_runs": paired, "ms_per_page": median(paired),
            "ms_per_page_of_medians": (row["madoguchi_s"] - next(
                x["madoguchi_s"] for x in rows if x["set"] == "text" and x["n"] == row["n"])) / row["pdf_pages"] * 1000,
            "ms_per_page_per_message_median": median(per_msg),
            "ms_extra_for_1_page_file": by_pages[1], "ms_extra_for_2_page_file": by_pages[2],
        })
    return {"rows": rows, "per_page": per_page}


def print_table(data: dict[str, Any], summary: dict[str, Any]) -> None:
    m = data["machine"]
    print()
    print(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB, Python {m['python']}; "
          f"total wall time {data['wall_seconds'] / 60:.1f} min")
    c = data["code"]
    print(f"code: commit {c['git_head']}{' + local changes' if c['git_tree_differs'] else ''}"
          f"{', sources ' + c['source_sha256'] if 'source_sha256' in c else ' (live working tree)'}")
    head = (f"{'set':4} {'N':>5} {'runs':>4} {'pages':>5} | {'base s':>6} {'msg/s':>6} | "
            f"{'bot s':>7} {'msg/s':>6} {'ms/msg':>6} {'cpu s':>7} | {'ratio':>6} {'cpu':>6} | {'start':>5} "
            f"{'peak MB':>7} {'child':>5} {'base':>5} | {'load':>14} | ok")
    print(head)
    print("-" * len(head))
    for r in summary["rows"]:
        load = "/".join(f"{x:.1f}" for x in r["load_before"])
        print(f"{r['set']:4} {r['n']:5} {r['runs']:4} {r['pdf_pages']:5} | {r['baseline_s']:6.2f} "
              f"{r['baseline_rate']:6.0f} | {r['madoguchi_s']:7.2f} {r['madoguchi_rate']:6.1f} "
              f"{r['ms_per_msg_p50']:6.1f} {r['madoguchi_cpu_s']:7.2f} | {r['ratio']:6.3f} {r['cpu_ratio']:6.3f} | "
              f"{r['startup_s']:5.2f} {r['peak_mb']:7.1f} {r['sandbox_peak_mb']:5.0f} {r['baseline_peak_mb']:5.0f} | "
              f"{load:>14} | {'yes' if r['ok'] else 'NO'}")
    print("medians over the runs. base s / bot s: wall seconds of the bare stdlib loop / of run_once;")
    print("ms/msg: median time of one message inside run_once; cpu s: CPU of run_once incl. its child processes;")
    print("ratio: bot msg/s ÷ baseline msg/s (wall), cpu: the same on CPU seconds; start: build_app seconds;")
    print("peak MB: ru_maxrss of the bot's process; child: largest process it started (PDF sandbox, tesseract")
    print("probe); base: ru_maxrss of the baseline loop; load: 1-min load average before each run.")
    print_pages_and_memory(summary)


def print_pages_and_memory(summary: dict[str, Any]) -> None:
    """The per-page PDF cost and the RSS samples as the backlog grows (shared with imap_bench)."""
    for p in summary["per_page"]:
        runs = ", ".join(f"{x:.0f}" for x in p["ms_per_page_runs"])
        print(f"PDF N={p['n']}: {p['pdf_mails']} files, {p['pages']} pages. Extra per page: {p['ms_per_page']:.0f} ms "
              f"wall (paired runs: {runs}), {p['cpu_ms_per_page']:.0f} ms CPU; per-message median "
              f"{p['ms_per_page_per_message_median']:.0f} ms/page; a 1-page file adds "
              f"{p['ms_extra_for_1_page_file']:.0f} ms, a 2-page file {p['ms_extra_for_2_page_file']:.0f} ms")
    for r in summary["rows"]:
        if r["rss_samples_mb"]:
            samples = ", ".join(f"{k}: {v}" for k, v in r["rss_samples_mb"])
            print(f"RSS MB of the bot during {r['set']} N={r['n']} (after start-up {r['startup_rss_mb']:.1f}; "
                  f"after message k): {samples}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="madoguchi intake benchmark (Maildir → SQLite → folder outbox)")
    ap.add_argument("--text-sizes", default="1000,5000")
    ap.add_argument("--pdf-sizes", default="1000",
                    help="5000 PDF mails take ~12 min per run on 2 cores; add it with --pdf-sizes 1000,5000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--repeats-large", type=int, default=3, help="repeats for sizes >= --large")
    ap.add_argument("--large", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="200 mails per set, one run each")
    ap.add_argument("--workdir", type=Path, default=None, help="where the temporary directories go")
    ap.add_argument("--keep", action="store_true", help="keep the run directories")
    ap.add_argument("--live-code", action="store_true", help="run the working tree, not a snapshot of it")
    ap.add_argument("--json", type=Path, default=None, help="write all figures (and raw runs) here")
    ap.add_argument("--profile-only", type=Path, default=None, metavar="OUT",
                    help="profile one text-only N=1000 run instead (OUT.html/.txt: pyinstrument, else cProfile)")
    ap.add_argument("--profile-set", default="text", choices=("text", "pdf"))
    ap.add_argument("--profile-n", type=int, default=1000)
    ap.add_argument("--child", choices=("baseline", "madoguchi"), help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--profile", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        result = child_baseline(args.root) if args.child == "baseline" else child_madoguchi(args.root, args.profile)
        print(json.dumps(result))
        return 0

    if args.profile_only:
        workdir = Path(tempfile.mkdtemp(prefix="madoguchi-profile-", dir=args.workdir))
        if not args.live_code:
            snapshot_code(workdir)
        write_maildir(workdir / "master", args.profile_n, args.profile_set, args.seed)
        root = fresh_run_dir(workdir, workdir / "master", args.profile_n, "profile")
        out = run_child("madoguchi", root, profile=str(args.profile_only.resolve()))
        print(f"profiled {out['count']} {args.profile_set} mails in {out['seconds']:.1f} s "
              f"(with the profiler on) -> {args.profile_only}")
        shutil.rmtree(workdir, ignore_errors=True)
        return 0

    if args.quick:
        args.text_sizes, args.pdf_sizes, args.repeats, args.repeats_large = "200", "200", 1, 1
    args.text_sizes = [int(x) for x in str(args.text_sizes).split(",") if x]
    args.pdf_sizes = [int(x) for x in str(args.pdf_sizes).split(",") if x]
    data = measure(args)
    summary = summarise(data)
    print_table(data, summary)
    if args.json:
        for r in data["runs"]:  # keep the file small: per-message times become quantiles
            times = sorted(r["madoguchi"].pop("per_message"))
            r["madoguchi"]["per_message_ms_quantiles"] = {
                q: round(times[min(len(times) - 1, int(q / 100 * len(times)))] * 1000, 2)
                for q in (10, 50, 90, 99, 100)}
            r.pop("pages")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**data, "summary": summary}, indent=1, ensure_ascii=False),
                             encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0 if all(r["ok"] for r in summary["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
