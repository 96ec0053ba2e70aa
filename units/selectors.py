"""Reads in units, always scoped to the person asking. 404 for "missing" and "not yours" alike."""

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from accounts.models import Membership, User
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
    return Unit.objects.filter(
        Q(organisation_id__in=member_of)
        | Q(pk__in=_granted_unit_ids(user=user, codename="view_unit"))
    ).select_related("region", "organisation", "parent")


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
