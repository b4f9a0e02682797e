"""The demo's triage: skills, routing rules and team methods, impact and effort on
the open tickets (varied scores), a duplicate link across two customers, and
the customers waiting for an answer that its conversations leave. Written through the triage services, so scores
and their ``score_changed`` events are real.

New demo tickets are routed by these rules once the demo's transaction commits
(the ``created`` subscriber), like any new ticket.
"""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal

from devdesk.accounts.models import Team, User
from devdesk.tickets.models import Product, Ticket
from devdesk.triage import scoring
from devdesk.triage.models import (
    AgentSkill,
    DuplicateLink,
    RoutingPolicy,
    RoutingRule,
    Skill,
    TeamRouting,
)

SUPPORT_TEAM = "developer-support"
# skill -> the agents who have it
SKILLS = {
    "payments": ["priya@skyforge.example", "tomas@skyforge.example"],
    "webhooks": ["priya@skyforge.example", "marcus@skyforge.example"],
    "python": ["hana@skyforge.example", "tomas@skyforge.example"],
    "node": ["marcus@skyforge.example", "hana@skyforge.example"],
    "go": ["tomas@skyforge.example"],
    "kubernetes": ["ingrid@skyforge.example", "marcus@skyforge.example"],
    "norwegian": ["ingrid@skyforge.example"],
}
# name, position, products, languages, skills
RULES = [
    ("Self-hosted Gateway needs Kubernetes", 10, ["gateway"], "", ["kubernetes"]),
    ("Norwegian speakers", 20, [], "nb, no", ["norwegian"]),
    ("Python SDK", 30, ["python-sdk"], "", ["python"]),
    ("Node SDK", 40, ["node-sdk"], "", ["node"]),
    ("Go SDK", 50, ["go-sdk"], "", ["go"]),
    ("Webhooks", 60, ["webhooks"], "", ["webhooks"]),
]
ADMIN = "ada@skyforge.example"


def write_triage_scoring(*, now: datetime, seed: int) -> None:
    """Skills, rules, the default team, estimates and a duplicate. (Customers are
    left waiting by the demo's own conversations: some wrote last, days ago.)"""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    team = Team.objects.get(slug=SUPPORT_TEAM)
    people = {u.email: u for u in User.objects.filter(organization__slug="skyforge")}
    for name, emails in SKILLS.items():
        skill, _ = Skill.objects.get_or_create(name=name)
        for email in emails:
            AgentSkill.objects.get_or_create(skill=skill, user=people[email])
    products = {p.slug: p for p in Product.objects.all()}
    for name, position, slugs, languages, skills in RULES:
        rule, created = RoutingRule.objects.get_or_create(
            name=name,
            defaults={"position": position, "languages": languages, "team": team},
        )
        if created:
            rule.products.set([products[s] for s in slugs])
            rule.required_skills.set(Skill.objects.filter(name__in=skills))
    RoutingPolicy.objects.update_or_create(pk=1, defaults={"default_team": team})
    TeamRouting.objects.update_or_create(
        team=team, defaults={"method": TeamRouting.Method.LEAST_OPEN}
    )
    # The estimates are part of the invented past: the tickets keep the "updated"
    # times their conversations gave them.
    updated = dict(Ticket.objects.values_list("pk", "updated_at"))
    _estimate_open_tickets(rng, people[ADMIN])
    _link_a_duplicate(people[ADMIN])
    for ticket in Ticket.objects.filter(pk__in=updated).only("pk", "updated_at"):
        if ticket.updated_at != updated[ticket.pk]:
            Ticket.objects.filter(pk=ticket.pk).update(updated_at=updated[ticket.pk])


def _estimate_open_tickets(rng: random.Random, admin: User) -> None:
    """Varied severity, production-down flags, affected counts and efforts."""
    unresolved = Ticket.objects.filter(
        status__in=Ticket.UNRESOLVED_STATUSES, merged_into__isnull=True
    ).select_related("organization")
    for ticket in unresolved.order_by("number"):
        severity = rng.choices(Ticket.Severity.values, weights=[2, 5, 3, 1], k=1)[0]
        changes: dict[str, object] = {"severity": severity}
        if severity == Ticket.Severity.CRITICAL:
            changes["is_production_down"] = True
        if rng.random() < 0.5:
            changes["effort_hours"] = Decimal(rng.choice(["0.5", "1", "2", "4", "8"]))
        if rng.random() < 0.3:
            changes["affected_count"] = rng.choice([2, 3, 5, 12, 40])
        scoring.set_estimates(ticket, acting_user=admin, **changes)  # type: ignore[arg-type]


def _link_a_duplicate(admin: User) -> None:
    """Two open webhook tickets of different customers: the newer is a duplicate."""
    webhooks = (
        Ticket.objects.filter(
            status__in=Ticket.UNRESOLVED_STATUSES,
            product__slug="webhooks",
            merged_into__isnull=True,
            duplicate_link__isnull=True,
        )
        .select_related("organization")
        .order_by("number")
    )
    first = webhooks.first()
    if first is None or DuplicateLink.objects.exists():
        return
    other = (
        webhooks.exclude(organization=first.organization).exclude(pk=first.pk).last()
        or webhooks.exclude(pk=first.pk).last()
    )
    if other is not None:
        scoring.mark_duplicate(other, first, acting_user=admin)


def remove_triage_scoring() -> None:
    """Delete the demo's skills and rules (team methods go with the team)."""
    RoutingRule.objects.filter(name__in=[r[0] for r in RULES]).delete()
    Skill.objects.filter(name__in=list(SKILLS)).delete()
