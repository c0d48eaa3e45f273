"""Each function's permissions as CloudFormation would create them: its role's policies (and the buckets'
policies) in the SAM-transformed template, with the intrinsic functions resolved for one stack.

The SAM transform runs offline (samtranslator, as `sam validate` does), so SAM's policy templates are
expanded exactly as they would be deployed."""

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..application import app
from ..cfn.intrinsics import Intrinsics
from .policy import Statement, statements

TEMPLATE_PATH = app.TEMPLATE_PATH

# The AWS managed policies the template attaches, as AWS publishes them.
MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                                                     "logs:PutLogEvents"], "Resource": "*"}],
    },
    # SAM attaches it to every function with a Tracing property, even one that resolves to PassThrough.
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                                     "xray:GetSamplingRules", "xray:GetSamplingTargets",
                                                     "xray:GetSamplingStatisticSummaries"], "Resource": ["*"]}],
    },
}


class OfflinePolicyLoader:
    """The template uses policy templates, not managed policy names, so no IAM lookup is needed."""

    def load(self):
        return {}


def as_packaged(template: dict) -> dict:
    """Local code paths replaced by S3 URIs, as `sam package` would leave them."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for name in ("CodeUri", "ContentUri"):
            if isinstance(props.get(name), str) and not props[name].startswith("s3://"):
                props[name] = f"s3://packaged-artifacts/{props[name].strip('/')}.zip"
    return template


def render_template(path: Path = TEMPLATE_PATH) -> dict:
    """template.yaml after the SAM transform, as CloudFormation receives it (intrinsics left in)."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = yaml_parse(Path(path).read_text())
    # A JSON round trip gives plain dicts and lists, which the resolver and worker processes take as they are.
    return json.loads(json.dumps(transform(as_packaged(template), {}, OfflinePolicyLoader()), default=str))


class RenderError(ValueError):
    pass


@dataclass(frozen=True)
class Pseudo:
    """The stack's pseudo parameters; the defaults are the local stack's (devstack/cfn/template.py)."""

    account: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
    stack_name: str = app.STACK_NAME
    stack_id: str = (f"arn:aws:cloudformation:us-east-1:123456789012:stack/{app.STACK_NAME}/"
                     "0f1e2d3c-4b5a-4697-8877-665544332211")
    url_suffix: str = "amazonaws.com"


LOCAL_PSEUDO = Pseudo()


@dataclass(frozen=True)
class Identity:
    """A function's execution role: who it is, and the statements of every policy attached to its role."""

    function: str
    role_name: str
    role_arn: str
    session_arn: str
    statements: tuple[Statement, ...]


