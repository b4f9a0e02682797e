from django.urls import path

from devdesk.tickets.views import portal

app_name = "portal"

urlpatterns = [
    path("", portal.ticket_list, name="ticket-list"),
    path("tickets/<int:number>/", portal.ticket_detail, name="ticket-detail"),
]
