"""Impact x effort: each ticket's priority score, by the team's own formula.

The score is stored on the ticket (indexed), so inbox views sort by it at any size.
Every service here that changes one of its inputs recomputes it in the same
transaction and records ``score_changed`` (old -> new, and why).

Inputs of the formula (names it may use):

- ``affected``: customers or installations affected (grows as duplicates are linked);
- ``plan_weight``: the weight of the organization's plan (policy, default 1);
- ``severity``: 1 (low) to 4 (critical), as the customer chose or the desk corrected;
  ``severity_weight`` its weight (policy);
- ``production_down``: 1 when production is down, else 0;
- ``effort``: hours, as the agent estimated; without an estimate, the median
  handling time (opened -> solved) of the last solved tickets of the same product,
  else the policy's default; ``effort_is_estimated``: 1 when the agent set it;

The ticket's priority field is not an input: it is the agent's own call, and the
score is what helps make it.

Functions: ``min``, ``max``, ``sqrt``, ``log`` (natural, of x + 1), ``round``.
"""

from __future__ import annotations

import ast
import logging
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from simpleeval import DEFAULT_OPERATORS, SimpleEval

from devdesk.accounts.models import User
from devdesk.tickets import access
from devdesk.tickets.errors import TicketError
from devdesk.tickets.events import record_event
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.tickets.services import lock_and_refresh
from devdesk.triage.models import DuplicateLink, ScoringPolicy

logger = logging.getLogger(__name__)

SEVERITY_LEVELS = {"low": 1, "normal": 2, "high": 3, "critical": 4}
NAMES = (
    "affected",
    "plan_weight",
    "severity",
    "severity_weight",
    "production_down",
    "effort",
    "effort_is_estimated",
)
FUNCTIONS: dict[str, Any] = {
    "min": min,
    "max": max,
    "sqrt": lambda x: math.sqrt(max(x, 0)),
    "log": lambda x: math.log1p(max(x, 0)),
    "round": round,
}
# Arithmetic, comparisons and "not"; no bit shifts or membership tests.
OPERATORS = {
    op: fn
    for op, fn in DEFAULT_OPERATORS.items()
    if op
    not in {
        ast.LShift,
        ast.RShift,
        ast.BitXor,
        ast.BitOr,
        ast.BitAnd,
        ast.Invert,
        ast.In,
        ast.NotIn,
        ast.Is,
        ast.IsNot,
    }
}
MAX_FORMULA_CHARS = 500
MAX_EFFORT_HOURS = Decimal("10000")
MAX_AFFECTED = 1_000_000
# Handling times of at most this many recent solved tickets make a product's default
# effort; the figure is cached this long (a look over a product's solved tickets).
EFFORT_SAMPLE = 200
EFFORT_CACHE_SECONDS = 600

# Inputs the formula is tried on before it is saved: typical, extreme and edge cases.
SAMPLE_INPUTS: tuple[dict[str, float], ...] = tuple(
    {
        "affected": affected,
        "plan_weight": plan_weight,
        "severity": severity,
        "severity_weight": severity_weight,
        "production_down": down,
        "effort": effort,
        "effort_is_estimated": estimated,
    }
    for affected, plan_weight, severity, severity_weight, down, effort, estimated in (
        (1, 1.0, 2, 1.0, 0, 2.0, 0),
        (1, 0.0, 1, 0.0, 0, 0.0, 1),
        (250, 3.0, 4, 4.0, 1, 0.25, 1),
        (MAX_AFFECTED, 10.0, 4, 10.0, 1, float(MAX_EFFORT_HOURS), 1),
        (1, 1.0, 1, 0.5, 0, 0.01, 1),
    )
)


def current_policy() -> ScoringPolicy:
    """The desk's scoring policy; the defaults (not saved) until an admin saves one."""
    return ScoringPolicy.objects.filter(pk=1).first() or ScoringPolicy(pk=1)


def _evaluator(names: Mapping[str, float]) -> SimpleEval:
    return SimpleEval(operators=OPERATORS, functions=FUNCTIONS, names=dict(names))


