"""Triage over HTTP: impact and effort of a ticket, duplicates, the scoring policy,
routing (rules, the default team, team methods, skills) and waiting customers.

Who may do what:
- a ticket's estimates: anyone who can see the ticket reads them (customers only its
  severity and production-down flag) and customers of the ticket's organization set
  those two; desk agents and admins set all four;
- duplicates, routing a ticket: desk agents and admins;
- the scoring policy, routing rules, team methods, skills: desk agents and admins
  read them, admins change them; customers never see any of it (404 for them, as
  for anything that is not theirs);
- waiting customers: desk agents and admins.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status

from devdesk.accounts.models import Organization, Team, User
from devdesk.api.auth import api_user
from devdesk.api.errors import ERROR_STATUSES, ApiError
from devdesk.api.schemas import (
    ErrorOut,
    Id,
    InputSchema,
    PageOut,
    PageParams,
    Text,
    TicketNumber,
    not_null,
)
from devdesk.lib.keyset import paginate
from devdesk.tickets import access
from devdesk.tickets.models import Product, Ticket
from devdesk.triage import routing, scoring
from devdesk.triage.models import (
    AgentSkill,
    DuplicateLink,
    RoutingPolicy,
    RoutingRule,
    Skill,
    TeamRouting,
)
from devdesk.triage.waiting import waiting_tickets

router = Router(tags=["triage"])
ERRORS = dict.fromkeys(ERROR_STATUSES, ErrorOut)

Hours = Annotated[Decimal, Field(gt=0, le=10000, max_digits=7, decimal_places=2)]
Weight = Annotated[float, Field(ge=0, le=1000)]


def _staff(request: HttpRequest) -> User:
    """Desk agents and admins; anyone else is told the endpoint is not there."""
    user = api_user(request)
    if not user.is_desk_staff:
        raise Http404("No such endpoint")
    return user


def _admin(request: HttpRequest) -> User:
    user = _staff(request)
    if user.role != User.Role.ADMIN:
        raise ApiError(403, "not_allowed", "Only admins change triage settings.")
    return user


# --- a ticket's impact and effort ---------------------------------------------


class EstimatesOut(Schema):
    number: int
    severity: str
    production_down: bool
    # Desk staff only (null for customers).
    affected_count: int | None = None
    effort_hours: float | None = None
    effort_used_hours: float | None = Field(
        None, description="The effort the score uses: the estimate, or the default."
    )
    score: float | None = None
    duplicate_of: int | None = None
    duplicates: list[int] | None = None

    @classmethod
    def build(cls, ticket: Ticket, viewer: User) -> EstimatesOut:
        out = cls(
            number=ticket.number,
            severity=ticket.severity,
            production_down=ticket.is_production_down,
            affected_count=None,
            effort_hours=None,
            effort_used_hours=None,
            score=None,
            duplicate_of=None,
            duplicates=None,
        )
        if not viewer.works_tickets:
            return out
        inputs = scoring.score_inputs(ticket, scoring.current_policy())
        link = DuplicateLink.objects.filter(duplicate=ticket).select_related("original")
        return out.model_copy(
            update={
                "affected_count": ticket.affected_count,
                "effort_hours": (
                    float(ticket.effort_hours) if ticket.effort_hours else None
                ),
                "effort_used_hours": inputs["effort"],
                "score": ticket.score,
                "duplicate_of": next((x.original.number for x in link), None),
                "duplicates": sorted(
                    ticket.duplicate_links.values_list("duplicate__number", flat=True)
                ),
            }
        )


class EstimatesIn(InputSchema):
    """Only the fields sent change. Customers may send severity and production_down."""

    severity: Ticket.Severity | None = None
    production_down: bool | None = None
    affected_count: Annotated[int, Field(ge=1, le=scoring.MAX_AFFECTED)] | None = None
    effort_hours: Hours | None = Field(None, description="null clears the estimate.")

    _not_null = not_null("severity", "production_down", "affected_count")


def _ticket(user: User, number: int) -> Ticket:
    return access.get_ticket_for(user, number, related=("organization",))


@router.get("/tickets/{int:number}/estimates", response={200: EstimatesOut, **ERRORS})
def get_estimates(request: HttpRequest, number: int) -> EstimatesOut:
    """Impact, effort and score of a ticket (customers: severity and production down)."""
    user = api_user(request)
    return EstimatesOut.build(_ticket(user, number), user)


@router.patch("/tickets/{int:number}/estimates", response={200: EstimatesOut, **ERRORS})
def update_estimates(
    request: HttpRequest, number: int, payload: EstimatesIn
) -> EstimatesOut:
    """Change severity, production down, affected count or effort; the score follows."""
    user = api_user(request)
    ticket = _ticket(user, number)
    sent = payload.model_fields_set
    changes: dict[str, Any] = {}
    if "severity" in sent:
        changes["severity"] = str(payload.severity)
    if "production_down" in sent:
        changes["is_production_down"] = payload.production_down
    if "affected_count" in sent:
        changes["affected_count"] = payload.affected_count
    if "effort_hours" in sent:
        changes["effort_hours"] = payload.effort_hours
    if not changes:
        raise ApiError(400, "nothing_to_change", "Send at least one field to change.")
    scoring.set_estimates(ticket, acting_user=user, **changes)
    return EstimatesOut.build(_ticket(user, number), user)


class DuplicateIn(InputSchema):
    original: TicketNumber = Field(description="The number of the original ticket.")


@router.post(
    "/tickets/{int:number}/duplicate-of", response={200: EstimatesOut, **ERRORS}
)
def mark_duplicate(
    request: HttpRequest, number: int, payload: DuplicateIn
) -> EstimatesOut:
    """Link this ticket as a duplicate of ``original`` (both stay open tickets);
    answers with the duplicate's estimates."""
    user = _staff(request)
    duplicate = _ticket(user, number)
    try:
        original = _ticket(user, payload.original)
    except Http404:
        raise ApiError(
            422,
            "invalid_original",
            f"original: there is no ticket #{payload.original}.",
        ) from None
    scoring.mark_duplicate(duplicate, original, acting_user=user)
    return EstimatesOut.build(_ticket(user, number), user)


