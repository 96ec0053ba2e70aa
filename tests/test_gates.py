"""Gates that the whole project passes, run with the tests so that `make test` enforces them:
lint and format, migrations in step with the models, and a production-like deploy check."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def run(*command: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        command,
        cwd=BASE_DIR,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = f"$ {' '.join(command)}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output


def test_ruff_finds_nothing():
    run(sys.executable, "-m", "ruff", "check", ".")


def test_code_is_formatted():
    run(sys.executable, "-m", "ruff", "format", "--check", ".")


@pytest.mark.timeout(120)
def test_migrations_match_the_models():
    run(sys.executable, "manage.py", "makemigrations", "--check", "--dry-run")


@pytest.mark.timeout(120)
def test_deploy_check_passes_with_production_settings():
    env = dict(os.environ)
    for name in ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "CSRF_TRUSTED_ORIGINS"):
        env.pop(name, None)  # whatever this machine sets, production leaves them derived
    env |= {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "SITE_URL": "https://safeunit.example.cn",
        "ALLOWED_HOSTS": "safeunit.example.cn",
    }
    run(sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)


# Indexes a write must keep up to date but no query needs: a plain B-tree index whose columns
# lead another index on the same table (Django indexes every foreign key on its own, which a
# composite index or unique constraint starting with that key makes redundant).
_REDUNDANT_INDEXES = """
SELECT a.indexrelid::regclass::text, b.indexrelid::regclass::text
FROM pg_index a
JOIN pg_index b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
JOIN pg_class ca ON ca.oid = a.indexrelid
JOIN pg_class cb ON cb.oid = b.indexrelid AND cb.relam = ca.relam
JOIN pg_am am ON am.oid = ca.relam AND am.amname = 'btree'
WHERE a.indrelid::regclass::text = ANY(%s)
  AND NOT a.indisunique
  AND a.indpred IS NULL AND b.indpred IS NULL AND a.indexprs IS NULL AND b.indexprs IS NULL
  AND (b.indkey::text = a.indkey::text OR b.indkey::text LIKE a.indkey::text || ' %%')
  AND (b.indclass::text = a.indclass::text OR b.indclass::text LIKE a.indclass::text || ' %%')
"""
OUR_APPS = {"accounts", "units", "marketplace", "billing", "devices", "alerts", "oversight"}


@pytest.mark.django_db
def test_no_index_is_led_by_another():
    from django.apps import apps
    from django.db import connection

    # Tables whose columns we declare: not the many-to-many tables Django makes, nor the
    # object-permission models whose foreign keys django-guardian declares.
    tables = [
        model._meta.db_table
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS
        and not model.__name__.endswith("ObjectPermission")
        and model._meta.managed
    ]
    with connection.cursor() as cursor:
        cursor.execute(_REDUNDANT_INDEXES, [tables])
        redundant = cursor.fetchall()
    assert not redundant, "indexes led by another (use db_index=False): " + ", ".join(
        f"{index} (led by {covering})" for index, covering in redundant
    )
