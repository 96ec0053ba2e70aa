"""Every write in units: regions, units, contacts, responders, rosters, and the grants that
let other organisations see or respond to a unit (DESIGN §5)."""

from collections.abc import Iterable

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Membership, Organisation, User
from accounts.services import audit_record, membership_require
from units.models import (
    Authority,
    DutyShift,
    EmergencyContact,
    Region,
    Responder,
    Unit,
    UnitGroupObjectPermission,
)

UNIT_FACT_FIELDS = [
    "name",
    "kind",
    "address",
    "floor_area_m2",
    "floors",
    "shops_inside",
    "households",
    "elevators",
    "entrances",
    "daily_visitors",
    "responsible_name",
    "responsible_phone",
]


def _require_role(*, organisation: Organisation, by: User, manage: bool) -> Membership:
    return membership_require(organisation=organisation, user=by, manage=manage)


# Regions -------------------------------------------------------------------------------------


@transaction.atomic
def region_create(
    *, code: str, name: str, level: str, parent: Region | None = None, name_en: str = ""
) -> Region:
    _validate_region_placement(code=code, level=level, parent=parent)
    region = Region(code=code, name=name, name_en=name_en, level=level, parent=parent)
    region.path = (parent.path if parent else "/") + code + "/"
    region.full_clean()
    region.save()
    return region


def _validate_region_placement(*, code: str, level: str, parent: Region | None) -> None:
    """The tree is strict (city › district › subdistrict › grid) and codes nest, because
    `path` prefix matches decide which units an authority or responder covers."""
    expected = Region.CHILD_LEVEL.get(parent.level) if parent else Region.Level.CITY
    if level != expected:
        raise ValidationError(
            {
                "level": _("Below this parent the level must be %(level)s.")
                % {"level": Region.Level(expected).label}
            }
        )
    if parent and not code.startswith(parent.code.rstrip("0")[:2]):
        raise ValidationError({"code": _("A region's code must start with its parent's code.")})


# Units ---------------------------------------------------------------------------------------


def _validate_unit_placement(
    *, organisation: Organisation, region: Region, parent: Unit | None, unit: Unit | None = None
) -> None:
    if organisation.kind != Organisation.Kind.UNIT:
        raise ValidationError(_("Only a unit organisation can register units."))
    if region.level != Region.Level.GRID:
        raise ValidationError({"region": _("Choose a grid, the smallest level of region.")})
    if parent is not None:
        if unit is not None and (parent.pk == unit.pk or _is_descendant(parent, of=unit)):
            raise ValidationError({"parent": _("A unit cannot be inside itself.")})
        if parent.kind == Unit.Kind.SHOP:
            raise ValidationError({"parent": _("A shop cannot contain other units.")})


def _is_descendant(candidate: Unit, *, of: Unit) -> bool:
    node = candidate.parent
    while node is not None:
        if node.pk == of.pk:
            return True
        node = node.parent
    return False


@transaction.atomic
def unit_create(
    *, organisation: Organisation, by: User, region: Region, parent: Unit | None = None, **facts
) -> Unit:
    _require_role(organisation=organisation, by=by, manage=True)
    _validate_unit_placement(organisation=organisation, region=region, parent=parent)
    unknown = set(facts) - set(UNIT_FACT_FIELDS)
    if unknown:
        raise TypeError(f"unit_create() got unexpected fields {sorted(unknown)}")
    unit = Unit(organisation=organisation, region=region, parent=parent, **facts)
    unit.full_clean()
    unit.save()
    unit_grants_sync(units=[unit])
    audit_record(
        actor=by,
        action="unit.create",
        target=unit,
        organisation=organisation,
        changes={field: str(getattr(unit, field)) for field in UNIT_FACT_FIELDS},
    )
    return unit


@transaction.atomic
def unit_update(*, unit: Unit, by: User, **changes) -> Unit:
    _require_role(organisation=unit.organisation, by=by, manage=True)
    allowed = set(UNIT_FACT_FIELDS) | {"region", "parent"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"unit_update() got unexpected fields {sorted(unknown)}")
    before = {field: str(getattr(unit, field)) for field in changes}
    for field, value in changes.items():
        setattr(unit, field, value)
    _validate_unit_placement(
        organisation=unit.organisation, region=unit.region, parent=unit.parent, unit=unit
    )
    unit.full_clean()
    unit.save()
    if "region" in changes or "parent" in changes:
        unit_grants_sync(units=[unit])
    after = {field: str(getattr(unit, field)) for field in changes}
    diff = {f: {"from": before[f], "to": after[f]} for f in changes if before[f] != after[f]}
    audit_record(
        actor=by, action="unit.update", target=unit, organisation=unit.organisation, changes=diff
    )
    return unit


# Grants --------------------------------------------------------------------------------------


