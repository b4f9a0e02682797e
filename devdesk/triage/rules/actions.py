"""The built-in actions. Each goes through the ticket services with
``acting_user=None`` (the desk itself); the engine wraps it in
:func:`devdesk.tickets.events.caused_by`, so every event it writes names the rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction

from devdesk.accounts.models import Team, User
from devdesk.tickets import access, services
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Macro, Product, Ticket
from devdesk.triage.rules.facts import TicketFacts
from devdesk.triage.rules.registry import (
    ActionType,
    RuleError,
    as_list,
    choice,
    existing,
    register_action,
)

Status = Ticket.Status

# Who "the person on shift" of a team is. Until the rotation feature registers its
# own (``set_on_shift_resolver``), it is the team's default person.
OnShift = Callable[[Team, datetime], User | None]


def _default_person(team: Team, now: datetime) -> User | None:
    return team.default_person


_on_shift: list[OnShift] = [_default_person]


def set_on_shift_resolver(resolver: OnShift) -> None:
    """Let another part (rotation) say who is on shift for a team at a moment."""
    _on_shift[0] = resolver


def person_on_shift(team: Team, now: datetime) -> User | None:
    return _on_shift[0](team, now)


def _one(parse: Callable[[str, Any], Any]) -> Callable[[Any], Any]:
    return lambda raw: parse("is", raw)


def _status_choices() -> dict[str, Any]:
    known: dict[str, Any] = {}
    for value, label in Status.choices:
        known[value] = value
        known[label.lower()] = value
    return known


def _priority_choices() -> dict[str, Any]:
    known: dict[str, Any] = {}
    for value, label in Ticket.Priority.choices:
        known[str(value)] = value
        known[label.lower()] = value
    return known


_team = existing(Team.objects.all, "slug", "team", "by its slug")
_desk_person = existing(
    lambda: User.objects.filter(
        is_active=True, role__in=[User.Role.ADMIN, User.Role.AGENT]
    ),
    "email",
    "active agent or admin",
    "by e-mail address",
)


def _find(model: Any, **lookup: Any) -> Any:
    found = model.objects.filter(**lookup).first()
    if found is None:
        what = model._meta.verbose_name
        raise TicketError("gone", f"the {what} {next(iter(lookup.values()))!r} is gone")
    return found


def _changed(facts: TicketFacts, name: str, value: Any, shown: str) -> str | None:
    done = services.update_ticket(facts.ticket, acting_user=None, **{name: value})
    return f"set {name} to {shown}" if done else None


# set_priority


def _priority_label(value: int) -> str:
    return Ticket.Priority(value).label


def _plan_priority(facts: TicketFacts, value: int) -> str | None:
    if facts.ticket.priority == value:
        return None
    return f"priority {facts.ticket.get_priority_display()} → {_priority_label(value)}"


# set_status


def _plan_status(facts: TicketFacts, value: str) -> str | None:
    ticket = facts.ticket
    if ticket.status == value:
        return None
    if value not in services.TRANSITIONS[ticket.status]:
        return f"cannot set status {Status(value).label} (ticket is {ticket.get_status_display()})"
    return f"status {ticket.get_status_display()} → {Status(value).label}"


def _apply_status(facts: TicketFacts, value: str) -> str | None:
    old = facts.ticket.get_status_display()
    if facts.ticket.status == value:
        return None
    services.change_status(facts.ticket, value, acting_user=None)
    return f"status {old} → {Status(value).label}"


# tags


def _tags(raw: Any) -> list[str]:
    try:
        names = services.normalize_tags(str(v) for v in as_list(raw))
    except TicketError as exc:
        raise RuleError("invalid_value", exc.message) from None
    if not names:
        raise RuleError("invalid_value", "give at least one tag")
    return names


def _plan_add_tags(facts: TicketFacts, names: list[str]) -> str | None:
    new = [n for n in names if n not in facts.tags]
    return f"add tag {', '.join(new)}" if new else None


def _apply_add_tags(facts: TicketFacts, names: list[str]) -> str | None:
    text = _plan_add_tags(facts, names)
    if text:
        current = sorted(facts.tags)  # read since the last change (see forget())
        services.set_tags(facts.ticket, [*current, *names], acting_user=None)
    return text


def _plan_remove_tags(facts: TicketFacts, names: list[str]) -> str | None:
    gone = [n for n in names if n in facts.tags]
    return f"remove tag {', '.join(gone)}" if gone else None


def _apply_remove_tags(facts: TicketFacts, names: list[str]) -> str | None:
    text = _plan_remove_tags(facts, names)
    if text:
        keep = sorted(facts.tags - set(names))
        services.set_tags(facts.ticket, keep, acting_user=None)
    return text


# people and teams


def _plan_field(name: str, current: Any, new_key: Any, shown: str) -> str | None:
    return None if current == new_key else f"{name} → {shown}"


def _apply_team(facts: TicketFacts, slug: str) -> str | None:
    team = _find(Team, slug=slug)
    return _changed(facts, "team", team, team.name)


def _apply_person(field: str) -> Callable[[TicketFacts, str], str | None]:
    def apply(facts: TicketFacts, email: str) -> str | None:
        person = _find(User, email=email, is_active=True)
        return _changed(facts, field, person, person.display_name)

    return apply


def _plan_on_shift(facts: TicketFacts, slug: str) -> str | None:
    team = Team.objects.filter(slug=slug).select_related("default_person").first()
    if team is None:
        return f"cannot assign: team {slug!r} is gone"
    person = person_on_shift(team, facts.now)
    name = person.display_name if person else "nobody (no one on shift)"
    return f"team → {team.name}, assignee → {name} (on shift)"


def _apply_on_shift(facts: TicketFacts, slug: str) -> str | None:
    team = _find(Team, slug=slug)
    person = person_on_shift(team, facts.now)
    if person is None:
        raise TicketError("nobody_on_shift", f"nobody is on shift for {team.name}")
    done = services.update_ticket(
        facts.ticket, acting_user=None, team=team, assignee=person
    )
    return (
        f"assigned to {person.display_name} of {team.name} (on shift)" if done else None
    )


# product


def _apply_product(facts: TicketFacts, slug: str) -> str | None:
    product = _find(Product, slug=slug)
    return _changed(facts, "product", product, product.name)


# macro


def _macro(raw: Any) -> str:
    name = str(raw).strip()
    if not Macro.objects.filter(name=name, is_active=True).exists():
        raise RuleError(
            "invalid_value", f"there is no active macro named {name!r} (by its name)"
        )
    return name


def _macro_slots(name: str) -> list[tuple[str, Any]]:
    macro = Macro.objects.filter(name=name).first()
    if macro is None:
        return []
    slots: list[tuple[str, Any]] = []
    if macro.set_status:
        slots.append(("status", macro.set_status))
    tags = services.normalize_tags(macro.add_tags.split(","))
    slots.extend((f"tag:{tag}", "add") for tag in tags)
    return slots


def _macro_causes(name: str) -> frozenset[str]:
    macro = Macro.objects.filter(name=name).first()
    causes = {"message_added"}
    if macro is not None and macro.set_status:
        causes.add("status_changed")
    return frozenset(causes)


def _plan_macro(facts: TicketFacts, name: str) -> str | None:
    macro = Macro.objects.filter(name=name).first()
    if macro is None:
        return f"cannot send macro {name!r}: it is gone"
    what = "internal note" if macro.kind == "internal" else "public reply"
    text = f"send macro “{name}” as {what}"
    if macro.set_status and macro.set_status != facts.ticket.status:
        text += f", status → {Status(macro.set_status).label}"
    return text


def _apply_macro(facts: TicketFacts, name: str) -> str | None:
    macro = _find(Macro, name=name, is_active=True)
    services.apply_macro(facts.ticket, macro, acting_user=None)
    return _plan_macro(facts, name)


# notify


def _recipients(raw: Any) -> list[str]:
    names = [str(v).strip().lower() for v in as_list(raw) if str(v).strip()]
    if not names:
        raise RuleError("invalid_value", "give an e-mail address or team:<slug>")
    for name in names:
        if name.startswith("team:"):
            _team("is", name.removeprefix("team:"))
        elif not User.objects.filter(email=name, is_active=True).exists():
            raise RuleError(
                "invalid_value",
                f"there is no active person {name!r} (an e-mail address, or "
                "team:<slug> for a team's members)",
            )
        else:
            person = User.objects.get(email=name)
            if not access.can_use_agent_desk(person):
                raise RuleError(
                    "invalid_value",
                    f"{name} is a customer; rules notify desk people only",
                )
    return list(dict.fromkeys(names))


def _plan_notify(facts: TicketFacts, names: list[str]) -> str | None:
    return f"e-mail {', '.join(names)}"


def _apply_notify(facts: TicketFacts, names: list[str]) -> str | None:
    from devdesk.triage.tasks_rules import send_rule_notification

    firing_id = facts.firing_id
    if firing_id is not None:
        transaction.on_commit(lambda: send_rule_notification.enqueue(firing_id, names))
    return _plan_notify(facts, names)


# escalate


def _escalation(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        team, note = raw.get("team", ""), raw.get("note", "")
    else:
        team, _, note = str(raw).partition(":")
    slug = _team("is", str(team).strip())
    if len(str(note)) > 2000:
        raise RuleError(
            "invalid_value", "the escalation note is at most 2000 characters"
        )
    engineering = Team.objects.get(slug=slug)
    if engineering.kind != Team.Kind.ENGINEERING:
        raise RuleError(
            "invalid_value", f"{engineering.name} is not an engineering team"
        )
    return {"team": slug, "note": str(note).strip()}


def _plan_escalate(facts: TicketFacts, value: dict[str, str]) -> str | None:
    if (
        facts.ticket.escalated_team
        and facts.ticket.escalated_team.slug == value["team"]
    ):
        return None
    return f"escalate to {value['team']}"


def _apply_escalate(facts: TicketFacts, value: dict[str, str]) -> str | None:
    text = _plan_escalate(facts, value)
    if text:
        from devdesk.triage.escalation import escalate

        team = _find(Team, slug=value["team"])
        # An engineering issue for the team, linked to the ticket; its owner stays.
        escalate(facts.ticket, acting_user=None, team=team, reason=value["note"])
    return text


BUILT_IN = [
    ActionType(
        name="set_priority",
        label="Set priority",
        parse=_one(choice(_priority_choices, "priority")),
        plan=_plan_priority,
        apply=lambda f, v: _changed(f, "priority", v, _priority_label(v)),
        slots=lambda v: [("priority", v)],
        help="low, normal, high, urgent",
        show=lambda v: _priority_label(v).lower(),
    ),
    ActionType(
        name="set_status",
        label="Set status",
        parse=_one(choice(_status_choices, "status")),
        plan=_plan_status,
        apply=_apply_status,
        slots=lambda v: [("status", v)],
        causes=lambda v: frozenset({"status_changed"}),
        help="open, pending_customer, pending_engineering, solved, closed",
    ),
    ActionType(
        name="set_product",
        label="Set product",
        parse=_one(existing(Product.objects.all, "slug", "product", "by its slug")),
        plan=lambda f, v: _plan_field(
            "product", f.ticket.product.slug if f.ticket.product else None, v, v
        ),
        apply=_apply_product,
        slots=lambda v: [("product", v)],
        help="a product slug",
    ),
    ActionType(
        name="add_tag",
        label="Add tags",
        parse=_tags,
        plan=_plan_add_tags,
        apply=_apply_add_tags,
        slots=lambda v: [(f"tag:{t}", "add") for t in v],
        help="tag names, comma-separated",
    ),
    ActionType(
        name="remove_tag",
        label="Remove tags",
        parse=_tags,
        plan=_plan_remove_tags,
        apply=_apply_remove_tags,
        slots=lambda v: [(f"tag:{t}", "remove") for t in v],
        help="tag names, comma-separated",
    ),
    ActionType(
        name="assign_team",
        label="Assign to team",
        parse=_one(_team),
        plan=lambda f, v: _plan_field(
            "team", f.ticket.team.slug if f.ticket.team else None, v, v
        ),
        apply=_apply_team,
        slots=lambda v: [("team", v)],
        help="a team slug",
    ),
    ActionType(
        name="assign_person",
        label="Assign to person",
        parse=_one(_desk_person),
        plan=lambda f, v: _plan_field(
            "assignee", f.ticket.assignee.email if f.ticket.assignee else None, v, v
        ),
        apply=_apply_person("assignee"),
        slots=lambda v: [("assignee", v)],
        help="an agent's or admin's e-mail address",
    ),
    ActionType(
        name="assign_on_shift",
        label="Assign to the person on shift",
        parse=_one(_team),
        plan=_plan_on_shift,
        apply=_apply_on_shift,
        slots=lambda v: [("team", v), ("assignee", f"on shift in {v}")],
        help="a team slug: its person on shift (today: the team's default person)",
    ),
    ActionType(
        name="set_owner",
        label="Set owner",
        parse=_one(_desk_person),
        plan=lambda f, v: _plan_field(
            "owner", f.ticket.owner.email if f.ticket.owner else None, v, v
        ),
        apply=_apply_person("owner"),
        slots=lambda v: [("owner", v)],
        help="an agent's or admin's e-mail address",
    ),
    ActionType(
        name="send_macro",
        label="Send a macro",
        parse=_macro,
        plan=_plan_macro,
        apply=_apply_macro,
        slots=_macro_slots,
        causes=_macro_causes,
        help="a macro's name; sent as the desk, with its status and tags",
    ),
    ActionType(
        name="notify",
        label="Notify by e-mail",
        parse=_recipients,
        plan=_plan_notify,
        apply=_apply_notify,
        help="e-mail addresses of desk people, or team:<slug>",
    ),
    ActionType(
        name="escalate",
        label="Escalate to engineering",
        parse=_escalation,
        plan=_plan_escalate,
        apply=_apply_escalate,
        slots=lambda v: [
            ("status", Status.PENDING_ENGINEERING),
            ("escalated_team", v["team"]),
        ],
        causes=lambda v: frozenset(
            {"status_changed", *(["message_added"] if v.get("note") else [])}
        ),
        help="an engineering team's slug, then optionally ': a note'",
    ),
]

for _action in BUILT_IN:
    register_action(_action)