@router.delete(
    "/tickets/{int:number}/duplicate-of", response={200: EstimatesOut, **ERRORS}
)
def unlink_duplicate(request: HttpRequest, number: int) -> EstimatesOut:
    """Undo the duplicate link; the original's affected count shrinks again."""
    user = _staff(request)
    scoring.unlink_duplicate(_ticket(user, number), acting_user=user)
    return EstimatesOut.build(_ticket(user, number), user)


class RoutedOut(Schema):
    number: int
    team: int | None
    assignee: int | None
    rule: str | None


@router.post("/tickets/{int:number}/route", response={200: RoutedOut, **ERRORS})
def route_ticket(request: HttpRequest, number: int) -> RoutedOut:
    """Route an unassigned ticket by the routing rules now."""
    user = _staff(request)
    ticket = _ticket(user, number)
    routed = routing.route(ticket, acting_user=user)
    return RoutedOut(
        number=ticket.number,
        team=routed.team.pk if routed.team else None,
        assignee=routed.assignee.pk if routed.assignee else None,
        rule=routed.rule.name if routed.rule else None,
    )


# --- the scoring policy --------------------------------------------------------


class PolicyOut(Schema):
    formula: str
    plan_weights: dict[str, float]
    severity_weights: dict[str, float]
    default_effort_hours: float
    names: list[str] = Field(description="The names a formula may use.")
    rescored: int | None = Field(None, description="Scores changed by this update.")


