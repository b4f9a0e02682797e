"""Listing, filtering and sorting tickets; the shape of a ticket; merge and split."""

from datetime import timedelta

import pytest
from django.utils import timezone

from devdesk.accounts.services import create_api_token
from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.services import set_tags
from devdesk.tickets.tests.factories import ProductFactory, make_ticket, reply

pytestmark = pytest.mark.django_db


def numbers(response):
    assert response.status_code == 200, response.content
    return [t["number"] for t in response.json()["items"]]


@pytest.fixture
def queue(acme_customer, globex_customer, agent, other_agent):
    """Five tickets whose fields differ, updated one minute apart (t0 newest)."""
    now = timezone.now()
    sdk = ProductFactory(name="Python SDK", slug="python-sdk")
    t = [
        make_ticket(acme_customer, subject="Login loops", assignee=agent, product=sdk),
        make_ticket(
            acme_customer, subject="Webhook retries", status=Ticket.Status.OPEN
        ),
        make_ticket(
            globex_customer, subject="Rate limit 429", priority=4, assignee=other_agent
        ),
        make_ticket(globex_customer, subject="Docs typo", channel=Ticket.Channel.EMAIL),
        make_ticket(acme_customer, subject="Login on Safari", priority=3, owner=agent),
    ]
    set_tags(t[1], ["webhooks"], acting_user=agent)
    for i, ticket in enumerate(t):
        Ticket.objects.filter(pk=ticket.pk).update(
            updated_at=now - timedelta(minutes=i),
            created_at=now - timedelta(hours=10 - i),
        )
    return t


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [0, 1, 2, 3, 4]),
        ({"status": "open"}, [1]),
        ({"status": ["open", "new"]}, [0, 1, 2, 3, 4]),
        ({"status": "open,new"}, [0, 1, 2, 3, 4]),
        ({"priority": 4}, [2]),
        ({"product": "python-sdk"}, [0]),
        ({"assignee": "me"}, [0]),
        ({"assignee": "none"}, [1, 3, 4]),
        ({"owner": "me"}, [4]),
        ({"channel": "email"}, [3]),
        ({"tag": "webhooks"}, [1]),
        ({"q": "login"}, [0, 4]),
        ({"sort": "updated_at"}, [4, 3, 2, 1, 0]),
        ({"sort": "-created_at"}, [4, 3, 2, 1, 0]),
        ({"sort": "created_at"}, [0, 1, 2, 3, 4]),
        ({"sort": "-priority"}, [2, 4, 0, 1, 3]),
        ({"q": "login", "sort": "-priority"}, [4, 0]),
    ],
)
def test_list_filters_and_sorts(api, agent, queue, params, expected):
    response = api("GET", "/api/tickets", as_=agent, params=params)

    assert numbers(response) == [queue[i].number for i in expected]


def test_list_filters_by_product_id_and_organization(api, agent, queue, acme):
    by_product = api(
        "GET", "/api/tickets", as_=agent, params={"product": queue[0].product_id}
    )
    by_org = api("GET", "/api/tickets", as_=agent, params={"organization": acme.pk})

    assert numbers(by_product) == [queue[0].number]
    assert numbers(by_org) == [queue[i].number for i in (0, 1, 4)]


def test_customer_list_is_their_organization_only_whatever_the_filter(
    api, acme_customer, queue, globex
):
    response = api(
        "GET", "/api/tickets", as_=acme_customer, params={"organization": globex.pk}
    )

    assert numbers(response) == []


def test_list_query_count_does_not_grow_with_rows(
    api, agent, acme_customer, other_agent, django_assert_max_num_queries
):
    product = ProductFactory()
    for i in range(30):
        ticket = make_ticket(
            acme_customer,
            subject=f"T{i}",
            product=product,
            assignee=other_agent,
            owner=agent,
        )
        set_tags(ticket, ["a", "b"], acting_user=agent)
    Ticket.objects.filter(number=Ticket.objects.order_by("id").first().number).update(
        merged_into=Ticket.objects.order_by("id").last()
    )

    # token lookup, the page (joined with organization, product and team), requesters,
    # owners, assignees, merge targets, tags; plus token creation and its last-used
    # stamp, which is the same work whatever the page holds
    with django_assert_max_num_queries(9):
        response = api("GET", "/api/tickets", as_=agent, params={"limit": 100})

    assert len(response.json()["items"]) == 30


