"""Searching tickets through the service: what matches, and the search syntax."""

import pytest

from devdesk.search.services import match_tickets
from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.tests.factories import make_ticket, reply

pytestmark = pytest.mark.django_db


def found(text: str, *, include_internal: bool = True) -> set[str]:
    tickets = match_tickets(
        Ticket.objects.all(), text, include_internal=include_internal
    )
    return {t.subject for t in tickets}


@pytest.fixture
def desk(acme_customer, agent):
    webhook = make_ticket(
        acme_customer,
        subject="Webhook signatures fail to verify",
        body="Every delivery to https://hooks.acme.test/in is rejected since Monday.",
    )
    reply(webhook, agent, "Rotate the signing secret and retry the deliveries.")
    reply(
        webhook,
        agent,
        "Customer still pins the legacy gateway.",
        kind=Message.Kind.INTERNAL,
    )
    timeout = make_ticket(
        acme_customer,
        subject="Upload times out",
        body="Uploading a 20 MB file with the Python SDK times out after 30 s.",
    )
    make_ticket(
        acme_customer,
        subject="Connection refused on the gateway",
        body="curl says: connection refused (port 8443).",
    )
    return {"webhook": webhook, "timeout": timeout}


def test_matches_words_of_the_subject_and_of_the_conversation(desk):
    assert found("webhook") == {"Webhook signatures fail to verify"}
    assert found("delivery rejected") == {"Webhook signatures fail to verify"}
    assert found("signing secret") == {"Webhook signatures fail to verify"}


def test_every_word_must_match_somewhere_in_the_ticket(desk):
    # "webhook" is in the subject, "rotate" in a reply: one ticket has both.
    assert found("webhook rotate") == {"Webhook signatures fail to verify"}
    assert found("webhook upload") == set()


def test_word_forms_match_and_case_does_not_matter(desk):
    assert found("UPLOADS python") == {"Upload times out"}
    assert found("signature") == {"Webhook signatures fail to verify"}


def test_quoted_words_must_appear_together(desk):
    assert found('"connection refused"') == {"Connection refused on the gateway"}
    assert found('"refused connection"') == set()


def test_or_accepts_either_word_and_a_dash_leaves_a_word_out(desk):
    assert found("upload OR webhook") == {
        "Upload times out",
        "Webhook signatures fail to verify",
    }
    assert found("gateway") == {
        "Connection refused on the gateway",
        "Webhook signatures fail to verify",
    }
    assert found("gateway -refused") == {"Webhook signatures fail to verify"}


def test_internal_notes_match_only_when_asked_for(desk):
    assert found("legacy", include_internal=True) == {
        "Webhook signatures fail to verify"
    }
    assert found("legacy", include_internal=False) == set()
    assert found("gateway", include_internal=False) == {
        "Connection refused on the gateway"
    }


def test_internal_notes_cannot_hide_a_ticket_through_an_exclusion(desk):
    assert found("webhook -legacy", include_internal=True) == set()
    assert found("webhook -legacy", include_internal=False) == {
        "Webhook signatures fail to verify"
    }


@pytest.mark.parametrize("text", ["", "   ", "the", "-webhook", '""', "*** ((( ]]"])
def test_text_without_a_word_to_look_for_matches_nothing(desk, text):
    assert found(text) == set()


def test_search_only_narrows_the_queryset_it_is_given(desk):
    within = Ticket.objects.filter(pk=desk["timeout"].pk)
    assert list(match_tickets(within, "webhook OR upload")) == [desk["timeout"]]


def test_keeps_the_callers_order(desk):
    tickets = Ticket.objects.order_by("subject")
    subjects = [
        t.subject
        for t in match_tickets(tickets, "gateway OR upload", include_internal=True)
    ]
    assert subjects == sorted(subjects)
    assert len(subjects) == 3


@pytest.mark.parametrize("path", ["few", "many"])
def test_both_query_plans_find_the_same_tickets(monkeypatch, desk, path):
    # Few matches are fetched by id, many by walking the list's sort index; force
    # the second with a threshold below the number of matches.
    from django.db import connection

    from devdesk.search.backends import backend_for

    if path == "many":
        monkeypatch.setattr(backend_for(connection), "few_matches", lambda cursor: 1)
    tickets = Ticket.objects.order_by("-updated_at", "-id")
    matched = match_tickets(tickets, "gateway OR upload", include_internal=True)
    assert [t.subject for t in matched] == [
        "Connection refused on the gateway",
        "Upload times out",
        "Webhook signatures fail to verify",
    ]


def test_a_common_word_by_estimate_skips_counting(monkeypatch, desk):
    # Where the database estimates far more matches than "few", the index is not
    # asked for ids first; the page walks its sort index straight away.
    from django.db import connection

    from devdesk.search.backends import backend_for

    backend = backend_for(connection)
    monkeypatch.setattr(backend, "few_matches", lambda cursor: 1)
    monkeypatch.setattr(backend, "estimated_matches", lambda *a, **k: 1000)

    def not_asked(*args, **kwargs):
        raise AssertionError("first_matches should not run")

    monkeypatch.setattr(backend, "first_matches", not_asked)
    tickets = Ticket.objects.order_by("-updated_at", "-id")
    matched = match_tickets(tickets, "gateway OR upload", include_internal=True)
    assert len(list(matched)) == 3


def test_the_estimate_is_the_planners(desk):
    from django.db import connection

    from devdesk.search.backends import backend_for
    from devdesk.search.query import parse

    backend = backend_for(connection)
    with connection.cursor() as cursor:
        estimate = backend.estimated_matches(
            cursor, parse("gateway"), include_internal=True
        )
    if connection.vendor == "sqlite":
        assert estimate is None
    else:
        assert isinstance(estimate, int)
        assert estimate >= 1
