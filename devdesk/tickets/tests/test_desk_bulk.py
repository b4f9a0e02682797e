"""Bulk actions in the inbox: tick tickets, apply one change to all of them.

Each ticket changes on its own, through the same services as the ticket page (so
with the same events); one a rule refuses is reported in the flash message and the
others still change. Tickets the agent cannot see are "not found", never revealed.
"""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from devdesk.accounts.tests.factories import TeamFactory, UserFactory
from devdesk.tickets import bulk
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.tickets.services import set_tags
from devdesk.tickets.tests.factories import make_ticket, reply

pytestmark = pytest.mark.django_db

Status = Ticket.Status
Kind = TicketEvent.Kind
BULK = reverse("desk:inbox-bulk")
INBOX = reverse("desk:inbox")


def post(client, numbers, *, back="view=all", **changes):
    """Tick ``numbers`` in the inbox at ``?back`` and apply ``changes``."""
    data = {f"bulk-{name}": value for name, value in changes.items()}
    data["bulk-tickets"] = [str(n) for n in numbers]
    data["bulk-back"] = back
    return client.post(BULK, data)


def flash(response):
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def events(*tickets):
    return TicketEvent.objects.filter(ticket__in=tickets).count()


@pytest.fixture
def three(acme_customer, agent):
    """Three new tickets with a public reply each (so they may be solved)."""
    tickets = [make_ticket(acme_customer, subject=f"Ticket {i}") for i in range(3)]
    for ticket in tickets:
        reply(ticket, agent)
    return tickets


# --- the happy path ------------------------------------------------------------


def test_agent_changes_every_ticked_ticket_with_one_event_per_change(
    login, agent, three
):
    # given three tickets, one already tagged
    support = TeamFactory(name="Support EU")
    set_tags(three[0], ["sdk"], acting_user=agent)
    numbers = [t.number for t in three]

    # when the agent takes them, raises them, routes them, tags them and pends them
    response = post(
        login(agent),
        numbers,
        assignee="me",
        priority="3",
        team=str(support.pk),
        add_tags="billing, Refund",
        status=Status.PENDING_CUSTOMER,
    )

    # then each ticket has every change, with the events the ticket page writes
    assert response.status_code == 302
    assert flash(response) == [("success", "3 tickets updated.")]
    for ticket in three:
        ticket.refresh_from_db()
        assert ticket.assignee == agent
        assert ticket.priority == 3
        assert ticket.team == support
        assert ticket.status == Status.PENDING_CUSTOMER
        kinds = list(
            ticket.events.filter(actor=agent)
            .exclude(kind=Kind.MESSAGE_ADDED)
            .values_list("kind", flat=True)
            .order_by("pk")
        )
        assert kinds[-5:] == [
            Kind.PRIORITY_CHANGED,
            Kind.ASSIGNEE_CHANGED,
            Kind.TEAM_CHANGED,
            Kind.TAGS_CHANGED,
            Kind.STATUS_CHANGED,
        ]
    assert sorted(three[0].tags.values_list("name", flat=True)) == [
        "billing",
        "refund",
        "sdk",
    ]
    assert three[0].events.filter(kind=Kind.TAGS_CHANGED).last().data == {
        "added": ["billing", "refund"],
        "removed": [],
    }


def test_tags_are_removed_and_nobody_and_no_team_clear(login, agent, three):
    team = TeamFactory()
    for ticket in three[:2]:
        set_tags(ticket, ["sdk", "billing"], acting_user=agent)
        Ticket.objects.filter(pk=ticket.pk).update(assignee=agent, team=team)

    response = post(
        login(agent),
        [three[0].number, three[1].number],
        assignee="none",
        team="none",
        remove_tags="billing",
    )

    assert flash(response) == [("success", "2 tickets updated.")]
    for ticket in three[:2]:
        ticket.refresh_from_db()
        assert (ticket.assignee, ticket.team) == (None, None)
        assert list(ticket.tags.values_list("name", flat=True)) == ["sdk"]
    assert three[2].events.filter(kind=Kind.TAGS_CHANGED).count() == 0


def test_redirects_back_to_the_same_inbox_page(login, agent, three):
    back = "view=all&status=new&sort=priority&cursor=abc"
    response = post(login(agent), [three[0].number], back=back, priority="4")
    assert response.status_code == 302
    assert response["Location"] == f"{INBOX}?{back}"


def test_the_way_back_never_leaves_the_inbox(login, agent, three):
    response = post(
        login(agent), [three[0].number], back="//evil.example/x", priority="4"
    )
    assert response["Location"].startswith(f"{INBOX}?")
    assert "//evil.example" not in response["Location"].split("?")[0]


