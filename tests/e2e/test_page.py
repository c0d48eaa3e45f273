"""The web page (web/) in headless Chromium against the local stack, under the strict CSP.

The stack is conftest's `local_stack` (DirectUploadMaxBytes=200000). The page takes its limits and
choices from GET /api/options: files over the direct limit go straight to storage, and an answer
edited to claim a larger limit exercises the page's fallback when POST /api/images answers 413.

docs/screenshot.png is rewritten only with UPDATE_README_SCREENSHOT=1; artifacts/screenshots/ always.
"""

import io
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import requests
from page_helpers import (
    AXE_SCRIPT,
    DESKTOP,
    DOCS_SCREENSHOT,
    PHONE,
    UPDATE_README_SCREENSHOT,
    WATCH_SCRIPT,
    HeldRequests,
    PageWatch,
    assert_accessible,
    card_states,
    drop_files,
    edit_options,
    landscape_jpeg,
    launch_browser,
    paste_files,
    portrait_png,
    screenshot,
    shown_variants,
    transparent_png,
    truncated_jpeg,
    wait_finished,
    wait_images_loaded,
    watch_csp,
)
from PIL import Image
from playwright.sync_api import expect, sync_playwright

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, base_url):
    """open_page(viewport=DESKTOP, color_scheme="light", fake_clock=False, before_load=None,
    options_loaded=True, http_cache=False) -> (page, watch), the page loaded under the stack's CSP.
    `before_load(page)` runs before the page is opened (to route its requests); with `options_loaded`, the
    page's GET /api/options has answered and its controls are built. Without `http_cache`, request interception
    is on from the start (a pass-through route for the page), as the tests that route requests later were
    written for; Playwright turns the HTTP cache off for a page with routes, so a test of what the cache does
    asks for `http_cache` and routes nothing."""
    contexts = []

    def open_(viewport=DESKTOP, color_scheme="light", fake_clock=False, before_load=None, options_loaded=True,
              touch=False, site=None, http_cache=False):
        site = site or base_url  # the page's own origin: base_url, or another name of the same stack
        context = browser.new_context(viewport=viewport, color_scheme=color_scheme, reduced_motion="reduce",
                                      has_touch=touch, is_mobile=touch, accept_downloads=True)
        # local-network-access: a document Playwright fulfils (a test routing the page) has no address,
        # so Chromium counts it as public and would ask before it reaches the loopback storage server.
        # Served by the stack itself, or in a deployment (S3 is public), nothing asks.
        context.grant_permissions(["clipboard-read", "clipboard-write", "local-network-access"], origin=site)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        watch = PageWatch()
        watch.attach(page)
        page.add_init_script(WATCH_SCRIPT)
        page.add_init_script(path=AXE_SCRIPT)
        watch_csp(page, site, watch)
        if not http_cache:
            page.route(lambda url: url.rstrip("/") == site.rstrip("/"), lambda route: route.continue_())
        if fake_clock:
            page.clock.install()  # before the page's timers start, so they run on it too
        if before_load is not None:
            before_load(page)
        page.goto(site + "/")
        page.wait_for_function("() => document.documentElement.classList.contains('js-ready')")
        if options_loaded:
            page.wait_for_function("() => document.documentElement.dataset.options === 'ready'")
        return page, watch

    yield open_
    for context in contexts:
        context.close()


