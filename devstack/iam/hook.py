"""Refusing, inside botocore, every call a function's role does not allow, the way AWS refuses it.

`install_iam` hooks a boto3/botocore session: every client made from it afterwards asks `Enforcer` before each
call and answers a refused one with the response AWS gives (403 AccessDenied; HeadObject's bodiless 403), so
the handler sees exactly the botocore ClientError it would see on AWS. Calls are never sent when refused."""

import contextlib
import contextvars
import ipaddress
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from .operations import Check, UnmappedOperation, Where, checks_for, s3_post_checks
from .policy import Decision, Request, evaluate
from .roles import LOCAL_PSEUDO, Identity, Pseudo, StackPolicies

# The function whose code is running, for in-process tests where every function shares one process.
_acting_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("acting_function", default=None)
# Set while the hook asks S3 itself whether a bucket exists: that question is the hook's, not the function's.
_probing: contextvars.ContextVar[bool] = contextvars.ContextVar("probing", default=False)


@contextlib.contextmanager
def acting_as(function: str) -> Iterator[None]:
    """Calls made inside are the function's (with `install_iam(..., acting_function, ...)`)."""
    token = _acting_function.set(function)
    try:
        yield
    finally:
        _acting_function.reset(token)


def acting_function() -> str | None:
    """The function named by the innermost `acting_as`, or None outside any (the test itself calling)."""
    return _acting_function.get()


def is_secure_transport(endpoint_url: str) -> bool:
    """aws:SecureTransport of a call to this endpoint: https, or plain http to a loopback address.

    The local stack's storage server listens on 127.0.0.1 over http where S3 answers over TLS; traffic that
    never leaves the machine stands in for TLS, so the buckets' TLS-only policies refuse a non-loopback http
    endpoint (a misconfiguration) and nothing else."""
    parsed = urlparse(endpoint_url)
    if parsed.scheme == "https":
        return True
    host = parsed.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Refusal:
    check: Check
    identity: Identity
    decision: Decision

    @property
    def message(self) -> str:
        """AWS's wording for the refusal (IAM's explicit form, which S3 uses since 2023)."""
        why = ("with an explicit deny in a policy" if self.decision is Decision.EXPLICIT_DENY
               else "because no identity-based policy allows the " f"{self.check.action} action")
        return (f"User: {self.identity.session_arn} is not authorized to perform: {self.check.action} "
                f'on resource: "{self.check.resource}" {why}')


class Enforcer:
    """Decides calls for the functions of one stack: the function's role policies, plus the bucket's policy
    for S3 calls (same account: an Allow in either is enough, a Deny in either wins)."""

    def __init__(self, policies: StackPolicies):
        self.policies = policies
        self._identities: dict[str, Identity] = {}
        self.refused: list[Refusal] = []  # every refusal so far, in order: what a test or a log can show
        p = policies.pseudo
        self.where = Where(partition=p.partition, region=p.region, account=p.account)

    def identity(self, function: str) -> Identity:
        if function not in self._identities:
            self._identities[function] = self.policies.identity(function)
        return self._identities[function]

    def decide(self, function: str, check: Check, secure_transport: bool) -> Refusal | None:
        identity = self.identity(function)
        statements = list(identity.statements)
        if check.action.lower().startswith("s3:"):
            bucket = check.resource.split(":::", 1)[-1].split("/", 1)[0]
            statements += self.policies.bucket_policy(bucket)
        context = {
            "aws:SecureTransport": "true" if secure_transport else "false",
            "aws:PrincipalArn": identity.role_arn,
            "aws:PrincipalAccount": self.policies.pseudo.account,
            **check.context,
        }
        request = Request(check.action, check.resource, identity.session_arn, identity.role_arn, context)
        decision, _ = evaluate(request, statements)
        if decision is Decision.ALLOWED:
            return None
        refusal = Refusal(check, identity, decision)
        self.refused.append(refusal)
        return refusal

    def refusals(self, function: str, checks: list[Check], secure_transport: bool) -> list[Refusal]:
        return [r for r in (self.decide(function, c, secure_transport) for c in checks) if r is not None]


