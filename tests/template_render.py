"""template.yaml as CloudFormation receives it: after the SAM transform (scripts/translate_template.py, offline),
and the values its intrinsic functions take for a given stack name and parameters."""

import copy
import functools
import importlib.util
import os
from pathlib import Path

from devstack.cfn.intrinsics import Intrinsics

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = ROOT / "template.yaml"


@functools.cache
def _translate_module():
    spec = importlib.util.spec_from_file_location("translate_template", ROOT / "scripts" / "translate_template.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def transform(template: dict) -> dict:
    """A parsed template (a copy is taken) after the SAM transform, code paths replaced as `sam package` would."""
    from samtranslator.translator.transform import transform as sam_transform

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    module = _translate_module()
    return sam_transform(module.as_packaged(copy.deepcopy(template)), {}, module.OfflinePolicyLoader())


@functools.cache
def _transformed() -> dict:
    from samtranslator.yaml_helper import yaml_parse

    return transform(yaml_parse(TEMPLATE_PATH.read_text()))


def transformed() -> dict:
    """template.yaml after the SAM transform (a fresh copy: callers may change it)."""
    return copy.deepcopy(_transformed())


def _placeholder(logical_id: str, attribute: str | None = None) -> str:
    """A stand-in value of a Ref or attribute, URL-shaped for a function URL (the template takes its host)."""
    if attribute == "FunctionUrl":
        return f"https://{logical_id}.lambda-url.ap-southeast-2.on.aws/"
    return f"{logical_id}.{attribute}"


class Resolver(Intrinsics):
    """Values of a transformed template's intrinsic functions, as CloudFormation would compute them for one stack.

    A resource's Ref or attribute resolves to `physical(logical_id, attribute)`: tests pass the longest value
    the service may generate, so lengths computed here are upper bounds."""

    error = NotImplementedError

    def __init__(self, template: dict, stack_name: str, stack_uuid: str, parameters: dict | None = None,
                 physical=None, region: str = "ap-southeast-2", account: str = "123456789012"):
        super().__init__(template.get("Conditions", {}))
        self.template = template
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
        self.parameters.update(parameters or {})
        self.physical = physical or _placeholder
        self.pseudo = {
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/{stack_uuid}",
            "AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name: str):
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.physical(name, None)

    def get_att(self, resource: str, attribute: str):
        return self.physical(resource, attribute)
