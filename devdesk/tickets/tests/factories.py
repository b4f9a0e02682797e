from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from devdesk.accounts.models import User
from devdesk.accounts.tests.factories import UserFactory
from devdesk.tickets.models import Macro, Message, Product, Ticket
from devdesk.tickets.services import NewTicket, add_message, open_ticket


class ProductFactory(DjangoModelFactory[Product]):
    class Meta:
        model = Product
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")


class MacroFactory(DjangoModelFactory[Macro]):
    class Meta:
        model = Macro

    name = factory.Sequence(lambda n: f"Macro {n}")
    body = (
        "Hi {{ customer.first_name }}, thanks for writing about {{ ticket.reference }}."
    )


def make_ticket(
    requester: User | None = None,
    *,
    subject: str = "SDK throws 401 on refresh",
    body: str = "After an hour every call fails with `401 Unauthorized`.",
    **fields: Any,
) -> Ticket:
    """Open a ticket through the real service, then set any extra fields directly."""
    requester = requester or UserFactory()
    ticket = open_ticket(
        NewTicket(requester=requester, subject=subject, body=body),
        acting_user=requester,
    )
    if fields:
        for name, value in fields.items():
            setattr(ticket, name, value)
        ticket.save()
    return ticket


def reply(
    ticket: Ticket, author: User, body: str = "Thanks, looking into it.", **kw: Any
) -> Message:
    return add_message(ticket, author=author, body=body, **kw)
