"""Every write about devices: provisioning, credentials, claiming and placement.

State changes go through `_transition` (conditional UPDATE + DeviceTransition + audit), as in
the other apps.
"""

import json
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
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
    # The state as stored now, locked (ingest may have activated `device` since it was read).
    current = (
        Device.objects.select_for_update()
        .filter(pk=device.pk)
        .values_list("state", flat=True)
        .first()
    )
    claimed = Device.objects.filter(pk=device.pk, state__in=allowed_from).update(state=to, **fields)
    if claimed != 1:
        raise ValidationError(
            _("A device that is %(state)s cannot become %(to)s.")
            % {"state": State(current).label if current else "?", "to": State(to).label}
        )
    device.refresh_from_db()
    DeviceTransition.objects.create(
        device=device, from_state=current, to_state=to, by=by, reason=reason
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


@transaction.atomic
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
    code = claim_code.strip().upper()
    # Serials are unique per vendor only: the code tells two vendors' devices apart.
    candidates = list(Device.objects.filter(serial=serial.strip()).select_related("vendor"))
    device = ([d for d in candidates if d.claim_code == code] or candidates or [None])[0]
    if device is None:
        raise ValidationError({"serial": _("No device has this serial number.")})
    if device.claim_locked_until and device.claim_locked_until > now:
        raise ValidationError(
            {
                "claim_code": _("Too many wrong codes; try again after %(time)s.")
                % {"time": timezone.localtime(device.claim_locked_until).strftime("%H:%M")}
            }
        )
    if device.claim_code != code:
        # A lock that has expired starts a fresh count; the increment is done in SQL so that
        # guesses in parallel all count.
        if device.claim_locked_until:
            Device.objects.filter(pk=device.pk).update(claim_failures=0, claim_locked_until=None)
        Device.objects.filter(pk=device.pk).update(claim_failures=F("claim_failures") + 1)
        Device.objects.filter(pk=device.pk, claim_failures__gte=CLAIM_ATTEMPTS).update(
            claim_locked_until=now + CLAIM_LOCK
        )
        raise ValidationError({"claim_code": _("The claim code does not match this device.")})
    if device.unit_id and device.unit_id != unit.pk:
        raise ValidationError({"serial": _("This device is already claimed by another unit.")})
    # Bought (and billed) by the unit whose order it was shipped for.
    if device.order_line_id and device.order_line.order.unit_id != unit.pk:
        raise ValidationError({"serial": _("This device was delivered to another unit.")})
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
    if device.state in {State.RETIRED, State.RETURNED}:
        raise ValidationError(_("A retired or returned device cannot be placed."))
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


# Fulfilment: serials to paid orders, shipping, returns, retirement ---------------------------


def _vendor_member(vendor: Vendor, by: User) -> None:
    membership_require(organisation=vendor.organisation, user=by, manage=False)


@transaction.atomic
def devices_allocate(*, order, by: User, serials: list[str]) -> list[Device]:
    """Give in-stock devices to a paid order's lines: each serial must be the vendor's, in
    stock, of a model on the order, and no line may get more than its quantity."""
    from billing.models import Order

    _vendor_member(order.vendor, by)
    if order.status not in {Order.Status.PAID, Order.Status.FULFILLING}:
        raise ValidationError(_("Devices are allocated to paid orders being prepared."))
    wanted = [s.strip() for s in serials if s.strip()]
    if not wanted:
        raise ValidationError({"serials": _("Enter at least one serial number.")})
    devices = {
        d.serial: d
        for d in Device.objects.select_for_update().filter(vendor=order.vendor, serial__in=wanted)
    }
    unknown = [s for s in wanted if s not in devices]
    if unknown:
        raise ValidationError(
            {"serials": _("Not in your inventory: %(serials)s") % {"serials": ", ".join(unknown)}}
        )
    busy = [s for s in wanted if devices[s].state != State.IN_STOCK]
    if busy:
        raise ValidationError(
            {"serials": _("Not in stock: %(serials)s") % {"serials": ", ".join(busy)}}
        )
    lines = list(order.lines.all())
    room = {line.pk: line.quantity - line.devices.count() for line in lines}
    lease = order.leases.order_by("-created_at").first()
    allocated = []
    for serial in wanted:
        device = devices[serial]
        line = next(
            (
                line
                for line in lines
                if line.device_model_id == device.device_model_id and room[line.pk] > 0
            ),
            None,
        )
        if line is None:
            raise ValidationError(
                {
                    "serials": _("%(serial)s: the order needs no more %(model)s.")
                    % {"serial": serial, "model": device.device_model.name}
                }
            )
        room[line.pk] -= 1
        allocated.append(
            _transition(
                device,
                to=State.ALLOCATED,
                allowed_from={State.IN_STOCK},
                by=by,
                reason=order.number,
                order_line=line,
                lease=lease,
            )
        )
    return allocated


def order_unallocated(order) -> int:
    """How many devices the order still lacks."""
    return (
        sum(line.quantity for line in order.lines.all())
        - Device.objects.filter(order_line__order=order).count()
    )


@transaction.atomic
def order_ship(*, order, by: User, carrier: str, tracking_number: str):
    """Ship a fully allocated order: the order and each of its devices become shipped."""
    from billing.services import orders as billing_orders

    _vendor_member(order.vendor, by)
    missing = order_unallocated(order)
    if missing:
        raise ValidationError(
            {"serials": _("Allocate %(count)s more devices before shipping.") % {"count": missing}}
        )
    order = billing_orders.order_ship(
        order=order, by=by, carrier=carrier, tracking_number=tracking_number
    )
    for device in Device.objects.filter(order_line__order=order, state=State.ALLOCATED):
        _transition(
            device,
            to=State.SHIPPED,
            allowed_from={State.ALLOCATED},
            by=by,
            reason=f"{carrier} {tracking_number}",
        )
    return order


def _revoke(**fields) -> dict:
    return {"token_hash": None, "token_prefix": "", **fields}


@transaction.atomic
def device_retire(*, device: Device, by: User, reason: str) -> Device:
    """Out of service for good: its token stops working and its unit's monitoring follows."""
    organisations = [device.vendor.organisation_id]
    if device.unit_id:
        organisations.append(device.unit.organisation_id)
    if not any(_can_manage(organisation_id, by) for organisation_id in organisations):
        raise PermissionDenied("Only the device's unit or vendor managers retire it")
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the device is retired.")})
    unit_id = device.unit_id
    device = _transition(
        device,
        to=State.RETIRED,
        allowed_from=set(State.values) - {State.RETIRED},
        by=by,
        reason=reason.strip()[:300],
        **_revoke(),
    )
    _monitoring_follow(unit_id)
    return device


def _can_manage(organisation_id, by) -> bool:
    try:
        membership_require(organisation=_org(organisation_id), user=by, manage=True)
    except PermissionDenied:
        return False
    return True


@transaction.atomic
def device_return(*, device: Device, by: User) -> Device:
    """A leased device is back with its vendor: unbound, credentials revoked, then back in
    stock once refurbished (`device_restock`)."""
    from billing.models import Lease

    _vendor_member(device.vendor, by)
    # A unit's own devices stay with it: only leased devices at the end of their lease (or
    # devices that never reached a unit) come back.
    lease_over = device.lease_id and device.lease.status in {
        Lease.Status.ENDING,
        Lease.Status.DEFAULTED,
        Lease.Status.RETURNED,
    }
    if device.unit_id and not lease_over:
        raise ValidationError(
            _("This device belongs to its unit; only leased devices come back at the lease's end.")
        )
    unit_id = device.unit_id
    device = _transition(
        device,
        to=State.RETURNED,
        allowed_from=set(State.values) - {State.RETIRED, State.RETURNED, State.IN_STOCK},
        by=by,
        **_revoke(unit=None, order_line=None, lease=None, claim_failures=0),
    )
    Placement.objects.filter(device=device).delete()
    _monitoring_follow(unit_id)
    return device


@transaction.atomic
def device_restock(*, device: Device, by: User) -> tuple[Device, str]:
    """Refurbished: in stock again, with a new claim code and token."""
    _vendor_member(device.vendor, by)
    token, digest, prefix = tokens.token_new()
    device = _transition(
        device,
        to=State.IN_STOCK,
        allowed_from={State.RETURNED},
        by=by,
        claim_code=tokens.claim_code_new(),
        token_hash=digest,
        token_prefix=prefix,
    )
    return device, token


def _monitoring_follow(unit_id: int | None) -> None:
    if unit_id is None:
        return
    from devices.tasks import monitoring_sync

    transaction.on_commit(lambda: monitoring_sync.delay(unit_id))


def monitoring_sync(*, unit: Unit) -> dict[int, int]:
    """Keep the unit's monitoring subscriptions at its reporting devices per solution
    (billing's monitoring_quantity_set); a subscription with none left is cancelled."""
    from django.db.models import Count

    from billing.models import MonitoringSubscription
    from billing.services.subscriptions import monitoring_quantity_set
    from marketplace.models import Solution

    counts = dict(
        Device.objects.filter(unit=unit, state__in=Device.REPORTING, order_line__isnull=False)
        .values_list("order_line__order__revision__solution")
        .annotate(n=Count("pk"))
        .values_list("order_line__order__revision__solution", "n")
    )
    live = MonitoringSubscription.objects.filter(unit=unit).exclude(
        status=MonitoringSubscription.Status.CANCELLED
    )
    for solution_id in live.values_list("solution_id", flat=True):
        counts.setdefault(solution_id, 0)
    for solution in Solution.objects.filter(pk__in=counts):
        monitoring_quantity_set(unit=unit, solution=solution, quantity=counts[solution.pk])
    return counts


# The outbox and health, called by the alerts layer above (devices never imports alerts).

_EVENTS_CLAIM = """
UPDATE devices_deviceevent e SET processed_at = %(now)s
FROM (
    SELECT id FROM devices_deviceevent
    WHERE processed_at IS NULL
    ORDER BY received_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) AS due
WHERE e.id = due.id
RETURNING e.id, e.device_id, e.event_id, e.type, e.ts, e."values"
"""


def device_events_claim(*, limit: int, now=None) -> list[dict]:
    """Take up to `limit` unprocessed outbox events, oldest first, in the caller's transaction:
    if it rolls back they are unclaimed again; concurrent consumers skip each other's rows."""
    assert transaction.get_connection().in_atomic_block, "claim inside the consumer's transaction"
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(_EVENTS_CLAIM, {"now": now or timezone.now(), "limit": limit})
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:  # Django has psycopg hand jsonb over as text
        if isinstance(row["values"], str):
            row["values"] = json.loads(row["values"])
    rows.sort(key=lambda row: (row["ts"], row["id"]))
    return rows


# Devices past their heartbeat and grace, flipped active → offline with a transition each.
# The partial index `device_heartbeat_due_idx` makes this cost follow the overdue, not the
# fleet; SKIP LOCKED and the state condition make two concurrent sweeps split the work.
_OFFLINE_MARK = """
WITH overdue AS (
    SELECT d.id FROM devices_device d
    JOIN marketplace_devicemodel m ON m.id = d.device_model_id
    WHERE d.state = 'active' AND d.next_heartbeat_due_at < %(now)s
      AND d.next_heartbeat_due_at
          + COALESCE(d.heartbeat_grace_s, m.heartbeat_grace_s) * interval '1 second' < %(now)s
    ORDER BY d.next_heartbeat_due_at
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
), flipped AS (
    UPDATE devices_device d SET state = 'offline'
    FROM overdue WHERE d.id = overdue.id AND d.state = 'active'
    RETURNING d.id, d.unit_id, d.next_heartbeat_due_at
), logged AS (
    INSERT INTO devices_devicetransition (device_id, from_state, to_state, at, reason)
    SELECT id, 'active', 'offline', %(now)s, 'heartbeat overdue' FROM flipped
)
SELECT id, unit_id, next_heartbeat_due_at FROM flipped
"""


def devices_mark_offline(*, now, limit: int = 20_000) -> list[tuple[int, int, object]]:
    """(device id, unit id, when it was due) of the devices this call turned offline."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(_OFFLINE_MARK, {"now": now, "limit": limit})
        return cursor.fetchall()
