"""The command-line client (cli/) as a person runs it: installed with pip, then as a subprocess against the
local stack (DirectUploadMaxBytes=200000, so larger files take the pre-signed POST)."""

import fcntl
import io
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PIL import Image, ImageChops

pytestmark = [pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`pip install ./cli` into a folder of its own: the console script and the package it runs."""
    target = tmp_path_factory.mktemp("cli-install")
    source = tmp_path_factory.mktemp("cli-source") / "cli"
    shutil.copytree(ROOT / "cli", source)  # setuptools builds in the source tree: not in the repository's
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True, timeout=300)
    return target


def cli_command(installed: Path, tmp_path: Path, url: str | None, args, env: dict | None = None):
    """The installed console script's command line and environment: settings in a folder of the test's own,
    and nothing of the machine's IMAGESERVICE_* variables."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("IMAGESERVICE_")}
    environment.update({"PYTHONPATH": str(installed), "IMAGESERVICE_CONFIG_DIR": str(tmp_path / "config"),
                        **(env or {})})
    command = [sys.executable, str(installed / "bin" / "imageservice"), *(["--url", url] if url else []), *args]
    return command, environment


@pytest.fixture
def http_get_image():
    def get(url: str, accept: str) -> requests.Response:
        answer = requests.get(url, headers={"Accept": accept}, timeout=60)
        assert answer.status_code == 200, answer.text
        return answer
    return get


@pytest.fixture
def imageservice(installed, base_url, tmp_path):
    """imageservice(*args, url=base_url, env=None) -> CompletedProcess, run through the installed console script;
    url=None leaves --url out."""
    def run(*args: str, url: str | None = base_url, timeout: float = 120, env: dict | None = None):
        command, environment = cli_command(installed, tmp_path, url, args, env)
        return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=timeout)
    return run


def test_upload_direct_and_presigned_then_download(imageservice, tmp_path, photo, noisy_jpeg, local_stack,
                                                   direct_upload_max_bytes):
    small = tmp_path / "holiday photo.jpg"
    small.write_bytes(photo(1280, 960, seed=3))
    big = tmp_path / "big.jpg"
    big.write_bytes(noisy_jpeg(max(direct_upload_max_bytes + 50_000, (1 << 20) + 1)))
    presigned_before = local_stack.count_lines(r"POST /api/uploads 201")

    done = imageservice("upload", small.name, big.name, "--format", "webp", "--filters", "grayscale",
                        "--download", "out", "--progress", "always")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    ids = [line.split("\t")[0] for line in lines if "\tdone\t" in line]
    assert [line.split("\t")[1:] for line in lines if "\t" in line] == [["done", small.name], ["done", big.name]]
    images = [json.loads(imageservice("status", image_id).stdout) for image_id in ids]
    saved = sorted(p.name for p in (tmp_path / "out").iterdir())
    stems = ("holiday photo", "big")
    assert saved == sorted(f"{stem}-{variant['name']}.webp"
                           for stem, image in zip(stems, images, strict=True) for variant in image["variants"])
    assert len(images[0]["variants"]) == 3
    with Image.open(tmp_path / "out" / "holiday photo-thumb.webp") as thumb:
        assert thumb.format == "WEBP" and max(thumb.size) == 256
        red, green, _ = thumb.convert("RGB").split()
        assert ImageChops.difference(red, green).getextrema()[1] <= 3  # grayscale was applied
    # The big file went straight to storage, with a progress bar on stderr; the small one did not.
    assert local_stack.count_lines(r"POST /api/uploads 201") == presigned_before + 1
    assert "big.jpg [" in done.stderr and "100%" in done.stderr and "holiday photo.jpg [" not in done.stderr

    status = imageservice("status", ids[1])
    assert status.returncode == 0 and json.loads(status.stdout)["original"]["name"] == "big"
    assert all(line.startswith("  out/") for line in lines if "\t" not in line)
    deleted = imageservice("delete", ids[0])
    assert (deleted.returncode, deleted.stdout) == (0, f"deleted {ids[0]}\n")
    gone = imageservice("delete", ids[0])
    assert gone.returncode == 5 and "not_found" in gone.stderr
    assert imageservice("status", ids[0]).returncode == 5


