"""Error pages are friendly and never show a stack trace when DEBUG is off.

This module is also the test URLconf: the real routes plus views that fail on purpose.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import path

from devdesk.urls import urlpatterns as real_urlpatterns

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def _boom(request):
    raise RuntimeError("secret internals: db password is hunter2")


def _forbidden(request):
    raise PermissionDenied("internal reason")


urlpatterns = [
    path("test/boom/", _boom),
    path("test/forbidden/", _forbidden),
    *real_urlpatterns,
]
handler400 = "devdesk.views.bad_request"
handler403 = "devdesk.views.permission_denied"
handler404 = "devdesk.views.page_not_found"
handler500 = "devdesk.views.server_error"


@pytest.fixture
def production(settings):
    settings.DEBUG = False


def assert_no_internals(content: str) -> None:
    for leak in (
        "Traceback",
        "hunter2",
        "internal reason",
        "RuntimeError",
        "site-packages",
    ):
        assert leak not in content


def test_not_found_page(production, login, acme_customer):
    response = login(acme_customer).get("/no/such/page/")
    content = response.content.decode()
    assert response.status_code == 404
    assert "This page does not exist, or you do not have access to it." in content
    assert_no_internals(content)


def test_not_found_page_for_a_ticket_of_another_organization(
    production, login, acme_customer, globex_customer
):
    response = login(globex_customer).get("/portal/tickets/4242/")
    assert response.status_code == 404
    assert "This page does not exist" in response.content.decode()


def test_forbidden_page(production, login, acme_customer):
    response = login(acme_customer).get("/test/forbidden/")
    content = response.content.decode()
    assert response.status_code == 403
    assert "You do not have access to this page." in content
    assert_no_internals(content)


def test_server_error_page(production, client):
    client.raise_request_exception = False
    response = client.get("/test/boom/")
    content = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in content
    assert_no_internals(content)
