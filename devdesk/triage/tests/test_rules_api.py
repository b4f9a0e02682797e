"""/api/rules: admins change rules, agents read them, nobody else sees them."""

from __future__ import annotations

from json import dumps

import pytest

from devdesk.api.tests.conftest import _authorization
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.tickets.tests.factories import MacroFactory, make_ticket
from devdesk.triage.models import Rule, RuleFiring
from devdesk.triage.tests.rules_helpers import act, cond, make_rule

pytestmark = pytest.mark.django_db

URGENT = {
    "name": "Production down",
    "trigger": "ticket_created",
    "conditions": [cond("text", "contains", ["production down"])],
    "actions": [act("set_priority", "urgent"), act("add_tag", ["prod-down"])],
}


@pytest.fixture
def api(client):  # type: ignore[no-untyped-def]
    """``api(method, path, as_=user, json=...)`` through Django's test client."""

    def call(method, path, *, as_, json=None):  # type: ignore[no-untyped-def]
        kwargs = {"headers": _authorization(as_)}
        if json is not None:
            kwargs.update(data=dumps(json), content_type="application/json")
        return getattr(client, method.lower())(path, **kwargs)

    return call


@pytest.fixture
def rule(admin_user):  # type: ignore[no-untyped-def]
    return make_rule(admin_user, name="Tag all", actions=[act("add_tag", "seen")])


def test_an_admin_creates_a_rule_and_reads_it_back(api, admin_user):
    response = api("POST", "/api/rules", as_=admin_user, json=URGENT)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["actions"] == [
        {"type": "set_priority", "value": 4},
        {"type": "add_tag", "value": ["prod-down"]},
    ]
    again = api("GET", response["Location"], as_=admin_user).json()
    assert again["name"] == "Production down"


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({**URGENT, "colour": "red"}, 422, "invalid_input"),
        ({**URGENT, "trigger": "sometimes"}, 422, "invalid_input"),
        (
            {**URGENT, "conditions": [cond("mood", "is", "sad")]},
            400,
            "unknown_condition",
        ),
        (
            {**URGENT, "conditions": [cond("priority", "is", "huge")]},
            400,
            "invalid_value",
        ),
        (
            {**URGENT, "actions": [act("add_tag", "a"), act("remove_tag", "a")]},
            400,
            "contradictory_actions",
        ),
        (
            {
                **URGENT,
                "actions": [act("set_status", "solved"), act("set_status", "open")],
            },
            400,
            "contradictory_actions",
        ),
        ({**URGENT, "actions": []}, 400, "actions_required"),
        ({**URGENT, "trigger": "time_based"}, 400, "time_condition_required"),
    ],
)
def test_a_bad_rule_is_refused_and_nothing_is_saved(
    api, admin_user, payload, status, code
):
    response = api("POST", "/api/rules", as_=admin_user, json=payload)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert not Rule.objects.exists()


def test_a_loop_is_explained_in_the_answer(api, admin_user):
    MacroFactory(name="Ack", body="Thanks")
    payload = {
        "name": "Acknowledge",
        "trigger": "message_added",
        "actions": [act("send_macro", "Ack")],
    }

    response = api("POST", "/api/rules", as_=admin_user, json=payload)

    assert response.status_code == 201
    assert "cannot loop" in response.json()["notes"][0]


def test_patch_changes_reorders_and_switches_off(api, admin_user, rule):
    first = make_rule(admin_user, name="First", actions=[act("add_tag", "one")])
    assert rule.position == 0
    assert first.position == 1

    response = api(
        "PATCH",
        f"/api/rules/{first.pk}",
        as_=admin_user,
        json={"position": 0, "is_active": False},
    )

    assert response.status_code == 200
    assert response.json()["position"] == 0
    assert response.json()["is_active"] is False
    rule.refresh_from_db()
    assert rule.position == 1


def test_a_refused_patch_changes_nothing(api, admin_user, rule):
    response = api(
        "PATCH",
        f"/api/rules/{rule.pk}",
        as_=admin_user,
        json={"name": "Renamed", "actions": [act("set_priority", "extreme")]},
    )

    assert response.status_code == 400
    rule.refresh_from_db()
    assert rule.name == "Tag all"


def test_null_is_refused(api, admin_user, rule):
    response = api(
        "PATCH", f"/api/rules/{rule.pk}", as_=admin_user, json={"name": None}
    )

    assert response.status_code == 422


