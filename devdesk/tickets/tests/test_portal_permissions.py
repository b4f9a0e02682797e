"""Who may open which portal page and attachment: persona by URL, each with its answer.

"login" means a redirect to the sign-in page, "desk" a redirect to the agent desk's
page for the same thing; a number is the status the persona gets.
"""

import pytest
from django.urls import reverse

from devdesk.tickets.attachments import check_uploads
from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.tests.factories import make_ticket, reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_ticket(acme_customer, agent) -> Ticket:
    ticket = make_ticket(acme_customer, subject="Acme: webhook retries")
    reply(
        ticket,
        acme_customer,
        "Here is the log.",
        uploads=check_uploads([("hook.log", b"retry 1\n")]),
    )
    reply(
        ticket,
        agent,
        "Customer runs 2.1; probably the retry bug.",
        kind=Message.Kind.INTERNAL,
        uploads=check_uploads([("internal.txt", b"the ops runbook\n")]),
    )
    return ticket


def _urls(ticket: Ticket) -> dict[str, str]:
    public = ticket.messages.get(body="Here is the log.").attachments.get()
    internal = ticket.messages.get(kind=Message.Kind.INTERNAL).attachments.get()
    return {
        "list": reverse("portal:ticket-list"),
        "new": reverse("portal:ticket-new"),
        "detail": reverse("portal:ticket-detail", args=[ticket.number]),
        "public_file": reverse(
            "attachment-download", args=[public.pk, public.filename]
        ),
        "internal_file": reverse(
            "attachment-download", args=[internal.pk, internal.filename]
        ),
        "renamed_file": reverse("attachment-download", args=[public.pk, "other.log"]),
    }


PAGES = ["list", "new", "detail", "public_file", "internal_file", "renamed_file"]
# fmt: off
EXPECTED = {
    #                   list     new      detail   public_file internal_file renamed_file
    "anonymous":       ("login", "login", "login", "login",    "login",      "login"),
    "acme_customer":   (200,     200,     200,     200,        404,          404),
    "acme_colleague":  (200,     200,     200,     200,        404,          404),
    "globex_customer": (200,     200,     404,     404,        404,          404),
    "agent":           ("desk",  "desk",  "desk",  200,        200,          404),
    "admin_user":      ("desk",  "desk",  "desk",  200,        200,          404),
    "engineer":        ("desk",  "desk",  "desk",  404,        404,          404),
    "partner_agent":   ("desk",  "desk",  "desk",  404,        404,          404),
}
# fmt: on
CASES = [
    pytest.param(who, page, expected, id=f"{who}-{page}-{expected}")
    for who, row in EXPECTED.items()
    for page, expected in zip(PAGES, row, strict=True)
]


@pytest.mark.parametrize(("who", "page", "expected"), CASES)
def test_permission_matrix(request, login, acme_ticket, who, page, expected):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    url = _urls(acme_ticket)[page]

    response = login(user).get(url)

    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    elif expected == "desk":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("desk:inbox"))
    else:
        assert response.status_code == expected


def test_customer_page_never_shows_internal_notes(login, acme_ticket, acme_colleague):
    response = login(acme_colleague).get(
        reverse("portal:ticket-detail", args=[acme_ticket.number])
    )
    assert response.status_code == 200
    assert b"Here is the log." in response.content
    assert b"probably the retry bug" not in response.content
    assert b"internal.txt" not in response.content


def test_customer_list_shows_only_own_organization(login, acme_ticket, globex_customer):
    globex = make_ticket(globex_customer, subject="Globex: SSO loop")
    response = login(globex_customer).get(reverse("portal:ticket-list"))
    assert globex.subject.encode() in response.content
    assert acme_ticket.subject.encode() not in response.content


def test_reply_to_another_organizations_ticket_is_not_found(
    login, acme_ticket, globex_customer
):
    before = acme_ticket.messages.count()
    response = login(globex_customer).post(
        reverse("portal:ticket-reply", args=[acme_ticket.number]), {"body": "sneaky"}
    )
    assert response.status_code == 404
    assert acme_ticket.messages.count() == before


def test_follow_up_of_another_organizations_ticket_is_not_found(
    login, acme_ticket, globex_customer
):
    url = reverse("portal:ticket-new") + f"?follow_up={acme_ticket.number}"
    assert login(globex_customer).get(url).status_code == 404


def test_desk_user_is_sent_to_the_desk_page_of_the_same_ticket(
    login, acme_ticket, agent
):
    response = login(agent).get(
        reverse("portal:ticket-detail", args=[acme_ticket.number])
    )
    assert response["Location"] == reverse(
        "desk:ticket-detail", args=[acme_ticket.number]
    )
