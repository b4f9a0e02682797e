"""Routing: which team a new ticket goes to, and which of its people gets it.

1. Routing rules (ordered by position; the first active one whose conditions all
   match wins) name a team; a ticket no rule matches goes to the routing policy's
   default team. Conditions: product, language (the requester's), organization;
   a rule's required skills narrow the people of the team who may get it.
2. Within the team, its :class:`TeamRouting` method picks a person: round-robin or
   the least open load among its members who are active agents, or the person on
   shift (:func:`on_shift_person`).

New tickets are routed after the transaction that opened them commits (a
``created`` subscriber, see :mod:`devdesk.triage.apps`): a routing failure is
logged and never loses a ticket, and every way a ticket is made (portal, API,
e-mail, agents, splits) is routed alike. Every assignment is an event naming the
rule. The rules engine calls :func:`route` and :func:`assign_in_team`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from devdesk.accounts.models import Team, User
from devdesk.tickets.events import record_event
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.tickets.services import lock_and_refresh
from devdesk.triage.models import RoutingPolicy, RoutingRule, Skill, TeamRouting

logger = logging.getLogger(__name__)

# Who round-robin and least-open-load choose among: the team's active agents (admins
# run the desk; they get tickets by hand, or as the person on shift).
POOL_ROLES = (User.Role.AGENT,)
ON_SHIFT_ROLES = (User.Role.AGENT, User.Role.ADMIN)


@dataclass(frozen=True)
class Routed:
    """Where a ticket went: the team, the person (if any), the rule (``None``: the
    default team, or the team the ticket already had)."""

    team: Team | None
    assignee: User | None
    rule: RoutingRule | None


def ticket_language(ticket: Ticket) -> str:
    """The language a ticket is routed by: its requester's (``en`` by default)."""
    return (ticket.requester.language or "").strip().lower()[:2]


def matching_rule(ticket: Ticket) -> RoutingRule | None:
    """The first active rule, by position, whose every set condition the ticket meets."""
    language = ticket_language(ticket)
    rules = RoutingRule.objects.filter(is_active=True).prefetch_related(
        "products", "organizations"
    )
    for rule in rules:
        products = {p.pk for p in rule.products.all()}
        if products and ticket.product_id not in products:
            continue
        organizations = {o.pk for o in rule.organizations.all()}
        if organizations and ticket.organization_id not in organizations:
            continue
        languages = rule.language_list
        if languages and language not in languages:
            continue
        return rule
    return None


def route(ticket: Ticket, *, acting_user: User | None = None) -> Routed:
    """Send the ticket to a team and a person of it, by the routing rules.

    A ticket that already has an assignee is left alone; one that already has a team
    (its mailbox's, or a rule's) gets a person of that team. Otherwise the first
    matching rule, else the default team. Records ``team_changed`` and
    ``assignee_changed`` with ``reason: routing`` and the rule's name.
    """
    with transaction.atomic():
        lock_and_refresh(ticket)
        if ticket.assignee_id is not None or not ticket.is_unresolved:
            return Routed(ticket.team, ticket.assignee, None)
        if ticket.team_id is not None:
            team = ticket.team
            assert team is not None  # noqa: S101 - team_id is set
            person = assign_in_team(ticket, team, acting_user=acting_user)
            return Routed(team, person, None)
        rule = matching_rule(ticket)
        team = rule.team if rule else _default_team()
        if team is None:
            return Routed(None, None, None)
        skills = list(rule.required_skills.all()) if rule else []
        person = assign_in_team(
            ticket, team, acting_user=acting_user, skills=skills, rule=rule
        )
    return Routed(team, person, rule)


def _default_team() -> Team | None:
    policy = RoutingPolicy.objects.select_related("default_team").filter(pk=1).first()
    return policy.default_team if policy else None


def assign_in_team(
    ticket: Ticket,
    team: Team,
    *,
    acting_user: User | None = None,
    skills: list[Skill] | None = None,
    rule: RoutingRule | None = None,
    at: datetime | None = None,
) -> User | None:
    """Give the ticket to ``team`` and to one of its people by the team's method;
    returns that person (``None`` when nobody fits: the ticket waits in the team's
    queue). ``skills``: only people with all of them. One event per change."""
    with transaction.atomic():
        lock_and_refresh(ticket)
        _set(ticket, "team", team, acting_user=acting_user, rule=rule)
        person = choose_person(team, skills=skills or [], at=at or timezone.now())
        if person is not None:
            _set(ticket, "assignee", person, acting_user=acting_user, rule=rule)
    return person


def _set(
    ticket: Ticket,
    field: str,
    value: Team | User,
    *,
    acting_user: User | None,
    rule: RoutingRule | None,
) -> None:
    old = getattr(ticket, field)
    if old == value:
        return
    setattr(ticket, field, value)
    ticket.save(update_fields=[field])
    kind = (
        TicketEvent.Kind.TEAM_CHANGED
        if field == "team"
        else TicketEvent.Kind.ASSIGNEE_CHANGED
    )
    name = value.display_name if isinstance(value, User) else value.name
    old_name = (
        None
        if old is None
        else {
            "id": old.pk,
            "name": old.display_name if isinstance(old, User) else old.name,
        }
    )
    record_event(
        ticket,
        kind,
        actor=acting_user,
        old=old_name,
        new={"id": value.pk, "name": name},
        reason="routing",
        rule=rule.name if rule else "",
    )


def team_agents(team: Team, skills: list[Skill] | None = None) -> QuerySet[User]:
    """The team's members who may be given tickets by turns or by load (its active
    agents), with every one of ``skills``; in a stable order (id)."""
    people = team.members.filter(is_active=True, role__in=POOL_ROLES)
    for skill in skills or []:
        people = people.filter(skills__skill=skill)
    return people.order_by("pk")


def on_shift_person(team: Team, at: datetime) -> User | None:
    """Who is on shift for ``team`` at ``at``. Until rotations exist: the team's
    default person, if they may be given tickets. The rotation feature replaces
    this function's body."""
    person = team.default_person
    if person is None or not person.is_active or person.role not in ON_SHIFT_ROLES:
        return None
    return person


def choose_person(team: Team, *, skills: list[Skill], at: datetime) -> User | None:
    """The person of ``team`` to get the next ticket, by the team's method."""
    routing, _ = TeamRouting.objects.select_for_update().get_or_create(team=team)
    if routing.method == TeamRouting.Method.NOBODY:
        return None
    if routing.method == TeamRouting.Method.ON_SHIFT:
        person = on_shift_person(team, at)
        if person is not None and all(
            person.skills.filter(skill=s).exists() for s in skills
        ):
            return person
        return None
    people = team_agents(team, skills)
    if routing.method == TeamRouting.Method.LEAST_OPEN:
        return (
            people.annotate(
                load=Count(
                    "assigned_tickets",
                    filter=Q(assigned_tickets__status__in=Ticket.UNRESOLVED_STATUSES),
                )
            )
            .order_by("load", "pk")
            .first()
        )
    # Round-robin: the next person after the last one given a ticket, by id.
    last = routing.last_assigned_id or 0
    person = people.filter(pk__gt=last).first() or people.first()
    if person is not None:
        routing.last_assigned = person
        routing.save(update_fields=["last_assigned"])
    return person


def route_new_ticket(event: TicketEvent) -> None:
    """The ``created`` subscriber: route the new ticket (after its commit)."""
    ticket = Ticket.objects.select_related("requester", "team").get(pk=event.ticket_id)
    route(ticket)
