"""A longer fuzzing run of the mail path than CI affords (tests/test_fuzz_mail.py has the strategies).

    python bench/fuzz.py                 # 5 minutes
    python bench/fuzz.py --minutes 30
    python bench/fuzz.py --examples 5000 --seed 7

Every generated mail goes through `parse_message` and then `handle()` on one app (SQLite,
folder outbox, a stand-in OCR); every generated or mutated file through `read_attachment`.
Counted as a crash: an exception out of any of the three, or a quarantine whose reason is an
exception (step other than 'size'). Counted as lost: a distinct message without exactly one
ledger row. The bytes of each crash are written to --crash-dir to replay. Exit 1 on any.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402

from bot.models import Attachment  # noqa: E402
from parsers.attachments import ReadLimits, read_attachment  # noqa: E402
from parsers.mime import parse_message  # noqa: E402
from tests.test_fuzz_mail import FastOcr, Ledger, _mutate, fuzz_app, mails, samples  # noqa: E402

BATCH = 400
FILE_KINDS = ["pdf", "form", "jpeg", "png", "zip", "random"]
LABELS = ["application/pdf", "image/jpeg", "image/png", "application/zip", "application/octet-stream", ""]


class Run:
    def __init__(self, deadline: float, examples: int, crash_dir: Path) -> None:
        self.deadline, self.examples, self.crash_dir = deadline, examples, crash_dir
        self.mails = self.files = 0
        self.crashes: list[str] = []
        self.lost = 0
        self.outcomes: dict[str, int] = {}

    def done(self) -> bool:
        return time.monotonic() >= self.deadline or self.mails + self.files >= self.examples

    def crash(self, what: str, data: bytes) -> None:
        self.crash_dir.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(data).hexdigest()[:16]
        (self.crash_dir / f"{name}.bin").write_bytes(data)
        self.crashes.append(f"{what} ({name}.bin)")
        print(f"CRASH {what} -> {self.crash_dir / name}.bin", file=sys.stderr, flush=True)


def fuzz_mail(run: Run, ledger: Ledger, seed: int) -> None:
    @settings(max_examples=BATCH, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(raw=mails())
    def one(raw: bytes) -> None:
        if run.done():
            return
        run.mails += 1
        try:
            parse_message(raw)
        except Exception:  # noqa: BLE001 - counted, not raised
            run.crash("parse_message: " + traceback.format_exc(limit=-1).strip().splitlines()[-1], raw)
        before = len(ledger.crashes)
        try:
            result = ledger.feed(raw)
            run.outcomes[result.outcome] = run.outcomes.get(result.outcome, 0) + 1
        except AssertionError:  # no ledger row, two rows, or an unknown outcome
            run.lost += 1
            ledger.offset = ledger.rows() - len(ledger.fed)  # count the next ones afresh
            run.crash("lost: " + traceback.format_exc(limit=-1).strip().splitlines()[-1], raw)
        except Exception:  # noqa: BLE001
            run.crash("handle: " + traceback.format_exc(limit=-1).strip().splitlines()[-1], raw)
        for crash in ledger.crashes[before:]:
            run.crash("quarantined " + crash, raw)

    hypothesis_seed(seed)(one)()


def fuzz_files(run: Run, rng: random.Random, count: int) -> None:
    limits = ReadLimits(max_pages=3, timeout_seconds=20.0)
    for _ in range(count):
        if run.done():
            return
        kind = rng.choice(FILE_KINDS)
        if kind == "random":
            data = rng.randbytes(rng.randrange(4000))
        else:
            data = _mutate(samples()[kind], rng, rng.randrange(1, 16))
        run.files += 1
        try:
            reading = read_attachment(Attachment(filename=rng.choice(["a.pdf", "a.jpg", "a", None]),
                                                 content_type=rng.choice(LABELS), data=data),
                                      ocr=FastOcr(), limits=limits)
            if reading.unreadable_reason and reading.unreadable_reason != "archive":
                assert [d.unreadable for d in reading.documents] == [True]
        except Exception:  # noqa: BLE001
            run.crash("read_attachment: " + traceback.format_exc(limit=-1).strip().splitlines()[-1], data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--examples", type=int, default=10**9, help="stop after this many inputs")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--crash-dir", type=Path, default=Path("var/fuzz-crashes"))
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    started = time.monotonic()
    run = Run(started + args.minutes * 60, args.examples, args.crash_dir)
    rng = random.Random(seed)
    with fuzz_app() as app:
        ledger = Ledger(app)
        batch = 0
        while not run.done():
            fuzz_mail(run, ledger, seed + batch)
            fuzz_files(run, rng, BATCH // 4)
            batch += 1
            print(f"  {time.monotonic() - started:6.0f}s  mails {run.mails}  files {run.files}  "
                  f"crashes {len(run.crashes)}  outcomes {run.outcomes}", flush=True)
        last = ledger.feed(b"From: a@example.com\r\nSubject: x\r\n\r\n" + str(seed).encode())
        assert last.outcome == "inquiry"  # the bot goes on as before
        lost = run.lost + abs(ledger.rows() - len(ledger.fed) - ledger.offset)
    elapsed = time.monotonic() - started
    print(f"seed {seed}  time {elapsed:.0f}s")
    print(f"inputs tried {run.mails + run.files} (mails {run.mails}, files {run.files}; distinct mails "
          f"{len(ledger.fed)})")
    print(f"outcomes {dict(sorted(run.outcomes.items()))}")
    print(f"crashes {len(run.crashes)}")
    for crash in run.crashes[:20]:
        print("  " + crash)
    print(f"messages lost {lost}")
    return 1 if run.crashes or lost else 0


if __name__ == "__main__":
    sys.exit(main())
