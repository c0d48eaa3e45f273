"""`python -m devstack`: see devstack/stack.py, or run it with --help."""

from .stack import run

run()
