"""Whatever rules say, a human change makes each rule fire at most once."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.tickets.services import add_message, change_status
from devdesk.tickets.tests.factories import make_ticket
from devdesk.triage.models import Rule, RuleFiring
from devdesk.triage.tests.rules_helpers import act, cond, make_rule

pytestmark = pytest.mark.django_db

SETTABLE = [s for s in Ticket.Status.values if s not in {"new", "closed", "solved"}]
rule_specs = st.lists(
    st.tuples(
        st.sampled_from(SETTABLE),  # condition: status is …
        st.sampled_from(SETTABLE),  # action: set status …
        st.booleans(),  # stop further rules
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(specs=rule_specs)
def test_rules_changing_status_never_loop(
    specs, admin_user, agent, acme_customer, django_capture_on_commit_callbacks
):
    with transaction.atomic():
        # given any set of status rules, some undoing what others do
        for when, then, stop in specs:
            make_rule(
                admin_user,
                trigger=Rule.Trigger.STATUS_CHANGED,
                conditions=[cond("status", "is", when)],
                actions=[act("set_status", then)],
                stop_processing=stop,
            )
        ticket = make_ticket(acme_customer)
        add_message(ticket, author=agent, body="Looking", new_status="open")
        events_before_id = TicketEvent.objects.order_by("-pk").first().pk

        # when a person moves the ticket once
        with django_capture_on_commit_callbacks(execute=True):
            change_status(ticket, "pending_customer", acting_user=agent)

        # then each rule fired at most once, and every firing is in the history
        per_rule = RuleFiring.objects.values_list("rule_id", flat=True)
        assert len(per_rule) == len(set(per_rule)) <= len(specs)
        applied = TicketEvent.objects.filter(kind=TicketEvent.Kind.RULE_APPLIED)
        assert applied.count() == len(per_rule)
        assert all(e.pk > events_before_id for e in applied)
        transaction.set_rollback(True)
