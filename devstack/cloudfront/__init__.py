"""CloudFront for the local stack: the behaviours that reach an origin group or a bucket (edge.py: the
viewer-request function in Node, the cache, conditional GETs, the failover) and the API its functions call (api.py:
CreateInvalidation)."""

from collections.abc import Callable, Mapping

from ..cfn.template import Function, Stack
from ..iam.identity import Credentials
from .api import CloudFrontApi
from .distribution import distribution_config, distribution_reads, edge_behaviours, function_code, trusted_keys
from .edge import Answer, Edge
from .functions import CloudFrontFunction, FunctionFailed

__all__ = ["Answer", "Edge", "FunctionFailed", "LocalCloudFront", "edge_functions"]


def edge_functions(stack: Stack) -> dict[str, Function]:
    """The Lambda functions the distribution calls (function URL origins), which the local stack must run."""
    return {origin.function: stack.functions[origin.function] for behaviour in edge_behaviours(stack)
            for origin in behaviour.origins if origin.function}


class LocalCloudFront:
    """The distribution's edge behaviours and its API, started together; `edge` is None when the template has
    no behaviour with an origin group or a bucket origin (then nothing runs)."""

    def __init__(self, stack: Stack, host: str, domain: str, s3, invoke: Callable[[str, dict], dict],
                 answer_of, known: Mapping[str, Credentials], log: Callable[[str], None] = lambda line: None):
        self.edge: Edge | None = None
        self.api: CloudFrontApi | None = None
        found = distribution_config(stack)
        behaviours = edge_behaviours(stack)
        if found is None or not behaviours:
            return
        functions: dict[str, CloudFrontFunction] = {}
        try:
            for name in {behaviour.viewer_request for behaviour in behaviours if behaviour.viewer_request}:
                functions[name] = CloudFrontFunction(name, function_code(stack, name))
            distribution_id = stack.distributions[found[0]]
            self.edge = Edge(distribution_id, domain, behaviours, functions, s3, invoke, answer_of, log=log,
                             readable=distribution_reads(stack))
            self.api = CloudFrontApi(host, distribution_id, self.edge.invalidate, known).start()
        except BaseException:
            for function in functions.values():
                function.close()
            raise

    def trust(self, stack: Stack, attributes: dict[str, dict[str, str]]) -> None:
        """Give the edge the keys of its behaviours' key groups, once the custom resources that make them ran."""
        if self.edge is None:
            return
        groups = {group for behaviour in self.edge.behaviours for group in behaviour.trusted_key_groups}
        self.edge.key_groups = {group: trusted_keys(stack, group, attributes) for group in groups}

    @property
    def api_url(self) -> str | None:
        return self.api.url if self.api else None

    def stop(self) -> None:
        if self.api is not None:
            self.api.stop()
        if self.edge is not None:
            for function in self.edge.functions.values():
                function.close()
