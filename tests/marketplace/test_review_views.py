"""The reviewers' pages: queue, standards, the review of a revision, certificate actions.
rita reviews (authority owner), ada is a viewer in her authority, vince is the vendor and
alice a unit owner: vendors and units get 404 on every review page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace import services
from marketplace.models import (
    ReferenceStandard,
    RequirementVerdict,
    Review,
    SolutionRevision,
)
from tests.marketplace_fixtures import YUAN, certify, revision_fields

Status = SolutionRevision.Status


@pytest.fixture(autouse=True)
def _english(settings):
    """Assert on the English source strings (Chinese is the default language)."""
    settings.LANGUAGE_CODE = "en"


def submit_another(vendor, vince, fire, smoke_detector, **overrides):
    revision = services.solution_create(
        vendor=vendor,
        by=vince,
        scenario=fire,
        tier="mid",
        bom=[{"device_model": smoke_detector, "rule": "fixed", "quantity": 1}],
        **revision_fields(**overrides),
    )
    return services.revision_submit(revision=revision, by=vince)


def review_url(revision, name="marketplace:review", *extra):
    return reverse(name, args=[revision.solution.public_id, revision.number, *extra])


def _requirements(revision):
    return {r.code: r for r in revision.standard.requirements.all()}


# Queue ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_queue_lists_waiting_revisions_oldest_first_with_days_waiting(
    client_for, rita, certified, vendor, vince, fire, smoke_detector
):
    older = submit_another(vendor, vince, fire, smoke_detector, name="老店套餐")
    newer = submit_another(vendor, vince, fire, smoke_detector, name="新店套餐")
    SolutionRevision.objects.filter(pk=older.pk).update(
        submitted_at=timezone.now() - timedelta(days=3)
    )
    SolutionRevision.objects.filter(pk=certified.pk).update(
        valid_until=timezone.localdate() + timedelta(days=30)
    )

    response = client_for(rita).get(reverse("marketplace:review_queue"))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("老店套餐") < page.index("新店套餐")
    assert "3 days" in page
    assert review_url(newer) in page
    # The expiring-certificates list shows a certificate that ends within 60 days.
    assert certified.certificate_number in page


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["vince", "alice"])
def test_vendor_and_unit_users_get_404_on_the_review_pages(
    request, client_for, persona, submitted, alice_org
):
    client = client_for(request.getfixturevalue(persona))

    for url in [
        reverse("marketplace:review_queue"),
        reverse("marketplace:standards"),
        review_url(submitted),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(review_url(submitted, "marketplace:review_start")).status_code == 404
    assert Review.objects.count() == 0


@pytest.mark.django_db
def test_queue_query_count_is_constant_as_it_grows(
    client_for, rita, vendor, vince, fire, smoke_detector, fire_standard
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(rita)
    url = reverse("marketplace:review_queue")

    def queries_for_page():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured.captured_queries), response.content.decode()

    submit_another(vendor, vince, fire, smoke_detector)
    client.get(url)  # the first request warms the session and content types
    few, _page = queries_for_page()
    for _ in range(10):
        submit_another(vendor, vince, fire, smoke_detector)
    many, page = queries_for_page()

    assert many == few
    assert page.count('id="queue-') == 11


# Standards -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reviewer_writes_a_new_version_and_publishes_it(client_for, rita, fire, fire_standard):
    client = client_for(rita)

    response = client.post(
        reverse("marketplace:standards"),
        {
            "scenario": "fire",
            "title": "消防安全参考标准（2027）",
            "title_en": "Fire safety 2027",
            "allowed_modes": ["purchase"],
            "monitoring_fee_min": "3.00",
            "monitoring_fee_max": "15.50",
        },
    )

    draft = ReferenceStandard.objects.get(scenario=fire, version=2)
    assert response.status_code == 302
    assert response["Location"] == reverse("marketplace:standard", args=["fire", 2])
    assert (draft.monitoring_fee_min, draft.monitoring_fee_max) == (300, 1550)
    base = reverse("marketplace:standard", args=["fire", 2])

    # Publishing with nothing in it is refused, and the page says why.
    refused = client.post(base + "publish/")
    assert "Add at least one requirement before publishing." in refused.content.decode()
    draft.refresh_from_db()
    assert draft.status == ReferenceStandard.Status.DRAFT

    client.post(
        base + "requirements/",
        {
            "code": "F-1",
            "text": "烟感报警",
            "text_en": "Smoke alarm",
            "kind": "performance",
            "threshold": "10",
            "threshold_unit": "s",
            "tiers": ["low", "mid", "high"],
        },
    )
    for tier, low, high in [("low", "50", "200"), ("mid", "150.50", "400"), ("high", "300", "999")]:
        client.post(base + "bands/", {"tier": tier, "price_min": low, "price_max": high})
    assert draft.bands.get(tier="mid").price_min == 15050

    page = client.get(base).content.decode()
    assert "¥150.50" in page and "F-1" in page

    assert client.post(base + "publish/").status_code == 302
    draft.refresh_from_db()
    fire_standard.refresh_from_db()
    assert draft.status == ReferenceStandard.Status.PUBLISHED
    assert fire_standard.status == ReferenceStandard.Status.RETIRED


@pytest.mark.django_db
def test_performance_requirement_without_threshold_names_the_field(
    client_for, rita, fire, authority
):
    standard = services.standard_create(
        scenario=fire,
        authority=authority,
        by=rita,
        title="t",
        title_en="t",
        allowed_modes=["purchase"],
        monitoring_fee_min=0,
        monitoring_fee_max=100,
    )
    response = client_for(rita).post(
        reverse("marketplace:standard", args=["fire", standard.version]) + "requirements/",
        {"code": "P-1", "text": "x", "text_en": "x", "kind": "performance", "tiers": ["low"]},
    )

    assert response.status_code == 200
    assert "Threshold (performance only): A performance requirement needs a threshold." in (
        response.content.decode()
    )
    assert not standard.requirements.exists()


@pytest.mark.django_db
def test_drafts_are_hidden_from_vendors_but_published_standards_are_readable(
    client_for, rita, vince, fire, authority, fire_standard
):
    services.standard_create(
        scenario=fire,
        authority=authority,
        by=rita,
        title="草稿",
        title_en="draft",
        allowed_modes=["purchase"],
        monitoring_fee_min=0,
        monitoring_fee_max=100,
    )
    client = client_for(vince)

    assert client.get(reverse("marketplace:standard", args=["fire", 2])).status_code == 404
    published = client.get(reverse("marketplace:standard", args=["fire", 1]))
    assert published.status_code == 200
    assert "FIRE-1" in published.content.decode()
    assert "requirement-form" not in published.content.decode()


@pytest.mark.django_db
def test_authority_viewer_may_read_but_not_write_standards(client_for, ada, fire, fire_standard):
    client = client_for(ada)

    assert client.get(reverse("marketplace:standards")).status_code == 200
    response = client.post(
        reverse("marketplace:standards"),
        {
            "scenario": "fire",
            "title": "x",
            "title_en": "x",
            "allowed_modes": ["purchase"],
            "monitoring_fee_min": "1",
            "monitoring_fee_max": "2",
        },
    )
    assert response.status_code == 403
    assert ReferenceStandard.objects.count() == 1


# Review --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_happy_path_start_checklist_certify(client_for, rita, submitted):
    client = client_for(rita)

    page = client.get(review_url(submitted)).content.decode()
    assert "start-review" in page and "SA-S100" in page and "¥180.00" in page

    assert client.post(review_url(submitted, "marketplace:review_start")).status_code == 302
    requirements = _requirements(submitted)
    for requirement in requirements.values():
        prefix = f"r{requirement.pk}"
        response = client.post(
            review_url(submitted, "marketplace:review_verdict", requirement.pk),
            {f"{prefix}-verdict": "met", f"{prefix}-note": "报告齐全"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        assert 'id="work"' in response.content.decode()

    page = client.get(review_url(submitted)).content.decode()
    assert "certification-problems" not in page

    response = client.post(
        review_url(submitted, "marketplace:review_decision"),
        {"decision": "certify", "reasons": "符合标准"},
    )

    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == Status.CERTIFIED
    page = client.get(review_url(submitted)).content.decode()
    assert submitted.certificate_number in page
    assert "certificate-form" in page  # suspend / reinstate / revoke offered
    assert list(submitted.transitions.values_list("to_status", flat=True)) == [
        "draft",
        "submitted",
        "in_review",
        "certified",
    ]


@pytest.mark.django_db
def test_out_of_band_price_shows_why_it_cannot_be_certified(
    client_for, rita, vince, draft, fire_standard
):
    services.revision_update(revision=draft, by=vince, purchase_price=500 * YUAN)  # mid: 150–400
    services.revision_submit(revision=draft, by=vince)
    review = services.review_start(revision=draft, by=rita)
    for requirement in _requirements(draft).values():
        services.review_verdict_set(review=review, by=rita, requirement=requirement, verdict="met")
    client = client_for(rita)

    page = client.get(review_url(draft)).content.decode()
    assert "<mark>¥500.00</mark>" in page
    assert "outside the" in page and "certification-problems" in page

    response = client.post(
        review_url(draft, "marketplace:review_decision"), {"decision": "certify", "reasons": ""}
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "Decision: The purchase price ¥500.00 is outside the" in body
    draft.refresh_from_db()
    assert draft.status == Status.IN_REVIEW
    assert draft.certificate_number is None


@pytest.mark.django_db
def test_not_met_without_note_names_the_note(client_for, rita, submitted):
    services.review_start(revision=submitted, by=rita)
    requirement = _requirements(submitted)["FIRE-1"]
    prefix = f"r{requirement.pk}"

    response = client_for(rita).post(
        review_url(submitted, "marketplace:review_verdict", requirement.pk),
        {f"{prefix}-verdict": "not_met", f"{prefix}-note": ""},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "Note: Say why the requirement is not met." in response.content.decode()
    assert not RequirementVerdict.objects.exists()


@pytest.mark.django_db
def test_reject_without_reasons_names_reasons(client_for, rita, submitted):
    services.review_start(revision=submitted, by=rita)

    response = client_for(rita).post(
        review_url(submitted, "marketplace:review_decision"), {"decision": "reject", "reasons": ""}
    )

    assert "Reasons: Give the vendor your reasons." in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == Status.IN_REVIEW


@pytest.mark.django_db
def test_authority_viewer_reads_the_review_but_gets_403_on_writes(client_for, ada, submitted):
    client = client_for(ada)

    page = client.get(review_url(submitted))
    assert page.status_code == 200
    assert "start-review" not in page.content.decode()
    assert client.post(review_url(submitted, "marketplace:review_start")).status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED


@pytest.mark.django_db
def test_suspend_then_reinstate_then_revoke(client_for, rita, certified):
    client = client_for(rita)
    url = review_url(certified, "marketplace:certificate_action")

    missing_reason = client.post(url, {"action": "suspend", "reason": ""})
    assert "Reason: Give a reason" in missing_reason.content.decode()
    assert client.post(url, {"action": "suspend", "reason": "抽检不合格"}).status_code == 302
    certified.refresh_from_db()
    assert certified.status == Status.SUSPENDED
    assert "抽检不合格" in client.get(review_url(certified)).content.decode()

    client.post(url, {"action": "reinstate", "reason": "复检合格"})
    certified.refresh_from_db()
    assert certified.status == Status.CERTIFIED
    client.post(url, {"action": "revoke", "reason": "伪造报告"})
    certified.refresh_from_db()
    assert certified.status == Status.REVOKED


@pytest.mark.django_db
def test_certify_helper_still_matches_pages(rita, submitted):
    """The conftest helper and the pages drive the same services."""
    revision = certify(submitted, rita)
    assert revision.status == Status.CERTIFIED


@pytest.mark.django_db
def test_draft_modes_and_monitoring_band_can_be_changed_before_publishing(
    client_for, rita, fire, authority, fire_standard
):
    standard = services.standard_create(
        scenario=fire,
        authority=authority,
        by=rita,
        title="草稿",
        title_en="Draft",
        allowed_modes=["purchase"],
        monitoring_fee_min=100,
        monitoring_fee_max=200,
    )
    url = reverse("marketplace:standard_update", args=["fire", standard.version])
    payload = {"title": "草稿二", "title_en": "Draft 2", "allowed_modes": ["purchase", "lease"]}
    client = client_for(rita)

    inverted = client.post(url, {**payload, "monitoring_fee_min": "9", "monitoring_fee_max": "1"})
    assert "The ceiling must not be below the floor." in inverted.content.decode()
    assert (
        client.post(
            url, {**payload, "monitoring_fee_min": "2.5", "monitoring_fee_max": "30"}
        ).status_code
        == 302
    )

    standard.refresh_from_db()
    assert standard.allowed_modes == ["lease", "purchase"]
    assert (standard.monitoring_fee_min, standard.monitoring_fee_max) == (250, 3000)
    # A published version cannot be changed any more.
    published = reverse("marketplace:standard_update", args=["fire", 1])
    response = client.post(
        published, {**payload, "monitoring_fee_min": "1", "monitoring_fee_max": "2"}
    )
    assert "A published or retired standard cannot be changed." in response.content.decode()
    fire_standard.refresh_from_db()
    assert fire_standard.title == "消防安全参考标准"


@pytest.mark.django_db
def test_verdict_with_evidence_file_is_kept(client_for, rita, submitted, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    services.review_start(revision=submitted, by=rita)
    requirement = _requirements(submitted)["FIRE-2"]
    prefix = f"r{requirement.pk}"

    response = client_for(rita).post(
        review_url(submitted, "marketplace:review_verdict", requirement.pk),
        {
            f"{prefix}-verdict": "met",
            f"{prefix}-note": "实测 6 秒",
            f"{prefix}-evidence": SimpleUploadedFile("report.pdf", b"%PDF-1.4 test"),
        },
    )

    assert response.status_code == 302
    verdict = RequirementVerdict.objects.get(requirement=requirement)
    assert verdict.note == "实测 6 秒"
    assert verdict.evidence.read() == b"%PDF-1.4 test"


@pytest.mark.django_db
def test_resubmitted_after_changes_is_reviewed_again_on_the_same_checklist(
    client_for, rita, vince, submitted
):
    review = services.review_start(revision=submitted, by=rita)
    fire_1 = _requirements(submitted)["FIRE-1"]
    services.review_verdict_set(
        review=review, by=rita, requirement=fire_1, verdict="not_met", note="缺检测报告"
    )
    services.review_decide(
        review=review, by=rita, decision="changes_requested", reasons="请补充检测报告"
    )
    services.revision_submit(revision=submitted, by=vince)
    client = client_for(rita)

    assert client.post(review_url(submitted, "marketplace:review_start")).status_code == 302

    submitted.refresh_from_db()
    assert submitted.status == Status.IN_REVIEW
    page = client.get(review_url(submitted)).content.decode()
    assert "Requirements not met: FIRE-1." in page
    assert Review.objects.get(revision=submitted).decided_at is None
