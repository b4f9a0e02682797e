"""The inbox's ticket rows, rendered in Python.

The inbox is the page agents open most, and its rows were most of its cost: as a
template loop, fifty rows took about four times the work they take here, built
with f-strings and :func:`html.escape` (which escapes the same five characters as
Django's ``escape``), with the same markup. The rest of the page stays a template
(``tickets/desk/inbox.html``), which calls this through the ``inbox_rows`` tag.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as esc

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from devdesk.lib.humanize import ago, time_ago
from devdesk.tickets.conversation import desk_ticket_urls
from devdesk.tickets.models import Ticket


def _pick(ticket: Ticket, ticked: set[int], tickets_name: str, page_name: str) -> str:
    n = ticket.number
    checked = " checked" if n in ticked else ""
    return (
        f'<td class="pick"><input type="checkbox" name="{esc(tickets_name)}" '
        f'value="{n}" aria-label="Tick #{n}"{checked}><input type="hidden" '
        f'name="{esc(page_name)}" value="{n}"></td>'
    )


class _Shared:
    """What every row of a page shares, worked out once: the ticket URLs and the
    status and priority labels (each a lazy translation)."""

    def __init__(self) -> None:
        self.ticket_url = desk_ticket_urls()
        self.status = {k: str(v) for k, v in Ticket.Status.choices}
        self.priority = {k: str(v) for k, v in Ticket.Priority.choices}
        self.now = timezone.now()


def inbox_row(
    ticket: Ticket,
    shared: _Shared,
    *,
    bulk: bool,
    may_bulk: bool,
    ticked: set[int],
    tickets_name: str,
    page_name: str,
) -> str:
    url = esc(shared.ticket_url(ticket.number))
    when = ago(ticket.updated_at)
    organization = ticket.organization.name
    tags = [t.name for t in ticket.tag_list]  # loaded by Ticket.objects.for_inbox()
    pick = ""
    if bulk:
        pick = (
            _pick(ticket, ticked, tickets_name, page_name)
            if may_bulk
            else '<td class="pick"></td>'
        )
    tag_html = ""
    if tags:
        spans = " ".join(f'<span class="tag">{esc(t)}</span>' for t in tags)
        tag_html = f'<div class="row-tags">{spans}</div>'
    assignee = (
        esc(ticket.assignee.display_name)
        if ticket.assignee
        else '<span class="muted">—</span>'
    )
    org = esc(organization)
    status = esc(ticket.status)
    # Triage's SLA clocks, joined by for_inbox(); a ticket without them shows none.
    sla = getattr(ticket, "sla", None)
    sla_badge = sla.inbox_badge(shared.now) if sla is not None else ""
    marks = ""
    if ticket.in_cooldown and ticket.cooldown_until:
        until = ticket.cooldown_until.strftime("%d %b %H:%M UTC")
        marks += (
            f' <span class="badge cooldown" title="Cool-down until {until}: '
            f'automatic answers hold">cool-down</span>'
        )
    if ticket.is_out_of_scope:
        marks += ' <span class="badge out-of-scope">out of scope</span>'

    return (
        f'<tr data-row data-href="{url}">{pick}'
        f'<td class="number">#{ticket.number}</td>'
        f'<td class="subject"><a href="{url}">{esc(ticket.subject)}</a>{marks}'
        f'<span class="sub show-sm">{org} · {esc(when)}</span>{tag_html}</td>'
        f'<td class="hide-sm requester">{esc(ticket.requester.display_name)}'
        f'<span class="sub">{org}</span></td>'
        f'<td class="status-cell"><span class="badge status-{status}">'
        f"{esc(shared.status.get(ticket.status, ticket.status))}</span>{sla_badge}</td>"
        f'<td class="priority-cell"><span class="badge priority-{ticket.priority}">'
        f"{esc(shared.priority.get(ticket.priority, str(ticket.priority)))}"
        f'</span> <span class="score" title="Priority score">{ticket.score:g}</span></td>'
        f'<td class="hide-sm assignee">{assignee}</td>'
        f'<td class="hide-sm when">{time_ago(ticket.updated_at, said=when)}</td></tr>\n'
    )


def inbox_rows(
    tickets: Iterable[Ticket],
    *,
    bulk_numbers: set[int] | None,
    ticked: set[int],
    tickets_name: str,
    page_name: str,
) -> SafeString:
    """Every row of one inbox page of ``Ticket.objects.for_inbox()``;
    ``bulk_numbers`` are the tickets the agent may change in bulk (``None`` or
    empty: no tick column)."""
    bulk = bool(bulk_numbers)
    allowed = bulk_numbers or set()
    shared = _Shared()
    return mark_safe(  # noqa: S308 - each row is built by format_html
        "".join(
            inbox_row(
                ticket,
                shared,
                bulk=bulk,
                may_bulk=ticket.number in allowed,
                ticked=ticked,
                tickets_name=tickets_name,
                page_name=page_name,
            )
            for ticket in tickets
        )
    )
