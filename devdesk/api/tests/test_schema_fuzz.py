"""Property-based fuzzing of every API operation from its own OpenAPI description.

Schemathesis generates requests from ``/api/openapi.json`` and sends them through the
WSGI app as an agent and as a customer. The invariants: never a server error, and
every answer, errors included, is JSON.
"""

import pytest
import schemathesis
from django.core.signals import request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from devdesk.accounts.services import create_api_token
from devdesk.tickets.tests.factories import make_ticket, reply
from devdesk.wsgi import application

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_test_connection():
    # Called straight through WSGI, each request would close "old" connections,
    # including the test's own inside its transaction; Django's test client avoids
    # that the same way.
    request_started.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)


def answers_json(ctx, response, case):
    headers = {name.lower(): values for name, values in response.headers.items()}
    content_type = headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), (
        f"{case.method} {case.path} answered {response.status_code} as {content_type!r}"
    )


@pytest.mark.parametrize("who", ["agent", "acme_customer"])
def test_no_operation_answers_with_a_server_error(request, acme_customer, agent, who):
    ticket = make_ticket(acme_customer)
    reply(ticket, agent, "A first answer")
    token = create_api_token(request.getfixturevalue(who), name="fuzz")[1]
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, answers_json],
            )

        fuzz()


def test_a_post_to_an_unknown_api_path_answers_json_not_a_csrf_page(client, agent):
    # Found by the fuzzer: a negative number matches no route, and the catch-all
    # answered with Django's HTML CSRF page.
    token = create_api_token(agent, name="t")[1]
    client = type(client)(enforce_csrf_checks=True)
    response = client.post(
        "/api/tickets/-5/merge", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
