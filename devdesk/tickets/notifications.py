"""E-mail people when a ticket's conversation moves.

- a public reply from the desk goes to the requester and the customers who follow
  the ticket where the message was written;
- a customer's message goes to the assignee, or the owner, or nobody yet (the inbox
  shows it);
- internal notes go to the assignee and owner, never to customers.

The message that opens a ticket goes to nobody: the requester wrote it, and a new
ticket has no assignee, owner or followers yet. ``open_ticket`` stores it as notified
and its event says ``notify: false``, so no task is queued only to find that out.
"""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives

from devdesk.accounts.models import User
from devdesk.intake.mail.outbound import message_email
from devdesk.tickets.events import subscribe
from devdesk.tickets.models import Message, TicketEvent
from devdesk.tickets.tasks import send_message_notification


def recipients_for(message: Message) -> list[User]:
    """Who is told about ``message``; never its author, never a customer for a note."""
    ticket = message.origin_ticket or message.ticket
    people: list[User | None]
    if message.author is not None and message.author.is_customer:
        people = [message.ticket.assignee or message.ticket.owner]
    elif message.is_internal:
        people = [message.ticket.assignee, message.ticket.owner]
    else:
        people = [ticket.requester, *ticket.followers.filter(role=User.Role.CUSTOMER)]
    seen: dict[int, User] = {}
    for person in people:
        if person and person.is_active and person.pk != message.author_id:
            seen.setdefault(person.pk, person)
    return list(seen.values())


def build_email(message: Message, recipient: User) -> EmailMultiAlternatives:
    """The mail telling ``recipient`` about ``message``, threaded with the ticket's
    earlier mail (see :mod:`devdesk.intake.mail.outbound`); not sent yet."""
    return message_email(message, recipient)


def _on_message_added(event: TicketEvent) -> None:
    if event.data.get("notify", True):
        send_message_notification.enqueue(event.data["message_id"])


subscribe(TicketEvent.Kind.MESSAGE_ADDED, _on_message_added)
