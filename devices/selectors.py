"""Reads of devices, scoped to the user. Devices follow their unit (DESIGN §5): whoever may
see the unit (its members, a park office, an authority, responders) sees its devices. A
vendor sees the devices it supplied, for fleet maintenance: their health, the unit's name and
district, never their placement details or alerts."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Membership, User
from devices.models import Device
from units.selectors import unit_list_for


def device_list_for(*, user: User) -> QuerySet[Device]:
    return Device.objects.filter(unit__in=unit_list_for(user=user)).select_related(
        "device_model", "unit", "placement"
    )


def device_get_for(*, user: User, public_id) -> Device:
    return get_object_or_404(device_list_for(user=user), public_id=public_id)


def vendor_device_list_for(*, user: User) -> QuerySet[Device]:
    vendors_of = Membership.objects.filter(user=user).values("organisation_id")
    return Device.objects.filter(vendor__organisation_id__in=vendors_of).select_related(
        "device_model", "unit__region"
    )


def vendor_device_get_for(*, user: User, public_id) -> Device:
    return get_object_or_404(vendor_device_list_for(user=user), public_id=public_id)


# Unit side ----------------------------------------------------------------------------------
# (Appended: its imports stay here so that the code above is left as it was.)

from dataclasses import dataclass  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402

from django.db import connection  # noqa: E402
from django.db.models import DateTimeField, ExpressionWrapper, F, Q  # noqa: E402
from django.db.models.functions import Coalesce  # noqa: E402
from django.utils import timezone  # noqa: E402

from units.models import Unit  # noqa: E402

LOW_BATTERY_PCT = 20
ON_AIR = [Device.State.ACTIVE, Device.State.FAULTY, Device.State.MAINTENANCE]


def device_claim_unit_choices(*, user: User) -> QuerySet[Unit]:
    """The units a user may claim devices for: those of their own organisations where their
    role allows writes (a viewer, a park office or an authority claims nothing)."""
    writable = (
        Membership.objects.filter(user=user)
        .exclude(role=Membership.Role.VIEWER)
        .values("organisation_id")
    )
    return Unit.objects.filter(organisation_id__in=writable).order_by("name", "pk")


def device_filter_unit_choices(*, user: User) -> QuerySet[Unit]:
    """The units whose devices the user sees, for the list's filter."""
    return unit_list_for(user=user).order_by("name", "pk")


def _overdue_at():
    """When a reporting device counts as offline: its next heartbeat plus the grace."""
    grace = Coalesce("heartbeat_grace_s", "device_model__heartbeat_grace_s")
    return ExpressionWrapper(
        F("next_heartbeat_due_at") + grace * timedelta(seconds=1), output_field=DateTimeField()
    )


def device_search_for(
    *,
    user: User,
    unit: Unit | None = None,
    state: str = "",
    low_battery: bool = False,
    offline: bool = False,
    serial: str = "",
    now: datetime | None = None,
) -> QuerySet[Device]:
    """The device list: device_list_for narrowed by its filters. "Offline" also finds the
    devices past their heartbeat and grace that the health sweep has not marked yet."""
    devices = device_list_for(user=user)
    if unit is not None:
        devices = devices.filter(unit=unit)
    if state:
        devices = devices.filter(state=state)
    if low_battery:
        devices = devices.filter(battery_pct__lt=LOW_BATTERY_PCT)
    if offline:
        devices = devices.alias(overdue_at=_overdue_at()).filter(
            Q(state=Device.State.OFFLINE)
            | Q(state__in=ON_AIR, overdue_at__lt=now or timezone.now())
        )
    if serial:
        devices = devices.filter(serial__icontains=serial.strip())
    return devices


def device_overdue(device: Device, *, now: datetime) -> bool:
    """The same rule as the "offline" filter, for one row already loaded."""
    if device.state == Device.State.OFFLINE:
        return True
    if device.state not in ON_AIR or device.next_heartbeat_due_at is None:
        return False
    return device.next_heartbeat_due_at + timedelta(seconds=device.grace_s()) < now


def device_detail_for(*, user: User, public_id) -> Device:
    """One device with what its page shows beside it; 404 for "missing" and "not yours"."""
    return get_object_or_404(
        device_list_for(user=user).select_related(
            "vendor__organisation", "unit__organisation", "order_line__order", "lease"
        ),
        public_id=public_id,
    )


def device_events_recent(*, device: Device, limit: int = 20) -> list:
    """The newest outbox events (alarm, fault, tamper, battery, test)."""
    return list(device.events.order_by("-ts", "-pk")[:limit])


def device_transition_list(*, device: Device) -> QuerySet:
    return device.transitions.select_related("by").order_by("at", "pk")


# Telemetry: read from the day-partitioned devices_reading table. The device and a bounded
# `ts` range in every WHERE let PostgreSQL scan only that range's partitions, through the
# (device_id, ts) index of each. Values that are not numbers (a firmware string, a boolean)
# are skipped, never cast.

