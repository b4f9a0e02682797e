import pytest


@pytest.fixture(autouse=True)
def _bursts_fold(settings):  # type: ignore[no-untyped-def]
    # devdesk/conftest.py turns folding off for every other app's tests.
    settings.COOLDOWN_BURST_MINUTES = 30
