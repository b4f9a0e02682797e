"""The settings page: profile, password, and personal API tokens."""

import re

import pytest
from django.urls import reverse

from devdesk.accounts.models import ApiToken
from devdesk.accounts.services import create_api_token, user_for_token

pytestmark = pytest.mark.django_db

SETTINGS = reverse("accounts:settings")
CREATE = reverse("accounts:token-create")


def revoke_url(token: ApiToken) -> str:
    return reverse("accounts:token-revoke", args=[token.pk])


def test_settings_needs_sign_in(client):
    response = client.get(SETTINGS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_profile_saves_name_and_time_zone(login, acme_customer):
    response = login(acme_customer).post(
        SETTINGS, {"name": "Carol A.", "time_zone": "Europe/Berlin"}
    )
    assert response["Location"] == SETTINGS
    acme_customer.refresh_from_db()
    assert (acme_customer.name, acme_customer.time_zone) == (
        "Carol A.",
        "Europe/Berlin",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Carol", "time_zone": "Mars/Olympus"}, "Select a valid choice."),
        ({"name": "  ", "time_zone": "UTC"}, "Tell us what to call you."),
    ],
)
def test_bad_profile_answers_400(login, acme_customer, data, message):
    response = login(acme_customer).post(SETTINGS, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    acme_customer.refresh_from_db()
    assert acme_customer.name == "Carol Acme"


def test_token_is_shown_once_and_works(login, acme_customer):
    # when
    response = login(acme_customer).post(CREATE, {"token-name": "CI pipeline"})

    # then: the raw value is on this page, with a curl example, and only here
    content = response.content.decode()
    raw = re.search(r'id="new-token"[^>]*>(dd_[\w-]+)<', content).group(1)
    assert f"Authorization: Bearer {raw}" in content
    assert "/api/tickets" in content
    assert "no-store" in response["Cache-Control"]
    assert user_for_token(raw) == acme_customer
    token = ApiToken.objects.get()
    assert token.name == "CI pipeline"
    assert raw not in login(acme_customer).get(SETTINGS).content.decode()
    assert raw not in token.key_hash


def test_token_list_shows_name_prefix_and_last_use(login, acme_customer):
    token, raw = create_api_token(acme_customer, name="Dashboard")
    user_for_token(raw)
    content = login(acme_customer).get(SETTINGS).content.decode()
    assert "Dashboard" in content
    assert f"{token.key_prefix}…" in content
    assert "never" not in content


def test_token_without_a_name_is_refused(login, acme_customer):
    response = login(acme_customer).post(CREATE, {"token-name": ""})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoked_token_no_longer_works(login, acme_customer):
    token, raw = create_api_token(acme_customer, name="Old laptop")
    response = login(acme_customer).post(revoke_url(token))
    assert response["Location"] == SETTINGS
    assert user_for_token(raw) is None
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_nobody_can_revoke_someone_elses_token(login, acme_customer, acme_colleague):
    token, raw = create_api_token(acme_customer, name="Mine")
    assert login(acme_colleague).post(revoke_url(token)).status_code == 404
    assert user_for_token(raw) == acme_customer


def test_tokens_of_other_people_are_not_listed(login, acme_customer, acme_colleague):
    create_api_token(acme_colleague, name="Dan's secret script")
    assert (
        "Dan&#x27;s secret script"
        not in login(acme_customer).get(SETTINGS).content.decode()
    )


def test_password_change(login, acme_customer):
    client = login(acme_customer)
    response = client.post(
        reverse("accounts:password-change"),
        {
            "old_password": "correct horse battery",
            "new_password1": "violet-kettle-sunrise-42",
            "new_password2": "violet-kettle-sunrise-42",
        },
    )
    assert response["Location"] == SETTINGS
    acme_customer.refresh_from_db()
    assert acme_customer.check_password("violet-kettle-sunrise-42")
    assert client.get(SETTINGS).status_code == 200  # still signed in


def test_password_change_with_wrong_old_password_answers_400(login, acme_customer):
    response = login(acme_customer).post(
        reverse("accounts:password-change"),
        {
            "old_password": "wrong",
            "new_password1": "violet-kettle-sunrise-42",
            "new_password2": "violet-kettle-sunrise-42",
        },
    )
    assert response.status_code == 400
    acme_customer.refresh_from_db()
    assert acme_customer.check_password("correct horse battery")