def test_tickets_already_as_chosen_are_counted_apart(login, agent, three):
    Ticket.objects.filter(pk=three[0].pk).update(assignee=agent)
    before = events(three[0])

    response = post(login(agent), [t.number for t in three[:2]], assignee="me")

    assert flash(response) == [("success", "1 ticket updated; 1 already as chosen.")]
    assert events(three[0]) == before


def test_all_on_this_page_works_without_javascript(login, agent, three):
    # No row ticked: the "All on this page" box and the page's numbers decide.
    response = login(agent).post(
        BULK,
        {
            "bulk-all_on_page": "on",
            "bulk-page": [str(t.number) for t in three[:2]],
            "bulk-priority": "1",
            "bulk-back": "view=all",
        },
    )
    assert flash(response) == [("success", "2 tickets updated.")]
    priorities = [Ticket.objects.get(pk=t.pk).priority for t in three]
    assert priorities == [1, 1, Ticket.Priority.NORMAL]


# --- refusals are per ticket -----------------------------------------------------


def test_a_refused_ticket_is_reported_and_keeps_all_its_values(
    login, agent, acme_customer, three
):
    # given a ticket nobody has answered: it cannot be solved
    unanswered = make_ticket(acme_customer, subject="Unanswered")
    before = events(unanswered)

    # when the agent raises and solves it together with an answered one
    response = post(
        login(agent),
        [three[0].number, unanswered.number],
        priority="4",
        status=Status.SOLVED,
    )

    # then the answered one is solved and the other keeps everything: status last,
    # and one transaction per ticket
    assert response.status_code == 302
    [(level, message)] = flash(response)
    assert level == "warning"
    assert message == (
        f"1 ticket updated; 1 not changed: #{unanswered.number}: Send the customer a "
        "public reply before solving: everyone gets an answer."
    )
    three[0].refresh_from_db()
    assert (three[0].status, three[0].priority) == (Status.SOLVED, 4)
    unanswered.refresh_from_db()
    assert (unanswered.status, unanswered.priority) == (Status.NEW, 2)
    assert events(unanswered) == before


def test_when_every_ticket_is_refused_the_message_is_an_error(
    login, agent, acme_customer
):
    closed = make_ticket(acme_customer, status=Status.CLOSED)
    response = post(login(agent), [closed.number], status=Status.OPEN)
    assert flash(response) == [
        (
            "error",
            f"No tickets updated; 1 not changed: #{closed.number}: A closed ticket "
            "cannot become open.",
        )
    ]


def test_tickets_refused_for_one_reason_share_it_and_long_lists_are_cut(
    login, agent, acme_customer, three
):
    unanswered = make_ticket(acme_customer, subject="Unanswered")
    missing = [900_001 + i for i in range(10)]

    response = post(login(agent), [unanswered.number, *missing], status="solved")

    [(_, message)] = flash(response)
    assert message == (
        f"No tickets updated; 11 not changed: #{unanswered.number}: Send the "
        "customer a public reply before solving: everyone gets an answer; "
        "#900001, #900002, #900003, #900004, #900005, #900006, #900007, #900008 "
        "and 2 more: No such ticket, or you do not have access to it."
    )


def test_assignee_who_cannot_see_a_ticket_is_refused_for_it(
    login, agent, partner_agent, polyglot, three
):
    Ticket.objects.filter(pk=three[0].pk).update(partner_organization=polyglot)

    response = post(
        login(agent),
        [three[0].number, three[1].number],
        assignee=str(partner_agent.pk),
    )

    [(_, message)] = flash(response)
    assert message == (
        f"1 ticket updated; 1 not changed: #{three[1].number}: Pia Partner cannot "
        "see this ticket."
    )
    assert Ticket.objects.get(pk=three[0].pk).assignee == partner_agent
    assert Ticket.objects.get(pk=three[1].pk).assignee is None


# --- what others may not see or do ----------------------------------------------


def test_partner_agent_cannot_reach_other_tickets_through_bulk(
    login, partner_agent, polyglot, acme_customer, globex_customer, agent
):
    # given one ticket routed to the partner and one that is not
    theirs = make_ticket(globex_customer, partner_organization=polyglot)
    reply(theirs, agent)
    hidden = make_ticket(acme_customer, subject="Acme's secret")
    before = events(hidden)

    # when the partner agent names both, and a number that does not exist
    response = post(
        login(partner_agent),
        [theirs.number, hidden.number, 999_999],
        status=Status.PENDING_CUSTOMER,
        add_tags="partner",
    )

    # then only theirs changes; the hidden one reads exactly like a missing one
    [(_, message)] = flash(response)
    assert message == (
        f"1 ticket updated; 2 not changed: #{hidden.number}, #999999: No such "
        "ticket, or you do not have access to it."
    )
    assert "Acme" not in message
    theirs.refresh_from_db()
    assert theirs.status == Status.PENDING_CUSTOMER
    hidden.refresh_from_db()
    assert (hidden.status, list(hidden.tags.all())) == (Status.NEW, [])
    assert events(hidden) == before


