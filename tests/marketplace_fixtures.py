"""Marketplace personas (shared by the marketplace and billing tests): rita reviews for the
Huangpu authority; vince owns a vendor; wendy owns a competing vendor and must never see
vince's drafts."""

import pytest

from accounts.models import Organisation
from marketplace import services
from marketplace.models import BomLine, DeviceModel, Requirement, Scenario
from marketplace.reference_data import scenarios_seed
from tests import factories
from units import services as unit_services

YUAN = 100


@pytest.fixture
def rita(regions):
    user = factories.UserFactory(email="rita@example.cn", full_name="Rita")
    unit_services.authority_create(name="黄浦区城运中心", region=regions["district"], owner=user)
    return user


@pytest.fixture
def authority(rita):
    return rita.memberships.get().organisation


@pytest.fixture
def fire():
    scenarios_seed(Scenario)  # a transactional test before this one may have flushed them
    return Scenario.objects.get(code="fire")


@pytest.fixture
def fire_standard(fire, authority, rita):
    """Published: FIRE-1 for every tier, FIRE-2 (response ≤ 10 s) for mid and high."""
    standard = services.standard_create(
        scenario=fire,
        authority=authority,
        by=rita,
        title="消防安全参考标准",
        title_en="Fire safety reference standard",
        allowed_modes=["purchase", "lease"],
        monitoring_fee_min=2 * YUAN,
        monitoring_fee_max=20 * YUAN,
    )
    services.standard_requirement_add(
        standard=standard,
        by=rita,
        code="FIRE-1",
        text="烟雾探测并报警",
        text_en="Detects smoke",
        kind=Requirement.Kind.CAPABILITY,
        tiers=["low", "mid", "high"],
    )
    services.standard_requirement_add(
        standard=standard,
        by=rita,
        code="FIRE-2",
        text="报警上传不超过10秒",
        text_en="Alarm forwarded within 10 s",
        kind=Requirement.Kind.PERFORMANCE,
        threshold=10,
        threshold_unit="s",
        tiers=["mid", "high"],
    )
    for tier, low, high in [("low", 50, 200), ("mid", 150, 400), ("high", 300, 1000)]:
        services.standard_band_set(
            standard=standard, by=rita, tier=tier, price_min=low * YUAN, price_max=high * YUAN
        )
    return services.standard_publish(standard=standard, by=rita)


def _vendor(owner, name, licence):
    organisation = factories.organisation_for(owner, kind=Organisation.Kind.VENDOR, name=name)
    return services.vendor_profile_save(
        organisation=organisation,
        by=owner,
        licence_number=licence,
        contact_name=owner.full_name,
        contact_phone="021-60000000",
        contact_email=owner.email,
    )


@pytest.fixture
def vince(db):
    return factories.UserFactory(email="vince@example.cn", full_name="Vince")


@pytest.fixture
def vendor(vince):
    return _vendor(vince, "申安消防科技", "91310101MA1FP0001X")


@pytest.fixture
def wendy(db):
    return factories.UserFactory(email="wendy@example.cn", full_name="Wendy")


@pytest.fixture
def other_vendor(wendy):
    return _vendor(wendy, "浦江智能", "91310101MA1FP0002Y")


@pytest.fixture
def smoke_detector(vendor, vince, fire):
    return services.device_model_save(
        vendor=vendor,
        by=vince,
        scenarios=[fire],
        name="NB-IoT 独立式烟感",
        model_number="SA-S100",
        category=DeviceModel.Category.SMOKE_DETECTOR,
        metrics=[{"name": "smoke", "unit": "dB/m", "min": 0, "max": 2}],
        heartbeat_interval_s=3600,
        heartbeat_grace_s=600,
        battery_life_months=60,
        protocol=DeviceModel.Protocol.HTTP,
        unit_cost=60 * YUAN,
    )


