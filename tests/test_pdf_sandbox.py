"""The warm PDF sandbox: one zygote, a fresh process per job, isolation kept, no leftovers.

Real PDFs and real processes: the zygote is started, cloned, killed and restarted for
real, and each assertion names a process that must (or must no longer) exist.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas

from parsers import pdf_sandbox
from parsers.pdf import PdfLimits, pdf_form_fields, read_pdf, render_pages
from tests.test_attachments import _flate_bomb

BOMB_GIANT = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "pdf" / "pdfjs" / "bomb_giant.pdf"
PROJECT = Path(__file__).resolve().parents[1]


def text_pdf(*pages: str) -> bytes:
    """ASCII text pages in a standard font: no font file needed."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    for text in pages:
        pdf.drawString(72, 720, text)
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def form_pdf(value: str) -> bytes:
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    pdf.drawString(72, 760, "A form with one field and enough text to need no OCR at all.")
    pdf.acroForm.textfield(name="requester", x=72, y=600, value=value)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def gone(pid: int) -> bool:
    """Neither running nor a zombie: the process was reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def dead(pid: int) -> bool:
    """Exited: reaped, or a zombie waiting for a parent other than us."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def our_zygotes() -> list[int]:
    """Zygote processes whose parent is this test process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"_zygote_main" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def fresh_sandbox() -> Iterator[None]:
    pdf_sandbox.close()
    yield
    pdf_sandbox.close()


ONE = text_pdf("The first document says hello from page one.")
TWO = text_pdf("Second document, page one, with some words.", "Second document, page two, more words.")


def test_the_second_read_reuses_the_zygote_and_each_job_is_a_fresh_process() -> None:
    assert pdf_sandbox.zygote_pid() is None
    first = read_pdf(ONE)
    zygote = pdf_sandbox.zygote_pid()
    assert zygote is not None
    second = read_pdf(TWO)
    assert pdf_sandbox.zygote_pid() == zygote
    assert [p.text for p in first.pages] == ["The first document says hello from page one."]
    assert [p.text for p in second.pages] == [
        "Second document, page one, with some words.",
        "Second document, page two, more words.",
    ]
    jobs = pdf_sandbox.recent_job_pids()[-2:]
    assert len(set(jobs)) == 2 and zygote not in jobs
    assert all(gone(pid) for pid in jobs)  # exited, and reaped by us: they were our children
    assert len(os.listdir(f"/proc/{zygote}/task")) == 1  # the zygote is single-threaded


def test_a_killed_zygote_is_replaced_transparently() -> None:
    read_pdf(ONE)
    zygote = pdf_sandbox.zygote_pid()
    assert zygote is not None
    os.kill(zygote, signal.SIGKILL)
    assert wait_until(lambda: pdf_sandbox.zygote_pid() is None)
    again = read_pdf(TWO)
    assert again.error is None and [p.number for p in again.pages] == [1, 2]
    assert again.pages[1].text == "Second document, page two, more words."
    assert pdf_sandbox.zygote_pid() not in (None, zygote)


def test_a_job_that_times_out_is_killed_and_the_next_read_works() -> None:
    read_pdf(ONE)
    zygote = pdf_sandbox.zygote_pid()
    started = time.monotonic()
    slow = read_pdf(_flate_bomb(), PdfLimits(timeout_seconds=0.1))  # inflating it takes over a second
    assert slow.error == "timeout"
    assert time.monotonic() - started < 3
    assert gone(pdf_sandbox.recent_job_pids()[-1])
    assert read_pdf(ONE).pages[0].text == "The first document says hello from page one."
    assert pdf_sandbox.zygote_pid() == zygote


def test_a_job_that_crashes_makes_that_pdf_unreadable_only() -> None:
    outcome: list[object] = []
    reader = threading.Thread(target=lambda: outcome.append(read_pdf(_flate_bomb())))
    reader.start()
    assert wait_until(lambda: bool(pdf_sandbox.running_job_pids()))
    victim = pdf_sandbox.running_job_pids()[0]
    os.kill(victim, signal.SIGSEGV)
    reader.join(30)
    assert [getattr(c, "error", None) for c in outcome] == ["crashed"]
    assert gone(victim)
    assert read_pdf(TWO).pages[0].text == "Second document, page one, with some words."


def test_an_answer_beyond_the_size_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_sandbox, "MAX_OUTPUT", 500)
    scan = read_pdf(text_pdf(""))  # no text: the page comes back as a PNG, well over 500 bytes
    assert scan.error == "crashed" and scan.pages == ()
    monkeypatch.undo()
    assert read_pdf(text_pdf("")).pages[0].image_png is not None


_PEAK_JOB_MEMORY = """
import resource, sys
from parsers import pdf_sandbox
from parsers.pdf import PdfLimits, read_pdf
from tests.test_attachments import _flate_bomb
content = read_pdf(_flate_bomb(), PdfLimits(max_memory_bytes=int(sys.argv[1])))
print(pdf_sandbox.zygote_pid() is not None, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
"""


def _peak_job_megabytes(memory_limit: int) -> int:
    """Read a 400 MB flate bomb in a fresh bot; the peak RSS of its (warm) job, in MB."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_JOB_MEMORY, str(memory_limit)], capture_output=True, timeout=60, cwd=PROJECT,
        check=True,
    )  # fmt: skip
    warm, megabytes = done.stdout.split()
    assert warm == b"True"
    return int(megabytes)


