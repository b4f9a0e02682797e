"""Who may see and do what. Every page, API handler, search and export asks here.

Rules:
- admins and agents see every ticket and every organization;
- engineers see tickets escalated to one of their teams, and may add internal notes;
- partner agents see tickets routed to their partner organization;
- customers see their own organization's tickets, never internal notes, and may
  only reply;
- anonymous users see nothing.

A ticket someone may not see is "not found" (404), never "forbidden", so nobody learns
that another organization's ticket exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404

from devdesk.accounts import services as account_rules
from devdesk.accounts.models import Organization, User
from devdesk.tickets.models import Attachment, Message, Product, Ticket, TicketQuerySet

AnyUser = User | AnonymousUser


def role_of(user: AnyUser | None) -> str | None:
    """The role of a signed-in, active user; None for anyone else. Every permission
    rule (here and in the apps above) starts from it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return str(user.role)


def visible_tickets(user: AnyUser) -> TicketQuerySet:
    """All tickets ``user`` may see, as a queryset to filter further."""
    role = role_of(user)
    tickets = Ticket.objects.all()
    if role in {User.Role.ADMIN, User.Role.AGENT}:
        return tickets
    if role is None:
        return tickets.none()
    user = cast(User, user)
    if role == User.Role.ENGINEER:
        return tickets.filter(escalated_team__in=user.teams.all())
    if role == User.Role.PARTNER_AGENT and user.organization_id:
        return tickets.filter(partner_organization_id=user.organization_id)
    if role == User.Role.CUSTOMER and user.organization_id:
        return tickets.filter(organization_id=user.organization_id)
    return tickets.none()


def get_ticket_for(
    user: AnyUser, number: int, *, related: Sequence[str] = ()
) -> Ticket:
    """The ticket with this number if ``user`` may see it; otherwise :class:`Http404`.
    ``related``: relations to load with it (``select_related``)."""
    try:
        return visible_tickets(user).select_related(*related).get(number=number)
    except (Ticket.DoesNotExist, ValueError, TypeError):
        raise Http404("No such ticket") from None


def visible_messages(user: AnyUser, ticket: Ticket) -> QuerySet[Message]:
    """The conversation of a ticket as ``user`` may read it (no internal notes for customers)."""
    messages = ticket.messages.select_related("author").prefetch_related("attachments")
    if not can_read_internal(user, ticket):
        messages = messages.filter(kind=Message.Kind.PUBLIC)
    return messages