class PolicyIn(InputSchema):
    formula: Annotated[Text, Field(max_length=scoring.MAX_FORMULA_CHARS)] | None = None
    plan_weights: dict[Annotated[str, Field(max_length=40)], Weight] | None = None
    severity_weights: dict[Ticket.Severity, Weight] | None = None
    default_effort_hours: Hours | None = None

    _not_null = not_null(
        "formula", "plan_weights", "severity_weights", "default_effort_hours"
    )


def _policy_out(rescored: int | None = None) -> PolicyOut:
    policy = scoring.current_policy()
    return PolicyOut(
        formula=policy.formula,
        plan_weights=policy.plan_weights,
        severity_weights=policy.severity_weights,
        default_effort_hours=float(policy.default_effort_hours),
        names=list(scoring.NAMES),
        rescored=rescored,
    )


@router.get("/triage/scoring-policy", response={200: PolicyOut, **ERRORS})
def get_policy(request: HttpRequest) -> PolicyOut:
    """The formula and weights the priority score is worked out with."""
    _staff(request)
    return _policy_out()


@router.patch("/triage/scoring-policy", response={200: PolicyOut, **ERRORS})
def update_policy(request: HttpRequest, payload: PolicyIn) -> PolicyOut:
    """Change the formula or weights (admins); every unresolved ticket is rescored.
    A formula that cannot be used is refused (400, ``invalid_formula``)."""
    user = _admin(request)
    _, rescored = scoring.update_policy(
        acting_user=user,
        formula=payload.formula,
        plan_weights=payload.plan_weights,
        severity_weights=(
            {str(k): v for k, v in payload.severity_weights.items()}
            if payload.severity_weights is not None
            else None
        ),
        default_effort_hours=payload.default_effort_hours,
    )
    return _policy_out(rescored)


# --- routing -------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    products: list[int]
    languages: list[str]
    organizations: list[int]
    required_skills: list[int]
    team: int

    @classmethod
    def build(cls, rule: RoutingRule) -> RuleOut:
        return cls(
            id=rule.pk,
            name=rule.name,
            position=rule.position,
            is_active=rule.is_active,
            products=sorted(p.pk for p in rule.products.all()),
            languages=rule.language_list,
            organizations=sorted(o.pk for o in rule.organizations.all()),
            required_skills=sorted(s.pk for s in rule.required_skills.all()),
            team=rule.team_id,
        )


LanguageCode = Annotated[str, Field(pattern=r"^[a-zA-Z]{2,3}$")]


class RuleIn(InputSchema):
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    position: Annotated[int, Field(ge=0, le=100000)] = 0
    is_active: bool = True
    products: list[Id] = Field(default_factory=list, max_length=100)
    languages: list[LanguageCode] = Field(default_factory=list, max_length=50)
    organizations: list[Id] = Field(default_factory=list, max_length=500)
    required_skills: list[Id] = Field(default_factory=list, max_length=50)
    team: Id


def _all_exist(model: Any, ids: list[int], field: str) -> list[Any]:
    found = list(model.objects.filter(pk__in=ids))
    missing = sorted(set(ids) - {o.pk for o in found})
    if missing:
        raise ApiError(
            422, f"invalid_{field}", f"{field}: there is no {field[:-1]} {missing[0]}."
        )
    return found


def _save_rule(rule: RoutingRule, payload: RuleIn) -> RoutingRule:
    team = Team.objects.filter(pk=payload.team).first()
    if team is None:
        raise ApiError(422, "invalid_team", f"team: there is no team {payload.team}.")
    products = _all_exist(Product, payload.products, "products")
    organizations = _all_exist(Organization, payload.organizations, "organizations")
    skills = _all_exist(Skill, payload.required_skills, "required_skills")
    with transaction.atomic():
        rule.name = payload.name.strip()
        rule.position = payload.position
        rule.is_active = payload.is_active
        rule.languages = ", ".join(code.lower() for code in payload.languages)
        rule.team = team
        rule.save()
        rule.products.set(products)
        rule.organizations.set(organizations)
        rule.required_skills.set(skills)
    return rule


