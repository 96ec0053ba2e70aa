"""The OpenAPI schema describes every API view without guesswork, and the docs work offline."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

API = "/api/v1/"


def _as_template(pattern) -> str:
    """A URL pattern's piece as OpenAPI writes it: `<uuid:unit_id>/` (a route) or
    `^(?P<month>[0-9]{4}-[0-9]{2})/$` (a regex) become `{unit_id}/` and `{month}/`."""
    if isinstance(pattern, RegexPattern):
        text = str(pattern).removeprefix("^").removesuffix("$")
        text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)  # a named group: a parameter
        return re.sub(r"\\([./-])", r"\1", text)  # an escaped literal
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern))


def _routes(patterns, prefix="/"):
    for pattern in patterns:
        route = prefix + _as_template(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield route


def routed_api_paths() -> set[str]:
    """Every route under /api/v1/, read from Django's URL resolver: what the schema must
    describe, no more and no less."""
    paths = {route for route in _routes(get_resolver().url_patterns) if route.startswith(API)}
    unread = [path for path in paths if re.search(r"[\\^$()\[\]?*+|<>]", path)]
    assert not unread, f"teach _as_template to read these routes: {unread}"
    return paths


def test_schema_validates_with_no_warnings(tmp_path):
    """`manage.py spectacular --validate --fail-on-warn`: a view whose shape drf-spectacular
    has to guess (or an invalid schema) fails here, not in a client's code generator."""
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert set(schema["paths"]) == routed_api_paths()


@pytest.mark.django_db
def test_schema_is_served_and_documents_token_authentication(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert set(schema["paths"]) == routed_api_paths()
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
