"""The permission rules as a matrix: persona by ticket by question, each with its answer."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from devdesk.tickets import access
from devdesk.tickets.models import Message
from devdesk.tickets.tests.factories import reply

pytestmark = pytest.mark.django_db

PERSONAS = [
    "admin_user",
    "agent",
    "engineer",
    "partner_agent",
    "acme_customer",
    "acme_colleague",
    "globex_customer",
    "anonymous",
]


@pytest.fixture
def tickets(matrix_tickets):
    return matrix_tickets


def persona(request, name):
    return AnonymousUser() if name == "anonymous" else request.getfixturevalue(name)


# Which of the three tickets each persona can see.
VISIBLE = {
    "admin_user": {"acme_plain", "acme_escalated", "globex_partnered"},
    "agent": {"acme_plain", "acme_escalated", "globex_partnered"},
    "engineer": {"acme_escalated"},
    "partner_agent": {"globex_partnered"},
    "acme_customer": {"acme_plain", "acme_escalated"},
    "acme_colleague": {"acme_plain", "acme_escalated"},
    "globex_customer": {"globex_partnered"},
    "anonymous": set(),
}


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("which", ["acme_plain", "acme_escalated", "globex_partnered"])
def test_ticket_visibility_matrix(request, tickets, who, which):
    user = persona(request, who)
    ticket = tickets[which]
    visible = which in VISIBLE[who]
    assert access.visible_tickets(user).filter(pk=ticket.pk).exists() is visible
    if visible:
        assert access.get_ticket_for(user, ticket.number) == ticket
    else:
        with pytest.raises(Http404):
            access.get_ticket_for(user, ticket.number)


# persona -> (read internal, reply publicly, note, change status, tag, edit fields,
#             merge/split, open tickets, open for a customer)
ABILITIES = {
    "admin_user": (True, True, True, True, True, True, True, True, True),
    "agent": (True, True, True, True, True, True, True, True, True),
    "engineer": (True, False, True, False, False, False, False, False, False),
    "partner_agent": (True, True, True, True, True, False, False, False, False),
    "acme_customer": (False, True, False, False, False, False, False, True, False),
    "anonymous": (False, False, False, False, False, False, False, False, False),
}


@pytest.mark.parametrize("who", list(ABILITIES))
def test_ability_matrix(request, tickets, who):
    user = persona(request, who)
    ticket = tickets["acme_plain"]
    got = (
        access.can_read_internal(user, ticket),
        access.can_reply_publicly(user, ticket),
        access.can_add_note(user, ticket),
        access.can_change_status(user, ticket),
        access.can_tag(user, ticket),
        access.can_edit_ticket(user, ticket),
        access.can_merge_and_split(user),
        access.can_open_ticket(user),
        access.can_open_ticket_for_customer(user),
    )
    assert got == ABILITIES[who]


@pytest.mark.parametrize(
    ("who", "sees_note"),
    [("agent", True), ("engineer", True), ("acme_customer", False)],
)
def test_internal_notes_hidden_from_customers(request, tickets, agent, who, sees_note):
    ticket = tickets["acme_escalated"]
    note = reply(ticket, agent, "customer is on SDK 2.1", kind=Message.Kind.INTERNAL)
    user = persona(request, who)
    assert (
        access.visible_messages(user, ticket).filter(pk=note.pk).exists() is sees_note
    )


def test_customer_sees_only_own_organization_and_vendor_staff(
    acme_customer, globex_customer, agent
):
    users = access.visible_users(acme_customer)
    assert acme_customer in users
    assert agent in users
    assert globex_customer not in users
    assert list(access.visible_organizations(acme_customer)) == [
        acme_customer.organization
    ]


def test_inactive_user_sees_nothing(tickets, acme_customer):
    acme_customer.is_active = False
    acme_customer.save()
    assert not access.visible_tickets(acme_customer).exists()
