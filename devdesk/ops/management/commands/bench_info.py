"""``devdesk bench-info``: what the benchmark harness needs to know about a loaded desk.

Prints one JSON object: who to sign in as (an agent, a customer of the largest
organization, both with the seed-load password), an API token for the agent, the
ticket with the longest conversation, a product to filter by, and the cursor of a
deep inbox page. Run it on a database filled by ``devdesk seed-load``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from devdesk.accounts.models import ApiToken, User
from devdesk.accounts.services import create_api_token
from devdesk.ops.guards import refuse_on_real_installation
from devdesk.ops.seedload.defaults import LOAD_PASSWORD
from devdesk.tickets import inbox
from devdesk.tickets.models import Message, Ticket

TOKEN_NAME = "benchmark"  # noqa: S105 - the name of a token, not a secret


class Command(BaseCommand):
    help = (
        "Print, as JSON, the people, token, tickets and page cursors the benchmark "
        "harness uses on a database filled by seed-load."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--deep-page",
            type=int,
            default=200,
            help="Which page of the 'All' inbox view counts as deep (default 200).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (it creates an API token for an agent).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        refuse_on_real_installation(
            force=options["force"],
            why="It creates an API token and prints it",
        )
        agent = (
            User.objects.filter(role=User.Role.AGENT, is_active=True)
            .order_by("pk")
            .first()
        )
        largest = (
            Ticket.objects.values("organization_id")
            .annotate(n=Count("id"))
            .order_by("-n", "organization_id")
            .first()
        )
        if agent is None or largest is None:
            raise CommandError("No agent or no tickets: run `devdesk seed-load` first.")
        customer = (
            User.objects.filter(
                role=User.Role.CUSTOMER, organization_id=largest["organization_id"]
            )
            .order_by("pk")
            .first()
        )
        longest = (
            Message.objects.values("ticket__number")
            .annotate(n=Count("id"))
            .order_by("-n", "ticket__number")
            .first()
        )
        product = (
            Ticket.objects.exclude(product=None)
            .values("product_id")
            .annotate(n=Count("id"))
            .order_by("-n", "product_id")
            .first()
        )
        ApiToken.objects.filter(user=agent, name=TOKEN_NAME).delete()
        _, token = create_api_token(agent, name=TOKEN_NAME)
        info = {
            "password": LOAD_PASSWORD,
            "agent": agent.email,
            "customer": customer.email if customer else None,
            "api_token": token,
            "long_ticket": longest["ticket__number"] if longest else None,
            "long_ticket_messages": longest["n"] if longest else 0,
            "product_id": product["product_id"] if product else None,
            "deep_cursor": self._deep_cursor(agent, options["deep_page"]),
            "tickets": Ticket.objects.count(),
        }
        self.stdout.write(json.dumps(info))

    def _deep_cursor(self, agent: User, pages: int) -> str | None:
        """The cursor that opens page ``pages`` of the 'All' view, found by walking."""
        cursor = None
        for _ in range(pages - 1):
            page = inbox.inbox_page(
                agent, view="all", cursor=cursor, size=settings.INBOX_PAGE_SIZE
            )
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return cursor
