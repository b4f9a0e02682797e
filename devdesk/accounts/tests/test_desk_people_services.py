"""The services behind the people pages and the API: organizations, invitations into
them, and changing people. Each refusal has a stable code and writes nothing."""

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.urls import reverse

from devdesk.accounts.models import Invitation, Organization, User
from devdesk.accounts.services import (
    AccountError,
    create_api_token,
    create_organization,
    invite_to_organization,
    update_organization,
    update_person,
    user_for_token,
)
from devdesk.accounts.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def organizations():
    return list(Organization.objects.order_by("pk").values())


def refused(call, code, status=400):
    """Run ``call``; check it raised ``code`` and left every organization as it was."""
    before = organizations()
    with pytest.raises(AccountError) as caught:
        call()
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.message
    assert organizations() == before
    return caught.value


# Organizations


def test_create_organization_cleans_its_fields_and_makes_a_unique_slug(agent, acme):
    org = create_organization(
        name="  Acme   Rockets ",
        kind=Organization.Kind.PARTNER,
        plan=" gold ",
        domains="Rockets.Example,  rockets.example launch.example.",
        notes="**Key account**",
        acting_user=agent,
    )

    org.refresh_from_db()
    assert (org.name, org.kind, org.plan) == ("Acme Rockets", "partner", "gold")
    assert org.domain_list == ["rockets.example", "launch.example"]
    assert org.slug == "acme-rockets"
    other = create_organization(name="Acme Rockets", kind="customer", acting_user=agent)
    assert other.slug == "acme-rockets-2"


@pytest.mark.parametrize(
    ("domains", "code", "says"),
    [
        ("acme", "invalid_domain", "'acme' is not a domain name"),
        ("carla@acme.example", "invalid_domain", "without @"),
        ("https://acme.example", "invalid_domain", "https://"),
        ("-acme.example", "invalid_domain", "not a domain"),
        ("acme..example", "invalid_domain", "not a domain"),
        ("acme.example/path", "invalid_domain", "not a domain"),
        ("acme.x", "invalid_domain", "not a domain"),
        ("bücher.example", "invalid_domain", "xn--"),
        ("GMail.com", "personal_domain", "personal e-mail provider"),
        (",".join(f"d{n:03}.example" for n in range(50)), "domains_too_long", "500"),
    ],
)
def test_create_organization_refuses_what_is_not_a_domain(agent, domains, code, says):
    error = refused(
        lambda: create_organization(
            name="Initech", kind="customer", domains=domains, acting_user=agent
        ),
        code,
    )
    assert says in error.message


def test_internationalized_domain_in_its_ascii_form_is_accepted(agent):
    org = create_organization(
        name="Bücher",
        kind="customer",
        domains="xn--bcher-kva.example",
        acting_user=agent,
    )
    assert org.domain_list == ["xn--bcher-kva.example"]


@pytest.mark.parametrize("claimed", ["acme.test", "ACME.test", "acme.test."])
def test_domain_of_another_organization_is_refused(agent, acme, claimed):
    error = refused(
        lambda: create_organization(
            name="Acme Clone", kind="customer", domains=claimed, acting_user=agent
        ),
        "domain_taken",
        409,
    )
    assert error.message.startswith("acme.test already belongs to Acme")


def test_domain_containing_another_as_text_is_not_a_clash(agent, acme):
    # "acme.test" is a substring of "notacme.test"; only whole domains clash.
    org = create_organization(
        name="Not Acme", kind="customer", domains="notacme.test", acting_user=agent
    )
    assert org.domain_list == ["notacme.test"]


def test_domain_of_the_vendor_is_refused(agent, vendor):
    Organization.objects.filter(pk=vendor.pk).update(domains="skyforge.test")
    refused(
        lambda: create_organization(
            name="Impostor", kind="customer", domains="skyforge.test", acting_user=agent
        ),
        "domain_taken",
        409,
    )


@pytest.mark.parametrize(
    ("name", "code"),
    [("", "name_required"), (" \t ", "name_required"), ("x" * 201, "name_too_long")],
)
def test_organization_needs_a_name_of_sensible_length(agent, name, code):
    refused(
        lambda: create_organization(name=name, kind="customer", acting_user=agent),
        code,
    )


