"""A ticket's messages and form fields as HTML, built in Python.

The ticket page of a long ticket showed twenty messages, each an ``{% include %}``
with a dozen tags and filters, and a dozen form fields the same way: together more
than half of the page's time. Here each is a few f-strings with every value escaped
(:func:`django.utils.html.escape`, as autoescaping does), giving the markup the
templates gave. Desk and portal share :func:`message_html`; the ``{% message %}``
and ``{% field_row %}`` tags (``templatetags/desk.py``) call these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.forms import BoundField
from django.urls import reverse
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

from devdesk.lib.humanize import filesize, time_ago
from devdesk.lib.markdown import render_markdown
from devdesk.tickets.models import Message, Ticket

# Channels named beside the time of a message, besides every customer message.
NAMED_CHANNELS = {Ticket.Channel.EMAIL, Ticket.Channel.API}


def message_html(message: Message, *, selectable: bool, is_desk_user: bool) -> str:
    """One message of the conversation: ``<article>`` with author, badges, time,
    the sanitized Markdown body and attachment links. ``selectable`` adds the split
    tick; ``is_desk_user`` names the author's role (customers read "Support team")."""
    author = message.author
    from_customer = author is not None and author.is_customer
    classes = "message"
    if message.is_internal:
        classes += " is-internal"
    if from_customer:
        classes += " from-customer"
    pk = message.pk
    parts = [
        f'<article class="{classes}" id="message-{pk}" data-message="{pk}">\n',
        '  <header class="message-header">\n    ',
    ]
    if selectable:
        parts.append(
            f'<input type="checkbox" name="message_ids" value="{pk}" '
            'form="split-form" aria-label="Select message for split">'
        )
    name = author.display_name if author else ""
    parts.append(
        f'\n    <span class="message-author">{escape(name or "devdesk")}</span>\n    '
    )
    if author is not None and not from_customer:
        role = author.get_role_display() if is_desk_user else "Support team"
        parts.append(f'<span class="badge badge-role">{escape(role)}</span>')
    parts.append("\n    ")
    if message.is_internal:
        parts.append('<span class="badge badge-note">Internal note</span>')
    parts.append("\n    ")
    origin = message.origin_ticket_id
    if origin and origin != message.ticket_id:
        parts.append(
            '<span class="badge badge-origin" title="Moved here by a merge or split">'
            f"from #{message.origin_ticket.number}</span>"  # type: ignore[union-attr]
        )
    channel = ""
    if from_customer or message.channel in NAMED_CHANNELS:
        channel = f"{escape(message.get_channel_display())} · "
    original = ""
    if is_desk_user and message.channel == Ticket.Channel.EMAIL and from_customer:
        url = reverse("mail:for-message", args=[pk])
        original = f' · <a href="{url}">original e-mail</a>'
    parts.append(
        f'\n    <span class="muted small message-meta">{channel}'
        f"{time_ago(message.created_at)}{original}</span>\n  </header>\n"
        f'  <div class="message-body">{render_markdown(message.body or "")}</div>\n  '
    )
    files = list(message.attachments.all())
    if files:
        links = "".join(
            '<a class="attachment" href="'
            f'{escape(reverse("attachment-download", args=[f.pk, f.filename]))}">'
            f"📎 {escape(f.filename)} "
            f'<span class="muted">{escape(filesize(f.size_bytes))}</span></a>'
            for f in files
        )
        parts.append(f'\n  <div class="attachments">\n    {links}\n  </div>\n  ')
    parts.append("\n</article>\n")
    return "".join(parts)


def history_html(lines: Iterable[dict[str, Any]]) -> str:
    """The ticket's history (:func:`tickets.history.ticket_history`) as list items;
    a line from a ticket merged into this one links to it."""
    ticket_url = desk_ticket_urls()
    items = []
    for line in lines:
        elsewhere = line["elsewhere"]
        link = ""
        if elsewhere is not None:
            url = ticket_url(elsewhere.number)
            link = (
                f'<a href="{escape(url)}" class="muted">'
                f"{escape(elsewhere.reference)}</a>: "
            )
        when = time_ago(line["event"].created_at, "muted")
        items.append(
            f"\n      <li>{link}{escape(line['text'])}\n        {when}</li>\n      "
        )
    return "".join(items)


# A ticket number no ticket has, to reverse a URL once and fill in each number.
PLACEHOLDER = 987654321


def desk_ticket_urls() -> Callable[[int], str]:
    """``number -> /desk/tickets/<number>/``, reversing the URL once: ``reverse``
    costs more than the rest of a row, and a page has dozens of links."""
    pattern = reverse("desk:ticket-detail", args=[PLACEHOLDER])
    return lambda number: pattern.replace(str(PLACEHOLDER), str(number))


def field_html(field: BoundField) -> SafeString:
    """A labelled form field with its help text and errors (hidden fields bare)."""
    if field.is_hidden:
        return SafeString(str(field))
    error_class = " has-error" if field.errors else ""
    help_text = (
        f'<div class="help">{conditional_escape(field.help_text)}</div>'
        if field.help_text
        else ""
    )
    return mark_safe(  # noqa: S308 - label and help escaped, widget and errors are HTML
        f'<div class="field{error_class}">\n'
        f'  <label for="{escape(field.id_for_label)}">'
        f"{conditional_escape(field.label)}</label>\n"
        f"  {field}\n  {help_text}\n  {field.errors}\n</div>"
    )
