"""The portal's ticket list: the whole organization, filters, pages, empty states."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devdesk.tickets.models import Ticket
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db

LIST = reverse("portal:ticket-list")


def subjects(response) -> list[str]:
    assert response.status_code == 200
    return [row.ticket.subject for row in response.context["rows"]]


@pytest.fixture
def acme_tickets(acme_customer, acme_colleague):
    now = timezone.now()
    specs = [
        ("new one", acme_customer, Ticket.Status.NEW),
        ("being worked", acme_colleague, Ticket.Status.OPEN),
        ("needs info", acme_customer, Ticket.Status.PENDING_CUSTOMER),
        ("with engineering", acme_colleague, Ticket.Status.PENDING_ENGINEERING),
        ("done", acme_customer, Ticket.Status.SOLVED),
        ("archived", acme_colleague, Ticket.Status.CLOSED),
    ]
    return [
        make_ticket(
            who, subject=subject, status=status, updated_at=now - timedelta(minutes=i)
        )
        for i, (subject, who, status) in enumerate(specs)
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "",
            [
                "new one",
                "being worked",
                "needs info",
                "with engineering",
                "done",
                "archived",
            ],
        ),
        ("?show=open", ["new one", "being worked", "needs info", "with engineering"]),
        ("?show=waiting", ["needs info"]),
        ("?show=solved", ["done", "archived"]),
        ("?mine=1", ["new one", "needs info", "done"]),
        ("?show=open&mine=1", ["new one", "needs info"]),
    ],
)
def test_filters(login, acme_customer, acme_tickets, query, expected):
    assert subjects(login(acme_customer).get(LIST + query)) == expected


def test_list_shows_the_whole_organization_newest_activity_first(
    login, acme_colleague, acme_tickets
):
    response = login(acme_colleague).get(LIST)
    assert subjects(response) == [t.subject for t in acme_tickets]
    assert "Waiting for your reply" in response.content.decode()


def test_pages_walk_through_every_ticket_once(
    login, acme_customer, acme_tickets, settings
):
    settings.INBOX_PAGE_SIZE = 4
    client = login(acme_customer)
    first = client.get(LIST + "?show=open&mine=1")
    assert subjects(first) == ["new one", "needs info"]
    assert first.context.get("next_url") is None

    first = client.get(LIST)
    second = client.get(first.context["next_url"])
    assert subjects(first) + subjects(second) == [t.subject for t in acme_tickets]
    assert second.context.get("next_url") is None
    back = client.get(second.context["previous_url"])
    assert subjects(back) == subjects(first)


@pytest.mark.parametrize("query", ["?cursor=not-a-cursor", "?show=everything"])
def test_bad_list_parameters_answer_400_with_a_message(login, acme_customer, query):
    response = login(acme_customer).get(LIST + query)
    assert response.status_code == 400
    assert 'class="alert alert-danger"' in response.content.decode()


def test_empty_organization_gets_a_call_to_action(login, globex_customer):
    content = login(globex_customer).get(LIST).content.decode()
    assert "No tickets yet" in content
    assert f'href="{reverse("portal:ticket-new")}"' in content


def test_empty_filter_says_nothing_matches(login, acme_customer):
    make_ticket(acme_customer, status=Ticket.Status.OPEN)
    content = login(acme_customer).get(LIST + "?show=solved").content.decode()
    assert "No tickets match this filter." in content


def test_list_runs_a_fixed_number_of_queries(
    login, acme_customer, acme_colleague, django_assert_max_num_queries
):
    for i in range(12):
        make_ticket(acme_customer if i % 2 else acme_colleague, subject=f"Ticket {i}")
    client = login(acme_customer)
    with django_assert_max_num_queries(4):  # session, user, organization, one page
        client.get(LIST)
