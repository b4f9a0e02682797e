"""The built-in conditions: ticket fields, tags, text, people's roles and time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import global_settings
from django.db.models import QuerySet

from devdesk.accounts.models import Organization, Team, User
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Product, Ticket
from devdesk.tickets.services import normalize_tags
from devdesk.triage.rules.facts import TicketFacts
from devdesk.triage.rules.registry import (
    ConditionType,
    RuleError,
    as_list,
    choice,
    describe,
    existing,
    number,
    one_or_many,
    phrases,
    register_condition,
)

EQUALITY = ("is", "is_not", "in", "not_in")
OPTIONAL = (*EQUALITY, "is_set", "is_not_set")
EVENT_TRIGGERS_WITH_MESSAGE = frozenset({"ticket_created", "message_added"})
MAX_HOURS = 24 * 365


def _choices(text_choices: Any) -> Any:
    def choices() -> dict[str, Any]:
        known: dict[str, Any] = {}
        for value, label in text_choices.choices:
            known[str(value).lower()] = value
            known[str(label).lower()] = value
        return known

    return choices


def _slug(obj: Any) -> str | None:
    return obj.slug if obj is not None else None


def _email(person: User | None) -> str | None:
    return person.email if person is not None else None


def _status_narrow(
    tickets: QuerySet[Ticket], op: str, value: Any, now: datetime
) -> QuerySet[Ticket]:
    if op == "is":
        return tickets.filter(status=value)
    if op == "in":
        return tickets.filter(status__in=value)
    return tickets


def _hours_narrow(field: str) -> Any:
    def narrow(
        tickets: QuerySet[Ticket], op: str, value: Any, now: datetime
    ) -> QuerySet[Ticket]:
        if op != "gte":
            return tickets
        return tickets.filter(**{f"{field}__lte": now - timedelta(hours=value)})

    return narrow


def _plan(facts: TicketFacts) -> str | None:
    return facts.ticket.organization.plan.strip().lower() or None


def _plan_parse(op: str, raw: Any) -> Any:
    def one(value: Any) -> str:
        text = str(value).strip().lower()
        if not text or len(text) > 40:
            raise RuleError(
                "invalid_value", f"a plan name is 1 to 40 characters, not {value!r}"
            )
        return text

    return one_or_many(op, raw, one)


def _languages() -> dict[str, str]:
    codes = {code.split("-")[0].lower() for code, _ in global_settings.LANGUAGES}
    return {code: code for code in codes}


def _priority_name(value: Any) -> str:
    if value in Ticket.Priority.values:
        return str(Ticket.Priority(value).label).lower()
    return str(value)


BUILT_IN = [
    ConditionType(
        name="status",
        label="Status",
        operators=EQUALITY,
        parse=choice(_choices(Ticket.Status), "status"),
        read=lambda f: f.ticket.status,
        narrow=_status_narrow,
        help="new, open, pending_customer, pending_engineering, solved, closed",
    ),
    ConditionType(
        name="previous_status",
        label="Status before the change",
        operators=EQUALITY,
        parse=choice(_choices(Ticket.Status), "status"),
        read=lambda f: f.event_data.get("old"),
        triggers=frozenset({"status_changed"}),
        help="only for 'status changed' rules",
    ),
    ConditionType(
        name="priority",
        label="Priority",
        operators=("is", "is_not", "in", "not_in", "gte", "lte"),
        parse=choice(_choices(Ticket.Priority), "priority"),
        read=lambda f: f.ticket.priority,
        help="low, normal, high, urgent (or 1 to 4)",
        show=lambda v: describe(
            [_priority_name(p) for p in v] if isinstance(v, list) else _priority_name(v)
        ),
    ),
    ConditionType(
        name="channel",
        label="Channel",
        operators=EQUALITY,
        parse=choice(_choices(Ticket.Channel), "channel"),
        read=lambda f: f.ticket.channel,
        help="portal, email, api, docs, agent, chat, event",
    ),
    ConditionType(
        name="product",
        label="Product",
        operators=OPTIONAL,
        parse=existing(Product.objects.all, "slug", "product", "by its slug"),
        read=lambda f: _slug(f.ticket.product),
        help="product slugs",
        related=("product",),
    ),
    ConditionType(
        name="organization",
        label="Organization",
        operators=EQUALITY,
        parse=existing(Organization.objects.all, "slug", "organization", "by its slug"),
        read=lambda f: f.ticket.organization.slug,
        help="organization slugs",
        related=("organization",),
    ),
    ConditionType(
        name="plan",
        label="Organization's plan",
        operators=OPTIONAL,
        parse=_plan_parse,
        read=_plan,
        help="plan names, e.g. enterprise",
        related=("organization",),
    ),
    ConditionType(
        name="team",
        label="Team",
        operators=OPTIONAL,
        parse=existing(Team.objects.all, "slug", "team", "by its slug"),
        read=lambda f: _slug(f.ticket.team),
        help="team slugs",
        related=("team",),
    ),
    ConditionType(
        name="assignee",
        label="Assignee",
        operators=OPTIONAL,
        parse=existing(User.objects.all, "email", "person", "by e-mail address"),
        read=lambda f: _email(f.ticket.assignee),
        help="e-mail addresses",
        related=("assignee",),
    ),
    ConditionType(
        name="owner",
        label="Owner",
        operators=OPTIONAL,
        parse=existing(User.objects.all, "email", "person", "by e-mail address"),
        read=lambda f: _email(f.ticket.owner),
        help="e-mail addresses",
        related=("owner",),
    ),
    ConditionType(
        name="language",
        label="Requester's language",
        operators=EQUALITY,
        parse=choice(_languages, "language code"),
        read=lambda f: f.ticket.requester.language.lower(),
        help="language codes such as en, de, ja",
        related=("requester",),
    ),
    ConditionType(
        name="tag",
        label="Tags",
        operators=("has_any", "has_all", "has_none"),
        parse=lambda op, raw: _tags(raw),
        read=lambda f: f.tags,
        help="tag names",
        cost=2,
    ),
    ConditionType(
        name="subject",
        label="Subject",
        operators=("contains", "not_contains"),
        parse=phrases,
        read=lambda f: f.ticket.subject.lower(),
        help="words or phrases, comma-separated: any of them",
        cost=1,
    ),
    ConditionType(
        name="text",
        label="Text (subject and message)",
        operators=("contains", "not_contains"),
        parse=phrases,
        read=lambda f: f.text,
        help="words or phrases, comma-separated: any of them",
        cost=1,
    ),
    ConditionType(
        name="requester_role",
        label="Requester's role",
        operators=EQUALITY,
        parse=choice(_choices(User.Role), "role"),
        read=lambda f: f.ticket.requester.role,
        help="customer, agent, admin, engineer, partner_agent",
        related=("requester",),
    ),
    ConditionType(
        name="message_author_role",
        label="Role of the message's author",
        operators=(*EQUALITY, "is_set", "is_not_set"),
        parse=choice(_choices(User.Role), "role"),
        read=lambda f: f.message.author_role if f.message else None,
        triggers=EVENT_TRIGGERS_WITH_MESSAGE,
        help="customer, agent, …; 'is_not_set' is the desk itself",
    ),
    ConditionType(
        name="message_kind",
        label="Kind of message",
        operators=("is",),
        parse=choice(lambda: {"public": "public", "internal": "internal"}, "kind"),
        read=lambda f: f.message.kind if f.message else None,
        triggers=EVENT_TRIGGERS_WITH_MESSAGE,
        help="public or internal",
    ),
    ConditionType(
        name="hours_in_status",
        label="Hours in the current status",
        operators=("gte", "lte"),
        parse=number(0, MAX_HOURS),
        read=lambda f: f.hours_in_status,
        episode=lambda f: f"status:{f.ticket.status}:{f.status_changed_at.isoformat()}",
        narrow=lambda tickets, op, value, now: (
            # with_time_facts() annotated it; django-stubs cannot know that
            tickets.filter(
                rules_status_changed_at__lte=now - timedelta(hours=value)  # type: ignore[misc]
            )
            if op == "gte"
            else tickets
        ),
        help="e.g. status is pending_customer and hours_in_status >= 120",
        cost=2,
    ),
    ConditionType(
        name="hours_since_created",
        label="Hours since the ticket was created",
        operators=("gte", "lte"),
        parse=number(0, MAX_HOURS),
        read=lambda f: f.hours_since_created,
        episode=lambda f: "created",
        narrow=_hours_narrow("created_at"),
    ),
    ConditionType(
        name="hours_waiting",
        label="Hours the customer has waited for a desk reply",
        operators=("gte",),
        parse=number(0, MAX_HOURS),
        read=lambda f: f.hours_waiting,
        episode=lambda f: (
            "waiting:"
            + (
                f.ticket.last_customer_message_at.isoformat()
                if f.ticket.last_customer_message_at
                else ""
            )
        ),
        narrow=_hours_narrow("last_customer_message_at"),
        help="no agent reply for N hours after the customer's last message",
        cost=2,
    ),
]


def _tags(raw: Any) -> list[str]:
    try:
        names = normalize_tags(str(v) for v in as_list(raw))
    except TicketError as exc:
        raise RuleError("invalid_value", exc.message) from None
    if not names:
        raise RuleError("invalid_value", "give at least one tag")
    return names


for _condition in BUILT_IN:
    register_condition(_condition)
