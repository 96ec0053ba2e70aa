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
