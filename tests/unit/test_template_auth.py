"""Sign-in in template.yaml (AuthMode cognito and oidc): what a later deploy must not undo, and the audience
API Gateway's JWT authorizer accepts."""

import pytest

from devstack.cfn.template import read_stack, security_headers


def test_a_change_to_the_client_is_a_change_to_sign_in_urls(template):
    """UpdateUserPoolClient resets what it is not given, so every deploy that changes UserPoolClient wipes the
    callback URLs and OAuth flows SignInUrls set; CloudFormation runs SignInUrls again only when its own
    properties change. Its ClientSettings are the client's settings, so the two cannot change apart."""
    resources = template["Resources"]
    client = dict(resources["UserPoolClient"]["Properties"])
    assert client.pop("UserPoolId") == resources["SignInUrls"]["Properties"]["UserPoolId"]
    assert resources["SignInUrls"]["Properties"]["ClientSettings"] == client
    assert resources["SignInUrls"]["Properties"]["ClientId"] == {"Ref": "UserPoolClient"}  # updated after it