def _rules() -> QuerySet[RoutingRule]:
    return RoutingRule.objects.prefetch_related(
        "products", "organizations", "required_skills"
    )


@router.get("/triage/routing-rules", response={200: list[RuleOut], **ERRORS})
def list_rules(request: HttpRequest) -> list[RuleOut]:
    """Routing rules in the order they are tried (the first match wins)."""
    _staff(request)
    return [RuleOut.build(rule) for rule in _rules()]


@router.post("/triage/routing-rules", response={201: RuleOut, **ERRORS})
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[RuleOut]:
    _admin(request)
    return Status(201, RuleOut.build(_save_rule(RoutingRule(), payload)))


def _rule(rule_id: int) -> RoutingRule:
    rule = _rules().filter(pk=rule_id).first()
    if rule is None:
        raise Http404("No such routing rule")
    return rule


@router.put("/triage/routing-rules/{int:rule_id}", response={200: RuleOut, **ERRORS})
def replace_rule(request: HttpRequest, rule_id: int, payload: RuleIn) -> RuleOut:
    _admin(request)
    return RuleOut.build(_save_rule(_rule(rule_id), payload))


@router.delete("/triage/routing-rules/{int:rule_id}", response={204: None, **ERRORS})
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    _admin(request)
    _rule(rule_id).delete()
    return Status(204, None)


class RoutingSettingsOut(Schema):
    default_team: int | None
    teams: dict[int, str] = Field(
        description="Each team's way of choosing a person, by team id."
    )


class RoutingSettingsIn(InputSchema):
    default_team: Id | None = None
    teams: dict[int, TeamRouting.Method] = Field(default_factory=dict, max_length=500)


def _routing_settings() -> RoutingSettingsOut:
    policy = RoutingPolicy.objects.filter(pk=1).first()
    methods = dict(TeamRouting.objects.values_list("team_id", "method"))
    return RoutingSettingsOut(
        default_team=policy.default_team_id if policy else None,
        teams={
            team.pk: methods.get(team.pk, TeamRouting.Method.ROUND_ROBIN)
            for team in Team.objects.filter(kind=Team.Kind.SUPPORT)
        },
    )


@router.get("/triage/routing", response={200: RoutingSettingsOut, **ERRORS})
def get_routing(request: HttpRequest) -> RoutingSettingsOut:
    """The default team and each support team's method (round_robin, least_open,
    on_shift or nobody)."""
    _staff(request)
    return _routing_settings()


@router.patch("/triage/routing", response={200: RoutingSettingsOut, **ERRORS})
def update_routing(
    request: HttpRequest, payload: RoutingSettingsIn
) -> RoutingSettingsOut:
    _admin(request)
    sent = payload.model_fields_set
    teams = {t.pk: t for t in Team.objects.filter(pk__in=list(payload.teams))}
    missing = sorted(set(payload.teams) - set(teams))
    if missing:
        raise ApiError(422, "invalid_team", f"teams: there is no team {missing[0]}.")
    with transaction.atomic():
        if "default_team" in sent:
            team = None
            if payload.default_team is not None:
                team = Team.objects.filter(pk=payload.default_team).first()
                if team is None:
                    raise ApiError(
                        422,
                        "invalid_team",
                        f"default_team: there is no team {payload.default_team}.",
                    )
            RoutingPolicy.objects.update_or_create(
                pk=1, defaults={"default_team": team}
            )
        for team_id, method in payload.teams.items():
            TeamRouting.objects.update_or_create(
                team=teams[team_id], defaults={"method": str(method)}
            )
    return _routing_settings()


class SkillOut(Schema):
    id: int
    name: str
    people: list[int]


class SkillIn(InputSchema):
    name: Annotated[Text, Field(min_length=1, max_length=60)]


def _skill_out(skill: Skill) -> SkillOut:
    return SkillOut(
        id=skill.pk,
        name=skill.name,
        people=sorted(a.user_id for a in skill.agents.all()),
    )


