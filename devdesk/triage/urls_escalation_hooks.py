from django.urls import re_path

from devdesk.triage import views_escalation as views

app_name = "hooks"

# The slash at the end is optional: trackers post to the URL exactly as pasted, and
# Django's slash-appending redirect cannot carry a POST.
urlpatterns = [
    re_path(
        r"^(?P<tracker>[a-z]{1,20})/(?P<endpoint_id>[0-9]{1,12})/?$",
        views.tracker_webhook,
        name="tracker",
    ),
]
