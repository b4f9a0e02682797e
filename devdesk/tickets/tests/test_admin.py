"""The Django admin works as a back office for staff, and only for staff."""

import pytest

from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/",
    "/admin/tickets/ticket/",
    "/admin/tickets/ticket/{ticket}/change/",
    "/admin/accounts/user/",
    "/admin/accounts/organization/",
    "/admin/accounts/team/",
    "/admin/tickets/macro/",
    "/admin/accounts/apitoken/",
]


@pytest.mark.parametrize("page", PAGES)
def test_admin_pages_open_for_staff(login, admin_user, acme_customer, page):
    ticket = make_ticket(acme_customer)
    response = login(admin_user).get(page.format(ticket=ticket.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("who", ["agent", "acme_customer"])
def test_admin_is_closed_to_non_staff(request, login, who):
    response = login(request.getfixturevalue(who)).get("/admin/tickets/ticket/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_desk_links_stay_in_the_top_bar_on_account_pages(login, agent):
    html = login(agent).get("/accounts/settings/").content.decode()
    assert 'href="/desk/new/"' in html
    assert 'href="/desk/people/organizations/"' in html