def evaluate(formula: str, inputs: Mapping[str, float]) -> float:
    """The formula's value for ``inputs``; raises ``ValueError`` with a message a
    person can act on when it cannot be worked out or is not a finite number."""
    try:
        value = _evaluator(inputs).eval(formula)
    except ZeroDivisionError:
        raise ValueError("it divides by zero (use max(effort, 0.5))") from None
    except SyntaxError as exc:
        raise ValueError(f"it is not a valid expression ({exc.msg})") from None
    except Exception as exc:  # simpleeval's own errors name the unknown part
        raise ValueError(_explain(exc)) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"it gives {type(value).__name__}, not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("it gives no finite number")
    return number


def _explain(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "NameNotDefined":
        return f"{exc}; the names are {', '.join(NAMES)}"
    if name == "FunctionNotDefined":
        return f"{exc}; the functions are {', '.join(FUNCTIONS)}"
    if name == "OperatorNotDefined":
        return (
            "it uses an operator that is not allowed (arithmetic and comparisons only)"
        )
    return str(exc) or name


def check_formula(formula: str) -> str:
    """The formula, trimmed, if it gives a finite number for every sample ticket;
    otherwise :class:`TicketError` ``invalid_formula`` saying why."""
    formula = " ".join(formula.split())
    if not formula:
        raise TicketError("invalid_formula", "The formula is empty.")
    if len(formula) > MAX_FORMULA_CHARS:
        raise TicketError(
            "invalid_formula",
            f"The formula is longer than {MAX_FORMULA_CHARS} characters.",
        )
    for sample in SAMPLE_INPUTS:
        try:
            evaluate(formula, sample)
        except ValueError as exc:
            shown = ", ".join(f"{k}={v:g}" for k, v in sample.items())
            raise TicketError(
                "invalid_formula", f"The formula cannot be used: {exc} (for {shown})."
            ) from None
    return formula


def default_effort_hours(ticket: Ticket, policy: ScoringPolicy) -> float:
    """The effort assumed for a ticket without an estimate: the median handling
    time (opened -> solved, hours) of the last :data:`EFFORT_SAMPLE` solved tickets
    of the same product, else the policy's default. Cached per product."""
    fallback = float(policy.default_effort_hours)
    if ticket.product_id is None:
        return fallback
    key = f"triage:effort:{ticket.product_id}"
    cached = cache.get(key)
    if cached is None:
        spans = (
            Ticket.objects.filter(product_id=ticket.product_id, solved_at__isnull=False)
            .exclude(pk=ticket.pk)
            .order_by("-solved_at")
            .values_list("created_at", "solved_at")[:EFFORT_SAMPLE]
        )
        hours = [
            (solved - opened).total_seconds() / 3600
            for opened, solved in spans
            if solved is not None
        ]
        cached = round(statistics.median(hours), 2) if hours else -1.0
        cache.set(key, cached, EFFORT_CACHE_SECONDS)
    return fallback if cached < 0 else max(float(cached), 0.01)


def score_inputs(ticket: Ticket, policy: ScoringPolicy) -> dict[str, float]:
    """What the formula sees of ``ticket`` (its organization is read if not loaded)."""
    estimated = ticket.effort_hours is not None
    return {
        "affected": float(ticket.affected_count),
        "plan_weight": policy.plan_weight(ticket.organization.plan),
        "severity": float(SEVERITY_LEVELS.get(ticket.severity, 2)),
        "severity_weight": policy.severity_weight(ticket.severity),
        "production_down": 1.0 if ticket.is_production_down else 0.0,
        "effort": (
            float(ticket.effort_hours)  # type: ignore[arg-type]
            if estimated
            else default_effort_hours(ticket, policy)
        ),
        "effort_is_estimated": 1.0 if estimated else 0.0,
    }


@dataclass(frozen=True)
class Score:
    value: float
    inputs: dict[str, float]
    error: str = ""


def compute_score(ticket: Ticket, policy: ScoringPolicy | None = None) -> Score:
    """The ticket's score by the policy's formula (0 with the reason when the formula
    fails for this ticket: the formula was checked on save, but not on every value)."""
    policy = policy or current_policy()
    inputs = score_inputs(ticket, policy)
    try:
        value = evaluate(policy.formula, inputs)
    except ValueError as exc:
        logger.warning("scoring formula failed for ticket %s: %s", ticket.pk, exc)
        return Score(0.0, inputs, error=str(exc))
    return Score(round(value, 4), inputs)


def recompute_score(
    ticket: Ticket,
    *,
    reason: str,
    acting_user: User | None = None,
    policy: ScoringPolicy | None = None,
) -> bool:
    """Work out the ticket's score again; when it changed, store it and record
    ``score_changed`` with old, new, why and the inputs. True if it changed.

    Callers run it inside the transaction that changed an input.
    """
    score = compute_score(ticket, policy)
    old = ticket.score
    if math.isclose(old, score.value, rel_tol=0, abs_tol=1e-9):
        return False
    # No savepoint: callers change the inputs in the same transaction, and a
    # failure here must undo that change too.
    with transaction.atomic(savepoint=False):
        Ticket.objects.filter(pk=ticket.pk).update(score=score.value)
        ticket.score = score.value
        data: dict[str, Any] = {
            "old": old,
            "new": score.value,
            "reason": reason,
            "inputs": score.inputs,
        }
        if score.error:
            data["error"] = score.error
        record_event(ticket, TicketEvent.Kind.SCORE_CHANGED, actor=acting_user, **data)
    return True


class Keep:
    """Leave a field as it is (``None`` clears the effort estimate)."""


KEEP: Any = Keep()

_CUSTOMER_FIELDS = frozenset({"severity", "is_production_down"})


def set_estimates(
    ticket: Ticket,
    *,
    acting_user: User,
    severity: str | Keep = KEEP,
    is_production_down: bool | Keep = KEEP,
    affected_count: int | Keep = KEEP,
    effort_hours: Decimal | float | Keep | None = KEEP,
) -> list[str]:
    """Change the ticket's impact and effort inputs; one ``estimate_changed`` event
    per field and the score recomputed, all in one transaction. Returns the fields
    that changed.

    Desk agents and admins may change all four. A customer may change severity and
    the production-down flag of their own organization's tickets, nothing else.
    Raises :class:`TicketError` for a value out of range or a change not allowed.
    """
    wanted: dict[str, Any] = {
        name: value
        for name, value in {
            "severity": severity,
            "is_production_down": is_production_down,
            "affected_count": affected_count,
            "effort_hours": effort_hours,
        }.items()
        if not isinstance(value, Keep)
    }
    _check_may_estimate(acting_user, ticket, frozenset(wanted))
    if "severity" in wanted and wanted["severity"] not in Ticket.Severity.values:
        raise TicketError(
            "invalid_severity",
            f"Severity must be one of {', '.join(Ticket.Severity.values)}.",
        )
    if "affected_count" in wanted:
        count = wanted["affected_count"]
        if isinstance(count, bool) or not isinstance(count, int):
            raise TicketError("invalid_affected", "Affected must be a whole number.")
        if not 1 <= count <= MAX_AFFECTED:
            raise TicketError(
                "invalid_affected", f"Affected must be 1 to {MAX_AFFECTED:,}."
            )
    if wanted.get("effort_hours") is not None:
        wanted["effort_hours"] = _effort(wanted["effort_hours"])
    changed: list[str] = []
    with transaction.atomic():
        lock_and_refresh(ticket)
        if ticket.merged_into_id:
            raise TicketError(
                "ticket_merged", "This ticket was merged; change the one it went into."
            )
        for name, value in wanted.items():
            old = getattr(ticket, name)
            if old == value:
                continue
            setattr(ticket, name, value)
            changed.append(name)
            record_event(
                ticket,
                TicketEvent.Kind.ESTIMATE_CHANGED,
                actor=acting_user,
                field=name,
                old=_plain(old),
                new=_plain(value),
            )
        if changed:
            ticket.updated_at = timezone.now()
            ticket.save(update_fields=[*changed, "updated_at"])
            recompute_score(
                ticket,
                reason=f"{', '.join(_LABELS[n] for n in changed)} changed",
                acting_user=acting_user,
            )
    return changed


_LABELS = {
    "severity": "severity",
    "is_production_down": "production down",
    "affected_count": "affected",
    "effort_hours": "effort",
}


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _effort(raw: Decimal | float) -> Decimal:
    try:
        hours = Decimal(str(raw)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise TicketError(
            "invalid_effort", "Effort must be a number of hours."
        ) from None
    if not hours.is_finite() or hours <= 0 or hours > MAX_EFFORT_HOURS:
        raise TicketError(
            "invalid_effort",
            f"Effort must be more than 0 and at most {MAX_EFFORT_HOURS} hours.",
        )
    return hours


def _check_may_estimate(user: User, ticket: Ticket, fields: frozenset[str]) -> None:
    if access.can_edit_ticket(user, ticket):
        return
    if (
        user.is_customer
        and fields <= _CUSTOMER_FIELDS
        and access.visible_tickets(user).filter(pk=ticket.pk).exists()
    ):
        return
    raise TicketError(
        "not_allowed",
        "Customers may set only the severity and whether production is down."
        if user.is_customer
        else "You cannot change the impact or effort of this ticket.",
        status=403,
    )


# Duplicates


def mark_duplicate(
    duplicate: Ticket, original: Ticket, *, acting_user: User
) -> DuplicateLink:
    """Link ``duplicate`` to ``original``: both stay tickets (unlike a merge), the
    original's affected count grows by the duplicate's and its score is recomputed.

    Tickets of different organizations may be linked (that is how many customers
    hit by one problem show), since customers never see the link. Raises
    :class:`TicketError` for linking a ticket to itself, a chain (the original is
    itself a duplicate, or the duplicate has duplicates), a merged ticket, a ticket
    already linked, or without permission.
    """
    if not access.can_edit_ticket(acting_user, duplicate):
        raise TicketError("not_allowed", "You cannot link duplicates.", status=403)
    if duplicate.pk == original.pk:
        raise TicketError(
            "duplicate_of_self", "A ticket cannot be a duplicate of itself."
        )
    with transaction.atomic():
        lock_and_refresh(duplicate, original)
        if duplicate.merged_into_id or original.merged_into_id:
            raise TicketError(
                "ticket_merged", "A merged ticket cannot be linked as a duplicate."
            )
        existing = DuplicateLink.objects.filter(duplicate=duplicate).first()
        if existing is not None:
            raise TicketError(
                "already_duplicate",
                f"{duplicate.reference} is already a duplicate of "
                f"#{existing.original.number}; unlink it first.",
            )
        root = DuplicateLink.objects.filter(duplicate=original).first()
        if root is not None:
            raise TicketError(
                "duplicate_chain",
                f"{original.reference} is itself a duplicate of "
                f"#{root.original.number}; link to #{root.original.number} instead.",
            )
        if DuplicateLink.objects.filter(original=duplicate).exists():
            raise TicketError(
                "duplicate_chain",
                f"{duplicate.reference} has duplicates of its own; link the other "
                "way round, or unlink them first.",
            )
        link = DuplicateLink.objects.create(
            duplicate=duplicate,
            original=original,
            added_count=duplicate.affected_count,
            created_by=acting_user,
        )
        _set_affected(
            duplicate,
            original,
            min(original.affected_count + link.added_count, MAX_AFFECTED),
            linked=True,
            acting_user=acting_user,
        )
    return link


def unlink_duplicate(duplicate: Ticket, *, acting_user: User) -> Ticket:
    """Undo :func:`mark_duplicate`: the original's affected count shrinks by what
    the link added (never below 1) and its score is recomputed. Returns the original.
    Raises :class:`TicketError` when the ticket is no duplicate or without permission."""
    if not access.can_edit_ticket(acting_user, duplicate):
        raise TicketError("not_allowed", "You cannot unlink duplicates.", status=403)
    with transaction.atomic():
        link = (
            DuplicateLink.objects.select_related("original")
            .filter(duplicate=duplicate)
            .first()
        )
        if link is None:
            raise TicketError(
                "not_duplicate", f"{duplicate.reference} is not linked as a duplicate."
            )
        original = link.original
        lock_and_refresh(duplicate, original)
        link.delete()
        _set_affected(
            duplicate,
            original,
            max(1, original.affected_count - link.added_count),
            linked=False,
            acting_user=acting_user,
        )
    return original


def _set_affected(
    duplicate: Ticket,
    original: Ticket,
    affected: int,
    *,
    linked: bool,
    acting_user: User,
) -> None:
    """The original's new affected count after a duplicate was linked or unlinked:
    saved, an event on each ticket, and the original rescored."""
    kind = (
        TicketEvent.Kind.DUPLICATE_LINKED
        if linked
        else TicketEvent.Kind.DUPLICATE_UNLINKED
    )
    old, original.affected_count = original.affected_count, affected
    original.updated_at = duplicate.updated_at = timezone.now()
    original.save(update_fields=["affected_count", "updated_at"])
    duplicate.save(update_fields=["updated_at"])
    record_event(duplicate, kind, actor=acting_user, original=original.number)
    record_event(
        original,
        kind,
        actor=acting_user,
        duplicate=duplicate.number,
        old=old,
        new=affected,
    )
    recompute_score(
        original,
        reason=f"duplicate #{duplicate.number} {'linked' if linked else 'unlinked'}",
        acting_user=acting_user,
    )


# The policy


def update_policy(
    *,
    acting_user: User,
    formula: str | None = None,
    plan_weights: Mapping[str, float] | None = None,
    severity_weights: Mapping[str, float] | None = None,
    default_effort_hours: Decimal | float | None = None,
) -> tuple[ScoringPolicy, int]:
    """Change the scoring policy (admins only) and rescore every unresolved ticket in
    the same transaction; returns the policy and how many scores changed.

    Raises :class:`TicketError` for a formula that does not give a finite number for
    the sample tickets, a weight that is not a number from 0 to 1000, an unknown
    severity, or an effort out of range. Nothing is saved then.
    """
    if acting_user.role != User.Role.ADMIN or not acting_user.is_active:
        raise TicketError(
            "not_allowed", "Only admins change the scoring policy.", status=403
        )
    with transaction.atomic():
        ScoringPolicy.objects.get_or_create(pk=1)
        policy = ScoringPolicy.objects.select_for_update().get(pk=1)
        if formula is not None:
            policy.formula = check_formula(formula)
        if plan_weights is not None:
            policy.plan_weights = _weights(plan_weights, "plan")
        if severity_weights is not None:
            weights = _weights(severity_weights, "severity")
            unknown = set(weights) - set(Ticket.Severity.values)
            if unknown:
                raise TicketError(
                    "invalid_weights",
                    f"Unknown severity {sorted(unknown)[0]!r}; use "
                    f"{', '.join(Ticket.Severity.values)}.",
                )
            policy.severity_weights = weights
        if default_effort_hours is not None:
            policy.default_effort_hours = _effort(default_effort_hours)
        policy.updated_at = timezone.now()
        policy.updated_by = acting_user
        policy.save()
        changed = rescore_unresolved(
            reason="scoring policy changed", acting_user=acting_user, policy=policy
        )
    return policy, changed


def _weights(raw: Mapping[str, Any], what: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for name, value in raw.items():
        key = str(name).strip().lower()
        if not key or len(key) > 40:
            raise TicketError(
                "invalid_weights", f"A {what} name must be 1-40 characters."
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TicketError(
                "invalid_weights", f"The weight of {what} {key!r} must be a number."
            )
        if not math.isfinite(value) or not 0 <= value <= 1000:
            raise TicketError(
                "invalid_weights", f"The weight of {what} {key!r} must be 0 to 1000."
            )
        weights[key] = float(value)
    return weights


def rescore_unresolved(
    *,
    reason: str,
    acting_user: User | None = None,
    policy: ScoringPolicy | None = None,
) -> int:
    """Recompute the score of every unresolved ticket (after a policy change);
    returns how many changed. Solved and closed tickets keep the score they had."""
    policy = policy or current_policy()
    changed = 0
    tickets = (
        Ticket.objects.filter(status__in=Ticket.UNRESOLVED_STATUSES)
        .select_related("organization")
        .order_by("pk")
    )
    for ticket in tickets.iterator(chunk_size=500):
        changed += recompute_score(
            ticket, reason=reason, acting_user=acting_user, policy=policy
        )
    return changed