def test_only_customer_or_partner_organizations_are_created(admin_user):
    refused(
        lambda: create_organization(
            name="Second vendor", kind=Organization.Kind.VENDOR, acting_user=admin_user
        ),
        "invalid_kind",
    )


@pytest.mark.parametrize(
    "persona", ["engineer", "partner_agent", "acme_customer", "deactivated_agent"]
)
def test_only_admins_and_agents_manage_organizations(request, persona, acme):
    user = request.getfixturevalue(persona)
    refused(
        lambda: create_organization(name="Initech", kind="customer", acting_user=user),
        "not_allowed",
        403,
    )
    refused(
        lambda: update_organization(acme, acting_user=user, plan="free"),
        "not_allowed",
        403,
    )


@pytest.fixture
def deactivated_agent(vendor):
    return User.objects.create_user(
        "gone@skyforge.test", role=User.Role.AGENT, organization=vendor, is_active=False
    )


def test_update_organization_changes_only_what_differs(agent, acme):
    changed = update_organization(
        acme,
        acting_user=agent,
        name="Acme",
        plan="enterprise",
        domains=["acme.test", "acme-robotics.test"],
    )

    assert changed == ["plan", "domains"]
    acme.refresh_from_db()
    assert (acme.plan, acme.domain_list) == (
        "enterprise",
        ["acme.test", "acme-robotics.test"],
    )
    assert update_organization(acme, acting_user=agent, plan="enterprise") == []


def test_update_organization_refuses_a_domain_of_another_and_changes_nothing(
    agent, acme, globex
):
    error = refused(
        lambda: update_organization(
            acme, acting_user=agent, name="Acme Inc", domains="acme.test, globex.test"
        ),
        "domain_taken",
        409,
    )
    assert "globex.test already belongs to Globex" in error.message
    assert acme.name == "Acme"  # the object in memory is untouched too


def test_an_old_overlap_does_not_block_other_changes(agent, acme):
    # Data from before this check: two organizations list one domain.
    twin = OrganizationFactory(name="Acme Twin", slug="acme-twin", domains="acme.test")

    assert update_organization(twin, acting_user=agent, plan="community") == ["plan"]
    assert update_organization(twin, acting_user=agent, domains="acme.test") == []


def test_vendor_organization_is_not_changed_here(admin_user, vendor):
    refused(
        lambda: update_organization(vendor, acting_user=admin_user, plan="x"),
        "not_allowed",
        403,
    )


# Invitations into an organization


