"""How the time to list and export cases grows with the number of cases (issue 7).

For each size, a fresh case store is filled with synthetic cases shaped like real ones
(two documents, two mails in, two replies out, eight audit events each), then the staff
commands are run as staff run them — `madoguchi cases export --format json` and
`madoguchi cases list` (piped) as child processes, output to /dev/null — several times;
the median wall time and the child's peak RSS are reported, and each size's time as a
ratio to the smallest size's.

    .venv/bin/python bench/cases_scale.py --sizes 1000,10000,100000 --runs 3
    .venv/bin/python bench/cases_scale.py --database postgresql   # a throwaway server (tests/pg_server.py)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_app  # noqa: E402
from bot.db import Case, CaseEvent, Document, InboundMessage, OutboundMessage  # noqa: E402
from config.settings import load_settings  # noqa: E402

T0 = dt.datetime(2025, 4, 1, 1, 0, tzinfo=dt.UTC)
STATUSES = ("awaiting_documents", "awaiting_fee", "awaiting_verification", "in_progress", "closed")


def fill(env: dict[str, str], n: int, batch: int = 5000) -> None:
    """n cases with their rows, written with bulk INSERTs (the pipeline would take hours)."""
    app = build_app(load_settings(environ=env))
    try:
        for start in range(0, n, batch):
            rows = range(start, min(n, start + batch))
            cases, docs, ins, outs, events = [], [], [], [], []
            for i in rows:
                cid = f"{(T0 + dt.timedelta(minutes=i)).strftime('%Y%m%d')}-{i:06d}"
                at = T0 + dt.timedelta(minutes=i)
                status = STATUSES[i % len(STATUSES)]
                cases.append({"id": cid, "window": "default", "status": status, "channel": "email",
                              "requester_name": f"請求者 {i}", "requester_email": f"r{i}@example.com",
                              "agent_present": i % 7 == 0, "agent_type": "voluntary" if i % 7 == 0 else None,
                              "agent_name": None, "request_types": ["disclose"], "disclosure_method": "paper",
                              "fee_yen": 1000, "paid_yen": 1000 if i % 3 else 0, "fee_notice_sent": True,
                              "missing": ["resident_record"] if status == "awaiting_documents" else [],
                              "flags": [], "final_status": "closed" if status == "closed" else None,
                              "created_at": at, "updated_at": at, "due_on": (at + dt.timedelta(days=14)).date(),
                              "clock_stops": [[at.date().isoformat(), None]] if status.startswith("awaiting_d")
                              else [], "lang": "ja"})
                for k in range(2):
                    ins.append({"id": 2 * i + k + 1, "sha256": f"{i:032x}{k:032x}", "message_id": f"<m{i}.{k}@x>",
                                "from_addr": f"r{i}@example.com", "received_at": at, "mailbox_key": f"k{i}.{k}",
                                "outcome": "request" if k == 0 else "followup", "size": 2000, "case_id": cid})
                    docs.append({"case_id": cid, "inbound_id": 2 * i + k + 1, "filename": f"scan{k}.pdf",
                                 "kind": ("drivers_license", "resident_record")[k], "holder": "principal",
                                 "pages": ["1"], "flags": [], "stored_as": f"{i:032x}{k:032x}"})
                    outs.append({"case_id": cid, "kind": ("fee_notice", "receipt")[k], "to_addr": f"r{i}@example.com",
                                 "message_id": f"<{cid}.{k}@example.jp>", "raw": b"x" * 3000, "created_at": at,
                                 "status": "sent", "attempts": 1, "automatic": True})
                for k in range(8):
                    events.append({"case_id": cid, "at": at, "actor": "madoguchi", "type": "decision",
                                   "detail": {"event": "request", "rules": ["fee:1000", f"k{k}"]}})
            with app.engine.begin() as conn:
                for table, data in ((Case, cases), (InboundMessage, ins), (Document, docs),
                                    (OutboundMessage, outs), (CaseEvent, events)):
                    conn.execute(insert(table), data)
    finally:
        app.close()


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds of one child run (stdout to /dev/null) and its peak RSS in KiB."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.PIPE)
        _, _, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if proc.stderr is not None:
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if err.strip():
            raise SystemExit(f"{' '.join(cmd)} failed: {err[-500:]}")
    return seconds, int(usage.ru_maxrss)


@contextmanager
def database(kind: str, root: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{root}/m.db"
        return
    from tests.pg_server import running_postgres

    with running_postgres() as pg:
        yield pg.new_database("bench")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    exe = str(ROOT / ".venv" / "bin" / "madoguchi")
    results = []
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="madoguchi-scale-") as tmp, database(args.database, Path(tmp)) as url:
            env = {**{k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")},
                   "MADOGUCHI_DATABASE_URL": url, "MADOGUCHI_DATA_DIR": f"{tmp}/data",
                   "MADOGUCHI_MAILBOX_URL": f"maildir:{tmp}/mail", "MADOGUCHI_OUTBOX_URL": f"dir:{tmp}/out",
                   "MADOGUCHI_NOW": "2025-06-02T10:00:00+09:00"}
            t = time.perf_counter()
            fill(env, n)
            filled = time.perf_counter() - t
            row: dict[str, object] = {"cases": n, "fill_s": round(filled, 1)}
            for name, cmd in (("export", [exe, "cases", "export", "--format", "json"]),
                              ("list", [exe, "cases", "list"])):
                runs = [timed(cmd, env) for _ in range(args.runs)]
                row[f"{name}_s"] = round(statistics.median(r[0] for r in runs), 2)
                row[f"{name}_runs_s"] = [round(r[0], 2) for r in runs]
                row[f"{name}_rss_mb"] = round(max(r[1] for r in runs) / 1024)
            results.append(row)
            print(json.dumps(row), flush=True)
    base = results[0]
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"database {args.database}, median of {args.runs} runs")
    print("| cases | export s | × | peak MB | list s | × | peak MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['cases']:,} | {r['export_s']} | {float(r['export_s']) / float(base['export_s']):.1f} | "  # type: ignore[arg-type]
              f"{r['export_rss_mb']} | {r['list_s']} | {float(r['list_s']) / float(base['list_s']):.1f} | "  # type: ignore[arg-type]
              f"{r['list_rss_mb']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
