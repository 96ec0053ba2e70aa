"""Shapes of the reviewers' API: reference standards, the review queue, a review with its
checklist, decisions and certificates. Money is integer fen. Input serializers check shape
only; the rules (bands ordered, who may write, what can be certified) live in services."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.models import (
    AcquisitionMode,
    BomLine,
    ReferenceStandard,
    Requirement,
    RequirementVerdict,
    Review,
    RevisionTransition,
    Scenario,
    SolutionRevision,
    Tier,
    TierBand,
)

# Standards -----------------------------------------------------------------------------------


class StandardRequirementSerializer(serializers.ModelSerializer):
    tiers = serializers.ListField(child=serializers.ChoiceField(choices=Tier.choices))

    class Meta:
        model = Requirement
        fields = ["id", "code", "text", "text_en", "kind", "threshold", "threshold_unit", "tiers"]
        read_only_fields = ["id"]


class StandardRequirementWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16)
    text = serializers.CharField()
    text_en = serializers.CharField()
    kind = serializers.ChoiceField(choices=Requirement.Kind.choices)
    threshold = serializers.DecimalField(
        max_digits=12, decimal_places=3, required=False, allow_null=True, default=None
    )
    threshold_unit = serializers.CharField(max_length=16, required=False, default="")
    tiers = serializers.ListField(child=serializers.ChoiceField(choices=Tier.choices))


class TierBandSerializer(serializers.ModelSerializer):
    price_min = serializers.IntegerField(min_value=0, help_text=_("Fen per device."))
    price_max = serializers.IntegerField(min_value=0, help_text=_("Fen per device."))

    class Meta:
        model = TierBand
        fields = ["tier", "price_min", "price_max"]


class StandardSerializer(serializers.ModelSerializer):
    scenario = serializers.SlugRelatedField(slug_field="code", read_only=True)
    authority = serializers.CharField(source="authority.name", read_only=True)
    allowed_modes = serializers.ListField(
        child=serializers.ChoiceField(choices=AcquisitionMode.choices)
    )
    requirements = StandardRequirementSerializer(many=True, read_only=True)
    bands = TierBandSerializer(many=True, read_only=True)

    class Meta:
        model = ReferenceStandard
        fields = [
            "id",
            "scenario",
            "version",
            "status",
            "title",
            "title_en",
            "authority",
            "allowed_modes",
            "monitoring_fee_min",
            "monitoring_fee_max",
            "published_at",
            "requirements",
            "bands",
        ]
        read_only_fields = fields


class StandardCreateSerializer(serializers.Serializer):
    scenario = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Scenario.objects.all(),
        error_messages={"does_not_exist": _("No scenario has the code {value}.")},
    )
    title = serializers.CharField(max_length=200)
    title_en = serializers.CharField(max_length=200)
    allowed_modes = serializers.ListField(
        child=serializers.ChoiceField(choices=AcquisitionMode.choices)
    )
    monitoring_fee_min = serializers.IntegerField(min_value=0, help_text=_("Fen."))
    monitoring_fee_max = serializers.IntegerField(min_value=0, help_text=_("Fen."))


class StandardUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    title_en = serializers.CharField(max_length=200, required=False)
    allowed_modes = serializers.ListField(
        child=serializers.ChoiceField(choices=AcquisitionMode.choices), required=False
    )
    monitoring_fee_min = serializers.IntegerField(min_value=0, required=False, help_text=_("Fen."))
    monitoring_fee_max = serializers.IntegerField(min_value=0, required=False, help_text=_("Fen."))


# Reviews -------------------------------------------------------------------------------------


class ReviewQueueItemSerializer(serializers.ModelSerializer):
    solution_id = serializers.UUIDField(source="solution.public_id", read_only=True)
    vendor = serializers.CharField(source="solution.vendor.organisation.name", read_only=True)
    scenario = serializers.CharField(source="solution.scenario.code", read_only=True)
    tier = serializers.CharField(source="solution.tier", read_only=True)

    class Meta:
        model = SolutionRevision
        fields = ["solution_id", "number", "name", "vendor", "scenario", "tier", "status"]
        fields += ["submitted_at"]
        read_only_fields = fields


class ReviewBomLineSerializer(serializers.ModelSerializer):
    device_model = serializers.CharField(source="device_model.model_number", read_only=True)
    device_model_name = serializers.CharField(source="device_model.name", read_only=True)

    class Meta:
        model = BomLine
        fields = ["device_model", "device_model_name", "rule", "quantity", "area_step_m2"]
        read_only_fields = fields


class ReviewTransitionSerializer(serializers.ModelSerializer):
    by = serializers.SerializerMethodField()

    class Meta:
        model = RevisionTransition
        fields = ["from_status", "to_status", "by", "reason", "at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_by(self, transition) -> str | None:
        return transition.by.email if transition.by else None


class VerdictSerializer(serializers.ModelSerializer):
    requirement = serializers.CharField(source="requirement.code", read_only=True)

    class Meta:
        model = RequirementVerdict
        fields = ["requirement", "verdict", "note", "evidence"]
        read_only_fields = fields


class VerdictWriteSerializer(serializers.Serializer):
    requirement = serializers.CharField(
        max_length=16, help_text=_("The requirement's code, for example FIRE-1.")
    )
    verdict = serializers.ChoiceField(choices=RequirementVerdict.Verdict.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    evidence = serializers.FileField(required=False, allow_null=True, default=None)


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.EmailField(source="reviewer.email", read_only=True)
    verdicts = VerdictSerializer(many=True, read_only=True)

    class Meta:
        model = Review
        fields = ["reviewer", "started_at", "decision", "reasons", "decided_at", "verdicts"]
        read_only_fields = fields


class ReviewRevisionSerializer(serializers.ModelSerializer):
    """A revision as a reviewer sees it, with the review, the checklist and what stands in
    the way of certifying it."""

    solution_id = serializers.UUIDField(source="solution.public_id", read_only=True)
    vendor = serializers.CharField(source="solution.vendor.organisation.name", read_only=True)
    scenario = serializers.CharField(source="solution.scenario.code", read_only=True)
    tier = serializers.CharField(source="solution.tier", read_only=True)
    standard = serializers.IntegerField(source="standard_id", read_only=True)
    bom = ReviewBomLineSerializer(many=True, read_only=True)
    transitions = ReviewTransitionSerializer(many=True, read_only=True)
    review = serializers.SerializerMethodField()
    required = serializers.SerializerMethodField()
    problems = serializers.SerializerMethodField()

    class Meta:
        model = SolutionRevision
        fields = [
            "solution_id",
            "number",
            "status",
            "name",
            "name_en",
            "vendor",
            "scenario",
            "tier",
            "standard",
            "purchase_price",
            "installation_fee",
            "lease_monthly_fee",
            "lease_min_months",
            "lease_deposit",
            "lease_buyout_price",
            "monitoring_fee",
            "warranty_months",
            "repair_sla_hours",
            "certificate_number",
            "valid_from",
            "valid_until",
            "submitted_at",
            "bom",
            "transitions",
            "review",
            "required",
            "problems",
        ]
        read_only_fields = fields

    @extend_schema_field(ReviewSerializer(allow_null=True))
    def get_review(self, revision):
        review = self.context.get("review")
        return ReviewSerializer(review).data if review else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_required(self, revision) -> list[str]:
        """Codes of the requirements this revision's tier must meet."""
        tier = revision.solution.tier
        return [r.code for r in revision.standard.requirements.all() if tier in r.tiers]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_problems(self, revision) -> list[str]:
        return [str(problem) for problem in self.context.get("problems", [])]


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Review.Decision.choices)
    reasons = serializers.CharField(required=False, allow_blank=True, default="")


# Certificates --------------------------------------------------------------------------------


class CertificateSerializer(serializers.Serializer):
    number = serializers.CharField()
    holder = serializers.CharField()
    solution = serializers.CharField()
    solution_en = serializers.CharField()
    scenario = serializers.CharField()
    tier = serializers.CharField()
    standard = serializers.CharField()
    status = serializers.ChoiceField(choices=SolutionRevision.Status.choices)
    valid_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    url = serializers.URLField(help_text=_("The public verification page."))


class CertificateActionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        allow_blank=True, help_text=_("Told to the vendor and to the units that bought it.")
    )
