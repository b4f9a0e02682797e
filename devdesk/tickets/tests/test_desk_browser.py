"""The desk in a real browser: keyboard shortcuts, the note switch, macro preview over
htmx, and the collision warning between two agents."""

import re

import pytest

from devdesk.tickets.models import Macro, Message
from devdesk.tickets.tests.factories import MacroFactory, make_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"  # the factories' password


@pytest.fixture(autouse=True)
def _serve_site_static(settings):
    # keys.js and the stylesheets live in devdesk/static, which settings do not list
    # in STATICFILES_DIRS yet; without it the live server answers 404 for them.
    settings.STATICFILES_DIRS = [settings.BASE_DIR / "static"]


def signed_in(chromium, base_url, user):
    page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_agent_works_a_ticket_from_the_keyboard(
    live_server, chromium, agent, acme_customer
):
    # given two open tickets, the newest on top
    make_ticket(acme_customer, subject="Older: rate limits")
    newest = make_ticket(acme_customer, subject="Newest: SDK throws 401")
    page = signed_in(chromium, live_server.url, agent)
    page.goto(f"{live_server.url}/desk/?view=all")

    # when the agent moves with j and opens with Enter
    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/desk/tickets/{newest.number}/")

    # then ? shows the shortcut help
    page.keyboard.press("?")
    assert page.is_visible("#keyhelp")
    page.keyboard.press("Escape")

    # and n switches the composer to a yellow internal note, ready to type
    page.keyboard.press("n")
    assert "is-internal" in page.get_attribute("#composer", "class")
    page.keyboard.type("Customer is on SDK 2.1; fixed in 2.2.")
    page.click("#composer button:has-text('Send')")
    page.wait_for_selector("text=Note added.")
    note = newest.messages.get(kind=Message.Kind.INTERNAL)
    assert note.body == "Customer is on SDK 2.1; fixed in 2.2."

    # and g goes back to the inbox
    with page.expect_navigation():
        page.keyboard.press("g")
    assert re.search(r"/desk/$", page.url)


def test_macro_preview_and_collision_warning(
    live_server, chromium, agent, other_agent, acme_customer
):
    ticket = make_ticket(acme_customer, subject="Webhook signature mismatch")
    macro = MacroFactory(
        name="Ask for logs",
        body="Hi {{ customer.first_name }}, please send the debug log.",
    )
    detail = f"{live_server.url}/desk/tickets/{ticket.number}/"

    # given Sam is typing a reply on the ticket
    sam = signed_in(chromium, live_server.url, other_agent)
    sam.goto(detail)
    sam.keyboard.press("r")
    sam.keyboard.type("Looking into it")

    # when Alex opens it, the next presence poll warns that Sam is replying
    alex = signed_in(chromium, live_server.url, agent)
    alex.goto(detail)
    alex.wait_for_selector("#presence >> text=Sam Second is replying")

    # and Alex picks a macro: the preview fills the composer, ready to edit and send
    alex.select_option("#macro-select", str(macro.pk))
    alex.wait_for_selector(".macro-summary")
    body = alex.input_value("#composer textarea[name=body]")
    assert body == "Hi Carol, please send the debug log."
    alex.fill("#composer textarea[name=body]", body + " Thanks!")
    alex.click("#composer button:has-text('Send')")
    alex.wait_for_selector("text=Reply sent.")
    assert ticket.messages.last().body == "Hi Carol, please send the debug log. Thanks!"
    assert Macro.objects.get(pk=macro.pk).usage_count == 1
