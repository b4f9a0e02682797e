"""Attachments in an S3-compatible bucket (STORAGE_BACKEND=s3), against a real S3 API
server on loopback (moto's), configured through the same environment variables an
installation sets."""

from __future__ import annotations

import hashlib
import uuid

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from moto.server import ThreadedMotoServer

from devdesk.settings import default_storage_from_env
from devdesk.tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db

LOG = b"2024-06-01T09:00:01Z POST /v1/charges 502 upstream timed out\n"


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch, settings, tmp_path):
    """The environment of an S3 installation (a fresh bucket), applied to settings."""
    bucket = f"devdesk-{uuid.uuid4().hex[:12]}"
    env = {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": s3_server,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "devdesk-test",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_LOCATION": "desk",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    secret = tmp_path / "s3-secret"
    secret.write_text("devdesk-test-secret\n")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY_FILE", str(secret))
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="devdesk-test",
        aws_secret_access_key="devdesk-test-secret",
    )
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "default": default_storage_from_env()}
    return client, bucket


def keys(client, bucket) -> list[str]:
    listing = client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def open_ticket_with_log(client) -> Ticket:
    upload = SimpleUploadedFile("gateway.log", LOG, content_type="text/plain")
    response = client.post(
        reverse("portal:ticket-new"),
        {
            "subject": "Gateway answers 502 under load",
            "body": "Log attached.",
            "product": "",
            "idempotency_key": "",
            "attachments": [upload],
        },
    )
    assert response.status_code == 302
    return Ticket.objects.get()


def download(client, attachment: Attachment):
    return client.get(
        reverse("attachment-download", args=[attachment.pk, attachment.filename])
    )


def test_a_portal_attachment_is_stored_in_the_bucket_and_downloads_from_it(
    s3_env, login, acme_customer, settings
):
    # given
    s3, bucket = s3_env
    customer = login(acme_customer)

    # when
    ticket = open_ticket_with_log(customer)

    # then: stored under its content hash, in the bucket only
    attachment = Attachment.objects.get(message__ticket=ticket)
    digest = hashlib.sha256(LOG).hexdigest()
    assert keys(s3, bucket) == [f"desk/attachments/{digest[:2]}/{digest}"]
    assert not (settings.MEDIA_ROOT / "attachments").exists()
    response = download(customer, attachment)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == LOG
    assert response["Content-Disposition"] == 'attachment; filename="gateway.log"'


def test_the_same_bytes_twice_are_two_objects_so_deleting_one_keeps_the_other(
    s3_env, login, acme_customer
):
    s3, bucket = s3_env
    customer = login(acme_customer)
    first = Attachment.objects.get(message__ticket=open_ticket_with_log(customer))
    Ticket.objects.all().update(subject="First")
    upload = SimpleUploadedFile("again.log", LOG, content_type="text/plain")
    customer.post(
        reverse("portal:ticket-new"),
        {"subject": "Again", "body": "Same log.", "attachments": [upload]},
    )
    second = Attachment.objects.exclude(pk=first.pk).get()

    assert first.file.name != second.file.name
    assert len(keys(s3, bucket)) == 2
    first.file.delete(save=False)
    assert b"".join(download(customer, second).streaming_content) == LOG


def test_an_object_missing_from_the_bucket_is_a_404_not_an_error(
    s3_env, login, acme_customer
):
    s3, bucket = s3_env
    customer = login(acme_customer)
    attachment = Attachment.objects.get(message__ticket=open_ticket_with_log(customer))
    for key in keys(s3, bucket):
        s3.delete_object(Bucket=bucket, Key=key)

    assert download(customer, attachment).status_code == 404


def test_filesystem_is_the_default(monkeypatch):
    monkeypatch.delenv("STORAGE_BACKEND", raising=False)
    assert default_storage_from_env() == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STORAGE_BACKEND": "s4"}, "STORAGE_BACKEND must be filesystem or s3"),
        ({"STORAGE_BACKEND": "s3"}, "needs AWS_STORAGE_BUCKET_NAME"),
        (
            {
                "STORAGE_BACKEND": "s3",
                "AWS_STORAGE_BUCKET_NAME": "b",
                "AWS_S3_ADDRESSING_STYLE": "sideways",
            },
            "AWS_S3_ADDRESSING_STYLE must be",
        ),
    ],
)
def test_a_bad_storage_setting_stops_start_up_with_a_clear_message(
    monkeypatch, env, message
):
    monkeypatch.delenv("AWS_STORAGE_BUCKET_NAME", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        default_storage_from_env()
