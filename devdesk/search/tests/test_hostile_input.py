"""Whatever is typed into a search box, the answer is a list (maybe empty), never an
error: quotes, stars, dashes, OR, parentheses, FTS5 and tsquery syntax, control
characters."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devdesk.accounts.services import create_api_token
from devdesk.search.services import match_tickets
from devdesk.tickets.models import Ticket
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db

NASTY = [
    '"',
    '"""',
    'say "hello',
    "*",
    "foo*",
    "-",
    "--foo",
    "- -",
    "OR",
    "OR OR OR",
    "foo OR",
    "AND NOT",
    "NEAR(foo bar, 3)",
    "(",
    "())(",
    "{subject}: foo",
    "subject:foo",
    "^foo",
    "foo & bar | !baz",
    "'quoted' <-> 'op'",
    "foo:*",
    "\\",
    "100%",
    "a" * 200,
    "x-ray -x-ray",
    "ünïcödé ß 日本語 🚀",
    "\u200b\u200e",
    "' OR 1=1 --",
    "); DROP TABLE tickets_ticket; --",
]


@pytest.fixture
def some_tickets(acme_customer):
    make_ticket(acme_customer, subject="Foo bar baz", body='Error "x-ray" (100%)')


@pytest.mark.parametrize("text", NASTY)
@pytest.mark.parametrize("include_internal", [True, False])
def test_service_answers_any_text(some_tickets, text, include_internal):
    list(match_tickets(Ticket.objects.all(), text, include_internal=include_internal))


@pytest.mark.parametrize("text", NASTY)
def test_pages_and_api_answer_any_text(
    some_tickets, client, login, agent, acme_customer, text
):
    desk = login(agent).get(reverse("desk:inbox"), {"view": "all", "q": text})
    assert desk.status_code == 200
    portal = login(acme_customer).get(reverse("portal:ticket-list"), {"q": text})
    assert portal.status_code == 200
    _, token = create_api_token(agent, name="tests")
    api = client.get(
        "/api/tickets", {"q": text}, headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 200


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=st.text(
        alphabet=st.one_of(
            st.sampled_from(list("\"*-()[]{}:^!&|<>\\'.,;+~@#OR ")),
            st.characters(),
        ),
        max_size=60,
    ),
    include_internal=st.booleans(),
)
def test_service_never_raises(some_tickets, text, include_internal):
    list(match_tickets(Ticket.objects.all(), text, include_internal=include_internal))
