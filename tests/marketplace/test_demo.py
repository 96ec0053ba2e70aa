"""`manage.py load_marketplace_demo`: idempotent, and the whole certification flow is on show."""

from collections import Counter
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import AuditEntry, Organisation, User
from marketplace.models import (
    ReferenceStandard,
    Review,
    RevisionTransition,
    Solution,
    SolutionRevision,
    Vendor,
)

pytestmark = pytest.mark.django_db
Status = SolutionRevision.Status


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load(command: str = "load_marketplace_demo") -> str:
    output = StringIO()
    with translation.override("en"):
        call_command(command, stdout=output)
    return output.getvalue()


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_a_second_run_writes_nothing():
    load()
    first = row_counts()

    with CaptureQueriesContext(connection) as queries:
        output = load()

    assert row_counts() == first
    writes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert len(queries.captured_queries) < 20  # bulk look-ups by natural key
    assert "nothing" in output


def test_it_also_runs_from_load_demo_and_prints_a_summary():
    text = load("load_demo")

    assert "Marketplace demo ready" in text
    assert "24 certified solutions (1 suspended), 3 revisions waiting for review" in text
    assert Vendor.objects.count() == 9


def test_the_demo_covers_the_catalog_the_issue_asks_for():
    load()

    certified = SolutionRevision.objects.filter(status=Status.CERTIFIED)
    assert certified.count() >= 20
    assert certified.values("solution__vendor").distinct().count() >= 8
    assert Vendor.objects.count() >= 8
    assert certified.values("solution__scenario").distinct().count() >= 6
    assert set(certified.values_list("solution__tier", flat=True)) == {"low", "mid", "high"}
    assert certified.filter(lease_monthly_fee__isnull=False).exists()
    assert certified.filter(lease_monthly_fee__isnull=True).exists()
    assert ReferenceStandard.objects.filter(status="published").count() >= 6
    # Every vendor offers 2–4 device models; every certified price sits inside its band.
    per_vendor = Vendor.objects.annotate(n=Count("device_models")).values_list("n", flat=True)
    assert set(per_vendor) <= {2, 3, 4}
    for revision in certified.select_related("standard", "solution"):
        band = revision.standard.bands.get(tier=revision.solution.tier)
        assert band.price_min <= revision.purchase_price <= band.price_max, revision


def test_certificates_are_real_unique_and_issued_by_the_demo_reviewer():
    load()
    reviewer = User.objects.get(email="reviewer@demo.safeunit.cn")

    numbers = list(
        SolutionRevision.objects.exclude(certificate_number=None).values_list(
            "certificate_number", flat=True
        )
    )
    assert len(numbers) == len(set(numbers)) >= 20
    assert all(number.startswith("SU-") for number in numbers)
    for revision in SolutionRevision.objects.filter(status=Status.CERTIFIED):
        steps = list(revision.transitions.values_list("from_status", "to_status", "by"))
        assert steps[-3:] == [
            ("draft", "submitted", steps[-3][2]),
            ("submitted", "in_review", reviewer.pk),
            ("in_review", "certified", reviewer.pk),
        ]
        assert revision.review.decision == Review.Decision.CERTIFY
        required = [
            r for r in revision.standard.requirements.all() if revision.solution.tier in r.tiers
        ]
        assert revision.review.verdicts.count() == len(required)
    authority = Organisation.objects.get(name="黄浦区城市运行管理中心")
    assert set(ReferenceStandard.objects.values_list("authority", flat=True)) == {authority.pk}
    assert AuditEntry.objects.filter(action="revision.certified", actor=reviewer).count() >= 20


def test_the_review_queue_the_suspension_and_the_superseded_revision():
    load()

    statuses = Counter(SolutionRevision.objects.values_list("status", flat=True))
    assert 2 <= statuses[Status.SUBMITTED] + statuses[Status.IN_REVIEW] <= 3
    assert statuses[Status.IN_REVIEW] >= 1
    suspended = SolutionRevision.objects.get(status=Status.SUSPENDED)
    last = suspended.transitions.order_by("at", "pk").last()
    assert (last.from_status, last.to_status) == ("certified", "suspended")
    assert last.reason
    superseded = SolutionRevision.objects.get(status=Status.SUPERSEDED)
    newer = superseded.solution.revisions.get(number=superseded.number + 1)
    assert newer.status == Status.CERTIFIED
    assert newer.purchase_price < superseded.purchase_price
    # A certified solution with a second revision waiting keeps its certified one listed.
    waiting = Solution.objects.filter(
        revisions__status=Status.CERTIFIED, revisions__number=1
    ).filter(revisions__status=Status.SUBMITTED, revisions__number=2)
    assert waiting.exists()
    assert RevisionTransition.objects.filter(by=None).count() == 0


def test_vendor_owners_other_than_the_demo_login_cannot_log_in():
    load("load_demo")

    assert authenticate(username="vendor@demo.safeunit.cn", password="safeunit-demo")
    vendor_login = User.objects.get(email="vendor@demo.safeunit.cn")
    assert vendor_login.memberships.get().organisation.vendor.licence_number
    owners = User.objects.filter(
        memberships__organisation__vendor__isnull=False, memberships__role="owner"
    ).exclude(pk=vendor_login.pk)
    assert owners.count() == 8
    assert not any(owner.has_usable_password() for owner in owners)
    licences = list(Vendor.objects.values_list("licence_number", flat=True))
    assert all(len(licence) == 18 for licence in licences)
    assert len(set(licences)) == len(licences)
