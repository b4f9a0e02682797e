"""The desk's triage pages: permission matrix, settings forms, the ticket page's
impact and effort panel, duplicates, the waiting panel and the inbox's score sort."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devdesk.accounts.tests.factories import TeamFactory
from devdesk.tickets.models import Ticket
from devdesk.tickets.tests.factories import make_ticket, reply
from devdesk.triage import scoring
from devdesk.triage.models import RoutingPolicy, RoutingRule, Skill, TeamRouting

pytestmark = pytest.mark.django_db

SETTINGS = reverse("triage:settings")
WAITING = reverse("triage:waiting")


@pytest.fixture
def acme_ticket(acme_customer) -> Ticket:  # type: ignore[no-untyped-def]
    return make_ticket(acme_customer, subject="Acme webhooks")


def _as(request, persona):  # type: ignore[no-untyped-def]
    return request.getfixturevalue(persona) if persona else None


@pytest.mark.parametrize("url", [SETTINGS, WAITING, reverse("triage:rule-new")])
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("admin_user", 200),
        ("agent", 200),
        ("engineer", 404),
        ("partner_agent", 404),
        ("acme_customer", 404),
        ("globex_customer", 404),
        (None, 302),
    ],
)
def test_who_opens_the_triage_pages(request, login, url, persona, status):
    response = login(_as(request, persona)).get(url)

    assert response.status_code == status


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("admin_user", 302),
        ("agent", 403),
        ("acme_customer", 404),
        (None, 302),
    ],
)
def test_who_saves_the_formula(request, login, persona, status):
    response = login(_as(request, persona)).post(
        reverse("triage:policy-save"),
        {
            "formula": "affected * 7",
            "plan_weights": "enterprise = 3",
            "severity_weights": "normal = 1",
            "default_effort_hours": "2",
        },
    )

    assert response.status_code == status
    assert (scoring.current_policy().formula == "affected * 7") is (
        persona == "admin_user"
    )


def test_a_bad_formula_is_shown_with_its_reason_and_not_saved(login, admin_user):
    response = login(admin_user).post(
        reverse("triage:policy-save"),
        {
            "formula": "affected * nonsense",
            "plan_weights": "",
            "severity_weights": "normal = 1",
            "default_effort_hours": "2",
        },
    )

    assert response.status_code == 400
    assert "nonsense" in response.content.decode()
    assert scoring.current_policy().formula != "affected * nonsense"


def test_a_bad_weight_line_is_refused(login, admin_user):
    response = login(admin_user).post(
        reverse("triage:policy-save"),
        {
            "formula": "affected",
            "plan_weights": "enterprise three",
            "severity_weights": "normal = 1",
            "default_effort_hours": "2",
        },
    )

    assert response.status_code == 400
    assert "Line 1" in response.content.decode()


def test_admin_saves_routing_rules_team_methods_and_skills(login, admin_user, agent):
    team = TeamFactory(name="Support", slug="support")
    client = login(admin_user)

    routing_saved = client.post(
        reverse("triage:routing-save"),
        {"default_team": team.pk, f"team_{team.pk}": "least_open"},
    )
    rule_saved = client.post(
        reverse("triage:rule-new"),
        {
            "name": "German",
            "position": 1,
            "is_active": "on",
            "languages": "DE, at",
            "team": team.pk,
        },
    )
    skill_saved = client.post(
        reverse("triage:skill-save"), {"name": "Go ", "people": [agent.pk]}
    )

    assert [r.status_code for r in (routing_saved, rule_saved, skill_saved)] == [
        302,
        302,
        302,
    ]
    assert RoutingPolicy.objects.get(pk=1).default_team == team
    assert TeamRouting.objects.get(team=team).method == "least_open"
    assert RoutingRule.objects.get().languages == "de, at"
    assert Skill.objects.get().agents.get().user == agent


def test_a_rule_with_a_bad_language_is_refused(login, admin_user):
    team = TeamFactory(name="Support", slug="support")

    response = login(admin_user).post(
        reverse("triage:rule-new"),
        {"name": "x", "position": 1, "languages": "German!", "team": team.pk},
    )

    assert response.status_code == 400
    assert "not a language code" in response.content.decode()
    assert not RoutingRule.objects.exists()


def test_agents_cannot_change_routing(login, agent):
    team = TeamFactory(name="Support", slug="support")

    response = login(agent).post(
        reverse("triage:rule-new"), {"name": "x", "position": 1, "team": team.pk}
    )

    assert response.status_code == 403
    assert not RoutingRule.objects.exists()


def test_the_ticket_page_shows_the_triage_panel_to_agents_only(
    login, agent, acme_customer, acme_ticket
):
    scoring.recompute_score(acme_ticket, reason="test")

    desk = login(agent).get(reverse("desk:ticket-detail", args=[acme_ticket.number]))
    portal = login(acme_customer).get(
        reverse("portal:ticket-detail", args=[acme_ticket.number])
    )

    assert 'id="triage"' in desk.content.decode()
    assert "Mark as duplicate" in desk.content.decode()
    assert 'id="triage"' not in portal.content.decode()
    assert "score" not in portal.content.decode().lower()


def test_agent_saves_estimates_from_the_ticket_page(login, agent, acme_ticket):
    response = login(agent).post(
        reverse("triage:ticket-estimates", args=[acme_ticket.number]),
        {
            "severity": "critical",
            "is_production_down": "on",
            "affected_count": "5",
            "effort_hours": "1",
        },
    )

    assert response.status_code == 302
    acme_ticket.refresh_from_db()
    assert acme_ticket.score == pytest.approx(5 * 4 * 3 / 1)


def test_bad_estimates_from_the_ticket_page_get_a_400(login, agent, acme_ticket):
    response = login(agent).post(
        reverse("triage:ticket-estimates", args=[acme_ticket.number]),
        {"severity": "normal", "affected_count": "0", "effort_hours": "-1"},
    )

    assert response.status_code == 400
    assert "Nothing was changed" in response.content.decode()
    acme_ticket.refresh_from_db()
    assert acme_ticket.affected_count == 1


@pytest.mark.parametrize(
    ("persona", "status"),
    [("agent", 302), ("engineer", 404), ("acme_customer", 404), (None, 302)],
)
def test_who_marks_a_duplicate_on_the_page(
    request, login, acme_customer, persona, status
):
    original, duplicate = make_ticket(acme_customer), make_ticket(acme_customer)

    response = login(_as(request, persona)).post(
        reverse("triage:ticket-duplicate", args=[duplicate.number]),
        {"original": original.number},
    )

    assert response.status_code == status
    original.refresh_from_db()
    assert original.affected_count == (2 if persona == "agent" else 1)


def test_a_duplicate_of_a_missing_ticket_is_refused_on_the_page(
    login, agent, acme_ticket
):
    response = login(agent).post(
        reverse("triage:ticket-duplicate", args=[acme_ticket.number]),
        {"original": 99999},
    )

    assert response.status_code == 400
    assert "no ticket #99999" in response.content.decode()


def test_the_open_queue_is_sorted_by_score(login, agent, acme_customer):
    low = make_ticket(acme_customer, subject="Low impact", score=1.0)
    high = make_ticket(acme_customer, subject="Huge impact", score=50.0)
    # the low one changed last, so "updated" order would put it first
    Ticket.objects.filter(pk=low.pk).update(updated_at=timezone.now())

    html = login(agent).get(reverse("desk:inbox") + "?view=open").content.decode()

    assert html.index("Huge impact") < html.index("Low impact")
    assert high.number


def test_the_inbox_shows_the_waiting_panel(login, agent, acme_customer):
    make_ticket(
        acme_customer,
        subject="Still waiting",
        last_customer_message_at=timezone.now() - timedelta(days=3),
    )

    html = login(agent).get(reverse("desk:inbox")).content.decode()

    assert "Customers waiting" in html
    assert "Still waiting" in html


def test_the_portal_form_takes_severity_and_production_down(login, acme_customer):
    response = login(acme_customer).post(
        reverse("portal:ticket-new"),
        {
            "subject": "Checkout broken",
            "body": "Every payment fails",
            "severity": "critical",
            "is_production_down": "on",
        },
    )

    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Checkout broken")
    assert (ticket.severity, ticket.is_production_down) == ("critical", True)
    assert ticket.score > 0


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("acme_customer", 302),
        ("acme_colleague", 302),
        ("globex_customer", 404),
        (None, 302),
    ],
)
def test_who_sets_severity_from_the_portal(
    request, login, acme_ticket, persona, status
):
    response = login(_as(request, persona)).post(
        reverse("triage:portal-severity", args=[acme_ticket.number]),
        {"severity": "critical", "is_production_down": "on"},
    )

    assert response.status_code == status
    acme_ticket.refresh_from_db()
    changed = persona in {"acme_customer", "acme_colleague"}
    assert (acme_ticket.severity == "critical") is changed
    assert acme_ticket.is_production_down is changed


def test_the_portal_ticket_page_offers_the_severity_form_to_its_customers(
    login, acme_customer, acme_ticket
):
    html = (
        login(acme_customer)
        .get(reverse("portal:ticket-detail", args=[acme_ticket.number]))
        .content.decode()
    )

    assert reverse("triage:portal-severity", args=[acme_ticket.number]) in html
    assert "score" not in html.lower()


def test_a_bad_severity_from_the_portal_is_refused(login, acme_customer, acme_ticket):
    response = login(acme_customer).post(
        reverse("triage:portal-severity", args=[acme_ticket.number]),
        {"severity": "doomsday"},
    )

    assert response.status_code == 400
    acme_ticket.refresh_from_db()
    assert acme_ticket.severity == "normal"


def test_the_waiting_panel_is_cached_for_the_counts_window(
    login, agent, acme_customer, settings
):
    settings.INBOX_COUNTS_SECONDS = 60
    ticket = make_ticket(acme_customer, subject="Waiting since Monday")
    client = login(agent)
    client.get(reverse("desk:inbox"))
    # time passes: the customer's wait crosses the threshold, no ticket changes
    Ticket.objects.filter(pk=ticket.pk).update(
        last_customer_message_at=timezone.now() - timedelta(days=3)
    )

    cached = _panel(client.get(reverse("desk:inbox")).content.decode())
    settings.INBOX_COUNTS_SECONDS = 0
    fresh = _panel(client.get(reverse("desk:inbox")).content.decode())

    assert "Nobody has been waiting long" in cached
    assert "Waiting since Monday" in fresh


def test_a_desk_reply_takes_a_ticket_off_the_cached_panel_at_once(
    login, agent, acme_customer, settings
):
    settings.INBOX_COUNTS_SECONDS = 60
    ticket = make_ticket(
        acme_customer,
        subject="Answer me",
        last_customer_message_at=timezone.now() - timedelta(days=3),
    )
    client = login(agent)
    before = _panel(client.get(reverse("desk:inbox")).content.decode())

    reply(ticket, agent, "Here is your answer.")
    after = _panel(client.get(reverse("desk:inbox")).content.decode())

    assert "Answer me" in before
    assert "Answer me" not in after


def _panel(html: str) -> str:
    start = html.index('class="card waiting-panel"')
    return html[start : html.index("</section>", start)]
