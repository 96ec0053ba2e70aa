"""Reads in the marketplace, scoped to the person asking."""

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
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
        .select_related("solution__vendor__organisation", "solution__scenario", "standard")
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


# Vendor workspace ----------------------------------------------------------------------------


def vendor_profile_of(*, user: User, organisation) -> Vendor | None:
    """The organisation's vendor profile, or None while it is not filled in yet (the vendor's
    home page prompts for it). Only for an organisation the user belongs to."""
    return (
        Vendor.objects.select_related("organisation")
        .filter(organisation=organisation, organisation__memberships__user=user)
        .first()
    )


def device_model_get_for_vendor(*, user: User, public_id) -> DeviceModel:
    """A vendor's own device model; another vendor's answers 404 like a missing one."""
    member_of = Membership.objects.filter(user=user).values("organisation_id")
    return get_object_or_404(
        DeviceModel.objects.select_related("vendor__organisation").prefetch_related("scenarios"),
        public_id=public_id,
        vendor__organisation_id__in=member_of,
    )


def revision_list_for_solution(*, solution: Solution) -> QuerySet[SolutionRevision]:
    """Every revision of a solution, newest first, with its bill of materials and timeline
    fetched in a fixed number of queries."""
    from marketplace.models import RevisionTransition

    return (
        solution.revisions.select_related("standard")
        .prefetch_related(
            Prefetch("bom", queryset=BomLine.objects.select_related("device_model")),
            Prefetch("transitions", queryset=RevisionTransition.objects.select_related("by")),
        )
        .order_by("-number")
    )


def revision_get(*, solution: Solution, number: int) -> SolutionRevision:
    """A revision looked up inside a solution the caller already may see."""
    return get_object_or_404(
        SolutionRevision.objects.select_related("solution__vendor__organisation"),
        solution=solution,
        number=number,
    )


# Reviewers (authorities) ---------------------------------------------------------------------


def authority_membership_for(*, user: User) -> Membership:
    """The user's membership in an authority (viewers included: they read). Everyone else
    gets 404: review work is invisible outside the authorities."""
    from accounts.models import Organisation

    membership = (
        Membership.objects.filter(user=user, organisation__kind=Organisation.Kind.AUTHORITY)
        .select_related("organisation")
        .order_by("organisation__name", "pk")
        .first()
    )
    if membership is None:
        raise Http404
    return membership


def review_queue_for(*, user: User) -> QuerySet[SolutionRevision]:
    """The review queue, oldest first, for an authority member (404 for anyone else)."""
    authority_membership_for(user=user)
    return review_queue()


def certificates_expiring_for(*, user: User, within_days: int = 60) -> QuerySet[SolutionRevision]:
    """Certified revisions whose validity ends within `within_days`, soonest first."""
    from datetime import timedelta

    from django.utils import timezone

    authority_membership_for(user=user)
    today = timezone.localdate()
    return (
        SolutionRevision.objects.filter(
            status=Status.CERTIFIED,
            valid_until__gte=today,
            valid_until__lte=today + timedelta(days=within_days),
        )
        .select_related("solution__vendor__organisation", "solution__scenario")
        .order_by("valid_until", "pk")
    )


def _standards_visible_to(user: User) -> QuerySet[ReferenceStandard]:
    """Published and retired versions are public documents; a draft is seen only by members
    of the authority writing it."""
    own = Membership.objects.filter(user=user).values("organisation_id")
    return ReferenceStandard.objects.filter(
        ~Q(status=ReferenceStandard.Status.DRAFT) | Q(authority_id__in=own)
    )


def standard_list_for(*, user: User) -> QuerySet[ReferenceStandard]:
    return (
        _standards_visible_to(user)
        .select_related("scenario", "authority")
        .order_by("scenario__position", "scenario__code", "-version")
    )


def standard_get_for(*, user: User, scenario_code: str, version: int) -> ReferenceStandard:
    """One version of a scenario's standard; a draft of another authority answers 404."""
    return get_object_or_404(
        _standards_visible_to(user)
        .select_related("scenario", "authority")
        .prefetch_related("requirements", "bands"),
        scenario__code=scenario_code,
        version=version,
    )


def standard_get_by_id_for(*, user: User, standard_id: int) -> ReferenceStandard:
    return get_object_or_404(
        _standards_visible_to(user)
        .select_related("scenario", "authority")
        .prefetch_related("requirements", "bands"),
        pk=standard_id,
    )


