"""Every customer gets an answer: no ticket is solved or closed without a public
reply from the desk, whichever way it is tried (ticket page, macros, bulk, API)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.tests.factories import MacroFactory, make_ticket, reply

pytestmark = pytest.mark.django_db

Status = Ticket.Status
SOLVE_REFUSAL = "Send the customer a public reply before solving"


@pytest.fixture
def unanswered(acme_customer, agent) -> Ticket:  # type: ignore[no-untyped-def]
    ticket = make_ticket(acme_customer, subject="Nobody answered yet")
    reply(ticket, agent, "Looking at the logs", kind=Message.Kind.INTERNAL)
    return ticket


def _status(ticket: Ticket) -> str:
    ticket.refresh_from_db()
    return ticket.status


def test_ticket_page_refuses_solving(login, agent, unanswered):
    response = login(agent).post(
        reverse("desk:ticket-update", args=[unanswered.number]), {"status": "solved"}
    )

    assert response.status_code == 400
    assert SOLVE_REFUSAL in response.content.decode()
    assert _status(unanswered) == Status.NEW


def test_a_note_submitted_as_solved_is_refused(login, agent, unanswered):
    response = login(agent).post(
        reverse("desk:ticket-reply", args=[unanswered.number]),
        {"kind": "internal", "body": "Done here.", "new_status": "solved"},
    )

    assert response.status_code == 400
    assert SOLVE_REFUSAL in response.content.decode()
    assert not unanswered.messages.filter(body="Done here.").exists()


def test_an_internal_macro_that_solves_is_refused(login, agent, unanswered):
    macro = MacroFactory(
        name="Close quietly", kind=Message.Kind.INTERNAL, set_status="solved"
    )

    response = login(agent).post(
        reverse("desk:ticket-reply", args=[unanswered.number]),
        {"macro": macro.pk, "kind": "internal", "body": "Closing quietly"},
    )

    assert response.status_code == 400
    assert SOLVE_REFUSAL in response.content.decode()
    assert _status(unanswered) == Status.NEW
    macro.refresh_from_db()
    assert macro.usage_count == 0


def test_a_public_macro_that_solves_is_its_own_answer(login, agent, unanswered):
    macro = MacroFactory(name="Fixed", set_status="solved")

    response = login(agent).post(
        reverse("desk:ticket-reply", args=[unanswered.number]),
        {"macro": macro.pk, "kind": "public", "body": "Fixed in 2.3."},
    )

    assert response.status_code == 302
    assert _status(unanswered) == Status.SOLVED


def test_bulk_solving_refuses_unanswered_tickets_and_solves_the_others(
    login, agent, acme_customer, unanswered
):
    answered = make_ticket(acme_customer, subject="Answered")
    reply(answered, agent, "Here is the fix.")

    response = login(agent).post(
        reverse("desk:inbox-bulk"),
        {
            "bulk-tickets": [str(unanswered.number), str(answered.number)],
            "bulk-status": "solved",
            "bulk-back": "view=all",
        },
    )

    assert response.status_code == 302
    [flash] = [m.message for m in get_messages(response.wsgi_request)]
    assert f"#{unanswered.number}: {SOLVE_REFUSAL}" in flash
    assert _status(unanswered) == Status.NEW
    assert _status(answered) == Status.SOLVED


def test_api_refuses_solving(api, agent, unanswered):
    response = api(
        "PATCH",
        f"/api/tickets/{unanswered.number}",
        as_=agent,
        json={"status": "solved"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "reply_required"
    assert SOLVE_REFUSAL in response.json()["message"]


def test_api_refuses_a_note_posted_as_solved(api, agent, unanswered):
    response = api(
        "POST",
        f"/api/tickets/{unanswered.number}/messages",
        as_=agent,
        json={"body": "Solved, I think", "internal": True, "status": "solved"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "reply_required"
    assert not unanswered.messages.filter(body="Solved, I think").exists()


def test_api_bulk_lists_the_refusal(api, agent, unanswered):
    response = api(
        "POST",
        "/api/tickets/bulk",
        as_=agent,
        json={"numbers": [unanswered.number], "changes": {"status": "solved"}},
    )

    assert response.status_code == 200
    [refusal] = response.json()["refused"]
    assert refusal["code"] == "reply_required"


def test_closing_is_refused_without_a_public_reply_too(api, agent, acme_customer):
    # A ticket marked solved some other way (an import) has no answer yet.
    ticket = make_ticket(acme_customer, status=Status.SOLVED)

    response = api(
        "PATCH", f"/api/tickets/{ticket.number}", as_=agent, json={"status": "closed"}
    )

    assert response.status_code == 400
    assert "before closing" in response.json()["message"]
    assert _status(ticket) == Status.SOLVED


def test_a_customer_reply_does_not_count_as_an_answer(
    api, agent, acme_customer, unanswered
):
    reply(unanswered, acme_customer, "Any news?")

    response = api(
        "PATCH",
        f"/api/tickets/{unanswered.number}",
        as_=agent,
        json={"status": "solved"},
    )

    assert response.status_code == 400


def test_after_a_public_reply_solving_goes_through(api, agent, unanswered):
    reply(unanswered, agent, "Fixed in 2.3, please upgrade.")

    response = api(
        "PATCH",
        f"/api/tickets/{unanswered.number}",
        as_=agent,
        json={"status": "solved"},
    )

    assert response.status_code == 200
    assert _status(unanswered) == Status.SOLVED