def _permissions() -> dict[str, Permission]:
    return {
        p.codename: p
        for p in Permission.objects.filter(
            content_type__app_label="units", codename__in=["view_unit", "respond_unit"]
        )
    }


def unit_grants_sync(*, units: Iterable[Unit]) -> None:
    """Make the guardian rows on these units match who should see or respond to them.

    - the parent unit's organisation (a park's office) may view the units inside it;
    - an authority may view the units in its region;
    - a responder covering the unit's region (or a region above it) may view and respond.
    Desired rows are computed in a few queries and the difference applied in two.
    """
    units = list(units)
    if not units:
        return
    permissions = _permissions()
    view, respond = permissions["view_unit"], permissions["respond_unit"]
    unit_ids = [unit.pk for unit in units]
    # Re-read what decides the grants, so callers may pass stale instances.
    facts = {
        row["pk"]: row
        for row in Unit.objects.filter(pk__in=unit_ids).values(
            "pk", "organisation_id", "region__path", "parent__organisation__group_id"
        )
    }
    codes = {code for row in facts.values() for code in row["region__path"].split("/") if code}
    authority_groups: dict[str, set[int]] = {}
    for code, group_id in Authority.objects.filter(region__code__in=codes).values_list(
        "region__code", "organisation__group_id"
    ):
        authority_groups.setdefault(code, set()).add(group_id)
    responder_groups: dict[str, set[int]] = {}
    for code, group_id in Responder.objects.filter(regions__code__in=codes).values_list(
        "regions__code", "organisation__group_id"
    ):
        responder_groups.setdefault(code, set()).add(group_id)

    wanted: set[tuple[int, int, int]] = set()
    for unit_id, row in facts.items():
        region_codes = [code for code in row["region__path"].split("/") if code]
        if row["parent__organisation__group_id"]:
            wanted.add((unit_id, row["parent__organisation__group_id"], view.pk))
        for code in region_codes:
            for group_id in authority_groups.get(code, ()):
                wanted.add((unit_id, group_id, view.pk))
            for group_id in responder_groups.get(code, ()):
                wanted.add((unit_id, group_id, view.pk))
                wanted.add((unit_id, group_id, respond.pk))

    existing_rows = UnitGroupObjectPermission.objects.filter(
        content_object_id__in=unit_ids, permission__in=[view, respond]
    ).values_list("pk", "content_object_id", "group_id", "permission_id")
    existing = {(u, g, p): pk for pk, u, g, p in existing_rows}
    stale = [pk for key, pk in existing.items() if key not in wanted]
    if stale:
        UnitGroupObjectPermission.objects.filter(pk__in=stale).delete()
    UnitGroupObjectPermission.objects.bulk_create(
        [
            UnitGroupObjectPermission(content_object_id=u, group_id=g, permission_id=p)
            for (u, g, p) in wanted - existing.keys()
        ]
    )


def _units_under(regions: Iterable[Region]):
    query = Q()
    for region in regions:
        query |= Q(region__path__startswith=region.path)
    return Unit.objects.filter(query) if query else Unit.objects.none()


# Authorities ---------------------------------------------------------------------------------


@transaction.atomic
def authority_create(*, name: str, region: Region, owner: User) -> Authority:
    from accounts.services import organisation_create

    if region.level == Region.Level.GRID:
        raise ValidationError(
            {"region": _("An authority oversees a city, district or subdistrict.")}
        )
    organisation = organisation_create(name=name, kind=Organisation.Kind.AUTHORITY, owner=owner)
    authority = Authority.objects.create(organisation=organisation, region=region)
    unit_grants_sync(units=_units_under([region]))
    return authority


# Responders and rosters ----------------------------------------------------------------------


@transaction.atomic
def responder_create(
    *,
    organisation: Organisation,
    name: str,
    kind: str,
    phone: str,
    regions: Iterable[Region],
    by: User | None = None,
) -> Responder:
    if organisation.kind != Organisation.Kind.RESPONDER:
        raise ValidationError(_("Only a responder organisation can run a duty desk."))
    responder = Responder(organisation=organisation, name=name, kind=kind, phone=phone)
    responder.full_clean()
    responder.save()
    responder_set_regions(responder=responder, regions=regions, by=by)
    return responder


@transaction.atomic
def responder_set_regions(
    *, responder: Responder, regions: Iterable[Region], by: User | None = None
) -> Responder:
    """Coverage decides which units a responder sees, so it is set by the platform operator
    or an authority (admin, management commands), never by the responder itself."""
    regions = list(regions)
    previous = list(responder.regions.all())
    responder.regions.set(regions)
    unit_grants_sync(units=_units_under(previous + regions))
    audit_record(
        actor=by,
        action="responder.set_regions",
        target=responder,
        organisation=responder.organisation,
        changes={"regions": [region.code for region in regions]},
    )
    return responder