def revision_fields(**overrides):
    fields = {
        "name": "小店烟感套餐",
        "name_en": "Small-shop smoke kit",
        "purchase_price": 180 * YUAN,
        "installation_fee": 20 * YUAN,
        "lease_monthly_fee": 8 * YUAN,
        "lease_min_months": 12,
        "lease_deposit": 50 * YUAN,
        "lease_buyout_price": 30 * YUAN,
        "monitoring_fee": 5 * YUAN,
        "warranty_months": 24,
        "repair_sla_hours": 24,
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def draft(vendor, vince, fire, smoke_detector):
    """A mid-tier fire solution: one detector per 30 m², at least per floor's worth."""
    return services.solution_create(
        vendor=vendor,
        by=vince,
        scenario=fire,
        tier="mid",
        bom=[
            {
                "device_model": smoke_detector,
                "rule": BomLine.Rule.PER_AREA,
                "quantity": 1,
                "area_step_m2": 30,
            }
        ],
        **revision_fields(),
    )


def certify(revision, reviewer, *, verdict="met"):
    """Drive a submitted revision through review to certification."""
    review = services.review_start(revision=revision, by=reviewer)
    for requirement in revision.standard.requirements.all():
        services.review_verdict_set(
            review=review,
            by=reviewer,
            requirement=requirement,
            verdict=verdict,
            note="检测报告齐全",
        )
    return services.review_decide(review=review, by=reviewer, decision="certify", reasons="符合")


@pytest.fixture
def certified(draft, vince, rita, fire_standard):
    services.revision_submit(revision=draft, by=vince)
    return certify(draft, rita)


# Vendor workspace (vendor pages and API): vince's organisation also has a staff member and a
# viewer.


@pytest.fixture
def vendor_staff(vendor):
    user = factories.UserFactory(email="sam@example.cn", full_name="Sam")
    factories.member_add(vendor.organisation, user, "staff")
    return user


@pytest.fixture
def vendor_viewer(vendor):
    user = factories.UserFactory(email="val@example.cn", full_name="Val")
    factories.member_add(vendor.organisation, user, "viewer")
    return user


# Reviewer side (review pages and API) ---------------------------------------------------------


@pytest.fixture
def ada(rita, authority):
    """A viewer in rita's authority: reads the review pages, may write nothing."""
    user = factories.UserFactory(email="ada@example.cn", full_name="Ada")
    factories.member_add(authority, user, "viewer")
    return user


@pytest.fixture
def submitted(draft, vince, fire_standard):
    return services.revision_submit(revision=draft, by=vince)


# Catalog: many certified solutions at once, straight into the tables (not via the services).


@pytest.fixture
def bulk_solutions(fire_standard, smoke_detector):
    """bulk_solutions(vendor=..., count=..., status="certified", tier="mid", **revision fields)
    → revisions, each with one per-30-m² detector line; certified ones get unique numbers."""
    from itertools import count as counter

    from marketplace.models import Solution, SolutionRevision

    numbers = counter(1)
    numbered = {"certified", "suspended", "revoked", "expired", "superseded"}

    def create(*, vendor, count=1, status="certified", tier="mid", scenario=None, **fields):
        solutions = Solution.objects.bulk_create(
            Solution(vendor=vendor, scenario=scenario or fire_standard.scenario, tier=tier)
            for _ in range(count)
        )
        revisions = SolutionRevision.objects.bulk_create(
            SolutionRevision(
                solution=solution,
                number=1,
                status=status,
                standard=fire_standard,
                certificate_number=f"TEST-{next(numbers):05}" if status in numbered else None,
                **revision_fields(**fields),
            )
            for solution in solutions
        )
        BomLine.objects.bulk_create(
            BomLine(
                revision=revision,
                device_model=smoke_detector,
                rule=BomLine.Rule.PER_AREA,
                quantity=1,
                area_step_m2=30,
            )
            for revision in revisions
        )
        return revisions

    return create
