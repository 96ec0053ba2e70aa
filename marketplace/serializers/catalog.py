"""Shapes of the catalog API (prices in integer fen), and the two read-outs the catalog pages
share with it: how a bill-of-materials rule gave a quantity, and the requirement rows of a
comparison."""

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.forms.catalog import DEFAULT_MONTHS, MAX_COMPARED, MAX_MONTHS, SORT_CHOICES
from marketplace.models import AcquisitionMode, BomLine, Scenario, SolutionRevision, Tier
from units.models import Unit

# Read-outs shared with the pages -------------------------------------------------------------


def bom_rule_explained(line: BomLine, unit: Unit) -> str:
    """The rule that gave a line its quantity, in the unit's own numbers."""
    Rule = BomLine.Rule
    numbers = {
        "quantity": line.quantity,
        "step": line.area_step_m2,
        "area": unit.floor_area_m2,
        "floors": unit.floors,
        "elevators": unit.elevators,
        "shops": unit.shops_inside,
        "entrances": unit.entrances,
    }
    sentences = {
        Rule.FIXED: _("%(quantity)d in all"),
        Rule.PER_AREA: _("%(quantity)d per %(step)d m² of %(area)d m² (rounded up)"),
        Rule.PER_FLOOR: ngettext(
            "%(quantity)d per floor × %(floors)d floor",
            "%(quantity)d per floor × %(floors)d floors",
            numbers["floors"],
        ),
        Rule.PER_ELEVATOR: ngettext(
            "%(quantity)d per elevator × %(elevators)d elevator",
            "%(quantity)d per elevator × %(elevators)d elevators",
            numbers["elevators"],
        ),
        Rule.PER_SHOP: ngettext(
            "%(quantity)d per shop × %(shops)d shop inside",
            "%(quantity)d per shop × %(shops)d shops inside",
            numbers["shops"],
        ),
        Rule.PER_ENTRANCE: ngettext(
            "%(quantity)d per entrance × %(entrances)d entrance",
            "%(quantity)d per entrance × %(entrances)d entrances",
            numbers["entrances"],
        ),
    }
    return sentences[line.rule] % numbers


def _verdicts_by_code(revision: SolutionRevision) -> dict[str, object] | None:
    """The review's verdict per requirement code; None when the revision has no review."""
    try:
        review = revision.review
    except ObjectDoesNotExist:
        return None
    codes = {req.pk: req.code for req in revision.standard.requirements.all()}
    return {codes[v.requirement_id]: v for v in review.verdicts.all() if v.requirement_id in codes}


def compare_requirement_rows(revisions: list[SolutionRevision]) -> list[dict]:
    """One row per requirement of the standards the compared revisions were certified against
    (usually the same standard), with each column's verdict; None where that column's standard
    has no such requirement or no verdict was recorded."""
    requirements: dict[str, object] = {}
    for revision in revisions:
        if revision.standard is not None:
            for requirement in revision.standard.requirements.all():
                requirements.setdefault(requirement.code, requirement)
    verdicts = [_verdicts_by_code(rev) if rev.standard else None for rev in revisions]
    rows = []
    for code, requirement in sorted(
        requirements.items(), key=lambda item: (item[1].position, item[0])
    ):
        cells = []
        for column in verdicts:
            verdict = (column or {}).get(code)
            cells.append(
                {
                    "verdict": verdict.verdict,
                    "label": verdict.get_verdict_display(),
                    "note": verdict.note,
                }
                if verdict
                else None
            )
        rows.append({"requirement": requirement, "cells": cells})
    return rows


# Input ---------------------------------------------------------------------------------------


class UnitTermSerializer(serializers.Serializer):
    unit = serializers.UUIDField(
        required=False, help_text=gettext_lazy("A unit you can see, to quote for.")
    )
    months = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_MONTHS, default=DEFAULT_MONTHS
    )


class QuoteQuerySerializer(UnitTermSerializer):
    unit = serializers.UUIDField(help_text=gettext_lazy("A unit you can see, to quote for."))


class CatalogFilterSerializer(UnitTermSerializer):
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    mode = serializers.ChoiceField(choices=AcquisitionMode.choices, required=False)
    vendor = serializers.UUIDField(required=False, help_text=gettext_lazy("A vendor's id."))
    max_price = serializers.IntegerField(
        required=False, min_value=0, help_text=gettext_lazy("Fen per device.")
    )
    sort = serializers.ChoiceField(choices=SORT_CHOICES, required=False, default="price")

    def selector_filters(self) -> dict:
        data = self.validated_data
        return {
            "tier": data.get("tier"),
            "mode": data.get("mode"),
            "vendor_public_id": data.get("vendor"),
            "max_price": data.get("max_price"),
            "sort": data["sort"],
        }


class CompareQuerySerializer(UnitTermSerializer):
    s = serializers.ListField(
        child=serializers.UUIDField(),
        min_length=1,
        max_length=MAX_COMPARED,
        help_text=gettext_lazy("Solution ids, up to four."),
        error_messages={
            "max_length": gettext_lazy("Compare at most {max_length} solutions at a time."),
            "min_length": gettext_lazy("Choose at least one solution to compare."),
        },
    )


# Output --------------------------------------------------------------------------------------


