"""A large, believable desk written with bulk inserts, for benchmarks (``devdesk seed-load``).

The demo desk goes through the services and takes seconds for a few hundred tickets;
this writes hundreds of thousands of tickets in minutes by inserting rows directly.
The rows are the ones the services would have written: sequential numbers taken from
the ``ticket`` counter, the first message from the requester, the event log
(``created``, ``message_added``, ``status_changed``, ``escalated``, ``tags_changed``
with the data shapes of :mod:`devdesk.tickets.services`), response and resolution
times that match the conversation, and every message marked notified so that no
worker mails invented history.

Two steps, so the output can be checked without a database:

1. :func:`shape_desk` and :func:`iter_ticket_plans` decide everything (organizations,
   people, every ticket and its conversation) from the seed alone, people being
   referred to by index;
2. :func:`seed_load` creates the organizations, people, teams, products and tags, then
   turns the plans into rows batch by batch (:mod:`.insert`), into a fresh database
   with indexes and constraints set aside until the end (:mod:`.set_aside`).

Texts come from real ticket text (the Apache JIRA set in ``shared/data``, cycled with
varied metadata), so search and similarity behave as on a real desk. That data is for
internal evaluation only; the texts built into this module are our own.
"""

from devdesk.ops.seedload.defaults import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SEED,
    LOAD_PASSWORD,
    default_source,
)
from devdesk.ops.seedload.plan import iter_ticket_plans, shape_desk
from devdesk.ops.seedload.texts import BUILTIN_TEXTS, load_texts, load_texts_or_builtin
from devdesk.ops.seedload.write import Summary, seed_load

__all__ = [
    "BUILTIN_TEXTS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_SEED",
    "LOAD_PASSWORD",
    "Summary",
    "default_source",
    "iter_ticket_plans",
    "load_texts",
    "load_texts_or_builtin",
    "seed_load",
    "shape_desk",
]
