"""POST /api/tickets/bulk: one change to many tickets, refusals listed per ticket.

Tickets the caller cannot see are "not found" exactly like missing ones; a request
the caller may not make at all, or cannot be understood, changes nothing.
"""

import pytest

from devdesk.accounts.services import create_api_token
from devdesk.accounts.tests.factories import TeamFactory
from devdesk.tickets import bulk
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.tickets.services import set_tags
from devdesk.tickets.tests.factories import make_ticket, reply

pytestmark = pytest.mark.django_db

BULK = "/api/tickets/bulk"
Status = Ticket.Status
Kind = TicketEvent.Kind
NOT_FOUND = "No such ticket, or you do not have access to it."


def numbers(*tickets):
    return [t.number for t in tickets]


def events():
    return TicketEvent.objects.count()


@pytest.fixture
def answered(acme_customer, agent):
    tickets = [make_ticket(acme_customer, subject=f"Ticket {i}") for i in range(3)]
    for ticket in tickets:
        reply(ticket, agent)
    return tickets


def test_agent_changes_every_ticket_with_the_usual_events(api, agent, answered):
    team = TeamFactory(name="Support EU")
    set_tags(answered[0], ["sdk", "legacy"], acting_user=agent)
    last_event = TicketEvent.objects.latest("pk").pk

    response = api(
        "POST",
        BULK,
        as_=agent,
        json={
            "numbers": numbers(*answered),
            "changes": {
                "status": "pending_customer",
                "priority": 4,
                "assignee": agent.pk,
                "team": team.pk,
                "add_tags": ["Billing"],
                "remove_tags": ["legacy"],
            },
        },
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "updated": numbers(*answered),
        "unchanged": [],
        "refused": [],
    }
    for ticket in answered:
        ticket.refresh_from_db()
        assert (ticket.status, ticket.priority) == (Status.PENDING_CUSTOMER, 4)
        assert (ticket.assignee, ticket.team) == (agent, team)
        new_events = ticket.events.filter(pk__gt=last_event, actor=agent)
        assert sorted(new_events.values_list("kind", flat=True)) == sorted(
            [
                Kind.STATUS_CHANGED,
                Kind.PRIORITY_CHANGED,
                Kind.ASSIGNEE_CHANGED,
                Kind.TEAM_CHANGED,
                Kind.TAGS_CHANGED,
            ]
        )
    assert sorted(answered[0].tags.values_list("name", flat=True)) == [
        "billing",
        "sdk",
    ]


def test_null_clears_and_a_left_out_field_is_kept(api, agent, other_agent, answered):
    team = TeamFactory()
    Ticket.objects.filter(pk=answered[0].pk).update(assignee=other_agent, team=team)

    response = api(
        "POST",
        BULK,
        as_=agent,
        json={"numbers": numbers(answered[0]), "changes": {"assignee": None}},
    )

    assert response.json()["updated"] == numbers(answered[0])
    answered[0].refresh_from_db()
    assert (answered[0].assignee, answered[0].team) == (None, team)


def test_refusals_are_listed_with_their_codes_and_the_rest_changes(
    api, agent, acme_customer, answered
):
    # given one ticket nobody answered and one that is closed
    unanswered = make_ticket(acme_customer)
    closed = make_ticket(acme_customer, status=Status.CLOSED)
    Ticket.objects.filter(pk=answered[1].pk).update(priority=3)
    untouched = {t.pk: t.events.count() for t in (unanswered, closed)}

    # when the agent solves them all, raising their priority
    response = api(
        "POST",
        BULK,
        as_=agent,
        json={
            "numbers": [*numbers(closed, unanswered, *answered), 999_999],
            "changes": {"status": "solved", "priority": 3},
        },
    )

    # then each refusal is listed, and refused tickets keep every value
    assert response.status_code == 200
    body = response.json()
    assert body["updated"] == numbers(*answered)
    assert body["refused"] == [
        {
            "number": unanswered.number,
            "code": "reply_required",
            "message": "Send the customer a public reply before solving: everyone "
            "gets an answer.",
        },
        {
            "number": closed.number,
            "code": "invalid_transition",
            "message": "A closed ticket cannot become solved.",
        },
        {"number": 999_999, "code": "not_found", "message": NOT_FOUND},
    ]
    for ticket in (unanswered, closed):
        ticket.refresh_from_db()
        assert ticket.priority == Ticket.Priority.NORMAL
        assert ticket.events.count() == untouched[ticket.pk]


def test_already_as_asked_is_unchanged_and_writes_nothing(api, agent, answered):
    Ticket.objects.filter(pk=answered[0].pk).update(priority=4)
    before = answered[0].events.count()

    response = api(
        "POST",
        BULK,
        as_=agent,
        json={"numbers": numbers(*answered[:2]), "changes": {"priority": 4}},
    )

    assert response.json() == {
        "updated": numbers(answered[1]),
        "unchanged": numbers(answered[0]),
        "refused": [],
    }
    assert answered[0].events.count() == before


