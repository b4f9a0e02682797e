"""Password guessing and mail flooding are stopped after a few attempts."""

import pytest
from django.core import mail

pytestmark = pytest.mark.django_db


def sign_in(client, email, password):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_sign_in_is_refused_after_ten_failures_even_with_the_right_password(
    client, acme_customer
):
    for _ in range(10):
        assert sign_in(client, acme_customer.email, "wrong").status_code == 400
    response = sign_in(client, acme_customer.email, "correct horse battery")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_successful_sign_in_resets_the_count(client, acme_customer):
    for _ in range(9):
        sign_in(client, acme_customer.email, "wrong")
    assert (
        sign_in(client, acme_customer.email, "correct horse battery").status_code == 302
    )
    client.logout()
    for _ in range(9):
        assert sign_in(client, acme_customer.email, "wrong").status_code == 400
    assert (
        sign_in(client, acme_customer.email, "correct horse battery").status_code == 302
    )


def test_failures_for_one_address_do_not_lock_out_another(
    client, acme_customer, globex_customer
):
    for _ in range(10):
        sign_in(client, acme_customer.email, "wrong")
    assert (
        sign_in(client, globex_customer.email, "correct horse battery").status_code
        == 302
    )


def test_password_reset_mail_is_limited_per_address(client, acme_customer):
    statuses = [
        client.post(
            "/accounts/password/reset/", {"email": acme_customer.email}
        ).status_code
        for _ in range(7)
    ]
    assert statuses == [302] * 5 + [429] * 2
    assert len(mail.outbox) == 5
