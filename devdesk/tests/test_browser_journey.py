"""End to end in a real browser: a customer opens a ticket in the portal, an agent
answers it from the inbox, and the customer sees the answer."""

import re

import pytest

from devdesk.tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"  # the factories' password


def sign_in(page, base_url, user):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_customer_opens_ticket_agent_replies_customer_sees_reply(
    live_server, browser_context, chromium, acme_customer, agent
):
    base = live_server.url

    # given a customer in the portal
    customer_page = browser_context.new_page()
    sign_in(customer_page, base, acme_customer)
    assert "/portal/" in customer_page.url

    # when they open a ticket
    customer_page.goto(f"{base}/portal/tickets/new/")
    customer_page.fill(
        "input[name=subject]", "Webhook signatures fail after key rotation"
    )
    customer_page.fill(
        "textarea[name=body]",
        "Since rotating the signing secret, every webhook fails with `invalid signature`.",
    )
    customer_page.click("button[type=submit]")
    customer_page.wait_for_url(re.compile(r".*/portal/tickets/\d+/$"))
    number = int(re.search(r"/tickets/(\d+)/", customer_page.url).group(1))
    ticket = Ticket.objects.get(number=number)
    assert ticket.channel == Ticket.Channel.PORTAL

    # then an agent finds it in the inbox and replies
    agent_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    agent_page = agent_context.new_page()
    sign_in(agent_page, base, agent)
    agent_page.goto(f"{base}/desk/")
    agent_page.click("text=Webhook signatures fail after key rotation")
    agent_page.wait_for_url(re.compile(rf".*/desk/tickets/{number}/$"))
    agent_page.fill(
        "#composer textarea[name=body]",
        "Both secrets stay valid for 24 hours after a rotation; verify against the new one first.",
    )
    agent_page.click("#composer button:has-text('Send')")
    agent_page.wait_for_selector("text=Both secrets stay valid for 24 hours")
    agent_context.close()

    # and the customer sees the answer
    customer_page.reload()
    assert customer_page.is_visible("text=Both secrets stay valid for 24 hours")
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
