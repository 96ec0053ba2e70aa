"""Devices: inventory, fulfilment, claiming, placement, credentials and what they report.

A device's life (DESIGN §4): in_stock → allocated → shipped → claimed → active ⇄ offline;
active → faulty → maintenance → active; → returned → in_stock; → retired. Every change writes a
DeviceTransition. Readings and heartbeats go to the time-partitioned `devices_reading` table
(created by SQL, see migrations); alarm, fault, tamper, battery and test events also go to the
`DeviceEvent` outbox, which the alerts layer above consumes.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import Lease, OrderLine
from config.choices import ChoiceLabels
from marketplace.models import DeviceModel, Vendor
from units.models import Unit


class Device(ChoiceLabels, models.Model):
    class State(models.TextChoices):
        IN_STOCK = "in_stock", _("In stock")
        ALLOCATED = "allocated", _("Allocated to an order")
        SHIPPED = "shipped", _("Shipped")
        CLAIMED = "claimed", _("Claimed")
        ACTIVE = "active", _("Online")
        OFFLINE = "offline", _("Offline")
        FAULTY = "faulty", _("Faulty")
        MAINTENANCE = "maintenance", _("In maintenance")
        RETURNED = "returned", _("Returned")
        RETIRED = "retired", _("Retired")

    # Devices that report: heartbeats move them between active and offline.
    REPORTING = {State.ACTIVE, State.OFFLINE, State.FAULTY, State.MAINTENANCE}

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Every heartbeat rewrites the row and so each of its indexes: the foreign keys to vendor
    # and unit lead composite indexes below instead of having their own.
    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="devices", db_index=False
    )
    device_model = models.ForeignKey(DeviceModel, on_delete=models.PROTECT, related_name="devices")
    serial = models.CharField(_("serial number"), max_length=64)
    claim_code = models.CharField(_("claim code"), max_length=16)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.IN_STOCK
    )
    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="devices",
        db_index=False,
    )
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="devices"
    )
    lease = models.ForeignKey(
        Lease, on_delete=models.PROTECT, null=True, blank=True, related_name="devices"
    )
    firmware_version = models.CharField(_("firmware"), max_length=32, blank=True)
    # The device's own override of its model's heartbeat interval and grace (seconds).
    heartbeat_interval_s = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_grace_s = models.PositiveIntegerField(null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    next_heartbeat_due_at = models.DateTimeField(null=True, blank=True)
    battery_pct = models.PositiveSmallIntegerField(_("battery (%)"), null=True, blank=True)
    signal_dbm = models.SmallIntegerField(_("signal (dBm)"), null=True, blank=True)
    # Credentials: sha256 of the token; the token itself is shown once. NULL while there is
    # none (many rows; "" would collide). Unique through a constraint, which (unlike
    # unique=True) adds no LIKE index no query would use.
    token_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    token_prefix = models.CharField(max_length=12, blank=True)
    claim_failures = models.PositiveSmallIntegerField(default=0)
    claim_locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["serial"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "serial"], name="device_serial_per_vendor"),
            models.UniqueConstraint(fields=["token_hash"], name="device_token_once"),
        ]
        indexes = [
            # The offline sweep reads only devices that report and are due (healthchecks).
            models.Index(
                fields=["next_heartbeat_due_at"],
                name="device_heartbeat_due_idx",
                condition=Q(state__in=["active", "faulty", "maintenance"]),
            ),
            # The low-battery sweep reads only devices under the threshold (ALERT_LOW_BATTERY_PCT).
            models.Index(
                fields=["battery_pct"],
                name="device_battery_low_idx",
                condition=Q(battery_pct__lt=15),
            ),
            models.Index(fields=["unit", "state"], name="device_unit_state_idx"),
            models.Index(fields=["vendor", "state"], name="device_vendor_state_idx"),
        ]

    def __str__(self):
        return self.serial

    def interval_s(self) -> int:
        return self.heartbeat_interval_s or self.device_model.heartbeat_interval_s

    def grace_s(self) -> int:
        return self.heartbeat_grace_s or self.device_model.heartbeat_grace_s


class DeviceTransition(models.Model):
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="transitions", db_index=False
    )
    from_state = models.CharField(max_length=12, choices=Device.State.choices, blank=True)
    to_state = models.CharField(max_length=12, choices=Device.State.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("device state change")
        verbose_name_plural = _("device state changes")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["device", "at"], name="device_transition_idx")]

    def __str__(self):
        return f"{self.from_state or '·'} → {self.to_state}"


class Placement(ChoiceLabels, models.Model):
    """Where a device is. In a residential estate only common spaces are allowed: the
    management boundary is the corridor and the door (DESIGN §6)."""

    class Space(models.TextChoices):
        CORRIDOR = "corridor", _("Corridor")
        STAIRWELL = "stairwell", _("Stairwell")
        ENTRANCE = "entrance", _("Entrance")
        LIFT_CAR = "lift_car", _("Lift car")
        FACADE = "facade", _("Façade")
        GARAGE = "garage", _("Garage")
        BIKE_SHED = "bike_shed", _("Bike shed")
        SHOP_FLOOR = "shop_floor", _("Shop floor")
        KITCHEN = "kitchen", _("Kitchen")
        STOREROOM = "storeroom", _("Storeroom")
        OFFICE = "office", _("Office")
        PLANT_ROOM = "plant_room", _("Plant room")
        INSIDE_HOME = "inside_home", _("Inside a home")

    RESIDENTIAL_COMMON = {
        Space.CORRIDOR,
        Space.STAIRWELL,
        Space.ENTRANCE,
        Space.LIFT_CAR,
        Space.FACADE,
        Space.GARAGE,
        Space.BIKE_SHED,
    }

    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="placement")
    building = models.CharField(_("building"), max_length=100)
    floor = models.SmallIntegerField(_("floor"))
    space_type = models.CharField(_("space"), max_length=16, choices=Space.choices)
    description = models.CharField(_("description"), max_length=200)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    placed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("placement")
        verbose_name_plural = _("placements")
        constraints = [
            models.CheckConstraint(
                condition=~Q(space_type="inside_home"), name="placement_never_inside_a_home"
            ),
        ]

    def __str__(self):
        return f"{self.building} {self.floor}F {self.get_space_type_display()}"


class DeviceEvent(models.Model):
    """An event that needs handling (alarm, fault, tamper, battery, test): the outbox between
    ingest and the alerts layer. Written in the ingest transaction; `processed_at` is set by
    the consumer, which claims rows with a conditional UPDATE."""

    class Type(models.TextChoices):
        ALARM = "alarm", _("Alarm")
        FAULT = "fault", _("Fault")
        TAMPER = "tamper", _("Tamper")
        BATTERY = "battery", _("Battery")
        TEST = "test", _("Test")

    # Led by device_event_once's (device, event_id): no index of its own.
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    event_id = models.CharField(max_length=64)
    type = models.CharField(max_length=8, choices=Type.choices)
    ts = models.DateTimeField()
    values = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("device event")
        verbose_name_plural = _("device events")
        ordering = ["-ts"]
        constraints = [
            models.UniqueConstraint(fields=["device", "event_id"], name="device_event_once"),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="device_event_pending_idx",
                condition=Q(processed_at__isnull=True),
            ),
            models.Index(fields=["device", "-ts"], name="device_event_recent_idx"),
        ]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class Reading(models.Model):
    """A row of the partitioned `devices_reading` table (heartbeats and readings), read-only
    to the ORM: ingest writes it with one INSERT … ON CONFLICT DO NOTHING per batch."""

    device = models.ForeignKey(Device, on_delete=models.DO_NOTHING, db_constraint=False)
    event_id = models.CharField(max_length=64)
    ts = models.DateTimeField(primary_key=True)  # the ORM needs a key; the table's is composite
    kind = models.CharField(max_length=9)
    values = models.JSONField()
    received_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "devices_reading"

    def __str__(self):
        return f"{self.kind} {self.event_id}"


class InventoryImport(models.Model):
    """A vendor's CSV of serial numbers (serial, model_number[, firmware]) provisioned in bulk
    by a Celery task. The file's text is kept in the row, so that a worker on any machine can
    read it; the task records its progress per chunk and the rows it refused."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    FINISHED = {Status.DONE, Status.FAILED}
    # Refused rows kept in full; beyond this many only their number is.
    ERRORS_KEPT = 1000

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="inventory_imports", db_index=False
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("file name"), max_length=200)
    source = models.TextField(_("file contents"))
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows checked"), default=0)
    created_count = models.PositiveIntegerField(_("devices created"), default=0)
    error_count = models.PositiveIntegerField(_("rows refused"), default=0)
    # [{"row": 7, "serial": "SA-1", "code": "duplicate_in_file", "first_row": 3}, ...]
    errors = models.JSONField(_("refused rows"), default=list, blank=True)
    failure = models.CharField(_("why it failed"), max_length=300, blank=True)
    devices = models.ManyToManyField(Device, related_name="inventory_imports", blank=True)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("inventory import")
        verbose_name_plural = _("inventory imports")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["vendor", "-created_at"], name="inventory_import_recent_idx")
        ]

    def __str__(self):
        return self.name

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE or not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, self.processed_rows * 100 // self.total_rows)
