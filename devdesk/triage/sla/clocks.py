"""Each ticket's SLA clocks: started, met, paused and resumed as the ticket changes.

Every function takes the instant of the change (``at``/``now``) so tests and the
event subscribers (which pass the event's time) decide what "now" is. Each one
locks the ticket's SLA row for its transaction, so two changes to one ticket, or a
change and the periodic pass, never overwrite each other.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from devdesk.accounts.models import User
from devdesk.tickets.events import record_event
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.triage.calendars import (
    ALWAYS_OPEN,
    Calendar,
    add_business_minutes,
    business_minutes_between,
)
from devdesk.triage.models import BusinessCalendar, SlaPolicy, SlaTarget, TicketSla

Status = Ticket.Status
TARGETS: tuple[str, ...] = tuple(SlaTarget.values)
# While a ticket is in one of these the clocks stand still: it waits on the customer,
# or it is solved (a reopening resumes them) or closed (for good).
PAUSED_STATUSES = frozenset({Status.PENDING_CUSTOMER, Status.SOLVED, Status.CLOSED})


def match_policy(plan: str, priority: int) -> SlaPolicy | None:
    """The most specific active policy for ``plan`` and ``priority``: both, then the
    plan, then the priority, then the default (any plan, any priority)."""
    candidates = SlaPolicy.objects.filter(
        Q(priority=priority) | Q(priority__isnull=True),
        is_active=True,
        plan__in=sorted({plan, ""}),
    ).select_related("calendar")

    def rank(policy: SlaPolicy) -> tuple[bool, bool]:
        return (policy.plan == plan and plan != "", policy.priority is not None)

    found = sorted(candidates, key=rank, reverse=True)
    return found[0] if found else None


def calendar_for(ticket: Ticket, policy: SlaPolicy) -> Calendar:
    """The policy's calendar, else the ticket's team's, else the desk default; with
    no calendar at all, every minute counts."""
    if policy.calendar_id is not None:
        calendar: BusinessCalendar = policy.calendar  # type: ignore[assignment]
        return calendar
    if ticket.team_id is not None:
        team_calendar = BusinessCalendar.objects.filter(team_id=ticket.team_id).first()
        if team_calendar is not None:
            return team_calendar
    return BusinessCalendar.objects.filter(is_default=True).first() or ALWAYS_OPEN


def warning_lead(policy: SlaPolicy, minutes: int) -> int | None:
    """Business minutes before the due time to warn: the earlier of the policy's
    share-elapsed and minutes-before settings (``None``: no warning)."""
    leads = []
    if policy.warning_percent is not None:
        leads.append(minutes - minutes * policy.warning_percent // 100)
    if policy.warning_minutes:
        leads.append(policy.warning_minutes)
    positive = [lead for lead in leads if lead > 0]
    return max(positive) if positive else None


# --- one clock ------------------------------------------------------------------------


def _get(state: TicketSla, target: str, column: str) -> datetime | None:
    value: datetime | None = getattr(state, f"{target}_{column}")
    return value


def _set(state: TicketSla, target: str, column: str, value: datetime | None) -> None:
    setattr(state, f"{target}_{column}", value)


def is_running(state: TicketSla, target: str) -> bool:
    return (
        _get(state, target, "due_at") is not None
        and _get(state, target, "met_at") is None
    )


def _place_warning(
    state: TicketSla, target: str, policy: SlaPolicy, calendar: Calendar
) -> None:
    due = _get(state, target, "due_at")
    minutes = policy.target_minutes(target)
    lead = warning_lead(policy, minutes) if minutes else None
    warn = add_business_minutes(calendar, due, -lead) if due and lead else None
    _set(state, target, "warn_at", warn)


def _start(
    state: TicketSla,
    target: str,
    *,
    policy: SlaPolicy,
    calendar: Calendar,
    at: datetime,
) -> None:
    """Start a clock at ``at``. While the ticket is paused it starts from the pause,
    so resuming moves it to start at the resumption."""
    minutes = policy.target_minutes(target)
    if not minutes:
        return
    start = state.paused_at or at
    _set(state, target, "due_at", add_business_minutes(calendar, start, minutes))
    for column in ("warned_at", "breached_at", "met_at"):
        _set(state, target, column, None)
    _place_warning(state, target, policy, calendar)


def _summarize(state: TicketSla) -> None:
    running = [t for t in TARGETS if is_running(state, t)]
    dues = [d for t in running if (d := _get(state, t, "due_at"))]
    warns = [w for t in running if (w := _get(state, t, "warn_at"))]
    state.next_due_at = min(dues, default=None)
    state.next_warn_at = min(warns, default=None)


def _save(state: TicketSla, at: datetime) -> None:
    _summarize(state)
    state.updated_at = at
    state.save()


def _locked(ticket: Ticket) -> TicketSla | None:
    return (
        TicketSla.objects.select_for_update(of=("self",))
        .select_related("policy__calendar")
        .filter(ticket_id=ticket.pk)
        .first()
    )


# --- the ticket's life ------------------------------------------------------------------


def start_sla(ticket: Ticket, *, now: datetime | None = None) -> TicketSla | None:
    """Give a ticket its SLA clocks under the policy matching its organization's plan
    and its priority; ``None`` when no policy matches. A ticket that has them
    already keeps them (safe to call twice).

    The clocks start at the ticket's creation; for a ticket that already lived
    (the demo, tickets opened before the first policy) what already happened is
    taken from the ticket: its first response, solution, pending status and a
    customer message waiting for an answer.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if TicketSla.objects.filter(ticket_id=ticket.pk).exists():
            return None
        plan = ticket.organization.plan if ticket.organization_id else ""
        policy = match_policy(plan, ticket.priority)
        if policy is None:
            return None
        calendar = calendar_for(ticket, policy)
        state = TicketSla(ticket=ticket, policy=policy)
        for target in (SlaTarget.FIRST_RESPONSE, SlaTarget.RESOLUTION):
            _start(
                state, target, policy=policy, calendar=calendar, at=ticket.created_at
            )
        if ticket.first_response_at and is_running(state, SlaTarget.FIRST_RESPONSE):
            state.first_response_met_at = ticket.first_response_at
            waiting = ticket.last_customer_message_at
            if waiting and waiting > ticket.first_response_at:
                _start(
                    state,
                    SlaTarget.NEXT_RESPONSE,
                    policy=policy,
                    calendar=calendar,
                    at=waiting,
                )
        if ticket.status in PAUSED_STATUSES:
            state.paused_at = ticket.solved_at or ticket.updated_at
            if ticket.status != Status.PENDING_CUSTOMER and is_running(
                state, SlaTarget.RESOLUTION
            ):
                state.resolution_met_at = state.paused_at
        _save(state, now)
    return state


