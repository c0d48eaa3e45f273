"""web/sniff.js and imageservice/sniff.py decide alike: both fed the same bytes (every accepted type,
crafted edge cases and seeded mutations of real headers), the page's module run in headless Chromium."""

import base64
import io
import random
from pathlib import Path

import pillow_heif
import pytest
from imageservice.sniff import IMAGE_CONTENT_TYPES, sniff_image_type
from page_helpers import launch_browser
from PIL import Image
from playwright.sync_api import sync_playwright

pytestmark = [pytest.mark.browser]

WEB = Path(__file__).resolve().parents[2] / "web"
ORIGIN = "http://sniff.test"


def encoded(fmt: str, mode: str = "RGB", **params) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (8, 6), "teal").save(buffer, fmt, **params)
    return buffer.getvalue()


def heic() -> bytes:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (16, 16), "teal")).save(buffer, quality=50)
    return buffer.getvalue()


def ftyp(size: int, major: bytes, compatible: list[bytes], total: int | None = None) -> bytes:
    box = size.to_bytes(4, "big") + b"ftyp" + major + b"\0\0\0\0" + b"".join(compatible)
    return box.ljust(total or len(box), b"\0")


def samples() -> list[bytes]:
    real = [encoded("JPEG"), encoded("PNG"), encoded("GIF"), encoded("WEBP"), encoded("AVIF"), encoded("TIFF"),
            encoded("TIFF", compression="raw", tiffinfo={}), encoded("BMP"), heic()]
    crafted = [
        b"", b"\xff", b"\xff\xd8", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a", b"GIF87a", b"GIF88a", b"RIFF\0\0\0\0WEBX",
        b"RIFF\0\0\0\0WEBP", b"II*\0", b"MM\0*", b"II\0*", b"BM", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"<!doctype html><title>x</title>", b"hello, this is text pretending to be a photo.jpg",
    ]
    crafted += [b"BM" + bytes(12) + size.to_bytes(4, "little") for size in (0, 11, 12, 16, 40, 41, 124, 125, 1 << 20)]
    for size in (0, 8, 15, 16, 17, 20, 24, 28, 4096, 4097):
        for major, compatible in ((b"avif", []), (b"mif1", [b"avif"]), (b"mif1", [b"heic"]), (b"isom", [b"mp41"]),
                                  (b"heic", []), (b"msf1", [b"avis"]), (b"crx ", [b"heix"])):
            crafted.append(ftyp(size, major, compatible))
            crafted.append(ftyp(size, major, compatible, total=4200))
    rng = random.Random(0)
    mutated = []
    for original in real:
        for _ in range(150):
            data = bytearray(original[:64])
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            mutated.append(bytes(data[: rng.randint(0, len(data))]))
    noise = [rng.randbytes(rng.randint(0, 40)) for _ in range(300)]
    return real + [original[:cut] for original in real for cut in range(0, 40, 3)] + crafted + mutated + noise


@pytest.fixture(scope="module")
def page():
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page()

        def serve(route):
            path = route.request.url.removeprefix(ORIGIN).split("?")[0].lstrip("/") or "index.html"
            if path == "index.html":
                route.fulfill(body="<!doctype html><title>sniff</title>", content_type="text/html")
            else:
                route.fulfill(path=WEB / path, content_type="text/javascript")

        page.route(f"{ORIGIN}/**", serve)
        page.goto(f"{ORIGIN}/")
        yield page
        browser.close()


def test_the_page_and_the_api_sniff_every_sample_alike(page):
    cases = samples()
    in_browser = page.evaluate("""async (samples) => {
        const { sniffBytes } = await import('/sniff.js');
        return samples.map((b64) => sniffBytes(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
    }""", [base64.b64encode(data).decode() for data in cases])
    in_python = [sniff_image_type(data) for data in cases]
    disagreements = [(data[:24], py, js) for data, py, js in zip(cases, in_python, in_browser, strict=True) if py != js]
    assert disagreements == []
    # The samples reach every verdict, so agreement is not only on "not an image".
    assert set(in_python) == set(IMAGE_CONTENT_TYPES) | {None}


def test_the_page_names_the_same_content_types(page):
    assert page.evaluate("async () => (await import('/sniff.js')).CONTENT_TYPES") == IMAGE_CONTENT_TYPES
