"""The demo desk shows SLAs working: a calendar with holidays, policies per plan and
open tickets on track, near breach and breached."""

from __future__ import annotations

import pytest
from django.utils import timezone

from devdesk.ops.demo import load_demo
from devdesk.triage.models import BusinessCalendar, SlaPolicy, TicketSla
from devdesk.triage.sla.display import BREACHED, ON_TRACK, WARNING, sla_status


@pytest.mark.django_db
def test_the_demo_has_slas_in_every_state(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        load_demo(tickets=60)
    calendar = BusinessCalendar.objects.get()
    assert calendar.holiday_country == "DE"
    assert set(SlaPolicy.objects.values_list("plan", flat=True)) >= {"", "enterprise"}
    now = timezone.now()
    states = {
        sla_status(s, now).state for s in TicketSla.objects.select_related("policy")
    }
    assert {ON_TRACK, WARNING, BREACHED} <= states
