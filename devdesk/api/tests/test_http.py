"""The core of the API over real HTTP: tokens, idempotent create, paging, changes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from devdesk.accounts.services import create_api_token, revoke_api_token
from devdesk.api.tests.conftest import BAD_TOKEN
from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.tests.factories import ProductFactory, make_ticket, reply

# --- tokens ---------------------------------------------------------------------------


def test_valid_token_identifies_its_user(http, acme_customer):
    response = http("GET", "/api/users/me", as_=acme_customer)

    assert response.status_code == 200
    assert response.json()["email"] == "carol@acme.test"


@pytest.mark.parametrize(
    "authorization",
    [None, BAD_TOKEN, "Token dd_abc", "Bearer", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"],
    ids=["missing", "unknown", "other-scheme", "empty", "basic"],
)
def test_request_without_a_valid_token_is_401_json(http, authorization):
    response = http("GET", "/api/tickets", as_=authorization)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["code"] == "unauthenticated"
    assert "Bearer" in body["message"] or "token" in body["message"]


def test_revoked_token_is_refused(http, acme_customer):
    token, raw = create_api_token(acme_customer, name="laptop")
    revoke_api_token(token)

    response = http("GET", "/api/users/me", as_=f"Bearer {raw}")

    assert response.status_code == 401
    assert "revoked" in response.json()["message"]


def test_token_of_deactivated_user_is_refused(http, acme_customer):
    _, raw = create_api_token(acme_customer, name="laptop")
    acme_customer.is_active = False
    acme_customer.save(update_fields=["is_active"])

    response = http("GET", "/api/users/me", as_=f"Bearer {raw}")

    assert response.status_code == 401


def test_openapi_schema_is_served_without_a_token(http):
    response = http("GET", "/api/openapi.json", as_=None)

    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "devdesk API"
    assert "/api/tickets/{number}/messages" in schema["paths"]


# --- creating, with an idempotency key ------------------------------------------------


def test_retried_create_with_same_key_returns_the_first_ticket(http, acme_customer):
    body = {
        "subject": "Webhook retries forever",
        "body": "We get the same event **5** times.",
    }
    headers = {"Idempotency-Key": "create-7f3a"}

    first = http("POST", "/api/tickets", as_=acme_customer, json=body, headers=headers)
    retry = http("POST", "/api/tickets", as_=acme_customer, json=body, headers=headers)

    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["number"] == retry.json()["number"]
    assert Ticket.objects.count() == 1
    ticket = Ticket.objects.get()
    assert ticket.channel == Ticket.Channel.API
    assert ticket.organization == acme_customer.organization
    assert first.headers["location"] == f"/api/tickets/{ticket.number}"


def test_same_key_with_different_body_is_409(http, acme_customer):
    headers = {"Idempotency-Key": "create-7f3a"}
    http("POST", "/api/tickets", as_=acme_customer, headers=headers,
         json={"subject": "First", "body": "One"})  # fmt: skip

    response = http(
        "POST", "/api/tickets", as_=acme_customer, headers=headers,
        json={"subject": "Second", "body": "Two"},
    )  # fmt: skip

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert Ticket.objects.count() == 1


def test_without_a_key_each_post_opens_a_ticket(http, acme_customer):
    body = {"subject": "Same words", "body": "Twice"}

    http("POST", "/api/tickets", as_=acme_customer, json=body)
    http("POST", "/api/tickets", as_=acme_customer, json=body)

    assert Ticket.objects.count() == 2


def test_agent_logs_a_ticket_on_behalf_of_a_customer(http, agent, acme_customer):
    product = ProductFactory(name="Python SDK", slug="python-sdk")

    response = http(
        "POST",
        "/api/tickets",
        as_=agent,
        json={
            "subject": "Met at PyCon: pagination bug",
            "body": "Told me at the booth that page 2 repeats page 1.",
            "requester": "CAROL@acme.test",
            "product": product.pk,
            "priority": 3,
        },
    )

    assert response.status_code == 201, response.text
    data = response.json()
    assert data["requester"]["id"] == acme_customer.pk
    assert data["organization"]["name"] == "Acme"
    assert data["channel"] == "agent"
    assert (data["priority"], data["priority_label"]) == (3, "High")
    assert data["product"] == {"id": product.pk, "name": "Python SDK"}
    assert data["url"].endswith(f"/desk/tickets/{data['number']}/")


# --- listing and paging ------------------------------------------------------------


def test_list_walks_every_ticket_once_with_cursors(http, agent, acme_customer):
    now = timezone.now()
    made = [
        make_ticket(
            acme_customer, subject=f"T{i}", updated_at=now - timedelta(minutes=i)
        )
        for i in range(7)
    ]

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = http("GET", "/api/tickets", as_=agent, params=params)
        assert response.status_code == 200
        page = response.json()
        seen += [t["number"] for t in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [t.number for t in made]  # newest change first
    assert pages == 3
    back = http(
        "GET",
        "/api/tickets",
        as_=agent,
        params={"limit": 3, "cursor": page["previous_cursor"]},
    )
    assert [t["number"] for t in back.json()["items"]] == seen[3:6]


def test_tampered_cursor_is_400(http, agent):
    response = http(
        "GET", "/api/tickets", as_=agent, params={"cursor": "bm90LWEtY3Vyc29y"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


# --- changing a ticket ---------------------------------------------------------------


def test_agent_changes_several_fields_at_once(
    http, agent, other_agent, acme_customer, engineering
):
    ticket = make_ticket(acme_customer)

    response = http(
        "PATCH",
        f"/api/tickets/{ticket.number}",
        as_=agent,
        json={
            "status": "open",
            "priority": 4,
            "owner": agent.pk,
            "assignee": other_agent.pk,
            "team": engineering.pk,
            "subject": "SDK: 401 after token refresh",
            "tags": ["auth", "Python SDK"],
        },
    )

    assert response.status_code == 200, response.text
    data = response.json()
    assert data["status"] == "open"
    assert data["priority"] == 4
    assert data["owner"]["id"] == agent.pk
    assert data["assignee"]["id"] == other_agent.pk
    assert data["team"] == {"id": engineering.pk, "name": "SDK Engineering"}
    assert data["subject"] == "SDK: 401 after token refresh"
    assert sorted(data["tags"]) == ["auth", "python-sdk"]
    kinds = set(
        TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True)
    )
    assert {
        "status_changed",
        "priority_changed",
        "owner_changed",
        "tags_changed",
    } <= kinds


def test_refused_status_change_leaves_other_fields_unwritten(
    http, agent, acme_customer
):
    ticket = make_ticket(acme_customer)
    events_before = TicketEvent.objects.count()

    response = http(
        "PATCH",
        f"/api/tickets/{ticket.number}",
        as_=agent,
        json={"priority": 4, "tags": ["urgent"], "status": "closed"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_transition"
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.NORMAL
    assert ticket.status == Ticket.Status.NEW
    assert list(ticket.tags.all()) == []
    assert TicketEvent.objects.count() == events_before


def test_customer_reply_over_http_reopens_a_pending_ticket(http, agent, acme_customer):
    ticket = make_ticket(acme_customer)
    reply(ticket, agent, "Which version?", new_status=Ticket.Status.PENDING_CUSTOMER)

    response = http(
        "POST",
        f"/api/tickets/{ticket.number}/messages",
        as_=acme_customer,
        json={"body": "Version `2.4.1`"},
    )

    assert response.status_code == 201
    assert response.json()["body_html"] == "<p>Version <code>2.4.1</code></p>\n"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.messages.filter(kind=Message.Kind.PUBLIC).count() == 3
