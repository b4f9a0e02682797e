"""Cool-down: bursts fold into one ticket, angry messages and bursts hold automatic
answers, a calm message or the time running out ends it; every step an event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from devdesk.intake.mail.services import receive
from devdesk.intake.models import InboundEmail, Mailbox
from devdesk.intake.services import submit
from devdesk.intake.tests.mail import raw_mail
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.tickets.services import NewTicket, add_message
from devdesk.tickets.tests.factories import ProductFactory, make_ticket
from devdesk.triage import cooldown, sentiment
from devdesk.triage.models import MessageSentiment

pytestmark = pytest.mark.django_db

ANGRY = (
    "THIS IS THE FOURTH TIME I ASK. Your useless support ignored me for three "
    "days!!! Terrible, I am furious!!!"
)
CALM = "Thanks, that explains it. I appreciate the help, all good now."


def kinds(ticket: Ticket) -> list[str]:
    return list(ticket.events.values_list("kind", flat=True))


def request(customer, when, subject="Webhook retries arrive twice", **kw):  # type: ignore[no-untyped-def]
    new = NewTicket(
        requester=customer,
        subject=subject,
        body="It happened again.",
        created_at=when,
        **kw,
    )
    return submit(new, acting_user=customer)


# --- sentiment -------------------------------------------------------------------


def test_an_angry_message_scores_below_the_angry_line(settings):
    assert sentiment.score(ANGRY) <= settings.COOLDOWN_ANGRY_SCORE


def test_a_long_message_is_judged_by_its_opening(settings):
    # An angry opening, then pages of the job's output (10 KB): read in bounded time,
    # and angry all the same.
    output = "The job ran step 4 and wrote the file to the bucket.\n" * 200
    assert sentiment.score(ANGRY + "\n\n" + output) <= settings.COOLDOWN_ANGRY_SCORE


def test_a_calm_bug_report_is_not_angry(settings):
    report = (
        "The request fails with a timeout error and the webhook handler crashes; "
        "the build is broken since the upgrade. Traceback below.\n\n"
        "    ERROR FATAL: connection killed"
    )
    assert sentiment.score(report) > settings.COOLDOWN_ANGRY_SCORE


def test_shouting_scores_lower_than_the_same_words_said_quietly():
    quiet = "why is nobody answering. we are waiting for days."
    assert sentiment.score(quiet.upper() + " !!! ??? !!!") < sentiment.score(quiet)


@hsettings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_every_score_lies_between_minus_one_and_one(text):
    assert -1.0 <= sentiment.score(text) <= 1.0


# --- bursts fold into one ticket -------------------------------------------------


def test_new_requests_within_the_window_fold_into_the_open_ticket(acme_customer):
    # given: a ticket opened a few minutes ago
    start = timezone.now() - timedelta(minutes=20)
    first = request(acme_customer, start)

    # when: the same customer opens two more requests within 30 minutes
    second = request(
        acme_customer, start + timedelta(minutes=5), subject="Still broken"
    )
    third = request(acme_customer, start + timedelta(minutes=9), subject="Hello??")

    # then: one ticket, three messages, each fold an event; the subject is kept
    assert first.created
    assert not second.created
    assert second.folded
    assert third.folded
    assert second.ticket.pk == third.ticket.pk == first.ticket.pk
    ticket = first.ticket
    assert Ticket.objects.filter(requester=acme_customer).count() == 1
    bodies = list(ticket.messages.values_list("body", flat=True))
    assert len(bodies) == 3
    assert bodies[1].startswith("**Still broken**")
    assert kinds(ticket).count(TicketEvent.Kind.BURST_FOLDED) == 2


def test_a_request_after_the_window_opens_its_own_ticket(acme_customer, settings):
    start = timezone.now() - timedelta(hours=2)
    first = request(acme_customer, start)
    later = request(
        acme_customer, start + timedelta(minutes=settings.COOLDOWN_BURST_MINUTES + 1)
    )
    assert later.created
    assert later.ticket.pk != first.ticket.pk


def test_a_request_about_another_product_is_not_folded(acme_customer):
    start = timezone.now() - timedelta(minutes=10)
    first = request(acme_customer, start, product=ProductFactory(name="Go SDK"))
    other = request(
        acme_customer, start + timedelta(minutes=2), product=ProductFactory(name="CLI")
    )
    assert other.created
    assert other.ticket.pk != first.ticket.pk


def test_a_ticket_logged_by_an_agent_is_never_folded(acme_customer, agent):
    start = timezone.now() - timedelta(minutes=10)
    first = request(acme_customer, start)
    logged = submit(
        NewTicket(
            requester=acme_customer,
            subject="Met at the conference",
            body="Asked about payouts.",
            channel=Ticket.Channel.AGENT,
            created_at=start + timedelta(minutes=1),
        ),
        acting_user=agent,
    )
    assert logged.created
    assert logged.ticket.pk != first.ticket.pk


def test_another_customer_of_the_same_organization_is_not_folded(
    acme_customer, acme_colleague
):
    start = timezone.now() - timedelta(minutes=10)
    first = request(acme_customer, start)
    colleague = request(acme_colleague, start + timedelta(minutes=1))
    assert colleague.created
    assert colleague.ticket.pk != first.ticket.pk


# --- what puts a ticket in cool-down and what ends it ----------------------------


def test_a_burst_puts_the_ticket_in_cool_down(
    acme_customer, settings, django_capture_on_commit_callbacks
):
    settings.COOLDOWN_BURST_MESSAGES = 3
    start = timezone.now() - timedelta(minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = request(acme_customer, start).ticket
        request(acme_customer, start + timedelta(minutes=1))
    ticket.refresh_from_db()
    assert not ticket.in_cooldown

    with django_capture_on_commit_callbacks(execute=True):
        request(acme_customer, start + timedelta(minutes=2))

    ticket.refresh_from_db()
    assert ticket.in_cooldown
    assert ticket.cooldown_reason.startswith("burst: 3 messages in 30 minutes")
    assert ticket.cooldown_until == start + timedelta(
        minutes=2 + settings.COOLDOWN_MINUTES
    )
    assert TicketEvent.Kind.COOLDOWN_STARTED in kinds(ticket)


def test_an_angry_message_holds_and_a_calm_one_releases(
    acme_customer, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme_customer)
    with django_capture_on_commit_callbacks(execute=True):
        add_message(ticket, author=acme_customer, body=ANGRY)
    ticket.refresh_from_db()
    assert ticket.in_cooldown
    assert "angry message" in ticket.cooldown_reason
    assert MessageSentiment.objects.get(message__body=ANGRY).is_angry

    with django_capture_on_commit_callbacks(execute=True):
        add_message(ticket, author=acme_customer, body=CALM)

    ticket.refresh_from_db()
    assert not ticket.in_cooldown
    assert ticket.cooldown_reason == ""
    ended = ticket.events.get(kind=TicketEvent.Kind.COOLDOWN_ENDED)
    assert ended.data["reason"].startswith("calm message")
    assert ended.data["early"] is True


def test_an_agents_angry_words_hold_nothing(
    acme_customer, agent, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme_customer)
    with django_capture_on_commit_callbacks(execute=True):
        add_message(ticket, author=agent, body=ANGRY)
    ticket.refresh_from_db()
    assert not ticket.in_cooldown


def test_an_old_angry_message_imported_late_holds_nothing(acme_customer, settings):
    ticket = make_ticket(acme_customer)
    message = add_message(ticket, author=acme_customer, body=ANGRY)
    later = message.created_at + timedelta(minutes=settings.COOLDOWN_MINUTES + 1)
    assert cooldown.note_message(message, now=later) == ""
    ticket.refresh_from_db()
    assert not ticket.in_cooldown


def test_cool_down_ends_when_its_time_is_up(acme_customer):
    ticket = make_ticket(acme_customer)
    now = timezone.now()
    cooldown.hold(ticket, reason="test", until=now + timedelta(hours=1), now=now)

    assert cooldown.release_expired(now=now + timedelta(minutes=59)) == 0
    assert cooldown.release_expired(now=now + timedelta(hours=1)) == 1
    assert cooldown.release_expired(now=now + timedelta(hours=2)) == 0  # twice: once
    ticket.refresh_from_db()
    assert ticket.cooldown_until is None
    ended = ticket.events.filter(kind=TicketEvent.Kind.COOLDOWN_ENDED)
    assert [e.data["reason"] for e in ended] == ["time is up"]


def test_holding_again_keeps_the_later_end(acme_customer):
    ticket = make_ticket(acme_customer)
    now = timezone.now()
    cooldown.hold(ticket, reason="burst", until=now + timedelta(hours=3), now=now)
    cooldown.hold(ticket, reason="angry", until=now + timedelta(hours=1), now=now)
    ticket.refresh_from_db()
    assert ticket.cooldown_until == now + timedelta(hours=3)
    assert ticket.cooldown_reason == "angry"
    started = ticket.events.filter(kind=TicketEvent.Kind.COOLDOWN_STARTED)
    assert [e.data["extended"] for e in started] == [False, True]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"reason": "  "}, "reason_required"),
        ({"until_minutes": -5}, "cooldown_in_past"),
        ({"status": Ticket.Status.SOLVED}, "ticket_resolved"),
    ],
)
def test_bad_holds_are_refused_and_change_nothing(acme_customer, change, code):
    ticket = make_ticket(acme_customer)
    if "status" in change:
        Ticket.objects.filter(pk=ticket.pk).update(status=change["status"])
    now = timezone.now()
    until = now + timedelta(minutes=change.get("until_minutes", 60))
    with pytest.raises(TicketError) as refused:
        cooldown.hold(ticket, reason=change.get("reason", "x"), until=until, now=now)
    assert refused.value.code == code
    ticket.refresh_from_db()
    assert ticket.cooldown_until is None
    assert TicketEvent.Kind.COOLDOWN_STARTED not in kinds(ticket)


def test_a_customer_cannot_hold_or_release(acme_customer):
    ticket = make_ticket(acme_customer)
    with pytest.raises(TicketError) as refused:
        cooldown.hold(ticket, reason="x", acting_user=acme_customer)
    assert refused.value.status == 403
    cooldown.hold(ticket, reason="x")
    with pytest.raises(TicketError):
        cooldown.release(ticket, reason="x", acting_user=acme_customer)
    ticket.refresh_from_db()
    assert ticket.in_cooldown


# --- what holds: the e-mail acknowledgement --------------------------------------


@pytest.fixture
def mailbox(db) -> Mailbox:  # type: ignore[no-untyped-def]
    return Mailbox.objects.create(
        address="support@skyforge.test", name="Skyforge Support", is_default=True
    )


def deliver(raw: bytes) -> InboundEmail:
    inbound = receive(
        raw, source=InboundEmail.Source.LMTP, recipients=["support@skyforge.test"]
    )
    inbound.refresh_from_db()
    return inbound


def test_an_angry_new_mail_gets_no_automatic_acknowledgement(
    mailbox, acme_customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        inbound = deliver(raw_mail(sender=acme_customer.email, body=ANGRY))
    inbound.ticket.refresh_from_db()
    assert inbound.ticket.in_cooldown
    assert mail.outbox == []


def test_a_calm_new_mail_is_still_acknowledged(
    mailbox, acme_customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        deliver(raw_mail(sender=acme_customer.email))
    assert len(mail.outbox) == 1


def test_a_burst_by_mail_is_one_ticket_and_acknowledged_once(
    mailbox, acme_customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(raw_mail(sender=acme_customer.email, subject="Payouts late"))
        second = deliver(raw_mail(sender=acme_customer.email, subject="Payouts??"))
    assert second.ticket_id == first.ticket_id
    assert second.outcome == InboundEmail.Outcome.REPLY
    assert len(mail.outbox) == 1