def review_revision_get_for(*, user: User, public_id, number: int) -> SolutionRevision:
    """A revision that was submitted for review (so it has a standard), for authority members;
    its bill of materials, timeline, standard, review and verdicts in a fixed number of queries.
    A vendor or unit user gets 404, as for a revision that does not exist."""
    from marketplace.models import RevisionTransition

    authority_membership_for(user=user)
    return get_object_or_404(
        SolutionRevision.objects.filter(standard__isnull=False)
        .select_related(
            "solution__vendor__organisation",
            "solution__scenario",
            "standard__authority",
            "review__reviewer",
        )
        .prefetch_related(
            Prefetch("bom", queryset=BomLine.objects.select_related("device_model")),
            Prefetch("transitions", queryset=RevisionTransition.objects.select_related("by")),
            "standard__requirements",
            "standard__bands",
            "review__verdicts",
        ),
        solution__public_id=public_id,
        number=number,
    )


def review_of(revision: SolutionRevision) -> Review | None:
    """The revision's review, if one was started (fetched with the revision above)."""
    try:
        return revision.review
    except Review.DoesNotExist:
        return None


# Catalog for units ---------------------------------------------------------------------------


def catalog_tier_counts() -> dict[int, dict[str, int]]:
    """Certified solutions per scenario and tier in one query, so the catalog's front page
    costs the same whatever the number of solutions. Missing tiers count 0."""
    from django.db.models import Count

    rows = (
        SolutionRevision.objects.filter(status=Status.CERTIFIED)
        .order_by()
        .values("solution__scenario_id", "solution__tier")
        .annotate(total=Count("pk"))
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        per_tier = counts.setdefault(row["solution__scenario_id"], dict.fromkeys(Tier.values, 0))
        per_tier[row["solution__tier"]] = row["total"]
    return counts


def catalog_scenario_get(*, code: str) -> Scenario:
    return get_object_or_404(Scenario, code=code)


def catalog_vendors(*, scenario: Scenario) -> QuerySet[Vendor]:
    """Vendors with a certified solution in the scenario: the catalog's vendor filter."""
    certified = SolutionRevision.objects.filter(
        solution__scenario=scenario, status=Status.CERTIFIED
    ).values("solution__vendor_id")
    return Vendor.objects.filter(pk__in=certified).select_related("organisation")


def catalog_unit_choices(*, user: User) -> QuerySet:
    """Units operated by the user's own organisations (not those merely granted to them): the
    units the catalog offers to quote for."""
    from units.selectors import unit_list_for

    member_of = Membership.objects.filter(user=user).values("organisation_id")
    return unit_list_for(user=user).filter(organisation_id__in=member_of).order_by("name", "pk")


def catalog_revision_get(*, public_id) -> SolutionRevision:
    """A solution's current certified revision with its bill of materials, ready to quote;
    404 when the solution is missing or not on the catalog."""
    return get_object_or_404(
        SolutionRevision.objects.select_related(
            "solution__vendor__organisation", "solution__scenario", "standard"
        ).prefetch_related(
            Prefetch("bom", queryset=BomLine.objects.select_related("device_model"))
        ),
        solution__public_id=public_id,
        status=Status.CERTIFIED,
    )


def catalog_compare(
    *, public_ids: list, scenario: Scenario | None = None
) -> list[SolutionRevision]:
    """The certified revisions of the chosen solutions, in the order chosen, with the standard's
    requirements and the review's verdicts, for side-by-side columns. 404 if any of them is
    not on the catalog (or not in the scenario)."""
    from django.http import Http404

    from marketplace.models import Requirement, RequirementVerdict

    revisions = SolutionRevision.objects.filter(
        solution__public_id__in=public_ids, status=Status.CERTIFIED
    )
    if scenario is not None:
        revisions = revisions.filter(solution__scenario=scenario)
    revisions = revisions.select_related(
        "solution__vendor__organisation", "solution__scenario", "standard", "review"
    ).prefetch_related(
        Prefetch("bom", queryset=BomLine.objects.select_related("device_model")),
        Prefetch(
            "standard__requirements", queryset=Requirement.objects.order_by("position", "code")
        ),
        Prefetch("review__verdicts", queryset=RequirementVerdict.objects.all()),
    )
    by_id = {revision.solution.public_id: revision for revision in revisions}
    if len(by_id) != len(set(public_ids)):
        raise Http404("A solution to compare is not on the catalog")
    return [by_id[public_id] for public_id in dict.fromkeys(public_ids)]
