"""Organizations, users and products: each persona sees what the access rules say."""

import pytest

from devdesk.accounts.models import User
from devdesk.tickets.tests.factories import ProductFactory, make_ticket

pytestmark = pytest.mark.django_db


def names(response, key="name"):
    assert response.status_code == 200, response.content
    return sorted(item[key] for item in response.json()["items"])


@pytest.fixture
def everyone(
    admin_user,
    agent,
    engineer,
    partner_agent,
    acme_customer,
    acme_colleague,
    globex_customer,
):
    return None


def test_agent_lists_every_organization(api, agent, everyone):
    response = api("GET", "/api/organizations", as_=agent)

    assert names(response) == ["Acme", "Globex", "Polyglot Partners", "Skyforge"]


def test_customer_lists_only_their_organization(api, acme_customer, everyone):
    response = api("GET", "/api/organizations", as_=acme_customer)

    assert names(response) == ["Acme"]


def test_partner_sees_organizations_of_tickets_routed_to_them(
    api, partner_agent, globex_customer, polyglot, everyone
):
    make_ticket(globex_customer, partner_organization=polyglot)

    response = api("GET", "/api/organizations", as_=partner_agent)

    assert names(response) == ["Globex", "Polyglot Partners"]


@pytest.mark.parametrize(
    ("who", "org", "status"),
    [
        ("agent", "globex", 200),
        ("acme_customer", "acme", 200),
        ("acme_customer", "globex", 404),
    ],
)
def test_organization_detail(api, request, everyone, who, org, status):
    organization = request.getfixturevalue(org)

    response = api(
        "GET", f"/api/organizations/{organization.pk}", as_=request.getfixturevalue(who)
    )

    assert response.status_code == status
    if status == 200:
        assert response.json()["slug"] == org


def test_organizations_filter_by_kind_and_name(api, agent, everyone):
    by_kind = api("GET", "/api/organizations", as_=agent, params={"kind": "partner"})
    by_name = api("GET", "/api/organizations", as_=agent, params={"q": "glob"})

    assert names(by_kind) == ["Polyglot Partners"]
    assert names(by_name) == ["Globex"]


def test_customer_sees_colleagues_and_desk_staff_but_no_other_customers(
    api, acme_customer, everyone
):
    response = api("GET", "/api/users", as_=acme_customer, params={"limit": 100})

    assert names(response, "email") == [
        "ada@skyforge.test", "alex@skyforge.test", "carol@acme.test", "dan@acme.test",
        "eve@skyforge.test",
    ]  # fmt: skip


def test_users_filter_and_page(api, agent, everyone):
    customers = api("GET", "/api/users", as_=agent, params={"role": "customer"})
    first = api("GET", "/api/users", as_=agent, params={"limit": 4}).json()
    second = api(
        "GET",
        "/api/users",
        as_=agent,
        params={"limit": 4, "cursor": first["next_cursor"]},
    ).json()

    assert names(customers, "email") == [
        "carol@acme.test",
        "dan@acme.test",
        "gina@globex.test",
    ]
    assert len(first["items"]) == 4
    assert len(second["items"]) == User.objects.count() - 4
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("who", "whom", "status"),
    [
        ("agent", "globex_customer", 200),
        ("acme_customer", "acme_colleague", 200),
        ("acme_customer", "agent", 200),
        ("acme_customer", "globex_customer", 404),
        ("engineer", "acme_customer", 404),
    ],
)
def test_user_detail(api, request, everyone, who, whom, status):
    person = request.getfixturevalue(whom)

    response = api("GET", f"/api/users/{person.pk}", as_=request.getfixturevalue(who))

    assert response.status_code == status
    if status == 200:
        assert response.json()["email"] == person.email


def test_me_describes_the_token_owner(api, partner_agent):
    data = api("GET", "/api/users/me", as_=partner_agent).json()

    assert data == {
        "id": partner_agent.pk,
        "name": "Pia Partner",
        "email": "pia@polyglot.test",
        "role": "partner_agent",
        "organization": {
            "id": partner_agent.organization_id,
            "name": "Polyglot Partners",
        },
    }


def test_products_lists_active_products_only(api, acme_customer):
    ProductFactory(name="Python SDK", slug="python-sdk")
    ProductFactory(name="Old CLI", slug="old-cli", is_active=False)

    response = api("GET", "/api/products", as_=acme_customer)

    assert names(response) == ["Python SDK"]
