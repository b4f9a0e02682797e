"""People typed into a box: found by e-mail, name or id, suggested while typing.

A desk with hundreds of agents and customer organizations of hundreds of people
cannot list them all in a ``<select>`` on every page: the inbox and the ticket page
then cost what the desk holds, not what they show. Owner, assignee, followers and
the inbox's assignee filter are boxes instead; as the agent types, htmx asks
:func:`devdesk.tickets.views.desk.people_suggest` for a few matches.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from devdesk.accounts.models import User
from devdesk.lib.ids import as_id

SUGGESTIONS = 10


class PersonNotFound(ValueError):
    """No one (or more than one person) in the list answers to what was typed."""


def find_person(people: QuerySet[User], text: str) -> User:
    """The one person of ``people`` that ``text`` names: an id, an e-mail address
    (any case) or a full name (any case, and only if no one else has it)."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        pk = as_id(text)
        found = list(people.filter(pk=pk)[:1]) if pk is not None else []
    elif "@" in text:
        found = list(people.filter(email__iexact=text)[:1])
    else:
        found = list(people.filter(name__iexact=text)[:2])
        if len(found) > 1:
            raise PersonNotFound(
                f"Several people are called {text[:60]!r}; type their e-mail address."
            )
    if not found:
        raise PersonNotFound(f"No one called {text[:60]!r} can be chosen here.")
    return found[0]


def suggest(people: QuerySet[User], text: str) -> list[User]:
    """A few of ``people`` whose name or e-mail contains ``text``, those starting
    with it first."""
    text = text.strip()
    if not text:
        return []
    matches = people.filter(Q(name__icontains=text) | Q(email__icontains=text))
    starting = list(
        matches.filter(Q(name__istartswith=text) | Q(email__istartswith=text))
        .only(*User.NAME_FIELDS)
        .order_by("name", "email")[:SUGGESTIONS]
    )
    if len(starting) == SUGGESTIONS:
        return starting
    rest = (
        matches.exclude(pk__in=[p.pk for p in starting])
        .only(*User.NAME_FIELDS)
        .order_by("name", "email")[: SUGGESTIONS - len(starting)]
    )
    return [*starting, *rest]
