"""The REST API, mounted at /api/; OpenAPI 3 at /api/openapi.json, docs at /api/docs."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI

from devdesk.api import (
    people,
    tickets,
    triage_escalation,
    triage_rules,
    triage_scoring,
    triage_sla,
)
from devdesk.api.auth import TokenAuth
from devdesk.api.errors import (
    install_error_handlers,
    json_method_not_allowed,
    unknown_endpoint,
)


class DevdeskAPI(NinjaAPI):
    """NinjaAPI whose URL list answers JSON for a wrong method (405) and an unknown
    path (404) too; otherwise those would be Django's plain-text and HTML pages."""

    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if not isinstance(pattern, URLPattern):
                continue
            if pattern.name == "api-root":  # ninja's own raises a bare Http404
                pattern.callback = unknown_endpoint
            else:
                pattern.callback = json_method_not_allowed(pattern.callback)
        patterns.append(re_path(r"^.*$", unknown_endpoint, name="unknown-endpoint"))
        return patterns, app_name, namespace


api = DevdeskAPI(
    title="devdesk API",
    version="1",
    urls_namespace="api",
    auth=TokenAuth(),
    description="Send `Authorization: Bearer <token>` with every request. Errors are "
    '`{"code": ..., "message": ...}`; lists page with `next_cursor`.',
)
install_error_handlers(api)
api.add_router("", tickets.router)
api.add_router("", people.router)
api.add_router("", triage_escalation.router)
api.add_router("", triage_sla.router)
api.add_router("", triage_rules.router)
api.add_router("", triage_scoring.router)
