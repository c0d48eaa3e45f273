"""A bucket's CORS rules applied as S3 applies them: the first rule whose origin, method and (for a
preflight) request headers all match gives the answer's Access-Control-* headers; no match, no headers.

An AllowedOrigin matches the whole Origin, with its one `*` standing for any run of characters (so
`http://127.0.0.1:3311` does not admit `http://127.0.0.1:3311.evil.example`); AllowedHeaders match
case-insensitively, with the same wildcard. Pure: rules in (as the S3 API spells them), headers out."""

import re
from collections.abc import Iterable, Mapping
from functools import cache


@cache
def _pattern(allowed: str, case_sensitive: bool) -> re.Pattern:
    return re.compile(".*".join(map(re.escape, allowed.split("*"))), 0 if case_sensitive else re.IGNORECASE)


def _matches(value: str, allowed: Iterable[str], case_sensitive: bool = True) -> bool:
    return any(_pattern(candidate, case_sensitive).fullmatch(value) for candidate in allowed)


def matching_rule(
    rules: Iterable[Mapping], origin: str, method: str, request_headers: Iterable[str] = ()
) -> Mapping | None:
    for rule in rules:
        if (
            _matches(origin, rule.get("AllowedOrigins", []))
            and method in rule.get("AllowedMethods", [])
            and all(_matches(name, rule.get("AllowedHeaders", []), case_sensitive=False) for name in request_headers)
        ):
            return rule
    return None


def preflight_headers(
    rules: Iterable[Mapping], origin: str, method: str, request_headers: str
) -> list[tuple[str, str]] | None:
    """The answer's headers to an OPTIONS preflight, or None when no rule allows it (S3 then answers 403)."""
    requested = [name.strip() for name in request_headers.split(",") if name.strip()]
    rule = matching_rule(rules, origin, method, requested)
    if rule is None:
        return None
    headers = _headers(rule, origin)
    if requested:
        headers.append(("Access-Control-Allow-Headers", ", ".join(requested)))
    if rule.get("MaxAgeSeconds") is not None:
        headers.append(("Access-Control-Max-Age", str(rule["MaxAgeSeconds"])))
    return headers


def response_headers(rules: Iterable[Mapping], origin: str, method: str) -> list[tuple[str, str]]:
    """The Access-Control-* headers of an answer to a cross-origin request (none when no rule matches)."""
    rule = matching_rule(rules, origin, method)
    return [] if rule is None else _headers(rule, origin)


def _headers(rule: Mapping, origin: str) -> list[tuple[str, str]]:
    headers = [
        ("Access-Control-Allow-Origin", "*" if list(rule["AllowedOrigins"]) == ["*"] else origin),
        ("Access-Control-Allow-Methods", ", ".join(rule["AllowedMethods"])),
        ("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
    ]
    if rule.get("ExposeHeaders"):
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule["ExposeHeaders"])))
    return headers
