"""The platform operator's admin for devices.

A device's state, owner, order and credentials change only through the services (each change
with its transition row; tokens are made there and shown once), so they are read-only here and
devices are neither added nor deleted: provisioning is the vendor's, by the service. The
operator may tune a device's heartbeat interval and grace, and correct a placement's details
within the privacy rule (DESIGN §6). Events and state changes are records: read-only. A token's
hash is never shown in full. Readings live in the partitioned telemetry table and are read on
the device pages, not here.
"""

import json

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdminMixin
from devices.models import Device, DeviceEvent, DeviceTransition, InventoryImport, Placement
from units.admin import ServiceCheckedForm
from units.models import Unit


def _json(values) -> str:
    return format_html("<pre>{}</pre>", json.dumps(values, indent=2, ensure_ascii=False))


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class TransitionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DeviceTransition
    fields = ("at", "from_state", "to_state", "by", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


class PlacementInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = Placement
    fields = (
        ("building", "floor", "space_type"),
        "description",
        ("latitude", "longitude"),
        "placed_at",
    )
    readonly_fields = (
        "building",
        "floor",
        "space_type",
        "description",
        "latitude",
        "longitude",
        "placed_at",
    )
    extra = 0
    can_delete = False
    show_change_link = True  # corrected on the placement's own page, within the privacy rule


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = (
        "serial",
        "vendor",
        "device_model",
        "state",
        "unit",
        "last_seen_at",
        "battery_pct",
    )
    list_filter = ("state", "device_model__category", "vendor", "last_seen_at")
    search_fields = ("serial",)
    list_select_related = ("vendor__organisation", "device_model", "unit")
    date_hierarchy = "created_at"
    fields = (
        ("serial", "public_id"),
        ("vendor", "device_model"),
        "state",
        ("unit", "order_line", "lease"),
        ("firmware_version", "battery_pct", "signal_dbm"),
        ("last_seen_at", "next_heartbeat_due_at"),
        ("heartbeat_interval_s", "heartbeat_grace_s"),
        ("token_shown", "claim_code"),
        ("claim_failures", "claim_locked_until"),
        "created_at",
    )
    readonly_fields = (
        "serial",
        "public_id",
        "vendor",
        "device_model",
        "state",
        "unit",
        "order_line",
        "lease",
        "firmware_version",
        "battery_pct",
        "signal_dbm",
        "last_seen_at",
        "next_heartbeat_due_at",
        "token_shown",
        "claim_code",
        "claim_failures",
        "claim_locked_until",
        "created_at",
    )
    inlines = [PlacementInline, TransitionInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("token"))
    def token_shown(self, device: Device) -> str:
        """Enough to recognise a token by; the token itself was shown once, to its owner."""
        if not device.token_hash:
            return _("revoked")
        return f"{device.token_prefix}…  (sha256 {device.token_hash[:8]}…)"


class PlacementAdminForm(ServiceCheckedForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Never inside a home, anywhere: not even offered.
        field = self.fields["space_type"]
        field.choices = [c for c in field.choices if c[0] != Placement.Space.INSIDE_HOME]

    def service_check(self, placement: Placement) -> None:
        # The same rule as devices.services.device_place: in an estate, common spaces only.
        unit = placement.device.unit
        if (
            unit is not None
            and unit.kind == Unit.Kind.ESTATE
            and placement.space_type not in Placement.RESIDENTIAL_COMMON
        ):
            raise ValidationError(
                {
                    "space_type": _(
                        "In a residential estate devices go in common spaces only (corridor, "
                        "stairwell, entrance, lift car, façade, garage, bike shed), never inside "
                        "a home."
                    )
                }
            )


@admin.register(Placement)
class PlacementAdmin(admin.ModelAdmin):
    form = PlacementAdminForm
    list_display = ("device", "unit", "building", "floor", "space_type", "placed_at")
    list_filter = ("space_type", "device__unit__kind")
    search_fields = ("device__serial", "device__unit__name", "building", "description")
    list_select_related = ("device__unit",)
    fields = (
        "device",
        ("building", "floor", "space_type"),
        "description",
        ("latitude", "longitude"),
        "placed_at",
    )
    readonly_fields = ("device", "placed_at")

    def has_add_permission(self, request):
        return False  # a unit member places a device, by the service

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("unit"), ordering="device__unit__name")
    def unit(self, placement: Placement):
        return placement.device.unit


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "device", "type", "event_id", "ts", "processed_at")
    list_filter = ("type", ("processed_at", admin.EmptyFieldListFilter), "received_at")
    search_fields = ("device__serial", "event_id")
    list_select_related = ("device",)
    date_hierarchy = "received_at"
    fields = ("device", "type", "event_id", "ts", "received_at", "processed_at", "values_shown")
    readonly_fields = fields

    @admin.display(description=_("values"))
    def values_shown(self, event: DeviceEvent) -> str:
        return _json(event.values)


@admin.register(DeviceTransition)
class DeviceTransitionAdmin(ReadOnlyAdmin):
    list_display = ("at", "device", "from_state", "to_state", "by", "reason")
    list_filter = ("to_state", "at")
    search_fields = ("device__serial", "reason", "by__email")
    list_select_related = ("device", "by")
    date_hierarchy = "at"


@admin.register(InventoryImport)
class InventoryImportAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "vendor",
        "name",
        "status",
        "total_rows",
        "created_count",
        "error_count",
    )
    list_filter = ("status", "created_at")
    search_fields = ("name", "vendor__organisation__name", "devices__serial")
    list_select_related = ("vendor__organisation",)
    date_hierarchy = "created_at"
    # The file itself and the devices it made are long; the counts and refused rows tell.
    fields = (
        "vendor",
        "by",
        "name",
        "status",
        "total_rows",
        "processed_rows",
        "created_count",
        "error_count",
        "failure",
        "errors_shown",
        "created_at",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields

    @admin.display(description=_("refused rows"))
    def errors_shown(self, item: InventoryImport) -> str:
        return _json(item.errors)