def test_partner_agent_may_not_assign_and_nothing_is_written(
    login, partner_agent, polyglot, globex_customer
):
    theirs = make_ticket(globex_customer, partner_organization=polyglot)
    before = events(theirs)

    response = post(
        login(partner_agent), [theirs.number], assignee="me", status=Status.OPEN
    )

    assert response.status_code == 403
    assert "You cannot change the assignee of these tickets." in response.text
    theirs.refresh_from_db()
    assert (theirs.assignee, theirs.status) == (None, Status.NEW)
    assert events(theirs) == before


def _ticket_for(name, matrix_tickets):
    return {
        "engineer": matrix_tickets["acme_escalated"],
        "partner_agent": matrix_tickets["globex_partnered"],
    }.get(name, matrix_tickets["acme_plain"])


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin_user", 302),
        ("agent", 302),
        ("partner_agent", 302),
        ("engineer", 403),  # sees the ticket, may change none of it
        ("acme_customer", 404),  # the desk does not exist for customers
        ("anonymous", 302),  # to the sign-in page
    ],
)
def test_who_may_change_tickets_in_bulk(request, login, matrix_tickets, who, status):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    ticket = _ticket_for(who, matrix_tickets)
    before = (ticket.status, events(ticket))

    response = post(login(user), [ticket.number], status=Status.PENDING_CUSTOMER)

    assert response.status_code == status
    ticket.refresh_from_db()
    if who == "anonymous":
        assert response["Location"].startswith(reverse("accounts:login"))
    if status == 302 and user is not None:
        assert ticket.status == Status.PENDING_CUSTOMER
    else:
        assert (ticket.status, events(ticket)) == before


def test_bulk_only_accepts_posts(login, agent):
    assert login(agent).get(BULK).status_code == 405


# --- bad input: 400, the inbox again, nothing written -----------------------------


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        (
            {"assignee": "999999"},
            "Assign to: No one called &#x27;999999&#x27; can be chosen here.",
        ),
        ({"team": "999999"}, "Team: Select a valid choice."),
        ({"status": "on_fire"}, "Status: Select a valid choice."),
        ({"priority": "9"}, "Priority: Select a valid choice."),
        ({"add_tags": "no spaces?"}, "may only hold letters, digits, - and _."),
        (
            {"add_tags": "sdk", "remove_tags": "SDK"},
            "A tag cannot be both added and removed: sdk.",
        ),
        ({}, "Choose a change to apply to the ticked tickets."),
        ({"tickets_override": ["12x"], "priority": "4"}, "&#x27;12x&#x27; is not a"),
        (
            {"tickets_override": [], "priority": "4"},
            "Tick the tickets to change first.",
        ),
    ],
)
def test_bad_input_shows_the_inbox_again_with_the_reason(
    login, agent, three, changes, says
):
    numbers = changes.pop("tickets_override", [t.number for t in three])
    before = events(*three)

    response = post(login(agent), numbers, **changes)

    assert response.status_code == 400
    assert says in response.text
    assert response.context["page"].items  # the inbox, with the bar to fix it
    assert events(*three) == before
    assert [
        t.priority for t in Ticket.objects.filter(pk__in=[t.pk for t in three])
    ] == [Ticket.Priority.NORMAL] * 3


def test_the_inbox_shown_again_keeps_the_ticks_and_the_page(login, agent, three):
    response = post(
        login(agent),
        [three[1].number],
        back="view=all&q=Ticket+1",
        status="on_fire",
    )
    html = response.text
    assert response.status_code == 400
    assert [t.number for t in response.context["page"].items] == [three[1].number]
    assert (
        f'value="{three[1].number}" aria-label="Tick #{three[1].number}" checked'
        in html
    )
    assert 'name="bulk-back" value="view=all&amp;q=Ticket+1"' in html


def test_more_tickets_than_the_cap_are_refused_whole(login, agent, three):
    numbers = [t.number for t in three] + list(range(800_000, 800_000 + 98))
    assert len(numbers) == bulk.MAX_TICKETS + 1

    response = post(login(agent), numbers, priority="4")

    assert response.status_code == 400
    assert "Tick at most 100 tickets at a time, not 101." in response.text
    assert not Ticket.objects.filter(priority=4).exists()


