"""Loading a function's handler from its code and layer directories, as Lambda would."""

import importlib.util
import sys
import time
from collections.abc import Callable

from ..cfn.template import Function


def load_handler(function: Function, instance: int = 0) -> Callable[[dict, object], object]:
    """The handler callable of `function`; each instance's module gets a name of its own.

    `instance` > 0 loads a further copy of the handler module, with module-level state of its own, as a
    further execution environment of the function would have (the local stack runs one per concurrent call)."""
    module_name, attribute = function.handler.rsplit(".", 1)
    for directory in (function.code_dir, *function.layer_dirs):
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    unique_name = f"{function.logical_id}.{module_name}"
    if instance:
        unique_name = f"{function.logical_id}.{instance}.{module_name}"
    module = sys.modules.get(unique_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(unique_name, function.code_dir / f"{module_name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique_name] = module
        spec.loader.exec_module(module)
    return getattr(module, attribute)


class LambdaContext:
    """The parts of Lambda's context object that Powertools reads."""

    def __init__(self, function: Function, request_id: str, deadline: float | None = None):
        """`deadline`: when the invocation times out, in seconds since the epoch (default: the timeout from now)."""
        self.function_name = function.logical_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function.logical_id}"
        self.memory_limit_in_mb = function.memory_size
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function.logical_id}"
        self.log_stream_name = "local"
        self._deadline = deadline if deadline is not None else time.time() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))
