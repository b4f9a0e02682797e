"""Escalating tickets, engineering issue status and drafted customer updates,
through the services the desk, the API and the rules engine call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail

from devdesk.accounts.models import Team, User
from devdesk.accounts.tests.factories import TeamFactory
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.tests.factories import make_ticket, reply
from devdesk.triage.escalation import (
    discard_update_draft,
    escalate,
    send_update_draft,
    set_issue_status,
)
from devdesk.triage.models import (
    CustomerUpdateDraft,
    EngineeringIssue,
    TrackerKind,
    WebhookDelivery,
    WebhookEndpoint,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
Kind = TicketEvent.Kind


def kinds(ticket: Ticket) -> list[str]:
    return list(ticket.events.order_by("pk").values_list("kind", flat=True))


def test_escalating_to_a_team_keeps_the_owner_and_waits_on_engineering(
    owned_ticket: Ticket, agent: User, other_agent: User, engineering: Team
) -> None:
    # given a ticket owned by the agent, escalated by a second agent
    issue = escalate(
        owned_ticket,
        acting_user=other_agent,
        team=engineering,
        reason="Looks like a retry bug in the SDK.",
        now=NOW,
    )
    owned_ticket.refresh_from_db()
    # then the owner is still the first agent, and engineering can see the ticket
    assert owned_ticket.owner == agent
    assert owned_ticket.escalated_team == engineering
    assert owned_ticket.status == Ticket.Status.PENDING_ENGINEERING
    assert issue.team == engineering
    assert issue.tracker == TrackerKind.INTERNAL
    assert list(issue.tickets.all()) == [owned_ticket]
    assert not owned_ticket.events.filter(kind=Kind.OWNER_CHANGED).exists()
    new = kinds(owned_ticket)[-4:]
    assert new == [
        Kind.ESCALATED,
        Kind.ENGINEERING_LINKED,
        Kind.MESSAGE_ADDED,
        Kind.STATUS_CHANGED,
    ]
    assert owned_ticket.messages.filter(
        kind=Message.Kind.INTERNAL, body="Looks like a retry bug in the SDK."
    ).exists()


def test_several_tickets_share_one_engineering_issue(
    owned_ticket: Ticket, acme_customer: User, agent: User, engineering: Team
) -> None:
    issue = escalate(owned_ticket, acting_user=agent, team=engineering, reason="Bug")
    second = make_ticket(acme_customer, subject="Same double capture")
    linked = escalate(second, acting_user=agent, issue=issue, reason="Same bug")
    assert linked == issue
    assert set(issue.tickets.all()) == {owned_ticket, second}
    second.refresh_from_db()
    assert second.escalated_team == engineering  # from the issue's team


def test_escalating_twice_to_the_same_issue_links_once(
    owned_ticket: Ticket, agent: User, engineering: Team
) -> None:
    issue = escalate(owned_ticket, acting_user=agent, team=engineering)
    escalate(owned_ticket, acting_user=agent, issue=issue, reason="Any news?")
    assert issue.links.count() == 1
    assert owned_ticket.events.filter(kind=Kind.ENGINEERING_LINKED).count() == 1
    assert owned_ticket.events.filter(kind=Kind.ESCALATED).count() == 2


def test_a_ticket_without_owner_gets_the_escalating_agent(
    acme_customer: User, agent: User, engineering: Team
) -> None:
    ticket = make_ticket(acme_customer)
    escalate(ticket, acting_user=agent, team=engineering)
    ticket.refresh_from_db()
    assert ticket.owner == agent


def test_the_rules_engine_escalates_without_a_person(
    owned_ticket: Ticket, agent: User, engineering: Team
) -> None:
    escalate(owned_ticket, acting_user=None, team=engineering, reason="Rule: crash")
    owned_ticket.refresh_from_db()
    assert owned_ticket.owner == agent
    assert owned_ticket.status == Ticket.Status.PENDING_ENGINEERING
    note = owned_ticket.messages.get(body="Rule: crash")
    assert note.kind == Message.Kind.INTERNAL
    assert note.author is None


def test_escalating_to_a_tracker_queues_a_signed_delivery(
    owned_ticket: Ticket, agent: User, github: WebhookEndpoint
) -> None:
    issue = escalate(
        owned_ticket,
        acting_user=agent,
        endpoint=github,
        external_key="skyforge/sdk-python#9",
        external_url="https://github.com/skyforge/sdk-python/issues/9",
        reason="Double capture",
    )
    assert (issue.tracker, issue.external_key) == ("github", "skyforge/sdk-python#9")
    delivery = WebhookDelivery.objects.get()
    assert delivery.endpoint == github
    assert delivery.status == "pending"
    assert '"reason":"Double capture"' in delivery.body
    assert f'"number":{owned_ticket.number}' in delivery.body
    event = owned_ticket.events.get(kind=Kind.ESCALATED)
    assert event.data["delivery"] == str(delivery.uid)
    assert event.data["endpoint"]["name"] == github.name


def test_the_same_tracker_key_links_to_the_same_issue(
    owned_ticket: Ticket, acme_customer: User, agent: User, github: WebhookEndpoint
) -> None:
    first = escalate(
        owned_ticket, acting_user=agent, endpoint=github, external_key="o/r#1"
    )
    other = make_ticket(acme_customer)
    second = escalate(other, acting_user=agent, endpoint=github, external_key="o/r#1")
    assert first == second
    assert EngineeringIssue.objects.count() == 1


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("nothing", "escalation_target_required"),
        ("support_team", "not_engineering_team"),
        ("inactive_endpoint", "endpoint_inactive"),
        ("key_without_tracker", "tracker_required"),
        ("closed_issue", "issue_closed"),
        ("solved_ticket", "ticket_resolved"),
        ("engineer", "not_allowed"),
        ("customer", "not_allowed"),
    ],
)
def test_refused_escalations_change_nothing(
    case: str,
    code: str,
    owned_ticket: Ticket,
    agent: User,
    engineer: User,
    acme_customer: User,
    engineering: Team,
    github: WebhookEndpoint,
) -> None:
    kwargs: dict[str, object] = {"acting_user": agent, "team": engineering}
    if case == "nothing":
        kwargs = {"acting_user": agent}
    elif case == "support_team":
        kwargs["team"] = TeamFactory(kind=Team.Kind.SUPPORT)
    elif case == "inactive_endpoint":
        github.is_active = False
        github.save()
        kwargs = {"acting_user": agent, "endpoint": github}
    elif case == "key_without_tracker":
        kwargs = {"acting_user": agent, "external_key": "o/r#1"}
    elif case == "closed_issue":
        kwargs["issue"] = EngineeringIssue.objects.create(
            title="Old", status=EngineeringIssue.Status.CLOSED
        )
    elif case == "solved_ticket":
        reply(owned_ticket, agent, "Fixed", new_status=Ticket.Status.SOLVED)
    elif case in {"engineer", "customer"}:
        kwargs["acting_user"] = engineer if case == "engineer" else acme_customer
    events_before = owned_ticket.events.count()
    with pytest.raises(TicketError) as refused:
        escalate(owned_ticket, **kwargs)  # type: ignore[arg-type]
    assert refused.value.code == code
    owned_ticket.refresh_from_db()
    assert owned_ticket.escalated_team is None
    assert owned_ticket.events.count() == events_before
    assert not owned_ticket.engineering_links.exists()


def test_a_fix_drafts_an_update_on_every_linked_ticket_and_tells_each_owner(
    owned_ticket: Ticket,
    acme_customer: User,
    globex_customer: User,
    agent: User,
    other_agent: User,
    engineering: Team,
) -> None:
    # given two tickets of two customers, with two owners, on one issue
    issue = escalate(owned_ticket, acting_user=agent, team=engineering)
    other = make_ticket(globex_customer, subject="Globex double capture")
    other.owner = other_agent
    other.save(update_fields=["owner"])
    escalate(other, acting_user=other_agent, issue=issue)
    mail.outbox.clear()
    # when engineering marks it fixed
    changed = set_issue_status(issue, "fixed", acting_user=None, source="github")
    # then each ticket has an open draft, the owners are told, customers are not
    assert changed
    for ticket, owner in ((owned_ticket, agent), (other, other_agent)):
        draft = CustomerUpdateDraft.objects.get(ticket=ticket)
        assert draft.status == "draft"
        assert draft.issue_status == "fixed"
        assert ticket.requester.first_name in draft.body
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.OPEN
        assert ticket.owner == owner
        note = ticket.messages.filter(kind=Message.Kind.INTERNAL).last()
        assert note is not None
        assert "is fixed" in note.body
        assert {Kind.ENGINEERING_STATUS, Kind.UPDATE_DRAFTED} <= set(kinds(ticket))
    customers = {acme_customer.email, globex_customer.email}
    assert not any(set(m.to) & customers for m in mail.outbox)
    assert not Message.objects.filter(
        kind=Message.Kind.PUBLIC, ticket__in=[owned_ticket, other], author=None
    ).exists()


def test_owners_are_emailed_when_the_fix_ships(
    owned_ticket: Ticket,
    agent: User,
    engineering: Team,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    issue = escalate(owned_ticket, acting_user=agent, team=engineering)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        set_issue_status(issue, "released", acting_user=None)
    assert [m.to for m in mail.outbox] == [[agent.email]]
    assert "released" in mail.outbox[0].body


def test_fixed_then_released_refreshes_the_open_draft(
    owned_ticket: Ticket, agent: User, engineering: Team
) -> None:
    issue = escalate(owned_ticket, acting_user=agent, team=engineering)
    set_issue_status(issue, "fixed", acting_user=agent)
    set_issue_status(issue, "released", acting_user=agent)
    draft = CustomerUpdateDraft.objects.get(ticket=owned_ticket)
    assert draft.issue_status == "released"
    assert "released" in draft.body


def test_in_progress_drafts_nothing(
    owned_ticket: Ticket, agent: User, engineering: Team
) -> None:
    issue = escalate(owned_ticket, acting_user=agent, team=engineering)
    set_issue_status(issue, "in_progress", acting_user=agent)
    owned_ticket.refresh_from_db()
    assert owned_ticket.status == Ticket.Status.PENDING_ENGINEERING
    assert not CustomerUpdateDraft.objects.exists()
    assert owned_ticket.events.filter(kind=Kind.ENGINEERING_STATUS).exists()


def test_a_closed_ticket_gets_no_draft(
    owned_ticket: Ticket, acme_customer: User, agent: User, engineering: Team
) -> None:
    issue = escalate(owned_ticket, acting_user=agent, team=engineering)
    closed = make_ticket(acme_customer)
    escalate(closed, acting_user=agent, issue=issue)
    reply(closed, agent, "Workaround works", new_status=Ticket.Status.SOLVED)
    closed.refresh_from_db()
    from devdesk.tickets.services import change_status

    change_status(closed, Ticket.Status.CLOSED, acting_user=agent)
    set_issue_status(issue, "fixed", acting_user=agent)
    assert list(CustomerUpdateDraft.objects.values_list("ticket", flat=True)) == [
        owned_ticket.pk
    ]


def test_linking_to_an_issue_already_fixed_drafts_at_once(
    owned_ticket: Ticket, acme_customer: User, agent: User, engineering: Team
) -> None:
    issue = escalate(owned_ticket, acting_user=agent, team=engineering)
    set_issue_status(issue, "fixed", acting_user=agent)
    late = make_ticket(acme_customer, subject="Also double capture")
    escalate(late, acting_user=agent, issue=issue)
    assert CustomerUpdateDraft.objects.filter(ticket=late, status="draft").exists()


def test_who_may_change_an_issue_status(
    owned_ticket: Ticket, agent: User, engineer: User, partner_agent: User
) -> None:
    other_team = TeamFactory(kind=Team.Kind.ENGINEERING)
    issue = escalate(owned_ticket, acting_user=agent, team=other_team)
    for user in (engineer, partner_agent):  # the engineer is not on other_team
        with pytest.raises(TicketError) as refused:
            set_issue_status(issue, "fixed", acting_user=user)
        assert refused.value.status == 403
    other_team.members.add(engineer)
    assert set_issue_status(issue, "fixed", acting_user=engineer)


def test_an_unknown_status_is_refused(
    owned_ticket: Ticket, agent: User, engineering: Team
) -> None:
    issue = escalate(owned_ticket, acting_user=agent, team=engineering)
    with pytest.raises(TicketError) as refused:
        set_issue_status(issue, "done", acting_user=agent)
    assert refused.value.code == "invalid_status"


def test_the_owner_sends_the_edited_draft_as_a_public_reply(
    owned_ticket: Ticket, agent: User, engineering: Team
) -> None:
    issue = escalate(owned_ticket, acting_user=agent, team=engineering)
    set_issue_status(issue, "released", acting_user=agent)
    draft = CustomerUpdateDraft.objects.get()
    message = send_update_draft(draft, body="Fixed in 2.4.1, enjoy!", acting_user=agent)
    draft.refresh_from_db()
    assert (draft.status, draft.message) == ("sent", message)
    assert message.kind == Message.Kind.PUBLIC
    assert message.author == agent
    assert owned_ticket.events.filter(kind=Kind.UPDATE_DRAFT_SENT).exists()
    with pytest.raises(TicketError) as again:
        send_update_draft(draft, body="twice", acting_user=agent)
    assert again.value.code == "draft_not_open"


def test_a_discarded_draft_cannot_be_sent(
    owned_ticket: Ticket, agent: User, engineer: User, engineering: Team
) -> None:
    issue = escalate(owned_ticket, acting_user=agent, team=engineering)
    set_issue_status(issue, "fixed", acting_user=agent)
    draft = CustomerUpdateDraft.objects.get()
    with pytest.raises(TicketError):
        discard_update_draft(draft, acting_user=engineer)
    discard_update_draft(draft, acting_user=agent)
    with pytest.raises(TicketError) as refused:
        send_update_draft(draft, body="Hi", acting_user=agent)
    assert refused.value.code == "draft_not_open"
    assert not owned_ticket.messages.filter(body="Hi").exists()