def record_message(
    ticket: Ticket, *, author: User | None, is_public: bool, at: datetime
) -> None:
    """A public reply from the desk meets the first and next response clocks; a
    customer's message, once the desk has answered, starts the next-response clock
    (if it is not already running: it counts from the first unanswered message)."""
    if not is_public or author is None:
        return
    with transaction.atomic():
        state = _locked(ticket)
        if state is None:
            return
        if author.is_customer:
            if is_running(state, SlaTarget.FIRST_RESPONSE) or is_running(
                state, SlaTarget.NEXT_RESPONSE
            ):
                return
            policy = state.policy
            _start(
                state,
                SlaTarget.NEXT_RESPONSE,
                policy=policy,
                calendar=calendar_for(ticket, policy),
                at=at,
            )
        else:
            for target in (SlaTarget.FIRST_RESPONSE, SlaTarget.NEXT_RESPONSE):
                if is_running(state, target):
                    _set(state, target, "met_at", at)
        _save(state, at)


def record_status(ticket: Ticket, *, old: str, new: str, at: datetime) -> None:
    """Pause the clocks when the ticket starts waiting on the customer (or is solved
    or closed); resume them, without the paused business time, when it comes back.
    Solving meets the resolution target; reopening runs it again."""
    with transaction.atomic():
        state = _locked(ticket)
        if state is None:
            return
        if new == Status.SOLVED and is_running(state, SlaTarget.RESOLUTION):
            state.resolution_met_at = at
        if new in PAUSED_STATUSES and old not in PAUSED_STATUSES:
            state.paused_at = at
        elif new not in PAUSED_STATUSES and state.paused_at is not None:
            _resume(state, calendar_for(ticket, state.policy), at)
        _save(state, at)


