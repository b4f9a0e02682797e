"""The demo desk shows the rules engine at work."""

from __future__ import annotations

import pytest

from devdesk.ops.demo import load_demo, remove_demo
from devdesk.tickets.models import TicketEvent
from devdesk.triage.models import Rule

pytestmark = pytest.mark.django_db


def test_the_demo_has_rules_and_their_work_in_the_history():
    load_demo(tickets=60)

    assert Rule.objects.filter(is_active=True).count() >= 4
    assert Rule.objects.filter(trigger=Rule.Trigger.TIME_BASED).exists()
    applied = TicketEvent.objects.filter(kind=TicketEvent.Kind.RULE_APPLIED)
    assert applied.exists()
    rule_names = {e.data["rule"]["name"] for e in applied}
    assert rule_names <= set(Rule.objects.values_list("name", flat=True))
    # the changes themselves name the rule too
    assert (
        TicketEvent.objects.exclude(kind=TicketEvent.Kind.RULE_APPLIED)
        .filter(data__rule__name__in=rule_names)
        .exists()
    )

    remove_demo()
    assert not Rule.objects.exists()
