"""The site's files on the API's origin, as CloudFront serves the website bucket: web/ with the publisher's
Content-Types, nothing outside it, and a placeholder page while web/index.html does not exist."""

import importlib.util
from pathlib import Path
from urllib.parse import unquote

from ..application import app

# The deployed site's files carry the Content-Type the publisher gives them: the local stack serves web/
# with the same table, the one file the publisher ships it in.
_spec = importlib.util.spec_from_file_location("web_content_types", app.WEB_CONTENT_TYPES)
web_content_types = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(web_content_types)

PLACEHOLDER_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{app.TITLE}</title></head>
<body><h1>{app.TITLE}</h1><p>The local stack is running, but web/index.html does not exist yet.
The API is at <a href="{app.HEALTH_PATH}">{app.HEALTH_PATH}</a>.</p></body></html>
""".encode()


def static_answer(web_dir: Path | None, method: str, raw_path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """The answer to a request for a path outside the API."""
    if method not in ("GET", "HEAD"):
        return 405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")], b"Method not allowed\n"
    found = static_file(web_dir, raw_path) if web_dir else None
    if found is None and raw_path == "/" and not (web_dir and (web_dir / "index.html").exists()):
        return 200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache")], PLACEHOLDER_PAGE
    if found is None:
        return 404, [("Content-Type", "text/plain; charset=utf-8")], b"Not found\n"
    content_type = web_content_types.content_type(found.name)
    return (
        200,
        [("Content-Type", content_type), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff")],
        found.read_bytes(),
    )


def static_file(web_dir: Path, raw_path: str) -> Path | None:
    """The file under web/ a path names (index.html for a directory), never anything outside web/."""
    path = unquote(raw_path)
    if "\x00" in path or "\\" in path:
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." or p.startswith(".") for p in parts):
        return None
    root = web_dir.resolve()
    candidate = root.joinpath(*parts)
    if candidate.is_dir():
        candidate = candidate / "index.html"
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved
