import pytest
from django.db import transaction

from devdesk.intake.services import submit
from devdesk.tickets.attachments import check_upload, check_uploads, clean_filename
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Macro, Message, Ticket, TicketEvent
from devdesk.tickets.services import (
    NewTicket,
    apply_macro,
    change_status,
    escalate_ticket,
    render_macro,
    set_tags,
    update_ticket,
)
from devdesk.tickets.tests.factories import MacroFactory, make_ticket, reply

pytestmark = pytest.mark.django_db


def kinds(ticket):
    return list(ticket.events.values_list("kind", flat=True))


def test_every_change_writes_an_event(acme_customer, agent, other_agent):
    ticket = make_ticket(acme_customer)
    update_ticket(
        ticket,
        acting_user=agent,
        priority=Ticket.Priority.HIGH,
        owner=agent,
        assignee=other_agent,
    )
    set_tags(ticket, ["billing", "sdk"], acting_user=agent)
    reply(ticket, agent, "Fixed in 2.3.1", new_status=Ticket.Status.SOLVED)
    assert kinds(ticket) == [
        "created",
        "message_added",
        "priority_changed",
        "owner_changed",
        "assignee_changed",
        "tags_changed",
        "message_added",
        "status_changed",
    ]
    owner_event = ticket.events.get(kind=TicketEvent.Kind.OWNER_CHANGED)
    assert owner_event.data == {
        "old": None,
        "new": {"id": agent.pk, "name": "Alex Agent"},
    }


def test_unchanged_values_write_no_event(acme_customer, agent):
    ticket = make_ticket(acme_customer)
    assert update_ticket(ticket, acting_user=agent, priority=ticket.priority) == []
    assert kinds(ticket) == ["created", "message_added"]


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("new", "closed"),
        ("open", "closed"),
        ("closed", "open"),
        ("pending_customer", "closed"),
    ],
)
def test_invalid_transitions_are_refused(acme_customer, agent, start, target):
    ticket = make_ticket(acme_customer, status=start)
    with pytest.raises(TicketError) as caught:
        change_status(ticket, target, acting_user=agent)
    assert caught.value.code == "invalid_transition"
    ticket.refresh_from_db()
    assert ticket.status == start


def test_customer_cannot_change_status_or_fields(acme_customer):
    ticket = make_ticket(acme_customer)
    with pytest.raises(TicketError):
        change_status(ticket, Ticket.Status.OPEN, acting_user=acme_customer)
    with pytest.raises(TicketError):
        update_ticket(
            ticket, acting_user=acme_customer, priority=Ticket.Priority.URGENT
        )


def test_customer_cannot_be_made_assignee(acme_customer, agent):
    ticket = make_ticket(acme_customer)
    with pytest.raises(TicketError) as caught:
        update_ticket(ticket, acting_user=agent, assignee=acme_customer)
    assert caught.value.code == "invalid_assignee"


def test_escalation_keeps_owner_and_sets_pending_engineering(
    acme_customer, agent, other_agent, engineering
):
    ticket = make_ticket(acme_customer)
    update_ticket(ticket, acting_user=agent, owner=agent)
    escalate_ticket(
        ticket, team=engineering, note="Repro attached", acting_user=other_agent
    )
    ticket.refresh_from_db()
    assert ticket.owner == agent
    assert ticket.escalated_team == engineering
    assert ticket.status == Ticket.Status.PENDING_ENGINEERING
    assert ticket.messages.filter(
        kind=Message.Kind.INTERNAL, body="Repro attached"
    ).exists()


def test_engineer_cannot_reply_publicly(acme_customer, agent, engineer, engineering):
    ticket = make_ticket(acme_customer)
    escalate_ticket(ticket, team=engineering, note="", acting_user=agent)
    with pytest.raises(TicketError) as caught:
        reply(ticket, engineer, "Customer-facing words")
    assert caught.value.code == "not_allowed"
    reply(ticket, engineer, "Root cause: clock skew", kind=Message.Kind.INTERNAL)


def test_closed_ticket_refuses_replies(acme_customer, agent):
    ticket = make_ticket(acme_customer)
    reply(ticket, agent, "Done", new_status=Ticket.Status.SOLVED)
    change_status(ticket, Ticket.Status.CLOSED, acting_user=agent)
    with pytest.raises(TicketError) as caught:
        reply(ticket, acme_customer, "One more thing")
    assert caught.value.code == "ticket_closed"


def test_macro_fills_placeholders_and_applies_status_and_tags(acme_customer, agent):
    ticket = make_ticket(acme_customer)
    macro = MacroFactory(
        body="Hi {{ customer.first_name }}, {{ agent.first_name }} here about {{ ticket.reference }}. {{ nope }}",
        set_status=Ticket.Status.PENDING_CUSTOMER,
        add_tags="needs-repro",
    )
    assert render_macro(macro, ticket, agent) == (
        f"Hi Carol, Alex here about #{ticket.number}. {{{{ nope }}}}"
    )
    apply_macro(ticket, macro, acting_user=agent)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING_CUSTOMER
    assert list(ticket.tags.values_list("name", flat=True)) == ["needs-repro"]
    assert Macro.objects.get(pk=macro.pk).usage_count == 1


@pytest.mark.parametrize(
    ("subject", "body", "code"),
    [
        ("", "body", "subject_required"),
        ("   ", "body", "subject_required"),
        ("x" * 201, "body", "subject_too_long"),
        ("Subject", "", "body_required"),
        ("Subject", "x" * 100_001, "body_too_long"),
    ],
)
def test_bad_ticket_input_is_refused_and_nothing_written(
    acme_customer, subject, body, code
):
    with pytest.raises(TicketError) as caught:
        submit(
            NewTicket(requester=acme_customer, subject=subject, body=body),
            acting_user=acme_customer,
        )
    assert caught.value.code == code
    assert not Ticket.objects.exists()


def test_idempotency_key_returns_the_first_ticket(acme_customer):
    new = NewTicket(
        requester=acme_customer, subject="Webhooks late", body="by 10 minutes"
    )
    first = submit(new, acting_user=acme_customer, idempotency_key="abc")
    again = submit(new, acting_user=acme_customer, idempotency_key="abc")
    assert first.created
    assert not again.created
    assert again.ticket == first.ticket
    assert Ticket.objects.count() == 1


def test_idempotency_key_reused_for_another_request_conflicts(acme_customer):
    submit(
        NewTicket(requester=acme_customer, subject="A", body="a"),
        acting_user=acme_customer,
        idempotency_key="k",
    )
    with pytest.raises(TicketError) as caught:
        submit(
            NewTicket(requester=acme_customer, subject="B", body="b"),
            acting_user=acme_customer,
            idempotency_key="k",
        )
    assert caught.value.status == 409
    assert Ticket.objects.count() == 1


def test_failed_attachment_rolls_back_the_whole_ticket(acme_customer, settings):
    uploads = check_uploads([("trace.log", b"Traceback...\n")])
    settings.MEDIA_ROOT = "/proc/devdesk-not-writable"
    with pytest.raises(OSError, match="devdesk-not-writable"), transaction.atomic():
        submit(
            NewTicket(requester=acme_customer, subject="S", body="B", uploads=uploads),
            acting_user=acme_customer,
        )
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("shot.png", b"not really a png", "attachment_type_mismatch"),
        ("notes.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "attachment_type_mismatch"),
        ("setup.exe", b"MZ\x90\x00", "attachment_type_not_allowed"),
        ("empty.log", b"", "attachment_empty"),
    ],
)
def test_forged_or_unsafe_uploads_are_refused(name, content, code):
    with pytest.raises(TicketError) as caught:
        check_upload(name, content)
    assert caught.value.code == code


def test_oversized_upload_is_refused(settings):
    settings.ATTACHMENT_MAX_MIB = 1
    with pytest.raises(TicketError) as caught:
        check_upload("big.log", b"a" * (1024 * 1024 + 1))
    assert caught.value.code == "attachment_too_large"


def test_real_png_is_accepted():
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
        b"\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00"
        b"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    assert check_upload("shot.png", png).content_type == "image/png"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\temp\\a.log", "a.log"),
        ('<script>"x".log', "scriptx.log"),
        ("", "attachment"),
    ],
)
def test_filenames_are_cleaned(raw, clean):
    assert clean_filename(raw) == clean