def api_options(base_url: str) -> dict:
    answer = requests.get(f"{base_url}/api/options", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def api_image(base_url: str, image_id: str) -> dict:
    answer = requests.get(f"{base_url}/api/images/{image_id}", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def card_image_id(page, card) -> str:
    """The image id a finished card shows."""
    return card.get_attribute("data-image-id")


def check_results(page, card, base_url: str) -> dict:
    """The card shows every variant the API reports, each image loaded at the reported size."""
    image = api_image(base_url, card_image_id(page, card))
    card_id = card.get_attribute("id")
    shown = {v["name"]: v for v in shown_variants(page, f"#{card_id}")}
    assert set(shown) == {v["name"] for v in image["variants"]}
    for variant in image["variants"]:
        on_page = shown[variant["name"]]
        loaded = (on_page["naturalWidth"], on_page["naturalHeight"])
        assert loaded == (variant["width"], variant["height"]), variant["name"]
        assert on_page["pixels"] == f"{variant['width']} × {variant['height']}"
        assert on_page["format"].lower() == variant["format"].lower()
    expect(card.locator(".expiry")).to_contain_text("Download links work until")
    # The snippet uses the site's /img addresses (AuthMode none: images at the edge), each an image of the width
    # its descriptor says, the largest the original's own.
    snippet = card.locator(".snippet code").text_content()
    candidates = re.findall(r"(http://127\.0\.0\.1:\d+/img/[^\s\"]+?) (\d+)w", snippet)
    assert candidates and all(address.startswith(base_url) for address, _ in candidates)
    for address, width in candidates:
        answer = requests.get(address, headers={"Accept": "image/avif,image/webp,*/*"}, timeout=60)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/avif", address
        assert Image.open(io.BytesIO(answer.content)).width == int(width), address
    assert int(candidates[-1][1]) == image["original"]["width"]
    assert f'width="{image["original"]["width"]}" height="{image["original"]["height"]}"' in snippet
    return image


def test_choose_two_files_and_see_the_results(open_page, base_url):
    page, watch = open_page()
    page.set_input_files("#file-input", files=[
        {"name": "lake at dusk.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg()},
        {"name": "shapes.png", "mimeType": "image/png", "buffer": portrait_png()},
    ])
    cards = page.locator(".card")
    expect(cards).to_have_count(2)
    expect(cards.first.locator(".badge")).to_have_text("Ready")
    expect(cards.first.locator("img.preview")).to_have_attribute("alt", "Preview of lake at dusk.jpg")
    expect(page.locator("#upload-button")).to_have_text("Upload 2 images")
    page.select_option("#format", "webp")
    page.click("#upload-button")

    wait_finished(page, 2)
    expect(page.locator(".card[data-state=done]")).to_have_count(2)
    wait_images_loaded(page)
    for index in range(2):
        check_results(page, cards.nth(index), base_url)
    for states in card_states(page).values():
        assert states == ["ready", "waiting", "uploading", "processing", "done"], states
    # Waiting held no function: the page polled the status objects and asked the API for each outcome, never
    # with ?wait= (docs/delivery.md, "Waiting without holding Lambdas").
    ids = {card_image_id(page, cards.nth(index)) for index in range(2)}
    status_polls = {url.rsplit("/", 1)[1] for method, url in watch.requests
                    if method == "GET" and re.search(r"/status/[0-9a-f-]{36}$", url)}
    image_reads = {url.rsplit("/", 1)[1] for method, url in watch.requests
                   if method == "GET" and re.search(r"/api/images/[0-9a-f-]{36}$", url)}
    assert status_polls == image_reads == ids, (status_polls, image_reads)
    assert not [url for _, url in watch.requests if "wait=" in url]

    lake = cards.first
    image = api_image(base_url, card_image_id(page, lake))
    assert {v["format"] for v in image["variants"]} == {"webp"}
    assert {"gps", "camera"} <= set(image["metadata_removed"])
    expect(lake.locator(".privacy")).to_contain_text("GPS location")
    expect(lake.locator(".compare-before")).to_have_attribute("alt", "lake at dusk.jpg as uploaded")
    expect(page.locator("#live-status")).to_contain_text("is ready")

    # Copy link copies the lasting address (it redirects to a fresh signed URL), not the signed URL that expires.
    lake.locator(".variant[data-variant=thumb] button", has_text="Copy link").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{base_url}/api/images/{image['id']}/thumb"
    assert requests.get(copied, timeout=30).headers["Content-Type"] == "image/webp"

    # 600 × 800 is under medium's 1024 too: large and medium are one file, shown once.
    shapes = cards.nth(1)
    expect(shapes.locator(".variant")).to_have_count(2)
    expect(shapes.locator(".variant[data-variant=large] .variant-aliases")).to_contain_text("Also medium")
    # Placeholders go once the images load; what shows through transparency is a checkerboard.
    for frame in page.locator(".variant-frame, .compare").all():
        expect(frame).to_have_class(re.compile(r"\bis-loaded\b"))
        assert "linear-gradient" in frame.evaluate("el => getComputedStyle(el).backgroundImage")
    expect(page.locator("#batch-summary")).to_contain_text("2 files processed")

    # The comparison slider moves with the keyboard.
    slider = lake.locator(".compare-range")
    slider.focus()
    page.keyboard.press("End")
    assert lake.locator(".compare").evaluate("el => el.style.getPropertyValue('--pos')") == "100%"

    assert_accessible(page)
    watch.assert_clean(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "desktop.png")


def test_drop_and_paste_images_on_a_phone(open_page, base_url, local_stack):
    page, watch = open_page(viewport=PHONE, touch=True)
    # No mouse: the page offers the picker alone, without "drop anywhere" or "paste".
    expect(page.locator("#dropzone .pointer-only").first).to_be_hidden()
    expect(page.locator("#choose-button")).to_be_visible()
    assert_accessible(page)
    drop_files(page, "#dropzone", [("lake.jpg", "image/jpeg", landscape_jpeg(seed=4))])
    expect(page.locator(".card")).to_have_count(1)
    # The list and Upload, two screens down, are brought into view.
    expect(page.locator("#upload-button")).to_be_in_viewport()
    paste_files(page, [("image.png", "image/png", portrait_png())])
    expect(page.locator(".card")).to_have_count(2)
    expect(page.locator(".card").nth(1).locator(".file-name")).to_have_text(re.compile(r"^pasted-image-.*\.png$"))
    page.click("#upload-button")
    wait_finished(page, 2)
    expect(page.locator(".card[data-state=done]")).to_have_count(2)
    wait_images_loaded(page)
    for index in range(2):
        check_results(page, page.locator(".card").nth(index), base_url)
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)
    watch.assert_clean(page)
    screenshot(page, "phone.png")


def test_finished_page_screenshot_for_the_readme(open_page, base_url):
    """One image, a filter and WebP: the screenshot docs/screenshot.png shows."""
    page, watch = open_page()
    page.set_input_files("#file-input", files=[
        {"name": "lake at dusk.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg()}])
    page.select_option("#format", "webp")
    page.check("input[value=autocontrast]")
    page.click("#upload-button")
    wait_finished(page, 1)
    expect(page.locator(".card")).to_have_attribute("data-state", "done")
    wait_images_loaded(page)
    page.locator(".compare-range").fill("58")
    assert_accessible(page)
    watch.assert_clean(page)
    page.evaluate("window.scrollTo(0, 0)")
    shot = screenshot(page, "readme.png")
    if UPDATE_README_SCREENSHOT:
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        DOCS_SCREENSHOT.write_bytes(shot.read_bytes())
    page.emulate_media(color_scheme="dark")
    screenshot(page, "desktop-dark.png")


def test_file_over_the_direct_limit_goes_straight_to_storage(open_page, base_url, local_stack, noisy_jpeg,
                                                             direct_upload_max_bytes):
    """The page knows the stack's direct limit from GET /api/options: no POST /api/images, no 413."""
    assert api_options(base_url)["limits"]["direct_upload_max_bytes"] == direct_upload_max_bytes
    page, watch = open_page()
    big = noisy_jpeg(direct_upload_max_bytes + 50_000)
    page.set_input_files("#file-input", files=[{"name": "big.jpg", "mimeType": "image/jpeg", "buffer": big}])
    page.click("#upload-button")
    wait_finished(page, 1, timeout=60_000)
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "done")
    expect(card.locator(".file-route")).to_have_attribute("data-route", "storage")
    posts = [url for method, url in watch.requests if method == "POST"]
    assert not any(url.startswith(f"{base_url}/api/images") for url in posts), posts
    assert any(url.startswith(f"{base_url}/api/uploads") for url in posts), posts
    assert any(url.startswith(local_stack.storage_url) for url in posts), posts
    wait_images_loaded(page)
    image = check_results(page, card, base_url)
    assert image["original"]["bytes"] == len(big)
    watch.assert_clean(page)


def test_a_large_upload_from_localhost(open_page, base_url, local_stack, noisy_jpeg, direct_upload_max_bytes):
    """http://localhost:PORT is the same local site: storage admits both names, as S3 admits a deployed
    site's distribution and custom domain."""
    site = f"http://localhost:{local_stack.port}"
    page, watch = open_page(site=site)
    big = noisy_jpeg(direct_upload_max_bytes + 50_000, seed=31)
    page.set_input_files("#file-input", files=[{"name": "big.jpg", "mimeType": "image/jpeg", "buffer": big}])
    page.click("#upload-button")
    wait_finished(page, 1, timeout=60_000)
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "done")
    expect(card.locator(".file-route")).to_have_attribute("data-route", "storage")
    assert any(method == "POST" and url.startswith(local_stack.storage_url) for method, url in watch.requests)
    watch.assert_clean(page)


def test_storage_refusing_the_page_is_not_called_offline(open_page, local_stack, noisy_jpeg, direct_upload_max_bytes):
    """No answer from storage while the site answers is a refusal (a CORS rule without this origin); no answer
    with the browser offline is being offline. The page says which."""
    page, watch = open_page()
    page.route(f"{local_stack.storage_url}/**", lambda route: route.abort("accessdenied"))
    big = noisy_jpeg(direct_upload_max_bytes + 50_000, seed=32)
    page.set_input_files("#file-input", files=[{"name": "big.jpg", "mimeType": "image/jpeg", "buffer": big}])
    page.click("#upload-button")
    wait_finished(page, 1, timeout=60_000)
    card = page.locator(".card")
    expect(card.locator(".error-title")).to_have_text("The storage service refused this page's address.")
    expect(card.locator(".error-detail")).to_contain_text("Open the page at the address the service gave you.")
    page.unroute(f"{local_stack.storage_url}/**")

    page.context.set_offline(True)
    page.set_input_files("#file-input", files=[{"name": "small.jpg", "mimeType": "image/jpeg",
                                                "buffer": landscape_jpeg(seed=33)}])
    page.click("#upload-button")
    offline = page.locator(".card").filter(has_text="small.jpg")
    expect(offline.locator(".error-title")).to_have_text("You are offline.", timeout=30_000)
    page.context.set_offline(False)
    watch.failed_requests.clear()
    watch.console_errors.clear()
    watch.assert_clean(page)


def test_direct_upload_refused_as_too_large_falls_back_to_storage(open_page, base_url, local_stack, noisy_jpeg,
                                                                  direct_upload_max_bytes):
    """A limit lowered after the page loaded its options: the page still believes the old, larger one."""
    page, watch = open_page(before_load=lambda page: edit_options(page, limits={"direct_upload_max_bytes": 4 << 20}))
    medium = noisy_jpeg(direct_upload_max_bytes + 50_000)
    assert len(medium) < 4 << 20
    page.set_input_files("#file-input", files=[{"name": "medium.jpg", "mimeType": "image/jpeg", "buffer": medium}])
    page.click("#upload-button")
    wait_finished(page, 1, timeout=60_000)
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "done")
    expect(card.locator(".file-route")).to_have_attribute("data-route", "storage")
    assert f"POST {base_url}/api/images?format=original&quality=82&name=medium.jpg 413" in watch.error_responses
    assert any(method == "POST" and url.startswith(local_stack.storage_url) for method, url in watch.requests)
    watch.assert_clean(page, allow_status=(413,))


def test_a_file_over_the_storage_limit_is_refused_in_words(open_page, noisy_jpeg, direct_upload_max_bytes):
    """The page checks POST /api/uploads' max_bytes before sending anything to storage. (The answer
    is edited here: a file over the real 50 MB limit would make a slow test.)"""
    page, watch = open_page()

    def smaller_limit(route):
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "max_bytes": direct_upload_max_bytes + 10_000})

    page.route("**/api/uploads", smaller_limit)
    page.set_input_files("#file-input", files=[
        {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": noisy_jpeg(direct_upload_max_bytes + 50_000)}])
    page.click("#upload-button")
    wait_finished(page, 1)
    card = page.locator(".card")
    expect(card.locator(".error-title")).to_have_text("This file is too large.")
    expect(card.locator(".error-detail")).to_have_text("The largest image accepted is 205 KiB.")
    expect(card.locator("button", has_text="Try again")).to_be_hidden()
    assert not any(method == "POST" and "/api/" not in url for method, url in watch.requests)
    watch.assert_clean(page, allow_status=(413,))


def test_a_text_file_named_jpg_is_not_an_image(open_page):
    page, watch = open_page()
    page.set_input_files("#file-input", files=[
        {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"Shopping list: eggs, flour, <b>milk</b>\n" * 5}])
    page.click("#upload-button")
    wait_finished(page, 1)
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "failed")
    expect(card.locator(".error-title")).to_have_text("This file is not an image we can read.")
    expect(card.locator("button", has_text="Try again")).to_be_hidden()
    expect(page.locator("#live-alert")).to_contain_text("notes.jpg: This file is not an image we can read.")
    expect(card.locator(".no-preview")).to_be_visible()
    watch.assert_clean(page, allow_status=(415,))


def test_a_truncated_jpeg_ends_as_a_readable_failure(open_page):
    page, watch = open_page()
    page.set_input_files("#file-input", files=[
        {"name": "cut-off.jpg", "mimeType": "image/jpeg", "buffer": truncated_jpeg()}])
    page.click("#upload-button")
    wait_finished(page, 1)
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "failed")
    assert card_states(page)[card.get_attribute("id")] == ["ready", "waiting", "uploading", "processing", "failed"]
    expect(card.locator(".error-title")).to_have_text(
        "This image is damaged or incomplete, so it could not be processed.")
    expect(page.locator("#live-alert")).to_contain_text("cut-off.jpg: This image is damaged")
    # A 422 from GET /api/images/{id} is the API's way to say "failed": the browser logs it.
    watch.assert_clean(page, allow_status=(422,))


def test_a_lost_connection_offers_a_retry_that_works(open_page):
    page, watch = open_page()
    page.route("**/api/images?*", lambda route: route.abort("internetdisconnected"))
    page.set_input_files("#file-input", files=[
        {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(seed=7)}])
    page.click("#upload-button")
    wait_finished(page, 1)
    card = page.locator(".card")
    expect(card.locator(".error-title")).to_have_text("Could not reach the server.")
    retry = card.get_by_role("button", name="Try again: lake.jpg")
    expect(retry).to_be_visible()
    page.unroute("**/api/images?*")
    retry.click()
    expect(card).to_have_attribute("data-state", "done", timeout=30_000)
    assert len(watch.failed_requests) == 1 and "/api/images?" in watch.failed_requests[0]
    watch.failed_requests.clear()
    watch.console_errors[:] = [m for m in watch.console_errors if "ERR_INTERNET_DISCONNECTED" not in m]
    watch.assert_clean(page)


def test_keyboard_only(open_page):
    page, watch = open_page()
    # Playwright turns file chooser interception on without waiting for it; listening from the
    # start makes sure it is on before Enter opens the chooser.
    choosers = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))

    def tab_to(selector: str, limit: int = 30) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("s => document.activeElement?.matches(s)", selector):
                # The focused control is visibly marked.
                outline = page.evaluate("""() => {
                    const el = document.activeElement;
                    const target = el.closest('.chip, .compare') ?? el;
                    return getComputedStyle(target).outlineStyle;
                }""")
                assert outline != "none", f"{selector} has no visible focus"
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#choose-button")
    page.keyboard.press("Enter")
    for _ in range(50):
        if choosers:
            break
        page.wait_for_timeout(100)
    assert len(choosers) == 1, "Enter on the button did not open the file chooser"
    choosers[0].set_files(files=[{"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(seed=9)}])
    expect(page.locator(".card")).to_have_count(1)

    tab_to("#format")
    page.keyboard.press("ArrowDown")  # "Same as the original" -> JPEG
    assert page.input_value("#format") == "jpeg"
    tab_to("#quality")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#quality-value")).to_have_text("80")
    tab_to("input[value=grayscale]")
    page.keyboard.press("Space")
    assert page.is_checked("input[value=grayscale]")
    tab_to("#upload-button")
    with page.expect_request(lambda r: "/api/images?" in r.url and r.method == "POST") as sent:
        page.keyboard.press("Enter")
    assert "format=jpeg" in sent.value.url and "quality=80" in sent.value.url and "filters=grayscale" in sent.value.url
    wait_finished(page, 1)
    expect(page.locator(".card")).to_have_attribute("data-state", "done")

    # The results are reachable too: Tab goes through the comparison, the links and the buttons.
    tab_to(".compare-range")
    tab_to(".variant button")
    watch.assert_clean(page)


def test_the_csp_is_really_enforced(open_page):
    """The checks above are only worth something if the policy is live: an inline style is refused."""
    page, watch = open_page()
    assert watch.csp_headers_added >= 1
    page.evaluate("""() => {
        const style = document.createElement('style');
        style.textContent = 'body { color: red }';
        document.head.append(style);
    }""")
    page.wait_for_function("() => window.__cspViolations.length > 0")
    assert page.evaluate("window.__cspViolations")[0].startswith("style-src")


def test_expired_links_can_be_renewed(open_page, base_url):
    page, watch = open_page(fake_clock=True)
    page.set_input_files("#file-input", files=[
        {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(seed=11)}])
    page.click("#upload-button")
    wait_finished(page, 1)
    card = page.locator(".card")
    expect(card.locator(".expiry")).to_contain_text("(in 15 minutes)")
    old_url = card.locator(".variant[data-variant=thumb] img").get_attribute("src")
    page.clock.fast_forward("16:00")
    expect(card.locator(".expiry")).to_contain_text("The download links expired at")
    time.sleep(1.1)  # the server signs with whole seconds: the new links must differ from the old
    card.get_by_role("button", name="Get fresh links: lake.jpg").click()
    expect(card.locator(".expiry")).to_contain_text("Download links work until")
    expect(page.locator("#live-status")).to_contain_text("Fresh links for lake.jpg.")
    wait_images_loaded(page)
    assert card.locator(".variant[data-variant=thumb] img").get_attribute("src") != old_url
    watch.assert_clean(page)


def test_choices_defaults_and_limits_come_from_the_api(open_page, base_url, noisy_jpeg):
    """GET /api/options edited: smaller size limits, another default quality, a format and a filter
    the page has no words for, at most two filters, and no GIF. The page follows every one."""
    real = api_options(base_url)
    page, watch = open_page(before_load=lambda page: edit_options(
        page, limits={"direct_upload_max_bytes": 100_000, "large_upload_max_bytes": 300_000},
        quality={"default": 70},
        formats=[*real["formats"], "jpeg_xl"], filters=[*real["filters"], "oil_paint"], max_filters=2,
        accepted_types=[t for t in real["accepted_types"] if t != "image/gif"]))
    expect(page.locator("#quality")).to_have_value("70")
    expect(page.locator("#quality-value")).to_have_text("70")
    assert page.locator("#format option").all_text_contents() == [
        "Same as the original", "JPEG", "PNG", "WebP", "AVIF", "JPEG XL"]
    expect(page.locator("#format")).to_have_value("original")
    expect(page.locator("#format-hint")).to_contain_text("Keeps JPEG, PNG, WebP and GIF")
    page.select_option("#format", "jpeg_xl")
    expect(page.locator("#format-hint")).to_be_hidden()  # no words for it, and none made up
    page.select_option("#format", "original")
    assert page.locator("#filters .chip").all_text_contents() == [
        "Grayscale", "Sepia", "Blur", "Sharpen", "Contour", "Edges", "Emboss", "Invert", "Auto contrast", "Oil paint"]
    expect(page.locator("#filters-note")).to_have_text("(optional, at most 2, applied in this order)")
    page.check("input[value=grayscale]")
    page.check("input[value=sepia]")
    expect(page.locator("input[value=blur]")).to_be_disabled()
    expect(page.locator("input[value=oil_paint]")).to_be_disabled()
    page.uncheck("input[value=sepia]")
    expect(page.locator("input[value=blur]")).to_be_enabled()
    expect(page.locator("#variants-hint")).to_have_text(
        "Every image becomes large (2048 px), medium (1024 px) and thumb (256 px) on its longest side, never enlarged.")

    accept = page.get_attribute("#file-input", "accept").split(",")
    assert {"image/jpeg", "image/heif", "image/heic", ".heic", ".jpg"} <= set(accept)
    assert "image/gif" not in accept and ".gif" not in accept
    words = "JPEG, PNG, WebP, AVIF, HEIC, TIFF or BMP"
    expect(page.locator("#accepted-types")).to_have_text(
        f"{words}, up to 293 KiB and 50 megapixels each. Several at once is fine.")

    # Types this deployment does not take and a file over the largest size are refused on the spot;
    # the file over the direct limit (but under the stack's real one) goes straight to storage with
    # the default quality.
    photo = noisy_jpeg(110_000)
    assert 100_000 < len(photo) < 300_000
    page.set_input_files("#file-input", files=[
        {"name": "moving.gif", "mimeType": "image/gif", "buffer": b"GIF89a" + bytes(64)},
        {"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": b"<svg xmlns='http://www.w3.org/2000/svg'/>"},
        {"name": "noise.jpg", "mimeType": "image/jpeg", "buffer": photo},
        {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": noisy_jpeg(310_000, seed=2)},
    ])
    cards = page.locator(".card")
    expect(cards).to_have_count(4)
    expect(cards.nth(3).locator(".error-title")).to_have_text("This file is too large.")
    expect(cards.nth(3).locator(".error-detail")).to_have_text("The largest image accepted is 293 KiB.")
    for index in range(2):
        expect(cards.nth(index)).to_have_attribute("data-state", "failed")
    expect(cards.nth(0).locator(".error-title")).to_have_text("This file is not an image we can read.")
    expect(cards.nth(0).locator(".error-detail")).to_have_text(f"Choose an image in one of these formats: {words}.")
    # An SVG is previewed (the browser draws it), then refused for what it is.
    expect(cards.nth(1).locator(".error-title")).to_have_text("SVG drawings are not supported.")
    expect(cards.nth(1).locator(".file-meta")).to_contain_text("SVG")
    expect(cards.nth(1).locator(".error-detail")).to_contain_text("Export the drawing as PNG")
    expect(page.locator("#upload-button")).to_have_text("Upload")
    with page.expect_request(lambda r: r.url.endswith("/api/uploads") and r.method == "POST") as ticket:
        page.click("#upload-button")
    assert ticket.value.post_data_json == {
        "content_type": "image/jpeg", "format": "original", "quality": 70, "filters": ["grayscale"],
        "name": "noise.jpg"}
    wait_finished(page, 4)
    assert sum(url.endswith("/api/uploads") for _, url in watch.requests) == 1
    expect(cards.nth(2)).to_have_attribute("data-state", "done")
    expect(cards.nth(2).locator(".file-route")).to_have_text("Same format · quality 70 · Grayscale")
    expect(cards.nth(2).locator(".file-route")).to_have_attribute("data-route", "storage")
    posts = [url for method, url in watch.requests if method == "POST"]
    assert not any(url.startswith(f"{base_url}/api/images") for url in posts), posts
    watch.assert_clean(page)


def test_download_saves_the_file_and_the_expiry_is_the_servers(open_page, base_url):
    """Download links are the download_url (an attachment, saved under the original's name) and
    "links work until" is the answer's expires_at (edited here to two hours, not the 15 minutes)."""
    answers = []
    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)

    def later_expiry(route):
        response = route.fetch()
        body = response.json()
        if response.status == 200:
            body["expires_at"] = until.isoformat().replace("+00:00", "Z")
            answers.append(body)
        route.fulfill(response=response, json=body)

    page, watch = open_page(before_load=lambda page: page.route(
        re.compile(r"/api/images/[0-9a-f-]{36}$"), later_expiry))
    page.set_input_files("#file-input", files=[
        {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(seed=13)}])
    page.click("#upload-button")
    wait_finished(page, 1)
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "done")
    expect(card.locator(".expiry")).to_contain_text("(in 2 hours)")
    image = answers[-1]
    for variant in image["variants"]:
        item = card.locator(f".variant[data-variant={variant['name']}]")
        expect(item.locator("a", has_text="Download")).to_have_attribute("href", variant["download_url"])
        expect(item.locator("img")).to_have_attribute("src", variant["url"])
    thumb = next(v for v in image["variants"] if v["name"] == "thumb")
    extension = re.search(r"/thumb\.(\w+)\?", thumb["url"])[1]
    with page.expect_download() as download:
        card.locator(".variant[data-variant=thumb] a", has_text="Download").click()
    assert download.value.suggested_filename == f"lake-thumb.{extension}"  # named after the original
    assert download.value.failure() is None
    assert page.url.rstrip("/") == base_url and len(page.context.pages) == 1  # the page stayed
    # Chromium reports a navigation that became a download as an aborted request.
    assert watch.failed_requests == [f"GET {thumb['download_url']} net::ERR_ABORTED"]
    watch.failed_requests.clear()
    watch.assert_clean(page)


def test_options_that_fail_to_load_offer_a_retry_that_works(open_page):
    """No /api/options, no uploads: a readable error (offline, then a server error) and Try again."""
    answer = {"now": "offline"}

    def flaky(route):
        if answer["now"] == "offline":
            route.abort("internetdisconnected")
        elif answer["now"] == "broken":
            route.fulfill(status=500, json={"error": {"code": "internal_error", "message": "Something failed."}})
        else:
            route.continue_()

    page, watch = open_page(before_load=lambda page: page.route("**/api/options", flaky), options_loaded=False)
    page.wait_for_function("() => document.documentElement.dataset.options === 'failed'")
    error = page.locator("#options-error")
    expect(error.locator(".error-title")).to_have_text(
        "The options could not be loaded, so nothing can be uploaded yet.")
    expect(error.locator(".error-detail")).to_have_text(
        "Could not reach the server. Check your connection, then try again.")
    expect(page.locator("#options-form")).to_be_hidden()
    expect(page.locator("#live-alert")).to_contain_text("The options could not be loaded")
    page.set_input_files("#file-input", files=[
        {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(seed=15)}])
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator("#upload-button")).to_be_disabled()
    screenshot(page, "options-error.png")

    retry = page.get_by_role("button", name="Try again to load the options")
    answer["now"] = "broken"
    retry.click()
    expect(error.locator(".error-detail")).to_have_text("Something went wrong on the server. Try again in a moment.")
    expect(page.locator("#upload-button")).to_be_disabled()

    answer["now"] = "working"
    retry.click()
    expect(page.locator("#options-form")).to_be_visible()
    expect(error).to_be_hidden()
    expect(page.locator("#format")).to_be_focused()
    expect(page.locator("#quality")).to_have_value("82")
    expect(page.locator("#upload-button")).to_be_enabled()
    page.click("#upload-button")
    wait_finished(page, 1)
    expect(page.locator(".card")).to_have_attribute("data-state", "done")
    assert len(watch.failed_requests) == 1 and "/api/options" in watch.failed_requests[0]
    watch.failed_requests.clear()
    watch.console_errors[:] = [m for m in watch.console_errors if "ERR_INTERNET_DISCONNECTED" not in m]
    watch.assert_clean(page, allow_status=(500,))


# What the page polls while an image is processing: its status object (the API is asked only for the outcome).
IMAGE_POLL = re.compile(r"/status/[0-9a-f-]{36}$")


def test_a_reload_keeps_the_list_resumes_processing_and_warns_while_sending(open_page, base_url):
    page, watch = open_page()
    page.set_input_files("#file-input", files=[
        {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(seed=21)}])
    page.click("#upload-button")
    wait_finished(page, 1)
    # The second is sent, but the page never hears back while processing; the third is still being sent.
    polls, posts = HeldRequests(), HeldRequests()
    page.route(IMAGE_POLL, polls)
    page.set_input_files("#file-input", files=[
        {"name": "shapes.png", "mimeType": "image/png", "buffer": portrait_png()}])
    page.click("#upload-button")
    expect(page.locator(".card").nth(1)).to_have_attribute("data-state", "processing")
    page.route("**/api/images?*", posts)
    page.set_input_files("#file-input", files=[
        {"name": "sunset.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(seed=22)}])
    page.click("#upload-button")
    expect(page.locator(".card").nth(2)).to_have_attribute("data-state", "uploading")

    kept = page.evaluate("() => localStorage.getItem('image-processor:list:v1')")
    assert "lake.jpg" in kept and "X-Amz" not in kept and "http" not in kept  # ids, names, options: nothing secret
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    page.unroute(IMAGE_POLL)
    page.unroute("**/api/images?*")
    page.reload()
    assert dialogs == ["beforeunload"]  # a file was still being sent
    polls.drop()
    posts.drop()
    page.wait_for_function("() => document.documentElement.dataset.options === 'ready'")
    cards = page.locator(".card")
    expect(cards).to_have_count(3)
    expect(cards.nth(0)).to_have_attribute("data-state", "done")
    expect(cards.nth(1)).to_have_attribute("data-state", "done", timeout=30_000)  # its polling resumed
    wait_images_loaded(page)
    check_results(page, cards.nth(0), base_url)
    check_results(page, cards.nth(1), base_url)
    expect(cards.nth(1).locator(".compare-figure .hint:not(.growth-hint)")).to_contain_text("no before view")
    # A restored card has no file to preview: its thumbnail comes from the edge, a width for its 88 px box.
    thumb = cards.nth(1).locator(".thumb img.preview")
    expect(thumb).to_have_attribute("sizes", re.compile(r"^\d+px$"))
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert "/img/" in thumb.evaluate("(img) => img.currentSrc")
    expect(cards.nth(2)).to_have_attribute("data-state", "failed")
    expect(cards.nth(2).locator(".error-title")).to_have_text(
        "This file was not uploaded before the page was closed or reloaded.")
    expect(cards.nth(2).get_by_role("button", name="Try again: sunset.jpg")).to_be_hidden()
    expect(page.locator("#notice")).to_have_text("Restored 3 images from before the reload.")
    # Restored, three images are rows; one opens on Details, and can still be deleted from the page.
    expect(cards.nth(0)).to_have_class(re.compile(r"\bis-compact\b"))
    cards.nth(0).get_by_role("button", name="Details: lake.jpg").click()
    cards.nth(0).get_by_role("button", name="Delete from server: lake.jpg and its variants").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(cards.nth(0)).to_have_attribute("data-state", "deleted")
    assert_accessible(page)
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.options === 'ready'")
    expect(page.locator(".card")).to_have_count(2)  # a deleted image is not kept


def test_delete_asks_first_shows_the_outcome_and_keeps_focus(open_page, base_url):
    page, watch = open_page()
    page.set_input_files("#file-input", files=[
        {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(seed=23)}])
    page.click("#upload-button")
    # The pressed Upload button is disabled at once: focus goes to the batch's progress, not the page body.
    expect(page.locator("#batch")).to_be_focused()
    wait_finished(page, 1)
    card = page.locator(".card")
    image_id = card_image_id(page, card)
    delete = card.get_by_role("button", name="Delete from server: lake.jpg and its variants")

    delete.click()
    dialog = page.locator("#confirm-delete")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete lake.jpg and all its variants from the server?")
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    assert_accessible(page, dark_too=False)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(delete).to_be_focused()
    assert requests.get(f"{base_url}/api/images/{image_id}", timeout=30).status_code == 200

    delete.click()
    dialog.get_by_role("button", name="Delete", exact=True).click()
    expect(card).to_have_attribute("data-state", "deleted")
    expect(card.locator(".card-error")).to_contain_text("Deleted from the server.")
    expect(card.locator(".result")).to_be_hidden()
    expect(card.get_by_role("button", name="Remove from list: lake.jpg")).to_be_focused()
    assert requests.get(f"{base_url}/api/images/{image_id}", timeout=30).status_code == 404
    assert_accessible(page)
    watch.assert_clean(page)


def test_waiting_files_cancel_and_cancel_all(open_page, base_url):
    page, watch = open_page()
    posts = HeldRequests()
    page.route("**/api/images?*", posts)
    page.set_input_files("#file-input", files=[
        {"name": f"photo-{n}.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(640, 427, seed=30 + n)}
        for n in range(3)])
    page.click("#upload-button")
    cards = page.locator(".card")
    # Two are sent at a time: the third waits its turn and says so.
    expect(cards.nth(0)).to_have_attribute("data-state", "uploading")
    expect(cards.nth(1)).to_have_attribute("data-state", "uploading")
    expect(cards.nth(2)).to_have_attribute("data-state", "waiting")
    expect(cards.nth(2).locator(".progress-text")).to_have_text("Waiting for its turn…")
    expect(page.locator("#batch-progress")).to_be_visible()
    expect(page.locator("#batch-text")).to_contain_text("0 of 3 images done · 3 uploading or waiting")
    assert_accessible(page)

    cards.nth(2).get_by_role("button", name="Cancel: photo-2.jpg").click()
    expect(cards.nth(2)).to_have_attribute("data-state", "cancelled")
    page.get_by_role("button", name="Cancel all").click()
    for index in range(2):
        expect(cards.nth(index)).to_have_attribute("data-state", "cancelled")
    expect(cards.nth(0).locator(".error-title")).to_have_text("Cancelled.")
    expect(page.locator("#cancel-all")).to_be_hidden()
    assert len([url for method, url in watch.requests if method == "POST"]) == 2  # the waiting one never left
    posts.drop()
    page.unroute("**/api/images?*")

    # Cancelled while processing: the server copy is deleted too.
    polls = HeldRequests()
    page.route(IMAGE_POLL, polls)
    with page.expect_response(lambda r: r.request.method == "POST" and "/api/images?" in r.url) as sent:
        cards.nth(0).get_by_role("button", name="Try again: photo-0.jpg").click()
    expect(cards.nth(0)).to_have_attribute("data-state", "processing")
    # Processed on the server, though the page has not heard yet (a delete racing the processor is issue 11's).
    assert requests.get(f"{base_url}/api/images/{sent.value.json()['id']}?wait=20", timeout=30).status_code == 200
    with page.expect_request(lambda r: r.method == "DELETE") as deleted:
        cards.nth(0).get_by_role("button", name="Cancel: photo-0.jpg").click()
    expect(cards.nth(0)).to_have_attribute("data-state", "cancelled")
    image_id = deleted.value.url.rsplit("/", 1)[1]
    assert requests.get(f"{base_url}/api/images/{image_id}", timeout=30).status_code == 404
    polls.drop()
    page.unroute(IMAGE_POLL)
    cards.nth(1).get_by_role("button", name="Try again: photo-1.jpg").click()
    expect(cards.nth(1)).to_have_attribute("data-state", "done", timeout=30_000)
    assert_accessible(page)


def test_png_output_has_no_quality_and_a_larger_result_is_flagged(open_page, base_url):
    page, watch = open_page()
    page.select_option("#format", "png")
    expect(page.locator("#quality")).to_be_disabled()
    expect(page.locator("#quality-hint")).to_have_text("PNG is lossless, so quality does not apply.")
    page.set_input_files("#file-input", files=[
        {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(seed=25)}])
    page.click("#upload-button")
    wait_finished(page, 1)
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "done")
    expect(card.locator(".file-route")).to_have_text("PNG")
    image = api_image(base_url, card_image_id(page, card))
    largest = max(image["variants"], key=lambda v: v["bytes"])
    assert largest["bytes"] > image["original"]["bytes"]
    percent = round((largest["bytes"] - image["original"]["bytes"]) / image["original"]["bytes"] * 100)
    expect(card.locator("figcaption .growth")).to_have_text(f" · +{percent}% larger")
    expect(card.locator("figcaption .growth-hint")).to_have_text(
        "PNG keeps every pixel, so photos grow. For photos choose JPEG or WebP.")
    expect(page.locator("#batch-summary .summary-saved")).to_contain_text(f"more (+{percent}%)")
    page.select_option("#format", "webp")
    expect(page.locator("#quality")).to_be_enabled()
    assert_accessible(page)
    watch.assert_clean(page)


def test_transparency_shows_as_a_checkerboard_once_loaded(open_page, base_url):
    page, watch = open_page()
    variants = HeldRequests()
    page.route(re.compile(r"/images/[0-9a-f-]{36}/\w+\.png\?"), variants)
    page.set_input_files("#file-input", files=[
        {"name": "disc.png", "mimeType": "image/png", "buffer": transparent_png()}])
    page.click("#upload-button")
    wait_finished(page, 1)
    frame = page.locator(".variant-frame").first
    # While the variant is on its way, the placeholder paints its place.
    assert frame.evaluate("el => el.style.backgroundImage").startswith('url("data:image/png;base64,')
    expect(frame).not_to_have_class(re.compile(r"\bis-loaded\b"))
    variants.release()
    page.unroute(re.compile(r"/images/[0-9a-f-]{36}/\w+\.png\?"))
    wait_images_loaded(page)
    for element in page.locator(".variant-frame, .compare").all():
        expect(element).to_have_class(re.compile(r"\bis-loaded\b"))
        assert element.evaluate("el => el.style.backgroundImage") == ""
        assert "linear-gradient" in element.evaluate("el => getComputedStyle(el).backgroundImage")
    assert_accessible(page)
    watch.assert_clean(page)


def test_too_many_pixels_is_refused_before_sending(open_page):
    page, watch = open_page(before_load=lambda page: edit_options(page, limits={"max_pixels": 1_000_000}))
    expect(page.locator("#accepted-types")).to_contain_text("up to 50\u00a0MiB and 1 megapixels each")
    page.select_option("#format", "avif")
    expect(page.locator("#format-hint")).to_have_text(
        "Slow to make, and at the same quality not always smaller than WebP: compare the two on your photos.")
    page.set_input_files("#file-input", files=[
        {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(1600, 1067, seed=26)}])
    page.click("#upload-button")
    wait_finished(page, 1)
    card = page.locator(".card")
    expect(card.locator(".error-title")).to_have_text("This image has too many pixels to process.")
    expect(card.locator(".error-detail")).to_have_text(
        "It is 1.7 megapixels; the limit is 1 megapixel. Choose a smaller version of it.")
    assert not [url for method, url in watch.requests if method == "POST"]
    assert_accessible(page)
    watch.assert_clean(page)


def zip_names_and_bytes(download) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_zip_of_an_image_and_of_the_batch_and_the_summary(open_page, base_url, local_stack):
    """As a person does it: the results are on screen (their <img>s loaded, and cached, without CORS) before
    ZIP is pressed, under the CSP the stack serves, which is the template's with only its hosts local."""
    from devstack.stack import edge_headers

    page, watch = open_page(http_cache=True)
    assert watch.csp == edge_headers(local_stack.stack, local_stack.storage_url)["Content-Security-Policy"]
    page.set_input_files("#file-input", files=[
        {"name": "lake at dusk.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(seed=27)},
        {"name": "shapes.png", "mimeType": "image/png", "buffer": portrait_png()}])
    page.click("#upload-button")
    wait_finished(page, 2)
    cards = page.locator(".card")
    images = [api_image(base_url, card_image_id(page, cards.nth(index))) for index in range(2)]
    wait_images_loaded(page, count=sum(len(image["variants"]) for image in images))

    with page.expect_download() as download:
        cards.nth(0).get_by_role("button", name="Download all as ZIP: every variant of lake at dusk.jpg").click()
    assert download.value.suggested_filename == "lake at dusk.zip"
    files = zip_names_and_bytes(download.value)
    assert set(files) == {f"lake at dusk-{v['name']}.jpg" for v in images[0]["variants"]}
    for variant in images[0]["variants"]:
        assert files[f"lake at dusk-{variant['name']}.jpg"] == requests.get(variant["url"], timeout=30).content

    with page.expect_download() as download:
        page.get_by_role("button", name="Download all as ZIP", exact=True).click()
    assert download.value.suggested_filename == "images.zip"
    files = zip_names_and_bytes(download.value)
    expected = {f"lake at dusk/lake at dusk-{v['name']}.jpg": v for v in images[0]["variants"]} | {
        f"shapes/shapes-{v['name']}.png": v for v in images[1]["variants"]}
    assert set(files) == set(expected)
    for name, variant in expected.items():
        assert len(files[name]) == variant["bytes"], name
    # The lasting links say how long they last (VariantsExpireDays, 30 by default).
    retention = "The image is deleted 30 days after upload, and every link to it stops working then."
    assert api_options(base_url)["retention_days"] == 30 and api_options(base_url)["lasting_links"] is True
    expect(cards.nth(0).locator(".snippet .hint")).to_contain_text(retention)
    expect(cards.nth(0).locator(".variants-hint")).to_have_text(
        f"Copy link gives a lasting address of a variant. {retention}")

    before = sum(image["original"]["bytes"] for image in images)
    after = sum(max(v["bytes"] for v in image["variants"]) for image in images)
    summary = page.locator("#batch-summary")
    expect(summary).to_contain_text("2 files processed")
    expect(summary.locator(".summary-before")).to_have_text(page.evaluate(
        "async (n) => (await import('/format.js')).formatBytes(n)", before))
    expect(summary.locator(".summary-after")).to_have_text(page.evaluate(
        "async (n) => (await import('/format.js')).formatBytes(n)", after))
    change = round((after - before) / before * 100)
    verdict = f"saved ({-change}%)" if change < 0 else f"more (+{change}%)" if change > 0 else "the same size"
    expect(summary.locator(".summary-saved")).to_contain_text(verdict)
    assert_accessible(page)
    watch.assert_clean(page)


@pytest.fixture
def processed_bucket_admitting_another_site(local_stack, stack_resources):
    """The processed-images bucket with a CORS rule for another origin only (as after a custom domain was added
    and the stack not updated): its answers to this page carry no Access-Control-Allow-Origin. A route cannot
    stand in for it: Playwright adds the header to the answers it fulfils."""
    s3 = local_stack.client("s3")
    bucket = stack_resources.bucket_name("ProcessedImagesBucket")
    rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    other = [{**rule, "AllowedOrigins": ["https://images.example.com"]} for rule in rules]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": other})
    yield
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})


def with_csp_lacking_the_variants_in_connect_src(base_url: str, bucket: str):
    """The page's HTML with the policy the template had before: the processed-images bucket in img-src only."""
    def serve(route):
        response = route.fetch()
        directives = []
        for directive in response.headers["content-security-policy"].split("; "):
            if directive.startswith("connect-src"):
                directive = " ".join(s for s in directive.split() if f"/{bucket}" not in s)
            directives.append(directive)
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": "; ".join(directives)})

    return lambda page: page.route(lambda url: url.rstrip("/") == base_url.rstrip("/"), serve)


@pytest.mark.parametrize("refusal", ["cors", "csp"])
def test_a_refused_zip_says_the_site_is_set_up_wrongly_not_check_your_connection(request, open_page, base_url,
                                                                                  stack_resources, refusal):
    if refusal == "cors":
        request.getfixturevalue("processed_bucket_admitting_another_site")
        before_load, expected = None, "The storage service refused this page's address."
    else:
        bucket = stack_resources.bucket_name("ProcessedImagesBucket")
        before_load = with_csp_lacking_the_variants_in_connect_src(base_url, bucket)
        expected = "This site's own security policy blocked the request to storage."
    page, watch = open_page(before_load=before_load)
    page.set_input_files("#file-input", files=[
        {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(640, 427, seed=28, exif=False)}])
    page.click("#upload-button")
    wait_finished(page, 1)
    wait_images_loaded(page, count=1)
    page.get_by_role("button", name="Download all as ZIP: every variant of lake.jpg").click()
    notice = page.locator("#notice")
    expect(notice).to_contain_text(f"The ZIP could not be made: {expected}")
    expect(notice).not_to_contain_text("Check your connection")


def test_the_zip_error_goes_when_its_cause_does_and_advice_fits_the_output(open_page, local_stack):
    page, watch = open_page()
    page.set_input_files("#file-input", files=[
        {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": landscape_jpeg(width=800, height=533, seed=28)}])
    page.click("#upload-button")
    wait_finished(page, 1)
    storage = f"{local_stack.storage_url}/**"
    page.route(storage, lambda route: route.abort("accessdenied"))
    zip_button = page.get_by_role("button", name="Download all as ZIP: every variant of lake.jpg")
    zip_button.click()
    expect(page.locator("#notice")).to_contain_text("The ZIP could not be made")
    page.unroute(storage)
    with page.expect_download():
        zip_button.click()
    expect(page.locator("#notice")).to_be_hidden()  # it worked: the error's cause is gone, and so is the error

    advice = page.evaluate("""async () => {
        const { betterFormat } = await import('/card.js');
        return [[{format: 'png'}, {format: 'webp'}], [{format: 'jpeg'}, {format: 'webp'}],
                [{format: 'png'}, {format: 'jpeg'}], [{format: 'jpeg'}, {format: 'png'}],
                [{format: 'gif'}, {format: 'avif'}]].map(([original, after]) => betterFormat(original, after));
    }""")
    assert advice == [
        "This drawing was already small as PNG: keep its format (Same format), or try a lower quality.",
        "The original was already compressed hard: try a lower quality for WebP.",
        "Drawings and screenshots compress better as PNG or WebP than as JPEG.",
        "PNG keeps every pixel, so photos grow. For photos choose JPEG or WebP.",
        "This drawing was already small as GIF: keep its format (Same format), or try a lower quality.",
    ]
    watch.failed_requests.clear()
    watch.console_errors.clear()
    watch.assert_clean(page)


def heic_photo(seed: int) -> bytes:
    """A phone-style HEIC, which Chromium cannot show: its card has no preview of its own."""
    import pillow_heif

    buffer = io.BytesIO()
    picture = Image.open(io.BytesIO(landscape_jpeg(width=800, height=600, seed=seed))).convert("RGB")
    pillow_heif.from_pillow(picture).save(buffer, quality=70)
    return buffer.getvalue()


THUMBS_LOADED = """() => [...document.querySelectorAll('.card .thumb img')].every(
    (img) => img.complete && img.naturalWidth > 0)"""


def test_ten_finished_images_fit_in_two_screens_with_previews_for_heic_and_restored_cards(open_page):
    """Finished cards are rows (thumbnail, name, sizes, actions) that open on demand; a HEIC, which the
    browser cannot show, and cards restored after a reload show the thumb variant as their preview."""
    screen = {"width": 1280, "height": 800}
    page, watch = open_page(viewport=screen)
    files = [{"name": f"photo-{n}.jpg", "mimeType": "image/jpeg",
              "buffer": landscape_jpeg(width=640, height=480, seed=40 + n)} for n in range(9)]
    files.append({"name": "phone.heic", "mimeType": "image/heic", "buffer": heic_photo(seed=49)})
    page.set_input_files("#file-input", files=files)
    expect(page.locator(".card").filter(has_text="phone.heic").locator(".no-preview")).to_be_visible()
    page.click("#upload-button")
    widths = page.evaluate("[document.querySelector('#batch-progress'), document.querySelector('#queue')]"
                           ".map((element) => element.getBoundingClientRect().width)")
    wait_finished(page, 10, timeout=180_000)
    cards = page.locator(".card")
    for index in range(10):
        expect(cards.nth(index)).to_have_attribute("data-state", "done")
        expect(cards.nth(index)).to_have_class(re.compile(r"\bis-compact\b"))
        expect(cards.nth(index).locator(".result")).to_be_hidden()
    page.wait_for_function(THUMBS_LOADED)
    heic = cards.filter(has_text="phone.heic")
    expect(heic.locator(".thumb img.from-variant")).to_have_attribute("alt", "Preview of phone.heic")
    expect(heic.locator(".file-sizes")).to_contain_text("→")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 2 * screen["height"], height
    assert widths[0] >= widths[1] - 40, widths  # the batch's bar, while it showed, was as wide as the list

    # Details opens a row, and closes it again.
    details = heic.get_by_role("button", name="Details: phone.heic")
    expect(details).to_have_attribute("aria-expanded", "false")
    details.click()
    expect(heic.locator(".result")).to_be_visible()
    expect(heic.get_by_role("button", name="Hide details: phone.heic")).to_have_attribute("aria-expanded", "true")
    expect(heic.locator(".compare-figure .hint")).to_contain_text("no before view")
    assert_accessible(page, dark_too=False)
    heic.get_by_role("button", name="Hide details: phone.heic").click()
    expect(heic.locator(".result")).to_be_hidden()

    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.options === 'ready'")
    wait_finished(page, 10, timeout=60_000)
    expect(page.locator(".card.is-compact")).to_have_count(10)
    page.wait_for_function(THUMBS_LOADED)
    expect(page.locator(".card .thumb img.from-variant")).to_have_count(10)  # restored: previews from variants
    expect(page.locator(".card .no-preview")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollHeight") <= 2 * screen["height"] + 60  # + the notice
    assert_accessible(page, dark_too=False)
    screenshot(page, "ten-rows.png")
    watch.assert_clean(page)