TELEMETRY_MAX_POINTS = 500
TELEMETRY_RAW_MAX = timedelta(hours=6)
TELEMETRY_MAX_RANGE = timedelta(days=31)
# Bucket widths a person reads easily, smallest first.
TELEMETRY_BUCKETS = [
    timedelta(minutes=minutes) for minutes in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
]
# Buckets start on Shanghai's whole hours and midnights.
TELEMETRY_ORIGIN = datetime.fromisoformat("2000-01-01T00:00:00+08:00")

TELEMETRY_RAW_SQL = """
SELECT ts, ("values" ->> %(metric)s)::float8
FROM devices_reading
WHERE device_id = %(device)s AND ts >= %(start)s AND ts < %(end)s
  AND jsonb_typeof("values" -> %(metric)s) = 'number'
ORDER BY ts
LIMIT %(limit)s
"""

TELEMETRY_BUCKET_SQL = """
SELECT date_bin(%(bucket)s, ts, %(origin)s) AS bucket,
       avg(value), min(value), max(value), count(*)
FROM (
    SELECT ts, CASE WHEN jsonb_typeof("values" -> %(metric)s) = 'number'
                    THEN ("values" ->> %(metric)s)::float8 END AS value
    FROM devices_reading
    WHERE device_id = %(device)s AND ts >= %(start)s AND ts < %(end)s
      AND jsonb_typeof("values" -> %(metric)s) = 'number'
) AS numbers
GROUP BY bucket
ORDER BY bucket
"""

# A device that reports every second fills six hours with 21,600 points; past this many a
# client should ask for a shorter range.
TELEMETRY_RAW_LIMIT = 25_000


@dataclass(frozen=True)
class TelemetryPoint:
    """A reading (min = max = value, count 1) or a bucket (value is its average)."""

    ts: datetime
    value: float
    min: float
    max: float
    count: int


def telemetry_bucket_for(*, start: datetime, end: datetime) -> timedelta | None:
    """None (raw points) up to six hours; beyond, the smallest readable bucket that keeps
    the answer at TELEMETRY_MAX_POINTS or fewer."""
    span = end - start
    if span <= TELEMETRY_RAW_MAX:
        return None
    for bucket in TELEMETRY_BUCKETS:
        if span / bucket <= TELEMETRY_MAX_POINTS:
            return bucket
    return TELEMETRY_BUCKETS[-1]


def device_telemetry(
    *, device: Device, metric: str, start: datetime, end: datetime, bucket: timedelta | None
) -> list[TelemetryPoint]:
    """One metric of one device over [start, end): raw readings when `bucket` is None,
    otherwise avg/min/max per bucket, aggregated in PostgreSQL with date_bin."""
    params = {"device": device.pk, "metric": metric, "start": start, "end": end}
    with connection.cursor() as cursor:
        if bucket is None:
            cursor.execute(TELEMETRY_RAW_SQL, params | {"limit": TELEMETRY_RAW_LIMIT})
            return [TelemetryPoint(ts, value, value, value, 1) for ts, value in cursor.fetchall()]
        cursor.execute(
            TELEMETRY_BUCKET_SQL, params | {"bucket": bucket, "origin": TELEMETRY_ORIGIN}
        )
        return [TelemetryPoint(*row) for row in cursor.fetchall()]


# Vendor inventory ---------------------------------------------------------------------------
# (Appended: the vendor's stock, imports, fulfilment, returns and fleet.)

from django.db.models import Count, Exists, Prefetch  # noqa: E402

from billing.models import Lease, Order, OrderLine  # noqa: E402
from devices.models import InventoryImport  # noqa: E402
from marketplace.models import DeviceModel, Vendor  # noqa: E402
from units.models import Region  # noqa: E402

# Leases whose devices are on their way back to the vendor.
LEASE_RETURNING = [Lease.Status.ENDING, Lease.Status.DEFAULTED, Lease.Status.RETURNED]
# A fleet device not heard from for this long is "not seen".
FLEET_STALE_AFTER = timedelta(hours=24)


def vendor_inventory_for(
    *,
    user: User,
    vendor: Vendor,
    state: str = "",
    device_model: DeviceModel | None = None,
    serial: str = "",
    inventory_import: InventoryImport | None = None,
) -> QuerySet[Device]:
    """The vendor's devices, narrowed by the inventory page's filters (by serial)."""
    devices = vendor_device_list_for(user=user).filter(vendor=vendor)
    if device_model is not None:
        devices = devices.filter(device_model=device_model)
    if serial:
        devices = devices.filter(serial__icontains=serial.strip())
    if inventory_import is not None:
        devices = devices.filter(inventory_imports=inventory_import)
    if state:
        devices = devices.filter(state=state)
    return devices.order_by("serial", "pk")


def device_state_counts(*, devices: QuerySet[Device]) -> dict[str, int]:
    """{state: how many} in one GROUP BY; states with none are absent."""
    rows = devices.order_by().values_list("state").annotate(n=Count("pk"))
    return dict(rows.values_list("state", "n"))


def vendor_device_detail_for(*, user: User, public_id) -> Device:
    """One of the user's vendors' devices, with what its page shows (never its placement)."""
    return get_object_or_404(
        vendor_device_list_for(user=user).select_related(
            "vendor__organisation", "order_line__order", "lease", "unit__region__parent__parent"
        ),
        public_id=public_id,
    )


