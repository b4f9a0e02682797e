"""Writing organizations and people over the API: who may (persona by endpoint), what
comes back, and bad input answered with ``{code, message}`` while nothing is written."""

import pytest
from django.core import mail
from django.urls import reverse

from devdesk.accounts.models import Invitation, Organization, User
from devdesk.accounts.services import create_api_token
from devdesk.api.tests.conftest import BAD_TOKEN

pytestmark = pytest.mark.django_db

PERSONAS = [
    "admin_user",
    "agent",
    "engineer",
    "partner_agent",
    "acme_customer",
    "globex_customer",
    "anonymous",
    "bad_token",
]


def caller(request, who):
    if who == "anonymous":
        return None
    if who == "bad_token":
        return BAD_TOKEN
    return request.getfixturevalue(who)


def state():
    """Everything these endpoints could write."""
    return (
        list(Organization.objects.order_by("pk").values()),
        list(
            User.objects.order_by("pk").values(
                "pk", "name", "role", "organization_id", "is_active", "is_staff"
            )
        ),
        list(Invitation.objects.values_list("pk", flat=True)),
    )


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


# Engineers and partner agents cannot see Acme or Dan (404); Acme's customer can but
# may not change them (403). Inviting and creating are refused by role first (403).
EXPECTED = {
    #                     admin agent eng  partner acme globex anon bad
    "create-org":        (201, 201, 403, 403, 403, 403, 401, 401),
    "update-org":        (200, 200, 404, 404, 403, 404, 401, 401),
    "invite":            (201, 201, 403, 403, 403, 403, 401, 401),
    "rename-customer":   (200, 200, 404, 404, 403, 404, 401, 401),
    "make-agent":        (200, 403, 404, 404, 403, 404, 401, 401),
    "deactivate":        (200, 403, 404, 404, 403, 404, 401, 401),
}  # fmt: skip


def _action(name, acme, vendor, dan):
    return {
        "create-org": (
            "POST",
            "/api/organizations",
            {"name": "Initech", "domains": ["initech.test"]},
        ),
        "update-org": ("PATCH", f"/api/organizations/{acme.pk}", {"plan": "gold"}),
        "invite": (
            "POST",
            "/api/users",
            {"email": "zoe@acme.test", "organization": acme.pk},
        ),
        "rename-customer": ("PATCH", f"/api/users/{dan.pk}", {"name": "Daniel"}),
        "make-agent": (
            "PATCH",
            f"/api/users/{dan.pk}",
            {"role": "agent", "organization": vendor.pk},
        ),
        "deactivate": ("PATCH", f"/api/users/{dan.pk}", {"is_active": False}),
    }[name]


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("action", list(EXPECTED))
def test_write_permission_matrix(
    request, api, everyone, acme, vendor, acme_colleague, who, action
):
    method, path, body = _action(action, acme, vendor, acme_colleague)
    as_ = caller(request, who)
    before = state()

    response = api(method, path, as_=as_, json=body)

    expected = EXPECTED[action][PERSONAS.index(who)]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert set(response.json()) >= {"code", "message"}
        assert state() == before
        assert mail.outbox == []


# What comes back


