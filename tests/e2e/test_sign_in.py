"""AuthMode cognito and oidc on the local stack: its issuer, API Gateway's JWT authorizer, ownership over HTTP,
and the page signing in and out in headless Chromium under the CSP."""

import base64
import hashlib
import json
import re
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from page_helpers import WATCH_SCRIPT, PageWatch, drop_files, landscape_jpeg, launch_browser, watch_csp
from playwright.sync_api import expect, sync_playwright

pytestmark = [pytest.mark.e2e]

UNAUTHORIZED = {"message": "Unauthorized"}


def sign_in(stack_url: str, email: str) -> dict:
    """The code flow with PKCE as a browser runs it, over plain HTTP: the tokens for `email`."""
    options = requests.get(f"{stack_url}/api/options", timeout=10).json()["sign_in"]
    issuer = options["issuer"]
    discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {"response_type": "code", "client_id": options["client_id"], "redirect_uri": f"{stack_url}/",
             "scope": "openid email", "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"}
    page = requests.get(discovery["authorization_endpoint"], params=query, timeout=10)
    assert page.status_code == 200 and "Sign in as alice@example.com" in page.text
    back = requests.post(discovery["authorization_endpoint"], data={**query, "email": email}, allow_redirects=False,
                         timeout=10)
    assert back.status_code == 302
    location = urlsplit(back.headers["Location"])
    assert f"{location.scheme}://{location.netloc}/" == f"{stack_url}/"
    code = parse_qs(location.query)["code"][0]
    exchange = {"grant_type": "authorization_code", "client_id": options["client_id"], "code": code,
                "redirect_uri": f"{stack_url}/"}
    wrong = requests.post(discovery["token_endpoint"], data={**exchange, "code_verifier": verifier[::-1]}, timeout=10)
    assert wrong.status_code == 400  # PKCE checked (and the code is spent)
    back = requests.post(discovery["authorization_endpoint"], data={**query, "email": email}, allow_redirects=False,
                         timeout=10)
    exchange["code"] = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    tokens = requests.post(discovery["token_endpoint"], data={**exchange, "code_verifier": verifier}, timeout=10)
    assert tokens.status_code == 200, tokens.text
    return {**tokens.json(), "issuer": issuer, "client_id": options["client_id"]}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def mint(issuer: str, email: str, **claims) -> str:
    answer = requests.post(f"{issuer}/dev/mint", data={"email": email, "claims": json.dumps(claims)}, timeout=10)
    return answer.json()["access_token"]


@pytest.fixture(scope="module", params=["cognito", "oidc"])
def mode(request):
    return request.param


@pytest.fixture
def signed_in_stack(start_stack, mode):
    return start_stack("--parameter-overrides", f"AuthMode={mode}", "--retry-delay", "0.2")


