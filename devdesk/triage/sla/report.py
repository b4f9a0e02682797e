"""The breach report: how many SLA targets were missed, per policy, target and week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count
from django.db.models.functions import TruncWeek

from devdesk.triage.models import SlaBreach, SlaTarget


@dataclass(frozen=True)
class BreachCount:
    week: date
    policy: str
    target: str
    target_label: str
    breaches: int


def breach_counts(*, since: datetime, until: datetime) -> list[BreachCount]:
    """Breaches recorded in [since, until), grouped by week (Monday), policy and
    target; newest week first. One grouped query."""
    rows = (
        SlaBreach.objects.filter(breached_at__gte=since, breached_at__lt=until)
        .annotate(week=TruncWeek("breached_at"))
        .values("week", "policy__name", "target")
        .annotate(breaches=Count("id"))
        .order_by("-week", "policy__name", "target")
    )
    labels = dict(SlaTarget.choices)
    return [
        BreachCount(
            week=row["week"].date()
            if isinstance(row["week"], datetime)
            else row["week"],
            policy=row["policy__name"],
            target=row["target"],
            target_label=str(labels.get(row["target"], row["target"])),
            breaches=row["breaches"],
        )
        for row in rows
    ]
