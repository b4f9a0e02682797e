from django.urls import path

from devdesk.triage import views_sla

app_name = "sla"

urlpatterns = [
    path("", views_sla.sla_overview, name="overview"),
    path("policies/new/", views_sla.policy_edit, name="policy-new"),
    path("policies/<int:pk>/", views_sla.policy_edit, name="policy-edit"),
    path("policies/<int:pk>/delete/", views_sla.policy_delete, name="policy-delete"),
    path("calendars/new/", views_sla.calendar_edit, name="calendar-new"),
    path("calendars/<int:pk>/", views_sla.calendar_edit, name="calendar-edit"),
    path("report/", views_sla.breach_report, name="report"),
]
