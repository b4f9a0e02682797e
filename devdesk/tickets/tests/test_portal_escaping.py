"""Whatever people type, the portal shows it as text: no script ever reaches a page."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from devdesk.tickets.attachments import check_uploads
from devdesk.tickets.models import Attachment, Ticket
from devdesk.tickets.tests.factories import make_ticket, reply

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"
IMG = '"><img src=x onerror=alert(1)>'
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"


def assert_shown_as_text(content: str, payload: str, escaped: str) -> None:
    assert payload not in content
    assert escaped in content  # the text is on the page, just harmless


def test_script_in_subject_body_and_name_is_escaped(
    login, acme_customer, acme_colleague
):
    # given: a colleague whose name and ticket are hostile
    acme_colleague.name = f"Mallory {SCRIPT}"
    acme_colleague.save()
    ticket = make_ticket(
        acme_colleague, subject=f"Help {SCRIPT}", body=f"Body {SCRIPT} and {IMG}"
    )
    client = login(acme_customer)

    # when / then: the detail page and the list
    for url in (
        reverse("portal:ticket-detail", args=[ticket.number]),
        reverse("portal:ticket-list"),
    ):
        content = client.get(url).content.decode()
        assert "alert('x')</script>" not in content
        assert "<img src=x" not in content
        assert f"Help {ESCAPED_SCRIPT}" in content


def test_markdown_body_cannot_smuggle_links_or_handlers(login, acme_customer):
    ticket = make_ticket(
        acme_customer,
        body="[click](javascript:alert(1)) <a href=x onclick=alert(2)>x</a>",
    )
    content = (
        login(acme_customer)
        .get(reverse("portal:ticket-detail", args=[ticket.number]))
        .content.decode()
    )
    assert 'href="javascript:' not in content
    assert "<a href=x onclick" not in content
    assert "&lt;a href=x onclick=alert(2)&gt;" in content


def test_script_in_uploaded_filename_is_removed(login, acme_customer):
    upload = SimpleUploadedFile(f"{IMG}.txt", b"hello")
    data = {"subject": "Upload", "body": "See file", "attachments": [upload]}
    login(acme_customer).post(reverse("portal:ticket-new"), data)
    name = Attachment.objects.get().filename
    assert "<" not in name
    assert ">" not in name
    assert '"' not in name


def test_script_in_stored_filename_is_escaped_on_the_page(login, acme_customer):
    # A filename that got past upload cleaning (older data, another channel) stays inert.
    ticket = make_ticket(acme_customer)
    message = reply(
        ticket, acme_customer, "log", uploads=check_uploads([("a.txt", b"x")])
    )
    # (no "/" in it: names are single URL segments, and clean_filename removes slashes)
    Attachment.objects.filter(message=message).update(filename=f"{IMG}<script>.txt")

    content = (
        login(acme_customer)
        .get(reverse("portal:ticket-detail", args=[ticket.number]))
        .content.decode()
    )

    assert_shown_as_text(
        content, IMG, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;.txt"
    )


def test_script_in_name_is_escaped_on_the_settings_page(login, acme_customer):
    acme_customer.name = SCRIPT
    acme_customer.save()
    content = login(acme_customer).get(reverse("accounts:settings")).content.decode()
    assert_shown_as_text(content, SCRIPT, ESCAPED_SCRIPT)


def test_ticket_list_has_no_unescaped_subjects(login, acme_customer):
    Ticket.objects.all().delete()
    make_ticket(acme_customer, subject=SCRIPT)
    content = login(acme_customer).get(reverse("portal:ticket-list")).content.decode()
    assert_shown_as_text(content, SCRIPT, ESCAPED_SCRIPT)
