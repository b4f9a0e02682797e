from django.urls import path

from devdesk.intake import views_desk

app_name = "mail"

urlpatterns = [
    path("", views_desk.mail_list, name="list"),
    path("<int:pk>/", views_desk.mail_detail, name="detail"),
    path("<int:pk>/raw/", views_desk.mail_raw, name="raw"),
    path("<int:pk>/retry/", views_desk.mail_retry, name="retry"),
    path(
        "for-message/<int:message_id>/",
        views_desk.mail_for_message,
        name="for-message",
    ),
]
