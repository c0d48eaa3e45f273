"""What the page's browser tests share: the browser, the Content-Security-Policy, watching a page
for errors, test images, and driving the page (drop, waiting for results)."""

import base64
import io
import json
import math
import os
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DOCS_SCREENSHOT = ROOT / "docs" / "screenshot.png"
# docs/screenshot.png is part of the repository: a test run rewrites it only when asked to.
UPDATE_README_SCREENSHOT = os.environ.get("UPDATE_README_SCREENSHOT") == "1"

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-quic", "--no-first-run", "--disable-sync"]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Runs before the page's own scripts (injected by the browser, so the CSP does not apply to it):
# records CSP violations and every state each file's card goes through.
WATCH_SCRIPT = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
window.__states = {};
const note = (card) => {
  if (!(card instanceof HTMLElement) || !card.classList.contains('card')) return;
  const seen = (window.__states[card.id] ??= []);
  const state = card.dataset.state;
  if (state && seen[seen.length - 1] !== state) seen.push(state);
};
new MutationObserver((records) => {
  for (const r of records) {
    if (r.type === 'childList') r.addedNodes.forEach(note);
    else note(r.target);
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'], childList: true });
"""


# axe-core (tests/e2e/vendor/axe-core, MPL-2.0), for the tests only: added to every page of a context with
# add_init_script, which the browser injects itself, so the page's CSP needs no exception for it.
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def accessibility_violations(page) -> list[dict]:
    """What axe-core finds on the page as it is now (WCAG 2.x A and AA and best practices): one entry per rule."""
    return page.evaluate("""async () => {
        const result = await axe.run(document, { resultTypes: ['violations'] });
        return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
        }));
    }""")


def assert_accessible(page, *, dark_too: bool = True) -> None:
    """No axe-core violation on the page as it is, in the light scheme and (by default) the dark one."""
    schemes = ("light", "dark") if dark_too else ("light",)
    found = {}
    for scheme in schemes:
        page.emulate_media(color_scheme=scheme)
        violations = accessibility_violations(page)
        if violations:
            found[scheme] = violations
    page.emulate_media(color_scheme="light")
    assert found == {}, found


def launch_browser(playwright):
    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("Chromium is not installed (scripts/ensure-chromium.sh installs Debian's chromium)")
    return playwright.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_ARGS)


@dataclass
class PageWatch:
    """Everything a page reported that a normal run should not have."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, url)
    csp_headers_added: int = 0
    csp: str = ""  # the Content-Security-Policy the page came with

    def attach(self, page) -> None:
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed_requests.append(f"{r.method} {r.url} {r.failure}"))
        page.on("response", lambda r: self.error_responses.append(f"{r.request.method} {r.url} {r.status}")
                if r.status >= 400 else None)
        page.on("request", lambda r: self.requests.append((r.method, r.url)))

    def csp_violations(self, page) -> list[str]:
        return page.evaluate("window.__cspViolations")

    def assert_clean(self, page, allow_status: tuple[int, ...] = ()) -> None:
        """No console errors, page errors, failed requests, error answers or CSP violations."""
        responses = [r for r in self.error_responses if not r.endswith(tuple(f" {s}" for s in allow_status))]
        console = [m for m in self.console_errors
                   if not (allow_status and "Failed to load resource" in m and any(str(s) in m for s in allow_status))]
        assert self.page_errors == [], self.page_errors
        assert console == [], console
        assert self.failed_requests == [], self.failed_requests
        assert responses == [], responses
        assert self.csp_violations(page) == []
        assert self.csp_headers_added >= 1, "the page's CSP was never checked"


def watch_csp(page, base_url: str, watch: PageWatch) -> None:
    """Record the Content-Security-Policy the page's HTML comes with: the stack's own (the template's, with only
    its hosts local: devstack.stack.edge_headers), so the page is tested under the policy it gets when deployed.
    Read from the answer, not routed: Playwright turns the HTTP cache off for a page with routes, and the
    cache is part of what the page must work with."""
    def record(response):
        if response.request.resource_type == "document" and response.url.startswith(base_url):
            policy = response.headers.get("content-security-policy", "")
            watch.csp_headers_added += bool(policy)
            watch.csp = policy

    page.on("response", record)


def edit_options(page, **changes) -> list[dict]:
    """Answer GET /api/options with the real answer changed: top-level keys replaced, except
    `limits` and `quality`, whose keys are merged in. Returns the list of bodies the page got."""
    served: list[dict] = []

    def edited(route):
        response = route.fetch()
        body = response.json()
        for key, value in changes.items():
            body[key] = {**body[key], **value} if key in ("limits", "quality") else value
        served.append(body)
        route.fulfill(response=response, body=json.dumps(body), content_type="application/json")

    page.route("**/api/options", edited)
    return served


