"""The local stack serves web/ with the content types the deployed site gets from the publisher."""

import threading
from pathlib import Path

import pytest
import requests
from publisher import local_files
from web_content_types import CONTENT_TYPES

from devstack.apigw.gateway import Gateway

WEB_SUFFIXES = {path.suffix.lower() for path in (Path(__file__).resolve().parents[2] / "web").rglob("*.*")}
# Every suffix either side knows, those web/ holds today, an unknown one and an upper-case spelling.
CASES = sorted(set(CONTENT_TYPES) | WEB_SUFFIXES | {".unknownsuffix", ".PNG", ".Html"})


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    for suffix in CASES:
        (root / f"file{suffix}").write_bytes(b"x")
    gateway = Gateway("127.0.0.1", 0)
    gateway.attach(None, {}, root, lambda *args: None, lambda text: None)
    threading.Thread(target=gateway.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield root, f"http://127.0.0.1:{gateway.port}"
    gateway.shutdown()
    gateway.server_close()


@pytest.mark.parametrize("suffix", CASES)
def test_local_and_deployed_content_types_agree(site, suffix):
    root, url = site
    published = {file.key: file.content_type for file in local_files(root)}
    served = requests.get(f"{url}/file{suffix}", timeout=10)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == published[f"file{suffix}"]
