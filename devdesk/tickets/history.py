"""A ticket's history as sentences people can read: "Alex changed status from Open to Solved"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import Q

from devdesk.accounts.models import User
from devdesk.tickets.models import Message, Ticket, TicketEvent


def ticket_history(ticket: Ticket) -> list[dict[str, Any]]:
    """The ticket's events, and those of tickets merged into it, as readable lines."""
    # "ticket in (this one and those merged into it)" rather than an OR across the
    # join, which PostgreSQL can only answer by reading every event of every ticket.
    tickets = Ticket.objects.filter(Q(pk=ticket.pk) | Q(merged_into=ticket))
    events = list(
        TicketEvent.objects.filter(ticket__in=tickets.values("pk"))
        .select_related("actor", "ticket")
        # A line names the actor and, for a merged ticket, its number: reading
        # whole rows of both parsed a dozen unused dates per event.
        .only(
            "kind",
            "data",
            "created_at",
            "ticket__number",
            *(f"actor__{name}" for name in User.NAME_FIELDS),
        )
        .order_by("created_at", "id")
    )
    follower_ids = {
        pk
        for e in events
        if e.kind == TicketEvent.Kind.FOLLOWERS_CHANGED
        for pk in (*e.data.get("added", []), *e.data.get("removed", []))
    }
    names = (
        {u.pk: u.display_name for u in User.objects.filter(pk__in=follower_ids)}
        if follower_ids
        else {}
    )
    return [
        {
            "event": e,
            "text": describe_event(e, names),
            "elsewhere": e.ticket if e.ticket_id != ticket.pk else None,
        }
        for e in events
    ]


def _value(value: Any) -> str:
    if value is None or value == "":
        return "nothing"
    if isinstance(value, dict):
        return str(value.get("name", "?"))
    return str(value)


def _names(ids: list[int], names: dict[int, str]) -> str:
    return ", ".join(names.get(pk, "a former user") for pk in ids)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe_event(event: TicketEvent, names: dict[int, str] | None = None) -> str:
    """One event as a sentence: "Alex changed status from Open to Solved"; a change
    a rule made says which rule ("… (rule “Production down”)")."""
    text = _describe_event(event, names)
    rule = (event.data or {}).get("rule")
    if isinstance(rule, dict) and event.kind != TicketEvent.Kind.RULE_APPLIED:
        text += f" (rule “{rule.get('name', '?')}”)"
    return text


