"""Template context every page needs: the site name and which interface the user gets."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from devdesk.tickets.access import can_use_agent_desk


def desk(request: HttpRequest) -> dict[str, Any]:
    return {
        "site_name": settings.SITE_NAME,
        "is_desk_user": can_use_agent_desk(request.user),
    }
