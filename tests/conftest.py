"""Shared fixtures. Personas, as healthchecks names them: alice owns a shop, bob works there
(staff), vera may only look (viewer), charlie runs another shop and must see nothing of
alice's."""

import os
import shutil

import pytest
from django.test import Client
from django.utils import translation

from accounts.models import Membership
from tests import factories

# Marketplace personas and solutions, shared by the marketplace and billing tests.
pytest_plugins = ["tests.marketplace_fixtures"]


@pytest.fixture(scope="session", autouse=True)
def _close_other_test_database_sessions(django_db_setup, django_db_blocker):
    """Worker and live-server threads keep their own connections (CONN_MAX_AGE); end them
    before the test database is dropped, or the drop fails."""
    yield
    from django.db import connection

    if not connection.settings_dict["NAME"].startswith("test_"):
        return  # never end sessions on a real database
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def regions(db):
    return factories.region_tree()


@pytest.fixture
def other_regions(db):
    return factories.region_tree(prefix="310106", name="静安区")


@pytest.fixture
def alice(db):
    return factories.UserFactory(email="alice@example.cn", full_name="Alice")


@pytest.fixture
def bob(db):
    return factories.UserFactory(email="bob@example.cn", full_name="Bob")


@pytest.fixture
def vera(db):
    return factories.UserFactory(email="vera@example.cn", full_name="Vera")


@pytest.fixture
def charlie(db):
    return factories.UserFactory(email="charlie@example.cn", full_name="Charlie")


@pytest.fixture
def alice_org(alice, bob, vera):
    organisation = factories.organisation_for(alice, name="Alice's shop")
    factories.member_add(organisation, bob, Membership.Role.STAFF)
    factories.member_add(organisation, vera, Membership.Role.VIEWER)
    return organisation


@pytest.fixture
def alice_unit(alice_org, alice, regions):
    return factories.unit_for(alice_org, by=alice, region=regions["grid"], name="Alice's shop")


@pytest.fixture
def charlie_org(charlie):
    return factories.organisation_for(charlie, name="Charlie's shop")


@pytest.fixture
def charlie_unit(charlie_org, charlie, other_regions):
    return factories.unit_for(
        charlie_org, by=charlie, region=other_regions["grid"], name="Charlie's shop"
    )


def _client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_for():
    """client_for(user) → a test client logged in as that user."""
    return _client_for


@pytest.fixture
def api_client_for():
    """api_client_for(user) → a DRF client authenticated with a real personal API token."""
    from rest_framework.test import APIClient

    from accounts.services import api_token_create

    def make(user):
        _token, raw_key = api_token_create(user=user, name="tests")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        return client

    return make


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """A real Celery worker (in a thread) consuming the configured broker.

    Tests using it need committed data (transactional_db), because the worker reads the
    database through its own connection, as in production.
    """
    from celery.contrib.testing.worker import start_worker
    from django.db import connections

    from config.celery import app

    with start_worker(
        app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10
    ) as worker:
        yield worker
    connections.close_all()


@pytest.fixture(autouse=True)
def _fast_test_settings(settings):
    # Tests read messages in English (the source language); the Chinese default and the
    # catalogue are checked on their own (tests/test_translations.py, the language tests).
    settings.LANGUAGE_CODE = "en"
    translation.activate("en")
    # Password hashing is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The manifest of hashed names exists only after collectstatic; tests use the finders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# Browser tests ------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in this thread; the ORM calls made by the test around it
    # are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def phone(browser):
    """A page the size of a phone (390 px wide), where merchants and duty desks work."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def log_in(live_server):
    """log_in(page, email) signs in through the real login form."""

    def sign_in(page, email, password="correct-horse-42"):
        page.goto(live_server.url + "/login/")
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", password)
        page.click("main button[type=submit]")
        page.wait_for_url(live_server.url + "/")

    return sign_in
