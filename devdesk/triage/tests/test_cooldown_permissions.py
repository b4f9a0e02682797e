"""Who sees scope flags and cool-down, and who may act on them: desk staff only.
Customers see nothing of either on any page or in the API."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from devdesk.accounts.services import create_api_token
from devdesk.tickets.tests.factories import make_ticket
from devdesk.triage import cooldown, scope

pytestmark = pytest.mark.django_db

REASON = "angry message (sentiment -0.93)"
SCOPE_REASON = "Reads like Heroku hosting"


@pytest.fixture
def ticket(acme_customer):  # type: ignore[no-untyped-def]
    ticket = make_ticket(acme_customer, subject="Heroku dyno restarts")
    cooldown.hold(ticket, reason=REASON)
    scope.flag(ticket, reason=SCOPE_REASON, acting_user=None)
    return ticket


PERSONAS = ["anonymous", "acme_customer", "globex_customer", "agent", "admin_user"]


def client_for(persona, request):  # type: ignore[no-untyped-def]
    client = Client()
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    return client


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("anonymous", 302),
        ("acme_customer", 404),
        ("globex_customer", 404),
        ("agent", 200),
        ("admin_user", 200),
    ],
)
def test_the_desk_ticket_page_shows_why_and_until_when_to_staff(
    ticket, persona, status, request
):
    response = client_for(persona, request).get(
        reverse("desk:ticket-detail", args=[ticket.number])
    )
    assert response.status_code == status
    if status == 200:
        text = response.content.decode()
        assert "Cool-down until" in text
        assert REASON in text
        assert SCOPE_REASON in text
        assert "Send polite decline" in text


@pytest.mark.parametrize("persona", ["acme_customer", "acme_colleague"])
def test_customers_see_nothing_of_it_on_their_portal_page(ticket, persona, request):
    response = client_for(persona, request).get(
        reverse("portal:ticket-detail", args=[ticket.number])
    )
    text = response.content.decode().lower()
    assert response.status_code == 200
    for secret in (
        "cool-down",
        "cooldown",
        "sentiment",
        "out of scope",
        "heroku hosting",
    ):
        assert secret not in text


def test_customers_see_nothing_of_it_in_the_api(ticket, acme_customer):
    _, token = create_api_token(acme_customer, name="tests")
    response = Client().get(
        f"/api/tickets/{ticket.number}", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200
    body = response.content.decode().lower()
    assert "cooldown" not in body
    assert "scope" not in body
    assert "sentiment" not in body
    events = Client().get(
        f"/api/tickets/{ticket.number}/events", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert events.status_code == 200
    assert [e["kind"] for e in events.json()["items"]] == ["created"]


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("anonymous", 302),
        ("acme_customer", 404),
        ("globex_customer", 404),
        ("agent", 302),
        ("admin_user", 302),
    ],
)
@pytest.mark.parametrize("action", ["release", "scope-clear", "decline"])
def test_only_staff_act_on_scope_and_cool_down(
    ticket, persona, status, action, request
):
    response = client_for(persona, request).post(
        reverse(f"triage-cooldown:{action}", args=[ticket.number])
    )
    assert response.status_code == status
    ticket.refresh_from_db()
    staff = persona in {"agent", "admin_user"}
    changed = {
        "release": not ticket.is_cooling_down(timezone.now()),
        "scope-clear": not ticket.is_out_of_scope,
        "decline": ticket.messages.count() == 2,
    }[action]
    assert changed == staff


def test_the_inbox_row_marks_cool_down_and_scope(ticket, agent):
    client = Client()
    client.force_login(agent)
    text = client.get(reverse("desk:inbox")).content.decode()
    assert 'class="badge cooldown"' in text
    assert "out of scope" in text
