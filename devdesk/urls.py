from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from devdesk import views
from devdesk.api.urls import api
from devdesk.tickets.views import attachments

admin.site.site_header = f"{settings.SITE_NAME} back office"
admin.site.site_title = settings.SITE_NAME

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("highlight.css", views.highlight_stylesheet, name="highlight-css"),
    path("accounts/", include("devdesk.accounts.urls")),
    path("desk/", include("devdesk.tickets.urls_desk")),
    path("desk/people/", include("devdesk.accounts.urls_desk")),
    path("desk/mail/", include("devdesk.intake.urls_desk")),
    path("desk/engineering/", include("devdesk.triage.urls_escalation")),
    path("hooks/", include("devdesk.triage.urls_escalation_hooks")),
    path("desk/sla/", include("devdesk.triage.urls_sla")),
    path("desk/triage/", include("devdesk.triage.urls_cooldown")),
    path("desk/rules/", include("devdesk.triage.urls_rules")),
    path("desk/triage/", include("devdesk.triage.urls_scoring")),
    path("portal/", include("devdesk.tickets.urls_portal")),
    path(
        "attachments/<int:pk>/<path:filename>",
        attachments.download,
        name="attachment-download",
    ),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]

handler400 = "devdesk.views.bad_request"
handler403 = "devdesk.views.permission_denied"
handler404 = "devdesk.views.page_not_found"
handler500 = "devdesk.views.server_error"
