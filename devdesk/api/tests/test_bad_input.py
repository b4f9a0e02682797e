"""Bad input gets a 4xx JSON ``{code, message}`` that names the problem, and nothing
is written: no ticket, no message, no event."""

import base64

import pytest

from devdesk.tickets.models import Attachment, Message, Ticket, TicketEvent
from devdesk.tickets.tests.factories import ProductFactory, make_ticket

pytestmark = pytest.mark.django_db

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def counts():
    return (
        Ticket.objects.count(),
        Message.objects.count(),
        Attachment.objects.count(),
        TicketEvent.objects.count(),
    )


@pytest.fixture
def refused(api):
    """``refused(method, path, user, json=...)`` -> the error body, after checking
    the answer is a 4xx JSON error and that nothing was written."""

    def call(method, path, user, *, status, code, **kw):
        before = counts()
        response = api(method, path, as_=user, **kw)
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert body["code"] == code
        assert body["message"]
        assert counts() == before
        return body

    return call


GOOD = {"subject": "SDK throws 401", "body": "Every call after an hour."}


@pytest.mark.parametrize(
    ("payload", "status", "code", "says"),
    [
        ({**GOOD, "subject": "   "}, 400, "subject_required", "subject"),
        ({**GOOD, "subject": "x" * 201}, 400, "subject_too_long", "200"),
        ({**GOOD, "body": ""}, 400, "body_required", "empty"),
        ({**GOOD, "body": "x" * 100_001}, 400, "body_too_long", "100,000"),
        ({"body": "no subject"}, 422, "invalid_input", "subject: Field required"),
        ({**GOOD, "subject": 42}, 422, "invalid_input", "subject: Input should be a valid string"),
        ({**GOOD, "priority": 9}, 422, "invalid_input", "priority"),
        ({**GOOD, "product": 999_999}, 422, "invalid_product", "no product with id 999999"),
        ({**GOOD, "product": 2**70}, 422, "invalid_input", "product"),
        ({**GOOD, "subjcet": "typo"}, 422, "invalid_input", "subjcet: Extra inputs are not permitted"),
        ({**GOOD, "body": "nul \x00 byte"}, 422, "invalid_input", "body: Value error, must not contain NUL"),
        ({**GOOD, "requester": "dan@acme.test"}, 403, "not_allowed", "for themselves"),
    ],
    ids=[
        "blank-subject", "long-subject", "empty-body", "long-body", "missing-subject",
        "subject-not-text", "priority-out-of-range", "unknown-product", "huge-product-id",
        "unknown-field", "nul-byte", "customer-for-someone-else",
    ],
)  # fmt: skip
def test_create_refuses_bad_ticket(
    refused, acme_customer, acme_colleague, payload, status, code, says
):
    ProductFactory()
    body = refused(
        "POST", "/api/tickets", acme_customer, json=payload, status=status, code=code
    )

    assert says in body["message"]


@pytest.mark.parametrize(
    ("attachment", "status", "code", "says"),
    [
        ({"filename": "screenshot.png", "content_base64": b64(b"just text")}, 400,
         "attachment_type_mismatch", "screenshot.png"),
        ({"filename": "trace.log", "content_base64": "not base64!!"}, 400,
         "invalid_base64", "attachments[0].content_base64"),
        ({"filename": "tool.exe", "content_base64": b64(b"MZ\x90\x00")}, 400,
         "attachment_type_not_allowed", "tool.exe"),
        ({"filename": "empty.log", "content_base64": ""}, 400, "attachment_empty", "empty"),
        ({"filename": "", "content_base64": b64(b"x")}, 422, "invalid_input",
         "attachments[0].filename"),
    ],
    ids=["forged-png", "bad-base64", "executable", "empty-file", "no-filename"],
)  # fmt: skip
def test_create_refuses_bad_attachment(
    refused, acme_customer, attachment, status, code, says
):
    body = refused(
        "POST", "/api/tickets", acme_customer,
        json={**GOOD, "attachments": [attachment]}, status=status, code=code,
    )  # fmt: skip

    assert says in body["message"]


def test_attachment_over_the_size_limit_is_refused(refused, acme_customer, settings):
    settings.ATTACHMENT_MAX_MIB = 1
    big = b"a" * (1024 * 1024 + 1)

    body = refused(
        "POST", "/api/tickets", acme_customer,
        json={**GOOD, "attachments": [{"filename": "big.log", "content_base64": b64(big)}]},
        status=400, code="attachment_too_large",
    )  # fmt: skip

    assert "1 MiB" in body["message"]


