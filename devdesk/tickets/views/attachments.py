"""Downloading attachments, through the same access rules as the conversation."""

from __future__ import annotations

import logging

from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control

from devdesk.accounts.services import user_for_token
from devdesk.tickets.access import get_attachment_for
from devdesk.tickets.attachments import BINARY_TYPES

logger = logging.getLogger(__name__)

# Only types checked byte-for-byte on upload keep their own content type; everything
# else (code, logs, HTML, SVG) is served as plain text, so a browser never runs it.
SERVED_AS_IS = frozenset(BINARY_TYPES.values())
PLAIN_TEXT = "text/plain; charset=utf-8"


def download(request: HttpRequest, pk: int, filename: str) -> HttpResponseBase:
    """Serve an attachment to a signed-in person, or to an API client whose
    ``Authorization: Bearer`` token belongs to someone who may read it."""
    user = request.user
    if not user.is_authenticated:
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        token_user = user_for_token(raw.strip()) if scheme.lower() == "bearer" else None
        if token_user is None:
            return redirect_to_login(request.get_full_path())
        user = token_user
    attachment = get_attachment_for(user, pk)
    if filename != attachment.filename:
        raise Http404("No such attachment")
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        logger.error(
            "attachment %s is missing from storage (%s)", pk, attachment.file.name
        )
        raise Http404("No such attachment") from None
    content_type = (
        attachment.content_type
        if attachment.content_type in SERVED_AS_IS
        else PLAIN_TEXT
    )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Even if opened in the page, nothing in the file can run or reach our origin.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    patch_cache_control(response, private=True)
    return response
