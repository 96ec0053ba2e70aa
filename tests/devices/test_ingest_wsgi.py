"""The short way in for ingest (config/wsgi.py) answers exactly as Django's full stack: same
status, headers and body for every kind of request, and Django still answers the unusual
ones."""

import io
import json
import re
import sys
import uuid
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.core.handlers.wsgi import WSGIHandler

from config.wsgi import IngestFastPath, application

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch):
    """Both ways recycle the connection after a request, as Django's test client stops its
    handler from doing: here it holds the test's transaction."""
    from django.db import connection

    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)


def environ(method="POST", path="/api/v1/ingest", body=b"", **extra):
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    env.update(extra)
    return env


def answer(app, env):
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, headers

    out = app(env, start_response)
    body = b"".join(out)
    if hasattr(out, "close"):
        out.close()
    # event ids differ between the two calls; everything else must not
    return got["status"], got["headers"], re.sub(rb'"id":"[^"]*"', b'"id":"x"', body)


def assert_same(make, *, fast, app=None):
    """Django and the short way give the same answer; `fast`: the short way answered."""
    # Built here, after the test's settings (the path reads them once, when it is built).
    app = app or IngestFastPath(WSGIHandler())
    by_django = answer(app.django_app, make())
    with mock.patch.object(app, "django_app", wraps=app.django_app) as django_app:
        by_fast_path = answer(app, make())
    assert by_fast_path == by_django
    assert django_app.called is not fast
    return by_fast_path


def batch(*kinds, **values):
    return json.dumps(
        {
            "events": [
                {
                    "id": f"w-{n}-{uuid.uuid4().hex}",  # a fixed length: same Content-Length
                    "ts": datetime.now(UTC).isoformat(),
                    "type": kind,
                    "values": values,
                }
                for n, kind in enumerate(kinds)
            ]
        }
    ).encode()


def test_ingest_answers_are_the_same(placed):
    _device, token = placed
    auth = {"HTTP_AUTHORIZATION": f"Device {token}"}
    status, headers, _ = assert_same(
        lambda: environ(body=batch("heartbeat", "sneeze", battery_pct=80), **auth), fast=True
    )
    assert status == "202 Accepted"
    assert ("Content-Type", "application/json") in headers
    assert_same(lambda: environ(body=batch("test"), HTTP_AUTHORIZATION="Device nope"), fast=True)
    assert_same(lambda: environ(body=batch("test")), fast=True)
    assert_same(lambda: environ(body=b"{nope", **auth), fast=True)
    assert_same(lambda: environ(body=b"[1]", **auth), fast=True)
    assert_same(lambda: environ(body=b" " * 300_000, **auth), fast=True)
    for language in ("en-GB,en;q=0.8", "fr", "*;q=x,,"):
        assert_same(
            lambda language=language: environ(
                body=batch("heartbeat"), HTTP_ACCEPT_LANGUAGE=language, **auth
            ),
            fast=True,
        )


def test_thingsboard_answers_are_the_same(placed):
    _device, token = placed
    for route in ("telemetry", "attributes"):
        assert_same(
            lambda route=route: environ(
                path=f"/api/v1/{token}/{route}",
                body=json.dumps({"smoke": datetime.now(UTC).timestamp()}).encode(),
            ),
            fast=True,
        )
    assert_same(lambda: environ(path="/api/v1/nope/telemetry", body=b"{}"), fast=True)


def test_unusual_requests_go_through_django(placed):
    _device, token = placed
    auth = {"HTTP_AUTHORIZATION": f"Device {token}"}
    assert_same(lambda: environ(method="GET"), fast=False)
    assert_same(lambda: environ(body=batch("test"), HTTP_COOKIE="sessionid=x", **auth), fast=False)
    assert_same(lambda: environ(body=batch("test"), HTTP_HOST="evil.example", **auth), fast=False)
    assert_same(lambda: environ(path="/api/v1/ingest/", body=batch("test"), **auth), fast=False)
    assert_same(lambda: environ(body=b"x", CONTENT_LENGTH="3000000", **auth), fast=False)
    no_length = environ(body=batch("test"), **auth)
    del no_length["CONTENT_LENGTH"]
    assert_same(lambda: dict(no_length, **{"wsgi.input": io.BytesIO(b"")}), fast=False)


def test_a_server_error_is_djangos_500(placed):
    _device, token = placed
    with mock.patch("devices.ingest_views.ingest", side_effect=RuntimeError("boom")):
        status, _, _ = assert_same(
            lambda: environ(body=batch("test"), HTTP_AUTHORIZATION=f"Device {token}"), fast=True
        )
    assert status == "500 Internal Server Error"


def test_https_settings_are_honoured(placed, settings):
    _device, token = placed
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    app = IngestFastPath(WSGIHandler())
    auth = {"HTTP_AUTHORIZATION": f"Device {token}"}
    _, headers, _ = assert_same(
        lambda: environ(body=batch("test"), HTTP_X_FORWARDED_PROTO="https", **auth),
        fast=True,
        app=app,
    )
    assert ("Strict-Transport-Security", "max-age=3600") in headers
    status, _, _ = assert_same(lambda: environ(body=batch("test"), **auth), fast=False, app=app)
    assert status.startswith("301")


def test_the_served_application_takes_the_short_way():
    assert isinstance(application, IngestFastPath) and application.enabled
