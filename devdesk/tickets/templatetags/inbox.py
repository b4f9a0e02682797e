"""``{% inbox_rows %}``: the inbox's rows, rendered in Python (see tickets.rows)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.safestring import SafeString

from devdesk.tickets.models import Ticket
from devdesk.tickets.rows import inbox_rows as render_rows

register = template.Library()


@register.simple_tag
def inbox_rows(
    tickets: Iterable[Ticket],
    bulk_numbers: set[int] | None,
    bulk_ticked: set[int] | None,
    bulk_form: Any,
) -> SafeString:
    return render_rows(
        tickets,
        bulk_numbers=bulk_numbers,
        ticked=bulk_ticked or set(),
        tickets_name=bulk_form["tickets"].html_name if bulk_form else "",
        page_name=bulk_form["page"].html_name if bulk_form else "",
    )
