#!/usr/bin/env python3
"""Reads every item of the accuracy set with the real reader and Tesseract, compares with
the labels, prints a summary and writes JSON.

    .venv/bin/python bench/accuracy/make_set.py --out /tmp/acc-set
    .venv/bin/python bench/accuracy/run.py /tmp/acc-set --json bench/results/accuracy-<date>.json

One process, one TesseractOcr instance, items in label order.  Tesseract runs in child
processes (pytesseract) with OMP_THREAD_LIMIT=1, so the CPU time of an item is this
process's `time.process_time()` delta plus the children's user+sys delta (RUSAGE_CHILDREN);
wall time is measured too.  Peak memory: ru_maxrss of this process and of the largest child.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.models import Attachment  # noqa: E402
from parsers.attachments import ReadLimits, read_attachment  # noqa: E402
from parsers.ocr import TesseractOcr  # noqa: E402

# A row, a label item and the summary are JSON objects with mixed values.
Json = dict[str, Any]

TYPES = ["notify_purpose", "disclose", "correct", "suspend", "stop_third_party", "disclose_third_party_records"]
CTYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".png": "image/png"}


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def predicted_kind(kinds: list[str]) -> str:
    unique = list(dict.fromkeys(kinds))
    return "|".join(unique) if unique else "(none)"


def read_all(folder: Path, only: str | None) -> list[Json]:
    labels: list[Json] = json.loads((folder / "labels.json").read_text())["items"]
    if only:
        labels = [it for it in labels if only in it["file"]]
    ocr = TesseractOcr()
    limits = ReadLimits()
    rows: list[Json] = []
    for n, it in enumerate(labels, 1):
        path = folder / it["file"]
        # uninformative file names, as phones and scanners give them: the reader must go by content
        name = f"scan{n:04d}{path.suffix}" if path.suffix == ".pdf" else f"IMG_{1000 + n}{path.suffix.upper()}"
        att = Attachment(filename=name, content_type=CTYPES[path.suffix], data=path.read_bytes())
        c0, k0, w0 = time.process_time(), _children_cpu(), time.perf_counter()
        reading = read_attachment(att, ocr=ocr, limits=limits)
        c1, k1, w1 = time.process_time(), _children_cpu(), time.perf_counter()
        kinds = [d.kind for d in reading.documents]
        pages = sorted({p for d in reading.documents for p in d.pages}) or [1]
        row: Json = dict(
            file=it["file"],
            true_kind=it["kind"],
            degradation=it["degradation"],
            pred_kinds=kinds,
            pred=predicted_kind(kinds),
            kind_ok=predicted_kind(kinds) == it["kind"],
            true_my_number=it["my_number"],
            pred_my_number=any(d.my_number for d in reading.documents),
            unreadable_reason=reading.unreadable_reason,
            pages=max(it.get("pages", 1), len(pages)),
            cpu_s=(c1 - c0) + (k1 - k0),
            cpu_self_s=c1 - c0,
            cpu_children_s=k1 - k0,
            wall_s=w1 - w0,
            masked=reading.masked_data is not None,
        )
        if "request_types" in it:
            got = sorted(reading.form.request_types) if reading.form else None
            row.update(
                true_types=it["request_types"],
                pred_types=got,
                layout=it.get("layout"),
                types_ok=got == it["request_types"],
            )
        if "checkboxes" in it:
            row["checkboxes"] = {
                c: dict(true=v, pred=bool(reading.form and c in reading.form.request_types))
                for c, v in it["checkboxes"].items()
            }
            row["marks"] = it.get("marks", {})
        rows.append(row)
        flag = "ok " if row["kind_ok"] else "BAD"
        print(
            f"[{n:3d}/{len(labels)}] {flag} {it['file']:45s} -> {row['pred']:30s} "
            f"cpu {row['cpu_s']:5.2f}s wall {row['wall_s']:5.2f}s",
            flush=True,
        )
    return rows


def summarise(rows: list[Json]) -> Json:
    kinds = sorted({r["true_kind"] for r in rows})
    per_kind = {}
    for k in kinds:
        rs = [r for r in rows if r["true_kind"] == k]
        per_kind[k] = dict(
            n=len(rs), correct=sum(r["kind_ok"] for r in rs), accuracy=sum(r["kind_ok"] for r in rs) / len(rs)
        )
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        confusion[r["true_kind"]][r["pred"]] += 1
    per_deg = {}
    for d in sorted({r["degradation"] for r in rows}):
        rs = [r for r in rows if r["degradation"] == d]
        per_deg[d] = dict(n=len(rs), correct=sum(r["kind_ok"] for r in rs))
    # request types: whole-set equality per form, and per check box on the project's form
    forms = [r for r in rows if "true_types" in r]
    by_layout = {}
    for lay in sorted({r["layout"] for r in forms}):
        rs = [r for r in forms if r["layout"] == lay]
        by_layout[lay] = dict(n=len(rs), types_exact=sum(r["types_ok"] for r in rs))
    boxes = [
        (r["file"], c, v["true"], v["pred"])
        for r in rows
        if "checkboxes" in r and r.get("layout") == "own"
        for c, v in r["checkboxes"].items()
    ]
    digital = [
        (r["file"], c, v["true"], v["pred"])
        for r in rows
        if "checkboxes" in r and r.get("layout") != "own"
        for c, v in r["checkboxes"].items()
    ]
    box_ok = sum(t == p for _, _, t, p in boxes)
    per_box = {}
    for c in TYPES:
        bs = [b for b in boxes if b[1] == c]
        per_box[c] = dict(n=len(bs), correct=sum(t == p for _, _, t, p in bs))
    tp = sum(r["true_my_number"] and r["pred_my_number"] for r in rows)
    fn = sum(r["true_my_number"] and not r["pred_my_number"] for r in rows)
    fp = sum(r["pred_my_number"] and not r["true_my_number"] for r in rows)
    # time per page: items read by OCR (images, image-only PDFs) vs text PDFs
    scanned = [r for r in rows if not r["file"].endswith("__clean.pdf")]
    clean = [r for r in rows if r["file"].endswith("__clean.pdf")]

    def timing(rs: list[Json]) -> Json:
        cpu = [r["cpu_s"] / r["pages"] for r in rs]
        wall = [r["wall_s"] / r["pages"] for r in rs]
        return dict(
            items=len(rs),
            pages=sum(r["pages"] for r in rs),
            cpu_per_page_median_s=statistics.median(cpu) if cpu else None,
            cpu_per_page_p95_s=_pct(cpu, 0.95),
            cpu_per_page_max_s=max(cpu, default=None),
            wall_per_page_median_s=statistics.median(wall) if wall else None,
            wall_per_page_p95_s=_pct(wall, 0.95),
            wall_per_page_max_s=max(wall, default=None),
        )

    self_ru = resource.getrusage(resource.RUSAGE_SELF)
    child_ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return dict(
        items=len(rows),
        kind_accuracy=sum(r["kind_ok"] for r in rows) / len(rows),
        kind_correct=sum(r["kind_ok"] for r in rows),
        per_kind=per_kind,
        per_degradation=per_deg,
        confusion={k: dict(v) for k, v in confusion.items()},
        request_types_by_layout=by_layout,
        own_form_checkboxes=dict(
            n=len(boxes),
            correct=box_ok,
            accuracy=box_ok / len(boxes) if boxes else None,
            per_box=per_box,
            wrong=[dict(file=f, box=c, true=t, pred=p) for f, c, t, p in boxes if t != p],
        ),
        own_form_digital_checkboxes=dict(n=len(digital), correct=sum(t == p for _, _, t, p in digital)),
        my_number=dict(
            tp=tp,
            fn=fn,
            fp=fp,
            positives=tp + fn,
            negatives=len(rows) - tp - fn,
            fp_files=[r["file"] for r in rows if r["pred_my_number"] and not r["true_my_number"]],
            fn_files=[r["file"] for r in rows if r["true_my_number"] and not r["pred_my_number"]],
        ),
        time_ocr_items=timing(scanned),
        time_text_pdfs=timing(clean),
        peak_rss_self_mb=self_ru.ru_maxrss / 1024,
        peak_rss_largest_child_mb=child_ru.ru_maxrss / 1024,
        misread=[
            dict(file=r["file"], true=r["true_kind"], read=r["pred"], degradation=r["degradation"])
            for r in rows
            if not r["kind_ok"]
        ],
    )


def machine() -> Json:
    def run(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
        except OSError:
            return ""

    cpu = next((ln.split(":", 1)[1].strip() for ln in run(["lscpu"]).splitlines() if ln.startswith("Model name")), "")
    return dict(
        nproc=os.cpu_count(),
        cpu=cpu,
        python=platform.python_version(),
        tesseract=run(["tesseract", "--version"]).splitlines()[0] if run(["tesseract", "--version"]) else "",
        omp_thread_limit=os.environ.get("OMP_THREAD_LIMIT"),
    )


def commit() -> str:
    """The code measured: HEAD, and whether the working tree differed from it."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True).stdout
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        ).stdout
    except OSError:
        return "unknown"
    return head.strip() + ("+changes" if dirty.strip() else "")


