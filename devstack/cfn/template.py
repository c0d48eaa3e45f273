"""template.yaml read as the local stack needs it: functions, routes, triggers, buckets, environment.

Only the intrinsic functions the template uses are resolved; an unknown one is an error, so a
template change the local stack cannot follow fails loudly instead of running something else."""

import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..application import app
from .intrinsics import NO_VALUE, Intrinsics

ROOT = app.ROOT
TEMPLATE_PATH = app.TEMPLATE_PATH

LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"
LOCAL_STACK_NAME = app.STACK_NAME
LOCAL_STACK_ID = (
    f"arn:aws:cloudformation:{LOCAL_REGION}:{LOCAL_ACCOUNT}:stack/{LOCAL_STACK_NAME}/"
    "0f1e2d3c-4b5a-4697-8877-665544332211"
)


class TemplateError(ValueError):
    pass


class _CfnLoader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.Loader, tag_suffix: str, node: yaml.Node):
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str  # as the template spells it, e.g. /api/images/{id}


@dataclass(frozen=True)
class S3Trigger:
    bucket_logical_id: str
    events: tuple[str, ...]
    prefix: str


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """A function's EventInvokeConfig, with Lambda's defaults where the template leaves one out."""

    max_retries: int = 2
    max_event_age_seconds: int = 21600
    on_failure_queue: str | None = None  # the local name of the SQS queue of the on-failure destination


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    handler: str  # module.function
    timeout: int
    memory_size: int
    environment: dict[str, str]
    routes: tuple[HttpRoute, ...]
    s3_triggers: tuple[S3Trigger, ...]
    async_invoke: AsyncInvokeConfig = AsyncInvokeConfig()
    reserved_concurrency: int | None = None

    @property
    def max_retries(self) -> int:
        return self.async_invoke.max_retries


@dataclass(frozen=True)
class Bucket:
    logical_id: str
    name: str
    cors_rules: tuple[dict, ...]


@dataclass
class Stack:
    template: dict
    parameters: dict[str, str]
    functions: dict[str, Function] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # SQS queues: logical id -> local name
    distributions: dict[str, str] = field(default_factory=dict)  # CloudFront: logical id -> local id
    # What CloudFront's response-headers policy adds to every answer (empty when the template has none).
    security_headers: dict[str, str] = field(default_factory=dict)
    # Secrets Manager: logical id -> the value generated when this stack was read (the deploy's GenerateSecretString),
    # which {{resolve:secretsmanager:...}} references resolve to wherever this stack's values are read; None for a
    # secret created empty (no SecretString or GenerateSecretString: a custom resource writes it, EdgeKeyPair).
    # Its ARN (its !Ref) is secret_arn(logical id).
    secrets: dict[str, str | None] = field(default_factory=dict, repr=False)

    def bucket_name(self, logical_id: str) -> str:
        return self.buckets[logical_id].name


SITE_URL_OUTPUT = "SiteUrl"


