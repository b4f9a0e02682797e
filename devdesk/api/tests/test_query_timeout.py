"""A query PostgreSQL cancels (statement_timeout) is a clear 503, never a stack trace."""

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.utils import OperationalError
from django.urls import reverse
from psycopg.errors import QueryCanceled

from devdesk.lib.db import is_query_timeout
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db


def cancelled(*args, **kwargs):
    # What Django raises when PostgreSQL cancels a statement: its OperationalError
    # with psycopg's QueryCanceled as the cause.
    try:
        raise QueryCanceled("canceling statement due to statement timeout")
    except QueryCanceled as exc:
        raise OperationalError(*exc.args) from exc


def test_api_answers_503_query_timeout(api, monkeypatch, acme_customer):
    # given
    monkeypatch.setattr("devdesk.api.tickets.filter_tickets", cancelled)

    # when
    response = api("GET", "/api/tickets", as_=acme_customer)

    # then
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "query_timeout"
    assert "took too long" in body["message"]
    assert "Traceback" not in response.content.decode()


def test_api_other_operational_errors_stay_500(api, monkeypatch, acme_customer):
    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("devdesk.api.tickets.filter_tickets", broken)
    response = api("GET", "/api/tickets", as_=acme_customer)
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"


def test_page_answers_503_with_the_error_page(login, monkeypatch, acme_customer):
    # given
    make_ticket(acme_customer)
    monkeypatch.setattr("devdesk.tickets.views.portal.paginate", cancelled)

    # when
    response = login(acme_customer).get(reverse("portal:ticket-list"))

    # then
    assert response.status_code == 503
    page = response.content.decode()
    assert "took too long" in page
    assert "Traceback" not in page
    assert "QueryCanceled" not in page


def test_postgresql_connection_has_the_statement_timeout():
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setting FROM pg_settings WHERE name = 'statement_timeout'"
        )
        (value,) = cursor.fetchone()
    assert value == str(settings.DB_STATEMENT_TIMEOUT_MS)


def sleep_past_a_50ms_timeout():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 50")
        cursor.execute("SELECT pg_sleep(2)")


def test_a_cancelled_postgresql_query_is_recognised():
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is a PostgreSQL setting")
    with pytest.raises(OperationalError) as caught:
        sleep_past_a_50ms_timeout()
    assert is_query_timeout(caught.value)
