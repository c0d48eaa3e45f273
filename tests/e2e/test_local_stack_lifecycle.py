"""Starting and stopping `python -m devstack`: the printed URL, and nothing left behind after a stop."""

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (no psutil)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_leaves_nothing_behind(signum, photo, start_stack):
    stack = start_stack()
    try:
        children = descendants(stack.process.pid)
        assert children, "the storage server runs as a child process"
        assert listening(stack.port) and listening(stack.storage_port)
        # Work in flight when the signal comes: a processing image and a long poll.
        image_id = requests.post(f"{stack.url}/api/images", data=photo(2000, 1500, seed=51), timeout=30).json()["id"]
        poll = threading.Thread(target=_get_quietly, args=(f"{stack.url}/api/images/{image_id}?wait=20",), daemon=True)
        poll.start()
        time.sleep(0.3)
        started = time.monotonic()
        code = stack.stop(signum, timeout=30)
        assert code == 0, stack.output()
        assert time.monotonic() - started < 15, "a long poll does not hold the stop up"
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
            stack.process.wait()
    assert "Stopped." in stack.output()
    assert not [pid for pid in children if alive(pid)], "every child process is gone"
    assert not listening(stack.port), "the API port is closed"
    assert not listening(stack.storage_port), "the storage port is closed"


def test_storage_server_exits_when_the_stack_is_killed(start_stack):
    stack = start_stack()
    children = descendants(stack.process.pid)
    stack.process.kill()
    stack.process.wait()
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)], "the storage server follows the stack even after SIGKILL"
    assert not listening(stack.storage_port)


def test_port_in_use_is_reported():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "devstack", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_bad_parameter_override_is_reported():
    result = subprocess.run(
        [sys.executable, "-m", "devstack", "--port", "0", "--parameter-overrides", "Variants=Nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Variants" in result.stderr


def _get_quietly(url: str) -> None:
    try:
        requests.get(url, timeout=30)
    except requests.RequestException:
        pass


def test_signature_checks_are_on_unless_switched_off_loudly(start_stack):
    """`make dev` refuses what S3 refuses; --skip-signature-checks lets it through and says so each time."""
    enforcing = start_stack()
    assert requests.get(f"{enforcing.storage_url}/", timeout=30).status_code == 403
    assert "SIGNATURE CHECKS OFF" not in enforcing.output()

    lenient = start_stack("--skip-signature-checks")
    assert lenient.printed.wait_for_line("SIGNATURE CHECKS OFF: the storage server", timeout=10)
    for _ in range(2):
        assert requests.get(f"{lenient.storage_url}/", timeout=30).status_code == 200
    assert lenient.printed.wait_for_line(r"SIGNATURE CHECKS OFF .*let through GET /", timeout=10, count=2)
