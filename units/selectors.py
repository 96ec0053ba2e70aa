"""Reads in units, always scoped to the person asking. 404 for "missing" and "not yours" alike."""

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Membership, Organisation, User
from units.models import (
    Authority,
    DutyShift,
    EmergencyContact,
    Region,
    Responder,
    Unit,
    UnitGroupObjectPermission,
)


def _granted_unit_ids(*, user: User, codename: str):
    return UnitGroupObjectPermission.objects.filter(
        group__user=user, permission__codename=codename
    ).values("content_object_id")


def unit_list_for(*, user: User) -> QuerySet[Unit]:
    """Units of the user's organisations, plus those granted to them (park office, authority,
    responder). The grants are read straight from the direct-FK table with an index."""
    member_of = Membership.objects.filter(user=user).values("organisation_id")
    own = Unit.objects.filter(organisation_id__in=member_of).values("pk")
    # One set of ids, not an OR of two conditions: PostgreSQL cannot use an index for the OR
    # and would read every unit (and, for a device list, every device) to test it.
    visible = own.union(_granted_unit_ids(user=user, codename="view_unit"))
    return Unit.objects.filter(pk__in=visible).select_related("region", "organisation", "parent")


def unit_get_for(*, user: User, public_id) -> Unit:
    return get_object_or_404(unit_list_for(user=user), public_id=public_id)


def unit_membership_for(*, user: User, unit: Unit) -> Membership | None:
    """The user's role in the organisation that owns the unit (None for granted viewers)."""
    return Membership.objects.filter(user=user, organisation_id=unit.organisation_id).first()


def contact_list(*, unit: Unit) -> QuerySet[EmergencyContact]:
    return unit.contacts.order_by("position")


def contact_get(*, unit: Unit, contact_id: int) -> EmergencyContact:
    return get_object_or_404(
        EmergencyContact.objects.select_related("unit__organisation"), unit=unit, pk=contact_id
    )


def authority_list_for(*, user: User) -> QuerySet[Authority]:
    return Authority.objects.filter(organisation__memberships__user=user).select_related("region")


def region_get_for(*, user: User, code: str) -> Region:
    """A region inside one of the user's authorities' jurisdictions; 404 otherwise."""
    query = Q(pk__in=[])
    for authority in authority_list_for(user=user):
        query |= Q(path__startswith=authority.region.path)
    return get_object_or_404(Region.objects.filter(query).select_related("parent"), code=code)


