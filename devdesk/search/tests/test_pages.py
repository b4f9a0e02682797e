"""Search where people search: the inbox, the portal list and the API list keep
their sort order and keyset pages with ``q``, at a fixed number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from devdesk.search.backends import backend_for
from devdesk.tickets.models import Ticket
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db

INBOX = reverse("desk:inbox")
PORTAL = reverse("portal:ticket-list")


@pytest.fixture
def crashes(acme_customer):
    """Seven tickets about a crash, one a minute (newest first), among others."""
    now = timezone.now()
    tickets = []
    for i in range(7):
        tickets.append(
            make_ticket(
                acme_customer,
                subject=f"Crash {i}",
                body="The agent crashes on start.",
                updated_at=now - timedelta(minutes=i),
                priority=1 + i % 4,
            )
        )
        make_ticket(acme_customer, subject=f"Other {i}", body="All good here.")
    return tickets


def pages(client, url, params):
    """Follow the next-page links; the tickets of each page."""
    seen, cursor = [], None
    while True:
        response = client.get(url, {**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        page = response.context["page"]
        seen.append([t.number for t in page.items])
        cursor = page.next_cursor
        if not cursor:
            return seen


@pytest.mark.parametrize("plan", ["few", "many"])
@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("updated", lambda t: (-t.updated_at.timestamp(), -t.pk)),
        ("created", lambda t: (-t.created_at.timestamp(), -t.pk)),
        ("priority", lambda t: (-t.priority, -t.updated_at.timestamp(), -t.pk)),
    ],
)
def test_inbox_pages_through_matches_in_the_chosen_order(
    monkeypatch, settings, login, agent, crashes, sort, key, plan
):
    if plan == "many":
        monkeypatch.setattr(backend_for(connection), "few_matches", lambda cursor: 2)
    settings.INBOX_PAGE_SIZE = 3
    seen = pages(login(agent), INBOX, {"view": "all", "q": "crashes", "sort": sort})
    expected = [t.number for t in sorted(crashes, key=key)]
    assert [len(page) for page in seen] == [3, 3, 1]
    assert [number for page in seen for number in page] == expected


def test_inbox_search_box_keeps_what_was_typed(login, agent, crashes):
    response = login(agent).get(INBOX, {"view": "all", "q": '"on start" -other'})
    html = response.content.decode()
    assert 'name="q"' in html
    assert 'value="&quot;on start&quot; -other"' in html
    assert len(response.context["page"].items) == 7


@pytest.mark.parametrize("plan", ["few", "many"])
def test_inbox_search_costs_the_same_queries_for_two_matches_or_fifteen(
    monkeypatch, login, agent, acme_customer, plan
):
    if plan == "many":
        monkeypatch.setattr(backend_for(connection), "few_matches", lambda cursor: 1)
    client = login(agent)
    for i in range(2):
        make_ticket(acme_customer, subject=f"Quota {i}", body="quota exceeded")
    with CaptureQueriesContext(connection) as few:
        response = client.get(INBOX, {"view": "all", "q": "quota"})
    assert len(response.context["page"].items) == 2
    for i in range(13):
        make_ticket(acme_customer, subject=f"More quota {i}", body="quota exceeded")
    with CaptureQueriesContext(connection) as many:
        response = client.get(INBOX, {"view": "all", "q": "quota"})
    assert len(response.context["page"].items) == 15
    assert len(many) == len(few)


def test_portal_search_keeps_tabs_and_pages(settings, login, acme_customer, crashes):
    settings.INBOX_PAGE_SIZE = 4
    Ticket.objects.filter(pk=crashes[0].pk).update(status=Ticket.Status.SOLVED)
    client = login(acme_customer)
    first = client.get(PORTAL, {"q": "crashes"})
    assert [r.ticket.subject for r in first.context["rows"]] == [
        f"Crash {i}" for i in range(4)
    ]
    assert "q=crashes" in first.context["next_url"]
    assert all("q=crashes" in tab.url for tab in first.context["tabs"])
    second = client.get(first.context["next_url"])
    assert [r.ticket.subject for r in second.context["rows"]] == [
        f"Crash {i}" for i in range(4, 7)
    ]
    solved = client.get(PORTAL, {"q": "crashes", "show": "solved"})
    assert [r.ticket.subject for r in solved.context["rows"]] == ["Crash 0"]


def test_portal_search_without_match_says_so(login, acme_customer, crashes):
    response = login(acme_customer).get(PORTAL, {"q": "kubernetes"})
    assert response.status_code == 200
    assert "No tickets match “kubernetes”" in response.content.decode()


def test_api_list_pages_through_matches(client, agent, crashes):
    from devdesk.accounts.services import create_api_token

    _, token = create_api_token(agent, name="tests")
    headers = {"Authorization": f"Bearer {token}"}
    seen, cursor = [], None
    while True:
        params = {"q": "crashes", "limit": 3, "sort": "-priority"}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/tickets", params, headers=headers).json()
        seen += [item["number"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    by_priority = sorted(
        crashes, key=lambda t: (-t.priority, -t.updated_at.timestamp(), -t.pk)
    )
    assert seen == [t.number for t in by_priority]
