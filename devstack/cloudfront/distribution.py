"""The template's CloudFront distribution as the local stack serves it: the cache behaviours that reach an
origin group (the /img/* behaviour) or a bucket of the stack (the /status/* behaviour), their viewer-request
function's code, their cache policy, and what the buckets' policies let the distribution read.

Read, not guessed: an origin must be a bucket (`!GetAtt <Bucket>.RegionalDomainName`) or a function URL
(`!GetAtt <Function>Url.FunctionUrl`, SAM's name for a function's URL), and a cache policy one of the
template's; anything else is a TemplateError, so a template change the local stack cannot follow fails loudly.
The page and /api/* behaviours stay the gateway's (static files and the HTTP API)."""

from dataclasses import dataclass

from ..cfn.template import Stack, TemplateError, stack_resolver

DISTRIBUTION_TYPE = "AWS::CloudFront::Distribution"
FUNCTION_TYPE = "AWS::CloudFront::Function"
CACHE_POLICY_TYPE = "AWS::CloudFront::CachePolicy"


@dataclass(frozen=True)
class Origin:
    id: str
    bucket: str | None = None  # the bucket's name (an S3 origin)
    function: str | None = None  # the function's logical id (a function URL origin)


@dataclass(frozen=True)
class CachePolicy:
    min_ttl: int
    default_ttl: int
    max_ttl: int

    def ttl(self, max_age: int | None) -> int:
        """Seconds an answer stays cached, from its Cache-Control max-age (None: it sent none)."""
        wanted = self.default_ttl if max_age is None else max_age
        return max(self.min_ttl, min(self.max_ttl, wanted))


@dataclass(frozen=True)
class Behaviour:
    path_pattern: str  # e.g. /img/*
    origins: tuple[Origin, ...]  # in failover order
    failover_statuses: frozenset[int]
    viewer_request: str | None  # the logical id of its viewer-request CloudFront Function
    cache: CachePolicy
    allowed_methods: frozenset[str]
    # The key groups (logical ids) whose signed cookies the behaviour requires (TrustedKeyGroups); empty: none.
    trusted_key_groups: tuple[str, ...] = ()

    def matches(self, path: str) -> bool:
        prefix = self.path_pattern[:-1] if self.path_pattern.endswith("*") else None
        return path.startswith(prefix) if prefix is not None else path == self.path_pattern


def distribution_config(stack: Stack) -> tuple[str, dict] | None:
    """(logical id, raw DistributionConfig) of the template's one distribution, or None without one."""
    found = [(name, r) for name, r in stack.template["Resources"].items() if r["Type"] == DISTRIBUTION_TYPE]
    if not found:
        return None
    if len(found) > 1:
        raise TemplateError(f"expected one {DISTRIBUTION_TYPE}, found {len(found)}")
    name, resource = found[0]
    return name, resource["Properties"]["DistributionConfig"]


def _deployed(stack: Stack) -> tuple[dict, dict, list[dict]]:
    """The distribution's origins by id, its origin groups by id and its cache behaviours in the template's order,
    as deployed with the stack's parameters (a behaviour a condition leaves out is not there)."""
    found = distribution_config(stack)
    if found is None:
        return {}, {}, []
    _, config = found
    origins = {origin["Id"]: _origin(origin, stack) for origin in config.get("Origins", [])}
    groups = {group["Id"]: group for group in config.get("OriginGroups", {}).get("Items", [])}
    return origins, groups, stack_resolver(stack).resolve(_unresolved_arns(config.get("CacheBehaviors", [])))


def _behaviour(stack: Stack, behaviour: dict, origins: tuple, failover_statuses: frozenset,
               viewer_request: str | None) -> Behaviour:
    return Behaviour(
        path_pattern=behaviour["PathPattern"],
        origins=origins,
        failover_statuses=failover_statuses,
        viewer_request=viewer_request,
        cache=_cache_policy(stack, behaviour["CachePolicyId"]),
        allowed_methods=frozenset(behaviour.get("AllowedMethods", ["GET", "HEAD"])),
        trusted_key_groups=tuple(behaviour.get("TrustedKeyGroups", [])),
    )


