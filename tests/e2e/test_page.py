"""The web page (web/) in headless Chromium against the local stack, under the strict CSP.

The stack is conftest's `local_stack` (DirectUploadMaxBytes=200000): the page sends files up to
4 MiB through POST /api/images, so a file between the two exercises the page's fallback on 413,
and a file over 4 MiB the straight-to-storage route the page picks by size.
"""

import re
import time

import pytest
import requests
from page_helpers import (
    DESKTOP,
    DOCS_SCREENSHOT,
    PHONE,
    WATCH_SCRIPT,
    PageWatch,
    add_csp,
    card_states,
    drop_files,
    landscape_jpeg,
    launch_browser,
    paste_files,
    portrait_png,
    screenshot,
    shown_variants,
    truncated_jpeg,
    wait_finished,
    wait_images_loaded,
)
from playwright.sync_api import expect, sync_playwright

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PAGE_DIRECT_LIMIT = 4 * 1024 * 1024  # web/api.js DIRECT_UPLOAD_MAX_BYTES


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, base_url):
    """open_page(viewport=DESKTOP, color_scheme="light", fake_clock=False) -> (page, watch), the page
    loaded under the CSP."""
    contexts = []

    def open_(viewport=DESKTOP, color_scheme="light", fake_clock=False):
        context = browser.new_context(viewport=viewport, color_scheme=color_scheme, reduced_motion="reduce")
        # local-network-access: a document Playwright fulfils (to add the CSP header) has no address,
        # so Chromium counts it as public and would ask before it reaches the loopback storage server.
        # Served by the stack itself, or in a deployment (S3 is public), nothing asks.
        context.grant_permissions(["clipboard-read", "clipboard-write", "local-network-access"], origin=base_url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        watch = PageWatch()
        watch.attach(page)
        page.add_init_script(WATCH_SCRIPT)
        add_csp(page, base_url, watch)
        if fake_clock:
            page.clock.install()  # before the page's timers start, so they run on it too
        page.goto(base_url + "/")
        page.wait_for_function("() => document.documentElement.classList.contains('js-ready')")
        return page, watch

    yield open_
    for context in contexts:
        context.close()


def api_image(base_url: str, image_id: str) -> dict:
    answer = requests.get(f"{base_url}/api/images/{image_id}", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def card_image_id(page, card) -> str:
    """The image id a finished card shows (from its snippet's /api/images/{id}/… addresses)."""
    snippet = card.locator(".snippet code").text_content()
    return re.search(r"/api/images/([0-9a-f-]{36})/", snippet)[1]


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
    # The snippet uses the stable redirect addresses, each of which leads to the variant.
    snippet = card.locator(".snippet code").text_content()
    addresses = re.findall(r"(http://127\.0\.0\.1:\d+/api/images/[^\s\"]+?)(?: \d+w|\")", snippet)
    assert addresses and all(a.startswith(base_url) for a in addresses)
    for address in set(addresses):
        answer = requests.get(address, timeout=30)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("image/"), address
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
        assert states == ["ready", "uploading", "processing", "done"], states
    polls = [url for method, url in watch.requests
             if method == "GET" and re.search(r"/api/images/[0-9a-f-]{36}\?", url)]
    assert polls and all(url.endswith("?wait=10") for url in polls), polls

    lake = cards.first
    image = api_image(base_url, card_image_id(page, lake))
    assert {v["format"] for v in image["variants"]} == {"webp"}
    assert {"gps", "camera"} <= set(image["metadata_removed"])
    expect(lake.locator(".privacy")).to_contain_text("GPS location")
    expect(lake.locator(".compare-before")).to_have_attribute("alt", "lake at dusk.jpg as uploaded")
    # The blurhash placeholder is painted behind the images while they load.
    assert lake.locator(".compare").evaluate("el => el.style.backgroundImage").startswith('url("data:image/png;base64,')
    expect(page.locator("#live-status")).to_contain_text("is ready")

    # Copy link puts the variant's pre-signed URL on the clipboard.
    lake.locator(".variant[data-variant=thumb] button", has_text="Copy link").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("http://127.0.0.1:") and "thumb.webp" in copied and "X-Amz-Signature=" in copied

    # The comparison slider moves with the keyboard.
    slider = lake.locator(".compare-range")
    slider.focus()
    page.keyboard.press("End")
    assert lake.locator(".compare").evaluate("el => el.style.getPropertyValue('--pos')") == "100%"

    watch.assert_clean(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "desktop.png")


def test_drop_and_paste_images_on_a_phone(open_page, base_url, local_stack):
    page, watch = open_page(viewport=PHONE)
    drop_files(page, "#dropzone", [("lake.jpg", "image/jpeg", landscape_jpeg(seed=4))])
    expect(page.locator(".card")).to_have_count(1)
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
    watch.assert_clean(page)
    page.evaluate("window.scrollTo(0, 0)")
    DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SCREENSHOT), full_page=True)
    page.emulate_media(color_scheme="dark")
    screenshot(page, "desktop-dark.png")


def test_file_over_the_direct_limit_goes_straight_to_storage(open_page, base_url, local_stack, noisy_jpeg):
    page, watch = open_page()
    big = noisy_jpeg(PAGE_DIRECT_LIMIT + 100_000)
    page.set_input_files("#file-input", files=[{"name": "big.jpg", "mimeType": "image/jpeg", "buffer": big}])
    page.click("#upload-button")
    wait_finished(page, 1, timeout=60_000)
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "done")
    expect(card.locator(".file-route")).to_contain_text("Straight to storage")
    posts = [url for method, url in watch.requests if method == "POST"]
    assert not any(url.startswith(f"{base_url}/api/images") for url in posts), posts
    assert any(url.startswith(f"{base_url}/api/uploads") for url in posts), posts
    assert any(url.startswith(local_stack.storage_url) for url in posts), posts
    wait_images_loaded(page)
    image = check_results(page, card, base_url)
    assert image["original"]["bytes"] == len(big)
    watch.assert_clean(page)


def test_direct_upload_refused_as_too_large_falls_back_to_storage(open_page, base_url, local_stack, noisy_jpeg,
                                                                  direct_upload_max_bytes):
    page, watch = open_page()
    medium = noisy_jpeg(direct_upload_max_bytes + 50_000)
    assert len(medium) < PAGE_DIRECT_LIMIT
    page.set_input_files("#file-input", files=[{"name": "medium.jpg", "mimeType": "image/jpeg", "buffer": medium}])
    page.click("#upload-button")
    wait_finished(page, 1, timeout=60_000)
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "done")
    expect(card.locator(".file-route")).to_contain_text("Straight to storage")
    assert f"POST {base_url}/api/images?format=original&quality=82 413" in watch.error_responses
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
    expect(card.locator(".error-detail")).to_have_text("The largest image accepted is 210 kB.")
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
    assert card_states(page)[card.get_attribute("id")] == ["ready", "uploading", "processing", "failed"]
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
    retry = card.get_by_role("button", name="Try lake.jpg again")
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
    card.get_by_role("button", name="Get fresh links for lake.jpg").click()
    expect(card.locator(".expiry")).to_contain_text("Download links work until")
    expect(page.locator("#live-status")).to_contain_text("Fresh links for lake.jpg.")
    wait_images_loaded(page)
    assert card.locator(".variant[data-variant=thumb] img").get_attribute("src") != old_url
    watch.assert_clean(page)
