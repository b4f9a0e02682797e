"""The inbox rows built in Python: escaped, linked, with ticks only where allowed."""

from __future__ import annotations

import pytest

from devdesk.tickets.rows import inbox_rows
from devdesk.tickets.services import set_tags
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db

HOSTILE = '<img src=x onerror="alert(1)">&'


def test_a_row_escapes_everything_a_person_typed(agent, acme_customer):
    acme_customer.name = HOSTILE
    acme_customer.save()
    ticket = make_ticket(acme_customer, subject=HOSTILE)
    set_tags(ticket, ["billing"], acting_user=agent)
    ticket = type(ticket).objects.for_inbox().get(pk=ticket.pk)

    html = inbox_rows(
        [ticket], bulk_numbers=None, ticked=set(), tickets_name="", page_name=""
    )

    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;" in html
    assert f'<a href="/desk/tickets/{ticket.number}/">' in html
    assert '<span class="tag">billing</span>' in html
    assert f'<span class="badge status-{ticket.status}">New</span>' in html
    assert 'class="pick"' not in html


def test_ticks_only_for_tickets_the_agent_may_change(agent, acme_customer):
    mine = make_ticket(acme_customer, subject="Mine")
    other = make_ticket(acme_customer, subject="Not mine")
    tickets = list(type(mine).objects.for_inbox().order_by("pk"))

    html = inbox_rows(
        tickets,
        bulk_numbers={mine.number},
        ticked={mine.number},
        tickets_name="bulk-tickets",
        page_name="bulk-page",
    )

    assert (
        f'<input type="checkbox" name="bulk-tickets" value="{mine.number}" '
        f'aria-label="Tick #{mine.number}" checked>'
    ) in html
    assert f'value="{other.number}" aria-label' not in html
    assert html.count('<td class="pick">') == 2
