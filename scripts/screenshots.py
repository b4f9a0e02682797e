"""Screenshots of devdesk's main pages, for docs/screenshots/ (run by scripts/screenshots).

Usage: screenshots.py BASE_URL OUT_DIR. Reads the demo desk's database (same
DEVDESK_DATA_DIR as the server) to pick tickets worth showing, then signs in as the
demo personas in Debian's Chromium and saves full-page PNGs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django

PASSWORD = "skyforge-demo"  # noqa: S105 - the demo desk's public password
AGENT = "priya@skyforge.example"
CUSTOMER = "carla@acme-robotics.example"
ENGINEER = "jonas@skyforge.example"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pick_tickets() -> dict[str, int]:
    """Ticket numbers worth a picture, chosen from the demo data (not hard-coded)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "devdesk.settings")
    django.setup()
    from django.db.models import Count, Q

    from devdesk.tickets.models import Message, Ticket

    unresolved = Ticket.objects.exclude(status=Ticket.Status.CLOSED).filter(
        merged_into__isnull=True
    )
    by_length = unresolved.annotate(
        n=Count("messages", distinct=True),
        notes=Count(
            "messages",
            filter=Q(messages__kind=Message.Kind.INTERNAL),
            distinct=True,
        ),
    ).order_by("-n", "-number")
    long_ticket = by_length.filter(notes__gt=0).first()
    portal_ticket = by_length.filter(
        organization__members__email=CUSTOMER, status__in=Ticket.UNRESOLVED_STATUSES
    ).first()
    # Merge: the newest unresolved ticket into an older one of the same organization.
    source = target = None
    for candidate in unresolved.filter(status__in=Ticket.UNRESOLVED_STATUSES).order_by(
        "-number"
    ):
        target = (
            unresolved.filter(
                organization=candidate.organization,
                status__in=Ticket.UNRESOLVED_STATUSES,
                number__lt=candidate.number,
            )
            .order_by("-number")
            .first()
        )
        if target:
            source = candidate
            break
    if not (long_ticket and portal_ticket and source and target):
        raise SystemExit(
            "The demo desk lacks the tickets to photograph; run devdesk demo."
        )
    return {
        "long": long_ticket.number,
        "portal": portal_ticket.number,
        "merge_source": source.number,
        "merge_target": target.number,
    }


def main(base: str, out: Path) -> None:
    tickets = pick_tickets()
    from playwright.sync_api import Browser, Page, sync_playwright

    out.mkdir(parents=True, exist_ok=True)

    def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
        page.wait_for_load_state("networkidle")
        page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top
        page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)
        print(f"  {name}.png  {page.url.removeprefix(base)}")  # noqa: T201

    def signed_in(browser: Browser, email: str, viewport: dict[str, int]) -> Page:
        page = browser.new_context(viewport=viewport).new_page()  # type: ignore[arg-type]
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", email)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_context(viewport=DESKTOP).new_page()  # type: ignore[arg-type]
        page.goto(f"{base}/accounts/login/")
        shoot(page, "login")

        # The agent desk.
        page = signed_in(browser, AGENT, DESKTOP)
        page.goto(f"{base}/desk/?view=open")
        shoot(page, "desk-inbox")
        # Bulk actions: three rows ticked (one from the keyboard), the bar floats at
        # the bottom of the window, so this picture is the window only.
        for box in page.locator("input[name=bulk-tickets]").all()[1:3]:
            box.check()
        page.keyboard.press("j")
        page.keyboard.press("x")
        page.select_option("#id_bulk-assignee", label="Me")
        shoot(page, "desk-inbox-bulk", full_page=False)
        page.select_option("#id_sort", "priority")
        page.select_option("#id_product", label="Payments API")
        page.click("form.filters button")
        page.wait_for_url("**sort=priority**")
        shoot(page, "desk-inbox-by-priority")
        page.goto(f"{base}/desk/tickets/{tickets['long']}/")
        page.click("#composer [data-compose=internal]")
        shoot(page, "desk-ticket")
        source, target = tickets["merge_source"], tickets["merge_target"]
        page.goto(f"{base}/desk/tickets/{source}/merge/?target={target}")
        shoot(page, "desk-merge")
        page.goto(f"{base}/desk/new/")
        shoot(page, "desk-new-ticket")
        page.goto(f"{base}/accounts/settings/")
        shoot(page, "settings-api-tokens")
        page.goto(f"{base}/desk/tickets/999999/")
        shoot(page, "not-found")

        # An engineer sees what was escalated to their team.
        page = signed_in(browser, ENGINEER, DESKTOP)
        page.goto(f"{base}/desk/")
        shoot(page, "desk-inbox-engineer")

        # The customer portal.
        page = signed_in(browser, CUSTOMER, DESKTOP)
        page.goto(f"{base}/portal/")
        shoot(page, "portal-tickets")
        page.goto(f"{base}/portal/tickets/{tickets['portal']}/")
        shoot(page, "portal-ticket")
        page.goto(f"{base}/portal/tickets/new/")
        page.fill("#id_subject", "Webhook retries stop after a deploy")
        page.click("form.card button[type=submit]")
        page.wait_for_selector(".form-errors")
        shoot(page, "portal-new-ticket-error")

        # Phones.
        page = signed_in(browser, AGENT, PHONE)
        page.goto(f"{base}/desk/?view=open")
        shoot(page, "phone-desk-inbox")
        page.goto(f"{base}/desk/tickets/{tickets['long']}/")
        shoot(page, "phone-desk-ticket")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), Path(sys.argv[2]))
