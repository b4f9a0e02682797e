"""Who may open and post to the desk's people pages: persona by URL, each case with
the status it expects, and nothing written when the answer is no.

Admins and agents use them; everyone else is told they do not exist (404);
anonymous visitors are sent to sign in (302 to the login page).
"""

import pytest
from django.core import mail
from django.urls import reverse

from devdesk.accounts.models import Invitation, Organization, User
from devdesk.tickets.access import editable_person_fields

pytestmark = pytest.mark.django_db

PERSONAS = [
    "admin_user",
    "agent",
    "engineer",
    "partner_agent",
    "acme_customer",
    "globex_customer",
    "anonymous",
]


def who(request, name):
    user = None if name == "anonymous" else request.getfixturevalue(name)
    return request.getfixturevalue("login")(user)


def state():
    """Everything these pages could write."""
    return (
        list(Organization.objects.order_by("pk").values()),
        list(
            User.objects.order_by("pk").values(
                "pk", "name", "role", "organization_id", "is_active", "is_staff"
            )
        ),
        list(Invitation.objects.values_list("pk", flat=True)),
    )


def call(client, page, acme, acme_colleague, persona):
    """One request per page, with input that is valid when the user may act."""
    # An admin's form also has role and active; an agent's only name and organization.
    person_form = {"name": "Daniel Acme", "organization": acme.pk}
    if persona == "admin_user":
        person_form.update(role="customer", is_active="on")
    requests = {
        "organization-list": ("get", "people:organization-list", [], {}),
        "organization-new": ("get", "people:organization-new", [], {}),
        "organization-create": (
            "post",
            "people:organization-new",
            [],
            {"name": "Initech", "kind": "customer", "domains": "initech.test"},
        ),
        "organization-detail": ("get", "people:organization-detail", [acme.pk], {}),
        "organization-update": (
            "post",
            "people:organization-update",
            [acme.pk],
            {"name": "Acme Corp", "plan": "enterprise", "domains": "acme.test"},
        ),
        "organization-invite": (
            "post",
            "people:organization-invite",
            [acme.pk],
            {"email": "new@acme.test"},
        ),
        "person-detail": ("get", "people:person-detail", [acme_colleague.pk], {}),
        "person-update": (
            "post",
            "people:person-update",
            [acme_colleague.pk],
            person_form,
        ),
    }
    method, name, args, data = requests[page]
    return getattr(client, method)(reverse(name, args=args), data)


PAGES = [
    "organization-list",
    "organization-new",
    "organization-create",
    "organization-detail",
    "organization-update",
    "organization-invite",
    "person-detail",
    "person-update",
]
DESK_STAFF = dict(zip(PAGES, [200, 200, 302, 200, 302, 302, 200, 302], strict=True))
HIDDEN = dict.fromkeys(PAGES, 404)
LOGIN = dict.fromkeys(PAGES, 302)
EXPECTED = {
    "admin_user": DESK_STAFF,
    "agent": DESK_STAFF,
    "engineer": HIDDEN,
    "partner_agent": HIDDEN,
    "acme_customer": HIDDEN,
    "globex_customer": HIDDEN,
    "anonymous": LOGIN,
}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_people_pages_matrix(request, acme, acme_colleague, persona, page):
    client = who(request, persona)
    before = state()

    response = call(client, page, acme, acme_colleague, persona)

    expected = EXPECTED[persona][page]
    assert response.status_code == expected
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("accounts:login"))
    if expected != 302 or persona == "anonymous":
        assert state() == before
        assert mail.outbox == []


@pytest.mark.parametrize("persona", ["admin_user", "agent"])
def test_vendor_organization_has_no_people_page(login, vendor, persona, request):
    # Staff accounts are managed in the Django admin, not here.
    client = login(request.getfixturevalue(persona))

    response = client.get(reverse("people:organization-detail", args=[vendor.pk]))

    assert response.status_code == 404


# What each desk persona may change on whom. The target's page answers 302 (saved),
# 403 (refused, nothing written) or 400 (allowed, but the values do not fit).
PERSON_CHANGES = [
    ("agent", "acme_customer", {"name": "Carol A."}, 302),
    ("agent", "acme_customer", {"organization": "globex"}, 302),
    ("agent", "acme_customer", {"role": "admin"}, 403),
    ("agent", "acme_customer", {"is_active": ""}, 403),
    ("agent", "other_agent", {"name": "Sam S."}, 403),
    ("agent", "admin_user", {"name": "Ada A."}, 403),
    ("admin_user", "agent", {"role": "engineer", "organization": "vendor"}, 302),
    ("admin_user", "acme_customer", {"role": "agent", "organization": "vendor"}, 302),
    ("admin_user", "acme_customer", {"role": "agent", "organization": "acme"}, 400),
    ("admin_user", "admin_user", {"name": "Ada Lovelace"}, 302),
    ("admin_user", "admin_user", {"role": "agent"}, 403),
]


def _form(actor, person, changes, orgs):
    """What the edit form posts: the fields ``actor`` sees with the person's current
    values, then ``changes`` (which may name fields the form does not have)."""
    current = {
        "name": person.name,
        "role": person.role,
        "organization": person.organization_id,
        "is_active": "on" if person.is_active else "",
    }
    editable = editable_person_fields(actor, person)
    data = {k: v for k, v in current.items() if k in editable and v != ""}
    for key, value in changes.items():
        data[key] = orgs[value].pk if key == "organization" else value
    return data


@pytest.mark.parametrize(
    ("actor", "target", "changes", "status"),
    PERSON_CHANGES,
    ids=[f"{a}-{t}-{'+'.join(c)}-{s}" for a, t, c, s in PERSON_CHANGES],
)
def test_who_may_change_whom(
    request, login, vendor, acme, globex, actor, target, changes, status
):
    actor_user = request.getfixturevalue(actor)
    person = request.getfixturevalue(target)
    orgs = {"vendor": vendor, "acme": acme, "globex": globex}
    data = _form(actor_user, person, changes, orgs)
    before = state()

    response = login(actor_user).post(
        reverse("people:person-update", args=[person.pk]), data
    )

    assert response.status_code == status, response.content.decode()[:2000]
    if status != 302:
        assert state() == before
