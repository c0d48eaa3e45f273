"""A CloudFront Function run in Node, as CloudFront runs it (function_host.js): one long-lived process per
function, one event at a time."""

import json
import shutil
import subprocess
import threading
from pathlib import Path

HOST_SCRIPT = Path(__file__).resolve().parent / "function_host.js"


class FunctionFailed(RuntimeError):
    """The function threw, returned nothing usable, or its process died: CloudFront answers 503 then."""


class CloudFrontFunction:
    def __init__(self, name: str, code: str):
        node = shutil.which("node")
        if node is None:
            raise FunctionFailed(f"{name}: Node.js (node) is needed to run the CloudFront Function locally")
        self.name = name
        self._lock = threading.Lock()
        self._process = subprocess.Popen([node, str(HOST_SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True, encoding="utf-8", bufsize=1)
        ready = self._exchange({"code": code})
        if not ready.get("ready"):
            self.close()
            raise FunctionFailed(f"{name} does not load: {ready.get('error')}")

    def run(self, event: dict) -> dict:
        """What the function's handler returned for this event: a request, or a response to send."""
        answer = self._exchange(event)
        if "error" in answer or not isinstance(answer.get("result"), dict):
            raise FunctionFailed(f"{self.name} failed: {answer.get('error') or 'it returned no object'}")
        return answer["result"]

    def _exchange(self, message: dict) -> dict:
        with self._lock:
            if self._process.poll() is not None:
                raise FunctionFailed(f"{self.name}: its Node process ended ({self._process.returncode})")
            self._process.stdin.write(json.dumps(message) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise FunctionFailed(f"{self.name}: its Node process ended")
        return json.loads(line)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