def test_only_signed_in_callers_reach_the_api_and_each_sees_only_their_own(signed_in_stack, mode, photo):
    url = signed_in_stack.url
    assert requests.get(f"{url}/api/health", timeout=10).status_code == 200
    assert requests.get(f"{url}/api/options", timeout=10).json()["sign_in"]["mode"] == mode
    answer = requests.post(f"{url}/api/images", data=photo(), headers={"Content-Type": "image/jpeg"}, timeout=10)
    assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED)
    assert answer.headers["www-authenticate"].startswith("Bearer")

    alice, bob = sign_in(url, "alice@example.com"), sign_in(url, "bob@example.com")
    created = requests.post(f"{url}/api/images", data=photo(), timeout=30,
                            headers={"Content-Type": "image/jpeg", **bearer(alice["access_token"])})
    assert created.status_code == 202, created.text
    image_id = created.json()["id"]
    done = requests.get(f"{url}/api/images/{image_id}", params={"wait": 20}, headers=bearer(alice["access_token"]),
                        timeout=30)
    assert done.status_code == 200 and done.json()["status"] == "done"
    listed = requests.get(f"{url}/api/images", headers=bearer(alice["access_token"]), timeout=30).json()
    assert [item["image"]["id"] for item in listed["images"]] == [image_id]

    # Bob: alice's id is unknown to him, on every route; his own list is empty.
    unknown = requests.get(f"{url}/api/images/0b4d6c1e-2f3a-4b5c-8d7e-9f0a1b2c3d4e",
                           headers=bearer(bob["access_token"]), timeout=10)
    for method, path in (("GET", image_id), ("GET", f"{image_id}/thumb"), ("DELETE", image_id)):
        theirs = requests.request(method, f"{url}/api/images/{path}", headers=bearer(bob["access_token"]),
                                  allow_redirects=False, timeout=10)
        assert (theirs.status_code, theirs.json()) == (404, unknown.json()), (method, path)
    assert requests.get(f"{url}/api/images", headers=bearer(bob["access_token"]), timeout=10).json()["images"] == []

    # Tokens API Gateway refuses: expired, for another audience, signed by another key, from another issuer.
    issuer = alice["issuer"]
    audience_claim = "client_id" if mode == "cognito" else "aud"
    other_key = RSAKey.generate_key(2048, parameters={"kid": KeySet.import_key_set(
        requests.get(f"{issuer}/.well-known/jwks.json", timeout=10).json()).keys[0].kid})
    forged = jwt.encode({"alg": "RS256", "kid": other_key.kid}, {
        "iss": issuer, "sub": "x", audience_claim: alice["client_id"], "exp": int(time.time()) + 600}, other_key)
    refused = {
        "expired": mint(issuer, "alice@example.com", exp=int(time.time()) - 3600),
        "another audience": mint(issuer, "alice@example.com", **{audience_claim: "another-client"}),
        "another key": forged,
        "another issuer": mint(issuer, "alice@example.com", iss="https://issuer.example.com"),
    }
    for why, token in refused.items():
        answer = requests.get(f"{url}/api/images/{image_id}", headers=bearer(token), timeout=10)
        assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED), why
    fresh = requests.get(f"{url}/api/images/{image_id}", headers=bearer(mint(issuer, "alice@example.com")), timeout=10)
    assert fresh.status_code == 200

    # The refresh token gives a new access token; the id token names alice.
    renewed = requests.post(f"{issuer}/oauth2/token", timeout=10, data={
        "grant_type": "refresh_token", "client_id": alice["client_id"], "refresh_token": alice["refresh_token"]})
    assert requests.get(f"{url}/api/images", headers=bearer(renewed.json()["access_token"]), timeout=10).ok
    deleted = requests.delete(f"{url}/api/images/{image_id}", headers=bearer(alice["access_token"]), timeout=10)
    assert deleted.status_code == 204


