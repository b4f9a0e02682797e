"""The requests behind each benchmark workload, as django-helpdesk's pages make them.

helpdesk's ticket list (``/tickets/``) is an empty table; DataTables then asks
``/datatables_ticket_list/<query>`` for the rows, where ``<query>`` is the
base64 of the JSON filter the list view builds (``staff.ticket_list``:
``query_to_base64(query_params)``) and the query string is what DataTables 3
sends for a server-side table (``ajaxParameters`` in its vendored
``dataTables.js``): the draw counter, every column's settings, ``start``,
``length`` (``data-page-length``: the user's 25 tickets per page) and the empty
global search. The one thing a browser adds and this leaves out is ``_=<epoch
ms>``, jQuery-style cache busting that the server ignores.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from importlib.metadata import version
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count
from helpdesk.models import FollowUp, Ticket

from peersite import bench

ROWS_PER_PAGE = 25  # helpdesk's default tickets_per_page, the table's page length
# The table's columns in ticket_list.html, with time spent and KB item on by default.
COLUMNS = (
    "id",
    "ticket",
    "priority",
    "queue",
    "status",
    "created",
    "due_date",
    "assigned_to",
    "submitter",
    "last_followup",
    "time_spent",
    "kbitem",
)
ALL_STATUSES = [status for status, _label in Ticket.STATUS_CHOICES]
# The header search box's hidden fields: open, reopened and resolved tickets.
HEADER_SEARCH_STATUSES = [
    Ticket.OPEN_STATUS,
    Ticket.REOPENED_STATUS,
    Ticket.RESOLVED_STATUS,
]
# Common words of 6+ letters that say nothing about a ticket.
STOPWORDS = frozenset(
    {"before", "between", "cannot", "should", "things", "through", "within", "without"}
)

Request = dict[str, Any]


def build_info(
    *, keyword: str | None, deep_page: int, rare_keyword: str | None = None
) -> dict[str, Any]:
    keyword = keyword or pick_keyword()
    default_list = {
        # The list view's fallback when no filter is in the URL: open and reopened.
        "filtering": {"status__in": list(Ticket.OPEN_STATUSES)},
        "sorting": "created",
        "search_string": "",
        "sortreverse": False,
    }
    workloads: dict[str, list[Request]] = {
        "dashboard": [get("/dashboard/")],
        "list_page": [get("/tickets/")],
        "list_rows": [get(rows_path(default_list, start=0))],
        "search_page": [get(search_page_path(keyword))],
        "search_rows": [get(rows_path(search_query(keyword), start=0))],
    }
    if rare_keyword:
        workloads["search_rare_page"] = [get(search_page_path(rare_keyword))]
        workloads["search_rare_rows"] = [
            get(rows_path(search_query(rare_keyword), start=0))
        ]
    workloads["deep_rows"] = [
        get(
            rows_path(
                filtered_query(ALL_STATUSES),
                start=(deep_page - 1) * ROWS_PER_PAGE,
            )
        )
    ]
    workloads["ticket_page"] = [get(f"/tickets/{longest_ticket_id()}/")]
    workloads["create"] = [create_request()]
    return {
        "version": version("django-helpdesk"),
        "login": {
            "path": bench.LOGIN_PATH,
            "username": bench.USERNAME,
            "password": bench.PASSWORD,
            "username_field": "username",
        },
        "keyword": keyword,
        "rare_keyword": rare_keyword,
        "workloads": workloads,
    }


def get(path: str) -> Request:
    return {"method": "GET", "path": path}


def filtered_query(statuses: list[int], keyword: str = "") -> dict[str, Any]:
    """The query the list view builds from ``?status=..&q=..`` (same key order)."""
    return {
        "filtering": {"status__in": list(statuses)},
        "filtering_null": {},
        "sorting": "created",
        "sortreverse": None,
        "search_string": keyword,
    }


def search_query(keyword: str) -> dict[str, Any]:
    return filtered_query(HEADER_SEARCH_STATUSES, keyword)


def search_page_path(keyword: str) -> str:
    """What the search box in helpdesk's header submits."""
    params = [("q", keyword)]
    params += [("status", str(status)) for status in HEADER_SEARCH_STATUSES]
    params.append(("search_type", "header"))
    return f"/tickets/?{urlencode(params)}"


def rows_path(query: dict[str, Any], *, start: int) -> str:
    encoded = base64.b64encode(json.dumps(query).encode()).decode("ascii")
    params: list[tuple[str, str]] = [("draw", "1")]
    for i, name in enumerate(COLUMNS):
        params += [
            (f"columns[{i}][data]", name),
            (f"columns[{i}][name]", ""),
            (f"columns[{i}][searchable]", "true"),
            # Only the checkbox column is declared orderable: false.
            (f"columns[{i}][orderable]", "false" if i == 0 else "true"),
            (f"columns[{i}][search][value]", ""),
            (f"columns[{i}][search][regex]", "false"),
        ]
    params += [
        ("start", str(start)),
        ("length", str(ROWS_PER_PAGE)),
        ("search[value]", ""),
        ("search[regex]", "false"),
    ]
    return f"/datatables_ticket_list/{encoded}?{urlencode(params)}"


def longest_ticket_id() -> int:
    """The ticket with the most follow-ups (devdesk's bench-info picks the same one)."""
    longest = (
        FollowUp.objects.values("ticket_id")
        .annotate(n=Count("id"))
        .order_by("-n", "ticket_id")
        .first()
    )
    if longest is not None:
        return int(longest["ticket_id"])
    first = Ticket.objects.order_by("id").values_list("id", flat=True).first()
    if first is None:
        raise LookupError("no tickets: run `peer seed` first")
    return int(first)


def create_request() -> Request:
    """The staff "New Ticket" form (``/tickets/submit/``) for the busiest queue.

    The harness adds ``csrfmiddlewaretoken`` and a unique ``title``; success is a
    302 to the new ticket.
    """
    busiest = (
        Ticket.objects.values("queue_id", "submitter_email")
        .annotate(n=Count("id"))
        .order_by("-n", "queue_id", "submitter_email")
        .first()
    )
    if busiest is None:
        raise LookupError("no tickets: run `peer seed` first")
    return {
        "method": "POST",
        "path": "/tickets/submit/",
        "form": {
            "queue": str(busiest["queue_id"]),
            "title": "Benchmark ticket",
            "body": (
                "Since this morning our webhook deliveries fail with a timeout.\n\n"
                "    curl -X POST https://api.example.com/v1/webhooks/test\n\n"
                "What changed on your side?"
            ),
            "priority": "3",  # helpdesk's "3. Normal", the form's default
            "due_date": "",
            "submitter_email": busiest["submitter_email"] or "",
            "assigned_to": "",
        },
    }


def pick_keyword() -> str:
    """The word (6+ letters) found in the most ticket titles: a search with many hits."""
    seen: Counter[str] = Counter()
    for title in Ticket.objects.values_list("title", flat=True).iterator(5000):
        words = {w.lower() for w in re.findall(r"[A-Za-z]{6,}", title)}
        seen.update(words - STOPWORDS)
    if not seen:
        raise LookupError("no ticket titles to pick a keyword from: pass --keyword")
    return min(seen.items(), key=lambda item: (-item[1], item[0]))[0]
