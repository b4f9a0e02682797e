"""Triage tests use the API's test client fixture too."""

from devdesk.api.tests.conftest import api  # noqa: F401 - re-exported fixture
