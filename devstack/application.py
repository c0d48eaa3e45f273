"""The application the local stack runs: the root module `devstack_app`, imported here and nowhere else.

devstack/ knows AWS (S3, Lambda, API Gateway, CloudFormation, IAM, Cognito); where the template and the page
are, the stack's name, the health route and the application's advice text come from that module."""

import devstack_app as app

__all__ = ["app"]
