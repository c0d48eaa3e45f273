"""Route selection as API Gateway's HTTP API does it: the most specific of the template's routes first,
`{param}` and greedy `{param+}` path variables, no match for a trailing slash."""

from dataclasses import dataclass
from urllib.parse import unquote

from ..cfn.template import Function


@dataclass(frozen=True)
class Route:
    method: str  # or ANY
    path: str  # as the template spells it, e.g. /api/images/{id}
    function: Function

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        pattern = self.path.strip("/").split("/") if self.path.strip("/") else []
        params: dict[str, str] = {}
        for index, part in enumerate(pattern):
            if part.startswith("{") and part.endswith("+}"):
                rest = segments[index:]
                if not rest:
                    return None
                params[part[1:-2]] = "/".join(unquote(s) for s in rest)
                return params
            if index >= len(segments):
                return None
            if part.startswith("{") and part.endswith("}"):
                if segments[index] == "":
                    return None
                params[part[1:-1]] = unquote(segments[index])
            elif part != segments[index]:
                return None
        return params if len(pattern) == len(segments) else None

    def specificity(self) -> tuple:
        parts = self.path.strip("/").split("/")
        greedy = any(p.endswith("+}") for p in parts)
        literals = sum(1 for p in parts if not p.startswith("{"))
        return (greedy, -literals, -len(parts), self.method == "ANY")


class Router:
    def __init__(self, functions: dict[str, Function]):
        routes = [Route(r.method, r.path, f) for f in functions.values() for r in f.routes]
        self.routes = sorted(routes, key=Route.specificity)

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        segments = raw_path.strip("/").split("/") if raw_path.strip("/") else []
        if raw_path.endswith("/") and raw_path != "/":
            return None  # API Gateway does not match /api/health/ to /api/health
        for route in self.routes:
            params = route.match(method, segments)
            if params is not None:
                return route, params
        return None
