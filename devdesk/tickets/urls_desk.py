from django.urls import path

from devdesk.tickets.views import desk

app_name = "desk"

urlpatterns = [
    path("", desk.inbox, name="inbox"),
    path("tickets/<int:number>/", desk.ticket_detail, name="ticket-detail"),
]