def read_stack(
    overrides: dict[str, str] | None = None, template: dict | None = None, site_origins: tuple[str, ...] = ()
) -> Stack:
    """The stack as it would be deployed with these parameter overrides, resolved for the local stack.

    `site_origins` are the names the local stack serves the page on (http://127.0.0.1:PORT and
    http://localhost:PORT): they stand in for the deployed site's origin (the SiteUrl output: the CloudFront or
    custom domain) wherever the template allows that origin, i.e. in the buckets' CORS rules. Resources whose
    Condition is false are left out."""
    template = template or load_template()
    parameters = resolve_parameters(template, overrides or {})
    stack = Stack(template=template, parameters=parameters)
    conditions = _Resolver(template, parameters)
    stack.secrets = {logical_id: generated_secret(logical_id, resource.get("Properties", {}))
                     for logical_id, resource in template["Resources"].items()
                     if resource["Type"] == SECRET_TYPE and _exists(resource, conditions)}
    resolver = stack_resolver(stack)
    resolve = resolver.resolve
    deployed_site = _site_origin(template, resolver)
    resources = template["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::S3::Bucket" and _exists(resource, resolver):
            props = resource.get("Properties", {})
            name = resolve(props["BucketName"]) if "BucketName" in props else _generated_bucket_name(logical_id)
            rules = tuple(resolve(props.get("CorsConfiguration", {}).get("CorsRules", [])))
            if site_origins and deployed_site:
                rules = tuple(_with_site_origins(rule, deployed_site, site_origins) for rule in rules)
            stack.buckets[logical_id] = Bucket(logical_id, name, rules)
        if resource["Type"] == "AWS::SQS::Queue" and _exists(resource, resolver):
            stack.queues[logical_id] = local_resource_name(logical_id)
        if resource["Type"] == "AWS::CloudFront::Distribution" and _exists(resource, resolver):
            stack.distributions[logical_id] = local_resource_name(logical_id)
    globals_ = template.get("Globals", {}).get("Function", {})
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function" and _exists(resource, resolver):
            stack.functions[logical_id] = _read_function(logical_id, resource["Properties"], globals_, resolver)
    if any(resource["Type"] == RESPONSE_HEADERS_POLICY_TYPE for resource in resources.values()):
        stack.security_headers = security_headers(template, overrides)
    return stack


HTTP_API_TYPE = "AWS::Serverless::HttpApi"


def http_api_bodies(stack: Stack) -> dict[str, dict]:
    """Each HTTP API's OpenAPI DefinitionBody as deployed with the stack's parameters (who may call which route)."""
    resolver = stack_resolver(stack)
    return {
        logical_id: resolver.resolve(resource["Properties"]["DefinitionBody"])
        for logical_id, resource in stack.template["Resources"].items()
        if resource["Type"] == HTTP_API_TYPE and "DefinitionBody" in resource.get("Properties", {})
    }


def stack_resolver(stack: Stack) -> "_Resolver":
    """The intrinsics and dynamic references of `stack` as deployed: its parameters, its secrets' values."""
    return _Resolver(stack.template, stack.parameters, stack.secrets)


# ------------------------------------------------------------------------ Secrets Manager
SECRET_TYPE = "AWS::SecretsManager::Secret"
# What GetRandomPassword (GenerateSecretString) draws from: letters, digits and ASCII punctuation.
SECRET_PUNCTUATION = string.punctuation
_GENERATE_KEYS = {"PasswordLength", "ExcludeCharacters", "ExcludeLowercase", "ExcludeUppercase", "ExcludeNumbers",
                  "ExcludePunctuation", "IncludeSpace", "RequireEachIncludedType"}
_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:([a-z-]+):([^{}]*)\}\}")


def generated_secret(logical_id: str, props: dict) -> str | None:
    """A secret's value as a deploy creates it: GenerateSecretString's rules, drawn by the secrets module."""
    if "SecretString" in props:
        return str(props["SecretString"])
    if "GenerateSecretString" not in props:
        return None  # created empty, as CloudFormation does: something else writes its value
    rules = props.get("GenerateSecretString")
    if rules is None or set(rules) - _GENERATE_KEYS:
        raise TemplateError(f"{logical_id}: the local stack generates secrets from GenerateSecretString's "
                            f"{', '.join(sorted(_GENERATE_KEYS))} only")
    excluded = set(str(rules.get("ExcludeCharacters", "")))
    kinds = [chars for chars, flag in ((string.ascii_lowercase, "ExcludeLowercase"),
                                       (string.ascii_uppercase, "ExcludeUppercase"),
                                       (string.digits, "ExcludeNumbers"),
                                       (SECRET_PUNCTUATION, "ExcludePunctuation")) if not _true(rules.get(flag, False))]
    if _true(rules.get("IncludeSpace", False)):
        kinds.append(" ")
    kinds = [[char for char in chars if char not in excluded] for chars in kinds]
    kinds = [chars for chars in kinds if chars]
    length = int(rules.get("PasswordLength", 32))
    if not kinds or length < 1:
        raise TemplateError(f"{logical_id}: GenerateSecretString leaves nothing to generate")
    alphabet = [char for chars in kinds for char in chars]
    require_each = _true(rules.get("RequireEachIncludedType", True))
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        if not require_each or length < len(kinds) or all(any(char in chars for char in value) for chars in kinds):
            return value


def secret_arn(logical_id: str) -> str:
    """What a secret's !Ref gives locally: an ARN, as on AWS."""
    return f"arn:aws:secretsmanager:{LOCAL_REGION}:{LOCAL_ACCOUNT}:secret:{local_resource_name(logical_id)}"


def _exists(resource: dict, resolver: "_Resolver") -> bool:
    return "Condition" not in resource or resolver.condition(resource["Condition"])


def _site_origin(template: dict, resolver: "_Resolver") -> str | None:
    """The deployed site's origin as the template spells it (the SiteUrl output), resolved locally."""
    output = template.get("Outputs", {}).get(SITE_URL_OUTPUT)
    return resolver.resolve(output["Value"]).rstrip("/") if output else None


