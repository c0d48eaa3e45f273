import json
import sys
from pathlib import Path

import pytest

from devstack.testing import rendered_template, stack, template  # noqa: F401  (fixtures)

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


@pytest.fixture(autouse=True)
def _fresh_isolation_worker():
    """Each test starts without imaging.isolation's warm worker, so that what a test patches before its first
    job (a decoder, Pillow) is what the worker it forks runs."""
    isolation = sys.modules.get("imaging.isolation")
    if isolation is not None:
        isolation.reset()
    yield


@pytest.fixture
def load_event():
    """A sample event from events/, the same file `sam local invoke -e` replays."""
    def load(name: str) -> dict:
        return json.loads((EVENTS_DIR / name).read_text())
    return load
