"""Triage tests use the API's test client fixture too, and bursts fold in them."""

import pytest

from devdesk.api.tests.conftest import api  # noqa: F401 - re-exported fixture


@pytest.fixture(autouse=True)
def _bursts_fold(settings):  # type: ignore[no-untyped-def]
    # devdesk/conftest.py turns folding off for every other app's tests.
    settings.COOLDOWN_BURST_MINUTES = 30
