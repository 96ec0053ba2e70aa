"""Every write about devices: provisioning, credentials, claiming and placement.

State changes go through `_transition` (conditional UPDATE + DeviceTransition + audit), as in
the other apps.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record, membership_require
from devices import tokens
from devices.models import Device, DeviceTransition, Placement
from marketplace.models import DeviceModel, Vendor
from units.models import Unit

State = Device.State
CLAIM_ATTEMPTS = 5
CLAIM_LOCK = timedelta(minutes=15)


def _transition(device: Device, *, to: str, allowed_from: set[str], by, reason="", **fields):
    claimed = Device.objects.filter(pk=device.pk, state__in=allowed_from).update(state=to, **fields)
    if claimed != 1:
        current = Device.objects.filter(pk=device.pk).values_list("state", flat=True).first()
        raise ValidationError(
            _("A device that is %(state)s cannot become %(to)s.")
            % {"state": State(current).label if current else "?", "to": State(to).label}
        )
    from_state = device.state
    device.refresh_from_db()
    DeviceTransition.objects.create(
        device=device, from_state=from_state, to_state=to, by=by, reason=reason
    )
    return device


@transaction.atomic
def device_provision(
    *, vendor: Vendor, device_model: DeviceModel, serial: str, by: User | None
) -> tuple[Device, str]:
    """A new device in the vendor's stock, with its claim code and token (shown once)."""
    if by is not None:
        membership_require(organisation=vendor.organisation, user=by, manage=False)
    if device_model.vendor_id != vendor.pk:
        raise ValidationError({"device_model": _("Choose one of your own device models.")})
    serial = serial.strip()
    if not serial or len(serial) > 64:
        raise ValidationError({"serial": _("Enter a serial number of at most 64 characters.")})
    if Device.objects.filter(vendor=vendor, serial=serial).exists():
        raise ValidationError({"serial": _("You already have a device with this serial number.")})
    token, digest, prefix = tokens.token_new()
    device = Device.objects.create(
        vendor=vendor,
        device_model=device_model,
        serial=serial,
        claim_code=tokens.claim_code_new(),
        token_hash=digest,
        token_prefix=prefix,
    )
    DeviceTransition.objects.create(device=device, to_state=device.state, by=by)
    return device, token


def device_token_rotate(*, device: Device, by: User) -> str:
    """A new token for the device (the old one stops working at once)."""
    allowed = [device.vendor.organisation_id]
    if device.unit_id:
        allowed.append(device.unit.organisation_id)
    for organisation_id in allowed:
        try:
            membership_require(organisation=_org(organisation_id), user=by, manage=True)
            break
        except PermissionDenied:
            continue
    else:
        raise PermissionDenied("Only the device's unit or vendor managers rotate its token")
    if device.state in {State.RETIRED, State.RETURNED}:
        raise ValidationError(_("A retired or returned device has no credentials."))
    token, digest, prefix = tokens.token_new()
    Device.objects.filter(pk=device.pk).update(token_hash=digest, token_prefix=prefix)
    audit_record(actor=by, action="device.token_rotate", target=device)
    return token


def _org(organisation_id):
    from accounts.models import Organisation

    return Organisation.objects.get(pk=organisation_id)


def device_claim(*, unit: Unit, by: User, serial: str, claim_code: str) -> Device:
    """A unit member binds a shipped device by serial + claim code. Wrong codes count; after
    five the device is locked for fifteen minutes."""
    membership_require(organisation=unit.organisation, user=by, manage=False)
    now = timezone.now()
    device = Device.objects.filter(serial=serial.strip()).select_related("vendor").first()
    if device is None:
        raise ValidationError({"serial": _("No device has this serial number.")})
    if device.claim_locked_until and device.claim_locked_until > now:
        raise ValidationError(
            {
                "claim_code": _("Too many wrong codes; try again after %(time)s.")
                % {"time": timezone.localtime(device.claim_locked_until).strftime("%H:%M")}
            }
        )
    if device.claim_code != claim_code.strip().upper():
        failures = device.claim_failures + 1
        Device.objects.filter(pk=device.pk).update(
            claim_failures=failures,
            claim_locked_until=now + CLAIM_LOCK if failures >= CLAIM_ATTEMPTS else None,
        )
        raise ValidationError({"claim_code": _("The claim code does not match this device.")})
    if device.unit_id and device.unit_id != unit.pk:
        raise ValidationError({"serial": _("This device is already claimed by another unit.")})
    if device.state != State.SHIPPED:
        raise ValidationError(
            {
                "serial": _("This device cannot be claimed while it is %(state)s.")
                % {"state": device.get_state_display()}
            }
        )
    with transaction.atomic():
        device = _transition(
            device,
            to=State.CLAIMED,
            allowed_from={State.SHIPPED},
            by=by,
            unit=unit,
            claim_failures=0,
            claim_locked_until=None,
        )
        audit_record(actor=by, action="device.claim", target=device, organisation=unit.organisation)
    return device


@transaction.atomic
def device_place(
    *,
    device: Device,
    by: User,
    building: str,
    floor: int,
    space_type: str,
    description: str,
    latitude=None,
    longitude=None,
) -> Placement:
    """Where the device is. In a residential estate, common spaces only (DESIGN §6)."""
    unit = device.unit
    if unit is None:
        raise ValidationError(_("Claim the device before placing it."))
    membership_require(organisation=unit.organisation, user=by, manage=False)
    errors = {}
    if space_type not in Placement.Space.values:
        errors["space_type"] = _("Choose a kind of space.")
    elif space_type == Placement.Space.INSIDE_HOME or (
        unit.kind == Unit.Kind.ESTATE and space_type not in Placement.RESIDENTIAL_COMMON
    ):
        errors["space_type"] = _(
            "In a residential estate devices go in common spaces only (corridor, stairwell, "
            "entrance, lift car, façade, garage, bike shed), never inside a home."
        )
    if not building.strip():
        errors["building"] = _("Name the building.")
    if not description.strip():
        errors["description"] = _("Describe where the device is.")
    if errors:
        raise ValidationError(errors)
    placement, _created = Placement.objects.update_or_create(
        device=device,
        defaults={
            "building": building.strip()[:100],
            "floor": floor,
            "space_type": space_type,
            "description": description.strip()[:200],
            "latitude": latitude,
            "longitude": longitude,
            "placed_at": timezone.now(),
        },
    )
    audit_record(actor=by, action="device.place", target=device, organisation=unit.organisation)
    return placement
