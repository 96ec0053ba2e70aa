"""The jurisdiction dashboards in the API: every table of a region's dashboard as JSON (the
same rows as the page and its CSVs, in raw values: counts, percentages with one decimal,
whole seconds), and the units of the region not covering a scenario.

Regions are looked up with the /regions/ rule (oversight.dashboards.dashboard_region_get_for):
a region outside the asker's authorities answers 404.
"""

from functools import partial

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.api import NOT_FOUND, PagePagination
from marketplace.models import Scenario
from oversight import dashboards
from oversight.serializers import UncoveredUnitSerializer
from units.models import Region, Unit


class RegionRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.ChoiceField(choices=Region.Level.choices)


class RegionRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(source="region")
    is_self = serializers.BooleanField(help_text=_("The region itself (the others are children)."))
    units = serializers.IntegerField()
    devices_active = serializers.IntegerField()
    devices_offline = serializers.IntegerField()
    online_pct = serializers.FloatField(allow_null=True)
    coverage_pct = serializers.FloatField(
        allow_null=True, help_text=_("Share of (unit, applicable scenario) pairs covered.")
    )
    alerts = serializers.IntegerField(help_text=_("Alerts raised in the window."))


class CoverageRowSerializer(serializers.Serializer):
    scenario = serializers.CharField(source="scenario_code")
    scenario_name = serializers.CharField(source="scenario")
    unit_kind = serializers.ChoiceField(source="unit_kind_code", choices=Unit.Kind.choices)
    units = serializers.IntegerField()
    covered = serializers.IntegerField()
    uncovered = serializers.IntegerField()
    covered_pct = serializers.FloatField(allow_null=True)


class ScenarioCountSerializer(serializers.Serializer):
    scenario = serializers.CharField(allow_null=True, help_text=_("Empty: no scenario."))
    alerts = serializers.IntegerField()


class WeekSerializer(serializers.Serializer):
    week = serializers.DateField(help_text=_("The Monday the week begins on (Shanghai time)."))
    total = serializers.IntegerField()
    by_scenario = ScenarioCountSerializer(many=True)


class ResponseRowSerializer(serializers.Serializer):
    scenario = serializers.CharField(
        source="scenario_code", help_text=_("Empty: all scenarios together, or no scenario.")
    )
    scenario_name = serializers.CharField(source="scenario")
    alerts = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    ack_p50_s = serializers.IntegerField(allow_null=True)
    ack_p90_s = serializers.IntegerField(allow_null=True)
    resolved = serializers.IntegerField()
    resolve_p50_s = serializers.IntegerField(allow_null=True)
    resolve_p90_s = serializers.IntegerField(allow_null=True)
    false_alarm_pct = serializers.FloatField(allow_null=True)


class SolutionRowSerializer(serializers.Serializer):
    vendor = serializers.CharField()
    solution_id = serializers.UUIDField(allow_null=True)
    solution = serializers.CharField()
    scenario = serializers.CharField()
    tier = serializers.CharField()
    alerts = serializers.IntegerField()
    resolved = serializers.IntegerField()
    false_alarms = serializers.IntegerField()
    false_alarm_pct = serializers.FloatField(allow_null=True)


class VendorRowSerializer(serializers.Serializer):
    vendor = serializers.CharField()
    alerts = serializers.IntegerField()
    resolved = serializers.IntegerField()
    false_alarms = serializers.IntegerField()
    false_alarm_pct = serializers.FloatField(allow_null=True)


class CatalogRowSerializer(serializers.Serializer):
    scenario = serializers.CharField(source="scenario_code")
    scenario_name = serializers.CharField(source="scenario")
    low = serializers.IntegerField(help_text=_("Certified solutions at the low tier."))
    mid = serializers.IntegerField(help_text=_("Certified solutions at the mid tier."))
    high = serializers.IntegerField(help_text=_("Certified solutions at the high tier."))
    total = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer):
    region = RegionRefSerializer()
    breadcrumb = RegionRefSerializer(many=True, help_text=_("From the city down."))
    as_of = serializers.DateTimeField(allow_null=True)
    window_days = serializers.IntegerField()
    weeks = serializers.IntegerField()
    percentile_error_pct = serializers.IntegerField(
        help_text=_("p50 and p90 come from log-scale histograms: within this many percent.")
    )
    regions = RegionRowSerializer(many=True)
    coverage = CoverageRowSerializer(many=True)
    alerts_per_week = WeekSerializer(many=True)
    response_times = ResponseRowSerializer(many=True)
    false_alarms_by_solution = SolutionRowSerializer(many=True)
    false_alarms_by_vendor = VendorRowSerializer(many=True)
    catalog = CatalogRowSerializer(many=True)


