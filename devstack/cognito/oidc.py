"""A local OpenID Connect issuer for `make dev PARAMS="AuthMode=cognito"` (or oidc): it stands in for the
Cognito user pool or the owner's provider, so sign-in works without AWS.

It has its own RSA key pair and serves what the page and API Gateway's JWT authorizer use: the discovery
document, the JWKS, an authorize page where a developer picks a user (or types an e-mail address), a token
endpoint for the authorization-code grant with PKCE (S256 only, the verifier checked) and for refresh tokens,
a sign-out redirect, and (local only, for tests) /dev/mint, which signs an access token with changed claims.
Paths are Cognito's (/oauth2/authorize, /oauth2/token, /logout, /.well-known/jwks.json), so the page treats
both modes alike. Callback and sign-out URLs must be the local stack's own origin, as the deployed client's
are the site's.

Tokens: an id token (aud = the client id) and an access token that names the client as Cognito does
(`client_id`, no `aud`) in cognito mode and by `aud` (OidcApiAudience, else the client id) in oidc mode; both
signed RS256 with `kid`."""

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from ..apigw.jwt_authorizer import JwtAuthorizer, route_authorizers
from ..application import app
from ..cfn.template import Stack, http_api_bodies

DEV_USERS = ("alice@example.com", "bob@example.com")
SCOPES = ("openid", "email", "profile")
CODE_SECONDS = 300
SESSION_COOKIE = "local_issuer_session"
DEFAULT_TOKEN_SECONDS = 3600
USER_NAMESPACE = uuid.UUID("5b0f9f3e-55a8-4b51-9bb7-7d1b7c9b0a11")  # subs are stable per e-mail address
# form-action covers the redirect after the form too, so it names the site the code goes back to.
PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {site}; frame-ancestors 'none'; "
            "base-uri 'none'")


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    scope: str
    email: str
    nonce: str
    expires: float


