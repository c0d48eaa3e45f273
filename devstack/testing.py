"""pytest fixtures over the application's template, shared by the local stack's tests (devstack/tests) and
the application's (tests/): each conftest.py imports the ones it uses."""

import pytest

from .cfn.template import load_template, read_stack
from .iam import render_template


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