def test_exit_codes_a_script_can_use(imageservice, tmp_path, photo, base_url):
    (tmp_path / "notes.jpg").write_text("not an image")
    refused = imageservice("upload", "notes.jpg")
    assert refused.returncode == 1 and "unsupported_media_type" in refused.stderr

    (tmp_path / "cut.jpg").write_bytes(photo(640, 480, seed=4)[:3000])
    failed = imageservice("upload", "cut.jpg", "--wait")
    assert failed.returncode == 3 and "corrupt_image" in failed.stderr

    (tmp_path / "ok.jpg").write_bytes(photo(320, 240, seed=5))
    bad_option = imageservice("upload", "ok.jpg", "--quality", "500")
    assert bad_option.returncode == 1 and "invalid_option" in bad_option.stderr
    # With several files the most serious outcome wins; the good one is still uploaded.
    mixed = imageservice("upload", "ok.jpg", "missing.jpg", "cut.jpg", "--wait")
    assert mixed.returncode == 3 and "\tdone\tok.jpg" in mixed.stdout and "cannot read missing.jpg" in mixed.stderr

    assert imageservice("frobnicate").returncode == 2
    assert imageservice("status", "not-an-id").returncode == 5
    unreachable = imageservice("status", "x", url="http://127.0.0.1:9")
    assert unreachable.returncode == 6 and "could not reach" in unreachable.stderr
    assert "exit codes:" in imageservice("--help").stdout


def test_still_pending_exits_4(imageservice, tmp_path, base_url):
    """--timeout 0: the outcome is asked for once, right after the upload; 12 megapixels take longer than that."""
    Image.linear_gradient("L").resize((4000, 3000)).convert("RGB").save(tmp_path / "large.jpg", quality=90)
    pending = imageservice("upload", "large.jpg", "--wait", "--timeout", "0")
    assert pending.returncode == 4 and "is still pending; ask again with: imageservice status" in pending.stderr
    image_id = pending.stderr.split("status ")[-1].strip()
    assert pending.stdout == f"{image_id}\tpending\tlarge.jpg\n"  # a script still gets the id on stdout
    assert imageservice("status", image_id, "--wait").returncode == 0


