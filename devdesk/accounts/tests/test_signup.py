"""Sign-up: prove the address by e-mail, then choose a password; join by domain."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from devdesk.accounts.models import Organization, User

pytestmark = pytest.mark.django_db

SIGNUP = reverse("accounts:signup")
PASSWORD = "violet-kettle-sunrise-42"


def confirm_link() -> str:
    """The path of the link in the last e-mail sent."""
    match = re.search(r"https?://[^/\s]+(/accounts/signup/\S+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def start(client, **fields) -> None:
    data = {"name": "Nina New", "email": "nina@acme.test", "company": "", **fields}
    response = client.post(SIGNUP, data)
    assert response.status_code == 200, response.content.decode()
    assert "Check your inbox" in response.content.decode()


def test_sign_up_joins_the_organization_of_the_email_domain(
    client, acme, acme_customer
):
    # given: step one e-mails a link and creates nothing yet
    start(client, email="Nina@Acme.test", company="Acme Corp")
    assert mail.outbox[-1].to == ["nina@acme.test"]
    assert not User.objects.filter(email="nina@acme.test").exists()

    # when: the link is opened and a password chosen
    response = client.post(confirm_link(), {"name": "Nina New", "password": PASSWORD})

    # then: she is a customer of Acme, signed in, and sees Acme's portal
    user = User.objects.get(email="nina@acme.test")
    assert (user.organization, user.role, user.name) == (
        acme,
        User.Role.CUSTOMER,
        "Nina New",
    )
    assert user.check_password(PASSWORD)
    assert response["Location"] == reverse("home")
    assert client.get(reverse("portal:ticket-list")).status_code == 200


def test_sign_up_from_an_unknown_domain_creates_the_company(client):
    start(client, email="lee@initech.test", company="Initech")
    client.post(confirm_link(), {"name": "Lee", "password": PASSWORD})
    user = User.objects.get(email="lee@initech.test")
    assert user.organization.name == "Initech"
    assert user.organization.kind == Organization.Kind.CUSTOMER


def test_duplicate_email_is_refused(client, acme_customer):
    response = client.post(SIGNUP, {"name": "Carol again", "email": "CAROL@acme.test"})
    assert response.status_code == 400
    assert "An account with this e-mail address exists" in response.content.decode()
    assert not mail.outbox


def test_link_used_after_the_account_exists_is_refused(client, acme):
    start(client)
    link = confirm_link()
    client.post(link, {"name": "Nina", "password": PASSWORD})
    client.logout()
    response = client.post(link, {"name": "Nina twin", "password": PASSWORD})
    assert response.status_code == 400
    assert "An account with this e-mail address exists" in response.content.decode()
    assert User.objects.filter(email="nina@acme.test").count() == 1


def test_weak_password_is_refused_with_the_reason(client, acme):
    start(client)
    response = client.post(confirm_link(), {"name": "Nina New", "password": "12345678"})
    assert response.status_code == 400
    assert "This password is too common." in response.content.decode()
    assert not User.objects.filter(email="nina@acme.test").exists()


def test_tampered_link_is_refused(client, acme):
    start(client)
    response = client.get(confirm_link().replace("/signup/", "/signup/x"))
    assert response.status_code == 404
    assert "This sign-up link does not work" in response.content.decode()


def test_expired_link_is_refused(client, acme):
    start(client)
    link = confirm_link()
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        response = client.post(link, {"name": "Nina", "password": PASSWORD})
    assert response.status_code == 404
    assert not User.objects.filter(email="nina@acme.test").exists()


def test_sign_up_closed(client, settings):
    settings.SIGNUP_OPEN = False
    response = client.post(SIGNUP, {"name": "Nina", "email": "nina@acme.test"})
    assert response.status_code == 403
    assert "Sign-up is by invitation" in response.content.decode()
    assert not mail.outbox
