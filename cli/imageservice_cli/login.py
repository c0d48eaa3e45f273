"""`imageservice login`: the authorization-code flow with PKCE through the user's browser and a loopback
redirect (RFC 8252), as `gh auth login` and `aws sso login` do. The client is the site's own public client
(no secret); the tokens are kept by settings.save_tokens and renewed with the refresh token."""

import base64
import hashlib
import secrets
import sys
import threading
import time
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from . import settings
from .main import REFUSED, UNREACHABLE, USAGE, Client, CommandError, why_unreachable

# Cognito matches callback URLs exactly (port included) and allows plain http only for localhost, so the
# redirect is one fixed address, which the stack registers beside the site's (src/signin/signin_urls.py).
CALLBACK_PORT = 8976
CALLBACK_URL = f"http://localhost:{CALLBACK_PORT}/callback"
SIGN_IN_SECONDS = 300  # how long the browser has to come back
RENEW_MARGIN_SECONDS = 60


def _endpoints(client: Client) -> dict:
    sign_in = client.options().get("sign_in") or {}
    if sign_in.get("mode", "none") == "none" or not sign_in.get("client_id"):
        raise CommandError(USAGE, f"{client.url} lets anyone upload (AuthMode none): there is nothing to sign in to")
    if not sign_in.get("authorization_endpoint") or not sign_in.get("token_endpoint"):
        discovery = f"{sign_in['issuer'].rstrip('/')}/.well-known/openid-configuration"
        try:
            found = requests.get(discovery, timeout=30).json()
        except (requests.RequestException, ValueError) as error:
            raise CommandError(UNREACHABLE, f"cannot read the sign-in settings at {discovery}: {error}") from None
        sign_in = {**sign_in, "authorization_endpoint": found["authorization_endpoint"],
                   "token_endpoint": found["token_endpoint"]}
    return sign_in


class _Callback(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        query = parse_qs(urlsplit(self.path).query)
        if urlsplit(self.path).path != "/callback":
            self.send_error(404)
            return
        self.server.answer = {name: values[0] for name, values in query.items()}
        ok = "code" in self.server.answer
        body = ("<!doctype html><title>imageservice</title><p>"
                + ("Signed in. You can close this tab and go back to the terminal." if ok
                   else "Sign-in did not finish. Go back to the terminal.") + "</p>").encode()
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # the terminal is for the user, not for access logs
        pass


def _token_request(endpoint: str, form: dict) -> dict:
    try:
        answer = requests.post(endpoint, data=form, timeout=30)
    except requests.RequestException as error:
        raise CommandError(UNREACHABLE, f"could not reach the sign-in service: {why_unreachable(error)}") from None
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200 or "access_token" not in body:
        reason = body.get("error_description") or body.get("error") or f"HTTP {answer.status_code}"
        raise CommandError(REFUSED, f"sign-in refused: {reason}")
    return body


def _kept(body: dict, sign_in: dict, refresh_token: str | None = None) -> dict:
    return {"access_token": body["access_token"], "refresh_token": body.get("refresh_token") or refresh_token,
            "expires_at": int(time.time()) + int(body.get("expires_in", 3600)),
            "token_endpoint": sign_in["token_endpoint"], "client_id": sign_in["client_id"]}


def login(client: Client, no_browser: bool = False) -> Path:
    sign_in = _endpoints(client)
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    try:
        server = HTTPServer(("127.0.0.1", CALLBACK_PORT), _Callback)
    except OSError as error:
        raise CommandError(USAGE, f"cannot listen on {CALLBACK_URL} for the sign-in's answer: {error.strerror}; "
                                  "is another imageservice login running?") from None
    server.answer = None
    server.timeout = 1
    query = {"response_type": "code", "client_id": sign_in["client_id"], "redirect_uri": CALLBACK_URL,
             "scope": " ".join(sign_in.get("scopes") or ["openid", "email"]), "state": state,
             "code_challenge": challenge, "code_challenge_method": "S256"}
    address = f"{sign_in['authorization_endpoint']}?{urlencode(query)}"
    print(f"Sign in at this address (waiting {SIGN_IN_SECONDS // 60} minutes):\n{address}", file=sys.stderr, flush=True)
    if not no_browser:
        threading.Thread(target=webbrowser.open, args=(address,), daemon=True).start()
    deadline = time.monotonic() + SIGN_IN_SECONDS
    try:
        while server.answer is None and time.monotonic() < deadline:
            server.handle_request()
    finally:
        server.server_close()
    answer = server.answer
    if answer is None:
        raise CommandError(REFUSED, "sign-in timed out: the browser did not come back")
    if answer.get("state") != state:
        raise CommandError(REFUSED, "sign-in refused: the answer was not for this request (state differs)")
    if "code" not in answer:
        raise CommandError(REFUSED, f"sign-in refused: {answer.get('error_description') or answer.get('error')}")
    body = _token_request(sign_in["token_endpoint"], {
        "grant_type": "authorization_code", "client_id": sign_in["client_id"], "code": answer["code"],
        "redirect_uri": CALLBACK_URL, "code_verifier": verifier})
    return settings.save_tokens(client.url, _kept(body, sign_in))


def current_access_token(url: str) -> str | None:
    """The access token login kept for `url`, renewed with the refresh token when it is about to expire."""
    kept = settings.saved_tokens(url)
    if not kept or "access_token" not in kept:
        return None
    if kept.get("expires_at", 0) - RENEW_MARGIN_SECONDS > time.time() or not kept.get("refresh_token"):
        return kept["access_token"]
    try:
        body = _token_request(kept["token_endpoint"], {"grant_type": "refresh_token", "client_id": kept["client_id"],
                                                       "refresh_token": kept["refresh_token"]})
    except CommandError:
        return kept["access_token"]  # the API will say 401, and the message says to sign in again
    renewed = _kept(body, {"token_endpoint": kept["token_endpoint"], "client_id": kept["client_id"]},
                    kept["refresh_token"])
    settings.save_tokens(url, renewed)
    return renewed["access_token"]
