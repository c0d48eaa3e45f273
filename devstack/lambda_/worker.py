"""One execution environment of a function: a process of its own, as Lambda gives each sandbox.

Started by devstack/lambda_/lambdas.py as `python -m devstack.lambda_.worker REQUEST_FD RESPONSE_FD` with exactly the
function's environment (the template's variables, the function's own credentials, Lambda's variables).
It reads the Function record and its IAM setup, installs IAM (devstack/iam: every AWS call the handler
makes is allowed or refused by the function's role policies in the SAM-transformed template), loads the
handler (its "init" phase), caps its memory, answers "ready",
then runs one invocation at a time: an event in, a result or an error out. It never outlives the stack:
it exits when the request pipe closes, or when the stack is gone (it is then a child of init).

The memory cap is RLIMIT_AS, the address space, because Linux enforces no limit on resident memory
for a single process without cgroups. Address space is larger than what a process really uses (the
interpreter, shared libraries and allocator arenas map more than they touch), so the cap is the
address space the environment holds once the handler is loaded, plus MemorySize: the handler can
allocate MemorySize more, and an allocation beyond that fails with MemoryError, which Lambda would
have reported as Runtime.OutOfMemory. Lambda counts the runtime's own memory within MemorySize too,
so the local cap is more generous than Lambda's by that much."""

import json
import os
import pickle
import resource
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection

from ..cfn.template import Function
from .functions import LambdaContext, load_handler

MIB = 1024 * 1024


def address_space_bytes() -> int:
    """This process's current address space (VmSize)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


def cap_memory(memory_size_mb: int) -> int | None:
    """Cap the address space at what it is now plus `memory_size_mb`; the cap, or None where the OS has none."""
    try:
        limit = address_space_bytes() + memory_size_mb * MIB
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError):
        return None
    return limit


def install_identity(function: Function, iam: dict | None) -> None:
    """The function's role, enforced on every client made from now on; with `iam` None (--skip-iam), every
    call goes unjudged and a line on stderr says so."""
    import boto3

    if iam is not None:
        from ..iam import install_iam

        install_iam(boto3, function.logical_id, iam["rendered_template"], iam["physical_ids"],
                    parameters=iam["parameters"])
        return

    def say_unjudged(model, **_):
        print(f"IAM CHECKS OFF (--skip-iam): {function.logical_id} calls {model.service_model.service_name}:"
              f"{model.name} unjudged", file=sys.stderr, flush=True)

    boto3._get_default_session()._session.get_component("event_emitter").register("before-call", say_unjudged)


def _error(error: BaseException) -> dict:
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(type(error), error, error.__traceback__),
    }


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)  # the stack is gone; a sandbox never outlives its function


def serve(requests: Connection, responses: Connection) -> None:
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    function, iam = pickle.loads(requests.recv_bytes())
    try:
        install_identity(function, iam)  # before the handler makes its clients
        handler = load_handler(function)
        # Capped after loading: the cap is MemorySize beyond the runtime and the handler's imports.
        cap_memory(function.memory_size)
    except BaseException as error:  # noqa: BLE001 - an init error is reported, as Lambda's Runtime.ImportModuleError
        responses.send_bytes(json.dumps({"error": _error(error)}).encode())
        return
    responses.send_bytes(b'{"ready": true}')
    while True:
        try:
            request = json.loads(requests.recv_bytes())
        except EOFError:
            return
        context = LambdaContext(function, request["request_id"], deadline=request["deadline"])
        try:
            answer = {"result": handler(request["event"], context)}
            data = json.dumps(answer).encode()
        except BaseException as error:  # noqa: BLE001 - Lambda reports whatever the handler raises
            data = json.dumps({"error": _error(error)}).encode()
        sys.stdout.flush()
        sys.stderr.flush()
        responses.send_bytes(data)


def main() -> None:
    request_fd, response_fd = int(sys.argv[1]), int(sys.argv[2])
    serve(Connection(request_fd, writable=False), Connection(response_fd, readable=False))


if __name__ == "__main__":
    main()
