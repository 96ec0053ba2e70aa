import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from marketplace import selectors, services
from marketplace.models import Review, RevisionTransition, SolutionRevision
from tests.marketplace_fixtures import YUAN, certify

Status = SolutionRevision.Status


def test_submit_review_certify_records_every_transition(draft, vince, rita, fire_standard):
    services.revision_submit(revision=draft, by=vince)
    certified = certify(draft, rita)

    assert certified.status == Status.CERTIFIED
    assert certified.standard == fire_standard
    assert certified.certificate_number.startswith(f"SU-{certified.valid_from.year}-FIRE-")
    assert certified.valid_until > certified.valid_from
    steps = list(draft.transitions.values_list("from_status", "to_status", "by__email"))
    assert steps == [
        ("", "draft", "vince@example.cn"),
        ("draft", "submitted", "vince@example.cn"),
        ("submitted", "in_review", "rita@example.cn"),
        ("in_review", "certified", "rita@example.cn"),
    ]


def test_certify_refused_when_a_required_verdict_is_missing(draft, vince, rita, fire_standard):
    services.revision_submit(revision=draft, by=vince)
    review = services.review_start(revision=draft, by=rita)

    with pytest.raises(ValidationError) as error:
        services.review_decide(review=review, by=rita, decision="certify", reasons="")

    assert "FIRE-1" in str(error.value) and "FIRE-2" in str(error.value)
    draft.refresh_from_db()
    assert draft.status == Status.IN_REVIEW and draft.certificate_number is None


def test_price_outside_the_tier_band_cannot_be_certified(draft, vince, rita, fire_standard):
    services.revision_update(revision=draft, by=vince, purchase_price=90 * YUAN)
    services.revision_submit(revision=draft, by=vince)

    with pytest.raises(ValidationError) as error:
        certify(draft, rita)

    message = str(error.value.message_dict["decision"])
    assert "¥90.00" in message and "¥150.00" in message and "¥400.00" in message


def test_no_one_reviews_their_own_organisation(draft, vince, rita, fire_standard, vendor):
    from tests import factories

    factories.member_add(vendor.organisation, rita, "staff")
    services.revision_submit(revision=draft, by=vince)

    with pytest.raises(PermissionDenied):
        services.review_start(revision=draft, by=rita)
    assert not Review.objects.exists()


def test_vendors_cannot_review(draft, vince, fire_standard):
    services.revision_submit(revision=draft, by=vince)
    with pytest.raises(PermissionDenied):
        services.review_start(revision=draft, by=vince)


def test_illegal_transitions_are_refused_with_a_clear_message(certified, vince, rita):
    with pytest.raises(ValidationError) as error:
        services.revision_update(revision=certified, by=vince, purchase_price=1)
    assert "cannot be edited" in str(error.value)

    with pytest.raises(ValidationError) as error:
        services.certificate_reinstate(revision=certified, by=rita, reason="无")
    assert "Certified" in str(error.value) and "cannot become" in str(error.value)


def test_changes_requested_goes_back_to_the_vendor(draft, vince, rita, fire_standard):
    services.revision_submit(revision=draft, by=vince)
    review = services.review_start(revision=draft, by=rita)

    with pytest.raises(ValidationError):
        services.review_decide(review=review, by=rita, decision="changes_requested", reasons=" ")
    services.review_decide(
        review=review, by=rita, decision="changes_requested", reasons="请补充检测报告"
    )

    draft.refresh_from_db()
    assert draft.status == Status.CHANGES_REQUESTED and draft.is_editable
    services.revision_update(revision=draft, by=vince, warranty_months=36)


def test_a_new_revision_supersedes_the_certified_one_only_when_certified(certified, vince, rita):
    draft2 = services.revision_new_draft(solution=certified.solution, by=vince)
    services.revision_update(revision=draft2, by=vince, purchase_price=200 * YUAN)
    assert certified.bom.count() == draft2.bom.count() == 1

    services.revision_submit(revision=draft2, by=vince)
    certified.refresh_from_db()
    assert certified.status == Status.CERTIFIED  # still on the catalog during review

    certify(draft2, rita)
    certified.refresh_from_db()
    assert certified.status == Status.SUPERSEDED
    assert list(selectors.catalog_revisions(scenario=certified.solution.scenario)) == [draft2]


def test_suspend_reinstate_revoke_need_a_reason(certified, rita):
    with pytest.raises(ValidationError) as error:
        services.certificate_suspend(revision=certified, by=rita, reason="")
    assert "reason" in error.value.message_dict

    services.certificate_suspend(revision=certified, by=rita, reason="抽检不合格")
    assert not selectors.catalog_revisions(scenario=certified.solution.scenario).exists()
    services.certificate_reinstate(revision=certified, by=rita, reason="复检合格")
    services.certificate_revoke(revision=certified, by=rita, reason="伪造检测报告")
    certified.refresh_from_db()
    assert certified.status == Status.REVOKED
    assert RevisionTransition.objects.filter(
        revision=certified, to_status="revoked", reason="伪造检测报告"
    ).exists()


