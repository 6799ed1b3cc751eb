"""Fixtures: one deskapp (Redis behind an embedded Toxiproxy, the app) per test module."""

from tests.systems.deskapp.fixtures import deskapp_env  # noqa: F401 (a fixture)
