"""``submit``: one ticket per idempotency key, whatever the channel."""

from pathlib import Path

import pytest

from devdesk.intake.models import IdempotencyKey
from devdesk.intake.services import submit
from devdesk.tickets.attachments import check_upload
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Attachment, Ticket
from devdesk.tickets.services import NewTicket

pytestmark = pytest.mark.django_db


def _new(requester, **fields):
    return NewTicket(
        requester=requester,
        subject=fields.pop("subject", "Webhook retries arrive twice"),
        body=fields.pop("body", "Our endpoint answered 200 but the event came again."),
        **fields,
    )


def test_a_retry_gets_the_first_ticket_and_opens_none(acme_customer):
    first = submit(_new(acme_customer), acting_user=acme_customer, idempotency_key="k")

    retry = submit(_new(acme_customer), acting_user=acme_customer, idempotency_key="k")

    assert (first.created, retry.created) == (True, False)
    assert retry.ticket == first.ticket
    assert Ticket.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


def test_a_refused_retry_takes_no_ticket_number(acme_customer):
    first = submit(_new(acme_customer), acting_user=acme_customer, idempotency_key="k")
    submit(_new(acme_customer), acting_user=acme_customer, idempotency_key="k")

    later = submit(_new(acme_customer, subject="Another problem"), acting_user=None)

    assert later.ticket.number == first.ticket.number + 1


def test_a_retry_with_files_stores_them_once(acme_customer, settings):
    log = check_upload("trace.log", b"GET /v1/things 401\n")
    new = _new(acme_customer, uploads=[log])

    first = submit(new, acting_user=acme_customer, idempotency_key="k")
    retry = submit(new, acting_user=acme_customer, idempotency_key="k")

    assert retry.ticket == first.ticket
    assert Attachment.objects.count() == 1
    stored = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert len(stored) == 1


def test_the_same_key_for_another_request_is_refused(acme_customer):
    submit(_new(acme_customer), acting_user=acme_customer, idempotency_key="k")

    with pytest.raises(TicketError) as caught:
        submit(
            _new(acme_customer, subject="Something else"),
            acting_user=acme_customer,
            idempotency_key="k",
        )

    assert (caught.value.code, caught.value.status) == ("idempotency_conflict", 409)
    assert Ticket.objects.count() == 1


def test_keys_belong_to_whoever_sent_them(acme_customer, acme_colleague):
    mine = submit(_new(acme_customer), acting_user=acme_customer, idempotency_key="k")

    theirs = submit(
        _new(acme_colleague), acting_user=acme_colleague, idempotency_key="k"
    )

    assert theirs.created
    assert theirs.ticket != mine.ticket
