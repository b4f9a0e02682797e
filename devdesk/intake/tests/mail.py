"""Building test e-mail: real RFC 5322 bytes, as a mail server would hand them over."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from django.utils import timezone


def raw_mail(
    *,
    sender: str = "Carla Diaz <carla@acme.test>",
    to: str = "support@skyforge.test",
    subject: str = "Webhook retries arrive twice",
    body: str = "Our endpoint answered 200 but the event came again.",
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(domain="acme.test")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None and not body:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
    for filename, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        extra: dict[str, Any] = {"filename": filename}
        message.add_attachment(content, maintype=maintype, subtype=subtype, **extra)
    return message.as_bytes()
