"""Public verification: the page and the PDF by certificate number, no login needed."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from marketplace import certificates, services
from marketplace.models import SolutionRevision


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def test_verification_url_is_site_url_plus_the_page(settings):
    settings.SITE_URL = "https://safeunit.example.cn"

    assert certificates.verification_url("SU-2026-FIRE-000042") == (
        "https://safeunit.example.cn/certificates/SU-2026-FIRE-000042/"
    )


@pytest.mark.django_db
def test_public_page_shows_the_facts_anonymously(certified):
    response = Client().get(reverse("marketplace:certificate", args=[certified.certificate_number]))

    assert response.status_code == 200
    page = response.content.decode()
    for fact in [
        certified.certificate_number,
        "申安消防科技",
        "小店烟感套餐",
        "Mid tier",
        "消防安全参考标准 v1",
        "Valid: certified",
        certified.valid_from.isoformat(),
        certified.valid_until.isoformat(),
    ]:
        assert fact in page, fact


@pytest.mark.django_db
def test_pdf_is_served_anonymously_with_the_number_and_the_qr_url(certified, settings, monkeypatch):
    settings.SITE_URL = "https://safeunit.example.cn"
    encoded = []
    real_make = certificates.segno.make
    monkeypatch.setattr(
        certificates.segno, "make", lambda url, **kw: encoded.append(url) or real_make(url, **kw)
    )
    number = certified.certificate_number

    response = Client().get(reverse("marketplace:certificate_pdf", args=[number]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert number.encode() in response.content
    assert encoded == [f"https://safeunit.example.cn/certificates/{number}/"]


@pytest.mark.django_db
def test_suspended_certificate_says_suspended(certified, rita):
    services.certificate_suspend(revision=certified, by=rita, reason="抽检不合格")

    response = Client().get(reverse("marketplace:certificate", args=[certified.certificate_number]))

    assert "Suspended" in response.content.decode()
    assert "this certificate is suspended" in response.content.decode()
    assert "Valid: certified" not in response.content.decode()


@pytest.mark.django_db
def test_certificate_past_its_date_reads_expired_before_the_sweep(certified):
    SolutionRevision.objects.filter(pk=certified.pk).update(
        valid_until=timezone.localdate() - timedelta(days=1)
    )

    response = Client().get(reverse("marketplace:certificate", args=[certified.certificate_number]))

    assert "this certificate is past its validity" in response.content.decode()


@pytest.mark.django_db
def test_unknown_number_is_404():
    client = Client()

    assert client.get("/certificates/SU-2026-FIRE-999999/").status_code == 404
    assert client.get("/certificates/SU-2026-FIRE-999999.pdf").status_code == 404