def test_certificates_expire_once_even_when_two_sweeps_run(certified):
    later = certified.valid_until + timedelta(days=1)

    assert services.certificates_expire(today=later) == 1
    assert services.certificates_expire(today=later) == 0
    certified.refresh_from_db()
    assert certified.status == Status.EXPIRED
    assert certified.transitions.filter(to_status="expired").count() == 1


def test_publishing_a_new_standard_keeps_old_certificates(certified, fire, authority, rita):
    new = services.standard_create(
        scenario=fire,
        authority=authority,
        by=rita,
        title="v2",
        title_en="v2",
        allowed_modes=["purchase"],
        monitoring_fee_min=0,
        monitoring_fee_max=10 * YUAN,
    )
    services.standard_requirement_add(
        standard=new,
        by=rita,
        code="F1",
        text="x",
        text_en="x",
        kind="capability",
        tiers=["low", "mid", "high"],
    )
    for tier in ("low", "mid", "high"):
        services.standard_band_set(standard=new, by=rita, tier=tier, price_min=0, price_max=10**6)
    services.standard_publish(standard=new, by=rita)

    certified.refresh_from_db()
    certified.standard.refresh_from_db()
    assert certified.status == Status.CERTIFIED
    assert certified.standard.status == "retired"


def test_lease_refused_when_the_standard_allows_only_purchase(draft, vince, fire, authority, rita):
    standard = services.standard_create(
        scenario=fire,
        authority=authority,
        by=rita,
        title="t",
        title_en="t",
        allowed_modes=["purchase"],
        monitoring_fee_min=0,
        monitoring_fee_max=10**5,
    )
    services.standard_requirement_add(
        standard=standard,
        by=rita,
        code="F1",
        text="x",
        text_en="x",
        kind="capability",
        tiers=["mid"],
    )
    for tier in ("low", "mid", "high"):
        services.standard_band_set(
            standard=standard, by=rita, tier=tier, price_min=0, price_max=10**6
        )
    services.standard_publish(standard=standard, by=rita)

    with pytest.raises(ValidationError) as error:
        services.revision_submit(revision=draft, by=vince)
    assert "lease_monthly_fee" in error.value.message_dict


def test_bom_uses_only_the_vendors_own_device_models(draft, wendy, other_vendor, vince, fire):
    from marketplace.models import DeviceModel

    foreign = services.device_model_save(
        vendor=other_vendor,
        by=wendy,
        scenarios=[fire],
        name="x",
        model_number="X1",
        category=DeviceModel.Category.SMOKE_DETECTOR,
        heartbeat_interval_s=600,
        heartbeat_grace_s=60,
        protocol="http",
        unit_cost=1,
    )
    with pytest.raises(ValidationError):
        services.revision_bom_set(
            revision=draft,
            by=vince,
            lines=[{"device_model": foreign, "rule": "fixed", "quantity": 1}],
        )
    assert draft.bom.count() == 1


def test_another_vendor_cannot_see_drafts(draft, wendy, other_vendor):
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.solution_get_for_vendor(user=wendy, public_id=draft.solution.public_id)


@pytest.mark.django_db(transaction=True)
def test_certificate_numbers_are_unique_under_concurrent_certification(request):
    """Two reviewers certify two solutions at the same moment, each in its own connection."""
    from tests import marketplace_fixtures as mc

    regions = request.getfixturevalue("regions")  # noqa: F841 (rita needs the region tree)
    rita = request.getfixturevalue("rita")
    request.getfixturevalue("fire_standard")
    vince = request.getfixturevalue("vince")
    vendor = request.getfixturevalue("vendor")
    detector = request.getfixturevalue("smoke_detector")
    reviews = []
    for number in range(2):
        revision = services.solution_create(
            vendor=vendor,
            by=vince,
            scenario=detector.scenarios.get(),
            tier="mid",
            bom=[{"device_model": detector, "rule": "fixed", "quantity": 2}],
            **mc.revision_fields(name=f"套餐{number}"),
        )
        services.revision_submit(revision=revision, by=vince)
        review = services.review_start(revision=revision, by=rita)
        for requirement in revision.standard.requirements.all():
            services.review_verdict_set(
                review=review, by=rita, requirement=requirement, verdict="met"
            )
        reviews.append(review)
    barrier = threading.Barrier(2)
    errors = []

    def decide(review):
        try:
            barrier.wait()
            services.review_decide(review=review, by=rita, decision="certify", reasons="ok")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(review,)) for review in reviews]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = list(
        SolutionRevision.objects.filter(status="certified").values_list(
            "certificate_number", flat=True
        )
    )
    assert len(numbers) == len(set(numbers)) == 2


def test_expiry_uses_the_date_in_shanghai(certified):
    assert services.certificates_expire(today=certified.valid_until) == 0
    assert isinstance(certified.valid_until, date)
