"""The site client's OAuth settings: the logic behind Custom::SignInUrls, with no CloudFormation in it.

Cognito's UpdateUserPoolClient replaces every setting it is not given, so the client is read first and
written back whole with the OAuth settings changed."""

# What DescribeUserPoolClient returns that UpdateUserPoolClient also takes (the rest are read-only).
UPDATABLE = (
    "ClientName", "RefreshTokenValidity", "AccessTokenValidity", "IdTokenValidity", "TokenValidityUnits",
    "ReadAttributes", "WriteAttributes", "ExplicitAuthFlows", "SupportedIdentityProviders", "DefaultRedirectURI",
    "AnalyticsConfiguration", "PreventUserExistenceErrors", "EnableTokenRevocation",
    "EnablePropagateAdditionalUserContextData", "AuthSessionValidity", "RefreshTokenRotation",
)


# The command-line client's loopback redirect (`imageservice login`, RFC 8252). Cognito matches callback URLs
# exactly and takes plain http only for localhost, so it is one fixed address; cli/imageservice_cli/login.py
# listens there, and the local stack's issuer accepts the same.
CLI_CALLBACK_URL = "http://localhost:8976/callback"


class SignInUrlsError(Exception):
    pass


def apply(cognito, user_pool_id: str, client_id: str, site_urls: list[str], scopes: list[str]) -> dict:
    """Make the client a public authorization-code client whose callback and sign-out URLs are the site's
    (and, for callbacks, the command-line client's loopback address)."""
    if not site_urls or not all(url.startswith("https://") for url in site_urls):
        raise SignInUrlsError(f"SiteUrls must be https:// URLs, not {site_urls!r}")
    client = cognito.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=client_id)["UserPoolClient"]
    settings = {name: client[name] for name in UPDATABLE if name in client}
    settings.update(
        UserPoolId=user_pool_id,
        ClientId=client_id,
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=list(scopes),
        SupportedIdentityProviders=client.get("SupportedIdentityProviders") or ["COGNITO"],
        CallbackURLs=[*site_urls, CLI_CALLBACK_URL],
        LogoutURLs=list(site_urls),
    )
    settings.pop("DefaultRedirectURI", None)  # would have to be one of the callback URLs
    cognito.update_user_pool_client(**settings)
    return settings