def test_partner_agent_gets_not_found_for_every_ticket_not_routed_to_them(
    api, partner_agent, polyglot, agent, acme_customer, globex_customer
):
    theirs = make_ticket(globex_customer, partner_organization=polyglot)
    reply(theirs, agent)
    hidden = make_ticket(acme_customer, subject="Acme's secret")
    before = hidden.events.count()

    response = api(
        "POST",
        BULK,
        as_=partner_agent,
        json={
            "numbers": [theirs.number, hidden.number, 999_999],
            "changes": {"status": "pending_customer", "add_tags": ["nordic"]},
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["updated"] == [theirs.number]
    assert body["refused"] == [
        {"number": hidden.number, "code": "not_found", "message": NOT_FOUND},
        {"number": 999_999, "code": "not_found", "message": NOT_FOUND},
    ]
    hidden.refresh_from_db()
    assert (hidden.status, hidden.tags.count()) == (Status.NEW, 0)
    assert hidden.events.count() == before


@pytest.mark.parametrize(
    ("who", "which", "changes", "status", "code"),
    [
        # sees the ticket, may change nothing on it
        ("engineer", "acme_escalated", {"status": "open"}, 403, "not_allowed"),
        ("engineer", "acme_escalated", {"add_tags": ["x"]}, 403, "not_allowed"),
        # may change status and tags of the tickets routed to them, not the rest
        ("partner_agent", "globex_partnered", {"priority": 4}, 403, "not_allowed"),
        ("acme_customer", "acme_plain", {"status": "solved"}, 403, "not_allowed"),
        ("globex_customer", "acme_plain", {"priority": 4}, 403, "not_allowed"),
        ("acme_customer", "acme_plain", {"assignee": 1}, 403, "not_allowed"),
        (None, "acme_plain", {"priority": 4}, 401, "unauthenticated"),
    ],
)
def test_who_may_not_change_tickets_in_bulk(
    request, api, matrix_tickets, who, which, changes, status, code
):
    user = request.getfixturevalue(who) if who else None
    ticket = matrix_tickets[which]
    before = events()

    response = api(
        "POST",
        BULK,
        as_=user,
        json={"numbers": [ticket.number], "changes": changes},
    )

    assert response.status_code == status
    assert response.json()["code"] == code
    assert events() == before


def test_the_cap_is_the_services(api, agent, answered):
    allowed = numbers(*answered) + list(range(800_000, 800_000 + 97))
    assert len(allowed) == bulk.MAX_TICKETS

    response = api(
        "POST", BULK, as_=agent, json={"numbers": allowed, "changes": {"priority": 1}}
    )
    assert response.status_code == 200
    assert len(response.json()["refused"]) == 97

    too_many = [*allowed, 900_000]
    response = api(
        "POST", BULK, as_=agent, json={"numbers": too_many, "changes": {"priority": 4}}
    )
    assert response.status_code == 422
    assert "numbers: List should have at most 100 items" in response.json()["message"]
    assert not Ticket.objects.filter(priority=4).exists()


@pytest.mark.parametrize(
    ("payload", "status", "code", "says"),
    [
        ({"changes": {"status": "on_fire"}}, 422, "invalid_input", "changes.status"),
        ({"changes": {"status": None}}, 422, "invalid_input", "may not be null"),
        ({"changes": {"priority": 9}}, 422, "invalid_input", "changes.priority"),
        ({"changes": {"assignee": 999_999}}, 422, "invalid_assignee", "999999"),
        ({"changes": {"team": 999_999}}, 422, "invalid_team", "999999"),
        ({"changes": {"assignee_id": 1}}, 422, "invalid_input", "assignee_id"),
        ({"changes": {"add_tags": ["no spaces?"]}}, 400, "invalid_tag", "letters"),
        (
            {"changes": {"add_tags": ["sdk"], "remove_tags": ["SDK"]}},
            400,
            "invalid_tags",
            "both added and removed: sdk",
        ),
        ({"changes": {}}, 400, "nothing_to_change", "Choose a change"),
        ({"numbers": [], "changes": {"priority": 4}}, 422, "invalid_input", "numbers"),
        ({"numbers": [0], "changes": {"priority": 4}}, 422, "invalid_input", "numbers"),
        (
            {"numbers": ["7x"], "changes": {"priority": 4}},
            422,
            "invalid_input",
            "numbers",
        ),
        (
            {"changes": {"priority": 4}, "numbers": None},
            422,
            "invalid_input",
            "numbers",
        ),
        ({"numbers": [1]}, 422, "invalid_input", "changes"),
    ],
)
def test_bad_input_is_refused_whole_and_nothing_is_written(
    api, agent, answered, payload, status, code, says
):
    before = events()
    body = {"numbers": numbers(*answered), **payload}

    response = api("POST", BULK, as_=agent, json=body)

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert says in response.json()["message"]
    assert events() == before


def test_a_customer_cannot_be_the_assignee(api, agent, acme_customer, answered):
    response = api(
        "POST",
        BULK,
        as_=agent,
        json={
            "numbers": numbers(*answered),
            "changes": {"assignee": acme_customer.pk},
        },
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_assignee"
    assert not Ticket.objects.filter(assignee__isnull=False).exists()


def test_query_count_is_bounded_for_ten_tickets(
    api, agent, acme_customer, django_assert_max_num_queries
):
    tickets = [make_ticket(acme_customer, subject=f"T{i}") for i in range(10)]
    for ticket in tickets:
        reply(ticket, agent)
    team = TeamFactory()
    payload = {
        "numbers": numbers(*tickets),
        "changes": {
            "assignee": agent.pk,
            "team": team.pk,
            "priority": 3,
            "add_tags": ["billing"],
            "status": "solved",
        },
    }
    _, token = create_api_token(agent, name="budget")  # made outside the budget

    # fixed: token, assignee, team, the tickets, what the assignee sees; per ticket
    # what the services need (see test_desk_bulk for the break-down)
    with django_assert_max_num_queries(6 + 10 * 24):
        response = api("POST", BULK, as_=f"Bearer {token}", json=payload)

    assert response.json()["updated"] == numbers(*tickets)


def test_bulk_is_its_own_route_and_is_described(api, agent, answered):
    response = api("GET", BULK, as_=agent)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    schema = api("GET", "/api/openapi.json", as_=agent).json()
    operation = schema["paths"]["/api/tickets/bulk"]["post"]
    assert operation["operationId"] == "devdesk_api_tickets_bulk_update_tickets"
