"""Escalating tickets to engineering, engineering issue status, and the customer
updates drafted when a fix ships.

The ticket's owner stays the customer's contact throughout: escalation never
changes an owner (it only sets one when the ticket had none, as
``tickets.services.escalate_ticket`` does). Every step is an event on each ticket.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from devdesk.accounts.models import Team, User
from devdesk.tickets.errors import TicketError
from devdesk.tickets.events import record_event
from devdesk.tickets.models import Message, Ticket, TicketEvent
from devdesk.tickets.services import (
    add_message,
    add_system_note,
    change_status,
    lock_and_refresh,
)
from devdesk.triage.escalation import access, outgoing
from devdesk.triage.models import (
    CustomerUpdateDraft,
    EngineeringIssue,
    EngineeringIssueLink,
    TrackerKind,
    WebhookEndpoint,
)

Status = Ticket.Status
IssueStatus = EngineeringIssue.Status


def _check_escalation(
    ticket: Ticket,
    *,
    acting_user: User | None,
    team: Team | None,
    endpoint: WebhookEndpoint | None,
    issue: EngineeringIssue | None,
    external_key: str,
) -> None:
    if acting_user is not None and not access.can_escalate(acting_user, ticket):
        raise TicketError("not_allowed", "You cannot escalate this ticket.", status=403)
    if external_key and endpoint is None and issue is None:
        raise TicketError(
            "tracker_required",
            "Choose the tracker the issue key belongs to, or leave the key empty.",
        )
    if team is None and endpoint is None and issue is None:
        raise TicketError(
            "escalation_target_required",
            "Choose an engineering team, a tracker, or an existing engineering issue.",
        )
    if team is not None and team.kind != Team.Kind.ENGINEERING:
        raise TicketError(
            "not_engineering_team", f"{team.name} is not an engineering team."
        )
    if endpoint is not None and not endpoint.is_active:
        raise TicketError(
            "endpoint_inactive",
            f"The tracker endpoint {endpoint.name} is switched off.",
        )
    if issue is not None and issue.status == IssueStatus.CLOSED:
        raise TicketError(
            "issue_closed",
            f"Engineering issue {issue.reference} is closed; link another one.",
        )
    if ticket.merged_into_id:
        raise TicketError(
            "ticket_merged", "This ticket was merged; escalate the one it went into."
        )
    if ticket.status in {Status.SOLVED, Status.CLOSED}:
        raise TicketError(
            "ticket_resolved",
            "This ticket is solved or closed; reopen it before escalating.",
        )


def _issue_for(
    ticket: Ticket,
    *,
    acting_user: User | None,
    team: Team | None,
    endpoint: WebhookEndpoint | None,
    issue: EngineeringIssue | None,
    external_key: str,
    external_url: str,
    now: datetime,
) -> EngineeringIssue:
    """The issue to link: the one given, the tracker's issue with that key (made on
    first use), or a new one for this ticket."""
    if issue is None and external_key and endpoint is not None:
        issue = EngineeringIssue.objects.filter(
            tracker=endpoint.tracker, external_key=external_key
        ).first()
        if issue is None:
            return EngineeringIssue.objects.create(
                tracker=endpoint.tracker,
                external_key=external_key,
                url=external_url,
                title=ticket.subject,
                team=team,
                endpoint=endpoint,
                created_by=acting_user,
                created_at=now,
                updated_at=now,
            )
    if issue is None:
        return EngineeringIssue.objects.create(
            tracker=endpoint.tracker if endpoint else TrackerKind.INTERNAL,
            title=ticket.subject,
            team=team,
            endpoint=endpoint,
            created_by=acting_user,
            created_at=now,
            updated_at=now,
        )
    changed = ["updated_at"]
    if team is not None and issue.team_id is None:
        issue.team = team
        changed.append("team")
    if endpoint is not None and issue.endpoint_id is None:
        issue.endpoint = endpoint
        changed.append("endpoint")
    issue.updated_at = now
    issue.save(update_fields=changed)
    return issue


def escalate(
    ticket: Ticket,
    *,
    acting_user: User | None,
    team: Team | None = None,
    endpoint: WebhookEndpoint | None = None,
    issue: EngineeringIssue | None = None,
    reason: str = "",
    external_key: str = "",
    external_url: str = "",
    now: datetime | None = None,
) -> EngineeringIssue:
    """Escalate ``ticket`` to an engineering team and/or a tracker, linking it to an
    engineering issue; returns the issue.

    1. Find the issue: ``issue`` as given, the tracker issue ``external_key`` on
       ``endpoint``'s tracker (made on first use), or a new one for this ticket.
    2. Link the ticket (once; several tickets can share one issue).
    3. The ticket's ``escalated_team`` becomes the team (so its engineers see it);
       the owner does not change (one is set only where there was none).
    4. Events: ``escalated`` and ``engineering_linked``; the reason as an internal
       note; the status goes to pending engineering.
    5. With a tracker endpoint (given or the issue's), a signed webhook delivery is
       queued, sent from a background task after the commit.
    6. An issue already fixed or released drafts the customer update at once.

    ``acting_user`` None means the desk itself (the rules engine). Raises
    :class:`TicketError` for a missing target, a team that is not engineering, a
    switched-off endpoint, a closed issue, or a solved/closed/merged ticket.
    """
    external_key = external_key.strip()
    if issue is not None:
        issue.refresh_from_db()  # its status may have moved since it was loaded
    _check_escalation(
        ticket,
        acting_user=acting_user,
        team=team,
        endpoint=endpoint,
        issue=issue,
        external_key=external_key,
    )
    now = now or timezone.now()
    with transaction.atomic():
        lock_and_refresh(ticket)
        issue = _issue_for(
            ticket,
            acting_user=acting_user,
            team=team,
            endpoint=endpoint,
            issue=issue,
            external_key=external_key,
            external_url=external_url.strip(),
            now=now,
        )
        team = team or issue.team
        endpoint = endpoint or issue.endpoint
        _, linked = EngineeringIssueLink.objects.get_or_create(
            issue=issue,
            ticket=ticket,
            defaults={"reason": reason, "linked_by": acting_user, "linked_at": now},
        )
        fields = ["updated_at"]
        ticket.updated_at = now
        if team is not None and ticket.escalated_team_id != team.pk:
            ticket.escalated_team = team
            fields.append("escalated_team")
        if ticket.owner_id is None and acting_user is not None:
            ticket.owner = acting_user
            fields.append("owner")
        ticket.save(update_fields=fields)
        delivery = None
        if endpoint is not None and endpoint.is_active:
            payload = outgoing.escalation_payload(
                ticket, issue, reason=reason, acting_user=acting_user, now=now
            )
            delivery = outgoing.queue_delivery(
                endpoint,
                event="ticket.escalated",
                payload=payload,
                ticket=ticket,
                issue=issue,
                now=now,
            )
        record_event(
            ticket,
            TicketEvent.Kind.ESCALATED,
            actor=acting_user,
            team={"id": team.pk, "name": team.name} if team else None,
            endpoint={"id": endpoint.pk, "name": endpoint.name} if endpoint else None,
            issue={"id": issue.pk, "name": issue.reference},
            reason=reason,
            delivery=str(delivery.uid) if delivery else None,
        )
        if linked:
            record_event(
                ticket,
                TicketEvent.Kind.ENGINEERING_LINKED,
                actor=acting_user,
                issue=issue.pk,
                reference=issue.reference,
                summary=f"linked this ticket to engineering issue {issue.reference}",
            )
        if reason.strip():
            if acting_user is not None:
                add_message(
                    ticket, author=acting_user, body=reason, kind=Message.Kind.INTERNAL
                )
            else:
                add_system_note(ticket, reason)
        if ticket.status != Status.PENDING_ENGINEERING:
            change_status(ticket, Status.PENDING_ENGINEERING, acting_user=acting_user)
        if issue.is_shipped and linked:
            _tell_owner_and_draft(ticket, issue, now=now)
    return issue


def set_issue_status(
    issue: EngineeringIssue,
    status: str,
    *,
    acting_user: User | None,
    source: str = "desk",
    now: datetime | None = None,
) -> bool:
    """Move an engineering issue to ``status``; returns whether it changed.

    Every linked ticket gets an ``engineering_status`` event. When the issue
    reaches fixed or released (from another status), each linked ticket that is
    not closed gets a drafted customer update (never sent by itself), its owner is
    told by an internal note (which e-mails the owner and assignee), and a ticket
    pending engineering goes back to open for the owner to act.

    ``acting_user`` None is a tracker's webhook (``source`` names it). Raises
    :class:`TicketError` for an unknown status or a user who may not change it.
    """
    if status not in IssueStatus.values:
        raise TicketError(
            "invalid_status",
            f"Unknown status {status!r}; use {', '.join(IssueStatus.values)}.",
        )
    if acting_user is not None and not access.can_change_issue_status(
        acting_user, issue
    ):
        raise TicketError(
            "not_allowed", "You cannot change this engineering issue.", status=403
        )
    now = now or timezone.now()
    with transaction.atomic():
        issue = EngineeringIssue.objects.select_for_update().get(pk=issue.pk)
        old = issue.status
        if old == status:
            return False
        issue.status = status
        issue.updated_at = now
        issue.save(update_fields=["status", "updated_at"])
        shipped = status in EngineeringIssue.SHIPPED_STATUSES
        tickets = Ticket.objects.filter(engineering_links__issue=issue).order_by("pk")
        for ticket in tickets.select_related("owner", "requester"):
            record_event(
                ticket,
                TicketEvent.Kind.ENGINEERING_STATUS,
                actor=acting_user,
                issue=issue.pk,
                reference=issue.reference,
                old=old,
                new=status,
                source=source,
                summary=f"saw engineering issue {issue.reference} go from "
                f"{IssueStatus(old).label} to {IssueStatus(status).label}"
                + (f" (from {source})" if source != "desk" else ""),
            )
            if shipped and ticket.status != Status.CLOSED and not ticket.merged_into_id:
                _tell_owner_and_draft(ticket, issue, now=now)
    return True


def draft_text(ticket: Ticket, issue: EngineeringIssue) -> str:
    """The customer update proposed when ``issue`` ships, for the owner to edit."""
    first_name = ticket.requester.first_name
    signer = ticket.owner.first_name if ticket.owner else ""
    if issue.status == IssueStatus.RELEASED:
        news = (
            "the fix for it is now released. Please update to the latest version "
            "and let us know whether everything works for you."
        )
    else:
        news = (
            "our engineers have fixed the problem behind it. We will let you know "
            "as soon as the fix is released."
        )
    return (
        f"Hi {first_name},\n\n"
        f"Good news about {ticket.reference} (“{ticket.subject}”): {news}\n\n"
        "Thank you for your patience while we worked on it.\n\n"
        f"Best regards,\n{signer}".rstrip()
        + "\n"
    )


def _tell_owner_and_draft(
    ticket: Ticket, issue: EngineeringIssue, *, now: datetime
) -> CustomerUpdateDraft:
    """Draft (or refresh the open draft of) the customer update and tell the owner."""
    body = draft_text(ticket, issue)
    draft = CustomerUpdateDraft.objects.filter(
        ticket=ticket, issue=issue, status=CustomerUpdateDraft.Status.DRAFT
    ).first()
    if draft is None:
        draft = CustomerUpdateDraft.objects.create(
            ticket=ticket,
            issue=issue,
            issue_status=issue.status,
            body=body,
            created_at=now,
            updated_at=now,
        )
    else:
        draft.body, draft.issue_status, draft.updated_at = body, issue.status, now
        draft.save(update_fields=["body", "issue_status", "updated_at"])
    label = IssueStatus(issue.status).label.lower()
    record_event(
        ticket,
        TicketEvent.Kind.UPDATE_DRAFTED,
        actor=None,
        issue=issue.pk,
        draft=draft.pk,
        summary=f"drafted a customer update: {issue.reference} is {label}",
    )
    owner = ticket.owner.display_name if ticket.owner else "the owner"
    add_system_note(
        ticket,
        f"Engineering issue {issue.reference} (“{issue.title}”) is {label}. "
        f"A customer update is drafted on this ticket for {owner} to review and "
        "send; nothing has gone to the customer yet.",
    )
    if ticket.status == Status.PENDING_ENGINEERING:
        change_status(ticket, Status.OPEN, acting_user=None)
    return draft


def send_update_draft(
    draft: CustomerUpdateDraft, *, body: str, acting_user: User
) -> Message:
    """Send the (edited) drafted update to the customer as a public reply.

    Raises :class:`TicketError` when the draft was already sent or discarded, or
    the user may not work it; ``add_message``'s own refusals pass through.
    """
    if not access.can_work_drafts(acting_user, draft.ticket):
        raise TicketError("not_allowed", "You cannot send this update.", status=403)
    with transaction.atomic():
        draft = CustomerUpdateDraft.objects.select_for_update().get(pk=draft.pk)
        if draft.status != CustomerUpdateDraft.Status.DRAFT:
            raise TicketError(
                "draft_not_open", f"This update was already {draft.status}."
            )
        message = add_message(
            draft.ticket, author=acting_user, body=body, channel=Ticket.Channel.AGENT
        )
        draft.status = CustomerUpdateDraft.Status.SENT
        draft.body = body
        draft.message = message
        draft.updated_at = message.created_at
        draft.save(update_fields=["status", "body", "message", "updated_at"])
        record_event(
            draft.ticket,
            TicketEvent.Kind.UPDATE_DRAFT_SENT,
            actor=acting_user,
            draft=draft.pk,
            message_id=message.pk,
            summary="sent the drafted customer update",
        )
    return message


def discard_update_draft(draft: CustomerUpdateDraft, *, acting_user: User) -> None:
    """Set a drafted update aside without sending it."""
    if not access.can_work_drafts(acting_user, draft.ticket):
        raise TicketError("not_allowed", "You cannot discard this update.", status=403)
    with transaction.atomic():
        updated = CustomerUpdateDraft.objects.filter(
            pk=draft.pk, status=CustomerUpdateDraft.Status.DRAFT
        ).update(status=CustomerUpdateDraft.Status.DISCARDED, updated_at=timezone.now())
        if not updated:
            raise TicketError("draft_not_open", "This update is no longer a draft.")
        record_event(
            draft.ticket,
            TicketEvent.Kind.UPDATE_DRAFT_DISCARDED,
            actor=acting_user,
            draft=draft.pk,
            summary="discarded the drafted customer update",
        )