def test_delete(api, admin_user, rule):
    response = api("DELETE", f"/api/rules/{rule.pk}", as_=admin_user)

    assert response.status_code == 204
    assert not Rule.objects.exists()
    assert api("GET", f"/api/rules/{rule.pk}", as_=admin_user).status_code == 404


def test_preview_shows_what_would_change_and_changes_nothing(
    api,
    admin_user,
    acme_customer,
    mailoutbox,
):
    # given tickets that exist before the rule
    down = make_ticket(acme_customer, subject="Production down in eu-west")
    calm = make_ticket(acme_customer, subject="How do I paginate?")
    events_before = TicketEvent.objects.count()
    payload = {
        **{k: URGENT[k] for k in ("trigger", "conditions")},
        "actions": [*URGENT["actions"], act("notify", admin_user.email)],
        "last": 10,
    }

    response = api("POST", "/api/rules/preview", as_=admin_user, json=payload)

    assert response.status_code == 200
    rows = {row["number"]: row for row in response.json()["tickets"]}
    assert rows[down.number]["matches"] is True
    assert rows[down.number]["would"] == [
        "priority Normal → Urgent",
        "add tag prod-down",
        f"e-mail {admin_user.email}",
    ]
    assert rows[calm.number] == {
        "number": calm.number,
        "subject": calm.subject,
        "matches": False,
        "would": [],
    }
    # nothing changed: no events, no firings, no mail, the ticket as it was
    assert TicketEvent.objects.count() == events_before
    assert not RuleFiring.objects.exists()
    assert mailoutbox == []
    down.refresh_from_db()
    assert down.priority == Ticket.Priority.NORMAL
    assert not down.tags.exists()


def test_preview_of_a_saved_rule(api, agent, admin_user, acme_customer):
    saved = make_rule(admin_user, **{k: v for k, v in URGENT.items() if k != "trigger"})
    make_ticket(acme_customer, subject="production down!")
    make_ticket(acme_customer, subject="fine")

    response = api("GET", f"/api/rules/{saved.pk}/preview?last=1", as_=agent)

    assert response.status_code == 200
    assert len(response.json()["tickets"]) == 1
    assert response.json()["matched"] == 0  # the newest ticket is the calm one


def test_types_lists_every_condition_and_action(api, agent):
    body = api("GET", "/api/rules/types", as_=agent).json()

    assert {"priority", "text", "hours_in_status"} <= {
        c["type"] for c in body["conditions"]
    }
    assert {"send_macro", "escalate", "assign_on_shift"} <= {
        a["type"] for a in body["actions"]
    }


READS = [
    ("GET", "/api/rules"),
    ("GET", "/api/rules/types"),
    ("GET", "/api/rules/{id}"),
    ("GET", "/api/rules/{id}/preview"),
]
WRITES = [
    ("POST", "/api/rules"),
    ("PATCH", "/api/rules/{id}"),
    ("DELETE", "/api/rules/{id}"),
]
EXPECTED = {
    # persona: (status for reads, status for writes)
    "admin_user": (200, None),
    "agent": (200, 403),
    "engineer": (403, 403),
    "partner_agent": (403, 403),
    "acme_customer": (403, 403),
    "globex_customer": (403, 403),
    None: (401, 401),
}


@pytest.mark.parametrize("persona", list(EXPECTED))
@pytest.mark.parametrize(("method", "path"), READS + WRITES)
def test_permission_matrix(api, request, rule, persona, method, path):
    who = request.getfixturevalue(persona) if persona else None
    read_status, write_status = EXPECTED[persona]
    body = {
        "name": "New one",
        "trigger": "ticket_created",
        "actions": [act("add_tag", "x")],
    }

    response = api(
        method,
        path.format(id=rule.pk),
        as_=who,
        json=body
        if method == "POST"
        else ({"name": "Other"} if method == "PATCH" else None),
    )

    expected = read_status if method == "GET" else write_status
    if expected is None:  # admins: the write succeeds
        assert response.status_code in {200, 201, 204}
    elif expected == 200:
        assert response.status_code == 200
    else:
        assert response.status_code == expected
        assert Rule.objects.get(pk=rule.pk).name == "Tag all"
        assert "Tag all" not in response.content.decode()
