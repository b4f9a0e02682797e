"""A person's page on the desk: the profile, their tickets, and the edit form each
desk persona gets. Deactivating someone signs them out everywhere."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from devdesk.accounts.models import User
from devdesk.accounts.services import create_api_token
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db


def page(person):
    return reverse("people:person-detail", args=[person.pk])


def edit(person):
    return reverse("people:person-update", args=[person.pk])


def form_fields(html):
    form = re.search(
        r'<form method="post" action="[^"]*/edit/">(.*?)</form>', html, re.S
    )
    if form is None:
        return set()
    return set(re.findall(r'name="(name|role|organization|is_active)"', form.group(1)))


def test_profile_shows_who_they_are_and_what_they_asked(
    login, agent, acme, acme_customer, acme_colleague
):
    User.objects.filter(pk=acme_customer.pk).update(
        time_zone="Europe/Oslo", last_login=timezone.now()
    )
    asked = make_ticket(acme_customer, subject="Webhooks fail")
    other = make_ticket(acme_colleague, subject="Colleague's question")

    html = login(agent).get(page(acme_customer)).content.decode()

    for text in [
        "Carol Acme",
        "carol@acme.test",
        "Customer",
        "Europe/Oslo",
        "just now",
    ]:
        assert text in html
    assert reverse("people:organization-detail", args=[acme.pk]) in html
    assert reverse("desk:ticket-detail", args=[asked.number]) in html
    assert reverse("desk:ticket-detail", args=[other.number]) not in html


def test_staff_member_page_does_not_link_the_vendor_organization(login, agent, vendor):
    html = login(agent).get(page(agent)).content.decode()

    assert "Skyforge" in html
    assert reverse("people:organization-detail", args=[vendor.pk]) not in html


@pytest.mark.parametrize(
    ("actor", "target", "fields"),
    [
        ("admin_user", "acme_customer", {"name", "role", "organization", "is_active"}),
        ("admin_user", "agent", {"name", "role", "organization", "is_active"}),
        ("admin_user", "admin_user", {"name", "organization"}),
        ("agent", "acme_customer", {"name", "organization"}),
        ("agent", "other_agent", set()),
        ("agent", "admin_user", set()),
    ],
)
def test_edit_form_offers_what_the_viewer_may_change(
    request, login, actor, target, fields
):
    html = login(request.getfixturevalue(actor)).get(
        page(request.getfixturevalue(target))
    )

    assert form_fields(html.content.decode()) == fields


def test_agent_can_only_move_customers_between_customer_organizations(
    login, agent, acme_customer, globex, vendor, polyglot
):
    html = login(agent).get(page(acme_customer)).content.decode()

    assert f'value="{globex.pk}"' in html
    assert f'value="{vendor.pk}"' not in html
    assert f'value="{polyglot.pk}"' not in html


def test_agent_moves_a_customer_to_another_organization(
    login, agent, acme_customer, globex
):
    client = login(agent)

    response = client.post(
        edit(acme_customer), {"name": "Carol Acme", "organization": globex.pk}
    )

    assert response["Location"] == page(acme_customer)
    acme_customer.refresh_from_db()
    assert acme_customer.organization == globex
    assert "Saved: organization." in client.get(page(acme_customer)).content.decode()


def test_agent_posting_a_role_by_hand_is_refused_and_nothing_changes(
    login, agent, acme_customer, acme
):
    response = login(agent).post(
        edit(acme_customer),
        {"name": "Renamed", "organization": acme.pk, "role": "admin"},
    )

    assert response.status_code == 403
    assert "admins do the rest" in response.content.decode()
    acme_customer.refresh_from_db()
    assert (acme_customer.name, acme_customer.role) == ("Carol Acme", "customer")


def test_mismatched_role_and_organization_is_shown_at_the_field(
    login, admin_user, acme_customer, acme
):
    response = login(admin_user).post(
        edit(acme_customer),
        {
            "name": "Carol Acme",
            "role": "agent",
            "organization": acme.pk,
            "is_active": "on",
        },
    )

    assert response.status_code == 400
    assert "Admins, agents and engineers belong to the vendor organization." in (
        response.content.decode()
    )
    acme_customer.refresh_from_db()
    assert acme_customer.role == "customer"


def test_empty_name_is_refused(login, agent, acme_customer, acme):
    response = login(agent).post(
        edit(acme_customer), {"name": "  ", "organization": acme.pk}
    )

    assert response.status_code == 400
    assert "A person needs a name." in response.content.decode()


def test_deactivating_signs_them_out_and_stops_their_tokens(
    client, admin_user, acme_customer, acme
):
    customer_browser = Client()
    customer_browser.force_login(acme_customer)
    assert customer_browser.get(reverse("portal:ticket-list")).status_code == 200
    _, raw = create_api_token(acme_customer, name="ci")
    client.force_login(admin_user)

    response = client.post(
        edit(acme_customer),
        {"name": "Carol Acme", "role": "customer", "organization": acme.pk},
    )

    assert response.status_code == 302
    acme_customer.refresh_from_db()
    assert acme_customer.is_active is False
    portal = customer_browser.get(reverse("portal:ticket-list"))
    assert portal["Location"].startswith(reverse("accounts:login"))
    api = customer_browser.get(
        "/api/users/me", headers={"Authorization": f"Bearer {raw}"}
    )
    assert api.status_code == 401
    assert "Deactivated" in client.get(page(acme_customer)).content.decode()
