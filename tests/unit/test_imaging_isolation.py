"""imaging.isolation: a job in a forked child, stopped by the kernel's limits and the deadline."""

import ctypes
import os
import threading
import time

import numpy as np
import pytest
from imaging import (
    ChildFailed,
    CorruptImage,
    ImageTooComplex,
    ImageTooLarge,
    Limits,
    ProcessingTimeout,
    build_variants,
    reset_isolation,
    run_isolated,
)
from imaging_fixtures import encode, photo, recipe

MIB = 1024 * 1024


def spin():
    while True:
        pass


def allocate_without_end():
    # Address space without resident memory (numpy leaves the pages untouched), so the test costs no RAM.
    kept = []
    while True:
        kept.append(np.empty(64 * MIB, np.uint8))


def crash():
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def refuse():
    raise ImageTooLarge("too large, said the child")


def fail():
    raise KeyError("a bug")


def pid_and(value):
    return os.getpid(), value


def _the_next_job_works():
    data = encode(photo(300, 200), "JPEG")
    result = run_isolated(build_variants, data, recipe(100), None, limits=Limits(memory_bytes=512 * MIB),
                          deadline=time.monotonic() + 30)
    assert (result.variants[0].width, result.variants[0].height) == (100, 67)


def test_the_result_comes_back_from_a_child():
    child, value = run_isolated(pid_and, {"a": b"bytes"}, limits=Limits(), deadline=None)
    assert child != os.getpid()
    assert value == {"a": b"bytes"}


def test_a_rejection_comes_back_as_it_was_raised():
    with pytest.raises(ImageTooLarge, match="said the child") as raised:
        run_isolated(refuse, limits=Limits(), deadline=None)
    assert raised.value.code == "image_too_large"


def test_a_bug_is_raised_with_the_childs_traceback():
    with pytest.raises(ChildFailed, match="KeyError: 'a bug'"):
        run_isolated(fail, limits=Limits(), deadline=None)


def test_a_spinning_job_ends_at_the_deadline():
    started = time.monotonic()
    with pytest.raises(ProcessingTimeout):
        run_isolated(spin, limits=Limits(), deadline=started + 1.0)
    assert time.monotonic() - started < 1.0 + 2.0  # the kill at the deadline, and a loaded machine's delays
    _the_next_job_works()


def test_a_spinning_job_ends_at_its_cpu_limit():
    started = time.monotonic()
    with pytest.raises(ImageTooComplex, match="CPU time"):  # not ProcessingTimeout: the kernel stopped it
        run_isolated(spin, limits=Limits(cpu_seconds=1), deadline=started + 30)
    _the_next_job_works()


def test_an_endless_allocation_ends_at_the_memory_limit():
    started = time.monotonic()
    with pytest.raises(ImageTooComplex, match="memory"):  # not ProcessingTimeout: the allocation failed
        run_isolated(allocate_without_end, limits=Limits(memory_bytes=256 * MIB), deadline=started + 30)
    _the_next_job_works()


def test_a_crash_ends_as_a_corrupt_image():
    with pytest.raises(CorruptImage, match="SIGSEGV"):
        run_isolated(crash, limits=Limits(), deadline=time.monotonic() + 30)
    _the_next_job_works()


def test_a_deadline_already_past_forks_nothing():
    with pytest.raises(ProcessingTimeout):
        run_isolated(pid_and, 1, limits=Limits(), deadline=time.monotonic() - 1)


def burn(seconds):
    used = time.process_time()
    while time.process_time() - used < seconds:
        pass
    return os.getpid()


def test_one_warm_worker_serves_job_after_job():
    first, _ = run_isolated(pid_and, 1, limits=Limits(), deadline=None)
    second, _ = run_isolated(pid_and, 2, limits=Limits(), deadline=None)
    assert first == second != os.getpid()


def test_the_cpu_limit_is_each_jobs_own():
    # Three jobs of 0.4 s in one worker use 1.2 s together: more than one job's limit, which must not add up.
    pids = {run_isolated(burn, 0.4, limits=Limits(cpu_seconds=1), deadline=time.monotonic() + 30) for _ in range(3)}
    assert len(pids) == 1


def test_a_replaced_imaging_function_gets_a_fresh_worker(monkeypatch):
    import imaging.decode

    before, _ = run_isolated(pid_and, 1, limits=Limits(), deadline=None)
    monkeypatch.setattr(imaging.decode, "read", refuse)
    after, _ = run_isolated(pid_and, 1, limits=Limits(), deadline=None)
    assert before != after


def test_a_worker_that_failed_a_job_is_replaced():
    before, _ = run_isolated(pid_and, 1, limits=Limits(), deadline=None)
    with pytest.raises(ChildFailed):
        run_isolated(fail, limits=Limits(), deadline=None)
    after, _ = run_isolated(pid_and, 1, limits=Limits(), deadline=None)
    assert before != after


def test_fresh_forks_a_child_for_the_job_alone():
    worker, _ = run_isolated(pid_and, 1, limits=Limits(), deadline=None)
    child, _ = run_isolated(pid_and, 1, limits=Limits(), deadline=None, fresh=True)
    assert child not in (worker, os.getpid())
    assert run_isolated(pid_and, 1, limits=Limits(), deadline=None)[0] == worker


def test_a_spinning_job_ends_at_its_cpu_limit_in_a_fresh_child_too():
    with pytest.raises(ImageTooComplex, match="CPU time"):
        run_isolated(spin, limits=Limits(cpu_seconds=1), deadline=time.monotonic() + 30, fresh=True)


def test_a_worker_forked_as_another_thread_starts_a_one_off_child_leaves_that_childs_pipe_alone(monkeypatch):
    # The warm worker lives on: had it inherited the one-off child's write end, that child's answer would
    # never reach its end of file, and the one-off job would wait for its deadline.
    reset_isolation()
    piped = threading.Event()
    real_pipe = os.pipe

    def pipe_then_pause():
        ends = real_pipe()
        if threading.current_thread().name == "one-off" and not piped.is_set():
            piped.set()
            time.sleep(0.5)  # the other thread forks the warm worker now, unless it must wait for this fork
        return ends

    monkeypatch.setattr(os, "pipe", pipe_then_pause)
    answers = {}

    def one_off():
        answers["one-off"] = run_isolated(pid_and, 1, limits=Limits(), deadline=time.monotonic() + 10, fresh=True)

    thread = threading.Thread(target=one_off, name="one-off")
    thread.start()
    assert piped.wait(10)
    started = time.monotonic()
    worker, _ = run_isolated(pid_and, 2, limits=Limits(), deadline=time.monotonic() + 10)
    thread.join(15)
    assert answers["one-off"][1] == 1 and answers["one-off"][0] != worker
    assert time.monotonic() - started < 5
