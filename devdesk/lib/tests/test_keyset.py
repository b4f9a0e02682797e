from datetime import timedelta

import pytest
from django.utils import timezone

from devdesk.lib.keyset import InvalidCursor, paginate
from devdesk.tickets.models import Ticket
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(acme_customer):
    base = timezone.now()
    # Two tickets share each timestamp so the id tie-breaker matters.
    return [
        make_ticket(
            acme_customer, subject=f"T{i}", updated_at=base - timedelta(minutes=i // 2)
        )
        for i in range(7)
    ]


def walk(ordering, size):
    seen, cursor = [], None
    while True:
        page = paginate(
            Ticket.objects.all(), ordering=ordering, cursor=cursor, size=size
        )
        seen.extend(t.pk for t in page.items)
        if not page.next_cursor:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize(
    "ordering",
    [["-updated_at", "-id"], ["updated_at", "id"], ["-priority", "-updated_at", "-id"]],
)
@pytest.mark.parametrize("size", [1, 2, 3, 10])
def test_walking_forward_visits_every_row_once_in_order(tickets, ordering, size):
    expected = list(Ticket.objects.order_by(*ordering).values_list("pk", flat=True))
    assert walk(ordering, size) == expected


def test_previous_cursor_returns_the_page_before(tickets):
    ordering = ["-updated_at", "-id"]
    first = paginate(Ticket.objects.all(), ordering=ordering, cursor=None, size=3)
    second = paginate(
        Ticket.objects.all(), ordering=ordering, cursor=first.next_cursor, size=3
    )
    assert first.previous_cursor is None
    back = paginate(
        Ticket.objects.all(), ordering=ordering, cursor=second.previous_cursor, size=3
    )
    assert [t.pk for t in back.items] == [t.pk for t in first.items]


@pytest.mark.parametrize("cursor", ["garbage", "eyJ2IjogWzFdLCAiYiI6IGZhbHNlfQ", "e30"])
def test_tampered_cursor_is_refused(tickets, cursor):
    with pytest.raises(InvalidCursor):
        paginate(
            Ticket.objects.all(), ordering=["-updated_at", "-id"], cursor=cursor, size=3
        )


def test_a_later_page_bounds_the_first_column_for_the_index(tickets):
    # "a < x OR (a = x AND id < y)" alone made SQLite scan another table; the
    # redundant "a <= x" lets both databases read the sort index from the bound.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ordering = ["-updated_at", "-id"]
    first = paginate(Ticket.objects.all(), ordering=ordering, cursor=None, size=2)
    with CaptureQueriesContext(connection) as queries:
        second = paginate(
            Ticket.objects.all(), ordering=ordering, cursor=first.next_cursor, size=2
        )
    assert '"tickets_ticket"."updated_at" <=' in queries[-1]["sql"]
    assert not {t.pk for t in first.items} & {t.pk for t in second.items}
