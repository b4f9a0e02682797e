"""The desk's organization pages: the list (search, kind, keyset pages, a query
budget), an organization's page, and creating, editing and inviting from there."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from devdesk.accounts import views_desk
from devdesk.accounts.models import Invitation, Organization, User
from devdesk.accounts.tests.factories import OrganizationFactory, UserFactory
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db

LIST = reverse("people:organization-list")
NEW = reverse("people:organization-new")


def detail(org):
    return reverse("people:organization-detail", args=[org.pk])


def names_listed(response):
    assert response.status_code == 200, response.content.decode()[:500]
    html = response.content.decode()
    return re.findall(r'<td class="subject"><a href="[^"]+">([^<]+)</a>', html)


@pytest.fixture
def desk(login, agent):
    return login(agent)


# The list


def test_list_shows_customers_and_partners_but_not_the_vendor(
    desk, vendor, acme, globex, polyglot
):
    assert names_listed(desk.get(LIST)) == ["Acme", "Globex", "Polyglot Partners"]


def test_list_row_shows_plan_domains_members_and_latest_activity(
    desk, acme, acme_customer, acme_colleague
):
    Organization.objects.filter(pk=acme.pk).update(
        plan="enterprise", domains="acme.test, acme-robotics.test"
    )
    UserFactory(email="left@acme.test", organization=acme, is_active=False)
    ticket = make_ticket(acme_customer)

    html = desk.get(LIST).content.decode()

    row = html[html.index(detail(acme)) :]
    row = row[: row.index("</tr>")]
    assert "enterprise" in row
    assert "<code>acme.test</code>, <code>acme-robotics.test</code>" in row
    assert (
        '<td class="hide-sm members">2</td>' in row
    )  # the deactivated one not counted
    assert f'datetime="{ticket.updated_at:%Y-%m-%dT%H:%M:%S}' in row


def test_organization_without_tickets_says_so(desk, globex):
    assert "no tickets" in desk.get(LIST).content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "glob"}, ["Globex"]),
        ({"q": "ACME.TEST"}, ["Acme"]),  # by domain, in any letter case
        ({"kind": "partner"}, ["Polyglot Partners"]),
        ({"kind": "customer", "q": "poly"}, []),
    ],
)
def test_list_searches_name_and_domain_and_filters_kind(
    desk, acme, globex, polyglot, params, expected
):
    response = desk.get(LIST, params)

    assert response.status_code == 200
    assert names_listed(response) == expected
    if not expected:
        assert "No organizations match" in response.content.decode()


def test_list_pages_with_a_cursor_through_every_organization_once(desk, monkeypatch):
    monkeypatch.setattr(views_desk, "ORGANIZATIONS_PER_PAGE", 3)
    for n in range(8):
        OrganizationFactory(name=f"Org {n}", slug=f"org-{n}")

    seen, url, pages = [], LIST, 0
    while url:
        response = desk.get(url)
        seen += names_listed(response)
        found = re.search(
            r'href="(\?[^"]*cursor=[^"]+)" rel="next"', response.content.decode()
        )
        url = LIST + found.group(1).replace("&amp;", "&") if found else ""
        pages += 1

    assert seen == [f"Org {n}" for n in range(8)]
    assert pages == 3


def test_a_broken_cursor_says_so_and_shows_the_first_page(desk, acme):
    response = desk.get(LIST, {"cursor": "not-a-cursor"})

    assert response.status_code == 400
    assert "not valid any more" in response.content.decode()
    assert names_listed_any(response) == ["Acme"]


def names_listed_any(response):
    html = response.content.decode()
    return re.findall(r'<td class="subject"><a href="[^"]+">([^<]+)</a>', html)


def test_list_costs_the_same_queries_for_many_organizations_and_counts_no_table(
    desk, django_assert_max_num_queries
):
    for n in range(60):
        org = OrganizationFactory(name=f"Org {n:02}", slug=f"org-{n:02}")
        customer = UserFactory(organization=org)
        if n % 3 == 0:
            make_ticket(customer)

    # session, user, the page, its member counts and its latest tickets
    with django_assert_max_num_queries(5) as captured:
        response = desk.get(LIST)

    assert len(names_listed(response)) == views_desk.ORGANIZATIONS_PER_PAGE
    sql = [q["sql"].upper() for q in captured.captured_queries]
    assert not any("COUNT(" in q and 'FROM "ACCOUNTS_ORGANIZATION"' in q for q in sql)


# An organization's page


def test_page_shows_properties_notes_members_and_recent_tickets(
    desk, acme, acme_customer, globex_customer
):
    Organization.objects.filter(pk=acme.pk).update(
        plan="enterprise",
        notes="**Key account**: call before *any* outage.\n\n<script>x</script>",
    )
    User.objects.filter(pk=acme_customer.pk).update(last_login=timezone.now())
    mine = make_ticket(acme_customer, subject="Webhooks fail")
    theirs = make_ticket(globex_customer, subject="Globex trouble")

    html = desk.get(detail(acme)).content.decode()

    assert "<strong>Key account</strong>" in html
    assert "<script>x</script>" not in html
    assert "<dt>Plan</dt><dd>enterprise</dd>" in html
    assert "<code>acme.test</code>" in html
    members = html[html.index('id="members-title"') :]
    person = reverse("people:person-detail", args=[acme_customer.pk])
    member = members[members.index(person) :]
    member = member[: member.index("</tr>")]
    assert '<span class="badge badge-role">Customer</span>' in member
    assert re.search(r"<time [^>]+>just now</time>", member)  # last sign-in
    assert reverse("desk:ticket-detail", args=[mine.number]) in html
    assert reverse("desk:ticket-detail", args=[theirs.number]) not in html


def test_inbox_link_lists_exactly_this_organizations_tickets(
    desk, acme, acme_customer, globex_customer
):
    make_ticket(acme_customer, subject="Acme asks")
    make_ticket(globex_customer, subject="Globex asks")
    html = desk.get(detail(acme)).content.decode()
    link = re.search(r'href="(/desk/\?[^"]*organization=[^"]*)"', html)
    link = link.group(1).replace("&amp;", "&")

    inbox = desk.get(link).content.decode()

    assert link == f"/desk/?view=all&organization={acme.slug}"
    assert "Acme asks" in inbox
    assert "Globex asks" not in inbox


def test_editing_saves_through_the_service(desk, acme):
    response = desk.post(
        reverse("people:organization-update", args=[acme.pk]),
        {
            "name": "Acme Robotics",
            "plan": "enterprise",
            "domains": "acme.test, ACME-robotics.test",
            "notes": "Prefers e-mail.",
        },
    )

    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.name == "Acme Robotics"
    assert acme.domain_list == ["acme.test", "acme-robotics.test"]
    assert (
        "Saved: name, plan, domains, notes." in desk.get(detail(acme)).content.decode()
    )


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ({"name": "  ", "domains": "acme.test"}, 400, "The organization needs a name."),
        (
            {"name": "Acme", "domains": "acme"},
            400,
            "&#x27;acme&#x27; is not a domain name",
        ),
        ({"name": "Acme", "domains": "gmail.com"}, 400, "personal e-mail provider"),
        (
            {"name": "Acme", "domains": "acme.test, globex.test"},
            409,
            "globex.test already belongs to Globex",
        ),
    ],
    ids=["empty-name", "not-a-domain", "personal-domain", "domain-of-another"],
)
def test_bad_edits_are_refused_at_their_field_and_change_nothing(
    desk, acme, globex, form, status, says
):
    before = list(Organization.objects.order_by("pk").values())

    response = desk.post(reverse("people:organization-update", args=[acme.pk]), form)

    assert response.status_code == status
    html = response.content.decode()
    assert says in html
    assert '<details class="card action-card" open>' in html  # the form stays open
    assert list(Organization.objects.order_by("pk").values()) == before


def test_new_organization_is_created_and_shown(desk):
    response = desk.post(
        NEW,
        {"name": "Initech", "kind": "partner", "plan": "", "domains": "initech.test"},
    )

    org = Organization.objects.get(name="Initech")
    assert response["Location"] == detail(org)
    assert (org.kind, org.domain_list) == ("partner", ["initech.test"])


def test_new_organization_with_a_claimed_domain_is_refused(desk, acme):
    response = desk.post(
        NEW, {"name": "Acme 2", "kind": "customer", "domains": "acme.test"}
    )

    assert response.status_code == 409
    assert "acme.test already belongs to Acme" in response.content.decode()
    assert not Organization.objects.filter(name="Acme 2").exists()


def test_new_organization_cannot_be_a_vendor(desk):
    response = desk.post(NEW, {"name": "Vendor 2", "kind": "vendor"})

    assert response.status_code == 400
    assert not Organization.objects.filter(name="Vendor 2").exists()


# Inviting from an organization's page


def test_invitation_from_the_page_is_mailed_and_listed(
    desk, acme, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(
            reverse("people:organization-invite", args=[acme.pk]),
            {"email": "Zoe@Acme.test"},
        )

    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.organization, invitation.role) == (
        "zoe@acme.test",
        acme,
        "customer",
    )
    assert mail.outbox[-1].to == ["zoe@acme.test"]
    page = desk.get(detail(acme)).content.decode()
    assert "We e-mailed an invitation to zoe@acme.test." in page
    waiting = page[page.index("Waiting for an answer") :]
    assert waiting.index("zoe@acme.test") < waiting.index("</ul>")


def test_inviting_someone_who_has_an_account_is_refused(desk, acme, acme_colleague):
    response = desk.post(
        reverse("people:organization-invite", args=[acme.pk]),
        {"email": acme_colleague.email},
    )

    assert response.status_code == 409
    assert "already has an account" in response.content.decode()
    assert not Invitation.objects.exists()


def test_agent_sees_no_invite_form_on_a_partner(desk, polyglot):
    # Only admins invite partner agents; the agent's post is refused as well.
    assert "Invite a person" not in desk.get(detail(polyglot)).content.decode()

    response = desk.post(
        reverse("people:organization-invite", args=[polyglot.pk]),
        {"email": "nils@polyglot.test"},
    )

    assert response.status_code == 403
    assert not Invitation.objects.exists()
