"""The agent inbox as a query: named views, filters, sort orders and keyset pages.

Everything starts from :func:`access.visible_tickets`, so an engineer or a partner
agent gets the same inbox limited to what they may see. Nothing here counts a whole
table: view counts stop at :data:`COUNT_CAP` and pages are keyset pages (no OFFSET,
no total), so the inbox costs the same with a hundred tickets or ten million.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, Q, QuerySet

from devdesk.accounts.models import User
from devdesk.lib.keyset import Page, paginate
from devdesk.search.services import match_tickets
from devdesk.tickets.access import can_search_internal_notes, visible_tickets
from devdesk.tickets.models import Ticket, TicketQuerySet

Status = Ticket.Status

# Above this many tickets a view shows "1000+": counting further would scan the table.
COUNT_CAP = 1000


@dataclass(frozen=True)
class InboxView:
    slug: str
    label: str
    select: Callable[[TicketQuerySet, User], TicketQuerySet]


def _my_teams(tickets: TicketQuerySet, user: User) -> TicketQuerySet:
    # "Mine as a team": routed to one of my teams, or escalated to it (engineers).
    teams = user.teams.values("pk")
    return tickets.filter(
        Q(team__in=teams) | Q(escalated_team__in=teams),
        status__in=Ticket.UNRESOLVED_STATUSES,
    )


VIEWS: dict[str, InboxView] = {
    view.slug: view
    for view in [
        InboxView(
            "mine",
            "Mine",
            lambda t, u: t.filter(assignee=u, status__in=Ticket.UNRESOLVED_STATUSES),
        ),
        InboxView(
            "unassigned",
            "Unassigned",
            lambda t, u: t.filter(
                assignee__isnull=True, status__in=Ticket.UNRESOLVED_STATUSES
            ),
        ),
        InboxView("teams", "My teams", _my_teams),
        InboxView(
            "open", "All open", lambda t, u: t.filter(status__in=Ticket.OPEN_STATUSES)
        ),
        InboxView(
            "pending",
            "Pending",
            lambda t, u: t.filter(status__in=Ticket.PENDING_STATUSES),
        ),
        InboxView("solved", "Solved", lambda t, u: t.filter(status=Status.SOLVED)),
        InboxView("all", "All", lambda t, u: t),
    ]
}


def default_view(user: User) -> str:
    """Where the inbox opens: new and open work for the desk; engineers start with
    what was escalated to their teams (it waits in "pending engineering")."""
    return "teams" if user.role == User.Role.ENGINEER else "open"


# Sort key -> (label, keyset ordering). Every ordering ends in the unique id and
# matches an index on Ticket.
SORTS: dict[str, tuple[str, list[str]]] = {
    "updated": ("Updated, newest first", ["-updated_at", "-id"]),
    "updated_asc": ("Updated, oldest first", ["updated_at", "id"]),
    "created": ("Created, newest first", ["-created_at", "-id"]),
    "priority": ("Priority, highest first", ["-priority", "-updated_at", "-id"]),
    # The priority score (impact x effort, see devdesk/triage/scoring.py).
    "score": ("Score, highest first", ["-score", "-id"]),
}
DEFAULT_SORT = "updated"
# The open queue is worked in score order: biggest impact for the smallest effort.
VIEW_SORTS: dict[str, str] = {"open": "score"}


def default_sort(view: str) -> str:
    """The sort a view opens with when none is chosen."""
    return VIEW_SORTS.get(view, DEFAULT_SORT)


@dataclass(frozen=True)
class InboxFilters:
    """Narrowing within a view; empty fields do not filter.

    ``assignee`` is ``"me"``, ``"none"`` or a user id; ``text`` is a search (subject,
    replies and, for those who may read them, internal notes).
    """

    status: str = ""
    priority: int | None = None
    product_id: int | None = None
    organization_id: int | None = None
    assignee: str = ""
    channel: str = ""
    tag: str = ""
    text: str = ""

    @property
    def is_empty(self) -> bool:
        return self == InboxFilters()


@dataclass(frozen=True)
class CappedCount:
    value: int
    is_capped: bool

    def __str__(self) -> str:
        return f"{COUNT_CAP}+" if self.is_capped else str(self.value)


def capped_count(tickets: QuerySet[Ticket]) -> CappedCount:
    """Count up to :data:`COUNT_CAP` rows; the database stops reading after that."""
    found = tickets.order_by()[: COUNT_CAP + 1].count()
    return CappedCount(min(found, COUNT_CAP), found > COUNT_CAP)


def view_counts(user: User) -> list[tuple[InboxView, CappedCount]]:
    """Each view with its (capped) number of tickets ``user`` can see.

    Counting takes one query per view, and the inbox is the page agents reload all
    day, mostly when nothing changed. So the counts are cached per user under the
    desk's newest ticket id and latest update time: any new or changed ticket gives
    a new key, and the counts are exact. What that key cannot see (a user joining a
    team, a deleted ticket) shows within ``settings.INBOX_COUNTS_SECONDS``.
    """
    seconds = settings.INBOX_COUNTS_SECONDS
    if seconds <= 0:
        return _count_views(user)
    latest = Ticket.objects.aggregate(id=Max("id"), at=Max("updated_at"))
    stamp = latest["at"].timestamp() if latest["at"] else 0
    key = f"inbox-counts:{user.pk}:{user.role}:{latest['id']}:{stamp}"
    cached: dict[str, CappedCount] | None = cache.get(key)
    if cached is None or cached.keys() != VIEWS.keys():
        counts = _count_views(user)
        cache.set(key, {view.slug: count for view, count in counts}, seconds)
        return counts
    return [(view, cached[slug]) for slug, view in VIEWS.items()]


def _count_views(user: User) -> list[tuple[InboxView, CappedCount]]:
    visible = visible_tickets(user)
    return [(view, capped_count(view.select(visible, user))) for view in VIEWS.values()]


def inbox_tickets(user: User, view: str, filters: InboxFilters) -> TicketQuerySet:
    """The tickets of one view after filters, not yet ordered or paged."""
    tickets = VIEWS[view].select(visible_tickets(user), user)
    if filters.status:
        tickets = tickets.filter(status=filters.status)
    if filters.priority is not None:
        tickets = tickets.filter(priority=filters.priority)
    if filters.product_id is not None:
        tickets = tickets.filter(product_id=filters.product_id)
    if filters.organization_id is not None:
        tickets = tickets.filter(organization_id=filters.organization_id)
    if filters.assignee == "me":
        tickets = tickets.filter(assignee=user)
    elif filters.assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.assignee:
        tickets = tickets.filter(assignee_id=int(filters.assignee))
    if filters.channel:
        tickets = tickets.filter(channel=filters.channel)
    if filters.tag:
        tickets = tickets.filter(tags__name=filters.tag)
    if filters.text:
        tickets = match_tickets(
            tickets, filters.text, include_internal=can_search_internal_notes(user)
        )
    return tickets


def inbox_page(
    user: User,
    *,
    view: str = "open",
    filters: InboxFilters | None = None,
    sort: str = "",
    cursor: str | None = None,
    size: int = 50,
) -> Page[Ticket]:
    """One keyset page of a view, with everything a row shows loaded in a fixed
    number of queries. Raises :class:`lib.keyset.InvalidCursor` for a bad cursor."""
    tickets = inbox_tickets(user, view, filters or InboxFilters())
    rows = tickets.for_inbox()
    ordering = SORTS[sort or default_sort(view)][1]
    return paginate(rows, ordering=ordering, cursor=cursor, size=size)
