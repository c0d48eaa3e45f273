"""template.yaml as CloudFormation receives it: after the SAM transform (scripts/translate_template.py, offline),
and the values its intrinsic functions take for a given stack name and parameters."""

import copy
import functools
import importlib.util
import os
import re
from pathlib import Path

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


class Resolver:
    """Values of a transformed template's intrinsic functions, as CloudFormation would compute them for one stack.

    A resource's Ref or attribute resolves to `physical(logical_id, attribute)`: tests pass the longest value
    the service may generate, so lengths computed here are upper bounds."""

    def __init__(self, template: dict, stack_name: str, stack_uuid: str, parameters: dict | None = None,
                 physical=None, region: str = "ap-southeast-2", account: str = "123456789012"):
        self.template = template
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
        self.parameters.update(parameters or {})
        self.physical = physical or (lambda logical_id, attribute=None: f"{logical_id}.{attribute}")
        self.pseudo = {
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/{stack_uuid}",
            "AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": None,
        }

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, value):
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not None]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self._ref(argument)
            if name == "Condition":
                return self.condition(argument)
            if name.startswith("Fn::"):
                return self._function(name, argument)
        return {key: resolved for key, item in value.items() if (resolved := self.resolve(item)) is not None}

    def _ref(self, name: str):
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.physical(name, None)

    def _function(self, name: str, argument):
        if name == "Fn::If":
            condition, if_true, if_false = argument
            return self.resolve(if_true if self.condition(condition) else if_false)
        if name == "Fn::Equals":
            left, right = self.resolve(argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self.resolve(argument[0])
        if name == "Fn::And":
            return all(self.resolve(argument))
        if name == "Fn::Or":
            return any(self.resolve(argument))
        if name == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.physical(logical_id, attribute)
        if name == "Fn::Select":
            index, items = self.resolve(argument)
            return items[int(index)]
        if name == "Fn::Split":
            separator, text = self.resolve(argument)
            return text.split(separator)
        if name == "Fn::Join":
            separator, items = self.resolve(argument)
            return separator.join(str(item) for item in items)
        if name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            values = {key: self.resolve(item) for key, item in variables.items()}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(self._sub_name(m.group(1), values)), text)
        raise NotImplementedError(f"{name} is not resolved by the tests")

    def _sub_name(self, name: str, values: dict):
        if name in values:
            return values[name]
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return self.physical(logical_id, attribute)
        return self._ref(name)