# Where the template cannot name its own distribution (the processed-images bucket: a cycle), it admits every
# CloudFront origin, and so the site.
ANY_CLOUDFRONT_ORIGIN = "https://*.cloudfront.net"


def _with_site_origins(rule: dict, deployed_site: str, site_origins: tuple[str, ...]) -> dict:
    origins = rule.get("AllowedOrigins", [])
    stands_for_site = (deployed_site, ANY_CLOUDFRONT_ORIGIN)
    if not any(origin in stands_for_site for origin in origins):
        return rule
    local = [site_origins if origin in stands_for_site else (origin,) for origin in origins]
    return {**rule, "AllowedOrigins": list(dict.fromkeys(name for names in local for name in names))}


LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def local_site_origins(url: str) -> tuple[str, ...]:
    """The origins a page served at `url` has: a loopback stack answers as 127.0.0.1 and as localhost, two names
    of one site, as a deployed site answers on its CloudFront and its custom domain."""
    scheme, _, rest = url.partition("://")
    host, _, port = rest.rstrip("/").rpartition(":")
    if host not in LOOPBACK_NAMES:
        return (url.rstrip("/"),)
    return tuple(f"{scheme}://{name}:{port}" for name in LOOPBACK_NAMES)



# ------------------------------------------------------------------------ security headers
RESPONSE_HEADERS_POLICY_TYPE = "AWS::CloudFront::ResponseHeadersPolicy"


