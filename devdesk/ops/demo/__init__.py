"""The demo desk: Skyforge, a vendor of a payments API and its SDKs, with its support
team, two engineering teams, a certified partner, ten customer organizations and a
few hundred tickets with real-looking developer conversations.

Everything is written through the services the web UI and the API use
(``intake.submit``, ``add_message``, ``escalate_ticket``, ``merge_tickets`` …), so
the event log is real. The passwords and the API token are public, which is why
``devdesk demo`` refuses to run with DEBUG off unless forced.

- :func:`load_demo` writes it (callers check :func:`demo_exists` first);
- :func:`remove_demo` deletes it again;
- :func:`welcome_text` is what the command prints: URL, logins, token, a curl line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.test.utils import override_settings
from django.utils import timezone

from devdesk.accounts.models import ApiToken, Organization, Team, User, hash_token
from devdesk.ops.demo.content import load_cast, load_conversations
from devdesk.ops.demo.escalation import remove_escalations, write_escalations
from devdesk.ops.demo.mail import remove_mail, write_mail
from devdesk.ops.demo.rules import remove_rules, write_rules
from devdesk.ops.demo.sla import remove_sla, write_sla
from devdesk.ops.demo.triage_cooldown import write_triage_cooldown
from devdesk.ops.demo.triage_scoring import (
    remove_triage_scoring,
    write_triage_scoring,
)
from devdesk.ops.demo.writer import STORY_TAGS, DemoWriter
from devdesk.tickets.models import Attachment, Macro, Message, Product, Tag, Ticket

DEFAULT_SEED = 2025
DEFAULT_TICKETS = 300
DEMO_PASSWORD = "skyforge-demo"  # noqa: S105 - public on purpose, like the token
# Only the token's hash is stored, as for every token; the raw value is fixed so the
# token printed by `devdesk demo` (and shown in the README) keeps working after the
# demo is loaded again.
DEMO_TOKEN = "dd_demo_agent_token_skyforge_priya"  # noqa: S105
DEMO_TOKEN_NAME = "Demo token (public: printed by devdesk demo)"  # noqa: S105
# While loading, tasks go nowhere: nobody should get mail about invented history.
# django-tasks rebuilds its backends when the TASKS setting changes.
NO_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@dataclass
class Summary:
    tickets: int = 0
    messages: int = 0
    seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)


def demo_exists() -> bool:
    vendor = load_cast().vendor
    return Organization.objects.filter(slug=vendor.slug, kind=vendor.kind).exists()


def load_demo(*, seed: int = DEFAULT_SEED, tickets: int = DEFAULT_TICKETS) -> Summary:
    """Write the demo desk in one transaction and return what was written.

    No notification is sent or enqueued: tasks go to a dummy backend while loading
    and every message is marked notified, since its "mail" went out in the past.
    """
    started = time.monotonic()
    cast = load_cast()
    with override_settings(TASKS=NO_TASKS), transaction.atomic():
        writer = DemoWriter(cast, load_conversations(), seed=seed, now=timezone.now())
        writer.write_cast(password=DEMO_PASSWORD)
        writer.write_tickets(tickets)
        write_mail(cast)
        write_escalations(cast, now=writer.now)
        # After the commit and after the ticket events' own subscribers, so the
        # SLA clocks start from the finished history instead of replaying it.
        transaction.on_commit(lambda: write_sla(now=timezone.now()))
        write_triage_cooldown(User.objects.get(email=cast.token_owner), writer.now)
        write_triage_scoring(now=writer.now, seed=seed)
        ensure_demo_token()
    # Rules after the tickets' commit: the rules subscriber has seen their events
    # with no rules yet, and the demo's rules act on the open tickets only.
    with override_settings(TASKS=NO_TASKS), transaction.atomic():
        write_rules(cast)
    demo_tickets = Ticket.objects.filter(
        organization__slug__in=[o.slug for o in cast.customers]
    )
    return Summary(
        tickets=demo_tickets.count(),
        messages=Message.objects.filter(ticket__in=demo_tickets).count(),
        seconds=time.monotonic() - started,
        statuses={
            s: demo_tickets.filter(status=s).count() for s in Ticket.Status.values
        },
    )


def ensure_demo_token() -> ApiToken:
    """The demo agent's token with its fixed raw value; created when missing, left
    alone (even if revoked) when present."""
    token, _ = ApiToken.objects.get_or_create(
        key_hash=hash_token(DEMO_TOKEN),
        defaults={
            "user": User.objects.get(email=load_cast().token_owner),
            "name": DEMO_TOKEN_NAME,
            "key_prefix": DEMO_TOKEN[:8],
        },
    )
    return token


def demo_token_revoked() -> bool:
    return ApiToken.objects.filter(
        key_hash=hash_token(DEMO_TOKEN), revoked_at__isnull=False
    ).exists()


def remove_demo() -> int:
    """Delete the demo's organizations with their people and tickets, its teams and
    macros, and its products and tags unless other tickets use them.

    Returns how many tickets were deleted. Attachment files go after the commit.
    """
    cast, conversations = load_cast(), load_conversations()
    with transaction.atomic():
        orgs = Organization.objects.filter(
            slug__in=[o.slug for o in cast.organizations]
        )
        users = User.objects.filter(organization__in=orgs)
        tickets = Ticket.objects.filter(
            Q(organization__in=orgs) | Q(requester__in=users)
        )
        files = [a.file for a in Attachment.objects.filter(message__ticket__in=tickets)]
        count = tickets.count()
        remove_mail(cast)
        remove_rules(cast)
        remove_triage_scoring()
        tickets.delete()
        remove_escalations(users)
        remove_sla()
        users.delete()
        Team.objects.filter(slug__in=[t[1] for t in cast.teams]).delete()
        Macro.objects.filter(name__in=[m.name for m in cast.macros]).delete()
        Product.objects.filter(
            slug__in=[p[1] for p in cast.products], tickets__isnull=True
        ).delete()
        tags = {t for s in conversations.scenarios for t in s.tags} | set(STORY_TAGS)
        tags |= {t for m in cast.macros for t in m.add_tags.split(",") if t}
        Tag.objects.filter(name__in=tags, tickets__isnull=True).delete()
        orgs.delete()

        def delete_files() -> None:
            for file in files:
                file.delete(save=False)

        transaction.on_commit(delete_files)
    return count


def welcome_text(*, port: int | str, token_revoked: bool = False) -> str:
    """Where to go, who to sign in as, and the API token with a ready curl line."""
    cast = load_cast()
    url = f"http://127.0.0.1:{port}"
    width = max(len(email) for _, email, _ in cast.logins)
    revoked = (
        "  (revoked: `devdesk demo --reset` makes a new demo)" if token_revoked else ""
    )
    return "\n".join(
        [
            "",
            f"devdesk demo desk: {url}",
            "",
            f"Sign in (every demo password is {DEMO_PASSWORD}):",
            *(
                f"  {what:<14} {email:<{width}}  {note}"
                for what, email, note in cast.logins
            ),
            "",
            f"API token of {cast.token_owner} (public demo token):",
            f"  {DEMO_TOKEN}{revoked}",
            "Try it:",
            f'  curl -H "Authorization: Bearer {DEMO_TOKEN}" {url}/api/tickets',
            f"  schema: {url}/api/openapi.json",
            "",
        ]
    )
