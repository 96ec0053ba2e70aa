"""Shapes of a unit's device API. Devices, units and models are named by their public ids;
times are ISO 8601 (UTC offsets included). Input serializers check shape only: the claim
rules and the residential privacy boundary are devices.services'."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.serializers import MyUnitField
from devices import selectors
from devices.models import Device, Placement

# Output ----------------------------------------------------------------------------------------


class PlacementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Placement
        fields = [
            "building",
            "floor",
            "space_type",
            "description",
            "latitude",
            "longitude",
            "placed_at",
        ]


class _UnitRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class _ModelRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    model_number = serializers.CharField()


class DeviceSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    device_model = _ModelRefSerializer(read_only=True)
    unit = _UnitRefSerializer(read_only=True)
    placement = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "id",
            "serial",
            "state",
            "device_model",
            "unit",
            "last_seen_at",
            "next_heartbeat_due_at",
            "battery_pct",
            "signal_dbm",
            "firmware_version",
            "placement",
        ]

    @extend_schema_field(PlacementSerializer(allow_null=True))
    def get_placement(self, device: Device):
        try:
            placement = device.placement
        except Placement.DoesNotExist:
            return None
        return PlacementSerializer(placement).data


class MetricSerializer(serializers.Serializer):
    name = serializers.CharField()
    unit = serializers.CharField(required=False, allow_blank=True)
    min = serializers.FloatField(required=False, allow_null=True)
    max = serializers.FloatField(required=False, allow_null=True)


class DeviceDetailSerializer(DeviceSerializer):
    vendor = serializers.CharField(source="vendor.organisation.name", read_only=True)
    metrics = serializers.SerializerMethodField()

    class Meta(DeviceSerializer.Meta):
        fields = [*DeviceSerializer.Meta.fields, "vendor", "metrics", "token_prefix"]

    @extend_schema_field(MetricSerializer(many=True))
    def get_metrics(self, device: Device):
        metrics = [m for m in device.device_model.metrics or [] if isinstance(m, dict)]
        return MetricSerializer([m for m in metrics if m.get("name")], many=True).data


class DeviceTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("Shown once: store it in the device now."))
    token_prefix = serializers.CharField()


class TelemetryPointSerializer(serializers.Serializer):
    ts = serializers.DateTimeField(help_text=_("The reading's time, or the bucket's start."))
    value = serializers.FloatField(help_text=_("The reading, or the bucket's average."))
    min = serializers.FloatField()
    max = serializers.FloatField()
    count = serializers.IntegerField(help_text=_("Readings in the bucket (1 for a reading)."))


class TelemetrySerializer(serializers.Serializer):
    metric = serializers.CharField()
    unit = serializers.CharField(allow_blank=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    bucket_seconds = serializers.IntegerField(
        allow_null=True, help_text=_("null: raw readings; otherwise the width of each bucket.")
    )
    points = TelemetryPointSerializer(many=True)

    def get_fields(self):
        # `from` and `to`, as the query names them (`from` is a Python keyword).
        fields = super().get_fields()
        fields["from"] = fields.pop("start")
        fields["to"] = fields.pop("end")
        fields["from"].source = "start"
        fields["to"].source = "end"
        return fields


# Input -----------------------------------------------------------------------------------------


class DeviceFilterSerializer(serializers.Serializer):
    unit = serializers.UUIDField(required=False, help_text=_("One of my units' ids."))
    state = serializers.ChoiceField(choices=Device.State.choices, required=False)


class DeviceClaimSerializer(serializers.Serializer):
    unit = MyUnitField(help_text=_("The unit that claims the device (one of mine)."))
    serial = serializers.CharField(max_length=64)
    claim_code = serializers.CharField(max_length=16, help_text=_("From the device's label."))


class PlacementInputSerializer(serializers.Serializer):
    building = serializers.CharField(max_length=100)
    floor = serializers.IntegerField(min_value=-10, max_value=200)
    space_type = serializers.ChoiceField(
        choices=Placement.Space.choices,
        help_text=_(
            "In a residential estate only common spaces: corridor, stairwell, entrance, "
            "lift_car, facade, garage, bike_shed. Never inside_home."
        ),
    )
    description = serializers.CharField(max_length=200)
    latitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
        required=False,
        allow_null=True,
        default=None,
    )
    longitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
        required=False,
        allow_null=True,
        default=None,
    )

    def validate(self, attrs):
        if (attrs.get("latitude") is None) != (attrs.get("longitude") is None):
            raise serializers.ValidationError(
                {"longitude": _("Give both latitude and longitude, or neither.")}
            )
        return attrs


class TelemetryQuerySerializer(serializers.Serializer):
    """?metric=&from=&to= against the device's model (passed as `metrics` in the context)."""

    metric = serializers.CharField(
        required=False, max_length=64, help_text=_("One of the model's metrics; the first one.")
    )
    start = serializers.DateTimeField(
        required=False, help_text=_("ISO 8601; 24 hours before `to` when left out.")
    )
    end = serializers.DateTimeField(required=False, help_text=_("ISO 8601; now when left out."))

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("start")
        fields["to"] = fields.pop("end")
        return fields

    def validate(self, attrs):
        metrics: list[str] = self.context["metrics"]
        if not metrics:
            raise serializers.ValidationError(
                {"metric": _("This device's model reports no metrics.")}
            )
        metric = attrs.get("metric") or metrics[0]
        if metric not in metrics:
            raise serializers.ValidationError(
                {
                    "metric": _("This device reports %(metrics)s, not %(metric)s.")
                    % {"metrics": ", ".join(metrics), "metric": metric}
                }
            )
        end = attrs.get("to") or timezone.now()
        start = attrs.get("from") or end - timedelta(hours=24)
        if start >= end:
            raise serializers.ValidationError({"to": _("`to` must be after `from`.")})
        if end - start > selectors.TELEMETRY_MAX_RANGE:
            raise serializers.ValidationError(
                {
                    "from": _("Ask for at most %(days)s days at a time.")
                    % {"days": selectors.TELEMETRY_MAX_RANGE.days}
                }
            )
        return {"metric": metric, "start": start, "end": end}
