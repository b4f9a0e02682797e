"""The index follows every change to tickets and messages in the same transaction,
including the ones made with queryset ``.update()`` (merge, split), and a full
rebuild gives the same index as the changes made one by one."""

import pytest
from django.db import connection, transaction

from devdesk.search.backends import backend_for
from devdesk.search.services import match_tickets, reindex
from devdesk.tickets.merging import merge_tickets, split_ticket, undo_merge
from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.services import update_ticket
from devdesk.tickets.tests.factories import make_ticket, reply

pytestmark = pytest.mark.django_db


def numbers(text: str) -> set[int]:
    tickets = match_tickets(Ticket.objects.all(), text, include_internal=True)
    return {t.number for t in tickets}


def snapshot() -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        return backend_for(connection).snapshot(cursor)


@pytest.fixture
def ticket(acme_customer):
    return make_ticket(
        acme_customer, subject="Webhook retries", body="Deliveries loop forever."
    )


def test_a_new_ticket_is_found_at_once(ticket):
    assert numbers("webhook") == {ticket.number}
    assert numbers("deliveries") == {ticket.number}


def test_a_reply_and_a_note_are_found_after_they_are_added(ticket, agent):
    reply(ticket, agent, "Please send the request id.")
    reply(ticket, agent, "Looks like the dedupe bug.", kind=Message.Kind.INTERNAL)
    assert numbers("request id") == {ticket.number}
    assert numbers("dedupe") == {ticket.number}


def test_a_new_subject_replaces_the_old_one(ticket, agent):
    update_ticket(ticket, acting_user=agent, subject="Signature mismatch")
    assert numbers("signature") == {ticket.number}
    assert numbers("webhook") == set()


def test_merge_moves_the_source_conversation_to_the_target(acme_customer, agent):
    source = make_ticket(acme_customer, subject="Dup", body="kraken timeout again")
    target = make_ticket(acme_customer, subject="Original", body="first report")
    merge_tickets(source, target, acting_user=agent, notify_source=False)
    assert numbers("kraken") == {target.number}
    assert numbers("dup") == {source.number}  # the source keeps its subject


def test_split_moves_the_chosen_messages_to_the_new_ticket(
    ticket, acme_customer, agent
):
    moved = reply(ticket, acme_customer, "Separate problem: the CLI crashes on start.")
    new = split_ticket(ticket, message_ids=[moved.pk], acting_user=agent)
    assert numbers("cli crashes") == {new.number}
    assert numbers("deliveries") == {ticket.number}


def test_undoing_a_merge_takes_the_conversation_back(acme_customer, agent):
    source = make_ticket(acme_customer, subject="Dup", body="kraken timeout again")
    target = make_ticket(acme_customer, subject="Original", body="first report")
    merge_tickets(source, target, acting_user=agent, notify_source=False)
    undo_merge(source, acting_user=agent)
    assert numbers("kraken") == {source.number}
    assert numbers("first report") == {target.number}


def test_bulk_updates_and_deletes_are_followed(ticket, acme_customer):
    # Queryset writes send no signals; the database triggers still see them.
    other = make_ticket(acme_customer, subject="Other", body="nothing here")
    Message.objects.filter(ticket=ticket).update(body="rewritten with narwhal")
    Message.objects.filter(ticket=other).update(ticket=ticket)
    assert numbers("narwhal") == {ticket.number}
    assert numbers("nothing") == {ticket.number}
    assert numbers("deliveries") == set()
    Message.objects.filter(ticket=ticket).delete()
    assert numbers("narwhal") == set()
    Ticket.objects.filter(pk=other.pk).delete()
    assert other.pk not in {row[0] for row in snapshot()}


def test_a_rolled_back_change_leaves_the_index_as_it_was(ticket, agent):
    before = snapshot()

    def reply_then_fail() -> None:
        with transaction.atomic():
            reply(ticket, agent, "This reply is rolled back: axolotl.")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        reply_then_fail()
    assert snapshot() == before
    assert numbers("axolotl") == set()


def test_a_rebuilt_index_equals_the_one_kept_in_step(acme_customer, agent):
    # given tickets changed in every way the index follows
    source = make_ticket(acme_customer, subject="Dup", body="kraken timeout again")
    target = make_ticket(acme_customer, subject="Original", body="first report")
    reply(target, agent, "A note", kind=Message.Kind.INTERNAL)
    moved = reply(target, acme_customer, "Another problem entirely")
    split_ticket(target, message_ids=[moved.pk], acting_user=agent)
    merge_tickets(source, target, acting_user=agent)
    update_ticket(target, acting_user=agent, subject="Original, renamed")
    make_ticket(acme_customer, subject="Untouched", body="plain")
    kept_in_step = snapshot()
    # when the whole index is rebuilt
    result = reindex()
    # then nothing differs
    assert result.tickets == Ticket.objects.count() == len(kept_in_step)
    assert snapshot() == kept_in_step
    assert numbers("kraken") == {target.number}
