import json
from pathlib import Path

import pytest

from devstack.testing import rendered_template, stack, template  # noqa: F401  (fixtures)

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


@pytest.fixture
def load_event():
    """A sample event from events/, the same file `sam local invoke -e` replays."""
    def load(name: str) -> dict:
        return json.loads((EVENTS_DIR / name).read_text())
    return load
