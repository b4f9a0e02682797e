"""The two search backends, one module per database vendor, with the same functions."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet

from devdesk.search.backends import postgresql, sqlite
from devdesk.search.query import SearchQuery

Q = TypeVar("Q", bound=QuerySet[Any])


class Backend(Protocol):
    """What each backend module provides."""

    def install(self, cursor: Any) -> None:
        """Create the index and its triggers; safe to run again."""

    def uninstall(self, cursor: Any) -> None: ...

    def rebuild(self, cursor: Any) -> int:
        """Rebuild the whole index, set-based; returns how many tickets it holds."""

    def pause_sync(self, cursor: Any) -> None:
        """Stop the triggers for the current transaction (until resumed)."""

    def resume_sync(self, cursor: Any) -> None: ...

    def missing_triggers(self, cursor: Any) -> list[str]: ...

    def match_sql(
        self, query: SearchQuery, *, include_internal: bool
    ) -> tuple[str, list[Any]]:
        """SQL selecting the ids of the tickets that match, and its parameters."""

    def first_matches(
        self, cursor: Any, query: SearchQuery, *, include_internal: bool, limit: int
    ) -> list[int]:
        """Ids of up to ``limit`` matching tickets, read from the index only."""

    def estimated_matches(
        self, cursor: Any, query: SearchQuery, *, include_internal: bool
    ) -> int | None:
        """How many tickets match, as the database estimates it without reading
        them (``None``: no estimate)."""

    def few_matches(self, cursor: Any) -> int:
        """Up to how many matches narrowing by id beats walking the sort index."""

    def narrow_to_few(self, tickets: Q, ids: list[int]) -> Q:
        """``tickets`` limited to these ids."""

    def narrow_to_many(self, tickets: Q, sql: str, params: list[Any]) -> Q:
        """``tickets`` limited to the ids ``sql`` selects, in the plan that suits a
        large number of matches (walk the sort index, test each ticket)."""

    def snapshot(self, cursor: Any) -> list[tuple[Any, ...]]:
        """What the index holds, ticket by ticket (to compare two builds)."""


BACKENDS: dict[str, Backend] = {"postgresql": postgresql, "sqlite": sqlite}


def backend_for(connection: BaseDatabaseWrapper) -> Backend:
    """The backend for ``connection``'s vendor."""
    try:
        return BACKENDS[connection.vendor]
    except KeyError:
        raise ImproperlyConfigured(
            f"Search supports SQLite and PostgreSQL, not {connection.vendor}."
        ) from None
