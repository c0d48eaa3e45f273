"""`imageservice upload|status|delete|url|login|logout`: the HTTP API from a shell, with exit codes a script can use.

Uploads go through POST /api/images when they fit its limit and through the pre-signed POST of
/api/uploads otherwise; both limits come from GET /api/options, so nothing here copies them.
"""

import argparse
import json
import mimetypes
import os
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import quote, urlparse

import requests

from . import settings
from .settings import DEFAULT_URL, TOKEN_VARIABLE, URL_VARIABLE, SettingsError

INTERRUPTED = 130  # what a shell reports for a command ended by Ctrl-C (128 + SIGINT)

# Exit codes, most serious last: with several files the command exits with the highest one.
OK = 0
REFUSED = 1  # the API refused a request (bad option, too large, not an image): a 4xx with a code
USAGE = 2  # the command line was wrong, or a file could not be read
FAILED = 3  # the image was accepted but its processing failed (422 with a code)
NOT_FINISHED = 4  # --wait ran out of time while the image was still pending
NOT_FOUND = 5  # no image has this id
UNREACHABLE = 6  # no answer, or a server error (5xx)

EXIT_CODES = f"""exit codes:
  {OK}  success (with --wait or --download: every image done)
  {REFUSED}  the API refused a request (bad option, too large, not an image)
  {USAGE}  wrong command line, or a file could not be read
  {FAILED}  an image could not be processed (corrupt, too many pixels, ...)
  {NOT_FINISHED}  --wait ran out of time with an image still pending
  {NOT_FOUND}  no image has this id
  {UNREACHABLE}  the service could not be reached, is not an image service, or answered with a server error
  {INTERRUPTED}  interrupted (Ctrl-C)
With several files, the highest code wins.

the service: --url, else ${URL_VARIABLE}, else url = "..." in {{config}}, else {DEFAULT_URL}
signing in: imageservice login (tokens kept in {{config_dir}}), or --token / ${TOKEN_VARIABLE}"""

# The accepted types by extension; the service decides by the bytes, this only fills the signed Content-Type.
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jfif": "image/jpeg", ".png": "image/png",
               ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".heic": "image/heic",
               ".heif": "image/heif", ".tif": "image/tiff", ".tiff": "image/tiff", ".bmp": "image/bmp"}
PROGRESS_FROM_BYTES = 1 << 20  # files larger than this get a progress bar
# Waiting polls the image's status object on the site (GET /status/{id}, served by CloudFront from storage, no
# function held) with If-None-Match, and asks the API for the outcome; while the status is pending, only once it
# has waited the service's processing timeout (processing_timeout is the one outcome the status object cannot
# show), then once a minute. docs/delivery.md.
STATUS_POLL_SECONDS = 1
API_CHECK_SECONDS = 60


class CommandError(Exception):
    """Ends one file's (or the command's) work with an exit code and a sentence for stderr."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def mib(count: int) -> str:
    """Sizes in the binary units of the service's limits: 52428800 -> "50 MiB", 5767168 -> "5.5 MiB"."""
    return f"{count / 1048576:.1f}".removesuffix(".0") + " MiB"


def why_unreachable(error: requests.RequestException) -> str:
    """A sentence for a request that got no answer, instead of urllib3's chain of exception texts."""
    if isinstance(error, requests.exceptions.SSLError):
        return "its TLS certificate was not accepted"
    if isinstance(error, requests.exceptions.Timeout):
        return "it did not answer in time"
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema |
                  requests.exceptions.InvalidSchema):
        return "that is not an http:// or https:// address"
    text = str(error)
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo failed" in text:
        return "no such host name"
    if "Connection refused" in text or "actively refused" in text:
        return "connection refused (is the service running?)"
    return "the connection failed"


