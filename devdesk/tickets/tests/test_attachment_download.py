"""Downloading attachments: always as a download, never as a page the browser runs."""

import pytest
from django.urls import reverse

from devdesk.tickets.attachments import check_uploads
from devdesk.tickets.models import Attachment
from devdesk.tickets.tests.factories import make_ticket, reply

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def attach(ticket, author, name, content) -> Attachment:
    message = reply(
        ticket, author, "See attached.", uploads=check_uploads([(name, content)])
    )
    return message.attachments.get()


def url(attachment: Attachment, filename: str | None = None) -> str:
    return reverse(
        "attachment-download", args=[attachment.pk, filename or attachment.filename]
    )


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_download_streams_the_file_as_an_attachment(login, acme_customer):
    ticket = make_ticket(acme_customer)
    file = attach(ticket, acme_customer, "trace.log", b"GET /v1/things 401\n")

    response = login(acme_customer).get(url(file))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="trace.log"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert body(response) == b"GET /v1/things 401\n"


@pytest.mark.parametrize(
    ("name", "content", "served_as"),
    [
        ("page.html", b"<script>alert(1)</script>", "text/plain; charset=utf-8"),
        ("app.js", b"alert(1)", "text/plain; charset=utf-8"),
        ("notes.md", b"# Notes", "text/plain; charset=utf-8"),
        ("shot.png", PNG, "image/png"),
    ],
)
def test_text_is_served_as_plain_text_and_images_as_themselves(
    login, acme_customer, name, content, served_as
):
    ticket = make_ticket(acme_customer)
    file = attach(ticket, acme_customer, name, content)
    response = login(acme_customer).get(url(file))
    assert response["Content-Type"] == served_as
    assert response["Content-Disposition"].startswith("attachment;")


def test_stored_content_type_is_not_trusted(login, acme_customer):
    # A type written by some other path (admin, a future importer) must not turn into HTML.
    ticket = make_ticket(acme_customer)
    file = attach(ticket, acme_customer, "notes.txt", b"<h1>hi</h1>")
    Attachment.objects.filter(pk=file.pk).update(content_type="text/html")
    response = login(acme_customer).get(url(file))
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_non_ascii_filename_uses_rfc_6266_filename_star(login, acme_customer):
    ticket = make_ticket(acme_customer)
    file = attach(ticket, acme_customer, "résumé d'erreur.txt", b"oops")
    response = login(acme_customer).get(url(file))
    assert response.status_code == 200
    assert (
        response["Content-Disposition"]
        == "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20d%27erreur.txt"
    )


def test_filename_in_the_url_must_match(login, acme_customer):
    ticket = make_ticket(acme_customer)
    file = attach(ticket, acme_customer, "trace.log", b"x")
    assert login(acme_customer).get(url(file, "TRACE.log")).status_code == 404


def test_unknown_attachment_is_not_found(login, acme_customer):
    assert (
        login(acme_customer)
        .get(reverse("attachment-download", args=[999999, "x.log"]))
        .status_code
        == 404
    )


def test_anonymous_is_sent_to_sign_in(client, acme_customer):
    ticket = make_ticket(acme_customer)
    file = attach(ticket, acme_customer, "trace.log", b"x")
    response = client.get(url(file))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_other_organization_gets_not_found(login, acme_customer, globex_customer):
    ticket = make_ticket(acme_customer)
    file = attach(ticket, acme_customer, "trace.log", b"x")
    assert login(globex_customer).get(url(file)).status_code == 404


def test_file_missing_from_storage_is_not_found_not_a_crash(login, acme_customer):
    ticket = make_ticket(acme_customer)
    file = attach(ticket, acme_customer, "trace.log", b"x")
    file.file.storage.delete(file.file.name)
    assert login(acme_customer).get(url(file)).status_code == 404


def test_api_token_downloads_an_attachment_it_may_read(
    client, acme_customer, globex_customer
):
    from devdesk.accounts.services import create_api_token
    from devdesk.tickets.services import add_message

    ticket = make_ticket(acme_customer)
    message = add_message(
        ticket,
        author=acme_customer,
        body="log",
        uploads=check_uploads([("run.log", b"ok\n")]),
    )
    attachment = message.attachments.get()
    url = f"/attachments/{attachment.pk}/run.log"
    _, own = create_api_token(acme_customer, name="ci")
    _, other = create_api_token(globex_customer, name="ci")
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {own}").status_code == 200
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404
    assert client.get(url, HTTP_AUTHORIZATION="Bearer dd_wrong").status_code == 302
