"""Keyword search over tickets, one interface for SQLite (FTS5) and PostgreSQL
(tsvector + GIN).

- :func:`devdesk.search.services.match_tickets` narrows a ticket queryset (the
  caller's ``access.visible_tickets(user)``) to the tickets that match what was
  typed; the inbox, the portal list and the API list call it for ``q``.
- :mod:`devdesk.search.query` reads the search-box syntax once for both databases.
- :mod:`devdesk.search.backends` holds the two indexes and their triggers.
- ``devdesk search-reindex`` rebuilds the whole index with set-based SQL.

Why database triggers keep the index, not calls from the ticket services:

1. Transactional by nature: the index row changes in the same transaction as the
   ticket or message, and a rollback undoes both.
2. Nothing escapes them. Merge, split and undo-merge move messages with a queryset
   ``.update()``, which sends no signal and calls no service; bulk loaders insert
   rows directly. A trigger sees every one, and a call in the services would have
   to be remembered in each of them.
3. The dependency stays one-way at the code level: ``tickets`` never calls search to
   keep it up to date; search knows the tickets tables by name only (in its SQL and
   its migration). The read side is the other way round, as the style guide puts
   search below tickets: the inbox and the portal call :func:`match_tickets`, which
   imports nothing from ``tickets``.

What it costs: each write to a ticket's subject or conversation recomputes that
ticket's document (tokenizing its text) inside the writer's transaction, which is
nothing for a person replying and a lot for a bulk load: ``seed-load`` runs about
2-3 times slower with the triggers on. A bulk loader should therefore pause them for
its own transactions (:func:`devdesk.search.services.sync_paused`) or set them
aside, and run ``devdesk search-reindex`` once at the end, which builds the index
far faster in one set-based pass. ``seed-load`` into a fresh SQLite database does
so; on PostgreSQL it keeps the triggers on and writes messages before their tickets,
so each document is built once, overlapping with the next batch's generation. On
SQLite, Django changes a column by copying the table, which drops that table's
triggers; ``search-reindex`` puts them back (and says so).
"""
