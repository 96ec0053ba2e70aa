"""Reads in the marketplace, scoped to the person asking."""

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Membership, User
from marketplace.models import (
    TIER_ORDER,
    BomLine,
    DeviceModel,
    ReferenceStandard,
    Review,
    Scenario,
    Solution,
    SolutionRevision,
    Tier,
    Vendor,
)

Status = SolutionRevision.Status


def scenario_list() -> QuerySet[Scenario]:
    return Scenario.objects.all()


def standard_published_for(*, scenario: Scenario) -> ReferenceStandard | None:
    return (
        ReferenceStandard.objects.filter(
            scenario=scenario, status=ReferenceStandard.Status.PUBLISHED
        )
        .prefetch_related("requirements", "bands")
        .first()
    )


def vendor_for(*, user: User, organisation) -> Vendor:
    """The vendor profile of an organisation the user belongs to; 404 otherwise."""
    return get_object_or_404(
        Vendor.objects.select_related("organisation"),
        organisation=organisation,
        organisation__memberships__user=user,
    )


def device_model_list_for_vendor(*, vendor: Vendor) -> QuerySet[DeviceModel]:
    return vendor.device_models.prefetch_related("scenarios").order_by("name")


def solution_list_for_vendor(*, vendor: Vendor) -> QuerySet[Solution]:
    return (
        vendor.solutions.select_related("scenario")
        .prefetch_related(
            Prefetch("revisions", queryset=SolutionRevision.objects.order_by("-number"))
        )
        .order_by("scenario__position", "tier", "pk")
    )


def solution_get_for_vendor(*, user: User, public_id) -> Solution:
    """A vendor sees its own solutions, drafts included; anyone else gets 404."""
    member_of = Membership.objects.filter(user=user).values("organisation_id")
    return get_object_or_404(
        Solution.objects.select_related("vendor__organisation", "scenario"),
        public_id=public_id,
        vendor__organisation_id__in=member_of,
    )


def catalog_revisions(
    *,
    scenario: Scenario,
    tier: str | None = None,
    mode: str | None = None,
    vendor_public_id=None,
    max_price: int | None = None,
    sort: str = "price",
) -> QuerySet[SolutionRevision]:
    """Certified, current revisions for a scenario: what a unit may choose from.

    Sorted by price or by tier only (never by anything a vendor could pay for); the ties
    are broken by the solution's id, which favours no one in particular.
    """
    revisions = (
        SolutionRevision.objects.filter(solution__scenario=scenario, status=Status.CERTIFIED)
        .select_related("solution__vendor__organisation", "standard")
        .prefetch_related(Prefetch("bom", queryset=BomLine.objects.select_related("device_model")))
    )
    if tier:
        revisions = revisions.filter(solution__tier=tier)
    if mode == "lease":
        revisions = revisions.filter(lease_monthly_fee__isnull=False)
    if vendor_public_id:
        revisions = revisions.filter(solution__vendor__public_id=vendor_public_id)
    if max_price is not None:
        revisions = revisions.filter(purchase_price__lte=max_price)
    if sort == "tier":
        from django.db.models import Case, IntegerField, When

        tier_rank = Case(
            *[When(solution__tier=t, then=rank) for t, rank in TIER_ORDER.items()],
            output_field=IntegerField(),
        )
        return revisions.order_by(tier_rank, "purchase_price", "solution_id")
    if sort == "-price":
        return revisions.order_by("-purchase_price", "solution_id")
    return revisions.order_by("purchase_price", "solution_id")


def catalog_tiers_missing(*, scenario: Scenario) -> list[str]:
    """Tiers with no certified solution, so the catalog can say so plainly."""
    present = set(
        SolutionRevision.objects.filter(solution__scenario=scenario, status=Status.CERTIFIED)
        .values_list("solution__tier", flat=True)
        .distinct()
    )
    return [tier for tier in Tier.values if tier not in present]


def certified_revision_get(*, public_id) -> SolutionRevision:
    """The current certified revision of a solution, for anyone signed in; 404 otherwise."""
    return get_object_or_404(
        SolutionRevision.objects.select_related("solution__vendor__organisation", "standard"),
        solution__public_id=public_id,
        status=Status.CERTIFIED,
    )


def certificate_get(*, number: str) -> SolutionRevision:
    """Public verification: any revision that was ever certified, whatever its status now."""
    return get_object_or_404(
        SolutionRevision.objects.select_related(
            "solution__vendor__organisation", "solution__scenario", "standard"
        ),
        certificate_number=number,
    )


def review_queue() -> QuerySet[SolutionRevision]:
    """Oldest first: submitted and in-review revisions waiting for a decision."""
    return (
        SolutionRevision.objects.filter(status__in=[Status.SUBMITTED, Status.IN_REVIEW])
        .select_related("solution__vendor__organisation", "solution__scenario", "standard")
        .order_by("submitted_at", "pk")
    )


def review_get_for(*, user: User, revision: SolutionRevision) -> Review:
    return get_object_or_404(
        Review.objects.select_related("revision__standard").prefetch_related("verdicts"),
        revision=revision,
        authority__memberships__user=user,
    )