class LocalIssuer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, mode: str, client_id: str, site_origins: tuple[str, ...],
                 token_seconds: int = DEFAULT_TOKEN_SECONDS, api_audience: str | None = None):
        super().__init__((host, 0), _IssuerHandler)
        self.mode, self.client_id, self.token_seconds = mode, client_id, token_seconds
        # The aud of access tokens in oidc mode: OidcApiAudience, as providers that name their APIs send it.
        self.api_audience = api_audience or client_id
        self.site_urls = {f"{origin.rstrip('/')}/" for origin in site_origins}
        self.callback_urls = self.site_urls | set(app.EXTRA_CALLBACK_URLS)
        self.key = RSAKey.generate_key(2048, parameters={"kid": f"local-{secrets.token_hex(4)}", "use": "sig",
                                                          "alg": "RS256"})
        self.issuer = f"http://{host}:{self.server_address[1]}"
        self._grants: dict[str, Grant] = {}
        self._refresh: dict[str, tuple[str, str]] = {}  # refresh token -> (email, scope)
        # The issuer's own sign-in sessions (a cookie on its origin), as Cognito's hosted pages and other
        # providers keep them: an authorize request with a live session returns at once, without a prompt.
        self._sessions: dict[str, str] = {}  # session cookie -> email
        self._lock = threading.Lock()

    @property
    def jwks(self) -> dict:
        return KeySet([self.key]).as_dict(private=False)

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/oauth2/authorize",
            "token_endpoint": f"{self.issuer}/oauth2/token",
            "end_session_endpoint": f"{self.issuer}/logout",
            "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": list(SCOPES),
            "token_endpoint_auth_methods_supported": ["none"],
            "prompt_values_supported": ["none", "login"],
        }

    # ------------------------------------------------------------------ sessions
    def start_session(self, email: str) -> str:
        session = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[session] = email
        return session

    def session_user(self, session: str | None) -> str | None:
        with self._lock:
            return self._sessions.get(session or "")

    def end_session(self, session: str | None) -> None:
        with self._lock:
            self._sessions.pop(session or "", None)

    # ------------------------------------------------------------------ tokens
    def mint(self, email: str, scope: str = " ".join(SCOPES), **changes) -> str:
        """An access token for `email`; `changes` replace or (with None) remove claims: for tests."""
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": subject_of(email), "iat": now, "auth_time": now,
                  "exp": now + self.token_seconds, "jti": str(uuid.uuid4()), "scope": scope, "token_use": "access",
                  "username": email}
        claims.update({"client_id": self.client_id} if self.mode == "cognito" else
                      {"aud": self.api_audience, "azp": self.client_id})
        return self.sign(_changed(claims, changes))

    def id_token(self, email: str, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": subject_of(email), "aud": self.client_id, "iat": now,
                  "auth_time": now, "exp": now + self.token_seconds, "token_use": "id", "email": email,
                  "email_verified": True, "cognito:username" if self.mode == "cognito" else "preferred_username": email}
        if nonce:
            claims["nonce"] = nonce
        return self.sign(claims)

    def sign(self, claims: dict, key: RSAKey | None = None) -> str:
        key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)

    def tokens(self, email: str, scope: str, nonce: str = "") -> dict:
        refresh_token = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh[refresh_token] = (email, scope)
        return {"access_token": self.mint(email, scope), "id_token": self.id_token(email, nonce),
                "refresh_token": refresh_token, "token_type": "Bearer", "expires_in": self.token_seconds}

    # ------------------------------------------------------------------ the code flow
    def check_authorize(self, query: dict[str, str]) -> str | None:
        """What is wrong with an authorize request, or None; an error is shown, never redirected to."""
        if query.get("client_id") != self.client_id:
            return "Unknown client_id."
        if query.get("redirect_uri") not in self.callback_urls:
            return "redirect_uri is not one of this client's callback URLs."
        if query.get("response_type") != "code":
            return "Only response_type=code is supported."
        if query.get("code_challenge_method") != "S256" or len(query.get("code_challenge", "")) < 43:
            return "PKCE is required: code_challenge with code_challenge_method=S256."
        return None

    def grant(self, query: dict[str, str], email: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = Grant(query["client_id"], query["redirect_uri"], query["code_challenge"],
                                       query.get("scope") or "openid", email, query.get("nonce", ""),
                                       time.monotonic() + CODE_SECONDS)
        return code

    def exchange(self, form: dict[str, str]) -> dict:
        """The token endpoint: raises ValueError(OAuth error code) on a bad request."""
        if form.get("client_id") != self.client_id:
            raise ValueError("invalid_client")
        if form.get("grant_type") == "authorization_code":
            with self._lock:
                grant = self._grants.pop(form.get("code", ""), None)  # a code works once
            if grant is None or grant.expires < time.monotonic() or grant.redirect_uri != form.get("redirect_uri"):
                raise ValueError("invalid_grant")
            verifier = form.get("code_verifier", "").encode("ascii", "replace")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            if not secrets.compare_digest(challenge, grant.code_challenge):
                raise ValueError("invalid_grant")
            return self.tokens(grant.email, grant.scope, grant.nonce)
        if form.get("grant_type") == "refresh_token":
            with self._lock:
                known = self._refresh.get(form.get("refresh_token", ""))
            if known is None:
                raise ValueError("invalid_grant")
            email, scope = known
            return {"access_token": self.mint(email, scope), "id_token": self.id_token(email, ""),
                    "token_type": "Bearer", "expires_in": self.token_seconds}
        raise ValueError("unsupported_grant_type")

    def start(self) -> "LocalIssuer":
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="issuer", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def subject_of(email: str) -> str:
    return str(uuid.uuid5(USER_NAMESPACE, email.strip().lower()))


def _changed(claims: dict, changes: dict) -> dict:
    claims = {**claims, **changes}
    return {name: value for name, value in claims.items() if value is not None}


class _IssuerHandler(BaseHTTPRequestHandler):
    server: LocalIssuer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet; the stack logs API requests
        pass

    def do_GET(self):
        target = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(target.query).items()}
        if target.path == "/.well-known/openid-configuration":
            self._json(200, self.server.discovery())
        elif target.path == "/.well-known/jwks.json":
            self._json(200, self.server.jwks)
        elif target.path == "/oauth2/authorize":
            problem = self.server.check_authorize(query)
            user = self.server.session_user(self._session())
            if problem:
                self._page(400, _error_page(problem))
            elif user and query.get("prompt") != "login":  # signed in here already: straight back, no prompt
                code = self.server.grant(query, user)
                self._redirect(f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}")
            elif query.get("prompt") == "none":  # OpenID Connect: no page may be shown, so say why not
                answer = {"error": "login_required", "state": query.get("state", "")}
                self._redirect(f"{query['redirect_uri']}?{urlencode(answer)}")
            else:
                self._page(200, _sign_in_page(query))
        elif target.path == "/logout":
            back = query.get("logout_uri") or query.get("post_logout_redirect_uri")
            if query.get("client_id") != self.server.client_id or back not in self.server.site_urls:
                self._page(400, _error_page("logout_uri is not one of this client's sign-out URLs."))
            else:
                self.server.end_session(self._session())
                self._redirect(back, [("Set-Cookie", f"{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax")])
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self):
        target = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > 64 * 1024:
            self._json(413, {"error": "invalid_request"})
            return
        form = {name: values[0] for name, values in parse_qs(self.rfile.read(length).decode("utf-8", "replace"),
                                                              keep_blank_values=True).items()}
        if target.path == "/oauth2/authorize":
            problem = self.server.check_authorize(form)
            email = form.get("email", "").strip().lower()
            if problem or "@" not in email or len(email) > 254:
                self._page(400, _error_page(problem or "Choose a user or type an e-mail address."))
                return
            code = self.server.grant(form, email)
            cookie = f"{SESSION_COOKIE}={self.server.start_session(email)}; Path=/; HttpOnly; SameSite=Lax"
            self._redirect(f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form.get('state', '')})}",
                           [("Set-Cookie", cookie)])
        elif target.path == "/oauth2/token":
            try:
                self._json(200, self.server.exchange(form))
            except ValueError as error:
                self._json(400, {"error": str(error)})
        elif target.path == "/dev/mint":
            # Local only, for tests of the authorizer: an access token with claims changed (an exp in the past,
            # another aud). Anyone may sign in as anyone here anyway; the deployed issuers have nothing like it.
            try:
                changes = json.loads(form.get("claims") or "{}")
                self._json(200, {"access_token": self.server.mint(form.get("email", "alice@example.com"), **changes)})
            except (ValueError, TypeError):
                self._json(400, {"error": "invalid_request"})
        else:
            self._json(404, {"error": "not_found"})

    def do_OPTIONS(self):
        self._send(204, [("Access-Control-Allow-Methods", "GET, POST"),
                         ("Access-Control-Allow-Headers", "Content-Type"), ("Access-Control-Max-Age", "600")], b"")

    # ------------------------------------------------------------------ answers
    def _json(self, status: int, body: dict) -> None:
        self._send(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                   json.dumps(body).encode())

    def _page(self, status: int, text: str) -> None:
        sites = " ".join(url.rstrip("/") for url in sorted(self.server.site_urls))
        self._send(status, [("Content-Type", "text/html; charset=utf-8"),
                            ("Content-Security-Policy", PAGE_CSP.format(site=sites)),
                            ("Cache-Control", "no-store")], text.encode())

    def _redirect(self, location: str, headers: list[tuple[str, str]] = ()) -> None:
        self._send(302, [("Location", location), ("Cache-Control", "no-store"), *headers], b"")

    def _session(self) -> str | None:
        cookies = SimpleCookie(self.headers.get("Cookie") or "")
        return cookies[SESSION_COOKIE].value if SESSION_COOKIE in cookies else None

    def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        origin = self.headers.get("Origin")
        if origin and f"{origin}/" in self.server.site_urls:  # the page reads discovery, JWKS and tokens
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _sign_in_page(query: dict[str, str]) -> str:
    hidden = "".join(f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
                     for name, value in query.items() if name != "email")
    users = "".join(
        f'<li><button type="submit" name="email" value="{html.escape(email)}">'
        f'Sign in as {html.escape(email)}</button></li>'
        for email in DEV_USERS)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in (local)</title>
