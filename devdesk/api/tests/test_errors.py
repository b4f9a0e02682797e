"""Whatever goes wrong, the answer is JSON ``{code, message}``, never an HTML page."""

import pytest

pytestmark = pytest.mark.django_db


def test_wrong_method_is_405_json_naming_allowed_methods(api, agent):
    response = api("DELETE", "/api/tickets", as_=agent)

    assert response.status_code == 405
    assert response["Allow"] in {"GET, POST", "POST, GET"}
    assert response.json()["code"] == "method_not_allowed"
    assert "DELETE is not allowed on /api/tickets" in response.json()["message"]


@pytest.mark.parametrize(
    "path", ["/api/", "/api/nope", "/api/tickets/abc", "/api/tickets/"]
)
def test_unknown_path_is_404_json(api, agent, path):
    response = api("GET", path, as_=agent)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"
    assert "/api/docs" in response.json()["message"]


def test_unexpected_failure_is_a_json_500(api, agent, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("devdesk.api.people.access.visible_products", explode)

    response = api("GET", "/api/products", as_=agent)

    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "boom" not in response.content.decode()


def test_validation_error_lists_each_field(api, agent, acme_customer):
    response = api(
        "POST",
        "/api/tickets",
        as_=acme_customer,
        json={"priority": "high", "product": -1},
    )

    body = response.json()
    assert response.status_code == 422
    assert {e["field"] for e in body["errors"]} == {
        "subject",
        "body",
        "priority",
        "product",
    }
    assert "subject: Field required" in body["message"]
