"""Signing in and out with an e-mail address."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")


def test_login_page_offers_sign_up_when_open(client, settings):
    settings.SIGNUP_OPEN = True
    content = client.get(LOGIN).content.decode()
    assert 'type="email"' in content
    assert reverse("accounts:signup") in content


def test_login_page_names_the_product_not_the_host(client, settings):
    settings.SITE_NAME = "Skyforge Support"
    assert "Sign in to Skyforge Support" in client.get(LOGIN).content.decode()


def test_login_page_hides_sign_up_when_closed(client, settings):
    settings.SIGNUP_OPEN = False
    assert reverse("accounts:signup") not in client.get(LOGIN).content.decode()


def test_sign_in_with_email_in_any_case_goes_to_the_portal(client, acme_customer):
    response = client.post(
        LOGIN,
        {"username": "Carol@ACME.test", "password": "correct horse battery"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("portal:ticket-list")
    assert response.context["user"] == acme_customer


def test_sign_in_keeps_the_page_asked_for(client, acme_customer):
    target = reverse("portal:ticket-new")
    response = client.post(
        LOGIN + f"?next={target}",
        {
            "username": acme_customer.email,
            "password": "correct horse battery",
            "next": target,
        },
    )
    assert response["Location"] == target


def test_wrong_password_answers_400_with_a_message(client, acme_customer):
    response = client.post(LOGIN, {"username": acme_customer.email, "password": "nope"})
    assert response.status_code == 400
    assert (
        "This e-mail address and password do not match an account."
        in response.content.decode()
    )
    assert "_auth_user_id" not in client.session


def test_logout_needs_post_and_signs_out(login, acme_customer):
    client = login(acme_customer)
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


def test_home_sends_customers_to_the_portal_and_staff_to_the_desk(
    login, acme_customer, agent
):
    assert login(acme_customer).get("/")["Location"] == reverse("portal:ticket-list")
    assert login(agent).get("/")["Location"] == reverse("desk:inbox")