def test_create_takes_a_fixed_number_of_queries(
    api, agent, acme_customer, django_assert_num_queries
):
    product = ProductFactory()
    _, raw = create_api_token(agent, name="tests")
    token = f"Bearer {raw}"
    body = {
        "subject": "Webhook retries",
        "body": "Twice.",
        "product": product.pk,
        "requester": acme_customer.email,
    }
    # the first call also makes the ticket counter and stamps the token's last use
    api("POST", "/api/tickets", as_=token, json=body, headers={"Idempotency-Key": "1"})

    # token, requester, product; one transaction (a savepoint here) that takes the
    # number and writes the ticket, its message, both events and the key; then the
    # organization, tags and SLA clocks for the answer; the priority score reads the
    # scoring policy and the organization's plan, and writes the score and its event
    with django_assert_num_queries(16):
        response = api(
            "POST",
            "/api/tickets",
            as_=token,
            json=body,
            headers={"Idempotency-Key": "2"},
        )

    assert response.status_code == 201


def test_create_answers_what_reading_the_ticket_shows(api, agent, acme_customer):
    product = ProductFactory(name="Python SDK", slug="python-sdk")

    created = api(
        "POST",
        "/api/tickets",
        as_=agent,
        json={
            "subject": "Pagination repeats page 1",
            "body": "Page 2 shows the same items.",
            "requester": acme_customer.email,
            "product": product.pk,
            "priority": 3,
        },
    )

    assert created.status_code == 201
    number = created.json()["number"]
    assert created.json() == api("GET", f"/api/tickets/{number}", as_=agent).json()


def test_ticket_shape(api, agent, acme_customer, engineering):
    ticket = make_ticket(
        acme_customer, subject="SDK 401", owner=agent, team=engineering
    )
    set_tags(ticket, ["auth"], acting_user=agent)

    data = api("GET", f"/api/tickets/{ticket.number}", as_=acme_customer).json()

    assert data == {
        "number": ticket.number,
        "subject": "SDK 401",
        "status": "new",
        "priority": 2,
        "priority_label": "Normal",
        "channel": "portal",
        "product": None,
        "organization": {"id": acme_customer.organization_id, "name": "Acme"},
        "requester": {
            "id": acme_customer.pk,
            "name": "Carol Acme",
            "email": "carol@acme.test",
        },
        "owner": {"id": agent.pk, "name": "Alex Agent", "email": "alex@skyforge.test"},
        "assignee": None,
        "team": {"id": engineering.pk, "name": "SDK Engineering"},
        "tags": ["auth"],
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
        "merged_into": None,
        "severity": "normal",
        "production_down": False,
        # customers never see the triage figures
        "score": None,
        "affected_count": None,
        "effort_hours": None,
        "url": f"http://127.0.0.1:8000/portal/tickets/{ticket.number}/",
        "sla": None,  # desk staff only
    }


def test_missing_ticket_and_hidden_ticket_answer_alike(
    api, globex_customer, acme_customer
):
    hidden = make_ticket(acme_customer)

    hidden_response = api("GET", f"/api/tickets/{hidden.number}", as_=globex_customer)
    missing_response = api("GET", "/api/tickets/99999", as_=globex_customer)
    huge_response = api("GET", f"/api/tickets/{2**64}", as_=globex_customer)

    assert hidden_response.status_code == missing_response.status_code == 404
    assert hidden_response.json() == missing_response.json() == huge_response.json()


def test_message_shape_and_markdown(api, agent, acme_customer):
    ticket = make_ticket(
        acme_customer, body="Run `pip install` <script>alert(1)</script>"
    )

    [message] = api("GET", f"/api/tickets/{ticket.number}/messages", as_=agent).json()[
        "items"
    ]

    assert message["author"] == {"id": acme_customer.pk, "name": "Carol Acme"}
    assert message["internal"] is False
    assert message["body"] == "Run `pip install` <script>alert(1)</script>"
    assert "<code>pip install</code>" in message["body_html"]
    assert "<script>" not in message["body_html"]
    assert message["attachments"] == []


