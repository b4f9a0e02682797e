"""Named personas for tests; each permission test says who does what to whom.

The vendor runs the desk; Acme and Globex are customer organizations; Polyglot is a
certified partner.
"""

from __future__ import annotations

import pytest
from django.test import Client

from devdesk.accounts.models import Organization, Team, User
from devdesk.accounts.tests.factories import (
    OrganizationFactory,
    TeamFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    cache.clear()  # sign-in and e-mail limits, and cached mailboxes, live there
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    # Tests open tickets for one customer seconds apart; folding them into one
    # (a burst) is what the triage tests turn back on, not what the others test.
    settings.COOLDOWN_BURST_MINUTES = 0
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


@pytest.fixture
def vendor(db) -> Organization:  # type: ignore[no-untyped-def]
    return OrganizationFactory(
        name="Skyforge", slug="skyforge", kind=Organization.Kind.VENDOR
    )


@pytest.fixture
def acme(db) -> Organization:  # type: ignore[no-untyped-def]
    return OrganizationFactory(name="Acme", slug="acme", domains="acme.test")


@pytest.fixture
def globex(db) -> Organization:  # type: ignore[no-untyped-def]
    return OrganizationFactory(name="Globex", slug="globex", domains="globex.test")


@pytest.fixture
def polyglot(db) -> Organization:  # type: ignore[no-untyped-def]
    return OrganizationFactory(
        name="Polyglot Partners", slug="polyglot", kind=Organization.Kind.PARTNER
    )


@pytest.fixture
def admin_user(vendor: Organization) -> User:
    return UserFactory(
        email="ada@skyforge.test",
        name="Ada Admin",
        role=User.Role.ADMIN,
        organization=vendor,
        is_staff=True,
        is_superuser=True,
    )


@pytest.fixture
def agent(vendor: Organization) -> User:
    return UserFactory(
        email="alex@skyforge.test",
        name="Alex Agent",
        role=User.Role.AGENT,
        organization=vendor,
    )


@pytest.fixture
def other_agent(vendor: Organization) -> User:
    return UserFactory(
        email="sam@skyforge.test",
        name="Sam Second",
        role=User.Role.AGENT,
        organization=vendor,
    )


@pytest.fixture
def engineering(db) -> Team:  # type: ignore[no-untyped-def]
    return TeamFactory(
        name="SDK Engineering", slug="sdk-eng", kind=Team.Kind.ENGINEERING
    )


@pytest.fixture
def engineer(vendor: Organization, engineering: Team) -> User:
    user = UserFactory(
        email="eve@skyforge.test",
        name="Eve Engineer",
        role=User.Role.ENGINEER,
        organization=vendor,
    )
    engineering.members.add(user)
    return user


@pytest.fixture
def partner_agent(polyglot: Organization) -> User:
    return UserFactory(
        email="pia@polyglot.test",
        name="Pia Partner",
        role=User.Role.PARTNER_AGENT,
        organization=polyglot,
    )


@pytest.fixture
def acme_customer(acme: Organization) -> User:
    return UserFactory(
        email="carol@acme.test",
        name="Carol Acme",
        role=User.Role.CUSTOMER,
        organization=acme,
    )


@pytest.fixture
def acme_colleague(acme: Organization) -> User:
    return UserFactory(
        email="dan@acme.test",
        name="Dan Acme",
        role=User.Role.CUSTOMER,
        organization=acme,
    )


@pytest.fixture
def globex_customer(globex: Organization) -> User:
    return UserFactory(
        email="gina@globex.test",
        name="Gina Globex",
        role=User.Role.CUSTOMER,
        organization=globex,
    )


@pytest.fixture
def login(client: Client):  # type: ignore[no-untyped-def]
    """``login(user)`` signs ``user`` into the test client and returns it."""

    def _login(user: User | None) -> Client:
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return _login


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    """Debian's Chromium driven by Playwright. Never skipped: scripts/test installs it."""
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made
    # by fixtures in the same thread are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def matrix_tickets(acme_customer, globex_customer, agent, engineering, polyglot):  # type: ignore[no-untyped-def]
    """Three tickets that tell the personas apart in permission matrices:
    Acme's plain one (with a public reply and an internal note), Acme's escalated to
    engineering, and Globex's routed to the Polyglot partner."""
    from devdesk.tickets.models import Message
    from devdesk.tickets.services import add_message, escalate_ticket
    from devdesk.tickets.tests.factories import make_ticket

    plain = make_ticket(acme_customer, subject="Acme plain")
    add_message(plain, author=agent, body="We are on it.")
    add_message(
        plain,
        author=agent,
        body="Customer is on the legacy SDK",
        kind=Message.Kind.INTERNAL,
    )
    escalated = make_ticket(acme_customer, subject="Acme escalated")
    escalate_ticket(escalated, team=engineering, note="Please look", acting_user=agent)
    partnered = make_ticket(
        globex_customer, subject="Globex via partner", partner_organization=polyglot
    )
    return {
        "acme_plain": plain,
        "acme_escalated": escalated,
        "globex_partnered": partnered,
    }
