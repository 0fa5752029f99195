"""The processes that read untrusted PDFs for parsers.pdf: a warm zygote, or a cold child.

A cold child (`python -c`, importing pdfplumber, pypdf, pypdfium2 and Pillow) spends ~220 ms
starting for ~30 ms of reading, so a long-lived zygote pays the imports once and makes one
fresh process per job by cloning itself (~1 ms). Each job still runs in a process of its
own, under its own rlimits and the caller's wall-clock timeout, and dies afterwards: a
hostile PDF cannot leave anything behind for the next one.

The bot is multithreaded, so it never forks: it starts the zygote like the cold child (no
fork of the bot), and only the zygote, single-threaded by construction (checked before
every clone), copies itself. It clones with CLONE_PARENT, not os.fork(), so that each job
is a child of the bot rather than of the zygote: the bot reaps it itself (its exit status
tells a crash; its rusage counts in RUSAGE_CHILDREN as the cold child's did), and can kill
it on timeout by pid without a reuse race, since an unreaped child's pid cannot be
recycled. The job announces its pid on its socket before it reads the PDF. CLONE_PARENT
has no os.fork() equivalent, hence the raw clone syscall wrapped in the interpreter's own
fork hooks (PyOS_BeforeFork and AfterFork), which is what os.fork() does around fork().

The zygote only ever sees a one-byte request carrying a socket; the PDF goes straight to the
job over that socket, so the zygote never touches hostile bytes. It exits on EOF of its
control socket (the bot exited or closed it). A zygote that dies is restarted on the next
job; one that cannot start or cannot clone (another platform, a seccomp policy) leaves the
jobs to the cold child. Answers use the same length-prefixed frames with the same size
cap either way, never pickle: a compromised job must not be able to run code in the bot.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import ctypes
import gc
import json
import logging
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

WARM = True  # False: every job in a cold child interpreter, as before the zygote

MAX_OUTPUT = 256 * 1024 * 1024  # bytes of answer read from one job
_PROJECT_ROOT = str(Path(__file__).resolve().parents[1])
_CHILD_COMMAND = "from parsers.pdf_sandbox import _child_main; _child_main()"
_ZYGOTE_COMMAND = "from parsers.pdf_sandbox import _zygote_main; _zygote_main()"
_START_SECONDS = 30.0  # for the zygote to import the PDF libraries and say it is ready
_SPAWN_SECONDS = 10.0  # for a job to announce its pid; longer means the zygote is stuck
_RETRY_AFTER_SECONDS = 60.0  # cold children meanwhile, after the zygote failed
_CLONE_PARENT = 0x00008000
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}  # clone(flags, stack=0, …) is fork(); elsewhere cold
_READY, _UNSUPPORTED = b"R", b"U"
_TIMEOUT: tuple[str, bytes] = ("timeout", b"")
_CRASHED: tuple[str, bytes] = ("crashed", b"")


def run(payload: bytes, timeout: float) -> tuple[dict[str, Any], list[bytes]]:
    """Have a fresh process answer `payload`; ({'status': 'error', 'reason': …}, []) when it
    times out ('timeout'), crashes or answers garbage ('crashed'), or cannot start."""
    outcome = _ZYGOTE.run(payload, timeout) if WARM else None
    if outcome is None:
        outcome = _run_cold(payload, timeout)
    kind, raw = outcome
    if kind != "answer":
        return {"status": "error", "reason": kind}, []
    return parse_frames(raw)


def close() -> None:
    """Kill running jobs and stop the zygote (it restarts on the next job); also at exit."""
    _ZYGOTE.close()


def zygote_pid() -> int | None:
    """The running zygote's pid, None when there is none (not started yet, or cold mode)."""
    return _ZYGOTE.pid()


def recent_job_pids() -> list[int]:
    """Pids of the last jobs the zygote made, oldest first (diagnostics and tests)."""
    return list(_ZYGOTE.job_pids)


def running_job_pids() -> list[int]:
    """Pids of the zygote jobs running now."""
    return _ZYGOTE.running()


