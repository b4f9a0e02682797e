"""Inviting people, and accepting an invitation."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from devdesk.accounts.models import Invitation, User
from devdesk.accounts.services import invite

pytestmark = pytest.mark.django_db

INVITE = reverse("accounts:invite")
PASSWORD = "violet-kettle-sunrise-42"


@pytest.fixture
def invitation(acme, acme_customer):
    return invite(
        email="ivan@acme.test",
        organization=acme,
        role=User.Role.CUSTOMER,
        invited_by=acme_customer,
    )


def accept_url(raw: str) -> str:
    return reverse("accounts:accept-invitation", args=[raw])


def test_accepting_an_invitation_creates_the_account_and_signs_in(
    client, acme, invitation
):
    _, raw = invitation
    page = client.get(accept_url(raw))
    assert "Join Acme" in page.content.decode()

    response = client.post(accept_url(raw), {"name": "Ivan", "password": PASSWORD})

    user = User.objects.get(email="ivan@acme.test")
    assert (user.organization, user.role) == (acme, User.Role.CUSTOMER)
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_invitation_can_be_used_once(client, invitation):
    _, raw = invitation
    client.post(accept_url(raw), {"name": "Ivan", "password": PASSWORD})
    client.logout()
    response = client.get(accept_url(raw))
    assert response.status_code == 404
    assert "This invitation does not work" in response.content.decode()


def test_expired_invitation_is_refused(client, invitation):
    record, raw = invitation
    Invitation.objects.filter(pk=record.pk).update(
        expires_at=record.created_at - timedelta(seconds=1)
    )
    response = client.post(accept_url(raw), {"name": "Ivan", "password": PASSWORD})
    assert response.status_code == 404
    assert "has expired" in response.content.decode()
    assert not User.objects.filter(email="ivan@acme.test").exists()


def test_unknown_token_is_refused(client, db):
    assert client.get(accept_url("made-up-token")).status_code == 404


def test_weak_password_on_acceptance_is_refused(client, invitation):
    _, raw = invitation
    response = client.post(
        accept_url(raw), {"name": "Ivan", "password": "ivan@acme.test"}
    )
    assert response.status_code == 400
    assert not User.objects.filter(email="ivan@acme.test").exists()


def test_customer_invites_a_colleague_to_their_own_organization(
    login, acme, globex, acme_customer, django_capture_on_commit_callbacks
):
    # An organization field sent by hand is ignored: customers only invite to their own.
    with django_capture_on_commit_callbacks(execute=True):
        response = login(acme_customer).post(
            INVITE, {"email": "Zoe@acme.test", "organization": globex.pk}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.organization, invitation.role) == (
        "zoe@acme.test",
        acme,
        "customer",
    )
    assert mail.outbox[-1].to == ["zoe@acme.test"]
    assert "/accounts/invitation/" in mail.outbox[-1].body


def test_agent_invites_to_any_customer_organization(login, agent, globex, vendor):
    client = login(agent)
    page = client.get(INVITE).content.decode()
    assert "Globex" in page
    assert "Skyforge" not in page  # the vendor is not a customer organization
    client.post(INVITE, {"email": "gus@globex.test", "organization": globex.pk})
    assert Invitation.objects.get().organization == globex


def test_agent_cannot_invite_to_the_vendor_organization(login, agent, vendor):
    response = login(agent).post(
        INVITE, {"email": "mole@skyforge.test", "organization": vendor.pk}
    )
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_inviting_an_existing_account_is_refused(login, acme_customer, acme_colleague):
    response = login(acme_customer).post(INVITE, {"email": acme_colleague.email})
    assert response.status_code == 400
    assert "already has an account" in response.content.decode()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("acme_customer", 200),
        ("agent", 200),
        ("admin_user", 200),
        ("engineer", 403),
        ("partner_agent", 403),
    ],
)
def test_who_may_open_the_invite_page(request, login, who, status):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    assert login(user).get(INVITE).status_code == status