def get_attachment_for(user: AnyUser, attachment_id: int) -> Attachment:
    """An attachment of a message ``user`` may read; otherwise :class:`Http404`."""
    try:
        attachment = Attachment.objects.select_related("message__ticket").get(
            pk=attachment_id
        )
    except (Attachment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such attachment") from None
    message = attachment.message
    if not visible_tickets(user).filter(pk=message.ticket_id).exists():
        raise Http404("No such attachment")
    if message.is_internal and not can_read_internal(user, message.ticket):
        raise Http404("No such attachment")
    return attachment


def can_read_internal(user: AnyUser, ticket: Ticket) -> bool:
    return can_search_internal_notes(user)


def can_search_internal_notes(user: AnyUser) -> bool:
    """Whether a search by ``user`` may match the text of internal notes: only for
    those who read the notes of every ticket they can see (never customers)."""
    return role_of(user) in {
        User.Role.ADMIN,
        User.Role.AGENT,
        User.Role.ENGINEER,
        User.Role.PARTNER_AGENT,
    }


def can_reply_publicly(user: AnyUser, ticket: Ticket) -> bool:
    """Engineers work through internal notes: the owner stays the customer's contact."""
    return role_of(user) in {
        User.Role.ADMIN,
        User.Role.AGENT,
        User.Role.PARTNER_AGENT,
        User.Role.CUSTOMER,
    }


def can_add_note(user: AnyUser, ticket: Ticket) -> bool:
    return can_read_internal(user, ticket)


def can_change_status(user: AnyUser, ticket: Ticket) -> bool:
    return role_of(user) in {User.Role.ADMIN, User.Role.AGENT, User.Role.PARTNER_AGENT}


def can_tag(user: AnyUser, ticket: Ticket) -> bool:
    """Tags: desk staff, and partner agents on the tickets routed to them."""
    return role_of(user) in {User.Role.ADMIN, User.Role.AGENT, User.Role.PARTNER_AGENT}


def can_edit_ticket(user: AnyUser, ticket: Ticket) -> bool:
    """Owner, assignee, priority, team, product, tags, followers, subject."""
    return role_of(user) in {User.Role.ADMIN, User.Role.AGENT}


def can_merge_and_split(user: AnyUser) -> bool:
    return role_of(user) in {User.Role.ADMIN, User.Role.AGENT}


def can_open_ticket(user: AnyUser) -> bool:
    """Customers open their own tickets; desk staff open them for customers.
    Engineers and partner agents work on what is routed to them."""
    return role_of(user) in {User.Role.ADMIN, User.Role.AGENT, User.Role.CUSTOMER}


def can_open_ticket_for_customer(user: AnyUser) -> bool:
    """Log a ticket on behalf of a customer (phone, chat, a conversation at an event)."""
    return role_of(user) in {User.Role.ADMIN, User.Role.AGENT}


def can_use_agent_desk(user: AnyUser) -> bool:
    return role_of(user) in {
        User.Role.ADMIN,
        User.Role.AGENT,
        User.Role.ENGINEER,
        User.Role.PARTNER_AGENT,
    }


def visible_organizations(user: AnyUser) -> QuerySet[Organization]:
    role = role_of(user)
    if role in {User.Role.ADMIN, User.Role.AGENT}:
        return Organization.objects.all()
    if role is None:
        return Organization.objects.none()
    user = cast(User, user)
    if role == User.Role.ENGINEER:
        return Organization.objects.filter(
            Q(kind=Organization.Kind.VENDOR) | Q(tickets__in=visible_tickets(user))
        ).distinct()
    if role == User.Role.PARTNER_AGENT:
        return Organization.objects.filter(
            Q(pk=user.organization_id) | Q(tickets__in=visible_tickets(user))
        ).distinct()
    if user.organization_id is None:
        return Organization.objects.none()
    return Organization.objects.filter(pk=user.organization_id)


def get_organization_for(user: AnyUser, organization_id: int) -> Organization:
    try:
        return visible_organizations(user).get(pk=organization_id)
    except (Organization.DoesNotExist, ValueError, TypeError):
        raise Http404("No such organization") from None


def visible_users(user: AnyUser) -> QuerySet[User]:
    """Desk staff see everyone; others see their own organization and the vendor's staff."""
    role = role_of(user)
    if role in {User.Role.ADMIN, User.Role.AGENT}:
        return User.objects.all()
    if role is None:
        return User.objects.none()
    user = cast(User, user)
    staff = Q(role__in=[User.Role.ADMIN, User.Role.AGENT, User.Role.ENGINEER])
    if role == User.Role.ENGINEER:
        return User.objects.filter(staff)
    return User.objects.filter(staff | Q(organization_id=user.organization_id))


def get_user_for(user: AnyUser, user_id: int) -> User:
    try:
        return visible_users(user).get(pk=user_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404("No such user") from None


def visible_products(user: AnyUser) -> QuerySet[Product]:
    if role_of(user) is None:
        return Product.objects.none()
    return Product.objects.filter(is_active=True)


# Managing organizations and people (the desk's people pages, the API's writes).
# The rules live in accounts.services beside the services that enforce them; these
# answer for any visitor, anonymous and deactivated people included.


def can_manage_organizations(user: AnyUser) -> bool:
    """Admins and agents create and edit customer and partner organizations."""
    return role_of(user) is not None and account_rules.may_manage_organizations(
        cast(User, user)
    )


def can_manage_people(user: AnyUser) -> bool:
    """Admins and agents open people's pages and change someone; what exactly each
    may change is :func:`editable_person_fields` (agents: customers only)."""
    return role_of(user) in {User.Role.ADMIN, User.Role.AGENT}


def can_read_mail(user: AnyUser, ticket: Ticket | None) -> bool:
    """A stored e-mail as it arrived (headers, raw source): admins read any; other
    desk staff the mail behind a ticket they may see."""
    if role_of(user) == User.Role.ADMIN:
        return True
    if ticket is None or not can_use_agent_desk(user):
        return False
    return visible_tickets(user).filter(pk=ticket.pk).exists()


def can_manage_mail(user: AnyUser) -> bool:
    """Admins see every stored e-mail (quarantined, refused, suppressed) and retry."""
    return role_of(user) == User.Role.ADMIN


def editable_person_fields(user: AnyUser, person: User) -> frozenset[str]:
    """Which of name, role, organization and is_active ``user`` may change on
    ``person``: admins all (but their own role and active flag), agents a customer's
    name and organization, nobody else anything."""
    if role_of(user) is None:
        return frozenset()
    return account_rules.person_fields_editable_by(cast(User, user), person)


def can_invite_to(user: AnyUser, organization: Organization) -> bool:
    """Agents invite customers into customer organizations; admins also invite
    partner agents into partner organizations."""
    if role_of(user) is None:
        return False
    return account_rules.invitation_role_for(cast(User, user), organization) is not None


def managed_organizations(user: AnyUser) -> QuerySet[Organization]:
    """The customer and partner organizations ``user`` manages (none for most)."""
    if not can_manage_organizations(user):
        return Organization.objects.none()
    return Organization.objects.filter(kind__in=account_rules.MANAGED_KINDS)


def get_managed_organization_for(user: AnyUser, organization_id: int) -> Organization:
    """A customer or partner organization ``user`` manages; otherwise :class:`Http404`."""
    try:
        return managed_organizations(user).get(pk=organization_id)
    except (Organization.DoesNotExist, ValueError, TypeError):
        raise Http404("No such organization") from None
