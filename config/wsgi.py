"""The WSGI application: Django, with a short way in for device ingest.

Ingest is by far the busiest path (DESIGN §9: ≥ 1,500 single-event requests/s on 2 cores), and
Django's request objects, eleven middleware and URL resolver cost more CPU than the ingest
itself. So `POST /api/v1/ingest` and ThingsBoard's `POST /api/v1/<token>/telemetry|attributes`
go straight to the same answer functions that the Django views call
(devices.ingest_views.batch_answer / thingsboard_answer), with the headers that the
middleware would add. Any request out of the ordinary — another method, a cookie, a host not
in ALLOWED_HOSTS, a forwarded host, no Content-Length, a body over Django's limit, plain HTTP
where HTTPS is required, a non-ASCII path — goes through Django itself, which answers it as it
always has. Around each answer the database connection is recycled as Django's request
signals would (close_if_unusable_or_obsolete: CONN_MAX_AGE, broken connections); the other
receivers of those signals (the DEBUG query log, cache connections) have nothing to do for
ingest, and sending the signals costs 8 % of the path.
"""

import gc
import os
import re
from http.client import responses
from io import BytesIO
from types import SimpleNamespace

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class IngestFastPath:
    """WSGI middleware: answers plain ingest requests itself, hands the rest to Django."""

    ROUTE = re.compile(r"/api/v1/(?:(ingest)|([^/]+)/(telemetry|attributes))")

    def __init__(self, django_app):
        from django.conf import settings
        from django.conf.urls.i18n import is_language_prefix_patterns_used
        from django.db import DEFAULT_DB_ALIAS, connections
        from django.utils import translation

        from devices import ingest_views

        self.django_app = django_app
        self.connections, self.db_alias = connections, DEFAULT_DB_ALIAS
        self.settings = settings
        self.translation = translation
        self.views = ingest_views
        self.allowed_hosts = settings.ALLOWED_HOSTS or (
            [".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []
        )
        self.known_hosts: dict[str, bool] = {}
        self.proxy_ssl_header = settings.SECURE_PROXY_SSL_HEADER
        # Settings under which the middleware would do more than add headers: then Django
        # answers every request.
        self.enabled = not (
            settings.DISALLOWED_USER_AGENTS
            or settings.USE_X_FORWARDED_HOST
            or settings.PREPEND_WWW
            or settings.FORCE_SCRIPT_NAME
            or any(is_language_prefix_patterns_used(settings.ROOT_URLCONF))
        )
        self.default_language = None
        self.default_language = self._language({})
        # What the middleware adds to these answers (django.middleware.security,
        # .clickjacking, sessions' Vary on Cookie, locale's Vary and Content-Language).
        self.after_language = []
        if settings.SECURE_CONTENT_TYPE_NOSNIFF:
            self.after_language.append(("X-Content-Type-Options", "nosniff"))
        if settings.SECURE_REFERRER_POLICY:
            policy = settings.SECURE_REFERRER_POLICY
            policy = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
            self.after_language.append(("Referrer-Policy", ",".join(policy)))
        if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
            self.after_language.append(
                ("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY)
            )
        self.hsts = None
        if settings.SECURE_HSTS_SECONDS:
            self.hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
            if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
                self.hsts += "; includeSubDomains"
            if settings.SECURE_HSTS_PRELOAD:
                self.hsts += "; preload"
        self.x_frame_options = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()

    def __call__(self, environ, start_response):
        route = self._route(environ) if self.enabled else None
        if route is None:
            return self.django_app(environ, start_response)
        try:
            length = int(environ["CONTENT_LENGTH"])
        except (KeyError, ValueError):
            return self.django_app(environ, start_response)
        if not 0 <= length <= self.settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return self.django_app(environ, start_response)
        secure = self._secure(environ)
        if self.settings.SECURE_SSL_REDIRECT and not secure:
            return self.django_app(environ, start_response)

        db = self.connections[self.db_alias]
        db.close_if_unusable_or_obsolete()
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            batch, token, tb_route = route
            if batch:
                status, answer = self.views.batch_answer(
                    environ.get("HTTP_AUTHORIZATION", ""), body
                )
            else:
                status, answer = self.views.thingsboard_answer(token, tb_route, body)
            content_type = "application/json"
        except Exception as exc:  # as Django would: log, signal, the 500 page
            status, answer, content_type = self._server_error(environ, body, exc)
        finally:
            db.close_if_unusable_or_obsolete()
        headers = [
            ("Content-Type", content_type),
            ("X-Frame-Options", self.x_frame_options),
            ("Content-Length", str(len(answer))),
            ("Vary", "Accept-Language, Cookie"),
            ("Content-Language", self._language(environ)),
        ]
        if secure and self.hsts:
            headers.append(("Strict-Transport-Security", self.hsts))
        headers.extend(self.after_language)
        start_response(f"{status} {responses.get(status, 'Unknown Status Code')}", headers)
        return [answer]

    def _route(self, environ):
        """(batch, token, ThingsBoard route) for an ordinary ingest request, else None."""
        if environ.get("REQUEST_METHOD") != "POST" or "HTTP_COOKIE" in environ:
            return None
        match = self.ROUTE.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or not match.string.isascii() or environ.get("SCRIPT_NAME"):
            return None
        host = environ.get("HTTP_HOST")
        if host is None or not self._host_allowed(host):
            return None
        return match.groups()

    def _host_allowed(self, host: str) -> bool:
        allowed = self.known_hosts.get(host)
        if allowed is None:
            from django.http.request import split_domain_port, validate_host

            domain, _port = split_domain_port(host)
            allowed = bool(domain) and validate_host(domain, self.allowed_hosts)
            if len(self.known_hosts) > 1000:
                self.known_hosts.clear()
            self.known_hosts[host] = allowed
        return allowed

    def _secure(self, environ) -> bool:
        if self.proxy_ssl_header:
            header, secure_value = self.proxy_ssl_header
            value = environ.get(header)
            if value is not None:
                return value.split(",", 1)[0].strip() == secure_value
        return environ.get("wsgi.url_scheme") == "https"

    def _language(self, environ) -> str:
        """Content-Language as LocaleMiddleware sets it (no cookie here)."""
        if "HTTP_ACCEPT_LANGUAGE" not in environ and self.default_language:
            return self.default_language
        request = SimpleNamespace(COOKIES={}, META=environ)
        language = self.translation.get_language_from_request(request)
        return self.translation.to_language(language)

    def _server_error(self, environ, body: bytes, exc: Exception) -> tuple[int, bytes, str]:
        from django.core.handlers.exception import response_for_exception
        from django.core.handlers.wsgi import WSGIRequest

        request = WSGIRequest({**environ, "wsgi.input": BytesIO(body)})
        response = response_for_exception(request, exc)
        return response.status_code, response.content, response["Content-Type"]


def loaded_objects_freeze() -> None:
    """Import every view, then leave everything loaded to live as long as the process
    (gc.freeze): the collector stops walking it on each full collection, which with the app
    loaded (~540k objects) added ~100 ms to about one request in twenty."""
    get_resolver().url_patterns  # noqa: B018 (imports the views)
    gc.freeze()


def _application():
    django_app = get_wsgi_application()
    loaded_objects_freeze()
    return IngestFastPath(django_app)


application = _application()