def _region_ref(region: Region) -> dict:
    return {"code": region.code, "name": dashboards.region_name(region), "level": region.level}


def _weeks(table: dashboards.Table) -> list[dict]:
    scenario_columns = [column.key for column in table.columns if column.key.startswith("s_")]
    return [
        {
            "week": row["week"],
            "total": row["total"],
            "by_scenario": [
                {"scenario": key[2:] or None, "alerts": row[key]} for key in scenario_columns
            ],
        }
        for row in table.rows
    ]


class RegionDashboardApi(GenericAPIView):
    serializer_class = DashboardSerializer
    pagination_class = None

    @extend_schema(
        operation_id="oversight_region_dashboard",
        summary=_("A region's dashboard: every table, as on the page and in its CSVs"),
        responses={200: DashboardSerializer, 404: NOT_FOUND},
    )
    def get(self, request, code):
        region = dashboards.dashboard_region_get_for(user=request.user, code=code)
        tables = dashboards.dashboard_tables(region=region)
        breadcrumb = dashboards.dashboard_breadcrumb_for(user=request.user, region=region)
        data = {
            "region": _region_ref(region),
            "breadcrumb": [_region_ref(crumb["region"]) for crumb in breadcrumb],
            "as_of": dashboards.as_of(tables),
            "window_days": dashboards.WINDOW_DAYS,
            "weeks": dashboards.WEEKS,
            "percentile_error_pct": dashboards.percentile_error_pct(),
            "regions": tables["regions"].rows,
            "coverage": tables["coverage"].rows,
            "alerts_per_week": _weeks(tables["weekly"]),
            "response_times": tables["response"].rows,
            "false_alarms_by_solution": tables["false_alarms_by_solution"].rows,
            "false_alarms_by_vendor": tables["false_alarms_by_vendor"].rows,
            "catalog": tables["catalog"].rows,
        }
        return Response(DashboardSerializer(data).data)


class RegionUncoveredApi(GenericAPIView):
    serializer_class = UncoveredUnitSerializer
    pagination_class = PagePagination

    @extend_schema(
        operation_id="oversight_region_uncovered",
        summary=_("Units of a region not covering a scenario, oldest first"),
        parameters=[
            OpenApiParameter("scenario", str, required=True, description=_("Scenario code.")),
            OpenApiParameter("kind", str, enum=Unit.Kind.values, description=_("Unit kind.")),
        ],
        responses={200: UncoveredUnitSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, code):
        region = dashboards.dashboard_region_get_for(user=request.user, code=code)
        scenario = get_object_or_404(Scenario, code=request.query_params.get("scenario", ""))
        kind = request.query_params.get("kind", "")
        if kind and kind not in Unit.Kind.values:
            raise Http404("Unknown unit kind")
        units = dashboards.uncovered_units(region=region, scenario=scenario, unit_kind=kind)
        total, covered = dashboards.coverage_counts(
            region=region, scenario=scenario, unit_kind=kind
        )
        self.paginator.django_paginator_class = partial(
            dashboards.KnownCountPaginator, count=total - covered
        )
        page = self.paginate_queryset(units)
        return self.get_paginated_response(UncoveredUnitSerializer(page, many=True).data)


urlpatterns = [
    path(
        "oversight/regions/<str:code>/",
        RegionDashboardApi.as_view(),
        name="region_dashboard",
    ),
    path(
        "oversight/regions/<str:code>/uncovered/",
        RegionUncoveredApi.as_view(),
        name="region_uncovered",
    ),
]
