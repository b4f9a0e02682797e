"""Outgoing escalation webhooks against a real HTTP receiver on loopback: signed
as documented, retried with exponential backoff, each attempt recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from devdesk.accounts.models import User
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.triage.escalation import escalate
from devdesk.triage.escalation.outgoing import (
    attempt_delivery,
    backoff,
    due_deliveries,
    sign,
    verify_signature,
)
from devdesk.triage.escalation.tasks import deliver_webhook, retry_due_webhooks
from devdesk.triage.models import TrackerKind, WebhookDelivery, WebhookEndpoint
from devdesk.triage.tests.escalation.conftest import Receiver, make_endpoint

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def deliver_to(
    owned_ticket: Ticket, agent: User, receiver: Callable[..., Receiver]
) -> Callable[[list[int | str]], tuple[Receiver, WebhookDelivery]]:
    """Escalate the ticket to a GitHub endpoint whose URL is a loopback receiver
    answering ``answers`` in turn."""

    def setup(answers: list[int | str]) -> tuple[Receiver, WebhookDelivery]:
        server = receiver("loopback-secret", answers)
        endpoint = make_endpoint(TrackerKind.GITHUB, url=server.url)
        endpoint.secret = "loopback-secret"
        endpoint.save()
        escalate(
            owned_ticket,
            acting_user=agent,
            endpoint=endpoint,
            reason="Captures are doubled",
            now=NOW,
        )
        return server, WebhookDelivery.objects.get(endpoint=endpoint)

    return setup


def test_a_delivery_is_signed_and_carries_the_escalation(
    deliver_to: Callable[..., tuple[Receiver, WebhookDelivery]],
    owned_ticket: Ticket,
) -> None:
    server, delivery = deliver_to([204])
    result = attempt_delivery(delivery.pk, now=NOW)
    assert result is not None
    assert result.status == "succeeded"
    (request,) = server.received
    assert request["signature_ok"]
    assert request["headers"]["X-Devdesk-Timestamp"] == str(int(NOW.timestamp()))
    assert request["headers"]["X-Devdesk-Delivery"] == str(delivery.uid)
    assert request["headers"]["X-Devdesk-Event"] == "ticket.escalated"
    body = request["body"]
    assert body["ticket"]["number"] == owned_ticket.number
    assert body["ticket"]["url"].endswith(f"/desk/tickets/{owned_ticket.number}/")
    assert body["escalation"]["reason"] == "Captures are doubled"
    issue_id = body["engineering_issue"]["id"]
    assert (
        body["engineering_issue"]["marker"] == f"devdesk-engineering-issue: {issue_id}"
    )
    assert owned_ticket.events.filter(kind=TicketEvent.Kind.WEBHOOK_DELIVERED).exists()


def test_a_receiver_failing_first_gets_it_again_after_the_backoff(
    deliver_to: Callable[..., tuple[Receiver, WebhookDelivery]], settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_RETRY_SECONDS = 30
    server, delivery = deliver_to([503, 500, 200])
    # first attempt: 503, the next one is due 30 s later
    first = attempt_delivery(delivery.pk, now=NOW)
    assert first is not None
    assert (first.status, first.last_status_code) == ("retrying", 503)
    assert first.next_attempt_at == NOW + timedelta(seconds=30)
    # not due yet: nothing is sent
    assert attempt_delivery(delivery.pk, now=NOW + timedelta(seconds=29)) is None
    assert due_deliveries(NOW + timedelta(seconds=29)) == []
    assert due_deliveries(NOW + timedelta(seconds=30)) == [delivery.pk]
    # second attempt: 500, the wait doubles
    second = attempt_delivery(delivery.pk, now=NOW + timedelta(seconds=30))
    assert second is not None
    assert second.next_attempt_at == NOW + timedelta(seconds=90)
    # third attempt succeeds
    third = attempt_delivery(delivery.pk, now=NOW + timedelta(seconds=90))
    assert third is not None
    assert third.status == "succeeded"
    log = list(delivery.attempt_log.values_list("number", "status_code"))
    assert log == [(1, 503), (2, 500), (3, 200)]
    assert all(r["signature_ok"] for r in server.received)
    # the same body each time, signed with each attempt's own timestamp
    assert len({json.dumps(r["body"]) for r in server.received}) == 1
    stamps = [r["headers"]["X-Devdesk-Timestamp"] for r in server.received]
    assert len(set(stamps)) == 3


def test_a_receiver_that_never_answers_times_out_and_is_retried(
    deliver_to: Callable[..., tuple[Receiver, WebhookDelivery]], settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    _, delivery = deliver_to(["hang"])
    result = attempt_delivery(delivery.pk, now=NOW)
    assert result is not None
    assert result.status == "retrying"
    assert result.last_status_code is None
    assert "no answer within 1 s" in result.last_error
    attempt = delivery.attempt_log.get()
    assert attempt.next_attempt_at == result.next_attempt_at


def test_a_delivery_gives_up_after_the_last_attempt(
    deliver_to: Callable[..., tuple[Receiver, WebhookDelivery]],
    owned_ticket: Ticket,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    _, delivery = deliver_to([500, 502])
    attempt_delivery(delivery.pk, now=NOW)
    result = attempt_delivery(delivery.pk, now=NOW + timedelta(hours=1))
    assert result is not None
    assert (result.status, result.attempts, result.next_attempt_at) == (
        "failed",
        2,
        None,
    )
    event = owned_ticket.events.get(kind=TicketEvent.Kind.WEBHOOK_FAILED)
    assert event.data["attempts"] == 2
    assert "502" in event.data["error"]
    assert due_deliveries(NOW + timedelta(days=1)) == []


def test_an_unreachable_endpoint_is_an_error_not_a_crash(
    owned_ticket: Ticket, agent: User
) -> None:
    # port 9 (discard) on loopback: nothing listens there in the test environment
    endpoint = make_endpoint(TrackerKind.JIRA, url="http://127.0.0.1:9/hook")
    escalate(owned_ticket, acting_user=agent, endpoint=endpoint, now=NOW)
    result = attempt_delivery(WebhookDelivery.objects.get().pk, now=NOW)
    assert result is not None
    assert result.status == "retrying"
    assert result.last_error.startswith("cannot connect")


def test_the_task_run_twice_sends_once(
    deliver_to: Callable[..., tuple[Receiver, WebhookDelivery]],
) -> None:
    server, delivery = deliver_to([200, 200])
    deliver_webhook.call(delivery.pk)
    deliver_webhook.call(delivery.pk)
    assert len(server.received) == 1


def test_the_escalation_sends_after_commit_and_the_sweeper_retries(
    owned_ticket: Ticket,
    agent: User,
    receiver: Callable[..., Receiver],
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.WEBHOOK_RETRY_SECONDS = 0  # due again at once
    server = receiver("s3cret", [500, 200])
    endpoint = WebhookEndpoint.objects.create(
        name="GitHub", tracker="github", url=server.url, secret="s3cret"
    )
    with django_capture_on_commit_callbacks(execute=True):
        escalate(owned_ticket, acting_user=agent, endpoint=endpoint)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "retrying"
    assert retry_due_webhooks.call() == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert len(server.received) == 2


def test_backoff_doubles_and_is_capped(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_RETRY_SECONDS = 30
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert backoff(20) == timedelta(hours=1)


def test_receivers_verify_with_the_documented_recipe() -> None:
    body = b'{"event":"ticket.escalated"}'
    headers = {
        "X-Devdesk-Timestamp": "1700000000",
        "X-Devdesk-Signature": "sha256=" + sign("k", 1700000000, body),
    }
    assert verify_signature("k", headers, body, now=1700000010)
    assert not verify_signature("other", headers, body, now=1700000010)
    assert not verify_signature("k", headers, body + b" ", now=1700000010)
    assert not verify_signature("k", headers, body, now=1700009999)  # too old


def test_an_endpoint_url_that_is_not_http_is_never_opened(
    owned_ticket: Ticket, agent: User
) -> None:
    endpoint = make_endpoint(TrackerKind.LINEAR, url="ftp://127.0.0.1/hook")
    escalate(owned_ticket, acting_user=agent, endpoint=endpoint, now=NOW)
    result = attempt_delivery(WebhookDelivery.objects.get().pk, now=NOW)
    assert result is not None
    assert result.last_error == "the endpoint's URL is not http(s)"