def origin_group_behaviours(stack: Stack) -> list[Behaviour]:
    """The distribution's cache behaviours whose target is an origin group, as deployed with the stack's
    parameters."""
    origins, groups, deployed = _deployed(stack)
    behaviours = []
    for behaviour in deployed:
        group = groups.get(behaviour["TargetOriginId"])
        if group is None:
            continue
        functions = [association["FunctionARN"] for association in behaviour.get("FunctionAssociations", [])
                     if association["EventType"] == "viewer-request"]
        behaviours.append(_behaviour(
            stack, behaviour,
            origins=tuple(origins[member["OriginId"]] for member in group["Members"]["Items"]),
            failover_statuses=frozenset(int(code) for code in group["FailoverCriteria"]["StatusCodes"]["Items"]),
            viewer_request=functions[0] if functions else None,
        ))
    return behaviours


def bucket_behaviours(stack: Stack) -> list[Behaviour]:
    """The distribution's cache behaviours whose target is one bucket of the stack (not the website bucket, which
    only the default behaviour serves, from web/), as deployed with the stack's parameters."""
    origins, _, deployed = _deployed(stack)
    behaviours = []
    for behaviour in deployed:
        origin = origins.get(behaviour["TargetOriginId"])
        if origin is None or origin.bucket is None:
            continue
        if behaviour.get("FunctionAssociations"):
            raise TemplateError(f"{behaviour['PathPattern']}: the local stack runs functions only on origin groups")
        behaviours.append(_behaviour(stack, behaviour, origins=(origin,), failover_statuses=frozenset(),
                                     viewer_request=None))
    return behaviours


def edge_behaviours(stack: Stack) -> list[Behaviour]:
    """Every behaviour the local edge serves: to an origin group, or to one bucket (in the template's order)."""
    served = {behaviour.path_pattern: behaviour
              for behaviour in origin_group_behaviours(stack) + bucket_behaviours(stack)}
    _, _, deployed = _deployed(stack)
    return [served[b["PathPattern"]] for b in deployed if b["PathPattern"] in served]


DISTRIBUTION_PRINCIPAL = "cloudfront.amazonaws.com"


def distribution_reads(stack: Stack) -> tuple[str, ...]:
    """The object ARNs (with wildcards) the buckets' policies let the distribution read (s3:GetObject allowed to
    the CloudFront service principal): what Origin Access Control may fetch, and all the local edge fetches."""
    resolver = stack_resolver(stack)
    patterns: list[str] = []
    for resource in stack.template["Resources"].values():
        if resource["Type"] != "AWS::S3::BucketPolicy":
            continue
        for statement in resolver.resolve(resource["Properties"]["PolicyDocument"]).get("Statement", []):
            principal = statement.get("Principal")
            services = principal.get("Service") if isinstance(principal, dict) else None
            actions = statement.get("Action")
            if statement.get("Effect") != "Allow" or DISTRIBUTION_PRINCIPAL not in _listed(services) or \
                    "s3:GetObject" not in _listed(actions):
                continue
            patterns += _listed(statement.get("Resource"))
    return tuple(patterns)


