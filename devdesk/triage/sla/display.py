"""How a ticket's SLA reads right now: for the inbox badge, the ticket page and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from devdesk.triage.models import SlaTarget, TicketSla

ON_TRACK, WARNING, BREACHED, PAUSED, MET = (
    "on_track",
    "warning",
    "breached",
    "paused",
    "met",
)


@dataclass(frozen=True)
class TargetStatus:
    target: str
    label: str
    state: str
    due_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None

    @property
    def state_label(self) -> str:
        return self.state.replace("_", " ").capitalize()


@dataclass(frozen=True)
class SlaStatus:
    policy_name: str
    state: str
    next_due_at: datetime | None
    text: str
    targets: tuple[TargetStatus, ...]


def duration(delta: timedelta) -> str:
    """``2d 3h``, ``3h 20m``, ``45m``: the two largest units."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m"


def _overall(state: TicketSla, now: datetime) -> str:
    if state.paused_at is not None:
        return PAUSED
    if state.next_due_at is None:
        return MET
    if state.next_due_at <= now:
        return BREACHED
    if state.next_warn_at is not None and state.next_warn_at <= now:
        return WARNING
    return ON_TRACK


def _target(state: TicketSla, target: str, now: datetime) -> TargetStatus | None:
    due = getattr(state, f"{target}_due_at")
    if due is None:
        return None
    met = getattr(state, f"{target}_met_at")
    breached = getattr(state, f"{target}_breached_at")
    warn = getattr(state, f"{target}_warn_at")
    if met is not None:
        status = BREACHED if met > due else MET
    elif state.paused_at is not None:
        status = PAUSED
    elif breached is not None or due <= now:
        status = BREACHED
    elif warn is not None and warn <= now:
        status = WARNING
    else:
        status = ON_TRACK
    return TargetStatus(
        target=target,
        label=str(SlaTarget(target).label),
        state=status,
        due_at=due,
        met_at=met,
        breached_at=breached,
    )


def sla_status(state: TicketSla, now: datetime) -> SlaStatus:
    """The ticket's SLA as of ``now`` (needs ``state.policy``)."""
    overall = _overall(state, now)
    due = state.next_due_at
    text = {
        PAUSED: "paused",
        MET: "met",
        BREACHED: f"overdue {duration(now - due)}" if due else "overdue",
        WARNING: f"{duration(due - now)} left" if due else "",
        ON_TRACK: f"{duration(due - now)} left" if due else "",
    }[overall]
    targets = tuple(
        t for name in SlaTarget.values if (t := _target(state, name, now)) is not None
    )
    return SlaStatus(
        policy_name=state.policy.name,
        state=overall,
        next_due_at=due,
        text=text,
        targets=targets,
    )


def inbox_badge(state: TicketSla, now: datetime) -> str:
    """A compact badge for an inbox row: time left, or overdue; nothing once every
    target is met. Reads only ``paused_at``, ``next_due_at`` and ``next_warn_at``."""
    overall = _overall(state, now)
    due = state.next_due_at
    if overall == MET or due is None:
        return ""
    if overall == PAUSED:
        text, title = "SLA paused", "SLA clocks paused while the ticket waits"
    elif overall == BREACHED:
        text = f"SLA overdue {duration(now - due)}"
        title = f"SLA target was due {due:%Y-%m-%d %H:%M} UTC"
    else:
        text = f"SLA {duration(due - now)}"
        title = f"Next SLA target due {due:%Y-%m-%d %H:%M} UTC"
    return (
        f' <span class="badge sla sla-{overall}" title="{escape(title)}">'
        f"{escape(text)}</span>"
    )
