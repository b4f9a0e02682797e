"""Scope: the catalog's rules and the classifier flag out-of-scope tickets, the
decline macro says what is and isn't supported, eval-scope measures the classifier."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.tests.factories import ProductFactory, make_ticket
from devdesk.triage import scope
from devdesk.triage.models import PlanCoverage, ScopeArea, ScopeFlag
from devdesk.triage.scope_classifier import TEST_FILE

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(acme):  # type: ignore[no-untyped-def]
    acme.plan = "Insurance"
    acme.save(update_fields=["plan"])
    go = ProductFactory(name="Go SDK", slug="go-sdk")
    gateway = ProductFactory(name="Self-hosted Gateway", slug="gateway")
    PlanCoverage.objects.create(plan="insurance", product=go, versions="v2")
    hosting = ScopeArea.objects.create(
        name="Other vendors' hosting",
        slug="other-hosting",
        kind=ScopeArea.Kind.NOT_SUPPORTED,
        description="set-up and billing of other vendors' hosting (AWS, Heroku, Vercel)",
        where_instead="your hosting provider's support",
        phrases="cpanel\nelastic beanstalk",
    )
    return {"go": go, "gateway": gateway, "hosting": hosting}


def test_a_product_the_plan_does_not_cover_is_out_of_scope(acme_customer, catalog):
    ticket = make_ticket(acme_customer, product=catalog["gateway"])
    found = scope.assess(ticket)
    assert found is not None
    assert found.source == ScopeFlag.Source.CATALOG
    assert "does not cover Self-hosted Gateway" in found.reason


def test_a_covered_product_with_an_ordinary_question_is_in_scope(
    acme_customer, catalog
):
    ticket = make_ticket(
        acme_customer,
        product=catalog["go"],
        subject="Go SDK: retries on 5xx",
        body="Does the Go SDK retry on 502 automatically?",
    )
    assert scope.assess(ticket) is None


def test_a_product_no_longer_sold_is_out_of_scope(acme_customer, catalog):
    catalog["go"].is_active = False
    catalog["go"].save()
    ticket = make_ticket(acme_customer, product=catalog["go"])
    assert scope.assess(ticket).reason == "Go SDK is no longer sold."  # type: ignore[union-attr]


def test_a_not_supported_phrase_flags_the_ticket(acme_customer, catalog):
    ticket = make_ticket(
        acme_customer, subject="Mail forwarding", body="Our cPanel stopped forwarding."
    )
    found = scope.assess(ticket)
    assert found is not None
    assert found.area == catalog["hosting"]
    assert found.source == ScopeFlag.Source.PHRASE


def test_the_classifier_flags_another_vendors_hosting(acme_customer, catalog):
    ticket = make_ticket(
        acme_customer,
        subject="Heroku dyno memory quota exceeded",
        body="Our Heroku dyno restarts with R14. How do we configure the dyno size?",
    )
    found = scope.assess(ticket)
    assert found is not None
    assert found.source == ScopeFlag.Source.CLASSIFIER
    assert found.area == catalog["hosting"]


def test_a_new_ticket_is_flagged_after_commit_with_an_event(
    acme_customer, catalog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(acme_customer, product=catalog["gateway"])
    ticket.refresh_from_db()
    assert ticket.is_out_of_scope
    assert "Insurance plan does not cover" in ticket.out_of_scope_reason
    event = ticket.events.get(kind=TicketEvent.Kind.SCOPE_FLAGGED)
    assert event.data["source"] == "catalog"
    assert event.actor is None


def test_the_decline_says_what_is_supported_and_where_to_go(
    acme_customer, agent, catalog
):
    ticket = make_ticket(
        acme_customer, subject="cPanel mail", body="Our cPanel mail stopped."
    )
    found = scope.assess(ticket)
    scope.flag(
        ticket,
        reason=found.reason,
        source=found.source,
        area=found.area,
        acting_user=None,  # type: ignore[union-attr]
    )

    message = scope.decline(ticket, acting_user=agent)

    assert message.kind == Message.Kind.PUBLIC
    assert "{{" not in message.body
    assert "Go SDK (v2)" in message.body
    assert "other vendors' hosting" in message.body
    assert "your hosting provider's support" in message.body
    assert "Insurance plan" in message.body
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING_CUSTOMER
    assert ticket.events.filter(kind=TicketEvent.Kind.MACRO_APPLIED).exists()


def test_declining_a_ticket_not_flagged_is_refused(acme_customer, agent):
    ticket = make_ticket(acme_customer)
    with pytest.raises(TicketError) as refused:
        scope.decline(ticket, acting_user=agent)
    assert refused.value.code == "not_out_of_scope"
    assert ticket.messages.count() == 1


def test_clearing_the_flag_is_an_event(acme_customer, agent):
    ticket = make_ticket(acme_customer)
    scope.flag(ticket, reason="Looks like hosting", acting_user=agent)
    assert scope.clear(ticket, acting_user=agent) is True
    assert scope.clear(ticket, acting_user=agent) is False
    ticket.refresh_from_db()
    assert not ticket.is_out_of_scope
    assert not ScopeFlag.objects.exists()
    assert ticket.events.filter(kind=TicketEvent.Kind.SCOPE_CLEARED).count() == 1


def test_a_customer_cannot_flag_or_clear(acme_customer):
    ticket = make_ticket(acme_customer)
    with pytest.raises(TicketError):
        scope.flag(ticket, reason="x", acting_user=acme_customer)
    ticket.refresh_from_db()
    assert not ticket.is_out_of_scope


def test_eval_scope_reports_figures_on_the_held_out_file():
    out = StringIO()
    call_command("eval_scope", str(TEST_FILE), "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["examples"] >= 50
    counted = (
        result["true_positives"]
        + result["false_positives"]
        + result["false_negatives"]
        + result["true_negatives"]
    )
    assert counted == result["examples"]
    # The README quotes these; a change to the model or data must update it.
    assert result["precision"] >= 0.8
    assert result["recall"] >= 0.5


def test_eval_scope_refuses_a_bad_file_with_its_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"subject": "x", "body": "y", "label": "in_scope"}\nnot json\n')
    with pytest.raises(CommandError, match=r"bad\.jsonl:2: not JSON"):
        call_command("eval_scope", str(bad))
