from django.urls import path

from devdesk.triage import views_cooldown

app_name = "triage-cooldown"

urlpatterns = [
    path("tickets/<int:number>/decline/", views_cooldown.decline, name="decline"),
    path(
        "tickets/<int:number>/in-scope/",
        views_cooldown.scope_clear,
        name="scope-clear",
    ),
    path("tickets/<int:number>/end-cooldown/", views_cooldown.release, name="release"),
]
