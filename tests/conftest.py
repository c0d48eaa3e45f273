import json
from pathlib import Path

import pytest

from devstack.iam import render_template
from devstack.template import load_template, read_stack

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


@pytest.fixture(scope="session")
def template() -> dict:
    return load_template()


@pytest.fixture(scope="session")
def stack():
    return read_stack()


@pytest.fixture(scope="session")
def rendered_template() -> dict:
    """template.yaml after the SAM transform: the role policies IAM enforcement reads."""
    return render_template()


@pytest.fixture
def load_event():
    """A sample event from events/, the same file `sam local invoke -e` replays."""
    def load(name: str) -> dict:
        return json.loads((EVENTS_DIR / name).read_text())
    return load
