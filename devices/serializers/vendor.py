"""Shapes of the vendor's device API. Devices, models, orders and imports are named by their
public ids; a device with a unit shows the unit's name and district only (never where the
device is placed). Input serializers check shape only: whose serial, in stock, how many a line
needs are devices.services' rules."""

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from devices import imports, selectors
from devices.models import Device, DeviceTransition, InventoryImport

# Output --------------------------------------------------------------------------------------


class VendorModelRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    model_number = serializers.CharField()


class VendorUnitRefSerializer(serializers.Serializer):
    """A unit as its vendor sees it: a name and a district."""

    name = serializers.CharField()
    district = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_blank=True))
    def get_district(self, unit) -> str:
        district = selectors.unit_district(unit)
        if district is None:
            return ""
        return district.display_name("en" if (get_language() or "").startswith("en") else None)


class VendorOrderRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="order.public_id")
    number = serializers.CharField(source="order.number")


class VendorDeviceSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    device_model = VendorModelRefSerializer(read_only=True)
    unit = VendorUnitRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Device
        fields = [
            "id",
            "serial",
            "state",
            "device_model",
            "claim_code",
            "firmware_version",
            "token_prefix",
            "unit",
            "last_seen_at",
            "battery_pct",
            "signal_dbm",
            "created_at",
        ]


class TransitionSerializer(serializers.ModelSerializer):
    # Plain strings: as enums they would be a second and third name for the device states
    # in the schema.
    from_state = serializers.CharField(help_text=_("The state before (empty for the first)."))
    to_state = serializers.CharField(help_text=_("The state after."))

    class Meta:
        model = DeviceTransition
        fields = ["from_state", "to_state", "at", "reason"]


class VendorDeviceDetailSerializer(VendorDeviceSerializer):
    order = VendorOrderRefSerializer(source="order_line", read_only=True, allow_null=True)
    lease_status = serializers.CharField(source="lease.status", read_only=True, allow_null=True)
    transitions = TransitionSerializer(many=True, read_only=True)

    class Meta(VendorDeviceSerializer.Meta):
        fields = [*VendorDeviceSerializer.Meta.fields, "order", "lease_status", "transitions"]


class VendorDeviceTokenSerializer(serializers.Serializer):
    device = VendorDeviceDetailSerializer()
    token = serializers.CharField(help_text=_("Shown once: store it in the device now."))


class FleetDeviceSerializer(serializers.ModelSerializer):
    """Health for maintenance: no placement, no alerts."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    device_model = VendorModelRefSerializer(read_only=True)
    unit = VendorUnitRefSerializer(read_only=True)

    class Meta:
        model = Device
        fields = [
            "id",
            "serial",
            "state",
            "device_model",
            "last_seen_at",
            "battery_pct",
            "signal_dbm",
            "firmware_version",
            "unit",
        ]


class FleetSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text=_("Devices with units."))
    online = serializers.IntegerField()
    offline = serializers.IntegerField()
    faulty = serializers.IntegerField(help_text=_("Faulty or in maintenance."))
    reporting = serializers.IntegerField(help_text=_("Online, offline, faulty or in maintenance."))
    low_battery = serializers.IntegerField(help_text=_("Battery below 20 %."))
    stale = serializers.IntegerField(help_text=_("Not seen for 24 hours, or never."))
    online_rate = serializers.FloatField(
        allow_null=True, help_text=_("Percent of the reporting devices that are online.")
    )


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=_("As a spreadsheet numbers it (a header is 1)."))
    serial = serializers.CharField(allow_blank=True)
    code = serializers.CharField()
    message = serializers.SerializerMethodField()

    def get_message(self, error: dict) -> str:
        return imports.error_message(error)


class InventoryImportSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    # A plain string: as an enum it would clash with the other apps' "status" enums.
    status = serializers.CharField(read_only=True, help_text=_("queued, running, done or failed."))
    errors = ImportErrorSerializer(many=True, read_only=True)
    errors_not_listed = serializers.SerializerMethodField(
        help_text=_("Refused rows beyond the first 1,000, counted but not listed.")
    )

    class Meta:
        model = InventoryImport
        fields = [
            "id",
            "name",
            "status",
            "total_rows",
            "processed_rows",
            "created_count",
            "error_count",
            "errors",
            "errors_not_listed",
            "failure",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_errors_not_listed(self, inventory_import: InventoryImport) -> int:
        return max(0, inventory_import.error_count - len(inventory_import.errors))


class InventoryImportListSerializer(InventoryImportSerializer):
    class Meta(InventoryImportSerializer.Meta):
        fields = [
            f for f in InventoryImportSerializer.Meta.fields if f not in {"errors", "failure"}
        ]


class AllocatedDeviceSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    serial = serializers.CharField()
    state = serializers.CharField()


class AllocationLineSerializer(serializers.Serializer):
    name = serializers.CharField()
    model_number = serializers.CharField()
    quantity = serializers.IntegerField()
    devices = AllocatedDeviceSerializer(source="allocated", many=True)


class AllocationSerializer(serializers.Serializer):
    order = serializers.UUIDField(source="order.public_id")
    number = serializers.CharField(source="order.number")
    status = serializers.CharField(source="order.status")
    carrier = serializers.CharField(source="order.carrier")
    tracking_number = serializers.CharField(source="order.tracking_number")
    missing = serializers.IntegerField(help_text=_("Devices still to allocate."))
    lines = AllocationLineSerializer(many=True)


# Input ---------------------------------------------------------------------------------------


class VendorDeviceFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Device.State.choices, required=False)
    model = serializers.CharField(
        required=False, max_length=64, help_text=_("A model number of yours, e.g. SA-S100.")
    )
    serial = serializers.CharField(
        required=False, max_length=64, help_text=_("Part of a serial number.")
    )
    import_id = serializers.UUIDField(
        required=False, help_text=_("Only the devices created by this import.")
    )

    def get_fields(self):
        # `import`, as the query names it (a Python keyword).
        fields = super().get_fields()
        fields["import"] = fields.pop("import_id")
        return fields


class FleetFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Device.State.choices, required=False)
    model = serializers.CharField(
        required=False, max_length=64, help_text=_("A model number of yours, e.g. SA-S100.")
    )
    low_battery = serializers.BooleanField(
        required=False, default=False, help_text=_("Only devices with a battery below 20 %.")
    )
    stale = serializers.BooleanField(
        required=False, default=False, help_text=_("Only devices not seen for 24 hours (or never).")
    )


class VendorDeviceCreateSerializer(serializers.Serializer):
    serial = serializers.CharField(max_length=64)
    model_number = serializers.CharField(max_length=64, help_text=_("One of your device models."))


class InventoryImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=_(
            "CSV, one device per row: serial, model_number[, firmware]; a header row is "
            "optional. At most 100,000 rows and 8 MB."
        )
    )


class AllocateSerializer(serializers.Serializer):
    serials = serializers.ListField(
        child=serializers.CharField(max_length=64), allow_empty=False, max_length=10_000
    )


class ShipmentSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=64)
    tracking_number = serializers.CharField(max_length=64)
