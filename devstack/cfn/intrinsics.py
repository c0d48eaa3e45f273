"""CloudFormation's intrinsic functions, evaluated for one stack: the one evaluator behind the local
stack's reading of template.yaml (devstack/cfn/template.py) and IAM's reading of the rendered template
(devstack/iam/roles.py). What a `Ref` or `Fn::GetAtt` gives depends on the reader; the rest does not."""

import re
from collections.abc import Mapping

NO_VALUE = object()  # AWS::NoValue: the property or list item is left out


class Intrinsics:
    """Resolves intrinsic functions; a subclass says what `ref` and `get_att` give, and which error an
    unknown name raises (`error`)."""

    error: type[Exception] = ValueError

    def __init__(self, conditions: Mapping):
        self.conditions = conditions

    def ref(self, name: str):
        raise NotImplementedError

    def get_att(self, resource: str, attribute: str) -> str:
        raise NotImplementedError

    def resolve(self, value):
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return NO_VALUE if argument == "AWS::NoValue" else self.ref(argument)
            if name.startswith("Fn::"):
                return self.intrinsic(name, argument)
            if name == "Condition" and isinstance(argument, str):
                return self.condition(argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise self.error(f"unknown condition {name}")
        return bool(self.resolve(self.conditions[name]))

    def intrinsic(self, name: str, argument):
        if name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            local = {key: str(self.resolve(item)) for key, item in variables.items()}
            return re.sub(r"\$\{([^}!]+)\}", lambda match: self._substitute(match[1], local), text)
        if name == "Fn::GetAtt":
            resource, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.get_att(resource, attribute)
        if name == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Fn::Split":
            separator, text = argument
            return self.resolve(text).split(separator)
        if name == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.resolve(items))
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
        raise self.error(f"{name} is not resolved here")

    def _substitute(self, variable: str, local: Mapping[str, str]) -> str:
        if variable in local:
            return local[variable]
        if "." in variable:
            return self.get_att(*variable.split(".", 1))
        return str(self.ref(variable))
