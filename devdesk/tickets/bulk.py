"""One change applied to many tickets at once: the inbox's bulk actions and the API's.

Each ticket is changed on its own, in its own transaction, through the same services
as the ticket page (so it gets the same events and the same refusals); a ticket a
rule refuses is reported and the others go ahead.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import transaction

from devdesk.accounts.models import Team, User
from devdesk.tickets import access, services
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Ticket, TicketQuerySet

# One request changes at most this many tickets: a page of the inbox fits, and a
# request stays short enough not to hold the database for long.
MAX_TICKETS = 100

# Ticket numbers are 32-bit; a larger one cannot exist (and PostgreSQL would refuse
# to compare with it).
_MAX_NUMBER = 2**31 - 1


class Keep(enum.Enum):
    """Leave a field as each ticket has it (``None`` would mean "clear it")."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class BulkChanges:
    """What to do to every chosen ticket. Fields left at their default are kept."""

    status: str = ""
    priority: int | None = None
    assignee: User | Literal[Keep.KEEP] | None = KEEP
    team: Team | Literal[Keep.KEEP] | None = KEEP
    add_tags: Sequence[str] = ()
    remove_tags: Sequence[str] = ()

    def wanted(self) -> frozenset[str]:
        """The names of the properties this change touches."""
        names = {
            "status": bool(self.status),
            "priority": self.priority is not None,
            "assignee": self.assignee is not KEEP,
            "team": self.team is not KEEP,
            "tags": bool(self.add_tags or self.remove_tags),
        }
        return frozenset(name for name, wanted in names.items() if wanted)

    def field_changes(self) -> dict[str, Any]:
        """The part that :func:`services.update_ticket` applies."""
        changes: dict[str, Any] = {}
        if self.priority is not None:
            changes["priority"] = self.priority
        if self.assignee is not KEEP:
            changes["assignee"] = self.assignee
        if self.team is not KEEP:
            changes["team"] = self.team
        return changes


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


@dataclass
class BulkResult:
    """Ticket numbers by outcome, each in ascending order."""

    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: dict[int, Refusal] = field(default_factory=dict)


NOT_FOUND = Refusal("not_found", "No such ticket, or you do not have access to it.")

# The order in which refusals name what may not be changed.
_PROPERTIES = ("assignee", "priority", "team", "status", "tags")


def permitted_changes(user: User, ticket: Ticket) -> frozenset[str]:
    """Which properties of ``ticket`` ``user`` may change in bulk (possibly none)."""
    allowed: set[str] = set()
    if access.can_edit_ticket(user, ticket):
        allowed |= {"priority", "assignee", "team"}
    if access.can_change_status(user, ticket):
        allowed.add("status")
    if access.can_tag(user, ticket):
        allowed.add("tags")
    return frozenset(allowed)


def bulk_update(
    ticket_numbers: Iterable[int], *, acting_user: User, changes: BulkChanges
) -> BulkResult:
    """Apply ``changes`` to each of the tickets; report, per ticket, what happened.

    1. The whole request is refused (:class:`TicketError`, nothing written) when it
       names no ticket or more than :data:`MAX_TICKETS`, changes nothing, names a tag
       to both add and remove or an assignee who does not work tickets, or comes
       from someone who may make none of the changes on any ticket they can see
       (403; customers always).
    2. Tickets are loaded only through :func:`access.visible_tickets`; a number the
       user cannot see is refused as "not found", exactly like one that does not
       exist.
    3. Each ticket is then locked and changed in its own transaction: fields, tags,
       status last (so a refused status undoes that ticket's other changes). A
       :class:`TicketError` from a service refuses that ticket only.
    """
    numbers = sorted(set(ticket_numbers))
    wanted = _check_request(numbers, acting_user, changes)
    result = BulkResult()
    visible = access.visible_tickets(acting_user)
    found = {
        ticket.number: ticket
        for ticket in visible.filter(
            number__in=[n for n in numbers if 0 < n <= _MAX_NUMBER]
        ).order_by("number")
    }
    result.refused = {n: NOT_FOUND for n in numbers if n not in found}
    allowed = {
        number: permitted_changes(acting_user, ticket)
        for number, ticket in found.items()
    }
    for number, may in allowed.items():
        if wanted - may:
            result.refused[number] = _not_allowed(wanted - may, "this ticket")
    if found and all(wanted - may for may in allowed.values()):
        missing = frozenset().union(*(wanted - may for may in allowed.values()))
        refusal = _not_allowed(missing, "these tickets")
        raise TicketError(refusal.code, refusal.message, status=403)
    result.refused |= _hidden_from_assignee(changes.assignee, found, result.refused)
    for number, ticket in found.items():
        if number in result.refused:
            continue
        try:
            changed = _change_one(visible, ticket.pk, acting_user, changes)
        except Ticket.DoesNotExist:
            result.refused[number] = NOT_FOUND
        except TicketError as error:
            result.refused[number] = Refusal(error.code, error.message)
        else:
            (result.updated if changed else result.unchanged).append(number)
    result.refused = dict(sorted(result.refused.items()))
    return result