def test_request_body_over_the_upload_limit_is_413(refused, acme_customer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    refused(
        "POST", "/api/tickets", acme_customer,
        json={**GOOD, "body": "x" * 2000}, status=413, code="request_too_large",
    )  # fmt: skip


def test_valid_attachment_is_stored_and_listed(api, acme_customer):
    response = api(
        "POST", "/api/tickets", as_=acme_customer,
        json={**GOOD, "attachments": [{"filename": "dot.png", "content_base64": b64(PNG)}]},
    )  # fmt: skip
    assert response.status_code == 201, response.content

    messages = api(
        "GET", f"/api/tickets/{response.json()['number']}/messages", as_=acme_customer
    )

    [attachment] = messages.json()["items"][0]["attachments"]
    stored = Attachment.objects.get()
    assert attachment == {
        "id": stored.pk,
        "filename": "dot.png",
        "content_type": "image/png",
        "size_bytes": len(PNG),
        "url": f"/attachments/{stored.pk}/dot.png",
    }


@pytest.mark.parametrize(
    ("content", "code"),
    [(b'{"subject": "x", ', "malformed_json"), (b"\xff\xfe", "malformed_json")],
    ids=["truncated", "not-utf8"],
)
def test_malformed_json_is_400(refused, acme_customer, content, code):
    body = refused(
        "POST", "/api/tickets", acme_customer, content=content, status=400, code=code
    )

    assert "JSON" in body["message"]


@pytest.mark.parametrize(
    "content", [b"[]", b'"text"', b"null"], ids=["list", "string", "null"]
)
def test_json_that_is_not_an_object_is_422(refused, acme_customer, content):
    refused(
        "POST",
        "/api/tickets",
        acme_customer,
        content=content,
        status=422,
        code="invalid_input",
    )


def test_missing_body_says_an_object_is_required(refused, acme_customer):
    body = refused(
        "POST",
        "/api/tickets",
        acme_customer,
        content=b"",
        status=422,
        code="invalid_input",
    )

    assert body["message"] == "request body: a JSON object is required"


def test_wrong_token_writes_nothing(refused):
    refused(
        "POST",
        "/api/tickets",
        "Bearer dd_wrong",
        json=GOOD,
        status=401,
        code="unauthenticated",
    )


def test_invalid_status_transition_is_refused(refused, agent, acme_customer):
    ticket = make_ticket(acme_customer)

    body = refused(
        "PATCH", f"/api/tickets/{ticket.number}", agent,
        json={"status": "closed"}, status=400, code="invalid_transition",
    )  # fmt: skip

    assert body["message"] == "A new ticket cannot become closed."


def test_unknown_status_names_the_choices(refused, agent, acme_customer):
    ticket = make_ticket(acme_customer)

    body = refused(
        "PATCH", f"/api/tickets/{ticket.number}", agent,
        json={"status": "done"}, status=422, code="invalid_input",
    )  # fmt: skip

    assert body["message"].startswith("status: Input should be 'new', 'open'")


@pytest.mark.parametrize(
    ("payload", "code", "says"),
    [
        ({"owner": 999_999}, "invalid_owner", "owner: there is no user with id 999999"),
        ({"assignee": "customer"}, "invalid_assignee", "not a customer"),
        ({"team": 999_999}, "invalid_team", "team"),
        ({"tags": ["no spaces!"]}, "invalid_tag", "no spaces!"),
        ({"subject": None}, "invalid_input", "subject: Value error, may not be null"),
    ],
    ids=[
        "unknown-owner",
        "customer-assignee",
        "unknown-team",
        "bad-tag",
        "null-subject",
    ],
)
def test_patch_refuses_bad_values(refused, agent, acme_customer, payload, code, says):
    ticket = make_ticket(acme_customer)
    if payload.get("assignee") == "customer":
        payload = {"assignee": acme_customer.pk}

    body = refused(
        "PATCH", f"/api/tickets/{ticket.number}", agent,
        json=payload, status=400 if code in {"invalid_assignee", "invalid_tag"} else 422,
        code=code,
    )  # fmt: skip

    assert says in body["message"]


def test_solving_without_a_public_reply_is_refused(refused, agent, acme_customer):
    ticket = make_ticket(acme_customer)

    refused(
        "PATCH", f"/api/tickets/{ticket.number}", agent,
        json={"status": "solved"}, status=400, code="reply_required",
    )  # fmt: skip


def test_reply_with_a_refused_status_writes_no_message(refused, acme_customer):
    ticket = make_ticket(acme_customer)

    refused(
        "POST", f"/api/tickets/{ticket.number}/messages", acme_customer,
        json={"body": "Fixed it myself", "status": "solved"}, status=403, code="not_allowed",
    )  # fmt: skip


def test_reply_to_a_closed_ticket_is_refused(refused, agent, acme_customer):
    ticket = make_ticket(acme_customer, status=Ticket.Status.CLOSED)

    refused(
        "POST", f"/api/tickets/{ticket.number}/messages", acme_customer,
        json={"body": "Still broken"}, status=400, code="ticket_closed",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"limit": 0}, "limit (query): Input should be greater than or equal to 1"),
        ({"limit": 101}, "limit (query)"),
        ({"status": "new,finished"}, "unknown status 'finished'"),
        ({"assignee": "bob"}, "assignee (query): use a user id, 'me' or 'none'"),
        ({"owner": "²"}, "owner (query): use a user id, 'me' or 'none'"),
        ({"sort": "subject"}, "sort (query)"),
        ({"organization": "acme"}, "organization (query)"),
        ({"q": "nul\x00"}, "q (query)"),
    ],
    ids=[
        "limit-0",
        "limit-101",
        "status",
        "assignee",
        "superscript-owner",
        "sort",
        "organization",
        "nul",
    ],
)
def test_list_refuses_bad_filters(refused, agent, params, says):
    body = refused(
        "GET", "/api/tickets", agent, params=params, status=422, code="invalid_input"
    )

    assert says in body["message"]
