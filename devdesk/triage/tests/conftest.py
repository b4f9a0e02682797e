"""The API test client of devdesk/api/tests, for triage's API tests."""

from devdesk.api.tests.conftest import api

__all__ = ["api"]
