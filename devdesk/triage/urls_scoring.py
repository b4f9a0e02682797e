from django.urls import path

from devdesk.triage import views_scoring as views

app_name = "triage"

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("scoring/", views.policy_save, name="policy-save"),
    path("routing/", views.routing_save, name="routing-save"),
    path("rules/new/", views.rule_edit, name="rule-new"),
    path("rules/<int:rule_id>/", views.rule_edit, name="rule-edit"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule-delete"),
    path("skills/", views.skill_save, name="skill-save"),
    path("waiting/", views.waiting_page, name="waiting"),
    path(
        "tickets/<int:number>/estimates/",
        views.ticket_estimates,
        name="ticket-estimates",
    ),
    path(
        "tickets/<int:number>/duplicate/",
        views.ticket_duplicate,
        name="ticket-duplicate",
    ),
    path("tickets/<int:number>/unlink/", views.ticket_unlink, name="ticket-unlink"),
    path("tickets/<int:number>/route/", views.ticket_route, name="ticket-route"),
    path(
        "portal/tickets/<int:number>/severity/",
        views.portal_severity,
        name="portal-severity",
    ),
]