def install_iam(
    target,
    function_logical_id: str | Callable[[], str | None],
    rendered_template: Mapping,
    physical_ids: Mapping[str, str],
    *,
    parameters: Mapping[str, str] | None = None,
    pseudo: Pseudo = LOCAL_PSEUDO,
) -> "Installation":
    """Make every AWS client created from `target` from now on act as a function of the stack, under IAM.

    target: a `boto3.session.Session`, a `botocore.session.Session`, or the `boto3` module itself (its default
        session, which `boto3.client(...)` uses). Install before the function creates its clients: a client
        made earlier is not enforced.
    function_logical_id: the function whose execution role applies (e.g. "UploadFunction"), or a callable
        asked at every call, answering a function's logical id or None for "not a function: do not evaluate"
        (the in-process tests pass `acting_function`, which `acting_as(...)` sets).
    rendered_template: template.yaml after the SAM transform (`devstack.iam.render_template()`), intrinsics
        left in; they are resolved here with `physical_ids`, `parameters` and `pseudo`.
    physical_ids: logical id -> what `Ref` returns, for every resource a policy names: each bucket's name
        (e.g. {"StoredImagesBucket": "stored-images-…", "ProcessedImagesBucket": "…"}), a distribution's id;
        a resource left out is named by its logical id (give every bucket, or its policies match nothing).
    parameters: template parameter overrides (the defaults apply otherwise).
    pseudo: account, region, partition, stack name and id (the local stack's by default).

    A refused call raises botocore's ClientError as AWS answers it (AccessDenied, HTTP 403; HeadObject "403"
    Forbidden), without sending anything; a DeleteObjects reports each refused key in Errors, as S3 does; a
    GetObject/HeadObject of a missing key is 403, not 404, without s3:ListBucket on the bucket, as S3 does.
    Pre-signing a GET or POST the role may not perform raises the same AccessDenied at signing time (S3
    would refuse the URL when used; failing where the URL is made points at the cause). A call the
    operation tables do not know raises UnmappedOperation. Returns the Installation: its Enforcer answers
    direct questions, and `uninstall()` stops enforcing for clients created after it."""
    enforcer = Enforcer(StackPolicies(rendered_template, physical_ids, parameters, pseudo))
    who = function_logical_id if callable(function_logical_id) else (lambda: function_logical_id)
    events = _event_system(target)
    hook = _client_class_hook(enforcer, who)
    events.register("creating-client-class", hook)
    return Installation(enforcer, lambda: events.unregister("creating-client-class", hook))


@dataclass(frozen=True)
class Installation:
    enforcer: Enforcer
    uninstall: Callable[[], None]


def _event_system(target):
    if hasattr(target, "_get_default_session"):  # the boto3 module
        target = target._get_default_session()
    if hasattr(target, "_session"):  # a boto3 Session
        target = target._session
    return target.get_component("event_emitter")


def _client_class_hook(enforcer: Enforcer, who: Callable[[], str | None]):
    def add_enforcement(class_attributes, base_classes, **_):
        presigned_post = class_attributes.get("generate_presigned_post")

        class IamEnforcedClient:
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                _ClientGuard(self, enforcer, who).register()

        if presigned_post is not None:
            def generate_presigned_post(self, Bucket, Key, *args, **kwargs):  # noqa: N803 - boto3's spelling
                function = who()
                if function is not None:
                    secure = is_secure_transport(self.meta.endpoint_url)
                    refused = enforcer.refusals(function, s3_post_checks(Bucket, Key, enforcer.where), secure)
                    if refused:
                        raise _access_denied(refused[0], "GeneratePresignedPost")
                return presigned_post(self, Bucket, Key, *args, **kwargs)
            class_attributes["generate_presigned_post"] = generate_presigned_post
        base_classes.insert(0, IamEnforcedClient)
    return add_enforcement