def test_agent_invites_a_customer_and_the_mail_leaves_after_commit(
    agent, acme, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invitation, raw = invite_to_organization(
            acme, email=" Zoe@Acme.test ", acting_user=agent
        )
        assert mail.outbox == []  # nothing is sent before the transaction commits

    assert len(callbacks) == 1
    assert (invitation.email, invitation.role) == ("zoe@acme.test", User.Role.CUSTOMER)
    assert mail.outbox[-1].to == ["zoe@acme.test"]
    assert reverse("accounts:accept-invitation", args=[raw]) in mail.outbox[-1].body


def test_admin_invites_a_partner_agent_into_a_partner(admin_user, polyglot):
    invitation, _ = invite_to_organization(
        polyglot, email="nils@polyglot.test", acting_user=admin_user
    )
    assert invitation.role == User.Role.PARTNER_AGENT


@pytest.mark.parametrize(
    ("actor", "org", "email", "code", "status"),
    [
        ("agent", "polyglot", "nils@polyglot.test", "not_allowed", 403),
        ("acme_customer", "acme", "zoe@acme.test", "not_allowed", 403),
        ("admin_user", "vendor", "new@skyforge.test", "invalid_organization", 422),
        ("agent", "acme", "not-an-address", "invalid_email", 400),
        ("agent", "acme", "DAN@acme.test", "email_taken", 409),
    ],
)
def test_refused_invitations_write_nothing(
    request, acme_colleague, actor, org, email, code, status
):
    user = request.getfixturevalue(actor)
    organization = request.getfixturevalue(org)

    with pytest.raises(AccountError) as caught:
        invite_to_organization(organization, email=email, acting_user=user)

    assert (caught.value.code, caught.value.status) == (code, status)
    assert not Invitation.objects.exists()
    assert mail.outbox == []


# People


def person_state(person):
    return User.objects.filter(pk=person.pk).values().get()


def test_agent_moves_a_customer_and_renames_them(agent, acme_customer, globex):
    changed = update_person(
        acme_customer, acting_user=agent, name=" Carol  B. ", organization=globex
    )

    acme_customer.refresh_from_db()
    assert changed == ["name", "organization"]
    assert (acme_customer.name, acme_customer.organization) == ("Carol B.", globex)


def test_agent_cannot_make_anyone_admin(agent, acme_customer, vendor):
    before = person_state(acme_customer)

    with pytest.raises(AccountError) as caught:
        update_person(
            acme_customer, acting_user=agent, role=User.Role.ADMIN, organization=vendor
        )

    assert (caught.value.code, caught.value.status) == ("not_allowed", 403)
    assert "admins do the rest" in caught.value.message
    assert person_state(acme_customer) == before


def test_sending_unchanged_values_is_never_refused(agent, acme_customer, acme):
    changed = update_person(
        acme_customer,
        acting_user=agent,
        name=acme_customer.name,
        role=User.Role.CUSTOMER,
        organization=acme,
        is_active=True,
    )
    assert changed == []


def test_agent_changes_no_staff_member(agent, other_agent):
    with pytest.raises(AccountError) as caught:
        update_person(other_agent, acting_user=agent, name="Samantha")
    assert caught.value.code == "not_allowed"


def test_promoting_to_admin_opens_the_django_admin_and_demoting_closes_it(
    admin_user, agent
):
    update_person(agent, acting_user=admin_user, role=User.Role.ADMIN)
    agent.refresh_from_db()
    assert (agent.role, agent.is_staff, agent.is_superuser) == ("admin", True, True)

    update_person(agent, acting_user=admin_user, role=User.Role.AGENT)
    agent.refresh_from_db()
    assert (agent.role, agent.is_staff, agent.is_superuser) == ("agent", False, False)


@pytest.mark.parametrize(
    ("target", "role", "org", "message"),
    [
        ("acme_customer", "agent", None, "vendor organization"),
        ("acme_customer", None, "polyglot", "customer organization"),
        ("agent", "partner_agent", "vendor", "partner organization"),
        ("agent", None, "acme", "vendor organization"),
    ],
)
def test_role_and_organization_must_fit(
    request, admin_user, target, role, org, message
):
    person = request.getfixturevalue(target)
    organization = request.getfixturevalue(org) if org else None
    before = person_state(person)

    with pytest.raises(AccountError) as caught:
        update_person(
            person, acting_user=admin_user, role=role, organization=organization
        )

    assert caught.value.code == "organization_mismatch"
    assert message in caught.value.message
    assert person_state(person) == before


def test_admin_moves_a_customer_onto_the_desk(admin_user, acme_customer, vendor):
    update_person(
        acme_customer, acting_user=admin_user, role=User.Role.AGENT, organization=vendor
    )
    acme_customer.refresh_from_db()
    assert (acme_customer.role, acme_customer.organization) == ("agent", vendor)


@pytest.mark.parametrize(("field", "value"), [("role", "agent"), ("is_active", False)])
def test_admin_cannot_demote_or_deactivate_themselves(admin_user, field, value):
    before = person_state(admin_user)

    with pytest.raises(AccountError) as caught:
        update_person(admin_user, acting_user=admin_user, **{field: value})

    assert (caught.value.code, caught.value.status) == ("not_allowed", 403)
    assert "your own role" in caught.value.message
    assert person_state(admin_user) == before


@pytest.mark.parametrize(
    ("name", "code"), [("  ", "name_required"), ("x" * 151, "name_too_long")]
)
def test_person_needs_a_name(agent, acme_customer, name, code):
    with pytest.raises(AccountError) as caught:
        update_person(acme_customer, acting_user=agent, name=name)
    assert caught.value.code == code


def test_deactivated_person_cannot_sign_in_or_use_tokens(admin_user, acme_customer):
    acme_customer.set_password("correct horse battery")
    acme_customer.save()
    _, raw = create_api_token(acme_customer, name="ci")
    assert user_for_token(raw) == acme_customer

    update_person(acme_customer, acting_user=admin_user, is_active=False)

    assert user_for_token(raw) is None
    assert (
        authenticate(email=acme_customer.email, password="correct horse battery")
        is None
    )
    update_person(acme_customer, acting_user=admin_user, is_active=True)
    assert user_for_token(raw) == acme_customer  # reactivating restores the token