@transaction.atomic
def duty_shift_create(
    *,
    responder: Responder,
    by: User,
    starts_at,
    ends_at,
    contact_name: str,
    contact_phone: str,
    note: str = "",
) -> DutyShift:
    _require_role(organisation=responder.organisation, by=by, manage=False)
    shift = DutyShift(
        responder=responder,
        starts_at=starts_at,
        ends_at=ends_at,
        contact_name=contact_name,
        contact_phone=contact_phone,
        note=note,
    )
    _validate_shift(shift)
    shift.save()
    audit_record(
        actor=by, action="duty_shift.create", target=shift, organisation=responder.organisation
    )
    return shift


@transaction.atomic
def duty_shift_update(*, shift: DutyShift, by: User, **changes) -> DutyShift:
    _require_role(organisation=shift.responder.organisation, by=by, manage=False)
    for field, value in changes.items():
        setattr(shift, field, value)
    _validate_shift(shift)
    shift.save()
    audit_record(
        actor=by,
        action="duty_shift.update",
        target=shift,
        organisation=shift.responder.organisation,
    )
    return shift


@transaction.atomic
def duty_shift_delete(*, shift: DutyShift, by: User) -> None:
    _require_role(organisation=shift.responder.organisation, by=by, manage=False)
    audit_record(
        actor=by,
        action="duty_shift.delete",
        target=shift,
        organisation=shift.responder.organisation,
    )
    shift.delete()


def _validate_shift(shift: DutyShift) -> None:
    if shift.starts_at and shift.ends_at and shift.ends_at <= shift.starts_at:
        raise ValidationError({"ends_at": _("A shift must end after it starts.")})
    if shift.starts_at and shift.ends_at and (shift.ends_at - shift.starts_at).days >= 7:
        raise ValidationError({"ends_at": _("A shift must last less than seven days.")})
    shift.full_clean()


# Emergency contacts --------------------------------------------------------------------------


@transaction.atomic
def contact_create(
    *, unit: Unit, by: User, name: str, phone: str, relation: str = "", email: str = ""
) -> EmergencyContact:
    _require_role(organisation=unit.organisation, by=by, manage=False)
    last = unit.contacts.order_by("-position").values_list("position", flat=True).first()
    contact = EmergencyContact(
        unit=unit, position=(last or 0) + 1, name=name, phone=phone, relation=relation, email=email
    )
    contact.full_clean()
    contact.save()
    audit_record(actor=by, action="contact.create", target=contact, organisation=unit.organisation)
    return contact


@transaction.atomic
def contact_update(*, contact: EmergencyContact, by: User, **changes) -> EmergencyContact:
    _require_role(organisation=contact.unit.organisation, by=by, manage=False)
    for field in set(changes) - {"name", "phone", "relation", "email"}:
        raise TypeError(f"contact_update() got an unexpected field {field!r}")
    for field, value in changes.items():
        setattr(contact, field, value)
    contact.full_clean()
    contact.save()
    audit_record(
        actor=by, action="contact.update", target=contact, organisation=contact.unit.organisation
    )
    return contact


@transaction.atomic
def contact_delete(*, contact: EmergencyContact, by: User) -> None:
    unit = contact.unit
    _require_role(organisation=unit.organisation, by=by, manage=False)
    audit_record(
        actor=by,
        action="contact.delete",
        target=contact,
        organisation=unit.organisation,
        changes={"name": contact.name},
    )
    contact.delete()
    _contacts_renumber(unit=unit, ordered_ids=list(unit.contacts.values_list("pk", flat=True)))


@transaction.atomic
def contact_move(*, contact: EmergencyContact, by: User, position: int) -> None:
    """Move a contact to `position` (1 = called first); the others keep their order."""
    unit = contact.unit
    _require_role(organisation=unit.organisation, by=by, manage=False)
    ordered = [pk for pk in unit.contacts.values_list("pk", flat=True) if pk != contact.pk]
    if not 1 <= position <= len(ordered) + 1:
        raise ValidationError(
            {"position": _("Choose a position between 1 and %(n)s.") % {"n": len(ordered) + 1}}
        )
    ordered.insert(position - 1, contact.pk)
    _contacts_renumber(unit=unit, ordered_ids=ordered)
    audit_record(
        actor=by,
        action="contact.move",
        target=contact,
        organisation=unit.organisation,
        changes={"position": position},
    )


def _contacts_renumber(*, unit: Unit, ordered_ids: list[int]) -> None:
    # The (unit, position) constraint is deferred, so positions may collide until commit.
    contacts = {c.pk: c for c in unit.contacts.all()}
    for position, pk in enumerate(ordered_ids, start=1):
        contacts[pk].position = position
    EmergencyContact.objects.bulk_update(contacts.values(), ["position"])