@router.get("/triage/skills", response={200: list[SkillOut], **ERRORS})
def list_skills(request: HttpRequest) -> list[SkillOut]:
    """Skills and the people who have them."""
    _staff(request)
    return [_skill_out(s) for s in Skill.objects.prefetch_related("agents")]


@router.post("/triage/skills", response={201: SkillOut, **ERRORS})
def create_skill(request: HttpRequest, payload: SkillIn) -> Status[SkillOut]:
    _admin(request)
    name = " ".join(payload.name.split()).lower()
    if Skill.objects.filter(name=name).exists():
        raise ApiError(409, "skill_exists", f"There is already a skill {name!r}.")
    return Status(201, _skill_out(Skill.objects.create(name=name)))


class SkillPeopleIn(InputSchema):
    people: list[Id] = Field(max_length=1000, description="Replaces who has it.")


@router.put("/triage/skills/{int:skill_id}/people", response={200: SkillOut, **ERRORS})
def set_skill_people(
    request: HttpRequest, skill_id: int, payload: SkillPeopleIn
) -> SkillOut:
    """Say who has the skill: people who work tickets (not customers)."""
    _admin(request)
    skill = Skill.objects.filter(pk=skill_id).first()
    if skill is None:
        raise Http404("No such skill")
    people = list(User.objects.filter(pk__in=payload.people))
    missing = sorted(set(payload.people) - {p.pk for p in people})
    if missing:
        raise ApiError(422, "invalid_people", f"people: there is no user {missing[0]}.")
    if customer := next((p for p in people if p.is_customer), None):
        raise ApiError(
            422,
            "invalid_people",
            f"people: {customer.display_name} is a customer; skills are for agents.",
        )
    with transaction.atomic():
        AgentSkill.objects.filter(skill=skill).exclude(user__in=people).delete()
        have = set(skill.agents.values_list("user_id", flat=True))
        AgentSkill.objects.bulk_create(
            AgentSkill(user=p, skill=skill) for p in people if p.pk not in have
        )
    return _skill_out(Skill.objects.prefetch_related("agents").get(pk=skill.pk))


@router.delete("/triage/skills/{int:skill_id}", response={204: None, **ERRORS})
def delete_skill(request: HttpRequest, skill_id: int) -> Status[None]:
    _admin(request)
    deleted, _ = Skill.objects.filter(pk=skill_id).delete()
    if not deleted:
        raise Http404("No such skill")
    return Status(204, None)


# --- waiting customers ---------------------------------------------------------


class WaitingOut(Schema):
    number: int
    subject: str
    status: str
    owner: int | None
    assignee: int | None
    waiting_since: str
    waiting_hours: int


class WaitingParams(PageParams):
    owner: Id | None = Field(None, description="Only this owner's tickets.")


@router.get("/triage/waiting", response={200: PageOut[WaitingOut], **ERRORS})
def list_waiting(
    request: HttpRequest, params: Query[WaitingParams]
) -> PageOut[WaitingOut]:
    """Tickets whose customer wrote last and has waited past WAITING_CUSTOMER_HOURS
    for a public answer, the longest waiting first."""
    from django.utils import timezone

    user = _staff(request)
    tickets = waiting_tickets(user)
    if params.owner is not None:
        tickets = tickets.filter(owner_id=params.owner)
    page = paginate(
        tickets,
        ordering=["last_customer_message_at", "id"],
        cursor=params.cursor,
        size=params.limit,
    )
    now = timezone.now()
    return PageOut[WaitingOut](
        items=[
            WaitingOut(
                number=t.number,
                subject=t.subject,
                status=t.status,
                owner=t.owner_id,
                assignee=t.assignee_id,
                waiting_since=t.last_customer_message_at.isoformat(),  # type: ignore[union-attr]
                waiting_hours=int(
                    (now - t.last_customer_message_at).total_seconds() // 3600  # type: ignore[operator]
                ),
            )
            for t in page.items
        ],
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
    )