def region_children_with_counts(*, region: Region) -> QuerySet[Region]:
    """Child regions, each with the number of units in its whole subtree, in one query."""
    units_in_subtree = (
        Unit.objects.filter(region__path__startswith=OuterRef("path"))
        .order_by()
        .annotate(group=Value(1))
        .values("group")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return region.children.annotate(unit_count=Coalesce(Subquery(units_in_subtree), 0))


def unit_list_in_region(*, region: Region) -> QuerySet[Unit]:
    return Unit.objects.filter(region__path__startswith=region.path).select_related(
        "region", "organisation"
    )


def unit_kind_counts_in_region(*, region: Region) -> dict[str, int]:
    rows = unit_list_in_region(region=region).order_by().values("kind").annotate(total=Count("pk"))
    return {row["kind"]: row["total"] for row in rows}


def responder_list_for(*, user: User) -> QuerySet[Responder]:
    """Responders the user works for, and those covering an authority's region of theirs."""
    member_of = Membership.objects.filter(user=user).values("organisation_id")
    query = Q(organisation_id__in=member_of)
    for authority in authority_list_for(user=user):
        query |= Q(regions__path__startswith=authority.region.path)
    return Responder.objects.filter(
        pk__in=Responder.objects.filter(query).values("pk")
    ).select_related("organisation")


def responder_get_for(*, user: User, public_id) -> Responder:
    return get_object_or_404(responder_list_for(user=user), public_id=public_id)


def shift_list(*, responder: Responder) -> QuerySet[DutyShift]:
    return responder.shifts.order_by("starts_at")


def shift_get(*, responder: Responder, shift_id: int) -> DutyShift:
    return get_object_or_404(
        DutyShift.objects.select_related("responder__organisation"),
        responder=responder,
        pk=shift_id,
    )


def shift_on_duty(*, responder: Responder, at) -> DutyShift | None:
    return responder.shifts.filter(starts_at__lte=at, ends_at__gt=at).order_by("starts_at").first()


# Pages ---------------------------------------------------------------------------------------

PARENT_UNIT_KINDS = (Unit.Kind.PARK, Unit.Kind.ESTATE, Unit.Kind.BUILDING, Unit.Kind.SCENIC_AREA)


def unit_search_for(*, user: User, kind: str = "", name: str = "") -> QuerySet[Unit]:
    """The unit list page: what the user may see, narrowed by kind and a name search, in a
    stable order so that pages do not overlap."""
    units = unit_list_for(user=user)
    if kind:
        units = units.filter(kind=kind)
    if name:
        units = units.filter(name__icontains=name)
    return units.order_by("name", "pk")


def unit_list_for_organisation(*, organisation: Organisation) -> QuerySet[Unit]:
    """Units an organisation owns or has been granted a view of (its group's grants)."""
    granted = UnitGroupObjectPermission.objects.filter(
        group_id=organisation.group_id, permission__codename="view_unit"
    ).values("content_object_id")
    return Unit.objects.filter(Q(organisation=organisation) | Q(pk__in=granted))


def unit_parent_choices_for(
    *, organisation: Organisation, exclude: Unit | None = None
) -> QuerySet[Unit]:
    """Units a new or edited unit may sit inside: places that contain others (never a shop),
    among those the organisation can see."""
    units = unit_list_for_organisation(organisation=organisation).filter(kind__in=PARENT_UNIT_KINDS)
    if exclude is not None:
        units = units.exclude(pk=exclude.pk)
    return units.order_by("name", "pk")


def unit_children_for(*, user: User, unit: Unit) -> QuerySet[Unit]:
    """Units inside this one that the user may see (another organisation's shop inside a park
    is listed to the park office, not to a fellow tenant)."""
    return unit_list_for(user=user).filter(parent=unit).order_by("name", "pk")


def unit_is_visible_to(*, user: User, unit_id: int | None) -> bool:
    return unit_id is not None and unit_list_for(user=user).filter(pk=unit_id).exists()


def unit_grantee_list(*, unit: Unit) -> list[dict]:
    """Other organisations that see this unit through a grant, and whether they respond to its
    alerts: the unit's operator should know who is watching."""
    rows = (
        UnitGroupObjectPermission.objects.filter(content_object=unit)
        .exclude(group_id=unit.organisation.group_id)
        .select_related("group__organisation", "permission")
        .order_by("group__organisation__name")
    )
    grantees: dict[int, dict] = {}
    for row in rows:
        organisation = getattr(row.group, "organisation", None)
        if organisation is None:
            continue
        entry = grantees.setdefault(
            organisation.pk, {"organisation": organisation, "responds": False}
        )
        entry["responds"] |= row.permission.codename == "respond_unit"
    return list(grantees.values())


def authority_get_for(*, user: User, organisation: Organisation | None = None) -> Authority:
    """The authority whose region the browser starts at: the current organisation's when it
    is an authority, else the user's first; 404 for someone in no authority."""
    authorities = authority_list_for(user=user).order_by("organisation__name", "pk")
    if organisation is not None:
        current = authorities.filter(organisation=organisation).first()
        if current is not None:
            return current
    first = authorities.first()
    if first is None:
        raise Http404("Not a member of any authority")
    return first


def region_breadcrumb_for(*, user: User, region: Region) -> list[dict]:
    """The region's ancestors from the city down, each marked `linked` when it lies inside one
    of the user's jurisdictions (regions above it are named but not browsable)."""
    roots = [authority.region.path for authority in authority_list_for(user=user)]
    ancestors = Region.objects.filter(code__in=region.ancestor_codes).order_by("path")
    return [
        {"region": ancestor, "linked": any(ancestor.path.startswith(root) for root in roots)}
        for ancestor in ancestors
    ]


def responder_list_with_duty_for(*, user: User, at) -> QuerySet[Responder]:
    """responder_list_for with the regions covered and the shift on duty at `at` prefetched
    (the same rule as shift_on_duty), so the page costs the same for 2 or 2,000 responders."""
    on_duty = DutyShift.objects.filter(starts_at__lte=at, ends_at__gt=at).order_by("starts_at")
    return (
        responder_list_for(user=user)
        .prefetch_related(
            Prefetch("regions", queryset=Region.objects.order_by("code")),
            Prefetch("shifts", queryset=on_duty, to_attr="shifts_on_duty"),
        )
        .order_by("name", "pk")
    )


def responder_membership_for(*, user: User, responder: Responder) -> Membership | None:
    """The user's role in the responder's own organisation (None for an authority's reviewer)."""
    return Membership.objects.filter(user=user, organisation_id=responder.organisation_id).first()


def shift_list_current_and_upcoming(*, responder: Responder, at) -> QuerySet[DutyShift]:
    """The roster page: shifts not yet over at `at`, soonest first."""
    return responder.shifts.filter(ends_at__gt=at).order_by("starts_at", "pk")