def _listed(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def origin_custom_headers(stack: Stack, path_pattern: str) -> dict[str, str]:
    """The headers CloudFront adds to each request the behaviour for `path_pattern` forwards to its origin
    (OriginCustomHeaders, dynamic references resolved), name -> value; empty without such a behaviour."""
    found = distribution_config(stack)
    if found is None:
        return {}
    _, config = found
    resolver = stack_resolver(stack)
    behaviour = next((b for b in resolver.resolve(config.get("CacheBehaviors", []))
                      if b.get("PathPattern") == path_pattern), None)
    if behaviour is None:
        return {}
    origin = next((o for o in config.get("Origins", []) if o["Id"] == behaviour["TargetOriginId"]), None)
    if origin is None:
        raise TemplateError(f"the {path_pattern} behaviour's origin {behaviour['TargetOriginId']} is not declared")
    headers = resolver.resolve(origin.get("OriginCustomHeaders", []))
    return {header["HeaderName"]: str(header["HeaderValue"]) for header in headers}


def function_code(stack: Stack, logical_id: str) -> str:
    """A CloudFront Function's code as deployed: its FunctionCode with the template's !Sub done."""
    resource = stack.template["Resources"].get(logical_id)
    if resource is None or resource["Type"] != FUNCTION_TYPE:
        raise TemplateError(f"{logical_id} is not an {FUNCTION_TYPE}")
    return stack_resolver(stack).resolve(resource["Properties"]["FunctionCode"])


def _unresolved_arns(value):
    """The behaviours with each function association and cache policy named by logical id, not ARN or id."""
    if isinstance(value, list):
        return [_unresolved_arns(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"EventType", "FunctionARN"}:
        target = value["FunctionARN"].get("Fn::GetAtt") if isinstance(value["FunctionARN"], dict) else None
        if not target:
            raise TemplateError(f"a function association the local stack cannot follow: {value}")
        resource = target[0] if isinstance(target, list) else target.split(".", 1)[0]
        return {"EventType": value["EventType"], "FunctionARN": resource}
    return {key: item["Ref"] if key == "CachePolicyId" and isinstance(item, dict) and "Ref" in item
            else _refs_as_names(item) if key == "TrustedKeyGroups"
            else _unresolved_arns(item) for key, item in value.items()}


def _refs_as_names(value):
    """Each !Ref inside as the logical id it names (key groups are read from the template, not by a local name)."""
    if isinstance(value, list):
        return [_refs_as_names(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] != "AWS::NoValue":
            return value["Ref"]
        return {key: _refs_as_names(item) for key, item in value.items()}
    return value


KEY_GROUP_TYPE = "AWS::CloudFront::KeyGroup"
PUBLIC_KEY_TYPE = "AWS::CloudFront::PublicKey"


def trusted_keys(stack: Stack, key_group: str, attributes: dict[str, dict[str, str]]) -> dict[str, str]:
    """The public keys of a key group as deployed: key id (what the public key's !Ref gives) -> PEM. A key's
    EncodedKey is read from the template, where it may be a custom resource's attribute (`attributes`: each custom
    resource's Data, from running it)."""
    resources = stack.template["Resources"]
    group = resources.get(key_group)
    if group is None or group["Type"] != KEY_GROUP_TYPE:
        raise TemplateError(f"{key_group} is not an {KEY_GROUP_TYPE}")
    resolver = stack_resolver(stack)
    keys = {}
    for item in group["Properties"]["KeyGroupConfig"]["Items"]:
        name = item.get("Ref") if isinstance(item, dict) else None
        key = resources.get(name) if name else None
        if key is None or key["Type"] != PUBLIC_KEY_TYPE:
            raise TemplateError(f"{key_group}: a key group item the local stack cannot follow: {item}")
        encoded = key["Properties"]["PublicKeyConfig"]["EncodedKey"]
        target = _get_att(encoded)
        if target is not None:
            if target[0] not in attributes or target[1] not in attributes[target[0]]:
                raise TemplateError(f"{name}: {target[0]}.{target[1]} is not known (its custom resource did not run)")
            encoded = attributes[target[0]][target[1]]
        keys[resolver.ref(name)] = resolver.resolve(encoded)
    return keys


def _origin(origin: dict, stack: Stack) -> Origin:
    target = _get_att(origin["DomainName"])
    if target and target[1] == "RegionalDomainName" and target[0] in stack.buckets:
        return Origin(origin["Id"], bucket=stack.bucket_name(target[0]))
    if target and target[1] == "FunctionUrl" and target[0].endswith("Url") and target[0][:-3] in stack.functions:
        return Origin(origin["Id"], function=target[0][:-3])
    return Origin(origin["Id"])  # an origin the gateway serves itself (the website bucket, the HTTP API)


def _get_att(value) -> tuple[str, str] | None:
    """The (resource, attribute) of the first Fn::GetAtt inside a value."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return tuple(target) if isinstance(target, list) else tuple(target.split(".", 1))
        return next((found for item in value.values() if (found := _get_att(item))), None)
    if isinstance(value, list):
        return next((found for item in value if (found := _get_att(item))), None)
    return None


def _cache_policy(stack: Stack, policy_id) -> CachePolicy:
    logical_id = policy_id
    resource = stack.template["Resources"].get(logical_id) if isinstance(logical_id, str) else None
    if resource is None or resource["Type"] != CACHE_POLICY_TYPE:
        raise TemplateError(f"the local stack knows only the template's own cache policies, not {policy_id!r}")
    config = resource["Properties"]["CachePolicyConfig"]
    keyed = config.get("ParametersInCacheKeyAndForwardedToOrigin", {})
    for part, behaviour in (("HeadersConfig", "HeaderBehavior"), ("CookiesConfig", "CookieBehavior"),
                            ("QueryStringsConfig", "QueryStringBehavior")):
        if keyed.get(part, {}).get(behaviour, "none") != "none":
            raise TemplateError(f"{logical_id}: the local cache keys on the path alone, not on {part}")
    return CachePolicy(int(config["MinTTL"]), int(config.get("DefaultTTL", 86400)), int(config.get("MaxTTL", 31536000)))