def time_by_source(rows: list[Json]) -> dict[str, Json]:
    """CPU per page for flatbed scans and for phone photos apart: the target is per scanned page."""
    out: dict[str, Json] = {}
    for source, prefix in (("flatbed scans", "scan"), ("phone photos", "photo")):
        per_page = sorted(
            float(r["cpu_s"]) / max(int(r["pages"]), 1)
            for r in rows
            if str(r["degradation"]).startswith(prefix)
            for _ in range(max(int(r["pages"]), 1))
        )
        if per_page:
            out[source] = {
                "pages": len(per_page),
                "median_s": statistics.median(per_page),
                "p95_s": _pct(per_page, 0.95),
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--only", default=None, help="only items whose file name contains this")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = read_all(args.folder, args.only)
    s = summarise(rows)
    s["run_wall_s"] = time.perf_counter() - t0
    s["machine"] = machine()
    s["commit"] = commit()
    s["time_by_source"] = time_by_source(rows)
    print()
    print(f"kind accuracy {s['kind_correct']}/{s['items']} = {s['kind_accuracy']:.1%}")
    for k, v in s["per_kind"].items():
        print(f"  {k:40s} {v['correct']:3d}/{v['n']:<3d} {v['accuracy']:.0%}")
    print("confusion (true -> read: count), off-diagonal only:")
    for k, v in s["confusion"].items():
        off = {p: n for p, n in v.items() if p != k}
        if off:
            print(f"  {k}: {off}")
    b = s["own_form_checkboxes"]
    if b["n"]:
        print(f"own-form check boxes on scans/photos {b['correct']}/{b['n']} = {b['accuracy']:.1%}")
        for c, v in b["per_box"].items():
            print(f"  {c:32s} {v['correct']}/{v['n']}")
    d = s["own_form_digital_checkboxes"]
    if d["n"]:
        print(f"own-form check boxes, digitally filled PDFs {d['correct']}/{d['n']}")
    print(
        "request types by layout (exact set):",
        {k: f"{v['types_exact']}/{v['n']}" for k, v in s["request_types_by_layout"].items()},
    )
    m = s["my_number"]
    print(f"My Number: TP {m['tp']} FN {m['fn']} FP {m['fp']} (positives {m['positives']}, negatives {m['negatives']})")
    for label in ("time_ocr_items", "time_text_pdfs"):
        t = s[label]
        if t["items"]:
            print(
                f"{label}: {t['items']} items {t['pages']} pages; cpu/page median {t['cpu_per_page_median_s']:.2f}s "
                f"p95 {t['cpu_per_page_p95_s']:.2f}s; wall/page median {t['wall_per_page_median_s']:.2f}s "
                f"p95 {t['wall_per_page_p95_s']:.2f}s"
            )
    print(
        f"peak RSS: self {s['peak_rss_self_mb']:.0f} MB, "
        f"largest Tesseract child {s['peak_rss_largest_child_mb']:.0f} MB"
    )
    for source, t in s["time_by_source"].items():
        print(f"time {source}: {t['pages']} pages; cpu/page median {t['median_s']:.2f}s p95 {t['p95_s']:.2f}s")
    print(f"run wall time {s['run_wall_s']:.0f}s (commit {s['commit']})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dict(summary=s, rows=rows), ensure_ascii=False, indent=1))
        print("wrote", args.json)


if __name__ == "__main__":
    main()