def test_the_readme_curl_examples_run_as_written(base_url, tmp_path, photo):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Try it with curl"):]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start:section.index("\n```", start)]
    (tmp_path / "photo.jpg").write_bytes(photo(640, 480, seed=6))
    script = block.replace("http://127.0.0.1:3000", base_url)
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 4, run.stdout
    assert json.loads(lines[0])["status"] == "pending"
    done = json.loads(lines[1])
    assert done["status"] == "done" and done["original"]["name"] == "photo"
    assert lines[2:] == ["200 image/webp", "204"]
    with Image.open(tmp_path / "photo-thumb.webp") as thumb:
        assert thumb.format == "WEBP"


def test_the_service_url_from_the_environment_or_the_config_file_and_the_version(imageservice, tmp_path, base_url):
    assert imageservice("--version", url=None).stdout.strip() == "imageservice 1.0.0"
    fresh = "0b4d6c1e-2f3a-4b5c-8d7e-9f0a1b2c3d4e"  # unknown to the stack: 5 means the stack was asked
    nowhere = imageservice("status", fresh, url=None)  # the default, http://127.0.0.1:3000, is not this stack
    assert nowhere.returncode == 6 and nowhere.stderr.startswith("imageservice: ")
    assert imageservice("status", fresh, url=None, env={"IMAGESERVICE_URL": base_url}).returncode == 5
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(f'url = "{base_url}"\n')
    assert imageservice("status", fresh, url=None).returncode == 5
    assert imageservice("status", fresh, url="http://127.0.0.1:9").returncode == 6  # --url wins
    (tmp_path / "config" / "config.toml").write_text("url = \n")
    broken = imageservice("status", fresh, url=None)
    assert broken.returncode == 2 and "config.toml" in broken.stderr


def test_a_url_that_is_not_this_service(imageservice, tmp_path, local_stack):
    """Another web server (storage here: S3's XML) or a dead port: a sentence and 6, never urllib3's text."""
    (tmp_path / "ok.jpg").write_bytes(b"\xff\xd8\xff" + bytes(100))
    for command in (("status", "0b4d6c1e-2f3a-4b5c-8d7e-9f0a1b2c3d4e"), ("upload", "ok.jpg")):
        other = imageservice(*command, url=local_stack.storage_url)
        assert other.returncode == 6, other.stderr
        assert other.stderr == f"imageservice: not an image service at {local_stack.storage_url} " \
                               "(set --url, $IMAGESERVICE_URL or the config file)\n"
    dead = imageservice("status", "x", url="http://127.0.0.1:9")
    assert dead.stderr == "imageservice: could not reach http://127.0.0.1:9: connection refused " \
                          "(is the service running?)\n"
    assert "Traceback" not in dead.stderr and "urllib3" not in dead.stderr


def test_folders_with_r(imageservice, tmp_path, photo):
    album = tmp_path / "album"
    (album / "2024").mkdir(parents=True)
    (album / "a.jpg").write_bytes(photo(320, 240, seed=11))
    (album / "2024" / "b.JPG").write_bytes(photo(240, 320, seed=12))
    (album / "notes.txt").write_text("not an image")
    (album / ".hidden.jpg").write_bytes(photo(64, 64, seed=13))
    refused = imageservice("upload", "album")
    assert refused.returncode == 2 and "album is a folder; use -r" in refused.stderr and refused.stdout == ""
    uploaded = imageservice("upload", "-r", "album", "--wait")
    assert uploaded.returncode == 0, uploaded.stderr
    assert [line.split("\t")[1:] for line in uploaded.stdout.splitlines()] == [
        ["done", str(Path("album") / "2024" / "b.JPG")], ["done", str(Path("album") / "a.jpg")]]


def test_ctrl_c_exits_130_without_a_traceback(installed, tmp_path):
    """Interrupted while waiting for an answer (from a server that takes the connection and never answers)."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        command, environment = cli_command(installed, tmp_path, url, ("status", "0b4d6c1e-2f3a-4b5c-8d7e-9f0a1b2c3d4e"))
        process = subprocess.Popen(command, env=environment, cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(2)  # started, and waiting for the answer
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert stderr.strip().endswith("imageservice: interrupted") and "Traceback" not in stderr


def test_sizes_in_messages_are_in_mib(imageservice, tmp_path):
    """LargeUploadMaxBytes of the test stack is the default, 50 MiB: a bigger file is refused, in MiB, before
    anything is sent to storage."""
    (tmp_path / "huge.jpg").write_bytes(b"\xff\xd8\xff" + bytes(int(50.5 * 1048576) - 3))
    refused = imageservice("upload", "huge.jpg")
    assert refused.returncode == 1
    assert refused.stderr == "imageservice: huge.jpg: payload_too_large: huge.jpg is 50.5 MiB; " \
                             "the largest upload is 50 MiB.\n"


@pytest.mark.parametrize("mode", ["cognito", "oidc"])
def test_login_then_upload_in_each_sign_in_mode(installed, tmp_path, start_stack, photo, mode):
    """`imageservice login`: the code flow with PKCE, the browser's part played here (the issuer's form, then
    its redirect to the CLI's loopback address); the tokens land 0600 in the config folder and the next
    commands send them. --token and IMAGESERVICE_TOKEN pass a token of one's own."""
    stack = start_stack("--parameter-overrides", f"AuthMode={mode}", "--retry-delay", "0.2")
    (tmp_path / "photo.jpg").write_bytes(photo(320, 240, seed=14))

    def run(*args, env=None):
        command, environment = cli_command(installed, tmp_path, stack.url, args, env)
        return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120)

    refused = run("upload", "photo.jpg")
    assert refused.returncode == 1 and "run imageservice login" in refused.stderr
    # One login at a time on this machine: the loopback port is fixed (Cognito matches callbacks exactly).
    with open(Path(tempfile.gettempdir()) / "imageservice-cli-login.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        command, environment = cli_command(installed, tmp_path, stack.url, ("login", "--no-browser"))
        login = subprocess.Popen(command, env=environment, cwd=tmp_path, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        login.stderr.readline()  # "Sign in at this address …"
        address = login.stderr.readline().strip()
        query = {name: values[0] for name, values in parse_qs(urlsplit(address).query).items()}
        assert query["redirect_uri"] == "http://localhost:8976/callback" and query["code_challenge_method"] == "S256"
        back = requests.post(address.split("?")[0], data={**query, "email": "carol@example.com"},
                             allow_redirects=False, timeout=10)
        assert back.status_code == 302 and back.headers["Location"].startswith("http://localhost:8976/callback?")
        assert requests.get(back.headers["Location"], timeout=10).status_code == 200  # the browser's last step
        stdout, stderr = login.communicate(timeout=60)
    assert login.returncode == 0, stderr
    tokens = tmp_path / "config" / "tokens.json"
    assert stdout == f"signed in to {stack.url}; tokens kept in {tokens}\n"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert json.loads(tokens.read_text())[stack.url]["access_token"]

    uploaded = run("upload", "photo.jpg", "--wait")
    assert uploaded.returncode == 0, uploaded.stderr
    image_id = uploaded.stdout.split("\t")[0]
    assert json.loads(run("status", image_id).stdout)["status"] == "done"
    # Signed in, the edge address is the user's own (/img/{owner}/...), and works only with a browser's cookie.
    url = run("url", image_id, "--width", "320")
    assert url.returncode == 0, url.stderr
    assert re.fullmatch(rf"{re.escape(stack.url)}/img/[0-9a-f]{{64}}/{image_id}/320\.auto\n", url.stdout), url.stdout
    assert "works only in a browser signed in to" in url.stderr
    assert requests.get(url.stdout.strip(), timeout=10).status_code == 403  # no cookie here

    assert run("logout").stdout == f"signed out of {stack.url}\n"
    assert run("status", image_id).returncode == 1  # no token any more: 401
    issuer = requests.get(f"{stack.url}/api/options", timeout=10).json()["sign_in"]["issuer"]
    minted = requests.post(f"{issuer}/dev/mint", data={"email": "carol@example.com"}, timeout=10).json()
    assert run("status", image_id, "--token", minted["access_token"]).returncode == 0
    assert run("status", image_id, env={"IMAGESERVICE_TOKEN": minted["access_token"]}).returncode == 0
    stranger = requests.post(f"{issuer}/dev/mint", data={"email": "dave@example.com"}, timeout=10).json()
    assert run("status", image_id, env={"IMAGESERVICE_TOKEN": stranger["access_token"]}).returncode == 5


def test_url_prints_the_image_s_address_at_the_edge(imageservice, tmp_path, photo, http_get_image):
    (tmp_path / "wide.jpg").write_bytes(photo(1280, 960, seed=6))
    uploaded = imageservice("upload", "wide.jpg", "--wait")
    image_id = uploaded.stdout.split("\t")[0]

    url = imageservice("url", image_id, "--width", "640", "--format", "auto")
    assert url.returncode == 0, url.stderr
    address = url.stdout.strip()
    assert address.endswith(f"/img/{image_id}/640.auto")
    answer = http_get_image(address, "image/avif,image/webp,*/*")
    assert (answer.headers["Content-Type"], Image.open(io.BytesIO(answer.content)).width) == ("image/avif", 640)
    assert imageservice("url", image_id, "--width", "640").stdout == url.stdout  # auto is the default
    assert imageservice("url", image_id, "--width", "320", "--format", "webp").stdout.strip().endswith("/320.webp")

    wrong = imageservice("url", image_id, "--width", "641")
    assert wrong.returncode == 2 and "--width must be one of 160, 320, 640" in wrong.stderr
    assert imageservice("url", image_id, "--width", "640", "--format", "gif").returncode == 2