class ScenarioSerializer(serializers.ModelSerializer):
    tier_counts = serializers.SerializerMethodField()
    tiers_missing = serializers.SerializerMethodField()

    class Meta:
        model = Scenario
        fields = [
            "code",
            "name",
            "name_en",
            "description",
            "description_en",
            "unit_kinds",
            "life_safety",
            "tier_counts",
            "tiers_missing",
        ]

    def _counts(self, scenario) -> dict[str, int]:
        return self.context["tier_counts"].get(scenario.pk, dict.fromkeys(Tier.values, 0))

    def get_tier_counts(self, scenario) -> dict[str, int]:
        """Certified solutions per tier."""
        return self._counts(scenario)

    def get_tiers_missing(self, scenario) -> list[str]:
        """Tiers without a certified solution yet."""
        return [tier for tier, count in self._counts(scenario).items() if not count]


class BomLineSerializer(serializers.ModelSerializer):
    device_model = serializers.UUIDField(source="device_model.public_id", read_only=True)
    device_model_name = serializers.CharField(source="device_model.name", read_only=True)
    model_number = serializers.CharField(source="device_model.model_number", read_only=True)
    category = serializers.CharField(source="device_model.category", read_only=True)

    class Meta:
        model = BomLine
        fields = [
            "device_model",
            "device_model_name",
            "model_number",
            "category",
            "rule",
            "quantity",
            "area_step_m2",
        ]


class QuoteLineSerializer(serializers.Serializer):
    device_model_name = serializers.CharField()
    rule = serializers.ChoiceField(choices=BomLine.Rule.choices)
    quantity = serializers.IntegerField(help_text=gettext_lazy("Devices this unit needs."))
    explanation = serializers.CharField()


class QuoteSerializer(serializers.Serializer):
    """What the solution costs the unit over `months`, bought vs leased, in fen."""

    unit = serializers.UUIDField()
    months = serializers.IntegerField()
    devices = serializers.IntegerField()
    currency = serializers.CharField()
    lines = QuoteLineSerializer(many=True)
    purchase_upfront = serializers.IntegerField()
    monitoring_monthly = serializers.IntegerField()
    purchase_total = serializers.IntegerField()
    lease_offered = serializers.BooleanField()
    lease_deposit = serializers.IntegerField(allow_null=True)
    lease_monthly = serializers.IntegerField(allow_null=True)
    lease_first_payment = serializers.IntegerField(allow_null=True)
    lease_term_months = serializers.IntegerField(allow_null=True)
    lease_total = serializers.IntegerField(allow_null=True)
    lease_buyout = serializers.IntegerField(allow_null=True)


def quote_data(*, revision: SolutionRevision, unit: Unit, quote) -> dict:
    """A quote (marketplace.quotes.Quote) as the API answers it, each line's rule explained."""
    fields = {
        name: getattr(quote, name)
        for name in QuoteSerializer._declared_fields
        if name not in ("unit", "lines")
    }
    lines = [
        {
            "device_model_name": quoted.device_model_name,
            "rule": quoted.rule,
            "quantity": quoted.quantity,
            "explanation": bom_rule_explained(line, unit),
        }
        for line, quoted in zip(revision.bom.all(), quote.lines, strict=True)
    ]
    return QuoteSerializer(fields | {"unit": unit.public_id, "lines": lines}).data


class CatalogSolutionSerializer(serializers.ModelSerializer):
    """A certified revision as the catalog shows it; prices per device, in fen."""

    solution = serializers.UUIDField(source="solution.public_id")
    scenario = serializers.CharField(source="solution.scenario.code")
    tier = serializers.ChoiceField(source="solution.tier", choices=Tier.choices)
    vendor = serializers.UUIDField(source="solution.vendor.public_id")
    vendor_name = serializers.CharField(source="solution.vendor.organisation.name")
    offers_lease = serializers.BooleanField()
    standard_version = serializers.IntegerField(source="standard.version", allow_null=True)
    bom = BomLineSerializer(many=True)
    quote = serializers.SerializerMethodField()

    class Meta:
        model = SolutionRevision
        fields = [
            "solution",
            "scenario",
            "tier",
            "vendor",
            "vendor_name",
            "number",
            "name",
            "name_en",
            "description",
            "description_en",
            "currency",
            "purchase_price",
            "installation_fee",
            "offers_lease",
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
            "standard_version",
            "bom",
            "quote",
        ]

    @extend_schema_field(QuoteSerializer(allow_null=True))
    def get_quote(self, revision) -> dict | None:
        """The quote for the `unit` asked for, or null when none was."""
        quotes = self.context.get("quotes") or {}
        return quotes.get(revision.pk)


class CompareRequirementSerializer(serializers.Serializer):
    code = serializers.CharField(source="requirement.code")
    text = serializers.CharField(source="requirement.text")
    text_en = serializers.CharField(source="requirement.text_en")
    verdicts = serializers.SerializerMethodField()

    def get_verdicts(self, row) -> list[str | None]:
        """Per compared solution, in order: met, not_met, na, or null (not in its standard)."""
        return [cell["verdict"] if cell else None for cell in row["cells"]]


class CompareSerializer(serializers.Serializer):
    solutions = CatalogSolutionSerializer(many=True)
    requirements = CompareRequirementSerializer(many=True)
