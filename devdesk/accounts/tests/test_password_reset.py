"""Resetting a forgotten password by e-mail."""

import re

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db

RESET = reverse("accounts:password-reset")
NEW_PASSWORD = "violet-kettle-sunrise-42"


def test_reset_link_sets_a_new_password_and_signs_in(client, acme_customer, settings):
    settings.SITE_URL = "https://support.example.test"
    settings.ALLOWED_HOSTS = [
        "*"
    ]  # even behind a lax proxy, links never use the Host header
    response = client.post(RESET, {"email": "CAROL@acme.test"}, HTTP_HOST="evil.test")
    assert response["Location"] == reverse("accounts:password-reset-sent")
    link = re.search(
        r"https://support\.example\.test(/\S+)", mail.outbox[-1].body
    ).group(1)

    form_page = client.get(
        link, follow=True
    )  # Django swaps the token for a session key
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response["Location"] == reverse("home")
    acme_customer.refresh_from_db()
    assert acme_customer.check_password(NEW_PASSWORD)
    assert client.session["_auth_user_id"] == str(acme_customer.pk)
    assert "evil.test" not in mail.outbox[-1].body


def test_unknown_address_gets_the_same_answer_and_no_mail(client, db):
    response = client.post(RESET, {"email": "nobody@acme.test"})
    assert response["Location"] == reverse("accounts:password-reset-sent")
    assert not mail.outbox


def test_broken_reset_link_says_so(client, acme_customer):
    response = client.get(
        reverse("accounts:password-reset-confirm", args=["MQ", "bad-token"])
    )
    assert "This reset link does not work" in response.content.decode()
