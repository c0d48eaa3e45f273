"""The site client's OAuth settings as Custom::SignInUrls writes them (pure logic, a recording client)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("signin_urls", ROOT / "src" / "signin" / "signin_urls.py")
signin_urls = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(signin_urls)


class RecordingCognito:
    def __init__(self):
        self.updates = []

    def describe_user_pool_client(self, UserPoolId, ClientId):  # noqa: N803 (boto3's names)
        return {"UserPoolClient": {"ClientName": "site", "DefaultRedirectURI": "https://old.example/",
                                   "RefreshTokenValidity": 30}}

    def update_user_pool_client(self, **settings):
        self.updates.append(settings)


def test_callbacks_are_the_site_origins_and_the_cli_loopback_address():
    cognito = RecordingCognito()
    sites = ["https://d111.cloudfront.net/", "https://images.example.com/"]
    signin_urls.apply(cognito, "pool", "client", sites, ["openid", "email"])
    (update,) = cognito.updates
    assert update["CallbackURLs"] == [*sites, "http://localhost:8976/callback"]
    assert update["LogoutURLs"] == sites  # nothing signs out to the CLI
    assert update["RefreshTokenValidity"] == 30 and "DefaultRedirectURI" not in update


def test_the_cli_listens_where_the_client_lets_cognito_send_it():
    """Cognito matches callback URLs exactly, port included: the CLI's constant and the stack's must agree."""
    login = (ROOT / "cli" / "imageservice_cli" / "login.py").read_text()
    assert "CALLBACK_PORT = 8976" in login and 'f"http://localhost:{CALLBACK_PORT}/callback"' in login
    assert signin_urls.CLI_CALLBACK_URL == "http://localhost:8976/callback"


def test_site_urls_must_be_https():
    with pytest.raises(signin_urls.SignInUrlsError):
        signin_urls.apply(RecordingCognito(), "pool", "client", ["http://site.example/"], ["openid"])
