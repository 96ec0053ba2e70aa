"""The OpenAPI schema describes every API view without guesswork, and the docs work offline."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

API_PATHS = [
    "/api/v1/organisations/",
    "/api/v1/organisations/{organisation_id}/members/",
    "/api/v1/organisations/{organisation_id}/members/{member_id}/",
    "/api/v1/organisations/{organisation_id}/invitations/",
    "/api/v1/organisations/{organisation_id}/invitations/{invitation_id}/",
    "/api/v1/units/",
    "/api/v1/units/{unit_id}/",
    "/api/v1/units/{unit_id}/contacts/",
    "/api/v1/units/{unit_id}/contacts/{contact_id}/",
    "/api/v1/units/{unit_id}/contacts/{contact_id}/move/",
    "/api/v1/responders/",
    "/api/v1/responders/{responder_id}/",
    "/api/v1/responders/{responder_id}/shifts/",
    "/api/v1/responders/{responder_id}/shifts/{shift_id}/",
    "/api/v1/tokens/",
    "/api/v1/tokens/{token_id}/",
    "/api/v1/catalog/scenarios/",
    "/api/v1/catalog/scenarios/{code}/solutions/",
    "/api/v1/catalog/solutions/{solution_id}/",
    "/api/v1/catalog/solutions/{solution_id}/quote/",
    "/api/v1/catalog/compare/",
    "/api/v1/standards/",
    "/api/v1/standards/{standard_id}/",
    "/api/v1/standards/{standard_id}/requirements/",
    "/api/v1/standards/{standard_id}/bands/",
    "/api/v1/standards/{standard_id}/publish/",
    "/api/v1/reviews/",
    "/api/v1/reviews/{solution_id}/{number}/",
    "/api/v1/reviews/{solution_id}/{number}/verdicts/",
    "/api/v1/reviews/{solution_id}/{number}/decision/",
    "/api/v1/certificates/{number}/",
    "/api/v1/certificates/{number}/suspend/",
    "/api/v1/certificates/{number}/reinstate/",
    "/api/v1/certificates/{number}/revoke/",
    "/api/v1/vendor/profile/",
    "/api/v1/vendor/device-models/",
    "/api/v1/vendor/device-models/{device_model_id}/",
    "/api/v1/vendor/solutions/",
    "/api/v1/vendor/solutions/{solution_id}/",
    "/api/v1/vendor/solutions/{solution_id}/revisions/{number}/",
    "/api/v1/vendor/solutions/{solution_id}/revisions/{number}/submit/",
    "/api/v1/vendor/solutions/{solution_id}/new-revision/",
    "/api/v1/orders/",
    "/api/v1/orders/{order_id}/",
    "/api/v1/orders/{order_id}/place/",
    "/api/v1/orders/{order_id}/cancel/",
    "/api/v1/orders/{order_id}/setup-intent/",
    "/api/v1/orders/{order_id}/pay/",
    "/api/v1/orders/{order_id}/deliver/",
    "/api/v1/leases/",
    "/api/v1/leases/{lease_id}/",
    "/api/v1/leases/{lease_id}/choice/",
    "/api/v1/invoices/",
    "/api/v1/monitoring/",
    "/api/v1/vendor/orders/",
    "/api/v1/vendor/orders/{order_id}/",
    "/api/v1/vendor/orders/{order_id}/prepare/",
    "/api/v1/vendor/orders/{order_id}/refunds/",
    "/api/v1/vendor/leases/",
    "/api/v1/vendor/leases/{lease_id}/",
    "/api/v1/vendor/leases/{lease_id}/returned/",
    "/api/v1/vendor/settlements/",
    "/api/v1/vendor/settlements/{month}/",
    "/api/v1/devices/",
    "/api/v1/devices/claim/",
    "/api/v1/devices/{device_id}/",
    "/api/v1/devices/{device_id}/placement/",
    "/api/v1/devices/{device_id}/token/",
    "/api/v1/devices/{device_id}/telemetry/",
    "/api/v1/vendor/devices/",
    "/api/v1/vendor/devices/{device_id}/",
    "/api/v1/vendor/devices/{device_id}/token/",
    "/api/v1/vendor/devices/{device_id}/returned/",
    "/api/v1/vendor/devices/{device_id}/restock/",
    "/api/v1/vendor/imports/",
    "/api/v1/vendor/imports/{import_id}/",
    "/api/v1/vendor/orders/{order_id}/devices/",
    "/api/v1/vendor/orders/{order_id}/shipment/",
    "/api/v1/vendor/fleet/",
    "/api/v1/vendor/fleet/summary/",
]


def test_schema_validates_with_no_warnings(tmp_path):
    """`manage.py spectacular --validate --fail-on-warn`: a view whose shape drf-spectacular
    has to guess (or an invalid schema) fails here, not in a client's code generator."""
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert set(API_PATHS) <= set(schema["paths"])


@pytest.mark.django_db
def test_schema_is_served_and_documents_token_authentication(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert set(API_PATHS) <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["apiToken"]["description"],
    }
    unit_create = schema["paths"]["/api/v1/units/"]["post"]
    assert set(unit_create["responses"]) == {"201", "400", "403"}
    pay = schema["paths"]["/api/v1/orders/{order_id}/pay/"]["post"]
    assert set(pay["responses"]) == {"202", "400", "403", "404"}
    member = schema["paths"]["/api/v1/organisations/{organisation_id}/members/{member_id}/"]
    parameters = {p["name"]: p["schema"] for p in member["delete"]["parameters"]}
    assert parameters == {
        "organisation_id": {"type": "string", "format": "uuid"},
        "member_id": {"type": "integer"},
    }


@pytest.mark.django_db
def test_swagger_ui_is_served_from_our_own_static_files(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/api/schema/" in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any("swagger-ui-bundle" in asset for asset in assets)
    assert not [asset for asset in assets if asset.startswith(("http:", "https:", "//"))]
    assert "cdn" not in page.lower()
    for name in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{name}"), name
