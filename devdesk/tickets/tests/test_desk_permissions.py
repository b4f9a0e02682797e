"""Who may open which desk URL: persona by URL, each case with the status it expects.

404 means "no such ticket for you" (nobody learns it exists); 403 means the user sees
the ticket but may not do this; 302 to the login page for anonymous visitors.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

pytestmark = pytest.mark.django_db

PERSONAS = [
    "admin_user",
    "agent",
    "engineer",
    "partner_agent",
    "acme_customer",
    "anonymous",
]


@pytest.fixture
def tickets(matrix_tickets):
    return {
        "plain": matrix_tickets["acme_plain"],
        "escalated": matrix_tickets["acme_escalated"],
        "partnered": matrix_tickets["globex_partnered"],
    }


def who(request, name):
    user = None if name == "anonymous" else request.getfixturevalue(name)
    return request.getfixturevalue("login")(user), user or AnonymousUser()


def call(client, name, ticket, engineering):
    """One request per desk URL, with input that is valid when the user may act."""
    args = [ticket.number]
    note = ticket.messages.order_by("pk").last()
    requests = {
        "ticket-detail": ("get", {}),
        "ticket-reply": ("post", {"kind": "internal", "body": "Checked"}),
        "ticket-update": ("post", {"priority": "4"}),
        "ticket-escalate": ("post", {"team": engineering.pk, "note": "Please look"}),
        "ticket-macro-preview": ("get", {}),
        "ticket-merge": ("get", {}),
        "ticket-split": ("post", {"message_ids": [note.pk]}),
        "ticket-undo-merge": ("post", {}),
        "ticket-presence": ("post", {"activity": "viewing"}),
    }
    method, data = requests[name]
    return getattr(client, method)(reverse(f"desk:{name}", args=args), data)


ACTIONS = [
    "ticket-detail",
    "ticket-reply",
    "ticket-update",
    "ticket-escalate",
    "ticket-macro-preview",
    "ticket-merge",
    "ticket-split",
    "ticket-undo-merge",
    "ticket-presence",
]
AGENT = dict(zip(ACTIONS, [200, 302, 302, 302, 200, 200, 302, 400, 200], strict=True))
# The engineer sees the escalated ticket: may read and add notes, change nothing else.
ENGINEER = dict(
    zip(ACTIONS, [200, 302, 403, 403, 200, 403, 403, 403, 200], strict=True)
)
HIDDEN = dict.fromkeys(ACTIONS, 404)
LOGIN = dict.fromkeys(ACTIONS, 302)

ON_ESCALATED = {
    "admin_user": AGENT,
    "agent": AGENT,
    "engineer": ENGINEER,
    "partner_agent": HIDDEN,
    "acme_customer": HIDDEN,
    "anonymous": LOGIN,
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_desk_action_matrix_on_escalated_ticket(
    request, tickets, engineering, persona, action
):
    client, _ = who(request, persona)
    response = call(client, action, tickets["escalated"], engineering)
    assert response.status_code == ON_ESCALATED[persona][action]
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("accounts:login"))


# A partner agent works the tickets routed to the partner: reply, note, status.
PARTNER = dict(zip(ACTIONS, [200, 302, 403, 403, 200, 403, 403, 403, 200], strict=True))


@pytest.mark.parametrize("action", ACTIONS)
def test_partner_agent_matrix_on_partner_ticket(request, tickets, engineering, action):
    client, _ = who(request, "partner_agent")
    response = call(client, action, tickets["partnered"], engineering)
    assert response.status_code == PARTNER[action]


# Which ticket pages each persona can open on the desk.
DETAIL = {
    "admin_user": {"plain": 200, "escalated": 200, "partnered": 200},
    "agent": {"plain": 200, "escalated": 200, "partnered": 200},
    "engineer": {"plain": 404, "escalated": 200, "partnered": 404},
    "partner_agent": {"plain": 404, "escalated": 404, "partnered": 200},
    "acme_customer": {"plain": 404, "escalated": 404, "partnered": 404},
    "anonymous": {"plain": 302, "escalated": 302, "partnered": 302},
}


@pytest.mark.parametrize("which", ["plain", "escalated", "partnered"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_ticket_page_visibility_matrix(request, tickets, persona, which):
    client, _ = who(request, persona)
    response = client.get(reverse("desk:ticket-detail", args=[tickets[which].number]))
    assert response.status_code == DETAIL[persona][which]


@pytest.mark.parametrize(
    ("persona", "inbox", "new_ticket"),
    [
        ("admin_user", 200, 200),
        ("agent", 200, 200),
        ("engineer", 200, 403),
        ("partner_agent", 200, 403),
        ("acme_customer", 302, 404),
        ("anonymous", 302, 302),
    ],
)
def test_inbox_and_new_ticket_matrix(request, persona, inbox, new_ticket):
    client, _ = who(request, persona)
    inbox_response = client.get(reverse("desk:inbox"))
    assert inbox_response.status_code == inbox
    assert client.get(reverse("desk:ticket-new")).status_code == new_ticket
    if persona == "acme_customer":
        assert inbox_response["Location"] == reverse("portal:ticket-list")
    if persona == "anonymous":
        assert inbox_response["Location"].startswith(reverse("accounts:login"))


def test_hidden_ticket_is_untouched_by_refused_requests(request, tickets, engineering):
    # given a customer who tries every desk action on their own organization's ticket
    client, _ = who(request, "acme_customer")
    ticket = tickets["plain"]
    messages_before = ticket.messages.count()
    # when
    for action in ACTIONS:
        call(client, action, ticket, engineering)
    # then nothing changed
    ticket.refresh_from_db()
    assert ticket.priority == 2
    assert ticket.messages.count() == messages_before
    assert ticket.escalated_team is None


def test_state_changing_urls_refuse_get(login, agent, tickets):
    client = login(agent)
    number = tickets["plain"].number
    for name in [
        "ticket-reply",
        "ticket-update",
        "ticket-escalate",
        "ticket-split",
        "ticket-undo-merge",
        "ticket-presence",
    ]:
        assert client.get(reverse(f"desk:{name}", args=[number])).status_code == 405
