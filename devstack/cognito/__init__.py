"""Cognito on one machine: a local OpenID Connect issuer standing in for the user pool's hosted sign-in."""