def test_the_service_refuses_more_than_the_cap_too(agent, three):
    numbers = [t.number for t in three] + list(range(800_000, 800_000 + 98))
    with pytest.raises(TicketError) as refused:
        bulk.bulk_update(
            numbers, acting_user=agent, changes=bulk.BulkChanges(priority=4)
        )
    assert refused.value.code == "too_many_tickets"
    assert not Ticket.objects.filter(priority=4).exists()


def test_a_customer_as_assignee_is_refused_by_the_service(agent, acme_customer, three):
    with pytest.raises(TicketError) as refused:
        bulk.bulk_update(
            [three[0].number],
            acting_user=agent,
            changes=bulk.BulkChanges(assignee=acme_customer),
        )
    assert refused.value.code == "invalid_assignee"
    assert Ticket.objects.get(pk=three[0].pk).assignee is None


# --- cost -----------------------------------------------------------------------


def test_query_count_grows_only_with_what_each_ticket_needs(
    login, agent, acme_customer, django_assert_max_num_queries
):
    # given ten answered tickets, each with a tag
    tickets = [make_ticket(acme_customer, subject=f"T{i}") for i in range(10)]
    for ticket in tickets:
        reply(ticket, agent)
        set_tags(ticket, ["sdk"], acting_user=agent)
    client = login(agent)
    team = TeamFactory()

    # when every property changes on all ten at once
    # then the queries are a fixed few (session, user, choices, the tickets, what
    # the assignee sees) plus what each ticket needs: its locked read and tag list,
    # and inside the services an event and save per change, tags, the reply check
    # and savepoints (24 in all); nothing on top of that per ticket
    with django_assert_max_num_queries(8 + 10 * 25):
        response = post(
            client,
            [t.number for t in tickets],
            assignee="me",
            priority="3",
            team=str(team.pk),
            add_tags="billing",
            remove_tags="sdk",
            status=Status.SOLVED,
        )
    assert flash(response) == [("success", "10 tickets updated.")]


# --- the inbox ------------------------------------------------------------------


def test_inbox_rows_have_checkboxes_and_the_bar_offers_every_change(
    login, agent, three
):
    html = login(agent).get(INBOX, {"view": "all"}).text
    for ticket in three:
        assert (
            f'<input type="checkbox" name="bulk-tickets" value="{ticket.number}"'
            in html
        )
    assert 'name="bulk-all_on_page"' in html
    assert f'action="{BULK}"' in html
    for name in ("assignee", "status", "priority", "team", "add_tags", "remove_tags"):
        assert f'name="bulk-{name}"' in html
    assert "<kbd>x</kbd> to tick" in html


def test_partner_agent_bar_offers_only_status_and_tags(
    login, partner_agent, polyglot, globex_customer
):
    make_ticket(globex_customer, partner_organization=polyglot)
    html = login(partner_agent).get(INBOX, {"view": "all"}).text
    assert 'name="bulk-status"' in html
    assert 'name="bulk-add_tags"' in html
    assert 'name="bulk-assignee"' not in html
    assert 'name="bulk-team"' not in html


def test_engineer_inbox_has_no_bulk_actions(
    login, agent, engineer, engineering, matrix_tickets
):
    html = login(engineer).get(INBOX, {"view": "all"}).text
    assert matrix_tickets["acme_escalated"].subject in html
    assert "bulk-tickets" not in html
    assert 'id="bulk"' not in html


def test_every_worker_but_no_customer_can_be_chosen_as_assignee(
    login, agent, other_agent, acme_customer, three
):
    bystander = UserFactory(
        name="Zed Customer", organization=acme_customer.organization
    )
    client = login(agent)
    html = client.get(INBOX, {"view": "all"}).text
    assert "Sam Second" not in html  # a box with suggestions, not a list of everyone
    suggested = client.get(
        reverse("desk:people-suggest"),
        {"scope": "workers", "list": "bulk-people", "box": "q", "q": "e"},
    ).text
    assert '<option value="sam@skyforge.test">Sam Second</option>' in suggested
    assert "Zed Customer" not in suggested
    assert "Carol Acme" not in suggested
    refused = post(client, [three[0].number], assignee=bystander.email)
    assert refused.status_code == 400
    assert "No one called" in refused.text
    moved = post(client, [three[0].number], assignee="Sam Second")
    assert moved.status_code == 302
    three[0].refresh_from_db()
    assert three[0].assignee == other_agent
