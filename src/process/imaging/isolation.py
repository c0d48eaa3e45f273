"""One job in a forked child, where the operating system enforces its limits.

The work budget (budget.py) forecasts a job from what the file declares; a decoder can do work the file does
not declare (a grid's hidden tiles, a progressive JPEG's extra scans), spin on a bug or crash. So the job
runs in a child of this process, forked with os.fork and answering through a pipe (Lambda has no /dev/shm,
so multiprocessing's pools and queues do not work there), under limits the kernel enforces:

- memory: the child's address space (RLIMIT_AS) may grow by `Limits.memory_bytes` beyond what it inherits;
  past it an allocation fails (MemoryError, or a C library's own error) and the job ends image_too_complex;
- CPU: RLIMIT_CPU at `Limits.cpu_seconds` (all threads together); the kernel stops the child (SIGXCPU,
  then SIGKILL a second later) and the job ends image_too_complex;
- wall clock: the parent waits for the answer until the deadline, then kills the child: processing_timeout.

A child that dies of a signal (a decoder's segfault) ends the job corrupt_image. Whatever happens, this
process, which must still record the outcome, has lost nothing: the next job forks afresh from it.

The child is a warm worker: forked at the first job, it serves the next ones over its pipes, so a job reuses
memory the worker has already touched instead of faulting in a new child's (that was most of a child's cost,
bench/bench_isolation.py). Before each job the worker sets its own limits for that job: RLIMIT_CPU's soft
limit to the CPU it has used so far plus the job's seconds, RLIMIT_AS to its address space at the fork plus
the job's bytes. A worker that reached a limit, crashed, raised something other than a rejection, or grew
by more than a quarter of its memory allowance is gone after that job; the next job forks a fresh one. It
serves only the function it was forked for while this package's functions are the ones it was forked with
(a test that replaces a decoder gets a new worker); reset() ends it explicitly. A second thread that calls
run() while the worker is busy (the local stack) gets a child of its own, as does run(fresh=True).
"""

import faulthandler
import fcntl
import math
import os
import pickle
import resource
import select
import signal
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import CorruptImage, ImageRejected, ImageTooComplex, ProcessingTimeout

T = TypeVar("T")

_READ_BYTES = 1 << 20
# Exit codes of a child that could not send its answer.
_EXIT_OUT_OF_MEMORY = 3
_EXIT_UNSENT = 4
# Signals the kernel sends for RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard one.
_CPU_SIGNALS = (signal.SIGXCPU, signal.SIGKILL)
# A frame on the worker's pipes: its length, then a pickle.
_LENGTH = struct.Struct("<Q")
# The worker retires after a job that left its address space this share of the memory allowance above
# where it started (fragmentation would otherwise eat into the next job's allowance).
_RETIRE_GROWTH = 0.25
# Held from making a child's pipes until this process has closed the child's ends: a child forked by another
# thread in between would inherit those ends, and a warm worker keeps them open for good, so the first
# child's answer would never reach its end of file and its job would wait for the deadline.
_forking = threading.Lock()


@dataclass(frozen=True)
class Limits:
    """What one job may use; None leaves that resource unlimited (the deadline still applies)."""

    memory_bytes: int | None = None  # address space the child may add to what it inherits
    cpu_seconds: float | None = None  # CPU time, all the child's threads together


class ChildFailed(RuntimeError):
    """The job raised something other than a rejection: a bug, reported with the child's traceback."""


def _address_space() -> int | None:
    """This process's address space (VmSize) in bytes, or None where /proc does not tell (not Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _lower(limit: int, soft: int, hard: int) -> None:
    """Set a limit no higher than it already is (an unprivileged process cannot raise its hard limit)."""
    _, current = resource.getrlimit(limit)
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(limit, (soft, hard))


def _apply(limits: Limits) -> None:
    # A crash is an outcome the parent reports: no core file, and no traceback dump from a faulthandler
    # the parent enabled (pytest's).
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    faulthandler.disable()
    inherited = _address_space()
    if limits.memory_bytes is not None and inherited is not None:
        _lower(resource.RLIMIT_AS, inherited + limits.memory_bytes, inherited + limits.memory_bytes)
    if limits.cpu_seconds is not None:
        seconds = max(1, math.ceil(limits.cpu_seconds))
        _lower(resource.RLIMIT_CPU, seconds, seconds + 1)  # SIGXCPU, then SIGKILL should it be caught


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def _child(fd: int, function: Callable[..., T], args: tuple, limits: Limits) -> None:
    """Run the job and send (kind, value) through fd; never returns."""
    code = _EXIT_UNSENT
    try:
        _apply(limits)
        try:
            outcome = ("done", function(*args))
        except ImageRejected as rejection:
            outcome = ("rejected", rejection)
        except MemoryError:
            outcome = ("memory", None)
        except BaseException as error:  # noqa: BLE001 - a bug: its report goes to the parent, which raises it
            outcome = ("error", "".join(traceback.format_exception(error)))
        _write_all(fd, pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
        code = 0
    except MemoryError:
        code = _EXIT_OUT_OF_MEMORY
    finally:
        os._exit(code)  # no atexit handlers, no flushing of buffers the parent owns


def _too_complex(what: str) -> ImageTooComplex:
    return ImageTooComplex(
        f"Processing the image needed more {what} than processing has. Upload a smaller or simpler image "
        "(a JPEG or PNG export of it), and try again."
    )


def _timeout() -> ProcessingTimeout:
    return ProcessingTimeout(
        "Processing did not finish in the time it has. Upload a smaller image, or fewer frames, and try again."
    )


def _read_chunk(fd: int, deadline: float | None) -> bytes | None:
    """The pipe's next chunk, b"" at its end, or None when the deadline comes first."""
    while True:
        wait = None if deadline is None else deadline - time.monotonic()
        if wait is not None and wait <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], wait)
        if ready:
            return os.read(fd, _READ_BYTES)


