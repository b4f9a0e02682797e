"""Impact x effort: the score, its inputs, duplicates and the team's formula."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from devdesk.intake.services import submit
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.tickets.services import NewTicket
from devdesk.tickets.tests.factories import ProductFactory, make_ticket
from devdesk.triage import scoring
from devdesk.triage.models import DuplicateLink


def _score_events(ticket: Ticket) -> list[TicketEvent]:
    return list(ticket.events.filter(kind=TicketEvent.Kind.SCORE_CHANGED))


def test_a_submitted_ticket_is_scored_in_the_same_transaction(acme_customer):
    ticket = submit(
        NewTicket(
            requester=acme_customer,
            subject="Webhooks down",
            body="Nothing arrives.",
            severity=Ticket.Severity.CRITICAL,
            is_production_down=True,
        ),
        acting_user=acme_customer,
    ).ticket

    # default formula: 1 affected * plan 1 * critical 4 * down 3 / effort 2 (default)
    ticket.refresh_from_db()
    assert ticket.score == pytest.approx(6.0)
    [event] = _score_events(ticket)
    assert event.data["old"] == 0.0
    assert event.data["new"] == pytest.approx(6.0)
    assert event.data["reason"] == "created"


def test_plan_weight_counts_case_insensitively(acme, acme_customer):
    acme.plan = "Enterprise"
    acme.save()
    ticket = make_ticket(acme_customer)

    scoring.recompute_score(ticket, reason="test")

    assert ticket.score == pytest.approx(3 * 1 / 2)  # enterprise weighs 3


def test_agent_corrects_severity_and_the_score_follows_with_events(
    agent, acme_customer
):
    ticket = make_ticket(acme_customer)
    scoring.recompute_score(ticket, reason="test")
    before = ticket.score

    changed = scoring.set_estimates(
        ticket, acting_user=agent, severity="high", effort_hours=Decimal("0.5")
    )

    assert changed == ["severity", "effort_hours"]
    ticket.refresh_from_db()
    assert ticket.score == pytest.approx(1 * 2 / 0.5)
    estimate_events = ticket.events.filter(kind=TicketEvent.Kind.ESTIMATE_CHANGED)
    assert [e.data["field"] for e in estimate_events] == ["severity", "effort_hours"]
    last = _score_events(ticket)[-1]
    assert last.data["old"] == pytest.approx(before)
    assert last.data["reason"] == "severity, effort changed"
    assert last.actor == agent


def test_customer_may_set_severity_and_production_down_on_own_ticket(acme_customer):
    ticket = make_ticket(acme_customer)

    scoring.set_estimates(
        ticket, acting_user=acme_customer, severity="critical", is_production_down=True
    )

    ticket.refresh_from_db()
    assert (ticket.severity, ticket.is_production_down) == ("critical", True)


@pytest.mark.parametrize(
    "changes",
    [{"effort_hours": Decimal(1)}, {"affected_count": 50}],
)
def test_customer_may_not_set_effort_or_affected(acme_customer, changes):
    ticket = make_ticket(acme_customer)

    with pytest.raises(TicketError) as caught:
        scoring.set_estimates(ticket, acting_user=acme_customer, **changes)

    assert caught.value.status == 403
    ticket.refresh_from_db()
    assert ticket.effort_hours is None
    assert ticket.affected_count == 1


def test_customer_of_another_organization_may_not_set_severity(
    acme_customer, globex_customer
):
    ticket = make_ticket(acme_customer)

    with pytest.raises(TicketError) as caught:
        scoring.set_estimates(ticket, acting_user=globex_customer, severity="critical")

    assert caught.value.status == 403
    ticket.refresh_from_db()
    assert ticket.severity == "normal"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"severity": "apocalyptic"}, "invalid_severity"),
        ({"affected_count": 0}, "invalid_affected"),
        ({"effort_hours": Decimal(-1)}, "invalid_effort"),
        ({"effort_hours": Decimal("1e9")}, "invalid_effort"),
    ],
)
def test_bad_estimates_are_refused_and_nothing_changes(
    agent, acme_customer, changes, code
):
    ticket = make_ticket(acme_customer)

    with pytest.raises(TicketError) as caught:
        scoring.set_estimates(ticket, acting_user=agent, **changes)

    assert caught.value.code == code
    assert not ticket.events.filter(kind=TicketEvent.Kind.ESTIMATE_CHANGED).exists()


def test_default_effort_is_the_median_handling_time_of_solved_tickets_of_the_product(
    agent, acme_customer
):
    product = ProductFactory()
    now = timezone.now()
    for hours in (1, 4, 10):
        make_ticket(
            acme_customer,
            product=product,
            status=Ticket.Status.SOLVED,
            created_at=now - timedelta(hours=hours),
            solved_at=now,
        )
    ticket = make_ticket(acme_customer, product=product)

    inputs = scoring.score_inputs(ticket, scoring.current_policy())

    assert inputs["effort"] == pytest.approx(4.0)
    assert inputs["effort_is_estimated"] == 0.0


def test_marking_a_duplicate_grows_the_originals_affected_count_and_score(
    agent, acme_customer, globex_customer
):
    original = make_ticket(acme_customer, subject="Webhooks lost")
    duplicate = make_ticket(globex_customer, subject="We lose webhooks too")
    scoring.set_estimates(duplicate, acting_user=agent, affected_count=3)
    scoring.recompute_score(original, reason="test")
    before = original.score

    scoring.mark_duplicate(duplicate, original, acting_user=agent)

    original.refresh_from_db()
    duplicate.refresh_from_db()
    assert original.affected_count == 4
    assert original.score == pytest.approx(before * 4)
    # the duplicate stays its own ticket, not merged or closed
    assert duplicate.merged_into_id is None
    assert duplicate.status == Ticket.Status.NEW
    assert _score_events(original)[-1].data["reason"] == (
        f"duplicate #{duplicate.number} linked"
    )
    assert duplicate.events.filter(kind=TicketEvent.Kind.DUPLICATE_LINKED).exists()


def test_unlinking_a_duplicate_gives_the_count_back(agent, acme_customer):
    original = make_ticket(acme_customer)
    duplicate = make_ticket(acme_customer)
    scoring.mark_duplicate(duplicate, original, acting_user=agent)

    scoring.unlink_duplicate(duplicate, acting_user=agent)

    original.refresh_from_db()
    assert original.affected_count == 1
    assert not DuplicateLink.objects.exists()


def test_duplicate_chains_and_self_links_are_refused(agent, acme_customer):
    a, b, c = (make_ticket(acme_customer) for _ in range(3))
    scoring.mark_duplicate(b, a, acting_user=agent)

    with pytest.raises(TicketError) as to_a_duplicate:
        scoring.mark_duplicate(c, b, acting_user=agent)
    with pytest.raises(TicketError) as itself:
        scoring.mark_duplicate(c, c, acting_user=agent)
    with pytest.raises(TicketError) as twice:
        scoring.mark_duplicate(b, c, acting_user=agent)

    assert to_a_duplicate.value.code == "duplicate_chain"
    assert f"#{a.number}" in to_a_duplicate.value.message
    assert itself.value.code == "duplicate_of_self"
    assert twice.value.code == "already_duplicate"


def test_customers_cannot_mark_duplicates(acme_customer):
    a, b = make_ticket(acme_customer), make_ticket(acme_customer)

    with pytest.raises(TicketError) as caught:
        scoring.mark_duplicate(b, a, acting_user=acme_customer)

    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("formula", "says"),
    [
        ("affected +", "not a valid expression"),
        ("affected * customers", "customers"),
        ("affected / effort", "divides by zero"),
        ("__import__('os')", "__import__"),
        ("'x' * 3", "not a number"),
        ("affected << 3", "not allowed"),
        ("", "empty"),
    ],
)
def test_a_formula_that_cannot_be_used_is_refused_with_a_reason(
    admin_user, formula, says
):
    with pytest.raises(TicketError) as caught:
        scoring.update_policy(acting_user=admin_user, formula=formula)

    assert caught.value.code == "invalid_formula"
    assert says in caught.value.message
    assert scoring.current_policy().formula != formula


def test_saving_a_new_formula_rescores_unresolved_tickets(admin_user, acme_customer):
    open_ticket = make_ticket(acme_customer)
    scoring.recompute_score(open_ticket, reason="test")
    solved = make_ticket(acme_customer, status=Ticket.Status.SOLVED)

    _, changed = scoring.update_policy(
        acting_user=admin_user, formula="affected * 10 + severity"
    )

    open_ticket.refresh_from_db()
    solved.refresh_from_db()
    assert changed == 1
    assert open_ticket.score == pytest.approx(12.0)
    assert solved.score == 0.0
    assert _score_events(open_ticket)[-1].data["reason"] == "scoring policy changed"


def test_only_admins_change_the_policy(agent):
    with pytest.raises(TicketError) as caught:
        scoring.update_policy(acting_user=agent, formula="affected")

    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("weights", "code"),
    [
        ({"enterprise": "lots"}, "invalid_weights"),
        ({"enterprise": -1}, "invalid_weights"),
        ({"enterprise": float("inf")}, "invalid_weights"),
    ],
)
def test_bad_plan_weights_are_refused(admin_user, weights, code):
    with pytest.raises(TicketError) as caught:
        scoring.update_policy(acting_user=admin_user, plan_weights=weights)

    assert caught.value.code == code


def test_unknown_severity_weight_is_refused(admin_user):
    with pytest.raises(TicketError) as caught:
        scoring.update_policy(acting_user=admin_user, severity_weights={"meh": 1})

    assert "meh" in caught.value.message


def test_a_product_change_rescores_after_it_commits(
    agent, acme_customer, django_capture_on_commit_callbacks
):
    from devdesk.tickets.services import update_ticket

    slow = ProductFactory(slug="gateway")
    now = timezone.now()
    make_ticket(
        acme_customer,
        product=slow,
        status=Ticket.Status.SOLVED,
        created_at=now - timedelta(hours=20),
        solved_at=now,
    )
    ticket = make_ticket(acme_customer)
    scoring.recompute_score(ticket, reason="test")
    assert ticket.score == pytest.approx(0.5)  # default effort 2 hours

    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(ticket, acting_user=agent, product=slow)

    ticket.refresh_from_db()
    assert ticket.score == pytest.approx(1 / 20)
    assert _score_events(ticket)[-1].data["reason"] == "product changed"
