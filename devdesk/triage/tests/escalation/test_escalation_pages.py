"""The escalation pages over HTTP: the ticket page's Escalate form and engineering
panel, drafted updates, the engineering-issues list and page, and who sees what."""

from __future__ import annotations

import pytest
from django.test import Client

from devdesk.accounts.models import Team, User
from devdesk.tickets.models import Message, Ticket
from devdesk.triage.escalation import escalate, set_issue_status
from devdesk.triage.models import CustomerUpdateDraft, EngineeringIssue, WebhookEndpoint


def ticket_url(ticket: Ticket) -> str:
    return f"/desk/tickets/{ticket.number}/"


def escalate_url(ticket: Ticket) -> str:
    return f"/desk/engineering/tickets/{ticket.number}/escalate/"


def test_the_ticket_page_offers_the_escalate_form(
    login, agent: User, owned_ticket: Ticket, github: WebhookEndpoint
) -> None:  # type: ignore[no-untyped-def]
    html = login(agent).get(ticket_url(owned_ticket)).content.decode()
    assert escalate_url(owned_ticket) in html
    assert 'name="endpoint"' in html
    assert github.name in html
    assert 'name="issue"' in html
    assert 'name="reason"' in html


def test_escalating_from_the_page_keeps_the_owner(
    login, agent: User, other_agent: User, owned_ticket: Ticket, engineering: Team
) -> None:  # type: ignore[no-untyped-def]
    response = login(other_agent).post(
        escalate_url(owned_ticket),
        {"team": engineering.pk, "reason": "Double capture in the SDK"},
    )
    assert response.status_code == 302
    owned_ticket.refresh_from_db()
    assert owned_ticket.owner == agent
    assert owned_ticket.status == Ticket.Status.PENDING_ENGINEERING
    issue = EngineeringIssue.objects.get()
    html = login(agent).get(ticket_url(owned_ticket)).content.decode()
    assert f"/desk/engineering/issues/{issue.pk}/" in html
    assert issue.reference in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"reason": "Look"},
            "Choose an engineering team, a tracker, or an engineering",
        ),
        ({"team": "x", "reason": "Look"}, "Select a valid choice"),
        (
            {"reason": "Look", "external_key": "o/r#1"},
            "Choose the tracker the issue key",
        ),
        ({"team": "{team}"}, "Say why you escalate"),
    ],
)
def test_bad_escalations_show_the_form_again_and_write_nothing(
    login, agent: User, owned_ticket: Ticket, engineering: Team, data, message: str
) -> None:  # type: ignore[no-untyped-def]
    data = {k: v.format(team=engineering.pk) for k, v in data.items()}
    response = login(agent).post(escalate_url(owned_ticket), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not EngineeringIssue.objects.exists()


def test_a_refused_escalation_says_why(
    login, agent: User, owned_ticket: Ticket, github: WebhookEndpoint
) -> None:  # type: ignore[no-untyped-def]
    closed = EngineeringIssue.objects.create(title="Old", status="closed")
    response = login(agent).post(
        escalate_url(owned_ticket), {"issue": closed.pk, "reason": "Same"}
    )
    # a closed issue is not offered, so the form refuses it as a choice
    assert response.status_code == 400
    owned_ticket.refresh_from_db()
    assert owned_ticket.status != Ticket.Status.PENDING_ENGINEERING


@pytest.fixture
def fixed_issue(
    owned_ticket: Ticket, agent: User, engineering: Team
) -> EngineeringIssue:
    issue = escalate(owned_ticket, acting_user=agent, team=engineering, reason="Bug")
    set_issue_status(issue, "fixed", acting_user=agent)
    return issue


def test_the_owner_edits_and_sends_the_drafted_update(
    login, agent: User, owned_ticket: Ticket, fixed_issue: EngineeringIssue
) -> None:  # type: ignore[no-untyped-def]
    client = login(agent)
    draft = CustomerUpdateDraft.objects.get()
    html = client.get(ticket_url(owned_ticket)).content.decode()
    assert "Drafted customer update" in html
    assert "Nothing has gone to the customer" in html
    response = client.post(
        f"/desk/engineering/tickets/{owned_ticket.number}/drafts/{draft.pk}/send/",
        {"body": "Fixed in 2.4.1: please upgrade."},
    )
    assert response.status_code == 302
    sent = owned_ticket.messages.get(body="Fixed in 2.4.1: please upgrade.")
    assert sent.kind == Message.Kind.PUBLIC
    draft.refresh_from_db()
    assert draft.status == "sent"


def test_an_empty_update_is_refused(
    login, agent: User, owned_ticket: Ticket, fixed_issue: EngineeringIssue
) -> None:  # type: ignore[no-untyped-def]
    draft = CustomerUpdateDraft.objects.get()
    response = login(agent).post(
        f"/desk/engineering/tickets/{owned_ticket.number}/drafts/{draft.pk}/send/",
        {"body": ""},
    )
    assert response.status_code == 400
    assert "The update is empty" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_discarding_a_draft(
    login, agent: User, owned_ticket: Ticket, fixed_issue: EngineeringIssue
) -> None:  # type: ignore[no-untyped-def]
    draft = CustomerUpdateDraft.objects.get()
    url = f"/desk/engineering/tickets/{owned_ticket.number}/drafts/{draft.pk}/discard/"
    assert login(agent).post(url).status_code == 302
    draft.refresh_from_db()
    assert draft.status == "discarded"
    assert login(agent).post(url).status_code == 400  # no longer a draft


def test_an_agent_marks_an_issue_fixed_from_its_page(
    login, agent: User, owned_ticket: Ticket, engineering: Team
) -> None:  # type: ignore[no-untyped-def]
    issue = escalate(owned_ticket, acting_user=agent, team=engineering)
    response = login(agent).post(
        f"/desk/engineering/issues/{issue.pk}/status/", {"status": "fixed"}
    )
    assert response.status_code == 302
    assert CustomerUpdateDraft.objects.filter(ticket=owned_ticket).exists()
    bad = login(agent).post(
        f"/desk/engineering/issues/{issue.pk}/status/", {"status": "shipped"}
    )
    assert bad.status_code == 400


# Who sees what: engineering issues, drafts and deliveries never reach customers.

PERSONAS = [
    "admin_user",
    "agent",
    "engineer",
    "partner_agent",
    "acme_customer",
    "globex_customer",
    "anonymous",
]


@pytest.fixture
def matrix(
    request,
    owned_ticket: Ticket,
    agent: User,
    engineering: Team,
    github: WebhookEndpoint,
) -> dict[str, object]:  # type: ignore[no-untyped-def]
    issue = escalate(
        owned_ticket, acting_user=agent, team=engineering, endpoint=github, reason="Bug"
    )
    set_issue_status(issue, "fixed", acting_user=agent)
    return {"issue": issue, "draft": CustomerUpdateDraft.objects.get()}


PAGE_STATUS = {
    #                list  issue  draft-send  escalate
    "admin_user": (200, 200, 302, 302),
    "agent": (200, 200, 302, 302),
    "engineer": (200, 200, 404, 403),  # sees the escalated ticket; may not escalate
    "partner_agent": (404, 404, 404, 404),
    "acme_customer": (404, 404, 404, 404),
    "globex_customer": (404, 404, 404, 404),
    "anonymous": (302, 302, 302, 302),
}


@pytest.mark.parametrize("who", PERSONAS)
def test_page_permission_matrix(
    request, who: str, login, matrix, owned_ticket: Ticket, engineering: Team
) -> None:  # type: ignore[no-untyped-def]
    user = None if who == "anonymous" else request.getfixturevalue(who)
    client: Client = login(user)
    issue, draft = matrix["issue"], matrix["draft"]
    expected = PAGE_STATUS[who]
    got = (
        client.get("/desk/engineering/").status_code,
        client.get(f"/desk/engineering/issues/{issue.pk}/").status_code,
        client.post(
            f"/desk/engineering/tickets/{owned_ticket.number}/drafts/{draft.pk}/send/",
            {"body": "Hello"},
        ).status_code,
        client.post(
            escalate_url(owned_ticket), {"team": engineering.pk, "reason": "again"}
        ).status_code,
    )
    assert got == expected


@pytest.mark.parametrize("who", ["acme_customer", "globex_customer"])
def test_customers_never_see_issues_or_drafts_in_the_portal(
    request, who: str, login, matrix, owned_ticket: Ticket
) -> None:  # type: ignore[no-untyped-def]
    client = login(request.getfixturevalue(who))
    response = client.get(f"/portal/tickets/{owned_ticket.number}/")
    html = response.content.decode()
    issue = matrix["issue"]
    assert issue.reference not in html
    assert "Drafted customer update" not in html
    assert matrix["draft"].body.splitlines()[2][:30] not in html


def test_an_engineer_of_another_team_does_not_see_the_issue(
    login, engineer: User, owned_ticket: Ticket, agent: User
) -> None:  # type: ignore[no-untyped-def]
    from devdesk.accounts.tests.factories import TeamFactory

    other = TeamFactory(kind=Team.Kind.ENGINEERING)
    issue = escalate(owned_ticket, acting_user=agent, team=other)
    client = login(engineer)
    assert client.get(f"/desk/engineering/issues/{issue.pk}/").status_code == 404
    assert issue.reference not in client.get("/desk/engineering/").content.decode()


def test_admins_see_deliveries_agents_do_not(
    login, admin_user: User, agent: User, matrix
) -> None:  # type: ignore[no-untyped-def]
    issue = matrix["issue"]
    url = f"/desk/engineering/issues/{issue.pk}/"
    assert "Webhook deliveries" in login(admin_user).get(url).content.decode()
    assert "Webhook deliveries" not in login(agent).get(url).content.decode()


@pytest.mark.parametrize(
    "page",
    [
        "triage/webhookendpoint/",
        "triage/webhookdelivery/",
        "triage/webhookdelivery/{delivery}/change/",
        "triage/inbounddelivery/",
        "triage/engineeringissue/",
        "triage/engineeringissue/{issue}/change/",
    ],
)
def test_admin_pages_open_for_admins_only(
    login, admin_user: User, agent: User, matrix, page: str
) -> None:  # type: ignore[no-untyped-def]
    from devdesk.triage.models import WebhookDelivery

    url = "/admin/" + page.format(
        delivery=WebhookDelivery.objects.get().pk, issue=matrix["issue"].pk
    )
    assert login(admin_user).get(url).status_code == 200
    assert login(agent).get(url).status_code == 302  # to the admin's sign-in
