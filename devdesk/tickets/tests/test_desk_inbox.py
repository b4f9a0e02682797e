"""The agent inbox over HTTP: views, filters, sorting, keyset pages, counts, query budget."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from devdesk.accounts.tests.factories import TeamFactory, UserFactory
from devdesk.tickets import inbox
from devdesk.tickets.models import Ticket
from devdesk.tickets.services import escalate_ticket, set_tags, update_ticket
from devdesk.tickets.tests.factories import ProductFactory, make_ticket

pytestmark = pytest.mark.django_db

Status = Ticket.Status
INBOX = reverse("desk:inbox")


@pytest.fixture
def desk(acme_customer, globex_customer, agent, other_agent):
    """One ticket per inbox situation, each updated a minute apart (newest first)."""
    support = TeamFactory(name="Support EU", slug="support-eu")
    support.members.add(agent)
    sdk = ProductFactory(name="Python SDK", slug="python-sdk")
    now = timezone.now()
    specs = {
        "mine_open": {
            "requester": acme_customer,
            "assignee": agent,
            "status": Status.OPEN,
            "priority": 4,
        },
        "mine_solved": {
            "requester": acme_customer,
            "assignee": agent,
            "status": Status.SOLVED,
        },
        "unassigned_new": {
            "requester": globex_customer,
            "channel": Ticket.Channel.EMAIL,
            "product": sdk,
        },
        "others_pending": {
            "requester": acme_customer,
            "assignee": other_agent,
            "status": Status.PENDING_CUSTOMER,
        },
        "team_open": {
            "requester": globex_customer,
            "team": support,
            "assignee": other_agent,
            "status": Status.OPEN,
        },
        "closed": {"requester": acme_customer, "status": Status.CLOSED},
        "eng_pending": {
            "requester": acme_customer,
            "status": Status.PENDING_ENGINEERING,
        },
    }
    tickets = {}
    for i, (name, fields) in enumerate(specs.items()):
        requester = fields.pop("requester")
        tickets[name] = make_ticket(
            requester,
            subject=name.replace("_", " "),
            updated_at=now - timedelta(minutes=i),
            **fields,
        )
    set_tags(tickets["others_pending"], ["billing"], acting_user=agent)
    Ticket.objects.filter(pk=tickets["others_pending"].pk).update(
        updated_at=now - timedelta(minutes=3)
    )
    return tickets


def names(response, desk):
    by_pk = {t.pk: name for name, t in desk.items()}
    return [by_pk[t.pk] for t in response.context["page"].items]


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", ["mine_open"]),
        ("unassigned", ["unassigned_new", "eng_pending"]),
        ("teams", ["team_open"]),
        ("open", ["mine_open", "unassigned_new", "team_open"]),
        ("pending", ["others_pending", "eng_pending"]),
        ("solved", ["mine_solved"]),
        (
            "all",
            [
                "mine_open",
                "mine_solved",
                "unassigned_new",
                "others_pending",
                "team_open",
                "closed",
                "eng_pending",
            ],
        ),
    ],
)
def test_each_inbox_view_lists_its_tickets_newest_first(
    login, agent, desk, view, expected
):
    response = login(agent).get(INBOX, {"view": view, "sort": "updated"})
    assert response.status_code == 200
    assert names(response, desk) == expected


def test_inbox_opens_on_new_and_open_tickets_highest_score_first(login, agent, desk):
    for name, score in (
        ("mine_open", 2.0),
        ("unassigned_new", 0.5),
        ("team_open", 9.0),
    ):
        Ticket.objects.filter(pk=desk[name].pk).update(score=score)
    response = login(agent).get(INBOX)
    assert response.context["view"].slug == "open"
    assert names(response, desk) == ["team_open", "mine_open", "unassigned_new"]


def test_engineer_inbox_opens_on_their_teams_escalations(
    login, agent, engineer, engineering, desk
):
    escalate_ticket(desk["mine_open"], team=engineering, note="Bug?", acting_user=agent)
    response = login(engineer).get(INBOX)
    assert response.context["view"].slug == "teams"
    assert names(response, desk) == ["mine_open"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "pending_customer"}, ["others_pending"]),
        ({"priority": "4"}, ["mine_open"]),
        ({"channel": "email"}, ["unassigned_new"]),
        ({"tag": "billing"}, ["others_pending"]),
        ({"tag": "Billing "}, ["others_pending"]),
        ({"q": "TEAM"}, ["team_open"]),
        ({"assignee": "me"}, ["mine_open", "mine_solved"]),
        ({"assignee": "none"}, ["unassigned_new", "closed", "eng_pending"]),
    ],
)
def test_inbox_filters_narrow_the_view(login, agent, desk, params, expected):
    response = login(agent).get(INBOX, {"view": "all", **params})
    assert response.status_code == 200
    assert names(response, desk) == expected


def test_inbox_filters_by_product_organization_and_assignee(
    login, agent, other_agent, globex, desk
):
    client = login(agent)
    product = desk["unassigned_new"].product
    assert names(client.get(INBOX, {"view": "all", "product": product.pk}), desk) == [
        "unassigned_new"
    ]
    assert names(
        client.get(INBOX, {"view": "all", "organization": globex.pk}), desk
    ) == [
        "unassigned_new",
        "team_open",
    ]
    assert names(
        client.get(INBOX, {"view": "all", "assignee": other_agent.pk}), desk
    ) == [
        "others_pending",
        "team_open",
    ]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (
            "updated_asc",
            [
                "eng_pending",
                "closed",
                "team_open",
                "others_pending",
                "unassigned_new",
                "mine_solved",
                "mine_open",
            ],
        ),
        (
            "priority",
            [
                "mine_open",
                "mine_solved",
                "unassigned_new",
                "others_pending",
                "team_open",
                "closed",
                "eng_pending",
            ],
        ),
    ],
)
def test_inbox_sorts(login, agent, desk, sort, expected):
    response = login(agent).get(INBOX, {"view": "all", "sort": sort})
    assert names(response, desk) == expected


def test_invalid_filter_value_is_a_400_with_the_reason(login, agent, desk):
    response = login(agent).get(INBOX, {"view": "all", "status": "on-fire"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_rows_open_with_keyboard_and_show_what_an_agent_scans(login, agent, desk):
    response = login(agent).get(INBOX, {"view": "all"})
    html = response.content.decode()
    ticket = desk["others_pending"]
    assert f'data-row data-href="/desk/tickets/{ticket.number}/"' in html
    assert '<span class="badge status-pending_customer">Pending customer</span>' in html
    assert '<span class="tag">billing</span>' in html
    assert "Sam Second" in html  # the assignee
    assert 'data-key="/"' in html  # search focus
    assert 'data-key="c"' in html  # new ticket


def test_keyset_pages_walk_forward_and_back_without_counting(
    login, agent, desk, settings
):
    settings.INBOX_PAGE_SIZE = 4
    client = login(agent)
    first = client.get(INBOX, {"view": "all"})
    assert names(first, desk) == [
        "mine_open",
        "mine_solved",
        "unassigned_new",
        "others_pending",
    ]
    assert first.context["previous_url"] == ""
    second = client.get(INBOX + first.context["next_url"])
    assert names(second, desk) == ["team_open", "closed", "eng_pending"]
    assert second.context["next_url"] == ""
    back = client.get(INBOX + second.context["previous_url"])
    assert names(back, desk) == names(first, desk)


def test_tampered_page_link_is_refused_with_a_way_back(login, agent, desk):
    response = login(agent).get(INBOX, {"view": "all", "cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert "not valid any more" in response.content.decode()
    assert len(response.context["page"].items) == 7  # the first page instead


def test_view_counts_are_capped(login, agent, desk, monkeypatch):
    monkeypatch.setattr(inbox, "COUNT_CAP", 5)
    with CaptureQueriesContext(connection) as queries:
        response = login(agent).get(INBOX, {"view": "all"})
    counts = {view.slug: str(count) for view, count in response.context["counts"]}
    assert counts == {
        "mine": "1",
        "unassigned": "2",
        "teams": "1",
        "open": "3",
        "pending": "2",
        "solved": "1",
        "all": "5+",
    }
    assert "5+" in response.content.decode()
    # Each count reads at most CAP + 1 rows: never a COUNT(*) over the whole table.
    count_queries = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert len(count_queries) == 7
    assert all("LIMIT 6" in sql for sql in count_queries)


def _count_queries(client, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(INBOX, params)
    counts = {view.slug: str(count) for view, count in response.context["counts"]}
    return counts, [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


def test_view_counts_are_cached_until_a_ticket_changes(login, agent, desk):
    client = login(agent)
    counts, counted = _count_queries(client, view="all")
    assert len(counted) == 7
    again, counted = _count_queries(client, view="open")
    assert again == counts
    assert counted == []  # nothing changed: the counts come from the cache
    update_ticket(desk["unassigned_new"], acting_user=agent, assignee=agent)
    changed, counted = _count_queries(client, view="all")
    assert len(counted) == 7
    assert changed["mine"] == str(int(counts["mine"]) + 1)
    assert changed["unassigned"] == str(int(counts["unassigned"]) - 1)
    make_ticket(desk["closed"].requester, subject="new one")
    _, counted = _count_queries(client, view="all")
    assert len(counted) == 7


def test_view_counts_are_per_agent(login, agent, other_agent, desk):
    mine, _ = _count_queries(login(agent), view="all")
    theirs, counted = _count_queries(login(other_agent), view="all")
    assert len(counted) == 7
    assert (mine["mine"], theirs["mine"]) == ("1", "2")


def test_view_counts_cache_can_be_turned_off(login, agent, desk, settings):
    settings.INBOX_COUNTS_SECONDS = 0
    client = login(agent)
    _count_queries(client, view="all")
    _, counted = _count_queries(client, view="all")
    assert len(counted) == 7


def test_inbox_query_count_does_not_grow_with_rows(
    login, agent, acme_customer, desk, django_assert_max_num_queries
):
    client = login(agent)
    with CaptureQueriesContext(connection) as few:
        client.get(INBOX, {"view": "all"})
    for i in range(15):
        ticket = make_ticket(
            UserFactory(organization=acme_customer.organization),
            subject=f"extra {i}",
            assignee=agent,
            product=desk["unassigned_new"].product,
        )
        set_tags(ticket, [f"t{i}", "bulk"], acting_user=agent)
    with CaptureQueriesContext(connection) as many:
        response = client.get(INBOX, {"view": "all"})
    assert len(response.context["page"].items) == 22
    assert len(many) == len(few)
    with django_assert_max_num_queries(16):
        client.get(
            INBOX, {"view": "all", "status": "open", "tag": "bulk", "sort": "priority"}
        )


def test_empty_view_says_what_to_do_next(login, other_agent, acme_customer):
    make_ticket(acme_customer)
    response = login(other_agent).get(INBOX, {"view": "mine"})
    html = response.content.decode()
    assert "Nothing is assigned to you" in html
    assert "?view=unassigned" in html


def test_empty_filter_result_offers_to_clear(login, agent, desk):
    response = login(agent).get(INBOX, {"view": "all", "q": "no such subject"})
    assert "No tickets match these filters" in response.content.decode()


def test_engineer_inbox_holds_only_escalated_tickets(
    login, agent, engineer, engineering, desk
):
    escalate_ticket(
        desk["mine_open"], team=engineering, note="SDK bug?", acting_user=agent
    )
    client = login(engineer)
    assert names(client.get(INBOX, {"view": "all"}), desk) == ["mine_open"]
    assert names(client.get(INBOX, {"view": "teams"}), desk) == ["mine_open"]
    counts = {v.slug: str(c) for v, c in client.get(INBOX).context["counts"]}
    assert counts["all"] == "1"


def test_partner_agent_inbox_holds_only_partner_tickets(
    login, partner_agent, polyglot, desk
):
    Ticket.objects.filter(pk=desk["team_open"].pk).update(partner_organization=polyglot)
    response = login(partner_agent).get(INBOX, {"view": "all"})
    assert names(response, desk) == ["team_open"]
    assert "mine open" not in response.content.decode()


@pytest.mark.parametrize("how", ["slug", "name", "id"])
def test_the_organization_filter_takes_a_slug_a_name_or_an_id(
    client, agent, acme_customer, globex_customer, how
):
    acme = acme_customer.organization
    mine = make_ticket(acme_customer, subject="From Acme")
    make_ticket(globex_customer, subject="From Globex")
    value = {"slug": acme.slug, "name": acme.name.upper(), "id": str(acme.pk)}[how]
    client.force_login(agent)

    page = client.get(INBOX, {"view": "all", "organization": value}).content.decode()

    assert "From Acme" in page
    assert "From Globex" not in page
    assert f"#{mine.number}" in page


def test_an_unknown_organization_says_so(client, agent, acme_customer):
    make_ticket(acme_customer, subject="From Acme")
    client.force_login(agent)

    page = client.get(INBOX, {"view": "all", "organization": "no-such-org"})

    assert page.status_code == 400
    assert "No organization called &#x27;no-such-org&#x27;" in page.content.decode()


def test_the_filter_bar_does_not_list_every_organization(client, agent, acme_customer):
    # The inbox must cost what it shows: no <option> per customer organization.
    client.force_login(agent)

    page = client.get(INBOX).content.decode()

    assert acme_customer.organization.name not in page
