"""Template helpers shared by the desk and the portal."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString, mark_safe

from devdesk.lib import humanize
from devdesk.lib.markdown import render_markdown
from devdesk.tickets.conversation import field_html, history_html, message_html
from devdesk.tickets.models import Message

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    """Render user Markdown; the output is sanitized, so marking it safe is sound."""
    return mark_safe(render_markdown(text or ""))  # noqa: S308 - sanitized by nh3


register.filter("filesize", humanize.filesize)
register.filter("ago", humanize.ago)
register.simple_tag(humanize.time_ago, name="time_ago")


@register.simple_tag(takes_context=True)
def message(
    context: template.Context, message: Message, selectable: bool = False
) -> SafeString:
    """One message of a conversation (see :func:`tickets.conversation.message_html`)."""
    return mark_safe(  # noqa: S308 - built from escaped parts
        message_html(
            message,
            selectable=selectable,
            is_desk_user=bool(context.get("is_desk_user")),
        )
    )


@register.simple_tag
def history_lines(lines: list[dict[str, Any]]) -> SafeString:
    """The history's ``<li>`` items (see :func:`tickets.conversation.history_html`)."""
    return mark_safe(history_html(lines))  # noqa: S308 - built from escaped parts


@register.simple_tag
def field_row(field: BoundField) -> SafeString:
    """A labelled form field with help text and errors."""
    return field_html(field)
