"""The permission matrix over real HTTP: persona by endpoint, each with its status.

A ticket someone may not see is 404 on every endpoint (never 403, so nobody learns
it exists); one they may see but not change is 403; no or a bad token is 401.
"""

import pytest

from devdesk.api.tests.conftest import BAD_TOKEN
from devdesk.tickets.models import Message
from devdesk.tickets.tests.factories import reply

PERSONAS = [
    "admin_user",
    "agent",
    "engineer",
    "partner_agent",
    "acme_customer",
    "globex_customer",
    "anonymous",
    "bad_token",
]


@pytest.fixture
def tickets(matrix_tickets):
    return matrix_tickets


def caller(request, who):
    if who == "anonymous":
        return None
    if who == "bad_token":
        return BAD_TOKEN
    return request.getfixturevalue(who)


# --- who sees which ticket -------------------------------------------------------

VISIBLE = {
    "admin_user": {"acme_plain", "acme_escalated", "globex_partnered"},
    "agent": {"acme_plain", "acme_escalated", "globex_partnered"},
    "engineer": {"acme_escalated"},
    "partner_agent": {"globex_partnered"},
    "acme_customer": {"acme_plain", "acme_escalated"},
    "globex_customer": {"globex_partnered"},
    "anonymous": set(),
    "bad_token": set(),
}


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("which", ["acme_plain", "acme_escalated", "globex_partnered"])
def test_ticket_detail_and_list_show_only_visible_tickets(
    request, http, tickets, who, which
):
    as_ = caller(request, who)
    number = tickets[which].number

    detail = http("GET", f"/api/tickets/{number}", as_=as_)
    listing = http("GET", "/api/tickets", as_=as_, params={"limit": 100})

    if who in {"anonymous", "bad_token"}:
        assert (detail.status_code, listing.status_code) == (401, 401)
        assert detail.json()["code"] == "unauthenticated"
        return
    listed = {t["number"] for t in listing.json()["items"]}
    if which in VISIBLE[who]:
        assert detail.status_code == 200
        assert detail.json()["number"] == number
        assert number in listed
    else:
        assert detail.status_code == 404
        assert detail.json()["code"] == "not_found"
        assert number not in listed


# --- what each persona may do to a ticket they can (or cannot) see -----------------

# The ticket each persona acts on: the partner agent on the one routed to them, the
# Globex customer on Acme's (which they must not find), everyone else on the
# escalated Acme ticket.
TARGET = {"partner_agent": "globex_partnered"}

EXPECTED = {
    #                admin agent  eng  partner acme  globex anon bad
    "read":         (200, 200, 200, 200, 200, 404, 401, 401),
    "messages":     (200, 200, 200, 200, 200, 404, 401, 401),
    "events":       (200, 200, 200, 200, 200, 404, 401, 401),
    "reply":        (201, 201, 403, 201, 201, 404, 401, 401),
    "note":         (201, 201, 201, 201, 403, 404, 401, 401),
    "status":       (200, 200, 403, 200, 403, 404, 401, 401),
    "priority":     (200, 200, 403, 403, 403, 404, 401, 401),
    "assignee":     (200, 200, 403, 403, 403, 404, 401, 401),
    "owner":        (200, 200, 403, 403, 403, 404, 401, 401),
    "tags":         (200, 200, 403, 403, 403, 404, 401, 401),
    "merge":        (200, 200, 403, 403, 403, 404, 401, 401),
    "split":        (201, 201, 403, 403, 403, 404, 401, 401),
}  # fmt: skip


def _action(name, ticket, tickets, agent):
    base = f"/api/tickets/{ticket.number}"
    first_message = ticket.messages.order_by("created_at", "id").first()
    return {
        "read": ("GET", base, None),
        "messages": ("GET", f"{base}/messages", None),
        "events": ("GET", f"{base}/events", None),
        "reply": ("POST", f"{base}/messages", {"body": "Here is more detail."}),
        "note": (
            "POST",
            f"{base}/messages",
            {"body": "Looks like #42", "internal": True},
        ),
        "status": ("PATCH", base, {"status": "open"}),
        "priority": ("PATCH", base, {"priority": 4}),
        "assignee": ("PATCH", base, {"assignee": agent.pk}),
        "owner": ("PATCH", base, {"owner": agent.pk}),
        "tags": ("PATCH", base, {"tags": ["sdk"]}),
        "merge": ("POST", f"{base}/merge", {"into": tickets["acme_plain"].number}),
        "split": ("POST", f"{base}/split", {"message_ids": [first_message.pk]}),
    }[name]


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("action", list(EXPECTED))
def test_permission_matrix(request, http, tickets, agent, who, action):
    ticket = tickets[TARGET.get(who, "acme_escalated")]
    if action == "split":  # leave a message behind: a split may not take everything
        reply(ticket, agent, "One more thing", kind=Message.Kind.INTERNAL)
    method, path, body = _action(action, ticket, tickets, agent)

    response = http(method, path, as_=caller(request, who), json=body)

    expected = EXPECTED[action][PERSONAS.index(who)]
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert set(response.json()) >= {"code", "message"}


def test_customer_never_reads_internal_notes(http, tickets, acme_customer, agent):
    number = tickets["acme_plain"].number

    as_customer = http(
        "GET", f"/api/tickets/{number}/messages", as_=acme_customer
    ).json()
    as_agent = http("GET", f"/api/tickets/{number}/messages", as_=agent).json()

    assert [m["internal"] for m in as_agent["items"]] == [False, False, True]
    assert [m["internal"] for m in as_customer["items"]] == [False, False]
    assert "legacy SDK" not in str(as_customer)


def test_customer_history_leaves_out_escalation_and_notes(
    http, tickets, acme_customer, agent
):
    number = tickets["acme_escalated"].number

    as_customer = http("GET", f"/api/tickets/{number}/events", as_=acme_customer).json()
    as_agent = http("GET", f"/api/tickets/{number}/events", as_=agent).json()

    agent_kinds = {e["kind"] for e in as_agent["items"]}
    customer_kinds = {e["kind"] for e in as_customer["items"]}
    assert {"escalated", "message_added"} <= agent_kinds
    assert customer_kinds == {"created", "status_changed"}
    assert "SDK Engineering" not in str(as_customer)