def security_headers(template: dict, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The security headers CloudFront adds to every answer, name -> value, read from the template's one
    response-headers policy, so the local stack can send the same (with local_content_security_policy)."""
    policies = [r for r in template["Resources"].values() if r["Type"] == RESPONSE_HEADERS_POLICY_TYPE]
    if len(policies) != 1:
        raise TemplateError(f"expected one {RESPONSE_HEADERS_POLICY_TYPE}, found {len(policies)}")
    resolver = _Resolver(template, resolve_parameters(template, overrides or {}))
    config = resolver.resolve(policies[0]["Properties"]["ResponseHeadersPolicyConfig"])
    security = config.get("SecurityHeadersConfig", {})
    headers: dict[str, str] = {}
    if "ContentSecurityPolicy" in security:
        headers["Content-Security-Policy"] = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    if "StrictTransportSecurity" in security:
        sts = security["StrictTransportSecurity"]
        value = f"max-age={int(sts['AccessControlMaxAgeSec'])}"
        if _true(sts.get("IncludeSubdomains")):
            value += "; includeSubDomains"
        if _true(sts.get("Preload")):
            value += "; preload"
        headers["Strict-Transport-Security"] = value
    if "ContentTypeOptions" in security:
        headers["X-Content-Type-Options"] = "nosniff"
    if "FrameOptions" in security:
        headers["X-Frame-Options"] = security["FrameOptions"]["FrameOption"]
    if "ReferrerPolicy" in security:
        headers["Referrer-Policy"] = security["ReferrerPolicy"]["ReferrerPolicy"]
    if "XSSProtection" in security:
        xss = security["XSSProtection"]
        value = "1" if _true(xss.get("Protection")) else "0"
        if value == "1" and _true(xss.get("ModeBlock")):
            value += "; mode=block"
        elif value == "1" and xss.get("ReportUri"):
            value += f"; report={xss['ReportUri']}"
        headers["X-XSS-Protection"] = value
    return headers


def _true(value) -> bool:
    return value is True or str(value).lower() == "true"


# A bucket's regional host as the deployed CSP names it (https://<bucket>.s3.<region>.amazonaws.com[.cn]).
_REGIONAL_BUCKET_HOST = re.compile(r"https://(?P<bucket>[a-z0-9][a-z0-9.-]*)\.s3\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/?")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def local_content_security_policy(
    policy: str, bucket_names: Iterable[str], storage_origin: str, sign_in_origin: str | None = None
) -> str:
    """The deployed Content-Security-Policy with only its hosts replaced by their local stand-ins: the same
    directives in the same order, the same keywords and schemes, nothing added (so a page that works locally
    cannot rely on more than the deployed policy admits).

    - A bucket's regional host becomes that bucket on the storage server, which addresses buckets by path:
      `http://HOST:PORT/<bucket>` (the bucket itself: a pre-signed POST) and `.../<bucket>/` (its objects).
      Both buckets share the server's origin, so the origin alone would admit one bucket where the deployed
      policy admits only the other.
    - With sign-in on (`sign_in_origin`, the local issuer), any other https host of connect-src is the
      sign-in service (Cognito's domain, the OIDC issuer or its token endpoint), which the issuer stands in for.
    Any other host is left as it is."""
    for origin in filter(None, (storage_origin, sign_in_origin)):
        if not _ORIGIN.fullmatch(origin):
            raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
    buckets = set(bucket_names)
    local = []
    for part in policy.split(";"):
        tokens = part.split()
        if not tokens:
            continue
        name, sources = tokens[0], []
        for source in tokens[1:]:
            bucket = _REGIONAL_BUCKET_HOST.fullmatch(source)
            if bucket and bucket["bucket"] in buckets:
                replacement = [f"{storage_origin}/{bucket['bucket']}", f"{storage_origin}/{bucket['bucket']}/"]
            elif sign_in_origin and name.lower() == "connect-src" and source.startswith("https://"):
                replacement = [sign_in_origin]
            else:
                replacement = [source]
            sources += [item for item in replacement if item not in sources]
        local.append(" ".join([name, *sources]))
    return "; ".join(local)


def resolve_parameters(template: dict, overrides: dict[str, str]) -> dict[str, str]:
    declared = template.get("Parameters", {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"unknown parameter(s): {', '.join(unknown)}")
    values = {}
    for name, spec in declared.items():
        value = str(overrides.get(name, spec.get("Default", "")))
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            raise TemplateError(f"{name} must be one of {spec['AllowedValues']}, not {value!r}")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            raise TemplateError(f"{name} does not match {spec['AllowedPattern']}: {value!r}")
        if spec.get("Type") == "Number":
            number = float(value)
            if number < spec.get("MinValue", number) or number > spec.get("MaxValue", number):
                raise TemplateError(f"{name} must be within [{spec.get('MinValue')}, {spec.get('MaxValue')}]: {value}")
        values[name] = value
    return values


def parse_overrides(text: str) -> dict[str, str]:
    """sam's --parameter-overrides syntax: `Name=Value Other=Value` (or ParameterKey=..,ParameterValue=..)."""
    pairs = re.findall(r"ParameterKey=([^,\s]+),ParameterValue=(\S+)|(\w+)=(\S+)", text)
    return {a or c: b or d for a, b, c, d in pairs}


def _generated_bucket_name(logical_id: str) -> str:
    return f"{LOCAL_STACK_NAME}-{logical_id.lower()}"


def local_resource_name(logical_id: str) -> str:
    """The local name of a resource that is not a bucket (e.g. an SQS queue): what its !Ref gives locally."""
    return f"{LOCAL_STACK_NAME}-{logical_id}"


def _read_function(logical_id: str, props: dict, globals_: dict, resolver: "_Resolver") -> Function:
    resolve, resources = resolver.resolve, resolver.resources
    merged = {**globals_, **props}
    environment = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **props.get("Environment", {}).get("Variables", {}),
    }
    routes, triggers = [], []
    for event in props.get("Events", {}).values():
        event_props = event["Properties"]
        if event["Type"] == "HttpApi":
            routes.append(HttpRoute(event_props["Method"].upper(), event_props["Path"]))
        elif event["Type"] == "S3":
            events = event_props["Events"]
            rules = event_props.get("Filter", {}).get("S3Key", {}).get("Rules", [])
            prefix = next((rule["Value"] for rule in rules if rule["Name"].lower() == "prefix"), "")
            events = (events,) if isinstance(events, str) else tuple(events)
            triggers.append(S3Trigger(event_props["Bucket"]["Ref"], events, prefix))
    # SAM appends a function's Layers to the global ones; only Python layers hold importable code.
    layers = [resources[layer["Ref"]] for layer in [*globals_.get("Layers", []), *props.get("Layers", [])]]
    layer_dirs = tuple(ROOT / layer["Properties"]["ContentUri"] for layer in layers
                       if str(layer.get("Metadata", {}).get("BuildMethod", "")).startswith("python"))
    reserved = resolve(props.get("ReservedConcurrentExecutions", _NO_VALUE_REF))
    return Function(
        logical_id=logical_id,
        code_dir=ROOT / merged["CodeUri"],
        layer_dirs=layer_dirs,
        handler=merged["Handler"],
        timeout=int(merged.get("Timeout", 3)),
        memory_size=int(resolve(merged.get("MemorySize", 128))),
        environment={name: str(resolve(value)) for name, value in environment.items()},
        routes=tuple(routes),
        s3_triggers=tuple(triggers),
        async_invoke=_async_invoke_config(logical_id, merged.get("EventInvokeConfig", {})),
        reserved_concurrency=None if reserved is NO_VALUE else int(reserved),
    )


def _async_invoke_config(logical_id: str, config: dict) -> AsyncInvokeConfig:
    destination = config.get("DestinationConfig", {}).get("OnFailure")
    queue = None
    if destination:
        target = destination.get("Destination", {})
        if destination.get("Type") != "SQS" or "Fn::GetAtt" not in target:
            raise TemplateError(
                f"{logical_id}: the local stack only knows SQS on-failure destinations given by !GetAtt")
        queue = local_resource_name(target["Fn::GetAtt"][0])
    defaults = AsyncInvokeConfig()
    return AsyncInvokeConfig(
        max_retries=int(config.get("MaximumRetryAttempts", defaults.max_retries)),
        max_event_age_seconds=int(config.get("MaximumEventAgeInSeconds", defaults.max_event_age_seconds)),
        on_failure_queue=queue,
    )


_NO_VALUE_REF = {"Ref": "AWS::NoValue"}


class _Resolver(Intrinsics):
    """Intrinsics as the local stack resolves them: its pseudo parameters, bucket names and queue names."""

    error = TemplateError

    def __init__(self, template: dict, parameters: dict[str, str], secrets: Mapping[str, str | None] | None = None):
        super().__init__(template.get("Conditions", {}))
        self.resources = template["Resources"]
        self.secrets = {secret_arn(logical_id): value for logical_id, value in (secrets or {}).items()}
        self.names = {
            "AWS::AccountId": LOCAL_ACCOUNT,
            "AWS::Region": LOCAL_REGION,
            "AWS::StackName": LOCAL_STACK_NAME,
            "AWS::StackId": LOCAL_STACK_ID,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
            **parameters,
        }

    def ref(self, name: str) -> str:
        if name in self.names:
            return self.names[name]
        resource = self.resources.get(name)
        if resource is None:
            raise TemplateError(f"!Ref to unknown name {name}")
        if resource["Type"] == "AWS::S3::Bucket":
            props = resource.get("Properties", {})
            return self.resolve(props["BucketName"]) if "BucketName" in props else _generated_bucket_name(name)
        if resource["Type"] == SECRET_TYPE:
            return secret_arn(name)
        return local_resource_name(name)

    def resolve(self, value):
        """Intrinsics, then the dynamic references they spell, as CloudFormation resolves both at deploy."""
        resolved = super().resolve(value)
        if isinstance(resolved, str) and "{{resolve:" in resolved:
            return _DYNAMIC_REFERENCE.sub(self._dynamic_reference, resolved)
        return resolved

    def _dynamic_reference(self, match: re.Match) -> str:
        service, reference = match[1], match[2]
        if service != "secretsmanager":
            raise TemplateError(f"the local stack resolves secretsmanager dynamic references only, not {service}")
        parts = reference.split(":")
        cut = 7 if reference.startswith("arn:") else 1  # arn:aws:secretsmanager:region:account:secret:name
        secret_id, rest = ":".join(parts[:cut]), parts[cut:]
        if secret_id not in self.secrets:
            raise TemplateError(f"a dynamic reference to {secret_id!r}, which is none of the stack's secrets")
        value = self.secrets[secret_id]
        if value is None:
            raise TemplateError(f"a dynamic reference to {secret_id!r}, which has no value at deploy (created empty)")
        what, json_key, stage, version = (rest + ["", "", "", ""])[:4]
        if version:
            raise TemplateError(f"a dynamic reference names version {version} of a secret, and the local stack's "
                                "secrets have one version, generated when it starts (leave e.g. OriginSecretVersion "
                                "empty locally)")
        if what != "SecretString" or json_key or stage not in ("", "AWSCURRENT"):
            raise TemplateError(f"the local stack resolves a whole SecretString (the current version) only: "
                                f"{match[0]!r}")
        return value

    def get_att(self, resource: str, attribute: str) -> str:
        if attribute == "Arn" and self.resources[resource]["Type"] == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{self.ref(resource)}"
        return f"{LOCAL_STACK_NAME}-{resource}-{attribute}"
