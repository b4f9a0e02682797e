"""URLs of the benchmark peer: Django's admin, then django-helpdesk at the root.

helpdesk's own ``login/`` (Django's LoginView with helpdesk's template) is the
sign-in page, at ``/login/``.
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("helpdesk.urls", namespace="helpdesk")),
]
