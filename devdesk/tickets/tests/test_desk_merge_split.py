"""Merging, splitting and undoing a merge from the desk."""

import pytest
from django.urls import reverse

from devdesk.tickets.merging import merge_tickets
from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.tests.factories import make_ticket, reply

pytestmark = pytest.mark.django_db


def url(name, ticket):
    return reverse(f"desk:{name}", args=[ticket.number])


@pytest.fixture
def source(acme_customer):
    return make_ticket(acme_customer, subject="Webhooks retry forever")


@pytest.fixture
def target(acme_colleague):
    return make_ticket(acme_colleague, subject="Webhooks delivered twice")


def test_merge_page_shows_the_default_notices_to_edit(login, agent, source, target):
    response = login(agent).get(url("ticket-merge", source), {"target": target.number})
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        f"Your request #{source.number} is the same problem as #{target.number}" in html
    )
    assert (
        f"We merged #{source.number} (Webhooks retry forever) into this ticket" in html
    )
    assert "Webhooks delivered twice" in html


def test_merge_tells_the_customers_chosen_with_the_edited_text(
    login, agent, source, target
):
    response = login(agent).post(
        url("ticket-merge", source),
        {
            "target": target.number,
            "notify": "both",
            "source_notice": "Same bug as the other one, carrying on there.",
            "target_notice": "Your colleague reported this too.",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url("ticket-detail", target)
    source.refresh_from_db()
    assert source.merged_into == target
    assert source.status == Ticket.Status.CLOSED
    bodies = list(target.messages.filter(author=agent).values_list("body", flat=True))
    assert bodies == [
        "Same bug as the other one, carrying on there.",
        "Your colleague reported this too.",
    ]


def test_merge_without_notices_sends_none(login, agent, source, target):
    login(agent).post(
        url("ticket-merge", source), {"target": target.number, "notify": "none"}
    )
    source.refresh_from_db()
    assert source.merged_into == target
    assert not Message.objects.filter(author=agent).exists()


def test_merge_across_organizations_is_refused(login, agent, source, globex_customer):
    other = make_ticket(globex_customer)
    response = login(agent).post(
        url("ticket-merge", source), {"target": other.number, "notify": "source"}
    )
    assert response.status_code == 400
    assert (
        "Tickets of different organizations cannot be merged"
        in response.content.decode()
    )
    source.refresh_from_db()
    assert source.merged_into is None
    assert source.messages.count() == 1


def test_merge_into_unknown_ticket_is_a_form_error(login, agent, source):
    response = login(agent).post(
        url("ticket-merge", source), {"target": 999999, "notify": "source"}
    )
    assert response.status_code == 400
    assert "There is no ticket #999999 you can see." in response.content.decode()


def test_merged_source_points_to_target_and_can_be_undone(login, agent, source, target):
    merge_tickets(source, target, acting_user=agent)
    client = login(agent)
    html = client.get(url("ticket-detail", source)).content.decode()
    assert "This ticket was merged into" in html
    assert f'href="/desk/tickets/{target.number}/"' in html
    assert url("ticket-undo-merge", source) in html
    response = client.post(url("ticket-undo-merge", source))
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.merged_into is None
    assert source.status == Ticket.Status.OPEN
    assert source.messages.filter(body__startswith="After an hour").exists()


def test_target_history_includes_the_merged_tickets_events(
    login, agent, source, target
):
    reply(source, agent, "Looking", kind=Message.Kind.INTERNAL)
    merge_tickets(source, target, acting_user=agent, notify_source=False)
    html = login(agent).get(url("ticket-detail", target)).content.decode()
    assert f"Alex Agent merged #{source.number} into this ticket" in html
    assert f"#{source.number}</a>: Alex Agent added an internal note" in html


def test_undo_merge_of_a_ticket_not_merged_is_refused(login, agent, source):
    response = login(agent).post(url("ticket-undo-merge", source))
    assert response.status_code == 400
    assert "is not merged into another ticket" in response.content.decode()


def test_split_moves_chosen_messages_into_a_new_ticket(
    login, agent, acme_customer, source
):
    second = reply(source, acme_customer, "Also, the dashboard shows 500s.")
    page = login(agent).get(url("ticket-detail", source)).content.decode()
    assert 'form="split-form"' in page
    response = login(agent).post(
        url("ticket-split", source),
        {"message_ids": [second.pk], "subject": "Dashboard 500s"},
    )
    new = Ticket.objects.get(subject="Dashboard 500s")
    assert response.status_code == 302
    assert response["Location"] == url("ticket-detail", new)
    assert list(new.messages.all()) == [second]
    assert new.split_from == source
    html = login(agent).get(url("ticket-detail", new)).content.decode()
    assert f'Split from <a href="/desk/tickets/{source.number}/">' in html


def test_split_of_every_message_is_refused(login, agent, acme_customer, source):
    second = reply(source, acme_customer, "More")
    first = source.messages.first()
    response = login(agent).post(
        url("ticket-split", source), {"message_ids": [first.pk, second.pk]}
    )
    assert response.status_code == 400
    assert (
        "Leave at least one message on the original ticket."
        in response.content.decode()
    )
    assert Ticket.objects.count() == 1


def test_split_of_another_tickets_message_is_refused(login, agent, source, target):
    foreign = target.messages.first()
    response = login(agent).post(
        url("ticket-split", source), {"message_ids": [foreign.pk]}
    )
    assert response.status_code == 400
    assert target.messages.filter(pk=foreign.pk).exists()