<style>body{{font:16px system-ui;margin:3rem auto;max-width:28rem}}li{{margin:.5rem 0}}
button,input{{font:inherit}}</style>
</head><body><main><h1>Sign in</h1><p>The local stack's own issuer: pick a user, or type any e-mail address.
Nothing is checked but PKCE.</p><form method="post" action="/oauth2/authorize">{hidden}<ul>{users}</ul>
<p><label for="email">E-mail address</label><br><input id="email" name="email" type="email" autocomplete="off">
<button type="submit">Sign in</button></p></form></main></body></html>"""


def _error_page(problem: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head>
<body><main><h1>Sign-in error</h1><p>{html.escape(problem)}</p></main></body></html>"""


# ---------------------------------------------------------------------------- wiring into the local stack
class LocalSignIn:
    """What AuthMode cognito or oidc changes in the local stack: the issuer, the functions' AUTH_* variables,
    the API's JWT authorizer (the edge's CSP names the issuer: devstack.stack.edge_headers)."""

    def __init__(self, issuer: LocalIssuer, authorizer: JwtAuthorizer):
        self.issuer, self.authorizer = issuer, authorizer

    @classmethod
    def start(cls, stack: Stack, host: str, site_origins: tuple[str, ...],
              token_seconds: int = DEFAULT_TOKEN_SECONDS) -> "LocalSignIn | None":
        """None with AuthMode none (no route of the template's API has an authorizer)."""
        routes = {}
        for body in http_api_bodies(stack).values():
            routes.update(route_authorizers(body))
        if not routes:
            return None
        audiences = {audience for route in routes.values() for audience in route.authorizer.audiences if audience}
        audience = min(audiences) if audiences else "local-site"  # oidc mode with OidcAudience left empty
        # The page's client is the functions' AUTH_CLIENT_ID; the authorizer's audience may be another
        # (OidcApiAudience), which the local issuer then puts in its access tokens' aud.
        client_id = next((value for function in stack.functions.values()
                          if (value := function.environment.get(app.AUTH_CLIENT_ID_VARIABLE))), audience)
        mode = stack.parameters.get("AuthMode", "oidc")
        issuer = LocalIssuer(host, mode, client_id, site_origins, token_seconds, api_audience=audience).start()
        # The local issuer stands in for the template's (Cognito's, or OidcIssuer), audience unchanged.
        local_routes = {
            key: type(route)(type(route.authorizer)(route.authorizer.name, issuer.issuer, (audience,),
                                                     route.authorizer.identity_header), route.scopes)
            for key, route in routes.items()
        }
        return cls(issuer, JwtAuthorizer(local_routes))

    def function_environment(self) -> dict[str, str]:
        hosted = self.issuer.issuer if self.issuer.mode == "cognito" else ""
        return {app.AUTH_ISSUER_VARIABLE: self.issuer.issuer, app.AUTH_CLIENT_ID_VARIABLE: self.issuer.client_id,
                app.AUTH_SIGN_IN_URL_VARIABLE: hosted}

    def stop(self) -> None:
        self.issuer.stop()