def test_created_organization_is_201_with_its_location(api, agent, acme):
    response = api(
        "POST",
        "/api/organizations",
        as_=agent,
        json={
            "name": " Initech ",
            "kind": "partner",
            "plan": "gold",
            "domains": ["Initech.test", "initech.example"],
            "notes": "Prefers *e-mail*.",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    org = Organization.objects.get(pk=body["id"])
    assert response["Location"] == reverse("api:get_organization", args=[org.pk])
    assert {
        k: body[k] for k in ("name", "slug", "kind", "plan", "domains", "notes")
    } == {
        "name": "Initech",
        "slug": "initech",
        "kind": "partner",
        "plan": "gold",
        "domains": ["initech.test", "initech.example"],
        "notes": "Prefers *e-mail*.",
    }


def test_patch_changes_only_the_fields_sent(api, agent, acme):
    Organization.objects.filter(pk=acme.pk).update(plan="enterprise", notes="VIP")

    response = api(
        "PATCH",
        f"/api/organizations/{acme.pk}",
        as_=agent,
        json={"domains": ["acme.test", "acme-robotics.test"]},
    )

    assert response.status_code == 200, response.content
    assert response.json()["domains"] == ["acme.test", "acme-robotics.test"]
    acme.refresh_from_db()
    assert (acme.name, acme.plan, acme.notes) == ("Acme", "enterprise", "VIP")


def test_customers_reading_their_organization_never_see_its_notes(
    api, acme_customer, acme
):
    Organization.objects.filter(pk=acme.pk).update(notes="Churn risk")

    response = api("GET", f"/api/organizations/{acme.pk}", as_=acme_customer)

    assert "Churn risk" not in response.content.decode()


def test_inviting_a_customer_answers_with_the_invitation_and_mails_it(
    api, client, agent, acme, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(
            "POST",
            "/api/users",
            as_=agent,
            json={"email": "Zoe@Acme.test", "organization": acme.pk},
        )

    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("email", "role", "organization", "user")} == {
        "email": "zoe@acme.test",
        "role": "customer",
        "organization": {"id": acme.pk, "name": "Acme"},
        "user": None,
    }
    assert body["invited_by"]["email"] == agent.email
    assert "token" not in str(body).lower()
    assert "/accounts/invitation/" not in response.content.decode()
    # the e-mailed link, and only it, makes the account
    assert mail.outbox[-1].to == ["zoe@acme.test"]
    link = next(w for w in mail.outbox[-1].body.split() if "/accounts/invitation/" in w)
    client.post(
        link.split("127.0.0.1:8000")[-1],
        {"name": "Zoe", "password": "violet-kettle-sunrise-42"},
    )
    zoe = User.objects.get(email="zoe@acme.test")
    assert (zoe.role, zoe.organization) == ("customer", acme)


def test_admin_deactivates_someone_and_their_token_stops_working(
    api, admin_user, acme_customer
):
    _, raw = create_api_token(acme_customer, name="ci")
    token = f"Bearer {raw}"
    assert api("GET", "/api/users/me", as_=token).status_code == 200

    response = api(
        "PATCH",
        f"/api/users/{acme_customer.pk}",
        as_=admin_user,
        json={"is_active": False},
    )

    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False
    assert api("GET", "/api/users/me", as_=token).status_code == 401


def test_admin_makes_a_customer_an_agent(api, admin_user, acme_customer, vendor):
    response = api(
        "PATCH",
        f"/api/users/{acme_customer.pk}",
        as_=admin_user,
        json={"role": "agent", "organization": vendor.pk},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["role"], body["organization"]["id"]) == ("agent", vendor.pk)


# Bad input: a 4xx with {code, message}, and nothing written


@pytest.fixture
def refused(api):
    """``refused(method, path, user, json=..., status=..., code=...)`` -> the message,
    after checking the answer is a JSON error and that nothing was written."""

    def call(method, path, user, *, status, code, **kw):
        before = state()
        response = api(method, path, as_=user, **kw)
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert body["code"] == code
        assert state() == before
        assert mail.outbox == []
        return body["message"]

    return call


@pytest.mark.parametrize(
    ("payload", "status", "code", "says"),
    [
        ({"name": "  "}, 400, "name_required", "needs a name"),
        ({"name": "x" * 201}, 422, "invalid_input", "name"),
        ({"kind": "partner"}, 422, "invalid_input", "name: Field required"),
        ({"name": "Initech", "kind": "vendor"}, 422, "invalid_input", "kind"),
        ({"name": "Initech", "domains": ["initech"]}, 400, "invalid_domain", "'initech' is not a domain name"),
        ({"name": "Initech", "domains": ["ops@initech.test"]}, 400, "invalid_domain", "without @"),
        ({"name": "Initech", "domains": ["gmail.com"]}, 400, "personal_domain", "gmail.com"),
        ({"name": "Initech", "domains": ["ACME.test"]}, 409, "domain_taken", "acme.test already belongs to Acme"),
        ({"name": "Initech", "domains": "initech.test"}, 422, "invalid_input", "domains"),
        ({"name": "Initech", "slug": "x"}, 422, "invalid_input", "slug: Extra inputs"),
        ({"name": "Init\x00ech"}, 422, "invalid_input", "NUL"),
    ],
    ids=[
        "blank-name", "long-name", "missing-name", "vendor-kind", "not-a-domain",
        "an-address", "personal-domain", "duplicate-domain", "domains-not-a-list",
        "unknown-field", "nul-byte",
    ],
)  # fmt: skip
def test_create_organization_refuses_bad_input(
    refused, agent, acme, payload, status, code, says
):
    message = refused(
        "POST", "/api/organizations", agent, json=payload, status=status, code=code
    )
    assert says in message


@pytest.mark.parametrize(
    ("target", "payload", "status", "code", "says"),
    [
        ("acme", {"name": None}, 422, "invalid_input", "may not be null"),
        ("acme", {"name": ""}, 400, "name_required", "needs a name"),
        (
            "acme",
            {"domains": ["acme.test", "globex.test"]},
            409,
            "domain_taken",
            "Globex",
        ),
        ("vendor", {"plan": "free"}, 403, "not_allowed", "Django admin"),
        ("unknown", {"plan": "free"}, 404, "not_found", "No such organization"),
    ],
)
def test_update_organization_refuses_bad_input(
    refused, agent, acme, globex, vendor, target, payload, status, code, says
):
    org_id = (
        999_999 if target == "unknown" else {"acme": acme, "vendor": vendor}[target].pk
    )

    message = refused(
        "PATCH",
        f"/api/organizations/{org_id}",
        agent,
        json=payload,
        status=status,
        code=code,
    )
    assert says in message


@pytest.mark.parametrize(
    ("who", "payload", "status", "code", "says"),
    [
        ("agent", {"email": "zoe@acme.test", "organization": 999_999}, 422, "invalid_organization", "no organization with id 999999"),
        ("agent", {"email": "zoe@acme.test", "organization": "vendor"}, 422, "invalid_organization", "Django admin"),
        ("agent", {"email": "nils@polyglot.test", "organization": "polyglot"}, 403, "not_allowed", "Polyglot"),
        ("agent", {"email": "not an address", "organization": "acme"}, 400, "invalid_email", "not an e-mail address"),
        ("agent", {"email": "DAN@acme.test", "organization": "acme"}, 409, "email_taken", "already has an account"),
        ("agent", {"email": "zoe@acme.test"}, 422, "invalid_input", "organization: Field required"),
        ("agent", {"email": "zoe@acme.test", "organization": "acme", "password": "x"}, 422, "invalid_input", "password: Extra inputs"),
    ],
    ids=["unknown-org", "vendor", "partner-by-agent", "bad-email", "has-account", "no-org", "password"],
)  # fmt: skip
def test_invite_refuses_bad_input(
    request, refused, acme_colleague, vendor, polyglot, who, payload, status, code, says
):
    if isinstance(payload.get("organization"), str):
        payload = {
            **payload,
            "organization": request.getfixturevalue(payload["organization"]).pk,
        }

    message = refused(
        "POST",
        "/api/users",
        request.getfixturevalue(who),
        json=payload,
        status=status,
        code=code,
    )
    assert says in message


@pytest.mark.parametrize(
    ("who", "target", "payload", "status", "code", "says"),
    [
        ("agent", "acme_customer", {"role": "admin"}, 403, "not_allowed", "admins do the rest"),
        ("agent", "acme_customer", {"is_active": False}, 403, "not_allowed", "active"),
        ("agent", "other_agent", {"name": "Samantha"}, 403, "not_allowed", "Sam Second"),
        ("agent", "acme_customer", {"organization": "polyglot"}, 400, "organization_mismatch", "customer organization"),
        ("admin_user", "acme_customer", {"role": "agent"}, 400, "organization_mismatch", "vendor organization"),
        ("admin_user", "admin_user", {"is_active": False}, 403, "not_allowed", "your own role"),
        ("admin_user", "admin_user", {"role": "agent"}, 403, "not_allowed", "your own role"),
        ("admin_user", "acme_customer", {"role": "superhero"}, 422, "invalid_input", "role"),
        ("admin_user", "acme_customer", {"organization": 999_999}, 422, "invalid_organization", "999999"),
        ("admin_user", "acme_customer", {"name": "  "}, 400, "name_required", "needs a name"),
        ("admin_user", "acme_customer", {"is_active": None}, 422, "invalid_input", "may not be null"),
        ("admin_user", "unknown", {"name": "Ghost"}, 404, "not_found", "No such user"),
    ],
    ids=[
        "agent-makes-admin", "agent-deactivates", "agent-renames-agent", "customer-into-partner",
        "agent-role-in-customer-org", "admin-deactivates-self", "admin-demotes-self",
        "unknown-role", "unknown-org", "blank-name", "null", "unknown-user",
    ],
)  # fmt: skip
def test_update_user_refuses_bad_input(
    request, refused, acme, polyglot, who, target, payload, status, code, says
):
    person_id = 999_999 if target == "unknown" else request.getfixturevalue(target).pk
    if isinstance(payload.get("organization"), str):
        payload = {
            **payload,
            "organization": request.getfixturevalue(payload["organization"]).pk,
        }

    message = refused(
        "PATCH",
        f"/api/users/{person_id}",
        request.getfixturevalue(who),
        json=payload,
        status=status,
        code=code,
    )
    assert says in message