def parse_frames(raw: bytes) -> tuple[dict[str, Any], list[bytes]]:
    """A job's answer: length-prefixed frames, a JSON header first, then the blobs."""
    frames = []
    pos = 0
    while pos + 8 <= len(raw):
        length = int.from_bytes(raw[pos : pos + 8], "big")
        frames.append(raw[pos + 8 : pos + 8 + length])
        pos += 8 + length
    try:
        header = json.loads(frames[0]) if frames else {}
    except ValueError:
        header = {}
    if not isinstance(header, dict) or len(frames) - 1 != header.get("blobs", 0):
        return {"status": "error", "reason": "crashed"}, []
    return header, frames[1:]


def child_env() -> dict[str, str]:
    """The environment of a helper interpreter run as `python -c`: this one's, with the
    project importable (the bot may run from a checkout, not an installed package)."""
    paths = [_PROJECT_ROOT, *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))


# --------------------------------------------------------------------------- cold child


def _run_cold(payload: bytes, timeout: float) -> tuple[str, bytes]:
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD_COMMAND],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=child_env(),
            close_fds=True,
        )  # fmt: skip
    except OSError as exc:
        log.warning("PDF sandbox could not start: %s", type(exc).__name__)
        return "sandbox_unavailable", b""
    with proc:  # closes the pipes and reaps the child
        try:
            raw = _exchange_pipes(proc, payload, time.monotonic() + timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
    if raw is None:
        return _TIMEOUT
    return ("answer", raw) if proc.returncode == 0 else _CRASHED


def _exchange_pipes(proc: subprocess.Popen[bytes], payload: bytes, deadline: float) -> bytes | None:
    """Feed the request, collect the answer: None on timeout, b'' (then killed) beyond the cap."""
    assert proc.stdin is not None and proc.stdout is not None
    writer = threading.Thread(target=_feed, args=(proc.stdin, payload), daemon=True)
    writer.start()
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return None
            chunk = os.read(proc.stdout.fileno(), 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_OUTPUT:
                return b""
    try:
        proc.wait(max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return None
    return b"".join(chunks)


def _feed(stream: IO[bytes], payload: bytes) -> None:
    try:
        stream.write(payload)
        stream.close()
    except OSError:
        pass  # the child died or stopped reading: its exit code tells


def _child_main() -> None:
    """Entry point of the cold child: the request on stdin, the frames on stdout."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints must not mix with the answer
    _quiet()
    from parsers.pdf import _answer

    for frame in _answer(sys.stdin.buffer.read()):
        out.write(len(frame).to_bytes(8, "big"))
        out.write(frame)
    out.flush()


def _quiet() -> None:
    logging.disable(logging.CRITICAL)  # parser warnings quote bytes of the document
    warnings.simplefilter("ignore")


# --------------------------------------------------------------------------- warm zygote


class _Zygote:
    """The bot's side of the zygote: start it lazily, ask it for jobs, talk to the jobs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the zygote, its control socket, the retry state
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._retry_at = 0.0
        self._disabled = not (sys.platform == "linux" and os.uname().machine in _SYS_CLONE)
        self._running: set[int] = set()  # job pids not yet reaped
        self._running_lock = threading.Lock()
        self.job_pids: collections.deque[int] = collections.deque(maxlen=64)

    def pid(self) -> int | None:
        with self._lock:
            return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def running(self) -> list[int]:
        with self._running_lock:
            return sorted(self._running)

    def run(self, payload: bytes, timeout: float) -> tuple[str, bytes] | None:
        """The job's outcome, or None when the zygote is not available (use a cold child)."""
        job = self._spawn()
        if job is None:
            return None
        sock, pid = job
        pidfd: int | None = None
        try:
            with self._running_lock:
                self._running.add(pid)
            self.job_pids.append(pid)
            pidfd = _pidfd_open(pid)
            deadline = time.monotonic() + timeout
            raw = _exchange_socket(sock, payload, deadline)
            sock.close()  # a job still writing gets EPIPE
            complete = raw is not None and len(raw) <= MAX_OUTPUT  # beyond the cap: killed below
            if complete and not _wait_exit(pid, pidfd, max(deadline, time.monotonic() + 0.1)):
                raw = None
        finally:
            sock.close()
            code = self._reap(pid)
            if pidfd is not None:
                os.close(pidfd)
        if raw is None:
            return _TIMEOUT
        return ("answer", raw) if code == 0 and len(raw) <= MAX_OUTPUT else _CRASHED

    def close(self) -> None:
        with self._running_lock:
            for pid in self._running:
                _kill(pid)
        with self._lock:
            self._stop_locked()
            self._retry_at = 0.0

    def forget(self) -> None:
        """In a forked copy of the bot: drop the parent's zygote, keep nothing locked."""
        self._lock = threading.Lock()
        self._running_lock = threading.Lock()
        self._running = set()
        if self._control is not None:
            self._control.close()  # else the zygote would wait for this copy to exit too
        self._proc, self._control = None, None

    def _spawn(self) -> tuple[socket.socket, int] | None:
        with self._lock:
            for _ in range(2):
                if not self._start_locked():
                    return None
                job = self._request_locked()
                if job is not None:
                    return job
                self._stop_locked()  # it did not clone: a fresh zygote gets one more try
            log.warning("PDF zygote failed twice; cold children for %.0f s", _RETRY_AFTER_SECONDS)
            self._retry_at = time.monotonic() + _RETRY_AFTER_SECONDS
            return None

    def _start_locked(self) -> bool:
        if self._proc is not None and self._proc.poll() is None:
            return True
        self._stop_locked()  # it died (killed, OOM): reap it and start another
        if self._disabled or time.monotonic() < self._retry_at:
            return False
        ours, theirs = socket.socketpair()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _ZYGOTE_COMMAND],
                stdin=theirs.fileno(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env(),
                close_fds=True, start_new_session=True,  # no terminal signals: it ends on EOF
            )  # fmt: skip
        except OSError as exc:
            ours.close()
            log.warning("PDF zygote could not start (%s); cold children", type(exc).__name__)
            self._retry_at = time.monotonic() + _RETRY_AFTER_SECONDS
            return False
        finally:
            theirs.close()
        self._proc, self._control = proc, ours
        ours.settimeout(_START_SECONDS)
        try:
            ready = ours.recv(1)
        except OSError:
            ready = b""
        if ready == _READY:
            ours.settimeout(_SPAWN_SECONDS)
            return True
        self._stop_locked()
        if ready == _UNSUPPORTED:
            self._disabled = True
            log.warning("PDF zygote cannot clone here; cold children")
        else:
            log.warning("PDF zygote did not start; cold children for %.0f s", _RETRY_AFTER_SECONDS)
            self._retry_at = time.monotonic() + _RETRY_AFTER_SECONDS
        return False

    def _request_locked(self) -> tuple[socket.socket, int] | None:
        """Pass the zygote one end of a fresh socket; the job it clones says its pid on it."""
        assert self._control is not None
        ours, theirs = socket.socketpair()
        try:
            socket.send_fds(self._control, [b"J"], [theirs.fileno()])
        except OSError:
            ours.close()
            return None
        finally:
            theirs.close()
        ours.settimeout(_SPAWN_SECONDS)
        announced = b""
        try:
            while len(announced) < 4:
                chunk = ours.recv(4 - len(announced))
                if not chunk:
                    break
                announced += chunk
        except OSError:
            pass
        pid = int.from_bytes(announced, "big") if len(announced) == 4 else 0
        if pid <= 0:
            ours.close()
            return None
        ours.setblocking(False)
        return ours, pid

    def _stop_locked(self) -> None:
        if self._control is not None:
            self._control.close()  # EOF: the zygote leaves by itself
        proc, self._proc, self._control = self._proc, None, None
        if proc is None:
            return
        try:
            proc.wait(2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _reap(self, pid: int) -> int | None:
        """Kill the job if it still runs and reap it: its exit code, None when unknown."""
        with self._running_lock:
            self._running.discard(pid)  # before the reap: close() must not signal a reused pid
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == 0:
                _kill(pid)
                done, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return None  # someone else reaped it: its outcome is unknown
        return os.waitstatus_to_exitcode(status)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _pidfd_open(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None  # Linux before 5.3: poll the exit instead


def _wait_exit(pid: int, pidfd: int | None, deadline: float) -> bool:
    """Whether the job has exited (it closed its socket) before the deadline; not reaped."""
    while True:
        remaining = deadline - time.monotonic()
        if pidfd is not None:
            return remaining > 0 and bool(select.select([pidfd], [], [], remaining)[0])
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return True
        if remaining <= 0:
            return False
        time.sleep(min(0.005, remaining))


def _exchange_socket(sock: socket.socket, payload: bytes, deadline: float) -> bytes | None:
    """Send the request, then EOF; read the answer up to EOF: None on timeout, stopping
    one byte beyond the cap (the caller then calls it a crash)."""
    view = memoryview(payload)
    sent = 0
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            events = selector.select(remaining)
            if not events:
                return None
            mask = events[0][1]
            if mask & selectors.EVENT_WRITE:
                try:
                    sent += sock.send(view[sent : sent + (1 << 20)])
                except BlockingIOError:
                    pass
                except OSError:
                    sent = len(view)  # the job stopped reading: its answer or exit code tells
                if sent >= len(view):
                    _shutdown_write(sock)
                    selector.modify(sock, selectors.EVENT_READ)
            if mask & selectors.EVENT_READ:
                try:
                    chunk = sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_OUTPUT:
                    return b"".join(chunks)[: MAX_OUTPUT + 1]


def _shutdown_write(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


# --------------------------------------------------------------------------- inside the zygote


class _Cloner:
    """clone(CLONE_PARENT | SIGCHLD) with fork() semantics, inside the interpreter's fork
    hooks. Called through PyDLL, which keeps the GIL, as os.fork() keeps it."""

    def __init__(self, number: int) -> None:
        api = ctypes.pythonapi
        self._before, self._child = api.PyOS_BeforeFork, api.PyOS_AfterFork_Child
        self._parent = api.PyOS_AfterFork_Parent
        for hook in (self._before, self._child, self._parent):
            hook.argtypes, hook.restype = [], None
        self._syscall = ctypes.PyDLL(None, use_errno=True).syscall
        self._syscall.restype = ctypes.c_long
        self._args = (ctypes.c_long(number), ctypes.c_long(_CLONE_PARENT | signal.SIGCHLD), *[ctypes.c_long(0)] * 4)

    def __call__(self) -> int:
        if len(os.listdir("/proc/self/task")) != 1:
            raise OSError("the zygote has threads: it must not fork")
        self._before()
        pid = int(self._syscall(*self._args))
        if pid == 0:
            self._child()
            return 0
        error = ctypes.get_errno()
        self._parent()
        if pid < 0:
            raise OSError(error, os.strerror(error))
        return pid


def _zygote_main() -> None:
    """Entry point of the zygote: preload, then one job per request until EOF on stdin."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control = socket.socket(fileno=0)
    _quiet()
    from parsers.pdf import _preload

    _preload()
    gc.freeze()  # keep the collector off the preloaded objects: fewer pages copied per job
    try:
        clone = _Cloner(_SYS_CLONE[os.uname().machine])
        clone_ok = len(os.listdir("/proc/self/task")) == 1 and threading.active_count() == 1
    except (KeyError, AttributeError, OSError):
        clone_ok = False
    if not clone_ok:
        control.sendall(_UNSUPPORTED)
        return
    control.sendall(_READY)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1, 4)
        except OSError:
            return
        if not message:
            return  # the bot is gone or closed us
        for extra in fds[1:]:
            os.close(extra)
        if not fds:
            continue
        try:
            pid = clone()
        except OSError:
            pid = -1  # the bot sees the job's socket close without a pid
        if pid == 0:
            _job_main(control, fds[0])
        os.close(fds[0])


def _job_main(control: socket.socket, fd: int) -> None:
    """A job, cloned from the zygote: say our pid, read the request to EOF, answer, exit."""
    code = 1
    try:
        control.close()  # the zygote's channel is not ours
        sock = socket.socket(fileno=fd)
        sock.sendall(os.getpid().to_bytes(4, "big"))
        chunks = []
        while chunk := sock.recv(1 << 20):
            chunks.append(chunk)
        from parsers.pdf import _answer

        for frame in _answer(b"".join(chunks)):
            sock.sendall(len(frame).to_bytes(8, "big"))
            sock.sendall(frame)
        code = 0
    finally:
        os._exit(code)  # whatever happened, never back into the zygote's loop


_ZYGOTE = _Zygote()
atexit.register(_ZYGOTE.close)
os.register_at_fork(after_in_child=_ZYGOTE.forget)
