"""Secrets Manager as the local stack reads the template (devstack/cfn/template.py): each secret generated once per
stack by GenerateSecretString's rules, and {{resolve:secretsmanager:...}} resolved to it wherever it is spelled."""

import string

import pytest

from devstack.cfn.template import Stack, TemplateError, generated_secret, secret_arn, stack_resolver


def test_generation_follows_the_rules_it_is_given():
    for _ in range(50):
        value = generated_secret("S", {"GenerateSecretString": {"PasswordLength": 20, "ExcludePunctuation": True,
                                                                "ExcludeCharacters": "abc"}})
        assert len(value) == 20 and set(value) <= set(string.ascii_letters + string.digits) - set("abc")
        assert {kind for kind in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
                if set(value) & set(kind)} == {string.ascii_lowercase, string.ascii_uppercase, string.digits}
    assert len(generated_secret("S", {"GenerateSecretString": {}})) == 32  # GetRandomPassword's default length
    assert generated_secret("S", {"SecretString": "given"}) == "given"


def test_rules_the_local_stack_does_not_know_fail_loudly():
    with pytest.raises(TemplateError, match="GenerateSecretString"):
        generated_secret("S", {"GenerateSecretString": {"SecretStringTemplate": "{}", "GenerateStringKey": "k"}})


def stack_with_secret() -> Stack:
    template = {"Resources": {"Key": {"Type": "AWS::SecretsManager::Secret",
                                      "Properties": {"GenerateSecretString": {}}}}}
    return Stack(template=template, parameters={}, secrets={"Key": "s3cr3t"})


@pytest.mark.parametrize("reference", [
    {"Fn::Sub": "{{resolve:secretsmanager:${Key}:SecretString}}"},
    {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "Key"}, ":SecretString}}"]]},
    {"Fn::Sub": "Bearer {{resolve:secretsmanager:${Key}:SecretString::AWSCURRENT}}!"},
])
def test_a_reference_to_the_stack_s_secret_resolves_to_its_value(reference):
    resolved = stack_resolver(stack_with_secret()).resolve(reference)
    assert resolved.replace("Bearer ", "").rstrip("!") == "s3cr3t"
    assert secret_arn("Key").startswith("arn:aws:secretsmanager:")


@pytest.mark.parametrize("reference", [
    "{{resolve:secretsmanager:other:SecretString}}",  # not a secret of the stack
    {"Fn::Sub": "{{resolve:secretsmanager:${Key}:SecretString:password}}"},  # a JSON key: the value is no JSON
    {"Fn::Sub": "{{resolve:secretsmanager:${Key}:SecretString:::0123456789abcdef0123456789abcdef}}"},  # a version
    "{{resolve:ssm:/some/parameter}}",
])
def test_a_reference_the_local_stack_cannot_follow_fails_loudly(reference):
    with pytest.raises(TemplateError):
        stack_resolver(stack_with_secret()).resolve(reference)
