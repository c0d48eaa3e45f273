"""X-Ray tracing through Powertools' Tracer, when the template's Tracing parameter turns it on.

Powertools' Tracer loads the X-Ray SDK even when it is disabled: about half a second more to import each
handler, measured here (docs/observability.md, bench/bench_cold_start.py --compare-parameters Tracing=true).
So with tracing off the functions get a tracer that does nothing and imports nothing. The switch is the
template's Tracing parameter, as the TRACING variable: an instrumentation setting read where it is used, at
import (the handler's decorators), as Powertools reads LOG_LEVEL; not part of the application's Config."""

import contextlib
import functools
import os
from collections.abc import Callable, Iterator

TRACING_ENV = "TRACING"

Span = Callable[[str], contextlib.AbstractContextManager]


def tracing_enabled() -> bool:
    return os.environ.get(TRACING_ENV, "false") == "true"


class NoTracer:
    """Tracing off: the handler decorator, annotations and spans do nothing."""

    enabled = False

    def capture_lambda_handler(self, handler: Callable) -> Callable:
        return handler

    def put_annotation(self, key: str, value: str | int | float | bool | None) -> None:
        pass

    def span(self, name: str) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()


class XRayTracer:
    """Tracing on: Powertools' Tracer (which patches botocore, so every S3 call is a subsegment too)."""

    enabled = True

    def __init__(self):
        from aws_lambda_powertools import Tracer

        self.tracer = Tracer()

    def capture_lambda_handler(self, handler: Callable) -> Callable:
        return self.tracer.capture_lambda_handler(handler)

    def put_annotation(self, key: str, value: str | int | float | bool | None) -> None:
        if value is not None:  # X-Ray annotations are strings, numbers or booleans
            self.tracer.put_annotation(key, value)

    @contextlib.contextmanager
    def span(self, name: str) -> Iterator[None]:
        """A subsegment named `name` around the block."""
        with self.tracer.provider.in_subsegment(name):
            yield


@functools.cache
def get_tracer() -> NoTracer | XRayTracer:
    """The function's one tracer (Powertools patches botocore once, in the first Tracer)."""
    return XRayTracer() if tracing_enabled() else NoTracer()
