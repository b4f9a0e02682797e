"""Rate limits in the API: per token, per client address, and on submissions."""

import pytest

from devdesk.accounts.services import create_api_token
from devdesk.api.tests.conftest import BAD_TOKEN
from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db


def bearer(user):
    _, raw = create_api_token(user, name="rate tests")
    return f"Bearer {raw}"


def assert_rate_limited(response, window):
    assert response.status_code == 429, response.content
    assert response["Retry-After"] == str(window)
    body = response.json()
    assert body["code"] == "rate_limited"
    assert set(body) == {"code", "message"}
    assert "Too many requests" in body["message"] or "most allowed" in body["message"]


def test_one_token_over_its_minute_gets_429(api, settings, acme_customer):
    # given
    settings.API_RATE_PER_MINUTE = 3
    token = bearer(acme_customer)
    for _ in range(3):
        assert api("GET", "/api/tickets", as_=token).status_code == 200

    # when
    response = api("GET", "/api/tickets", as_=token)

    # then
    assert_rate_limited(response, 60)
    assert "this API token" in response.json()["message"]
    # another token of the same person has its own count
    assert api("GET", "/api/tickets", as_=bearer(acme_customer)).status_code == 200


def test_one_address_is_limited_with_or_without_a_valid_token(
    api, settings, acme_customer
):
    # given
    settings.API_RATE_PER_MINUTE_PER_IP = 3
    assert api("GET", "/api/tickets", as_=None).status_code == 401
    assert api("GET", "/api/tickets", as_=BAD_TOKEN).status_code == 401
    assert api("GET", "/api/tickets", as_=acme_customer).status_code == 200

    # when
    response = api("GET", "/api/tickets", as_=bearer(acme_customer))

    # then
    assert_rate_limited(response, 60)
    assert "this address" in response.json()["message"]
    assert_rate_limited(api("GET", "/api/tickets", as_=BAD_TOKEN), 60)


def test_limits_of_zero_are_off(api, settings, acme_customer):
    settings.API_RATE_PER_MINUTE = 0
    settings.API_RATE_PER_MINUTE_PER_IP = 0
    settings.SUBMISSIONS_PER_HOUR = 0
    token = bearer(acme_customer)
    for i in range(5):
        response = api(
            "POST", "/api/tickets", as_=token, json={"subject": f"#{i}", "body": "x"}
        )
        assert response.status_code == 201, response.content
    assert Ticket.objects.count() == 5


def test_new_tickets_over_the_hourly_limit_are_refused_and_not_written(
    api, settings, acme_customer
):
    # given
    settings.SUBMISSIONS_PER_HOUR = 2
    for i in range(2):
        response = api(
            "POST",
            "/api/tickets",
            as_=acme_customer,
            json={"subject": f"Ticket {i}", "body": "Please help."},
        )
        assert response.status_code == 201

    # when
    response = api(
        "POST",
        "/api/tickets",
        as_=acme_customer,
        json={"subject": "One too many", "body": "Please help."},
    )

    # then
    assert_rate_limited(response, 3600)
    assert Ticket.objects.count() == 2
    # reading goes on
    assert api("GET", "/api/tickets", as_=acme_customer).status_code == 200


def test_replies_count_with_new_tickets(api, settings, acme_customer):
    # given
    settings.SUBMISSIONS_PER_HOUR = 2
    ticket = make_ticket(acme_customer)
    messages_before = Message.objects.filter(ticket=ticket).count()
    path = f"/api/tickets/{ticket.number}/messages"
    assert api("POST", path, as_=acme_customer, json={"body": "1"}).status_code == 201
    response = api(
        "POST", "/api/tickets", as_=acme_customer, json={"subject": "s", "body": "b"}
    )
    assert response.status_code == 201

    # when
    response = api("POST", path, as_=acme_customer, json={"body": "3"})

    # then
    assert_rate_limited(response, 3600)
    assert Message.objects.filter(ticket=ticket).count() == messages_before + 1


def test_an_idempotent_retry_is_not_counted(api, settings, acme_customer):
    # given
    settings.SUBMISSIONS_PER_HOUR = 2
    body = {"subject": "Once", "body": "Only once."}
    retry = {"Idempotency-Key": "retry-me"}
    assert api("POST", "/api/tickets", as_=acme_customer, json=body, headers=retry)
    again = api("POST", "/api/tickets", as_=acme_customer, json=body, headers=retry)
    assert again.status_code == 200

    # when
    other = {"subject": "Another", "body": "A second one."}
    response = api("POST", "/api/tickets", as_=acme_customer, json=other)

    # then
    assert response.status_code == 201
    assert Ticket.objects.count() == 2
