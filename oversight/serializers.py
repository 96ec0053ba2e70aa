"""Shapes of the oversight API. Programmes and units are named by their public ids, regions by
their codes, scenarios by their codes. Input serializers check shape only: which region,
kind and deadline a programme may have is oversight.services'."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.models import Scenario
from oversight import selectors
from oversight.models import CoverageProgramme
from units.models import Region, Unit

STATUS_CHOICES = [
    (selectors.Status.MET, _("Every unit covered")),
    (selectors.Status.ON_TRACK, _("On track")),
    (selectors.Status.AT_RISK, _("At risk")),
    (selectors.Status.OVERDUE, _("Deadline passed with units not covered")),
    (selectors.Status.EMPTY, _("No unit in scope yet")),
]


class _RegionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "name", "name_en", "level"]


class ProgressSerializer(serializers.Serializer):
    units = serializers.IntegerField(help_text=_("Units in scope at the last coverage refresh."))
    covered = serializers.IntegerField()
    uncovered = serializers.IntegerField()
    pct = serializers.FloatField(help_text=_("Covered units in percent, one decimal."))
    deadline = serializers.DateField()
    days_left = serializers.IntegerField(help_text=_("Negative once the deadline has passed."))
    at_risk = serializers.BooleanField(
        help_text=_("The deadline is at most 30 days away and fewer than 80 % are covered.")
    )
    status = serializers.ChoiceField(choices=STATUS_CHOICES)


class ProgrammeSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    authority = serializers.CharField(source="authority.organisation.name", read_only=True)
    region = _RegionRefSerializer(read_only=True)
    scenario = serializers.SlugRelatedField(slug_field="code", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = CoverageProgramme
        fields = [
            "id",
            "name",
            "authority",
            "region",
            "unit_kind",
            "scenario",
            "deadline",
            "created_at",
            "progress",
        ]

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, programme: CoverageProgramme) -> dict:
        return ProgressSerializer(selectors.programme_progress(programme=programme)).data


class ProgrammeWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    region = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        help_text=_("The code of a region inside your authority's."),
    )
    unit_kind = serializers.ChoiceField(choices=Unit.Kind.choices)
    scenario = serializers.SlugRelatedField(slug_field="code", queryset=Scenario.objects.all())
    deadline = serializers.DateField(help_text=_("In the future."))


class ProgrammeCreateSerializer(ProgrammeWriteSerializer):
    authority = serializers.UUIDField(
        required=False,
        help_text=_(
            "The public id of the authority organisation declaring it, when you belong to "
            "several; your first otherwise."
        ),
    )


class UncoveredUnitSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    grid = serializers.CharField(source="region.code")
    organisation = serializers.CharField(source="organisation.name")

    class Meta:
        model = Unit
        fields = [
            "id",
            "name",
            "kind",
            "address",
            "grid",
            "organisation",
            "responsible_name",
            "responsible_phone",
        ]