@pytest.mark.slow
def test_the_memory_limit_still_holds_the_bomb_in_a_warm_job() -> None:
    assert _peak_job_megabytes(2 << 30) > 400  # unlimited, the job really inflates it
    assert _peak_job_megabytes(256 << 20) < 250  # limited, the allocation fails
    started = time.monotonic()
    held = read_pdf(_flate_bomb(), PdfLimits(max_memory_bytes=256 << 20))
    assert time.monotonic() - started < 10
    assert held.error is None and held.pages[0].text == ""
    assert read_pdf(ONE).error is None


@pytest.mark.skipif(not BOMB_GIANT.is_file(), reason="shared PDF corpus not found")
def test_the_corpus_bomb_is_stopped_and_harms_nothing() -> None:
    read_pdf(ONE)
    zygote = pdf_sandbox.zygote_pid()
    started = time.monotonic()
    bomb = read_pdf(BOMB_GIANT.read_bytes(), PdfLimits(timeout_seconds=30))
    assert time.monotonic() - started < 30
    assert bomb.pages == () or all(p.image_png is None for p in bomb.pages)  # its page was not rendered
    assert pdf_sandbox.zygote_pid() == zygote
    assert read_pdf(ONE).error is None


def test_concurrent_calls_from_four_threads_each_get_their_own_answer() -> None:
    def work(worker: int) -> list[str]:
        out = []
        for i in range(5):
            if worker == 3 and i % 2:
                fields = pdf_form_fields(form_pdf(f"worker {worker} call {i}"))
                out.append(fields.get("requester", "?"))
            elif worker == 2 and i == 4:
                rendered = render_pages(text_pdf(f"worker {worker} call {i}"), PdfLimits(), {})
                out.append(f"rendered {len(rendered or [])}")
            else:
                content = read_pdf(text_pdf(f"worker {worker} call {i}", f"page two of {worker}/{i}"))
                out.append(" | ".join(p.text for p in content.pages))
        return out

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(4)))
    for worker, got in enumerate(results):
        expected = [f"worker {worker} call {i} | page two of {worker}/{i}" for i in range(5)]
        if worker == 3:
            expected[1], expected[3] = "worker 3 call 1", "worker 3 call 3"
        if worker == 2:
            expected[4] = "rendered 1"
        assert got == expected
    assert len(set(pdf_sandbox.recent_job_pids()[-20:])) == 20
    assert len(our_zygotes()) == 1


def test_closing_leaves_no_process_behind() -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(read_pdf, [ONE, TWO, ONE]))
    zygote = pdf_sandbox.zygote_pid()
    jobs = pdf_sandbox.recent_job_pids()[-3:]
    assert zygote is not None and our_zygotes() == [zygote]
    pdf_sandbox.close()
    assert pdf_sandbox.zygote_pid() is None
    assert gone(zygote) and all(gone(pid) for pid in jobs)
    assert our_zygotes() == []


_DIE_AFTER_A_READ = """
import os, sys
from parsers import pdf_sandbox
from parsers.pdf import read_pdf
content = read_pdf(sys.stdin.buffer.read())
print(content.pages[0].text, pdf_sandbox.zygote_pid(), flush=True)
if sys.argv[1] == "crash":
    os.kill(os.getpid(), 9)  # no atexit: the zygote must leave on EOF
"""


@pytest.mark.parametrize("ending", ["exit", "crash"])
def test_the_zygote_leaves_with_the_bot(ending: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _DIE_AFTER_A_READ, ending], input=ONE, capture_output=True, timeout=60, cwd=PROJECT,
    )  # fmt: skip
    text, zygote = done.stdout.decode().rsplit(" ", 1)
    assert text == "The first document says hello from page one."
    assert wait_until(lambda: dead(int(zygote)), 10)


def test_without_the_zygote_jobs_run_in_cold_children(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_sandbox, "WARM", False)
    before = len(pdf_sandbox.recent_job_pids())
    assert read_pdf(TWO).pages[1].text == "Second document, page two, more words."
    assert pdf_sandbox.zygote_pid() is None and len(pdf_sandbox.recent_job_pids()) == before


def test_a_zygote_that_cannot_start_falls_back_to_cold_children(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = pdf_sandbox._Zygote()
    monkeypatch.setattr(pdf_sandbox, "_ZYGOTE", broken)
    monkeypatch.setattr(pdf_sandbox, "_ZYGOTE_COMMAND", "import sys; sys.exit(3)")
    try:
        started = time.monotonic()
        assert read_pdf(ONE).pages[0].text == "The first document says hello from page one."
        assert read_pdf(TWO).error is None
        assert broken.pid() is None and list(broken.job_pids) == []
        assert time.monotonic() - started < 10  # the second call did not wait for another start
    finally:
        broken.close()
