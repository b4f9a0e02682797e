"""Telling database failures apart."""

from __future__ import annotations

from psycopg.errors import QueryCanceled


def is_query_timeout(exc: BaseException) -> bool:
    """True when PostgreSQL cancelled the query (``statement_timeout``).

    Django wraps psycopg's ``QueryCanceled`` in its ``OperationalError``; the original
    is the ``__cause__``.
    """
    return isinstance(exc, QueryCanceled) or isinstance(exc.__cause__, QueryCanceled)
