"""Scope: is a ticket about something the vendor sells and supports?

Three checks, first match wins (:func:`assess`):

1. the catalog: the ticket's product is no longer sold (inactive), or the
   organization's plan is described in the catalog and does not cover it;
2. the catalog's phrases: the text names something a not-supported area lists;
3. the classifier (:mod:`.scope_classifier`), at ``SCOPE_CLASSIFIER_THRESHOLD``.

A flagged ticket carries ``is_out_of_scope`` and the reason (desk staff only);
the agent answers with :func:`decline`, a polite macro filled from the catalog,
or clears the flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from devdesk.accounts.models import User
from devdesk.tickets import access
from devdesk.tickets.errors import TicketError
from devdesk.tickets.events import record_event
from devdesk.tickets.models import Macro, Message, Product, Ticket, TicketEvent
from devdesk.tickets.services import apply_macro, lock_and_refresh, render_macro
from devdesk.triage import scope_classifier
from devdesk.triage.models import PlanCoverage, ScopeArea, ScopeFlag

Source = ScopeFlag.Source
SCOPE_PLACEHOLDER = re.compile(r"\{\{\s*(scope\.[a-z_]+)\s*\}\}")
DECLINE_MACRO_NAME = "Out of scope: polite decline"
DECLINE_MACRO_BODY = """Hi {{ customer.first_name }},

Thank you for writing to us about "{{ ticket.subject }}". I'm sorry to say this is outside what our support covers: {{ scope.not_supported }}.

What we do support on the {{ scope.plan }} plan: {{ scope.supported }}.

Where to go instead: {{ scope.where_instead }}

If I have misunderstood and this is about one of our products after all, reply to this message and we'll pick it up straight away.

