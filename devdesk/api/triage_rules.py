"""The rules engine over HTTP: list, read, create, change, reorder, delete, preview,
and the condition and action types a rule may use.

Admins change rules; agents read them and run previews; everyone else (customers,
partner agents, engineers) gets 403 on every endpoint. A rule that does not pass the
check (:func:`devdesk.triage.rules.spec.check_rule`) is 400 with what to fix, and
nothing is saved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from devdesk.accounts.models import User
from devdesk.api.auth import api_user
from devdesk.api.errors import ERROR_STATUSES, ApiError
from devdesk.api.schemas import ErrorOut, InputSchema
from devdesk.triage.models import Rule
from devdesk.triage.rules import engine, services
from devdesk.triage.rules.access import can_edit_rules, can_view_rules
from devdesk.triage.rules.registry import ACTIONS, CONDITIONS
from devdesk.triage.rules.spec import check_rule

router = Router(tags=["rules"])

ERRORS = dict.fromkeys(ERROR_STATUSES, ErrorOut)
MAX_PREVIEW = 200
RuleName = Annotated[str, Field(min_length=1, max_length=services.MAX_NAME_CHARS)]


class RuleIn(InputSchema):
    name: RuleName
    trigger: Rule.Trigger
    match: Rule.Match = Rule.Match.ALL
    conditions: list[Any] = Field(
        default_factory=list,
        description='e.g. [{"type": "text", "op": "contains", "value": ["outage"]}]; '
        "GET /api/rules/types lists types, operators and values.",
    )
    actions: list[Any] = Field(
        description='e.g. [{"type": "set_priority", "value": "urgent"}]'
    )
    description: str = ""
    stop_processing: bool = False
    is_active: bool = True


class RuleUpdateIn(InputSchema):
    """Only the fields sent are changed; the whole rule is checked again."""

    name: RuleName | None = None
    trigger: Rule.Trigger | None = None
    match: Rule.Match | None = None
    conditions: list[Any] | None = None
    actions: list[Any] | None = None
    description: str | None = None
    stop_processing: bool | None = None
    is_active: bool | None = None
    position: Annotated[int, Field(ge=0, le=100_000)] | None = Field(
        default=None, description="Place in its trigger's order; 0 runs first."
    )


class RulePreviewIn(InputSchema):
    trigger: Rule.Trigger
    match: Rule.Match = Rule.Match.ALL
    conditions: list[Any] = Field(default_factory=list)
    actions: list[Any]
    last: Annotated[int, Field(ge=1, le=MAX_PREVIEW)] = 20


class RuleOut(Schema):
    id: int
    name: str
    description: str
    trigger: str
    match: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    position: int
    stop_processing: bool
    is_active: bool
    created_at: datetime
    updated_at: datetime
    notes: list[str] = Field(
        default_factory=list, description="Explanations from the check, if any."
    )

    @classmethod
    def build(cls, rule: Rule, notes: list[str] | None = None) -> RuleOut:
        return cls(
            id=rule.pk,
            name=rule.name,
            description=rule.description,
            trigger=rule.trigger,
            match=rule.match,
            conditions=rule.conditions,
            actions=rule.actions,
            position=rule.position,
            stop_processing=rule.stop_processing,
            is_active=rule.is_active,
            created_at=rule.created_at,
            updated_at=rule.updated_at,
            notes=notes or [],
        )


class RuleListOut(Schema):
    items: list[RuleOut]


class RuleFilters(Schema):
    trigger: Rule.Trigger | None = None
    active: bool | None = None


class PreviewRowOut(Schema):
    number: int
    subject: str
    matches: bool
    would: list[str] = Field(description="What the actions would change; nothing is.")


class PreviewOut(Schema):
    tickets: list[PreviewRowOut]
    matched: int


class PreviewParams(Schema):
    last: Annotated[int, Field(ge=1, le=MAX_PREVIEW)] = 20


class ConditionTypeOut(Schema):
    type: str
    label: str
    operators: list[str]
    triggers: list[str] | None
    measures_time: bool
    help: str


class ActionTypeOut(Schema):
    type: str
    label: str
    help: str


class TypesOut(Schema):
    conditions: list[ConditionTypeOut]
    actions: list[ActionTypeOut]


def _reader(request: HttpRequest) -> User:
    user = api_user(request)
    if not can_view_rules(user):
        raise ApiError(403, "not_allowed", "Only admins and agents see rules.")
    return user


def _editor(request: HttpRequest) -> User:
    user = _reader(request)
    if not can_edit_rules(user):
        raise ApiError(403, "not_allowed", "Only admins change rules.")
    return user


def _rule(rule_id: int) -> Rule:
    rule = Rule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise ApiError(404, "not_found", f"There is no rule with id {rule_id}.")
    return rule


def _preview(compiled: engine.CompiledRule, last: int) -> PreviewOut:
    rows = engine.preview_rule(compiled, last=last)
    return PreviewOut(
        tickets=[
            PreviewRowOut(
                number=row.ticket.number,
                subject=row.ticket.subject,
                matches=row.matches,
                would=row.would,
            )
            for row in rows
        ],
        matched=sum(row.matches for row in rows),
    )


@router.get("/rules", response={200: RuleListOut, **ERRORS})
def list_rules(request: HttpRequest, filters: Query[RuleFilters]) -> RuleListOut:
    """Every rule, by trigger and in the order they run."""
    _reader(request)
    rules = Rule.objects.order_by("trigger", "position", "id")
    if filters.trigger:
        rules = rules.filter(trigger=filters.trigger)
    if filters.active is not None:
        rules = rules.filter(is_active=filters.active)
    return RuleListOut(items=[RuleOut.build(r) for r in rules])


@router.get("/rules/types", response={200: TypesOut, **ERRORS})
def rule_types(request: HttpRequest) -> TypesOut:
    """The condition and action types rules may use, with their operators."""
    _reader(request)
    return TypesOut(
        conditions=[
            ConditionTypeOut(
                type=c.name,
                label=c.label,
                operators=list(c.operators),
                triggers=sorted(c.triggers) if c.triggers is not None else None,
                measures_time=c.episode is not None,
                help=c.help,
            )
            for c in CONDITIONS.values()
        ],
        actions=[
            ActionTypeOut(type=a.name, label=a.label, help=a.help)
            for a in ACTIONS.values()
        ],
    )


@router.post("/rules", response={201: RuleOut, **ERRORS})
def create_rule(
    request: HttpRequest, payload: RuleIn, response: HttpResponse
) -> Status[RuleOut]:
    """Add a rule at the end of its trigger's order (admins)."""
    user = _editor(request)
    rule, checked = services.create_rule(acting_user=user, **payload.model_dump())
    response["Location"] = reverse("api:get_rule", args=[rule.pk])
    return Status(201, RuleOut.build(rule, checked.notes))


