from django.urls import path

from devdesk.tickets.views import portal

app_name = "portal"

urlpatterns = [
    path("", portal.ticket_list, name="ticket-list"),
    path("tickets/new/", portal.ticket_new, name="ticket-new"),
    path("tickets/<int:number>/", portal.ticket_detail, name="ticket-detail"),
    path("tickets/<int:number>/reply/", portal.ticket_reply, name="ticket-reply"),
]