def _resume(state: TicketSla, calendar: Calendar, at: datetime) -> None:
    paused_at = state.paused_at
    assert paused_at is not None  # noqa: S101 - callers check
    state.resolution_met_at = None  # back from solved: unresolved again
    for target in TARGETS:
        due = _get(state, target, "due_at")
        if not is_running(state, target) or due is None or due <= paused_at:
            continue
        remaining = business_minutes_between(calendar, paused_at, due)
        _set(state, target, "due_at", add_business_minutes(calendar, at, remaining))
        _place_warning(state, target, state.policy, calendar)
    state.paused_at = None


def _move_to_policy(
    state: TicketSla, ticket: Ticket, policy: SlaPolicy, at: datetime
) -> None:
    """Re-time the clocks for another policy: a running clock moves by the change in
    its target (in business minutes); a target the new policy adds starts from the
    ticket's creation; one it drops stops."""
    old = state.policy
    calendar = calendar_for(ticket, policy)
    for target in TARGETS:
        before, after = old.target_minutes(target), policy.target_minutes(target)
        due = _get(state, target, "due_at")
        if not after:
            _set(state, target, "due_at", None)
            _set(state, target, "warn_at", None)
        elif not before or due is None:
            starts: dict[str, bool] = {
                SlaTarget.FIRST_RESPONSE.value: ticket.first_response_at is None,
                SlaTarget.RESOLUTION.value: ticket.is_unresolved,
            }
            if starts.get(target):
                _start(
                    state,
                    target,
                    policy=policy,
                    calendar=calendar,
                    at=ticket.created_at,
                )
        elif is_running(state, target):
            moved = add_business_minutes(calendar, due, after - before)
            _set(state, target, "due_at", moved)
            _place_warning(state, target, policy, calendar)
    state.policy = policy
    _save(state, at)


def rematch_policy(ticket: Ticket, *, acting_user: User | None, at: datetime) -> None:
    """After a priority change, move the ticket to the policy that now matches
    (unless a rule or agent chose its policy); records the change as an event."""
    with transaction.atomic():
        state = _locked(ticket)
        if state is None or state.is_policy_pinned:
            return
        ticket = Ticket.objects.select_related("organization").get(pk=ticket.pk)
        policy = match_policy(ticket.organization.plan, ticket.priority)
        if policy is None or policy.pk == state.policy_id:
            return
        old = state.policy
        _move_to_policy(state, ticket, policy, at)
        record_event(
            ticket,
            TicketEvent.Kind.SLA_POLICY_CHANGED,
            actor=acting_user,
            old={"id": old.pk, "name": old.name},
            new={"id": policy.pk, "name": policy.name},
            reason="priority_changed",
        )


def set_policy(
    ticket: Ticket,
    policy: SlaPolicy,
    *,
    acting_user: User | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> TicketSla:
    """Put the ticket under ``policy`` (the rules engine's "change SLA policy"
    action, an agent), re-timing its running clocks; the choice then sticks when the
    priority changes. Records a ``sla_policy_changed`` event naming ``reason``.
    Setting the policy it already has changes nothing and records nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        state = _locked(ticket)
        if state is None:
            state = TicketSla(ticket=ticket, policy=policy, is_policy_pinned=True)
            calendar = calendar_for(ticket, policy)
            for target in (SlaTarget.FIRST_RESPONSE, SlaTarget.RESOLUTION):
                _start(
                    state,
                    target,
                    policy=policy,
                    calendar=calendar,
                    at=ticket.created_at,
                )
            if ticket.first_response_at and is_running(state, SlaTarget.FIRST_RESPONSE):
                state.first_response_met_at = ticket.first_response_at
            if ticket.status in PAUSED_STATUSES:
                state.paused_at = now
            _save(state, now)
            old = None
        elif state.policy_id == policy.pk:
            if not state.is_policy_pinned:
                state.is_policy_pinned = True
                state.save(update_fields=["is_policy_pinned"])
            return state
        else:
            old = {"id": state.policy.pk, "name": state.policy.name}
            state.is_policy_pinned = True
            _move_to_policy(state, ticket, policy, now)
        record_event(
            ticket,
            TicketEvent.Kind.SLA_POLICY_CHANGED,
            actor=acting_user,
            old=old,
            new={"id": policy.pk, "name": policy.name},
            reason=reason,
        )
    return state