def cookie_header(answer: requests.Response) -> dict:
    """The signed cookies a browser would send back (requests keeps Secure cookies from plain http)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in answer.cookies.items())}


def test_signed_cookies_admit_the_owner_s_images_at_the_edge_and_no_one_else_s(signed_in_stack, photo):
    url = signed_in_stack.url
    alice, bob = sign_in(url, "alice@example.com"), sign_in(url, "bob@example.com")
    created = requests.post(f"{url}/api/images", data=photo(), timeout=30,
                            headers={"Content-Type": "image/jpeg", **bearer(alice["access_token"])})
    image_id = created.json()["id"]
    assert requests.get(f"{url}/api/images/{image_id}", params={"wait": 20}, headers=bearer(alice["access_token"]),
                        timeout=30).json()["status"] == "done"
    assert requests.post(f"{url}/api/session", headers={"Origin": url}, timeout=10).status_code == 401
    session = requests.post(f"{url}/api/session", headers={"Origin": url, **bearer(alice["access_token"])}, timeout=10)
    assert session.status_code == 200, session.text
    path = session.json()["path"]
    address = f"{url}{path}/{image_id}/640.auto"
    first = requests.get(address, headers={"Accept": "image/webp", **cookie_header(session)}, timeout=60)
    assert (first.status_code, first.headers["Content-Type"]) == (200, "image/webp")
    again = requests.get(address, headers={"Accept": "image/webp", **cookie_header(session)}, timeout=10)
    assert again.headers["X-Cache"] == "Hit from cloudfront" and again.content == first.content

    # No cookie, or Bob's: CloudFront's 403, even for the cached image. Bob's own path with Alice's id: unknown.
    assert requests.get(address, headers={"Accept": "image/webp"}, timeout=10).status_code == 403
    bobs = requests.post(f"{url}/api/session", headers={"Origin": url, **bearer(bob["access_token"])}, timeout=10)
    refused = requests.get(address, headers={"Accept": "image/webp", **cookie_header(bobs)}, timeout=10)
    assert refused.status_code == 403 and b"AccessDenied" in refused.content
    swapped = requests.get(f"{url}{bobs.json()['path']}/{image_id}/640.auto", timeout=30,
                           headers={"Accept": "image/webp", **cookie_header(bobs)})
    assert (swapped.status_code, swapped.json()["error"]["code"]) == (404, "not_found")
    assert requests.get(f"{url}/img/{image_id}/640.auto", headers=cookie_header(session), timeout=10).status_code == 403

    # Deleted: gone from the edge too (the owner's path is invalidated).
    assert requests.delete(f"{url}/api/images/{image_id}", headers=bearer(alice["access_token"]), timeout=10).ok
    deadline = time.monotonic() + 30
    while (gone := requests.get(address, headers={"Accept": "image/webp", **cookie_header(session)},
                                timeout=30)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)  # InvalidateFunction runs on the S3 event of DELETE's invalidations/{owner}/{id} object
    assert gone.status_code == 404  # it was a cache hit: the owner's path was invalidated


@pytest.mark.browser
def test_the_page_signs_in_uploads_lists_only_your_images_and_signs_out(signed_in_stack, mode):
    url = signed_in_stack.url
    bob = sign_in(url, "bob@example.com")
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["local-network-access"], origin=url)
        page = context.new_page()
        page.set_default_timeout(30_000)
        watch = PageWatch()
        watch.attach(page)
        page.add_init_script(WATCH_SCRIPT)
        watch_csp(page, url, watch)
        page.goto(url + "/")
        page.wait_for_function("() => document.documentElement?.dataset.signIn === 'signed-out'")
        expect(page.locator("#your-images")).to_be_hidden()
        expect(page.locator("#upload-button")).to_have_text("Sign in to upload")

        # Files chosen before signing in are kept across the trip to the issuer and back.
        drop_files(page, "#dropzone", [("lake.jpg", "image/jpeg", landscape_jpeg(1280, 853, seed=9, exif=False))])
        expect(page.locator(".card")).to_have_count(1)
        expect(page.locator("#upload-button")).to_be_enabled()
        expect(page.locator("#upload-button")).to_have_text("Sign in to upload")

        # Sign in by keyboard: the button, the issuer's user picker, and back.
        page.locator("#sign-in-button").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(lambda address: "/oauth2/authorize" in address)
        page.get_by_role("button", name="Sign in as alice@example.com").focus()
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.documentElement?.dataset.signIn === 'signed-in'")
        expect(page.locator("#account-user")).to_have_text("Signed in as alice@example.com")
        assert "code=" not in page.url  # the one-time code is kept out of the address bar
        # Tokens live in memory only: the storage holds the list (names, options), no token.
        stored = page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
        assert "eyJ" not in stored and "token" not in stored.lower(), stored
        assert page.evaluate("() => Object.keys(sessionStorage).length") == 0
        cards = page.locator(".card")
        expect(cards).to_have_count(1)
        expect(cards.first).to_have_attribute("data-state", "ready")
        expect(cards.first.locator(".file-name")).to_have_text("lake.jpg")
        expect(page.locator("#upload-button")).to_have_text("Upload")
        page.locator("#upload-button").click()
        page.wait_for_function("() => document.querySelector('.card[data-state=done]') !== null", timeout=60_000)
        own = page.locator("#your-images-list .owned")
        expect(own).to_have_count(1, timeout=20_000)
        expect(own.first).to_have_attribute("data-status", "done")
        expect(own.first.locator(".owned-variants li")).to_have_count(3)
        expect(own.first.locator(".owned-name")).to_have_text("lake.jpg")  # its name, not an id prefix
        expect(own.first.get_by_role("button", name="Delete: lake.jpg")).to_be_visible()
        image_id = own.first.get_attribute("data-id")

        # The API's addresses need a bearer token (401 to a link or an <img>, which carry none), so the page uses the
        # user's own /img/{owner}/... addresses, which the signed cookies of POST /api/session admit in this browser:
        # the list's preview comes from the edge, with no token and no Lambda once cached.
        edge_address = re.compile(rf"^{re.escape(url)}/img/[0-9a-f]{{64}}/{image_id}/[0-9]+\.auto$")
        page.wait_for_function("""(id) => {
            const img = document.querySelector(`#your-images-list .owned[data-id="${id}"] .owned-thumb`);
            return img && img.currentSrc.includes('/img/') && img.complete && img.naturalWidth > 0;
        }""", arg=image_id)
        thumb = own.first.locator(".owned-thumb")
        preview = thumb.evaluate("(img) => img.currentSrc")
        assert edge_address.match(preview), preview
        card = page.locator(".card[data-state=done]")
        expect(card.locator(".snippet.no-links")).to_have_count(0)
        snippet = card.locator(".snippet code").inner_text()
        assert f"/{image_id}/" in snippet and "/img/" in snippet and "/api/images/" not in snippet, snippet
        expect(card.locator(".snippet .hint")).to_contain_text("only in a browser signed in here")
        expect(card.locator("button", has_text="Copy link")).to_have_count(3)
        expect(card.locator(".variant")).to_have_count(3)  # the variants, with their downloads, are all there
        assert requests.get(f"{url}/api/images/{image_id}/large", timeout=10, allow_redirects=False).status_code == 401
        # The page's own fetch of that address is admitted by the cookies (HttpOnly: its script never sees them);
        # without them, or with another user's, CloudFront answers 403.
        assert page.evaluate("(src) => fetch(src).then((r) => r.status)", preview) == 200
        assert "CloudFront" not in page.evaluate("() => document.cookie")
        assert requests.get(preview, timeout=10).status_code == 403
        bobs = requests.post(f"{url}/api/session", headers={"Origin": url, **bearer(bob["access_token"])}, timeout=10)
        refused = requests.get(preview, headers=cookie_header(bobs), timeout=10)
        assert refused.status_code == 403 and b"AccessDenied" in refused.content

        # Bob, with his own token, cannot see it.
        theirs = requests.get(f"{url}/api/images/{image_id}", headers=bearer(bob["access_token"]), timeout=10)
        assert theirs.status_code == 404

        # A reload signs in again without a prompt: by itself where the issuer answers prompt=none (oidc; the
        # local issuer says so in its discovery document), with one press of Sign in where it is not known to
        # (Cognito's hosted pages, whose session lets the press return at once).
        seen, asked = [], []  # pages shown; requests made (redirects included)
        page.on("framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None)
        page.on("request", lambda request: asked.append(request.url))
        page.reload()
        if mode == "cognito":
            page.wait_for_function("() => document.documentElement?.dataset.signIn === 'signed-out'")
            page.locator("#sign-in-button").click()
        page.wait_for_function("() => document.documentElement?.dataset.signIn === 'signed-in'")
        expect(page.locator("#account-user")).to_have_text("Signed in as alice@example.com")
        assert not any("/oauth2/authorize" in address for address in seen), seen  # no sign-in page shown
        assert any("code=" in address for address in seen), seen
        authorize = [address for address in asked if "/oauth2/authorize" in address]
        assert len(authorize) == 1 and (mode == "oidc") == ("prompt=none" in authorize[0]), authorize
        expect(own).to_have_count(1, timeout=20_000)
        if mode == "oidc":  # the kept card was resumed once signed in again, not asked for while the page was leaving
            expect(page.locator(".card")).to_have_count(1)
            expect(page.locator(".card").first).to_have_attribute("data-state", "done")
        # Signed in again, the page asks for new cookies, and the list's preview comes from the edge once more.
        page.wait_for_function("""() => {
            const img = document.querySelector('#your-images-list .owned-thumb');
            return img && img.currentSrc.includes('/img/') && img.complete && img.naturalWidth > 0;
        }""")
        assert any(address.endswith("/api/session") for address in asked), asked

        # Delete from the list by keyboard, then sign out.
        own.first.locator(".owned-delete").focus()
        page.keyboard.press("Enter")
        expect(own).to_have_count(0)
        expect(page.locator("#your-images-empty")).to_be_visible()
        assert {c["name"] for c in context.cookies() if c["name"].startswith("CloudFront-")} == {
            "CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id", "CloudFront-Hash-Algorithm"}
        page.locator("#sign-out-button").click()
        page.wait_for_function("() => document.documentElement?.dataset.signIn === 'signed-out'")
        expect(page.locator("#sign-in-button")).to_be_visible()
        # Cleared on sign-out (the DELETE may finish after the page left and came back).
        deadline = time.monotonic() + 10
        while [c for c in context.cookies() if c["name"].startswith("CloudFront-")] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [c for c in context.cookies() if c["name"].startswith("CloudFront-")]
        page.reload()  # signed out stays signed out: no silent attempt after signing out
        page.wait_for_function("() => document.documentElement?.dataset.signIn === 'signed-out'")
        if mode == "oidc":  # a silent attempt the issuer answers login_required ends signed out, quietly
            page.evaluate("() => localStorage.setItem('image-processor:signed-in', '1')")
            asked.clear()
            page.reload()
            page.wait_for_function("() => document.documentElement?.dataset.signIn === 'signed-out'")
            assert any("prompt=none" in address for address in asked), asked
            assert page.evaluate("() => localStorage.getItem('image-processor:signed-in')") is None
            assert "is-error" not in (page.get_attribute("#notice", "class") or "")  # no error shown
        assert watch.csp_violations(page) == []
        assert watch.page_errors == []
        context.close()
        browser.close()
