"""The desk's ticket page over HTTP: conversation, composer, properties, escalation,
macros, presence and history; bad input answers 4xx with the reason and writes nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from devdesk.accounts.tests.factories import TeamFactory
from devdesk.tickets.models import (
    Attachment,
    Message,
    Ticket,
    TicketEvent,
    TicketPresence,
)
from devdesk.tickets.services import change_status
from devdesk.tickets.tests.factories import (
    MacroFactory,
    ProductFactory,
    make_ticket,
    reply,
)

pytestmark = pytest.mark.django_db

Status = Ticket.Status


def url(name, ticket):
    return reverse(f"desk:{name}", args=[ticket.number])


@pytest.fixture
def ticket(acme_customer):
    return make_ticket(acme_customer, subject="Webhook signature mismatch")


def test_ticket_page_shows_conversation_with_internal_notes(login, agent, ticket):
    reply(ticket, agent, "Customer runs **SDK 2.1**", kind=Message.Kind.INTERNAL)
    html = login(agent).get(url("ticket-detail", ticket)).content.decode()
    assert "Webhook signature mismatch" in html
    assert "<strong>SDK 2.1</strong>" in html
    assert 'class="message is-internal"' in html
    assert 'hx-trigger="load, every 5s"' in html
    for key in "rng":
        assert f'data-key="{key}"' in html


def test_public_reply_is_sent_and_mailed_to_the_customer(
    login, agent, acme_customer, ticket, django_capture_on_commit_callbacks
):
    client = login(agent)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("ticket-reply", ticket),
            {"kind": "public", "body": "Rotate the signing secret."},
        )
    message = ticket.messages.last()
    assert response.status_code == 302
    assert (
        response["Location"] == url("ticket-detail", ticket) + f"#message-{message.pk}"
    )
    assert message.kind == Message.Kind.PUBLIC
    assert message.author == agent
    assert [m.to for m in mail.outbox] == [[acme_customer.email]]
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert "Reply sent." in client.get(response["Location"]).content.decode()


def test_internal_note_is_not_mailed_to_the_customer(
    login, agent, acme_customer, ticket, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        login(agent).post(
            url("ticket-reply", ticket), {"kind": "internal", "body": "Hmm."}
        )
    assert ticket.messages.last().kind == Message.Kind.INTERNAL
    assert acme_customer.email not in [to for m in mail.outbox for to in m.to]


def test_reply_can_submit_as_solved(login, agent, ticket):
    login(agent).post(
        url("ticket-reply", ticket),
        {"kind": "public", "body": "Fixed in 2.2.", "new_status": "solved"},
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED


def test_note_submitted_as_solved_is_refused_and_not_written(login, agent, ticket):
    response = login(agent).post(
        url("ticket-reply", ticket),
        {"kind": "internal", "body": "Closing this.", "new_status": "solved"},
    )
    assert response.status_code == 400
    assert (
        "Send the customer a public reply before solving" in response.content.decode()
    )
    assert "Closing this." in response.content.decode()  # the draft is kept
    assert ticket.messages.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_empty_reply_is_refused(login, agent, ticket):
    response = login(agent).post(
        url("ticket-reply", ticket), {"kind": "public", "body": "  \n"}
    )
    assert response.status_code == 400
    assert "the body is empty" in response.content.decode()
    assert ticket.messages.count() == 1


def test_reply_with_attachment_stores_it(login, agent, ticket):
    log = SimpleUploadedFile(
        "trace.log", b"ERROR signature mismatch\n", content_type="text/plain"
    )
    login(agent).post(
        url("ticket-reply", ticket),
        {"kind": "public", "body": "See the log.", "attachments": [log]},
    )
    attachment = Attachment.objects.get()
    assert attachment.filename == "trace.log"
    assert attachment.message.ticket == ticket


def test_forged_attachment_is_refused_and_nothing_written(login, agent, ticket):
    fake = SimpleUploadedFile(
        "screenshot.png", b"#!/bin/sh\nrm -rf /\n", content_type="image/png"
    )
    response = login(agent).post(
        url("ticket-reply", ticket),
        {"kind": "public", "body": "Here.", "attachments": [fake]},
    )
    assert response.status_code == 400
    assert "does not contain what its name says" in response.content.decode()
    assert ticket.messages.count() == 1
    assert not Attachment.objects.exists()


def test_engineer_may_add_notes_but_not_public_replies(
    login, agent, engineer, engineering, ticket
):
    from devdesk.tickets.services import escalate_ticket

    escalate_ticket(ticket, team=engineering, note="Please check", acting_user=agent)
    client = login(engineer)
    page = client.get(url("ticket-detail", ticket)).content.decode()
    assert 'value="public"' not in page
    assert (
        client.post(
            url("ticket-reply", ticket), {"kind": "internal", "body": "Repro'd"}
        ).status_code
        == 302
    )
    refused = client.post(
        url("ticket-reply", ticket), {"kind": "public", "body": "Hi customer"}
    )
    assert refused.status_code == 403
    assert "You cannot reply to the customer." in refused.content.decode()
    assert not ticket.messages.filter(body="Hi customer").exists()


def test_properties_are_saved_with_one_event_each(
    login, agent, other_agent, acme_colleague, ticket
):
    team = TeamFactory(name="Support EU", slug="support-eu")
    product = ProductFactory(name="Go SDK", slug="go-sdk")
    response = login(agent).post(
        url("ticket-update", ticket),
        {
            "status": "open",
            "subject": "Webhook signatures fail after key rotation",
            "priority": "3",
            "owner": agent.pk,
            "assignee": other_agent.pk,
            "team": team.pk,
            "product": product.pk,
            "tags": "webhooks, Key Rotation",
            "followers": [acme_colleague.pk],
            "followers_shown": "1",
        },
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (
        ticket.status,
        ticket.priority,
        ticket.owner,
        ticket.assignee,
        ticket.team,
        ticket.product,
    ) == (
        Status.OPEN,
        3,
        agent,
        other_agent,
        team,
        product,
    )
    assert ticket.subject == "Webhook signatures fail after key rotation"
    assert sorted(ticket.tags.values_list("name", flat=True)) == [
        "key-rotation",
        "webhooks",
    ]
    assert list(ticket.followers.all()) == [acme_colleague]
    kinds = set(ticket.events.values_list("kind", flat=True))
    assert {
        "status_changed",
        "priority_changed",
        "owner_changed",
        "assignee_changed",
        "team_changed",
        "product_changed",
        "subject_changed",
        "tags_changed",
        "followers_changed",
    } <= kinds


def test_properties_not_sent_are_left_alone(login, agent, other_agent, acme_customer):
    ticket = make_ticket(acme_customer, assignee=other_agent, priority=3)
    response = login(agent).post(url("ticket-update", ticket), {"priority": "4"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.priority == 4
    assert ticket.assignee == other_agent


def test_solving_without_public_reply_is_refused_and_nothing_saved(
    login, agent, ticket
):
    response = login(agent).post(
        url("ticket-update", ticket), {"priority": "4", "status": "solved"}
    )
    assert response.status_code == 400
    assert (
        "Send the customer a public reply before solving" in response.content.decode()
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert ticket.priority == Ticket.Priority.NORMAL  # the whole form or nothing
    assert not ticket.events.filter(kind=TicketEvent.Kind.PRIORITY_CHANGED).exists()


def test_invalid_status_transition_is_explained(login, agent, ticket):
    reply(ticket, agent, "Done", new_status=Status.SOLVED)
    change_status(ticket, Status.CLOSED, acting_user=agent)
    response = login(agent).post(
        url("ticket-update", ticket), {"status": "pending_customer"}
    )
    assert response.status_code == 400
    assert (
        "A closed ticket cannot become pending customer." in response.content.decode()
    )


def test_oversized_subject_is_refused(login, agent, ticket, settings):
    response = login(agent).post(
        url("ticket-update", ticket),
        {"subject": "x" * (settings.TICKET_SUBJECT_MAX_CHARS + 1)},
    )
    assert response.status_code == 400
    assert "Ensure this value has at most" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.subject == "Webhook signature mismatch"


def test_bad_tag_is_refused(login, agent, ticket):
    response = login(agent).post(url("ticket-update", ticket), {"tags": "ok, not/ok"})
    assert response.status_code == 400
    assert "may only hold letters, digits" in response.content.decode()
    assert not ticket.tags.exists()


def test_partner_agent_may_change_status_but_not_priority(
    login, agent, partner_agent, globex_customer, polyglot
):
    ticket = make_ticket(globex_customer, partner_organization=polyglot)
    reply(ticket, partner_agent, "Hallo! Try this.")
    client = login(partner_agent)
    assert (
        client.post(url("ticket-update", ticket), {"status": "solved"}).status_code
        == 302
    )
    refused = client.post(url("ticket-update", ticket), {"priority": "4"})
    assert refused.status_code == 403
    assert "You cannot change this ticket." in refused.content.decode()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (Status.SOLVED, Ticket.Priority.NORMAL)


def test_escalation_keeps_owner_and_adds_note(login, agent, engineering, ticket):
    response = login(agent).post(
        url("ticket-escalate", ticket),
        {"team": engineering.pk, "note": "Signature code looks off."},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.escalated_team == engineering
    assert ticket.owner == agent
    assert ticket.status == Status.PENDING_ENGINEERING
    assert ticket.messages.filter(
        kind=Message.Kind.INTERNAL, body="Signature code looks off."
    ).exists()


def test_escalation_needs_a_note_and_an_engineering_team(login, agent, ticket):
    support = TeamFactory(name="Support", slug="support")
    response = login(agent).post(
        url("ticket-escalate", ticket), {"team": support.pk, "note": ""}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "Tell engineering what you need in a note." in html


def test_escalating_a_solved_ticket_is_refused_and_nothing_written(
    login, agent, engineering, ticket
):
    reply(ticket, agent, "Done", new_status=Status.SOLVED)
    response = login(agent).post(
        url("ticket-escalate", ticket), {"team": engineering.pk, "note": "Look"}
    )
    assert response.status_code == 400
    assert "cannot become pending engineering" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.escalated_team is None
    assert not ticket.messages.filter(body="Look").exists()


def test_macro_preview_fills_the_composer(login, agent, ticket):
    macro = MacroFactory(
        name="Ask for logs",
        body="Hi {{ customer.first_name }}, please send logs for {{ ticket.reference }}.",
    )
    response = login(agent).get(
        url("ticket-macro-preview", ticket), {"macro": macro.pk}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Hi Carol, please send logs for #{ticket.number}." in html
    assert f'name="macro" value="{macro.pk}"' in html


def test_macro_is_sent_with_the_edited_body_and_its_changes(login, agent, ticket):
    macro = MacroFactory(
        name="Solved",
        body="Hi {{ customer.first_name }}",
        set_status="solved",
        add_tags="answered",
    )
    response = login(agent).post(
        url("ticket-reply", ticket),
        {"macro": macro.pk, "kind": "public", "body": "Hi Carol, fixed in 2.2!"},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.messages.last().body == "Hi Carol, fixed in 2.2!"
    assert ticket.status == Status.SOLVED
    assert list(ticket.tags.values_list("name", flat=True)) == ["answered"]
    macro.refresh_from_db()
    assert macro.usage_count == 1
    assert ticket.events.filter(kind=TicketEvent.Kind.MACRO_APPLIED).exists()


def test_presence_names_who_else_is_replying(login, agent, other_agent, ticket):
    login(other_agent).post(url("ticket-presence", ticket), {"activity": "replying"})
    response = login(agent).post(
        url("ticket-presence", ticket), {"activity": "viewing"}
    )
    assert response.status_code == 200
    assert "Sam Second is replying" in response.content.decode()
    assert TicketPresence.objects.filter(ticket=ticket).count() == 2


def test_presence_forgets_people_who_left(login, agent, other_agent, ticket, settings):
    login(other_agent).post(url("ticket-presence", ticket), {"activity": "viewing"})
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.PRESENCE_SECONDS + 1)
    ):
        response = login(agent).post(
            url("ticket-presence", ticket), {"activity": "viewing"}
        )
    assert "Sam Second" not in response.content.decode()


def test_presence_does_not_warn_about_yourself_and_refuses_unknown_activity(
    login, agent, ticket
):
    client = login(agent)
    assert (
        "is viewing" not in client.post(url("ticket-presence", ticket)).content.decode()
    )
    assert (
        client.post(url("ticket-presence", ticket), {"activity": "dancing"}).status_code
        == 400
    )


def test_history_reads_as_sentences(login, agent, other_agent, ticket):
    client = login(agent)
    client.post(
        url("ticket-reply", ticket),
        {"kind": "public", "body": "On it", "new_status": "pending_customer"},
    )
    client.post(
        url("ticket-update", ticket), {"assignee": other_agent.pk, "tags": "webhooks"}
    )
    html = client.get(url("ticket-detail", ticket)).content.decode()
    assert "Carol Acme created the ticket (Portal)" in html
    assert "Alex Agent added a public reply" in html
    assert "Alex Agent changed status from New to Pending customer" in html
    assert "Alex Agent set assignee to Sam Second" in html
    assert "Alex Agent added tag webhooks" in html


def test_ticket_page_query_count_does_not_grow_with_messages(
    login, agent, acme_customer, ticket
):
    client = login(agent)
    with CaptureQueriesContext(connection) as few:
        client.get(url("ticket-detail", ticket))
    for i in range(8):
        reply(ticket, acme_customer if i % 2 else agent, f"message {i}")
    with CaptureQueriesContext(connection) as many:
        client.get(url("ticket-detail", ticket))
    assert len(many) == len(few)