def vendor_device_models(*, vendor: Vendor) -> QuerySet[DeviceModel]:
    return DeviceModel.objects.filter(vendor=vendor).order_by("name", "pk")


def inventory_import_list_for(*, user: User, vendor: Vendor) -> QuerySet[InventoryImport]:
    members_of = Membership.objects.filter(user=user).values("organisation_id")
    return (
        InventoryImport.objects.filter(vendor=vendor, vendor__organisation_id__in=members_of)
        .defer("source")
        .select_related("by")
    )


def inventory_import_get_for(*, user: User, public_id) -> InventoryImport:
    """An import of one of the user's vendors (404 otherwise); its file's text is not loaded."""
    members_of = Membership.objects.filter(user=user).values("organisation_id")
    found = InventoryImport.objects.filter(vendor__organisation_id__in=members_of)
    return get_object_or_404(found.defer("source").select_related("vendor"), public_id=public_id)


def order_allocation(*, order: Order) -> list[OrderLine]:
    """The order's lines, each with `.allocated`: its devices by serial (two queries)."""
    devices = Device.objects.order_by("serial").only(
        "public_id", "serial", "state", "order_line_id", "device_model_id"
    )
    return list(
        order.lines.select_related("device_model").prefetch_related(
            Prefetch("devices", queryset=devices, to_attr="allocated")
        )
    )


def vendor_returns_for(*, user: User, vendor: Vendor) -> tuple[QuerySet, QuerySet]:
    """(devices of leases ending or returned, still to be received back; devices received
    back, waiting to be refurbished and restocked)."""
    devices = vendor_device_list_for(user=user).filter(vendor=vendor)
    coming_back = (
        devices.filter(lease__status__in=LEASE_RETURNING)
        .exclude(state__in=[Device.State.RETURNED, Device.State.RETIRED, Device.State.IN_STOCK])
        .select_related("lease__order", "unit__region__parent__parent")
        .order_by("lease__end_date", "serial", "pk")
    )
    received = devices.filter(state=Device.State.RETURNED).order_by("serial", "pk")
    return coming_back, received


def vendor_fleet_for(
    *,
    user: User,
    vendor: Vendor,
    state: str = "",
    low_battery: bool = False,
    stale: bool = False,
    device_model: DeviceModel | None = None,
    now: datetime | None = None,
) -> QuerySet[Device]:
    """The vendor's devices that are with units, for maintenance: health, the unit's name
    and district. Placements are not joined: the vendor never sees where a device is.

    The user must work for the vendor (vendor_device_list_for's rule), asked once as a
    condition on the vendor rather than on each device: PostgreSQL then knows that the whole
    fleet matches, and reads a page of it in serial order from the (vendor, serial) index
    instead of joining every device to its unit and region before sorting them."""
    works_for_vendor = Membership.objects.filter(user=user, organisation_id=vendor.organisation_id)
    devices = Device.objects.filter(
        Exists(works_for_vendor), vendor=vendor, unit__isnull=False
    ).select_related("device_model", "unit__region__parent__parent")
    if state:
        devices = devices.filter(state=state)
    if low_battery:
        devices = devices.filter(battery_pct__lt=LOW_BATTERY_PCT)
    if stale:
        cutoff = (now or timezone.now()) - FLEET_STALE_AFTER
        devices = devices.filter(Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True))
    if device_model is not None:
        devices = devices.filter(device_model=device_model)
    return devices.order_by("serial")  # unique within a vendor


def fleet_summary(*, devices: QuerySet[Device], now: datetime | None = None) -> dict:
    """Counts over the fleet in one query; the online rate is the share of the devices that
    report (online, offline, faulty, in maintenance) that are online."""
    cutoff = (now or timezone.now()) - FLEET_STALE_AFTER
    State = Device.State
    summary = devices.order_by().aggregate(
        total=Count("pk"),
        online=Count("pk", filter=Q(state=State.ACTIVE)),
        offline=Count("pk", filter=Q(state=State.OFFLINE)),
        faulty=Count("pk", filter=Q(state__in=[State.FAULTY, State.MAINTENANCE])),
        reporting=Count("pk", filter=Q(state__in=list(Device.REPORTING))),
        low_battery=Count("pk", filter=Q(battery_pct__lt=LOW_BATTERY_PCT)),
        stale=Count("pk", filter=Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True)),
    )
    reporting = summary["reporting"]
    summary["online_rate"] = round(summary["online"] * 100 / reporting, 1) if reporting else None
    return summary


def unit_district(unit: Unit | None) -> Region | None:
    """The district a unit's grid lies in (loaded with unit__region__parent__parent)."""
    region = unit.region if unit is not None else None
    while region is not None and region.level != Region.Level.DISTRICT:
        region = region.parent
    return region


def vendor_device_model_get(*, vendor: Vendor, model_number: str) -> DeviceModel | None:
    return DeviceModel.objects.filter(vendor=vendor, model_number=model_number.strip()).first()
