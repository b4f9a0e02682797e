"""Who finds what: persona x word x way of searching, each with the tickets it finds.

Each word below appears in one place only. Customers find their organization's
tickets by public text; nobody finds a ticket they cannot open; internal notes are
found only by those who read them, through the portal, the API and the service.
"""

import pytest
from django.test import Client
from django.urls import reverse

from devdesk.accounts.models import User
from devdesk.accounts.services import create_api_token
from devdesk.search.services import match_tickets
from devdesk.tickets import access
from devdesk.tickets.models import Message
from devdesk.tickets.tests.factories import reply

pytestmark = pytest.mark.django_db

# word -> (ticket it is in, whether only in an internal note)
WORDS = {
    "plain": ("acme_plain", False),  # subject
    "legacy": ("acme_plain", True),  # "Customer is on the legacy SDK"
    "flamingo": ("acme_escalated", True),
    "walrus": ("globex_partnered", False),
    "pinecone": ("globex_partnered", True),
}
FOUND = {
    "admin_user": {"plain", "legacy", "flamingo", "walrus", "pinecone"},
    "agent": {"plain", "legacy", "flamingo", "walrus", "pinecone"},
    "engineer": {"flamingo"},  # sees the escalated ticket, reads its notes
    "partner_agent": {"walrus", "pinecone"},  # sees what is routed to Polyglot
    "acme_customer": {"plain"},
    "globex_customer": {"walrus"},
}


@pytest.fixture
def tickets(matrix_tickets, agent):
    reply(
        matrix_tickets["acme_escalated"],
        agent,
        "flamingo trace attached",
        kind=Message.Kind.INTERNAL,
    )
    globex = matrix_tickets["globex_partnered"]
    reply(globex, agent, "The walrus exporter crashed on your side.")
    reply(globex, agent, "pinecone quota reached", kind=Message.Kind.INTERNAL)
    return matrix_tickets


def expected(who: str, word: str, tickets) -> set[int]:
    return {tickets[WORDS[word][0]].number} if word in FOUND[who] else set()


def api_search(client: Client, user: User, q: str) -> set[int]:
    _, token = create_api_token(user, name="tests")
    response = client.get(
        "/api/tickets", {"q": q}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    return {item["number"] for item in response.json()["items"]}


def search_service(user, word: str) -> set[int]:
    found = match_tickets(
        access.visible_tickets(user),
        word,
        include_internal=access.can_search_internal_notes(user),
    )
    return {t.number for t in found}


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize("who", FOUND)
def test_search_service_finds_only_what_the_person_may_read(
    request, tickets, who, word
):
    user = request.getfixturevalue(who)
    assert search_service(user, word) == expected(who, word, tickets)


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize("who", FOUND)
def test_api_list_with_q_finds_only_what_the_person_may_read(
    request, client, tickets, who, word
):
    user = request.getfixturevalue(who)
    assert api_search(client, user, word) == expected(who, word, tickets)


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize("who", ["acme_customer", "globex_customer"])
def test_portal_list_with_q_finds_only_public_text_of_the_organization(
    request, login, tickets, who, word
):
    response = login(request.getfixturevalue(who)).get(
        reverse("portal:ticket-list"), {"q": word}
    )
    assert response.status_code == 200
    numbers = {row.ticket.number for row in response.context["rows"]}
    assert numbers == expected(who, word, tickets)


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize("who", ["admin_user", "agent", "engineer", "partner_agent"])
def test_inbox_with_q_finds_only_what_the_person_may_read(
    request, login, tickets, who, word
):
    response = login(request.getfixturevalue(who)).get(
        reverse("desk:inbox"), {"view": "all", "q": word}
    )
    assert response.status_code == 200
    numbers = {t.number for t in response.context["page"].items}
    assert numbers == expected(who, word, tickets)


@pytest.mark.parametrize("who", ["acme_customer", "globex_customer"])
def test_an_internal_note_cannot_hide_a_ticket_from_a_customer(
    request, client, tickets, who
):
    # "-legacy" would drop Acme's plain ticket if internal text counted for them.
    user = request.getfixturevalue(who)
    visible = {t.number for t in access.visible_tickets(user) if "Acme" in t.subject}
    assert api_search(client, user, "acme -legacy") == visible
