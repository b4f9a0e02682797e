from django.urls import path

from devdesk.triage import views_escalation as views

app_name = "triage-escalation"

urlpatterns = [
    path("", views.issue_list, name="issue-list"),
    path("issues/<int:issue_id>/", views.issue_detail, name="issue-detail"),
    path("issues/<int:issue_id>/status/", views.issue_status, name="issue-status"),
    path(
        "tickets/<int:number>/escalate/",
        views.ticket_escalate,
        name="ticket-escalate",
    ),
    path(
        "tickets/<int:number>/drafts/<int:draft_id>/send/",
        views.draft_send,
        name="draft-send",
    ),
    path(
        "tickets/<int:number>/drafts/<int:draft_id>/discard/",
        views.draft_discard,
        name="draft-discard",
    ),
]