class StackPolicies(Intrinsics):
    """The identity and resource policies of one rendered stack.

    `physical_ids` gives what a `Ref` to a resource returns (a bucket's name, a distribution's id); bucket
    ARNs follow from bucket names. A resource not given is named by its logical id."""

    error = RenderError

    def __init__(self, rendered: Mapping, physical_ids: Mapping[str, str], parameters: Mapping[str, str] | None = None,
                 pseudo: Pseudo = LOCAL_PSEUDO):
        super().__init__(rendered.get("Conditions", {}))
        self.rendered = rendered
        self.resources = rendered["Resources"]
        self.pseudo = pseudo
        self.physical_ids = dict(physical_ids)
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in rendered.get("Parameters", {}).items()}
        self.parameters.update(parameters or {})

    # -------------------------------------------------------------- identities
    def identity(self, function: str) -> Identity:
        resource = self.resources.get(function)
        if resource is None or resource["Type"] != "AWS::Lambda::Function":
            raise RenderError(f"{function} is not a function of the rendered template")
        role_ref = resource["Properties"]["Role"]
        if not (isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref):
            raise RenderError(f"{function}'s role is not a role of this template: {role_ref}")
        role_id = role_ref["Fn::GetAtt"][0]
        role = self.resources[role_id]["Properties"]
        role_name = self._role_name(role_id)
        found: list[Statement] = []
        # A policy may be conditional (SAM passes an Fn::If of a function's Policies on to the role).
        for policy in self.resolve(role.get("Policies", [])):
            source = f"role {role_id}, policy {policy['PolicyName']}"
            found += statements(policy["PolicyDocument"], source)
        for arn in self.resolve(role.get("ManagedPolicyArns", [])):
            if arn not in MANAGED_POLICIES:
                raise RenderError(f"{role_id} attaches managed policy {arn}, whose document is not known here")
            found += statements(MANAGED_POLICIES[arn], f"role {role_id}, managed policy {arn}")
        for policy_id, policy in self.resources.items():
            if policy["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and \
                    {"Ref": role_id} in policy["Properties"].get("Roles", []):
                found += statements(self.resolve(policy["Properties"]["PolicyDocument"]), f"policy {policy_id}")
        role_arn = f"arn:{self.pseudo.partition}:iam::{self.pseudo.account}:role/{role_name}"
        session_arn = f"arn:{self.pseudo.partition}:sts::{self.pseudo.account}:assumed-role/{role_name}/{function}"
        return Identity(function, role_name, role_arn, session_arn, tuple(found))

    def bucket_policy(self, bucket_name: str) -> tuple[Statement, ...]:
        """The statements of the bucket policies of the bucket with this name."""
        found: list[Statement] = []
        for policy_id, resource in self.resources.items():
            if resource["Type"] == "AWS::S3::BucketPolicy" and self._exists(resource):
                props = resource["Properties"]
                if self.resolve(props["Bucket"]) == bucket_name:
                    found += statements(self.resolve(props["PolicyDocument"]), f"bucket policy {policy_id}")
        return tuple(found)

    def _role_name(self, role_id: str) -> str:
        name = self.resources[role_id]["Properties"].get("RoleName")
        # CloudFormation names an unnamed role <stack>-<logical id>-<random suffix>.
        return self.resolve(name) if name else f"{self.pseudo.stack_name}-{role_id}"

    def _exists(self, resource: Mapping) -> bool:
        return "Condition" not in resource or self.condition(resource["Condition"])

    # -------------------------------------------------------------- intrinsic functions (devstack/cfn/intrinsics.py)
    def ref(self, name: str):
        pseudo = {
            "AWS::AccountId": self.pseudo.account, "AWS::Region": self.pseudo.region,
            "AWS::Partition": self.pseudo.partition, "AWS::StackName": self.pseudo.stack_name,
            "AWS::StackId": self.pseudo.stack_id, "AWS::URLSuffix": self.pseudo.url_suffix,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        if name in self.resources:  # not deployed here (e.g. the distribution): its logical id stands in
            return name
        raise RenderError(f"!Ref to {name}, which is no parameter or resource of the template")

    def get_att(self, resource: str, attribute: str) -> str:
        kind = self.resources.get(resource, {}).get("Type")
        p = self.pseudo
        if attribute == "Arn" and kind == "AWS::S3::Bucket":
            return f"arn:{p.partition}:s3:::{self.ref(resource)}"
        if attribute == "Arn" and kind == "AWS::SQS::Queue":
            return f"arn:{p.partition}:sqs:{p.region}:{p.account}:{self.ref(resource)}"
        if attribute == "Arn" and kind == "AWS::Lambda::Function":
            return f"arn:{p.partition}:lambda:{p.region}:{p.account}:function:{self.ref(resource)}"
        if attribute == "Arn" and kind == "AWS::IAM::Role":
            return f"arn:{p.partition}:iam::{p.account}:role/{self._role_name(resource)}"
        if attribute == "Arn" and kind == "AWS::Cognito::UserPool":
            return f"arn:{p.partition}:cognito-idp:{p.region}:{p.account}:userpool/{self.ref(resource)}"
        if attribute == "RegionalDomainName" and kind == "AWS::S3::Bucket":
            return f"{self.ref(resource)}.s3.{p.region}.{p.url_suffix}"
        raise RenderError(f"Fn::GetAtt {resource}.{attribute} is not resolved here")