class Client:
    def __init__(self, url: str, timeout: float, token: str | None = None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.token = token

    def call(self, method: str, path: str, expect: tuple[int, ...], **kwargs) -> requests.Response:
        own = not urlparse(path).scheme  # the service's own routes, not a pre-signed storage URL
        url = f"{self.url}{path}" if own else path
        headers = dict(kwargs.pop("headers", None) or {})
        if own and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.session.request(method, url, timeout=kwargs.pop("timeout", self.timeout),
                                            headers=headers, **kwargs)
        except requests.RequestException as error:
            raise CommandError(UNREACHABLE, f"could not reach {self.url}: {why_unreachable(error)}") from None
        if response.status_code not in expect:
            raise api_error(response, self.url if own else None)
        return response

    def options(self) -> dict:
        """GET /api/options, which every image service answers, signed in or not: it also tells this service
        from any other web server."""
        response = self.call("GET", "/api/options", (200,))
        try:
            options = response.json()
        except ValueError:
            options = None
        if not isinstance(options, dict) or not isinstance(options.get("limits"), dict):
            raise not_a_service(self.url)
        return options


def not_a_service(url: str) -> CommandError:
    return CommandError(UNREACHABLE, f"not an image service at {url} (set --url, ${URL_VARIABLE} or the config file)")


def api_error(response: requests.Response, service: str | None = None) -> CommandError:
    """The API's {"error": {code, message}} (or S3's XML, or a status) as an exit code and a sentence.
    `service`: the answer came from the service's own URL, where every 4xx of ours carries a code."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    if service and response.status_code == 401:
        return CommandError(REFUSED, "unauthorized: this service needs you signed in: run imageservice login "
                                     f"(or pass --token / ${TOKEN_VARIABLE})")
    # Every route of ours answers a 4xx with a code; API Gateway's own answers ({"message": ...}: throttled,
    # too large) come from the service too, but its 404 means a route it does not have: not this service.
    gateway_answer = isinstance(body, dict) and "message" in body and response.status_code != 404
    if service and 400 <= response.status_code < 500 and not error.get("code") and not gateway_answer:
        return not_a_service(service)
    code = error.get("code") or f"http_{response.status_code}"
    message = error.get("message") or response.text[:200].strip() or response.reason
    if response.status_code == 404:
        return CommandError(NOT_FOUND, f"{code}: {message}")
    if response.status_code >= 500:
        return CommandError(UNREACHABLE, f"{code}: {message}")
    return CommandError(REFUSED, f"{code}: {message}")


class Progress:
    """A file-like body that draws a bar on stderr as it is read (requests streams it, Content-Length from len)."""

    def __init__(self, data: bytes, label: str, enabled: bool):
        self.data, self.label, self.enabled, self.sent, self.shown = data, label, enabled, 0, -1

    def __len__(self) -> int:
        return len(self.data)

    def read(self, size: int = -1) -> bytes:
        chunk = self.data[self.sent:] if size < 0 else self.data[self.sent:self.sent + size]
        self.sent += len(chunk)
        percent = self.sent * 100 // max(len(self.data), 1)
        if self.enabled and percent != self.shown:  # redrawn once per percent, not per chunk
            self.shown = percent
            sizes = f"{self.sent / 1048576:.1f}/{len(self.data) / 1048576:.1f} MiB"
            end = "\n" if percent == 100 else ""
            print(f"\r{self.label} [{'#' * (percent * 30 // 100):<30}] {percent:3d}% {sizes}", end=end,
                  file=sys.stderr, flush=True)
        return chunk


def multipart(fields: dict[str, str], file_name: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    """S3's POST form: every field, then the file last (S3 ignores what follows it)."""
    boundary = "imageservice-" + "".join(f"{b:02x}" for b in data[:4]) + str(time.time_ns())
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    quoted = file_name.replace('"', "_")
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(client: Client, limits: dict, path: Path, args) -> str:
    """Send one file, directly or straight to storage by its size; returns the image id."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CommandError(USAGE, f"cannot read {path}: {error.strerror}") from None
    show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    show = show and len(data) > PROGRESS_FROM_BYTES
    content_type = IMAGE_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or ""
    if len(data) <= limits["direct_upload_max_bytes"]:
        query = {"format": args.format, "name": path.name}
        if args.quality is not None:
            query["quality"] = str(args.quality)
        if args.filters:
            query["filters"] = args.filters
        body = Progress(data, path.name, show)
        headers = {"Content-Type": content_type if content_type.startswith("image/") else "application/octet-stream"}
        response = client.call("POST", "/api/images", (202,), params=query, data=body, headers=headers)
        return response.json()["id"]
    request = {"format": args.format, "name": path.name,
               "filters": [name for name in (args.filters or "").split(",") if name]}
    if args.quality is not None:
        request["quality"] = args.quality
    if content_type.startswith("image/"):
        request["content_type"] = content_type
    ticket = client.call("POST", "/api/uploads", (201,), json=request).json()
    if len(data) > ticket["max_bytes"]:
        raise CommandError(REFUSED, f"payload_too_large: {path.name} is {mib(len(data))}; "
                                    f"the largest upload is {mib(ticket['max_bytes'])}.")
    fields = dict(ticket["upload"]["fields"])
    fields.setdefault("Content-Type", content_type or "image/jpeg")
    body, form_type = multipart(fields, path.name, data, fields["Content-Type"])
    client.call("POST", ticket["upload"]["url"], (200, 201, 204), data=Progress(body, path.name, show),
                headers={"Content-Type": form_type}, timeout=max(client.timeout, 600))
    return ticket["id"]


class StillPending(CommandError):
    def __init__(self, image_id: str):
        super().__init__(NOT_FINISHED, f"{image_id} is still pending; ask again with: imageservice status {image_id}")
        self.body = {"id": image_id, "status": "pending"}


def wait_for(client: Client, image_id: str, deadline: float, processing_timeout: float = 0) -> dict:
    """Until the image is done (returns the API's body), failed (FAILED), or the deadline (StillPending): polls
    GET /status/{id} with If-None-Match (a 304 while unchanged), and asks GET /api/images/{id} once the status is
    no longer pending (or missing: deleted, unknown, or a service without status objects), at the deadline, and
    while it is pending once `processing_timeout` (the service's limits.processing_timeout_seconds) has passed,
    then once a minute."""
    status_url = f"{client.url}/status/{quote(image_id, safe='')}"
    etag = None
    next_check = time.monotonic() + max(processing_timeout, API_CHECK_SECONDS)
    while True:
        state, etag = poll_status(client, status_url, etag)
        now = time.monotonic()
        if state != "pending" or now >= next_check or now >= deadline:
            response = client.call("GET", f"/api/images/{quote(image_id, safe='')}", (200, 202, 422))
            body = response.json()
            if response.status_code == 200:
                return body
            if response.status_code == 422:
                error = body.get("error", {})
                raise CommandError(FAILED, f"{image_id} failed: {error.get('code')}: {error.get('message')}")
            if now >= deadline:
                pending = StillPending(image_id)
                pending.body = body
                raise pending
            next_check = now + API_CHECK_SECONDS
        time.sleep(max(0.0, min(STATUS_POLL_SECONDS, deadline - now)))


def poll_status(client: Client, url: str, etag: str | None) -> tuple[str, str | None]:
    """The state the status object says ("pending", "done", "failed"; "missing" when there is none or the
    answer is not one) and its ETag; an unchanged one (304) is still pending."""
    try:
        answer = client.session.get(url, headers={"If-None-Match": etag} if etag else {}, timeout=client.timeout)
    except requests.RequestException as error:
        raise CommandError(UNREACHABLE, f"could not reach {client.url}: {why_unreachable(error)}") from None
    if answer.status_code == 304:
        return "pending", etag
    try:
        state = answer.json().get("status") if answer.status_code == 200 else None
    except (ValueError, AttributeError):
        state = None
    if state not in ("pending", "done", "failed"):
        return "missing", None
    return state, answer.headers.get("ETag")


def download(client: Client, image: dict, directory: Path, fallback_stem: str) -> list[Path]:
    """Every variant into `directory`, named as the service names downloads: <name>-<variant>.<ext>."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = image["original"].get("name") or fallback_stem
    saved = []
    for variant in image["variants"]:
        extension = urlparse(variant["url"]).path.rsplit(".", 1)[-1]
        target = directory / f"{stem}-{variant['name']}.{extension}"
        target.write_bytes(client.call("GET", variant["url"], (200,)).content)
        saved.append(target)
    return saved


def files_to_upload(names: list[str], recursive: bool) -> tuple[list[Path], list[CommandError]]:
    """The files named, with -r each folder's images (by extension, sorted, hidden ones skipped)."""
    files, problems = [], []
    for name in names:
        path = Path(name)
        if not path.is_dir():
            files.append(path)
        elif not recursive:
            problems.append(CommandError(USAGE, f"{path} is a folder; use -r to upload the images in it"))
        else:
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_TYPES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                problems.append(CommandError(USAGE, f"{path} holds no images ({', '.join(sorted(IMAGE_TYPES))})"))
            files.extend(found)
    return files, problems


def command_upload(client: Client, args) -> int:
    files, problems = files_to_upload(args.files, args.recursive)
    worst = OK
    for problem in problems:
        print(f"imageservice: {problem}", file=sys.stderr)
        worst = max(worst, problem.code)
    if not files:
        return worst
    limits = client.options()["limits"]
    for path in files:
        try:
            image_id = upload(client, limits, path, args)
            if not (args.wait or args.download):
                print(f"{image_id}\tpending\t{path}")
                continue
            try:
                image = wait_for(client, image_id, time.monotonic() + args.timeout,
                                 limits.get("processing_timeout_seconds", 0))
            except StillPending:
                print(f"{image_id}\tpending\t{path}")  # scripts still learn the id from stdout
                raise
            print(f"{image_id}\tdone\t{path}")
            if args.download:
                for saved in download(client, image, Path(args.download), path.stem):
                    print(f"  {saved}")
        except CommandError as error:
            print(f"imageservice: {path}: {error}", file=sys.stderr)
            worst = max(worst, error.code)
    return worst


def command_status(client: Client, args) -> int:
    if args.wait:
        try:
            timeout = client.options()["limits"].get("processing_timeout_seconds", 0)
            image = wait_for(client, args.id, time.monotonic() + args.timeout, timeout)
        except StillPending as pending:
            print(json.dumps(pending.body, indent=2))
            raise
    else:
        response = client.call("GET", f"/api/images/{args.id}", (200, 202, 422))
        image = response.json()
    print(json.dumps(image, indent=2))
    return {"done": OK, "pending": NOT_FINISHED, "failed": FAILED}[image["status"]]


def command_url(client: Client, args) -> int:
    """The image's address at the edge (GET /img/{id}/{width}.{format}), with the width and format checked
    against what the service delivers (GET /api/options); the image itself is not fetched."""
    delivery = client.options().get("delivery")
    if not delivery:
        raise CommandError(REFUSED, "this service delivers no /img addresses")
    widths, formats = delivery["widths"], delivery["formats"]
    if args.width not in widths:
        raise CommandError(USAGE, f"--width must be one of {', '.join(map(str, widths))}, not {args.width}")
    if args.format not in formats:
        raise CommandError(USAGE, f"--format must be one of {', '.join(formats)}, not {args.format}")
    path = delivery["path"]
    if delivery.get("session"):
        # Signed in: your own images are under your own path, which the session route names (its cookies admit
        # them, in a browser: this command keeps none).
        origin = "{0.scheme}://{0.netloc}".format(urlparse(client.url))
        path = client.call("POST", delivery["session"], (200,), headers={"Origin": origin}).json()["path"]
        print(f"imageservice: this address works only in a browser signed in to {origin} (a cookie admits your "
              "images there); elsewhere it answers 403", file=sys.stderr)
    print(f"{client.url}{path}/{quote(args.id, safe='')}/{args.width}.{args.format}")
    return OK


def command_delete(client: Client, args) -> int:
    client.call("DELETE", f"/api/images/{args.id}", (204,))
    print(f"deleted {args.id}")
    return OK


def client_version() -> str:
    try:
        return version("imageservice-cli")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def parser() -> argparse.ArgumentParser:
    def common(parser: argparse.ArgumentParser, default) -> argparse.ArgumentParser:
        # Before or after the command; a subcommand's SUPPRESS default leaves the top level's value alone.
        parser.add_argument("--url", default=default(None),
                            help=f"the service (default: ${URL_VARIABLE}, the config file, or {DEFAULT_URL})")
        parser.add_argument("--timeout", type=float, default=default(120),
                            help="seconds to wait for an answer or an outcome (120)")
        parser.add_argument("--token", default=default(None),
                            help=f"an access token to send (default: ${TOKEN_VARIABLE}, or what login saved)")
        return parser

    epilog = EXIT_CODES.format(config=settings.config_file(), config_dir=settings.config_dir())
    top = common(argparse.ArgumentParser(prog="imageservice", description=__doc__.splitlines()[0],
                                         epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter),
                 lambda value: value)
    top.add_argument("--version", action="version", version=f"%(prog)s {client_version()}")
    shared = common(argparse.ArgumentParser(add_help=False), lambda value: argparse.SUPPRESS)
    commands = top.add_subparsers(dest="command", required=True)
    up = commands.add_parser("upload", help="upload images; prints: id, status, file", parents=[shared],
                             epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    up.add_argument("files", nargs="+", metavar="FILE")
    up.add_argument("-r", "--recursive", action="store_true", help="upload the images in folders and their subfolders")
    up.add_argument("--format", default="original", help="jpeg, png, webp, avif or original (default)")
    up.add_argument("--quality", type=int, help="1-100 for JPEG, WebP and AVIF (default: the service's)")
    up.add_argument("--filters", help="comma list applied in order, e.g. grayscale,sharpen")
    up.add_argument("--wait", action="store_true", help="wait until each image is done or failed")
    up.add_argument("--download", metavar="DIR", help="save every variant into DIR (implies --wait)")
    up.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                    help="progress bar on stderr for files over 1 MiB (auto: when stderr is a terminal)")
    status = commands.add_parser("status", parents=[shared],
                                 help="print an image's status as JSON (exit 0 done, 4 pending, 3 failed)")
    status.add_argument("id")
    status.add_argument("--wait", action="store_true", help="wait for the outcome (up to --timeout)")
    delete = commands.add_parser("delete", parents=[shared], help="delete an image and all its variants")
    delete.add_argument("id")
    login_ = commands.add_parser("login", parents=[shared],
                                 help="sign in through your browser and keep the tokens for this service")
    login_.add_argument("--no-browser", action="store_true", help="print the sign-in address instead of opening it")
    commands.add_parser("logout", parents=[shared], help="forget the tokens kept for this service")
    url = commands.add_parser("url", parents=[shared],
                              help="print the image's address at the edge: /img/ID/WIDTH.FORMAT, cached by the CDN")
    url.add_argument("id")
    url.add_argument("--width", type=int, required=True, help="one of the service's widths (GET /api/options)")
    url.add_argument("--format", default="auto",
                     help="auto (default: AVIF, WebP or JPEG, as each browser prefers), avif, webp, jpeg or png")
    return top


def command_login(client: Client, args) -> int:
    from .login import login  # the sign-in flow's modules only when signing in

    path = login(client, args.no_browser)
    print(f"signed in to {client.url}; tokens kept in {path}")
    return OK


def command_logout(client: Client, args) -> int:
    had = settings.saved_tokens(client.url) is not None
    settings.save_tokens(client.url, None)
    print(f"signed out of {client.url}" if had else f"no tokens were kept for {client.url}")
    return OK


def access_token(args, url: str) -> str | None:
    """--token, else $IMAGESERVICE_TOKEN, else the access token login saved (renewed when it has expired)."""
    if args.token or os.environ.get(TOKEN_VARIABLE):
        return args.token or os.environ[TOKEN_VARIABLE]
    if args.command in ("login", "logout"):
        return None
    from .login import current_access_token

    return current_access_token(url)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        url = settings.service_url(args.url)
        # --timeout bounds the wait for outcomes; a single request gets 30 s at least.
        client = Client(url, max(args.timeout, 30))
        run = {"upload": command_upload, "status": command_status, "delete": command_delete,
               "url": command_url, "login": command_login, "logout": command_logout}[args.command]
        client.token = access_token(args, url)
        return run(client, args)
    except CommandError as error:
        print(f"imageservice: {error}", file=sys.stderr)
        return error.code
    except SettingsError as error:
        print(f"imageservice: {error}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("\nimageservice: interrupted", file=sys.stderr)
        return INTERRUPTED
