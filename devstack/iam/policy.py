"""IAM's policy evaluation for one account: explicit Deny wins, then any Allow, else an implicit deny.

Covers what this project's policies use and what IAM would do with it: Action/NotAction, Resource/NotResource
with `*` and `?` wildcards, Principal/NotPrincipal in resource policies, and the condition operators below
(with their `IfExists` forms and `ForAnyValue:`/`ForAllValues:` set qualifiers). Anything else in a policy
(a policy variable, an unknown operator) is an error, never a silent allow or deny."""

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum


class PolicyError(ValueError):
    """A policy uses something this evaluator does not implement."""


class Decision(Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Request:
    """One authorization question: may the principal do `action` on `resource` in this context?"""

    action: str  # service:Action, e.g. s3:GetObject
    resource: str  # an ARN
    principal_arn: str  # the role session, arn:aws:sts::<account>:assumed-role/<role>/<session>
    role_arn: str  # the role behind the session, which resource policies name
    context: Mapping[str, str | list[str]] = field(default_factory=dict)  # condition keys; names any case


@dataclass(frozen=True)
class Statement:
    """A statement of an identity policy (principal None) or of a resource policy."""

    effect: str
    source: str  # where it comes from, for messages: "role UploadFunctionRole, policy UploadFunctionRolePolicy0"
    body: Mapping

    def applies_to(self, request: Request) -> bool:
        return (
            self._matches_principal(request)
            and self._matches("Action", request.action, _action_matches)
            and self._matches("Resource", request.resource, _resource_matches)
            and conditions_hold(self.body.get("Condition", {}), request.context)
        )

    def _matches(self, element: str, value: str, match) -> bool:
        if element in self.body:
            return any(match(pattern, value) for pattern in _as_list(self.body[element]))
        negated = f"Not{element}"
        if negated in self.body:
            return not any(match(pattern, value) for pattern in _as_list(self.body[negated]))
        raise PolicyError(f"{self.source}: a statement without {element} or Not{element}")

    def _matches_principal(self, request: Request) -> bool:
        if "Principal" in self.body:
            return _principal_matches(self.body["Principal"], request)
        if "NotPrincipal" in self.body:
            return not _principal_matches(self.body["NotPrincipal"], request)
        return True  # identity policies name no principal: they belong to one


def statements(document: Mapping, source: str) -> list[Statement]:
    found = []
    for body in _as_list(document.get("Statement", [])):
        effect = body.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"{source}: Effect must be Allow or Deny, not {effect!r}")
        found.append(Statement(effect, source, body))
    return found


def evaluate(request: Request, policy_statements: Iterable[Statement]) -> tuple[Decision, Statement | None]:
    """The decision, and the statement that made it (None for an implicit deny)."""
    allowing = None
    for statement in policy_statements:
        if statement.applies_to(request):
            if statement.effect == "Deny":
                return Decision.EXPLICIT_DENY, statement
            allowing = allowing or statement
    return (Decision.ALLOWED, allowing) if allowing else (Decision.IMPLICIT_DENY, None)


# ------------------------------------------------------------------------------------------- matching
def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, ignore_case: bool) -> bool:
    if "${" in pattern:
        raise PolicyError(f"policy variables are not evaluated: {pattern}")
    regex = fnmatch.translate(pattern.replace("[", "[[]"))  # only * and ? are IAM wildcards
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _action_matches(pattern: str, action: str) -> bool:
    return _wildcard(pattern, action, ignore_case=True)


def _resource_matches(pattern: str, resource: str) -> bool:
    return _wildcard(pattern, resource, ignore_case=False)


def _principal_matches(principal, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        raise PolicyError(f"a Principal is '*' or a mapping, not {principal!r}")
    # A role's own session is named by the role's ARN; a Service or Federated principal is someone else.
    names = [str(name) for name in _as_list(principal.get("AWS", []))]
    return "*" in names or request.role_arn in names or request.principal_arn in names


# ----------------------------------------------------------------------------------------- conditions
def _string_equals(policy: str, actual: str) -> bool:
    return policy == actual


def _string_equals_ignore_case(policy: str, actual: str) -> bool:
    return policy.lower() == actual.lower()


def _string_like(policy: str, actual: str) -> bool:
    return _wildcard(policy, actual, ignore_case=False)


def _bool(policy: str, actual: str) -> bool:
    return str(policy).lower() == str(actual).lower()


def _arn_like(policy: str, actual: str) -> bool:
    # ArnLike compares each of the six colon-separated parts with wildcards.
    policy_parts, actual_parts = policy.split(":", 5), actual.split(":", 5)
    return len(policy_parts) == len(actual_parts) == 6 and all(
        _wildcard(p, a, ignore_case=False) for p, a in zip(policy_parts, actual_parts, strict=True))


# operator -> (test of one policy value against one request value, negated)
OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "Bool": (_bool, False),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
}


def conditions_hold(block: Mapping, context: Mapping[str, str | list[str]]) -> bool:
    """Every operator, every key within it must hold (AND); any of a key's policy values may match (OR)."""
    lowered = {name.lower(): value for name, value in context.items()}
    for operator, keys in block.items():
        for key, policy_values in keys.items():
            actual = lowered.get(key.lower())
            if not _condition_holds(operator, [str(v) for v in _as_list(policy_values)], actual):
                return False
    return True


def _condition_holds(operator: str, policy_values: list[str], actual: str | list[str] | None) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if name == "Null":
        return (actual is None) == (policy_values[0].lower() == "true")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name not in OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise PolicyError(f"condition operator {operator} is not evaluated")
    test, negated = OPERATORS[name]
    if actual is None:
        # A missing key: IfExists makes the condition hold; otherwise only a negated operator (or
        # ForAllValues, true of the empty set) holds.
        return if_exists or qualifier == "ForAllValues" or (negated and not qualifier)

    def matches(value: str) -> bool:
        return any(test(policy, value) for policy in policy_values)

    values = _as_list(actual)
    if qualifier == "ForAllValues":
        return all(matches(value) != negated for value in values)
    if qualifier == "ForAnyValue":
        return any(matches(value) != negated for value in values)
    if len(values) != 1:
        raise PolicyError(f"{operator} on a multivalued key needs ForAnyValue: or ForAllValues:")
    return matches(values[0]) != negated
