from django.urls import path

from devdesk.tickets.views import desk

app_name = "desk"

urlpatterns = [
    path("", desk.inbox_view, name="inbox"),
    path("bulk/", desk.inbox_bulk, name="inbox-bulk"),
    path("new/", desk.ticket_new, name="ticket-new"),
    path("suggest/people/", desk.people_suggest, name="people-suggest"),
    path("tickets/<int:number>/", desk.ticket_detail, name="ticket-detail"),
    path("tickets/<int:number>/reply/", desk.ticket_reply, name="ticket-reply"),
    path("tickets/<int:number>/update/", desk.ticket_update, name="ticket-update"),
    path(
        "tickets/<int:number>/escalate/", desk.ticket_escalate, name="ticket-escalate"
    ),
    path(
        "tickets/<int:number>/macro-preview/",
        desk.ticket_macro_preview,
        name="ticket-macro-preview",
    ),
    path("tickets/<int:number>/merge/", desk.ticket_merge, name="ticket-merge"),
    path("tickets/<int:number>/split/", desk.ticket_split, name="ticket-split"),
    path(
        "tickets/<int:number>/undo-merge/",
        desk.ticket_undo_merge,
        name="ticket-undo-merge",
    ),
    path(
        "tickets/<int:number>/presence/", desk.ticket_presence, name="ticket-presence"
    ),
]
