"""``ago`` says what Django's ``timesince`` says, in its largest unit only."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django.utils.timesince import timesince

from devdesk.lib.humanize import ago

SECONDS = [
    61, 90, 3599, 3600, 3601, 7199, 86399, 86400, 86401, 6 * 86400 + 3,
    7 * 86400, 7 * 86400 + 1, 13 * 86400, 14 * 86400, 27 * 86400 + 86399,
    28 * 86400, 31 * 86400, 45 * 86400, 364 * 86400, 366 * 86400, 900 * 86400,
]  # fmt: skip


@pytest.mark.parametrize("seconds", SECONDS)
@pytest.mark.parametrize(
    "now", ["2026-03-01 09:30:15+00:00", "2026-11-23 18:00:00+00:00"]
)
def test_ago_matches_timesince(seconds, now):
    with time_machine.travel(now, tick=False):
        moment = timezone.now() - timedelta(seconds=seconds, microseconds=250)
        assert ago(moment) == f"{timesince(moment, depth=1)} ago"


def test_just_now_and_nothing():
    assert ago(timezone.now() - timedelta(seconds=20)) == "just now"
    assert ago(timezone.now() + timedelta(hours=1)) == "just now"
    assert ago(None) == ""