def _receive(fd: int, pid: int, deadline: float | None) -> bytes | None:
    """The child's whole answer, or None when the deadline came first (the child is then killed)."""
    chunks = []
    while True:
        chunk = _read_chunk(fd, deadline)
        if chunk is None:
            os.kill(pid, signal.SIGKILL)
            return None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _outcome(payload: bytes | None, status: int, used: float, limits: Limits) -> T:
    """The job's result from a one-off child's answer and exit status; used: the job's CPU seconds."""
    if payload is None:
        raise _timeout()
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and payload:
        return _answer(*pickle.loads(payload))
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _EXIT_OUT_OF_MEMORY:
        raise _too_complex("memory")
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number in _CPU_SIGNALS and limits.cpu_seconds is not None and used >= limits.cpu_seconds - 0.5:
            raise _too_complex("CPU time")
        if number == signal.SIGKILL:
            # Not the CPU limit: the kernel's out-of-memory killer, which picks the largest process.
            raise _too_complex("memory")
        raise CorruptImage(
            f"The image decoder stopped abnormally on this file ({signal.Signals(number).name}): it is damaged, or "
            "unusual in a way the decoder cannot handle. Re-export the image as JPEG or PNG and upload it again."
        )
    raise ChildFailed(f"the job's child process ended with status {status} without an answer")


def _answer(kind: str, value) -> T:
    if kind == "done":
        return value
    if kind == "rejected":
        raise value
    if kind == "memory":
        raise _too_complex("memory")
    raise ChildFailed(f"the job failed in its child process:\n{value}")


def run(function: Callable[..., T], *args, limits: Limits, deadline: float | None, fresh: bool = False) -> T:
    """function(*args) in a forked child under `limits`, answered by the deadline (time.monotonic() seconds).

    Returns what it returns and raises the ImageRejected it raises; a limit reached is ImageTooComplex or
    ProcessingTimeout, a crash CorruptImage, any other exception ChildFailed. The child is the warm worker
    (module docstring); fresh=True, or the worker busy with another thread's job, forks one for this job only.
    """
    if deadline is not None and deadline <= time.monotonic():
        raise _timeout()
    if not fresh and _lock.acquire(blocking=False):
        try:
            return _run_in_worker(function, args, limits, deadline)
        finally:
            _lock.release()
    return _run_forked(function, args, limits, deadline)


def _run_forked(function: Callable[..., T], args: tuple, limits: Limits, deadline: float | None) -> T:
    with _forking:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _child(write_end, function, args, limits)
        os.close(write_end)
    try:
        payload = _receive(read_end, pid, deadline)
    except BaseException:
        os.kill(pid, signal.SIGKILL)  # interrupted here: the child must not outlive the wait
        raise
    finally:
        os.close(read_end)
        _, status, usage = os.wait4(pid, 0)
    return _outcome(payload, status, _cpu(usage), limits)


# --- The warm worker -------------------------------------------------------------------------------------


@dataclass
class _Worker:
    pid: int
    jobs: int  # this process writes jobs here
    answers: int  # and reads the answers here
    function: Callable
    package: tuple  # this package's functions when it was forked
    cpu: float = 0.0  # the worker's CPU seconds when its current job began, as it last said


_lock = threading.Lock()
_worker: _Worker | None = None


def _package_functions() -> tuple:
    """Every callable in this package's modules, in a fixed order: a replaced one changes the tuple."""
    package = __name__.rpartition(".")[0]
    return tuple(
        value
        for name, module in list(sys.modules.items())
        if module is not None and (name == package or name.startswith(package + "."))
        for value in vars(module).values()
        if callable(value)
    )


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def reset() -> None:
    """End the warm worker (the next job forks a fresh one): after changing what a job would run."""
    with _lock:
        _stop()


def _stop(kill: bool = True) -> tuple[int, float]:
    """Kill (unless it died by itself) and reap the worker; its exit status and total CPU seconds."""
    global _worker
    worker, _worker = _worker, None
    if worker is None:
        return 0, 0.0
    os.close(worker.jobs)
    os.close(worker.answers)
    if kill:
        os.kill(worker.pid, signal.SIGKILL)  # a zombie until reaped: the pid is still this worker's
    _, status, usage = os.wait4(worker.pid, 0)
    return status, _cpu(usage)