def _describe_event(event: TicketEvent, names: dict[int, str] | None = None) -> str:
    who = event.actor.display_name if event.actor else settings.SITE_NAME
    data = event.data or {}
    kind = TicketEvent.Kind
    label: dict[str, Callable[[Any], str]] = {
        kind.STATUS_CHANGED: lambda v: (
            Ticket.Status(v).label if v in Ticket.Status.values else str(v)
        ),
        kind.PRIORITY_CHANGED: lambda v: (
            Ticket.Priority(v).label if v in Ticket.Priority.values else str(v)
        ),
    }
    field: dict[str, str] = {
        kind.STATUS_CHANGED: "status",
        kind.PRIORITY_CHANGED: "priority",
        kind.OWNER_CHANGED: "owner",
        kind.ASSIGNEE_CHANGED: "assignee",
        kind.TEAM_CHANGED: "team",
        kind.PRODUCT_CHANGED: "product",
        kind.SUBJECT_CHANGED: "subject",
    }
    if event.kind in field:
        show = label.get(event.kind, _value)
        name = field[event.kind]
        if data.get("old") is None:
            text = f"{who} set {name} to {show(data.get('new'))}"
        elif data.get("new") is None:
            text = f"{who} cleared {name} (was {show(data.get('old'))})"
        else:
            text = (
                f"{who} changed {name} from {show(data['old'])} to {show(data['new'])}"
            )
        reason = {
            "customer_reply": "the customer replied",
            "desk_reply": "first reply",
            "routing": "routing",
        }
        if data.get("reason") in reason:
            text += f" ({reason[data['reason']]}"
            text += f": rule “{data['rule']}”)" if data.get("rule") else ")"
        return text
    if event.kind == kind.CREATED:
        channel = data.get("channel", "")
        if channel == "split":
            return f"{who} created this ticket by a split"
        label_ = (
            Ticket.Channel(channel).label
            if channel in Ticket.Channel.values
            else channel
        )
        return f"{who} created the ticket ({label_ or 'unknown channel'})"
    if event.kind == kind.MESSAGE_ADDED:
        what = (
            "an internal note"
            if data.get("message_kind") == Message.Kind.INTERNAL
            else "a public reply"
        )
        files = data.get("attachments") or 0
        return f"{who} added {what}" + (
            f" with {_plural(files, 'attachment')}" if files else ""
        )
    if event.kind == kind.TAGS_CHANGED:
        parts = []
        for verb in ("added", "removed"):
            if data.get(verb):
                noun = "tag" if len(data[verb]) == 1 else "tags"
                parts.append(f"{verb} {noun} {', '.join(data[verb])}")
        return f"{who} {' and '.join(parts) or 'changed the tags'}"
    if event.kind == kind.FOLLOWERS_CHANGED:
        parts = []
        if data.get("added"):
            parts.append(f"added {_names(data['added'], names or {})} as follower")
        if data.get("removed"):
            parts.append(f"removed follower {_names(data['removed'], names or {})}")
        return f"{who} {' and '.join(parts) or 'changed the followers'}"
    if event.kind == kind.ESCALATED:
        target = data.get("team") or data.get("endpoint") or data.get("issue")
        return f"{who} escalated to {_value(target)}"
    if event.kind == kind.MERGED_INTO:
        return f"{who} merged this ticket into #{data.get('target')}"
    if event.kind == kind.MERGED_FROM:
        return f"{who} merged #{data.get('source')} into this ticket"
    moved = _plural(len(data.get("messages", [])), "message")
    if event.kind == kind.SPLIT_TO:
        return f"{who} moved {moved} out to #{data.get('target')}"
    if event.kind == kind.SPLIT_FROM:
        if data.get("undo_of") == "merge":
            return (
                f"{who} undid the merge: {moved} came back from #{data.get('source')}"
            )
        return f"{who} split {moved} out of #{data.get('source')} into this ticket"
    if event.kind == kind.MACRO_APPLIED:
        return f"{who} applied the macro “{data.get('macro', '')}”"
    if event.kind == kind.NOTIFICATION_FAILED:
        then = (
            "trying again for a day"
            if data.get("retrying")
            else "not tried again, since others got it"
        )
        return (
            f"E-mail to {data.get('recipient', '?')} could not be sent: "
            f"{data.get('reason', 'unknown error')} ({then})"
        )
    if event.kind == kind.RULE_APPLIED:
        rule = data.get("rule") or {}
        done = "; ".join(data.get("changes") or []) or "nothing to change"
        return f"Rule “{rule.get('name', '?')}” applied: {done}"
    if event.kind == kind.NOTIFICATION_SENT:
        return f"E-mail went out after all to {', '.join(data.get('recipients', []))}"
    if event.kind == kind.ESTIMATE_CHANGED:
        return (
            f"{who} changed {str(data.get('field', '')).replace('_', ' ')} "
            f"from {_value(data.get('old'))} to {_value(data.get('new'))}"
        )
    if event.kind == kind.SCORE_CHANGED:
        return (
            f"Score {_value(data.get('old'))} → {_value(data.get('new'))} "
            f"({data.get('reason', '')})"
        )
    if event.kind in {kind.DUPLICATE_LINKED, kind.DUPLICATE_UNLINKED}:
        verb = "linked" if event.kind == kind.DUPLICATE_LINKED else "unlinked"
        if "original" in data:
            return f"{who} {verb} this ticket as a duplicate of #{data['original']}"
        return (
            f"{who} {verb} duplicate #{data.get('duplicate')} (affected "
            f"{_value(data.get('old'))} → {_value(data.get('new'))})"
        )
    if data.get("summary"):  # events of other apps describe themselves
        return f"{who} {data['summary']}"
    return f"{who}: {event.get_kind_display()}"