class _ClientGuard:
    """The per-client handlers: the client's endpoint tells aws:SecureTransport."""

    def __init__(self, client, enforcer: Enforcer, who: Callable[[], str | None]):
        self.client = client
        self.enforcer = enforcer
        self.who = who
        self.service = client.meta.service_model.service_name
        self.secure = is_secure_transport(client.meta.endpoint_url)
        self.events = client.meta.events

    def register(self) -> None:
        self.events.register("provide-client-params", self.decide)
        self.events.register_first("before-call", self.answer_refused)
        self.events.register("after-call", self.after_call)

    def decide(self, params, model, context, **_):
        function = self.who()
        if function is None or _probing.get():
            return None
        operation = model.name
        if context.get("is_presign_request"):
            if operation == "CreateBucket":  # the model a pre-signed POST borrows; checked by the wrapper
                return None
            refused = self._refusals(function, operation, params)
            if refused:
                raise _access_denied(refused[0], f"GeneratePresigned{operation}")
            return None
        context["devstack_iam"] = {"function": function, "params": params}
        refused = self._refusals(function, operation, params)
        if refused and self.service == "s3" and not self._bucket_exists(params["Bucket"]):
            # S3 finds the bucket before it judges the caller: a missing one is NoSuchBucket for everyone.
            self.enforcer.refused[-len(refused):] = []
            return None
        if operation == "DeleteObjects" and refused:
            keys = {r.check.key for r in refused}
            context["devstack_iam"]["errors"] = [
                {"Key": r.check.key, "Code": "AccessDenied", "Message": r.message} for r in refused]
            kept = [item for item in params["Delete"]["Objects"] if item["Key"] not in keys]
            if not kept:  # nothing left to send: S3 answers 200 with every key in Errors
                context["devstack_iam"]["answer"] = (200, {})
                return None
            return {**params, "Delete": {**params["Delete"], "Objects": kept}}
        if refused:
            code, message = ("403", "Forbidden") if operation in ("HeadObject", "HeadBucket") else (
                "AccessDenied", refused[0].message)
            context["devstack_iam"]["answer"] = (403, {"Error": {"Code": code, "Message": message}})
        return None

    def answer_refused(self, model, params, context, **_):
        decided = context.get("devstack_iam", {})
        if "answer" not in decided:
            return None
        status, parsed = decided["answer"]
        parsed = {**parsed, "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}}
        return AWSResponse(params.get("url", ""), status, {}, _EmptyBody()), parsed

    def after_call(self, http_response, parsed, model, context, **_):
        decided = context.get("devstack_iam")
        if not decided:
            return
        if decided.get("errors"):
            parsed.setdefault("Errors", []).extend(decided["errors"])
        # A missing bucket stays NoSuchBucket for everyone (S3 finds the bucket before it judges the caller).
        if model.name in ("GetObject", "HeadObject") and http_response.status_code == 404 and \
                "answer" not in decided and parsed.get("Error", {}).get("Code") != "NoSuchBucket":
            self._missing_key_without_list(decided, parsed, model.name)

    def _missing_key_without_list(self, decided: dict, parsed: dict, operation: str) -> None:
        # S3 tells "no such key" only to whoever may list the bucket; everyone else gets 403.
        params = decided["params"]
        listing = Check("s3:ListBucket", f"arn:{self.enforcer.where.partition}:s3:::{params['Bucket']}")
        refusal = self.enforcer.decide(decided["function"], listing, self.secure)
        if refusal is not None:
            code, message = ("403", "Forbidden") if operation == "HeadObject" else ("AccessDenied", "Access Denied")
            parsed["Error"] = {"Code": code, "Message": message}
            parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = 403

    def _bucket_exists(self, bucket: str) -> bool:
        token = _probing.set(True)
        try:
            self.client.head_bucket(Bucket=bucket)
        except ClientError as error:
            return error.response["Error"]["Code"] not in ("404", "NoSuchBucket")
        finally:
            _probing.reset(token)
        return True

    def _refusals(self, function: str, operation: str, params: Mapping) -> list[Refusal]:
        checks = checks_for(self.service, operation, params, self.enforcer.where)
        return self.enforcer.refusals(function, checks, self.secure)


class _EmptyBody:
    def stream(self, **_):
        yield b""


def _access_denied(refusal: Refusal, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": refusal.message},
                        "ResponseMetadata": {"HTTPStatusCode": 403}}, operation)


__all__ = ["Enforcer", "Installation", "Refusal", "UnmappedOperation", "acting_as", "acting_function", "install_iam",
           "is_secure_transport"]
