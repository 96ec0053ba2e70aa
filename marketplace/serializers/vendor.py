"""Shapes of the vendor API. Prices are integer fen. Input serializers check shape only and
name device models by their opaque id among the vendor's own; the rules (lease terms, own
models, who may write) live in marketplace.services."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from marketplace.models import (
    BomLine,
    DeviceModel,
    RevisionTransition,
    Scenario,
    Solution,
    SolutionRevision,
    Tier,
    Vendor,
)
from marketplace.services import REVISION_FIELDS

# Profile ---------------------------------------------------------------------------------------

PROFILE_FIELDS = [
    "licence_number",
    "description",
    "contact_name",
    "contact_phone",
    "contact_email",
    "website",
]


class VendorSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    organisation = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    name = serializers.CharField(source="organisation.name", read_only=True)

    class Meta:
        model = Vendor
        fields = ["id", "organisation", "name", *PROFILE_FIELDS]
        read_only_fields = fields


class VendorWriteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vendor
        fields = PROFILE_FIELDS
        # Uniqueness of the licence number is checked by the service (it knows which row).
        extra_kwargs = {"licence_number": {"validators": []}}


# Device models ---------------------------------------------------------------------------------


class VendorMetricSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    unit = serializers.CharField(max_length=16, allow_blank=True, default="")
    min = serializers.FloatField(allow_null=True, default=None)
    max = serializers.FloatField(allow_null=True, default=None)


DEVICE_MODEL_FIELDS = [
    "name",
    "model_number",
    "category",
    "scenarios",
    "metrics",
    "heartbeat_interval_s",
    "heartbeat_grace_s",
    "battery_life_months",
    "protocol",
    "unit_cost",
]


class VendorDeviceModelSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    scenarios = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    metrics = VendorMetricSerializer(many=True, read_only=True)
    unit_cost = serializers.IntegerField(read_only=True, help_text=_("Fen per device."))

    class Meta:
        model = DeviceModel
        fields = ["id", *DEVICE_MODEL_FIELDS, "datasheet", "created_at"]
        read_only_fields = fields


class VendorDeviceModelWriteSerializer(serializers.ModelSerializer):
    scenarios = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Scenario.objects.all()
    )
    metrics = VendorMetricSerializer(many=True, required=False)
    unit_cost = serializers.IntegerField(min_value=0, help_text=_("Fen per device."))

    class Meta:
        model = DeviceModel
        fields = DEVICE_MODEL_FIELDS
        validators = []  # (vendor, model_number) is checked by the model's full_clean

    def validate_metrics(self, metrics):
        return [dict(metric) for metric in metrics]


# Solutions and revisions -----------------------------------------------------------------------


class OwnDeviceModelField(serializers.SlugRelatedField):
    """A device model named by its id, among the vendor's own only: another vendor's model
    and a missing one give the same error."""

    default_error_messages = {
        "does_not_exist": _("Use your own device models only."),
        "invalid": _("Use your own device models only."),
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="public_id", **kwargs)

    def get_queryset(self):
        return self.context["vendor"].device_models.all()


class VendorBomLineSerializer(serializers.ModelSerializer):
    device_model = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    device_model_name = serializers.CharField(source="device_model.name", read_only=True)

    class Meta:
        model = BomLine
        fields = ["device_model", "device_model_name", "rule", "quantity", "area_step_m2"]
        read_only_fields = fields


class VendorBomLineWriteSerializer(serializers.ModelSerializer):
    device_model = OwnDeviceModelField()
    quantity = serializers.IntegerField(min_value=1, max_value=32767)
    area_step_m2 = serializers.IntegerField(min_value=1, required=False, allow_null=True)

    class Meta:
        model = BomLine
        fields = ["device_model", "rule", "quantity", "area_step_m2"]

    def validate(self, attrs):
        if attrs["rule"] == BomLine.Rule.PER_AREA and not attrs.get("area_step_m2"):
            raise serializers.ValidationError(
                {"area_step_m2": _("A per-area rule needs the N in “per N m²”.")}
            )
        return attrs


class VendorTransitionSerializer(serializers.ModelSerializer):
    # Plain strings: both hold a revision status ("" before the first one).
    from_status = serializers.CharField(read_only=True)
    to_status = serializers.CharField(read_only=True)
    by = serializers.EmailField(source="by.email", read_only=True, allow_null=True)

    class Meta:
        model = RevisionTransition
        fields = ["from_status", "to_status", "by", "reason", "at"]
        read_only_fields = fields


class VendorRevisionSerializer(serializers.ModelSerializer):
    standard_version = serializers.IntegerField(
        source="standard.version", read_only=True, allow_null=True
    )
    bom = VendorBomLineSerializer(many=True, read_only=True)
    transitions = VendorTransitionSerializer(many=True, read_only=True)

    class Meta:
        model = SolutionRevision
        fields = [
            "number",
            "status",
            *REVISION_FIELDS,
            "currency",
            "standard_version",
            "certificate_number",
            "valid_from",
            "valid_until",
            "created_at",
            "submitted_at",
            "bom",
            "transitions",
        ]
        read_only_fields = fields


class VendorRevisionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = SolutionRevision
        fields = ["number", "status", "name", "certificate_number", "valid_from", "valid_until"]
        read_only_fields = fields


class VendorSolutionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    scenario = serializers.SlugRelatedField(slug_field="code", read_only=True)
    revisions = VendorRevisionSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Solution
        fields = ["id", "scenario", "tier", "created_at", "revisions"]
        read_only_fields = fields


class VendorSolutionDetailSerializer(VendorSolutionSerializer):
    revisions = VendorRevisionSerializer(many=True, read_only=True, source="revision_list")


class VendorRevisionWriteSerializer(serializers.ModelSerializer):
    """A draft's fields and, when given, its whole bill of materials (replaced)."""

    bom = VendorBomLineWriteSerializer(many=True, required=False)

    class Meta:
        model = SolutionRevision
        fields = [*REVISION_FIELDS, "bom"]

    def validate_bom(self, lines):
        return [dict(line) for line in lines]


class VendorSolutionCreateSerializer(VendorRevisionWriteSerializer):
    scenario = serializers.SlugRelatedField(slug_field="code", queryset=Scenario.objects.all())
    tier = serializers.ChoiceField(choices=Tier.choices)
    bom = VendorBomLineWriteSerializer(many=True)

    class Meta(VendorRevisionWriteSerializer.Meta):
        fields = ["scenario", "tier", *REVISION_FIELDS, "bom"]
