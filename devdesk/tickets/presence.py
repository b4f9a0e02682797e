"""Collision warnings: who else has a ticket open right now, and whether they are typing.

The ticket page reports every few seconds; anyone not heard from within
``settings.PRESENCE_SECONDS`` has left. One row per (ticket, person) is kept and
overwritten, so the table stays as small as the number of open browser tabs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import get_text_list

from devdesk.accounts.models import User
from devdesk.tickets.models import Ticket, TicketPresence

Activity = TicketPresence.Activity


def record_presence(ticket: Ticket, user: User, activity: str) -> TicketPresence:
    """Note that ``user`` is viewing (or replying to) ``ticket`` now.

    Safe to call from two tabs at once: a lost insert race becomes an update.
    """
    if activity not in Activity.values:
        activity = Activity.VIEWING
    values = {"activity": activity, "seen_at": timezone.now()}
    try:
        with transaction.atomic():
            presence, _ = TicketPresence.objects.update_or_create(
                ticket=ticket, user=user, defaults=values
            )
    except IntegrityError:
        TicketPresence.objects.filter(ticket=ticket, user=user).update(**values)
        presence = TicketPresence.objects.get(ticket=ticket, user=user)
    return presence


def others_present(ticket: Ticket, user: User) -> list[TicketPresence]:
    """Everyone but ``user`` seen on ``ticket`` lately; those replying first."""
    since = timezone.now() - timedelta(seconds=settings.PRESENCE_SECONDS)
    presences = (
        TicketPresence.objects.filter(ticket=ticket, seen_at__gte=since)
        .exclude(user=user)
        .select_related("user")
    )
    return sorted(
        presences,
        key=lambda p: (p.activity != Activity.REPLYING, p.user.display_name),
    )


def prune_presence(*, older_than: timedelta) -> int:
    """Delete presence rows not refreshed within ``older_than``; returns how many.

    Closed tabs leave their row behind; ``devdesk scheduler`` prunes day-old rows
    every hour.
    """
    cutoff = timezone.now() - older_than
    deleted, _ = TicketPresence.objects.filter(seen_at__lt=cutoff).delete()
    return deleted


@dataclass(frozen=True)
class CollisionWarning:
    replying: list[str]
    viewing: list[str]

    def __bool__(self) -> bool:
        return bool(self.replying or self.viewing)

    @property
    def sentences(self) -> list[str]:
        """E.g. ``["Sam is replying", "Kim and Lee are viewing"]``."""
        lines = []
        for names, doing in ((self.replying, "replying"), (self.viewing, "viewing")):
            if names:
                verb = "is" if len(names) == 1 else "are"
                lines.append(f"{get_text_list(names, 'and')} {verb} {doing}")
        return lines


def collision_warning(ticket: Ticket, user: User) -> CollisionWarning:
    """Names of the other people on the ticket, split by what they are doing."""
    others = others_present(ticket, user)
    return CollisionWarning(
        replying=[
            p.user.display_name for p in others if p.activity == Activity.REPLYING
        ],
        viewing=[p.user.display_name for p in others if p.activity == Activity.VIEWING],
    )
