from django.urls import path

from devdesk.accounts import views_desk

app_name = "people"

urlpatterns = [
    path("organizations/", views_desk.organization_list, name="organization-list"),
    path("organizations/new/", views_desk.organization_new, name="organization-new"),
    path(
        "organizations/<int:pk>/",
        views_desk.organization_detail,
        name="organization-detail",
    ),
    path(
        "organizations/<int:pk>/edit/",
        views_desk.organization_update,
        name="organization-update",
    ),
    path(
        "organizations/<int:pk>/invite/",
        views_desk.organization_invite,
        name="organization-invite",
    ),
    path("people/<int:pk>/", views_desk.person_detail, name="person-detail"),
    path("people/<int:pk>/edit/", views_desk.person_update, name="person-update"),
]