def test_engineer_adds_internal_note(api, engineer, agent, acme_customer, engineering):
    ticket = make_ticket(acme_customer, escalated_team=engineering)

    response = api(
        "POST", f"/api/tickets/{ticket.number}/messages", as_=engineer,
        json={"body": "Reproduced on 2.4.1", "internal": True},
    )  # fmt: skip

    assert response.status_code == 201
    assert response.json()["internal"] is True
    assert ticket.messages.get(pk=response.json()["id"]).kind == Message.Kind.INTERNAL


def test_agent_reply_can_set_status(api, agent, acme_customer):
    ticket = make_ticket(acme_customer)

    response = api(
        "POST", f"/api/tickets/{ticket.number}/messages", as_=agent,
        json={"body": "Fixed in 2.4.2.", "status": "solved"},
    )  # fmt: skip

    assert response.status_code == 201
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED


def test_patch_can_clear_assignee(api, agent, acme_customer):
    ticket = make_ticket(acme_customer, assignee=agent)

    response = api(
        "PATCH", f"/api/tickets/{ticket.number}", as_=agent, json={"assignee": None}
    )

    assert response.status_code == 200
    assert response.json()["assignee"] is None
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_merge_moves_conversation_and_points_source_at_target(
    api, agent, acme_customer
):
    source = make_ticket(acme_customer, subject="Dup")
    target = make_ticket(acme_customer, subject="Original")

    response = api(
        "POST", f"/api/tickets/{source.number}/merge", as_=agent,
        json={"into": target.number, "notify_source": False},
    )  # fmt: skip

    assert response.status_code == 200
    assert response.json()["number"] == target.number
    merged = api("GET", f"/api/tickets/{source.number}", as_=agent).json()
    assert merged["merged_into"] == target.number
    assert merged["status"] == "closed"
    assert target.messages.count() == 2


def test_merge_across_organizations_is_refused(
    api, agent, acme_customer, globex_customer
):
    source = make_ticket(acme_customer)
    target = make_ticket(globex_customer)

    response = api(
        "POST",
        f"/api/tickets/{source.number}/merge",
        as_=agent,
        json={"into": target.number},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "cross_organization"
    source.refresh_from_db()
    assert source.merged_into is None


def test_merge_into_unknown_ticket_is_422(api, agent, acme_customer):
    source = make_ticket(acme_customer)

    response = api(
        "POST", f"/api/tickets/{source.number}/merge", as_=agent, json={"into": 99999}
    )

    assert response.status_code == 422
    assert response.json()["message"] == "into: there is no ticket #99999."


def test_split_moves_chosen_messages_to_a_new_ticket(api, agent, acme_customer):
    ticket = make_ticket(acme_customer)
    second = reply(ticket, acme_customer, "Also: the CLI crashes on start")

    response = api(
        "POST", f"/api/tickets/{ticket.number}/split", as_=agent,
        json={"message_ids": [second.pk], "subject": "CLI crashes on start"},
    )  # fmt: skip

    assert response.status_code == 201
    new = Ticket.objects.get(number=response.json()["number"])
    assert new.subject == "CLI crashes on start"
    assert list(new.messages.all()) == [second]
    assert TicketEvent.objects.filter(ticket=ticket, kind="split_to").exists()


def test_split_of_a_foreign_message_is_refused(api, agent, acme_customer):
    ticket = make_ticket(acme_customer)
    reply(ticket, agent, "Second")
    other = make_ticket(acme_customer)

    response = api(
        "POST", f"/api/tickets/{ticket.number}/split", as_=agent,
        json={"message_ids": [other.messages.get().pk]},
    )  # fmt: skip

    assert response.status_code == 400
    assert response.json()["code"] == "no_messages"
    assert Ticket.objects.count() == 2
