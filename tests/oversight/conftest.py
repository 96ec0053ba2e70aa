"""Oversight fixtures: programmes and their personas (see programme_fixtures.py)."""

from tests.oversight.programme_fixtures import otto, programme  # noqa: F401