def _write_frame(fd: int, payload: bytes) -> None:
    _write_all(fd, _LENGTH.pack(len(payload)))
    _write_all(fd, payload)


def _read_exactly(fd: int, size: int) -> bytes | None:
    """size bytes from fd (a blocking read), or None at end of file."""
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, _READ_BYTES))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _serve(jobs: int, answers: int, function: Callable) -> None:
    """The worker's loop: a job (args, limits) in, (kind, value, cpu, retire) out; never returns."""
    code = _EXIT_UNSENT
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        faulthandler.disable()
        started = _address_space()
        while True:
            header = _read_exactly(jobs, _LENGTH.size)
            if header is None:
                code = 0  # the handler's process has gone, or ended the worker
                break
            args, limits = pickle.loads(_read_exactly(jobs, _LENGTH.unpack(header)[0]))
            _limit_job(limits, started)
            try:
                kind, value = "done", function(*args)
            except ImageRejected as rejection:
                kind, value = "rejected", rejection
            except MemoryError:
                kind, value = "memory", None
            except BaseException as error:  # noqa: BLE001 - a bug: its report goes to the parent, which raises it
                kind, value = "error", "".join(traceback.format_exception(error))
            grown = (_address_space() or 0) - (started or 0)
            retire = kind in ("memory", "error") or (
                limits.memory_bytes is not None and grown > limits.memory_bytes * _RETIRE_GROWTH)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            _write_frame(answers, pickle.dumps((kind, value, _cpu(usage), retire), protocol=pickle.HIGHEST_PROTOCOL))
            if retire:
                code = 0
                break
    except MemoryError:
        code = _EXIT_OUT_OF_MEMORY
    finally:
        os._exit(code)


def _limit_job(limits: Limits, started: int | None) -> None:
    """This job's limits, set by the worker on itself: soft limits it may raise again for the next job."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = hard
    if limits.memory_bytes is not None and started is not None:
        soft = started + limits.memory_bytes
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = hard
    if limits.cpu_seconds is not None:
        used = _cpu(resource.getrusage(resource.RUSAGE_SELF))
        soft = math.ceil(used + max(1.0, limits.cpu_seconds))
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))  # SIGXCPU at the soft limit ends the worker


def _widen(fd: int) -> None:
    """A pipe as wide as the system allows: a job's megabytes cross it in fewer writes and wake-ups."""
    try:
        with open("/proc/sys/fs/pipe-max-size") as limit:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, int(limit.read()))
    except (OSError, ValueError, AttributeError):
        pass  # not Linux, or a limit this process may not use: the default width works, a little slower


def _fork_worker(function: Callable, package: tuple) -> _Worker:
    with _forking:
        jobs_read, jobs_write = os.pipe()
        answers_read, answers_write = os.pipe()
        _widen(jobs_write)
        _widen(answers_write)
        pid = os.fork()
        if pid == 0:
            os.close(jobs_write)
            os.close(answers_read)
            _serve(jobs_read, answers_write, function)
        os.close(jobs_read)
        os.close(answers_write)
    return _Worker(pid, jobs_write, answers_read, function, package)


def _receive_frame(fd: int, deadline: float | None) -> bytes | None:
    """One answer frame; None at the deadline; b"" when the worker ended before answering in full."""
    buffer = bytearray()
    size = None
    while size is None or len(buffer) < _LENGTH.size + size:
        chunk = _read_chunk(fd, deadline)
        if chunk is None:
            return None
        if not chunk:
            return b""
        buffer += chunk
        if size is None and len(buffer) >= _LENGTH.size:
            size = _LENGTH.unpack_from(buffer)[0]
    return bytes(buffer[_LENGTH.size :])


def _run_in_worker(function: Callable[..., T], args: tuple, limits: Limits, deadline: float | None) -> T:
    global _worker
    package = _package_functions()
    if _worker is not None and (_worker.function is not function or not _same(_worker.package, package)):
        _stop()
    job = pickle.dumps((args, limits), protocol=pickle.HIGHEST_PROTOCOL)
    for attempt in (1, 2):
        if _worker is None:
            _worker = _fork_worker(function, package)
        try:
            _write_frame(_worker.jobs, job)
            break
        except BrokenPipeError:  # the worker had ended since its last job: fork a fresh one, once
            _stop()
            if attempt == 2:
                raise
    worker = _worker
    try:
        payload = _receive_frame(worker.answers, deadline)
    except BaseException:
        _stop()  # interrupted here: the worker must not outlive the wait
        raise
    if payload is None:
        _stop()
        raise _timeout()
    if not payload:  # the worker died in the job: a limit, a crash, or memory to answer
        status, total = _stop(kill=False)
        return _outcome(b"", status, total - worker.cpu, limits)
    kind, value, worker.cpu, retire = pickle.loads(payload)
    if retire:
        _stop()
    return _answer(kind, value)
