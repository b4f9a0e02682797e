"""Owner, assignee, followers and the assignee filter are boxes that take a name,
an e-mail, an id, "me" or "none", with suggestions from a permission-checked list."""

from __future__ import annotations

import pytest
from django.urls import reverse

from devdesk.accounts.models import User
from devdesk.accounts.tests.factories import UserFactory
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db

SUGGEST = reverse("desk:people-suggest")


@pytest.fixture
def ticket(acme_customer):
    return make_ticket(acme_customer, subject="Webhooks arrive twice")


def update(client, ticket, **fields):
    return client.post(reverse("desk:ticket-update", args=[ticket.number]), fields)


def suggestions(client, typed, *, scope="assignee", ticket=None, list_id="x-people"):
    params = {"scope": scope, "list": list_id, "box": "typed", "typed": typed}
    if ticket is not None:
        params["ticket"] = ticket.number
    return client.get(SUGGEST, params)


def test_the_ticket_page_lists_no_one(login, agent, other_agent, ticket):
    html = login(agent).get(reverse("desk:ticket-detail", args=[ticket.number])).text
    assert 'name="assignee"' in html
    assert 'list="prop_assignee-people"' in html
    assert "Sam Second" not in html  # no <option> per agent


@pytest.mark.parametrize(
    "typed", ["Sam Second", "SAM@skyforge.test", "sam second", "{pk}"]
)
def test_assignee_by_name_email_or_id(login, agent, other_agent, ticket, typed):
    response = update(login(agent), ticket, assignee=typed.format(pk=other_agent.pk))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == other_agent


def test_me_and_none(login, agent, ticket):
    client = login(agent)
    assert update(client, ticket, assignee="me", owner="Me").status_code == 302
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (agent, agent)
    assert update(client, ticket, assignee="none", owner="").status_code == 302
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (None, None)


def test_a_customer_or_stranger_cannot_be_assigned(login, agent, acme_customer, ticket):
    for typed in (acme_customer.email, "nobody@nowhere.test", "Carol Acme", "0"):
        response = update(login(agent), ticket, assignee=typed)
        assert response.status_code == 400
        assert "can be chosen here" in response.text
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_an_engineer_cannot_be_made_owner(login, engineer, agent, ticket):
    # "me" is checked against the same list as everyone else.
    response = update(login(agent), ticket, owner=engineer.email)
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.owner is None


def test_two_people_with_one_name_need_an_email(login, agent, vendor, ticket):
    UserFactory(
        name="Kim Lee",
        email="kim1@skyforge.test",
        role=User.Role.AGENT,
        organization=vendor,
    )
    second = UserFactory(
        name="Kim Lee",
        email="kim2@skyforge.test",
        role=User.Role.AGENT,
        organization=vendor,
    )
    client = login(agent)
    response = update(client, ticket, assignee="Kim Lee")
    assert response.status_code == 400
    assert "type their e-mail address" in response.text
    assert update(client, ticket, assignee="kim2@skyforge.test").status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == second


def test_followers_typed_with_commas(login, agent, acme_colleague, ticket):
    client = login(agent)
    response = update(
        client,
        ticket,
        followers=f"{acme_colleague.email}, Alex Agent",
        followers_shown="1",
    )
    assert response.status_code == 302
    assert set(ticket.followers.all()) == {acme_colleague, agent}
    response = update(client, ticket, followers="", followers_shown="1")
    assert response.status_code == 302
    assert list(ticket.followers.all()) == []


def test_a_follower_from_another_organization_is_refused(
    login, agent, globex_customer, ticket
):
    response = update(
        login(agent), ticket, followers=globex_customer.email, followers_shown="1"
    )
    assert response.status_code == 400
    assert list(ticket.followers.all()) == []


def test_suggestions_are_a_datalist_of_matches(login, agent, other_agent, ticket):
    response = suggestions(
        login(agent), "sec", ticket=ticket, list_id="prop_assignee-people"
    )
    assert response.status_code == 200
    assert response.text.startswith('<datalist id="prop_assignee-people">')
    assert '<option value="sam@skyforge.test">Sam Second</option>' in response.text


def test_follower_suggestions_complete_the_last_name(
    login, agent, acme_colleague, globex_customer, ticket
):
    client = login(agent)
    text = suggestions(
        client, "alex@skyforge.test, d", scope="followers", ticket=ticket
    ).text
    assert 'value="alex@skyforge.test, dan@acme.test"' in text
    # Only the ticket's organization: never another customer's people.
    other = suggestions(client, "gina", scope="followers", ticket=ticket).text
    assert "gina@globex.test" not in other


@pytest.mark.parametrize("who", ["acme_customer", "engineer", "partner_agent", None])
def test_who_may_ask_for_suggestions(request, login, agent, who, ticket):
    user = request.getfixturevalue(who) if who else None
    client = login(user)
    response = suggestions(client, "a", scope="followers", ticket=ticket)
    if who is None:
        assert response.status_code == 302  # sign in first
    else:
        # Customers have no desk; an engineer or partner who may not edit this
        # ticket is told it does not exist.
        assert response.status_code == 404
        assert "carol@acme.test" not in response.text


def test_bad_suggestion_requests_are_400(login, agent):
    client = login(agent)
    assert suggestions(client, "a", scope="everyone").status_code == 400
    assert (
        suggestions(client, "a", scope="workers", list_id='x"><script>').status_code
        == 400
    )
    assert suggestions(client, "a", scope="workers", list_id="ok").status_code == 200


def test_inbox_filter_by_a_typed_assignee(login, agent, other_agent, acme_customer):
    mine = make_ticket(acme_customer, subject="Mine", assignee=agent)
    theirs = make_ticket(acme_customer, subject="Theirs", assignee=other_agent)
    client = login(agent)
    page = client.get(reverse("desk:inbox"), {"view": "all", "assignee": "Sam Second"})
    assert [t.pk for t in page.context["page"].items] == [theirs.pk]
    page = client.get(reverse("desk:inbox"), {"view": "all", "assignee": "me"})
    assert [t.pk for t in page.context["page"].items] == [mine.pk]
    page = client.get(reverse("desk:inbox"), {"view": "all", "assignee": "Carol Acme"})
    assert page.status_code == 400
