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
"""

import faulthandler
import math
import os
import pickle
import resource
import select
import signal
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


def _receive(fd: int, pid: int, deadline: float | None) -> bytes | None:
    """The child's whole answer, or None when the deadline came first (the child is then killed)."""
    chunks = []
    while True:
        wait = None if deadline is None else deadline - time.monotonic()
        if wait is not None and wait <= 0:
            os.kill(pid, signal.SIGKILL)
            return None
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            continue
        chunk = os.read(fd, _READ_BYTES)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _outcome(payload: bytes | None, status: int, usage: resource.struct_rusage, limits: Limits) -> T:
    if payload is None:
        raise _timeout()
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and payload:
        kind, value = pickle.loads(payload)
        if kind == "done":
            return value
        if kind == "rejected":
            raise value
        if kind == "memory":
            raise _too_complex("memory")
        raise ChildFailed(f"the job failed in its child process:\n{value}")
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _EXIT_OUT_OF_MEMORY:
        raise _too_complex("memory")
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        used = usage.ru_utime + usage.ru_stime
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


def run(function: Callable[..., T], *args, limits: Limits, deadline: float | None) -> T:
    """function(*args) in a forked child under `limits`, answered by the deadline (time.monotonic() seconds).

    Returns what it returns and raises the ImageRejected it raises; a limit reached is ImageTooComplex or
    ProcessingTimeout, a crash CorruptImage, any other exception ChildFailed.
    """
    if deadline is not None and deadline <= time.monotonic():
        raise _timeout()
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
    return _outcome(payload, status, usage, limits)
