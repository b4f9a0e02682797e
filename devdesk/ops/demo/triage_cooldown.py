"""Demo of scope and cool-down: the catalog (what each plan covers, what is not
supported), an out-of-scope ticket answered with the polite decline, a burst of
mail folded into one ticket in cool-down, and an angry message."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.test.utils import override_settings

from devdesk.accounts.models import Organization, User
from devdesk.intake.services import submit
from devdesk.tickets.models import Message, Product, Ticket
from devdesk.tickets.services import NewTicket, add_message
from devdesk.triage import cooldown, scope
from devdesk.triage.models import PlanCoverage, ScopeArea

# plan -> product slugs it covers (every version unless listed); community: none.
COVERAGE = {
    "enterprise": "*",
    "insurance": "*",
    "per-incident": "payments-api webhooks python-sdk node-sdk go-sdk cli dashboard",
}
VERSIONS = {
    "python-sdk": "6.x, 7.x",
    "node-sdk": "5.x",
    "go-sdk": "v2",
    "gateway": "3.x",
}
NOT_SUPPORTED = [
    (
        "Other vendors' hosting",
        "other-hosting",
        "set-up, limits and billing of hosting from other vendors (AWS, Heroku, "
        "Vercel, Netlify, cPanel hosts)",
        "your hosting provider's support or status page; for calls to our API from "
        "their platform, we gladly help once you have a request ID.",
        "cpanel\nelastic beanstalk\nheroku dyno",
    ),
    (
        "Your own server set-up",
        "own-server",
        "the set-up of your own servers (web servers, firewalls, certificates, "
        "databases, Kubernetes clusters)",
        "your operations team, or the communities around nginx, Kubernetes and "
        "Let's Encrypt.",
        "certbot\nufw\nsshd_config",
    ),
    (
        "Products we don't sell",
        "unsold-product",
        "products Skyforge does not make (Java, PHP, .NET, Ruby and mobile SDKs, "
        "shop plugins, card terminals)",
        "the community libraries listed at https://docs.skyforge.example/libraries "
        "(not maintained by us) or our REST API directly.",
        "woocommerce\nmagento\nnuget",
    ),
    (
        "General programming",
        "general-programming",
        "general programming questions not about our API or SDKs",
        "Stack Overflow, or your framework's own community.",
        "",
    ),
]


def write_catalog() -> None:
    products = {p.slug: p for p in Product.objects.all()}
    for plan, covered in COVERAGE.items():
        slugs = products if covered == "*" else covered.split()
        for slug in slugs:
            if slug in products:
                PlanCoverage.objects.get_or_create(
                    plan=plan,
                    product=products[slug],
                    defaults={"versions": VERSIONS.get(slug, "")},
                )
    for name, slug, description, where, phrases in NOT_SUPPORTED:
        ScopeArea.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "kind": ScopeArea.Kind.NOT_SUPPORTED,
                "description": description,
                "where_instead": where,
                "phrases": phrases,
            },
        )
    scope.decline_macro()


def customer_of(slug: str) -> User:
    organization = Organization.objects.get(slug=slug)
    return organization.members.filter(
        role=User.Role.CUSTOMER, is_active=True
    ).order_by("pk")[0]


def write_out_of_scope(agent: User, now: datetime) -> Ticket:
    requester = customer_of("tidepool")
    ticket = submit(
        NewTicket(
            requester=requester,
            subject="Heroku dyno keeps restarting (R14)",
            body="Our Heroku web dyno restarts every few hours with R14 memory quota "
            "exceeded. How do we configure the dyno size and swap?",
            created_at=now - timedelta(hours=3),
        ),
        acting_user=requester,
        fold_bursts=False,
    ).ticket
    scope.check_new_ticket(ticket)
    ticket.refresh_from_db()
    scope.decline(ticket, acting_user=agent)
    # An out-of-scope ticket flagged, not yet answered: the one-click decline waits.
    other = submit(
        NewTicket(
            requester=requester,
            subject="WooCommerce plugin install",
            body="How do we install the Skyforge WooCommerce plugin on our shop?",
            created_at=now - timedelta(hours=2),
        ),
        acting_user=requester,
        fold_bursts=False,
    ).ticket
    scope.check_new_ticket(other)
    return ticket


BURST = [
    ("Payouts missing", "Yesterday's payout never arrived in our bank account."),
    ("Payouts STILL missing", "Any update? Our finance team is asking."),
    ("Hello??", "Is anyone reading this? We need the money today."),
    ("URGENT payouts", "WHY IS NOBODY ANSWERING. THIS IS UNACCEPTABLE!!!"),
    (
        "Fourth e-mail",
        "This is ridiculous. Terrible service, we are furious and will cancel!!!",
    ),
]


def write_burst(now: datetime) -> Ticket:
    """Five e-mails in twenty minutes: one ticket, in cool-down (the last one angry
    too). The after-commit check holds it; holding here too would only extend it."""
    requester = customer_of("brightline")
    ticket: Ticket | None = None
    # The demo shows folding even where it is turned off (COOLDOWN_BURST_MINUTES=0).
    folding = override_settings(COOLDOWN_BURST_MINUTES=30)
    for minutes, (subject, body) in zip((25, 20, 14, 9, 5), BURST, strict=True):
        with folding:
            ticket = submit(
                NewTicket(
                    requester=requester,
                    subject=subject,
                    body=body,
                    channel=Ticket.Channel.EMAIL,
                    created_at=now - timedelta(minutes=minutes),
                ),
                acting_user=None,
            ).ticket
    assert ticket is not None  # noqa: S101 - BURST is not empty
    cooldown.hold(
        ticket,
        reason=f"burst: {len(BURST)} messages in 30 minutes; angry message",
        until=now + timedelta(hours=4),
        now=now,
    )
    return ticket


def write_angry(now: datetime) -> Ticket:
    requester = customer_of("kestrel-games")
    ticket = submit(
        NewTicket(
            requester=requester,
            subject="Refund API returns 400 again",
            body="Partial refunds fail with charge_already_refunded. Request req_7Q.",
            created_at=now - timedelta(hours=1),
        ),
        acting_user=requester,
        fold_bursts=False,
    ).ticket
    message = add_message(
        ticket,
        author=requester,
        body="Three days and NO ANSWER. Your support is useless and I am furious!!!",
        created_at=now - timedelta(minutes=30),
    )
    cooldown.note_message(message, now=now)
    return ticket


def write_triage_cooldown(agent: User, now: datetime) -> None:
    write_catalog()
    tickets = [write_out_of_scope(agent, now), write_burst(now), write_angry(now)]
    # Their "mail" went out in the past, like the rest of the demo's.
    Message.objects.filter(ticket__in=tickets, notified_at__isnull=True).update(
        notified_at=now
    )
