"""The local stack serves web/ with the content types the deployed site gets from the publisher."""

from pathlib import Path

import pytest
from publisher import content_type

from devstack.gateway import CONTENT_TYPES

WEB_FILES = sorted(path for path in (Path(__file__).resolve().parents[2] / "web").rglob("*") if path.is_file())


@pytest.mark.parametrize("path", WEB_FILES, ids=[path.name for path in WEB_FILES])
def test_local_and_deployed_content_types_agree(path):
    assert CONTENT_TYPES[path.suffix.lower()] == content_type(path.name)