def _check_request(
    numbers: Collection[int], user: User, changes: BulkChanges
) -> frozenset[str]:
    if not access.can_use_agent_desk(user):
        raise TicketError(
            "not_allowed",
            "Only people who work tickets change them in bulk.",
            status=403,
        )
    if not numbers:
        raise TicketError("no_tickets", "Choose at least one ticket.")
    if len(numbers) > MAX_TICKETS:
        raise TicketError(
            "too_many_tickets",
            f"Choose at most {MAX_TICKETS} tickets at a time, not {len(numbers)}.",
        )
    wanted = changes.wanted()
    if not wanted:
        raise TicketError("nothing_to_change", "Choose a change to apply.")
    if changes.status and changes.status not in Ticket.Status.values:
        raise TicketError("invalid_status", f"Unknown status {changes.status!r}.")
    if changes.priority is not None and changes.priority not in Ticket.Priority.values:
        raise TicketError("invalid_priority", "Priority must be 1 (low) to 4 (urgent).")
    both = set(services.normalize_tags(changes.add_tags)) & set(
        services.normalize_tags(changes.remove_tags)
    )
    if both:
        raise TicketError(
            "invalid_tags",
            f"A tag cannot be both added and removed: {', '.join(sorted(both))}.",
        )
    assignee = changes.assignee
    if isinstance(assignee, User) and not access.can_use_agent_desk(assignee):
        raise TicketError(
            "invalid_assignee",
            "The assignee must be someone who works tickets, not a customer.",
        )
    return wanted


def _not_allowed(fields: frozenset[str], what: str) -> Refusal:
    names = [name for name in _PROPERTIES if name in fields]
    listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
    return Refusal("not_allowed", f"You cannot change the {listed} of {what}.")


def _hidden_from_assignee(
    assignee: User | Literal[Keep.KEEP] | None,
    found: dict[int, Ticket],
    refused: dict[int, Refusal],
) -> dict[int, Refusal]:
    """A refusal for each ticket the new assignee could not see (one query)."""
    if not isinstance(assignee, User):
        return {}
    pks = {t.pk for number, t in found.items() if number not in refused}
    seen = set(
        access.visible_tickets(assignee).filter(pk__in=pks).values_list("pk", flat=True)
    )
    refusal = Refusal(
        "invalid_assignee", f"{assignee.display_name} cannot see this ticket."
    )
    return {n: refusal for n, t in found.items() if t.pk in pks and t.pk not in seen}


def _change_one(
    visible: TicketQuerySet, pk: int, user: User, changes: BulkChanges
) -> bool:
    """Change one ticket in one transaction; True if anything changed."""
    with transaction.atomic():
        # Locked and read afresh: a concurrent edit is neither lost nor overwritten.
        ticket = (
            visible.select_for_update(of=("self",))
            .select_related("assignee", "team")
            .get(pk=pk)
        )
        changed = False
        if fields := changes.field_changes():
            changed = bool(services.update_ticket(ticket, acting_user=user, **fields))
        if changes.add_tags or changes.remove_tags:
            changed |= _change_tags(ticket, user, changes)
        if changes.status and changes.status != ticket.status:
            services.change_status(ticket, changes.status, acting_user=user)
            changed = True
    return changed


def _change_tags(ticket: Ticket, user: User, changes: BulkChanges) -> bool:
    current = list(ticket.tags.values_list("name", flat=True))
    remove = set(services.normalize_tags(changes.remove_tags))
    add = services.normalize_tags(changes.add_tags)
    wanted = [n for n in current if n not in remove] + [
        n for n in add if n not in current
    ]
    if set(wanted) == set(current):
        return False
    services.set_tags(ticket, wanted, acting_user=user)
    return True