@router.post("/rules/preview", response={200: PreviewOut, **ERRORS})
def preview_new_rule(request: HttpRequest, payload: RulePreviewIn) -> PreviewOut:
    """What a rule (not saved) would do to each of the last tickets; changes nothing."""
    _reader(request)
    checked = check_rule(
        trigger=payload.trigger,
        match=payload.match,
        conditions=payload.conditions,
        actions=payload.actions,
    )
    compiled = engine.compile_rule(
        id=0,
        name="preview",
        trigger=checked.trigger,
        match=checked.match,
        stop_processing=False,
        conditions=checked.conditions,
        actions=checked.actions,
    )
    return _preview(compiled, payload.last)


@router.get("/rules/{int:rule_id}", response={200: RuleOut, **ERRORS})
def get_rule(request: HttpRequest, rule_id: int) -> RuleOut:
    _reader(request)
    return RuleOut.build(_rule(rule_id))


@router.patch("/rules/{int:rule_id}", response={200: RuleOut, **ERRORS})
def update_rule(request: HttpRequest, rule_id: int, payload: RuleUpdateIn) -> RuleOut:
    """Change the fields sent (admins); ``position`` reorders, ``is_active`` switches."""
    user = _editor(request)
    changes = payload.model_dump(exclude_unset=True)
    nulls = sorted(name for name, value in changes.items() if value is None)
    if nulls:
        raise ApiError(422, "invalid_input", f"{nulls[0]}: may not be null.")
    rule, checked = services.update_rule(_rule(rule_id), acting_user=user, **changes)
    return RuleOut.build(rule, checked.notes)


@router.delete("/rules/{int:rule_id}", response={204: None, **ERRORS})
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    """Delete a rule (admins); what it did stays in the tickets' history."""
    user = _editor(request)
    services.delete_rule(_rule(rule_id), acting_user=user)
    return Status(204, None)


@router.get("/rules/{int:rule_id}/preview", response={200: PreviewOut, **ERRORS})
def preview_rule(
    request: HttpRequest, rule_id: int, params: Query[PreviewParams]
) -> PreviewOut:
    """What the rule would do to each of the last ``last`` tickets; changes nothing."""
    _reader(request)
    return _preview(engine.compile_saved(_rule(rule_id)), params.last)