# ------------------------------------------------------------------------------ test images
def landscape_jpeg(width: int = 1600, height: int = 1067, seed: int = 3, exif: bool = True, quality: int = 84) -> bytes:
    """A calm landscape (sky, sun, hills, lake) carrying camera, time and GPS metadata, so the
    privacy report has something to say."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = int(height * 0.62)
    top, bottom = (112, 146, 204), (246, 196, 150)
    for y in range(horizon):
        t = (y / horizon) ** 1.3
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    sun_x, sun_y, sun_r = int(width * 0.66), int(horizon * 0.5), int(height * 0.05)
    glow = Image.new("L", (width, height))
    ImageDraw.Draw(glow).ellipse([sun_x - 2 * sun_r, sun_y - 2 * sun_r, sun_x + 2 * sun_r, sun_y + 2 * sun_r], fill=120)
    image.paste(Image.new("RGB", image.size, (255, 224, 176)), (0, 0), glow.filter(ImageFilter.GaussianBlur(sun_r)))
    draw.ellipse([sun_x - sun_r, sun_y - sun_r, sun_x + sun_r, sun_y + sun_r], fill=(255, 243, 214))
    layers = [((150, 150, 182), 0.62, 0.7), ((98, 110, 146), 0.44, 1.3), ((58, 80, 96), 0.26, 2.2)]
    for colour, height_share, frequency in layers:
        phase = rng.random() * 10
        points = [(0, horizon)]
        for x in range(0, width + 20, 20):
            at = x / width * frequency
            ridge = math.sin(at * 6 + phase) * 0.5 + math.sin(at * 13 + phase * 2) * 0.2
            points.append((x, horizon - horizon * height_share * (0.62 + 0.4 * ridge)))
        points.append((width, horizon))
        draw.polygon(points, fill=colour)
    mirrored = image.crop((0, 0, width, horizon)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    lake = mirrored.crop((0, 0, width, height - horizon)).filter(ImageFilter.GaussianBlur(6))
    lake = Image.blend(lake, Image.new("RGB", lake.size, (52, 84, 110)), 0.35)
    image.paste(lake, (0, horizon))
    draw.line([(0, horizon), (width, horizon)], fill=(40, 62, 70), width=3)
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    out = io.BytesIO()
    extra = {}
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "Example Optics"  # Make
        tags[0x0110] = "Model 7"  # Model
        tags[0x0132] = "2024:06:21 20:41:07"  # DateTime
        tags.get_ifd(0x8825).update({1: "N", 2: (46.0, 33.0, 12.5), 3: "E", 4: (7.0, 58.0, 40.2)})  # GPS
        extra["exif"] = tags
    image.save(out, "JPEG", quality=quality, optimize=True, **extra)
    return out.getvalue()


def portrait_png(width: int = 600, height: int = 800) -> bytes:
    """A second, differently shaped image in another format."""
    image = Image.new("RGB", (width, height), (236, 232, 224))
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate([(214, 104, 83), (238, 176, 92), (94, 142, 128), (60, 88, 120)]):
        inset = 60 + i * 70
        draw.rounded_rectangle([inset, inset + 60, width - inset, height - inset - 60], radius=40, fill=colour)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def truncated_jpeg() -> bytes:
    whole = landscape_jpeg(640, 427, seed=5, exif=False)
    return whole[: len(whole) // 2]


# ------------------------------------------------------------------------------ driving the page
def drop_files(page, selector: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drop files on `selector` as a person dragging them from the desktop would (a DataTransfer
    built in the page, dispatched with dragenter, dragover and drop)."""
    payload = [{"name": name, "type": mime, "data": base64.b64encode(data).decode()} for name, mime, data in files]
    page.eval_on_selector(selector, """(target, files) => {
        const transfer = new DataTransfer();
        for (const f of files) {
            const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], f.name, { type: f.type }));
        }
        for (const type of ['dragenter', 'dragover', 'drop']) {
            target.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }
    }""", payload)


def paste_files(page, files: list[tuple[str, str, bytes]]) -> None:
    """Paste files as from the clipboard (a paste event carrying a DataTransfer)."""
    payload = [{"name": name, "type": mime, "data": base64.b64encode(data).decode()} for name, mime, data in files]
    page.evaluate("""(files) => {
        const transfer = new DataTransfer();
        for (const f of files) {
            const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], f.name, { type: f.type }));
        }
        const event = new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true });
        document.body.dispatchEvent(event);
    }""", payload)


def wait_finished(page, count: int, timeout: float = 45_000) -> None:
    """Until `count` cards have ended (done or failed)."""
    page.wait_for_function(
        "n => document.querySelectorAll('.card[data-state=done], .card[data-state=failed]').length >= n",
        arg=count, timeout=timeout)


def wait_images_loaded(page, timeout: float = 20_000, count: int = 1) -> None:
    """Until at least `count` images are in the results and every one has loaded; names the ones that did not.
    Polled from here: a string predicate for wait_for_function is evaluated in the page, which its CSP
    (no 'unsafe-eval') may refuse."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        missing = page.eval_on_selector_all(
            ".result img",
            "imgs => imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.currentSrc || i.src)")
        if not missing and page.locator(".result img").count() >= count:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"images not loaded: {missing}")
        time.sleep(0.1)


def shown_variants(page, card_selector: str) -> list[dict]:
    """Each variant on a card: its name, the loaded image's natural size and the facts shown."""
    return page.eval_on_selector_all(f"{card_selector} .variant", """items => items.map((li) => {
        const img = li.querySelector('img');
        return {
            name: li.dataset.variant,
            naturalWidth: img.naturalWidth,
            naturalHeight: img.naturalHeight,
            src: img.currentSrc,
            pixels: li.querySelector('.variant-pixels').textContent,
            format: li.querySelector('.variant-format').textContent,
            bytes: li.querySelector('.variant-bytes').textContent,
        };
    })""")


def card_states(page) -> dict[str, list[str]]:
    return page.evaluate("window.__states")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


class HeldRequests:
    """A route handler that holds every request it gets until `release()` (or `drop()`), so a test can
    see the page while those requests are under way."""

    def __init__(self):
        self.routes = []

    def __call__(self, route) -> None:
        self.routes.append(route)

    def release(self) -> None:
        for route in self.routes:
            try:
                route.continue_()
            except Exception:  # the page gave up on it (cancelled, or navigated away)
                pass
        self.routes.clear()

    def drop(self) -> None:
        for route in self.routes:
            try:
                route.abort()
            except Exception:
                pass
        self.routes.clear()


def transparent_png(width: int = 400, height: int = 300) -> bytes:
    """A coloured disc on a fully transparent canvas."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse([width // 4, height // 6, width * 3 // 4, height * 5 // 6], fill=(214, 104, 83, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