{{ agent.first_name }}"""


@dataclass(frozen=True)
class Assessment:
    source: str
    reason: str
    area: ScopeArea | None = None
    probability: float | None = None


def covered_products(plan: str) -> list[PlanCoverage]:
    return list(
        PlanCoverage.objects.filter(plan__iexact=plan.strip()).select_related("product")
    )


def assess(ticket: Ticket, *, text: str | None = None) -> Assessment | None:
    """Why the ticket is out of scope, or None when nothing says so."""
    product = ticket.product
    plan = ticket.organization.plan.strip()
    if product is not None and not product.is_active:
        return Assessment(Source.CATALOG, f"{product.name} is no longer sold.")
    if product is not None and plan:
        covered = covered_products(plan)
        if covered and product.pk not in {c.product_id for c in covered}:
            names = ", ".join(c.product.name for c in covered)
            return Assessment(
                Source.CATALOG,
                f"The {plan} plan does not cover {product.name} (it covers {names}).",
            )
    if text is None:
        first = ticket.messages.order_by("id").first()
        text = first.body if first else ""
    lowered = f"{ticket.subject}\n{text}".lower()
    for area in ScopeArea.objects.filter(kind=ScopeArea.Kind.NOT_SUPPORTED):
        for phrase in area.phrase_list:
            # Whole words only: "ufw" is not in "bufwrite".
            if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered):
                return Assessment(
                    Source.PHRASE, f"Mentions “{phrase}”: {area.name}.", area=area
                )
    verdict = scope_classifier.classify(
        scope_classifier.trained_model(), ticket.subject, text
    )
    if verdict.is_out_of_scope(settings.SCOPE_CLASSIFIER_THRESHOLD):
        named = ScopeArea.objects.filter(
            slug=verdict.area, kind=ScopeArea.Kind.NOT_SUPPORTED
        ).first()
        label = named.name if named else verdict.area.replace("-", " ")
        return Assessment(
            Source.CLASSIFIER,
            f"Reads like {label} ({verdict.probability:.0%} out of scope).",
            area=named,
            probability=verdict.probability,
        )
    return None


def flag(
    ticket: Ticket,
    *,
    reason: str,
    source: str = Source.AGENT,
    area: ScopeArea | None = None,
    probability: float | None = None,
    acting_user: User | None,
    now: datetime | None = None,
) -> Ticket:
    """Flag the ticket out of scope with a reason; an event ``scope_flagged``.

    Flagging again replaces the reason. Raises :class:`TicketError` (403) for a
    person who may not edit the ticket, ``reason_required`` for an empty reason.
    """
    if acting_user is not None and not access.can_edit_ticket(acting_user, ticket):
        raise TicketError("not_allowed", "You cannot change this ticket.", status=403)
    reason = " ".join(reason.split())[:300]
    if not reason:
        raise TicketError("reason_required", "Say why the ticket is out of scope.")
    now = now or timezone.now()
    with transaction.atomic():
        lock_and_refresh(ticket)
        ticket.is_out_of_scope = True
        ticket.out_of_scope_reason = reason
        ticket.save(update_fields=["is_out_of_scope", "out_of_scope_reason"])
        ScopeFlag.objects.update_or_create(
            ticket=ticket,
            defaults={
                "area": area,
                "source": source,
                "reason": reason,
                "probability": probability,
                "flagged_by": acting_user,
                "flagged_at": now,
            },
        )
        record_event(
            ticket,
            TicketEvent.Kind.SCOPE_FLAGGED,
            actor=acting_user,
            reason=reason,
            source=source,
            area=area.slug if area else "",
        )
    return ticket


def clear(ticket: Ticket, *, acting_user: User | None) -> bool:
    """The ticket is in scope after all: flag removed, an event ``scope_cleared``.
    Returns False when it was not flagged. Raises :class:`TicketError` (403)."""
    if acting_user is not None and not access.can_edit_ticket(acting_user, ticket):
        raise TicketError("not_allowed", "You cannot change this ticket.", status=403)
    with transaction.atomic():
        lock_and_refresh(ticket)
        if not ticket.is_out_of_scope:
            return False
        old = ticket.out_of_scope_reason
        ticket.is_out_of_scope = False
        ticket.out_of_scope_reason = ""
        ticket.save(update_fields=["is_out_of_scope", "out_of_scope_reason"])
        ScopeFlag.objects.filter(ticket=ticket).delete()
        record_event(
            ticket, TicketEvent.Kind.SCOPE_CLEARED, actor=acting_user, reason=old
        )
    return True


def check_new_ticket(ticket: Ticket) -> Assessment | None:
    """Assess a new ticket and flag it when out of scope (the system acting)."""
    if ticket.is_out_of_scope:
        return None
    found = assess(ticket)
    if found is not None:
        flag(
            ticket,
            reason=found.reason,
            source=found.source,
            area=found.area,
            probability=found.probability,
            acting_user=None,
        )
    return found


def on_ticket_created(event: TicketEvent) -> None:
    ticket = Ticket.objects.select_related("organization", "product").get(
        pk=event.ticket_id
    )
    check_new_ticket(ticket)


def decline_macro() -> Macro:
    """The decline macro, made with the default text on first use (then edited
    in the admin like any macro)."""
    macro, _ = Macro.objects.get_or_create(
        name=DECLINE_MACRO_NAME,
        defaults={
            "body": DECLINE_MACRO_BODY,
            "set_status": Ticket.Status.PENDING_CUSTOMER,
            "add_tags": "out-of-scope",
        },
    )
    return macro


def scope_context(ticket: Ticket) -> dict[str, str]:
    """The ``{{ scope.* }}`` placeholders, from the catalog and the ticket's flag."""
    plan = ticket.organization.plan.strip()
    covered = covered_products(plan) if plan else []
    if covered:
        supported = "; ".join(
            f"{c.product.name}" + (f" ({c.versions})" if c.versions else "")
            for c in covered
        )
    else:
        supported = ", ".join(
            Product.objects.filter(is_active=True).values_list("name", flat=True)
        )
    flag_row = ScopeFlag.objects.filter(ticket=ticket).select_related("area").first()
    area = flag_row.area if flag_row else None
    not_supported = (
        area.description or area.name
        if area
        else (flag_row.reason if flag_row else ticket.out_of_scope_reason)
    )
    others = ScopeArea.objects.filter(kind=ScopeArea.Kind.NOT_SUPPORTED)
    where = area.where_instead if area and area.where_instead else ""
    if not where:
        where = " ".join(a.where_instead for a in others if a.where_instead)
    return {
        "scope.plan": plan or "your",
        "scope.supported": supported or "our products",
        "scope.not_supported": not_supported.rstrip(".") or "this request",
        "scope.where_instead": where or "the provider of the product in question",
        "scope.area": area.name if area else "",
    }


def render_decline(ticket: Ticket, user: User) -> str:
    """The decline macro's text for this ticket, every placeholder filled."""
    macro = decline_macro()
    values = scope_context(ticket)
    body = macro.body
    body = SCOPE_PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)
    return render_macro(Macro(body=body), ticket, user)


def decline(ticket: Ticket, *, acting_user: User) -> Message:
    """Send the polite decline (the macro, filled from the catalog) as a public
    reply. Raises :class:`TicketError` when the ticket is not flagged out of
    scope (``not_out_of_scope``) or the user may not reply (403)."""
    if not ticket.is_out_of_scope:
        raise TicketError(
            "not_out_of_scope",
            "This ticket is not flagged out of scope; flag it first, then decline.",
        )
    if not access.can_reply_publicly(acting_user, ticket):
        raise TicketError(
            "not_allowed", "You cannot reply to the customer.", status=403
        )
    macro = decline_macro()
    return apply_macro(
        ticket, macro, acting_user=acting_user, body=render_decline(ticket, acting_user)
    )
