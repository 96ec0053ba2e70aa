"""The catalog API for units: scenarios, their certified solutions (filters; sort by price or
tier only), one solution, a quote for a unit, and a comparison of up to four. Prices are
integer fen per device.

Query parameters are parsed with a serializer (400 keyed by field); the unit to quote for is
looked up with units.selectors.unit_get_for, so a unit that is not the asker's answers 404.
"""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.api import BAD_INPUT, NOT_FOUND, PagePagination
from marketplace import selectors
from marketplace.quotes import quote_for
from marketplace.serializers.catalog import (
    CatalogFilterSerializer,
    CatalogSolutionSerializer,
    CompareQuerySerializer,
    CompareSerializer,
    QuoteQuerySerializer,
    QuoteSerializer,
    ScenarioSerializer,
    compare_requirement_rows,
    quote_data,
)
from units.selectors import unit_get_for


def _parse(serializer_class, request):
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer


def _unit(request, params: dict):
    public_id = params.get("unit")
    return unit_get_for(user=request.user, public_id=public_id) if public_id else None


def _quotes(revisions, unit, months: int) -> dict[int, dict]:
    if unit is None:
        return {}
    return {
        revision.pk: quote_data(
            revision=revision,
            unit=unit,
            quote=quote_for(revision=revision, unit=unit, months=months),
        )
        for revision in revisions
    }


class ScenarioListApi(GenericAPIView):
    serializer_class = ScenarioSerializer
    pagination_class = None  # a dozen scenarios, always read whole and in order

    @extend_schema(
        operation_id="catalog_scenarios_list",
        summary=_("Scenarios, with certified solutions per tier"),
        responses=ScenarioSerializer(many=True),
    )
    def get(self, request):
        context = {"tier_counts": selectors.catalog_tier_counts()}
        return Response(
            ScenarioSerializer(selectors.scenario_list(), many=True, context=context).data
        )


class ScenarioSolutionListApi(GenericAPIView):
    serializer_class = CatalogSolutionSerializer
    pagination_class = PagePagination

    @extend_schema(
        operation_id="catalog_scenarios_solutions_list",
        summary=_("Certified solutions of a scenario, sorted by price or tier only"),
        parameters=[CatalogFilterSerializer],
        responses={200: CatalogSolutionSerializer(many=True), 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request, code):
        scenario = selectors.catalog_scenario_get(code=code)
        params = _parse(CatalogFilterSerializer, request)
        unit = _unit(request, params.validated_data)
        revisions = selectors.catalog_revisions(scenario=scenario, **params.selector_filters())
        page = self.paginate_queryset(revisions)
        context = {"quotes": _quotes(page, unit, params.validated_data["months"])}
        data = CatalogSolutionSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)


class SolutionDetailApi(GenericAPIView):
    serializer_class = CatalogSolutionSerializer

    @extend_schema(
        operation_id="catalog_solutions_retrieve",
        summary=_("A certified solution on the catalog"),
        responses={200: CatalogSolutionSerializer, 404: NOT_FOUND},
    )
    def get(self, request, solution_id):
        revision = selectors.catalog_revision_get(public_id=solution_id)
        return Response(CatalogSolutionSerializer(revision).data)


class SolutionQuoteApi(GenericAPIView):
    serializer_class = QuoteSerializer

    @extend_schema(
        operation_id="catalog_solutions_quote",
        summary=_("What a certified solution costs one of my units, bought vs leased"),
        parameters=[QuoteQuerySerializer],
        responses={200: QuoteSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request, solution_id):
        revision = selectors.catalog_revision_get(public_id=solution_id)
        params = _parse(QuoteQuerySerializer, request).validated_data
        unit = _unit(request, params)
        quote = quote_for(revision=revision, unit=unit, months=params["months"])
        return Response(quote_data(revision=revision, unit=unit, quote=quote))


class CompareApi(GenericAPIView):
    serializer_class = CompareSerializer

    @extend_schema(
        operation_id="catalog_compare",
        summary=_("Up to four certified solutions side by side"),
        parameters=[CompareQuerySerializer],
        responses={200: CompareSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request):
        params = _parse(CompareQuerySerializer, request).validated_data
        unit = _unit(request, params)
        revisions = selectors.catalog_compare(public_ids=params["s"])
        context = {"quotes": _quotes(revisions, unit, params["months"])}
        data = {"solutions": revisions, "requirements": compare_requirement_rows(revisions)}
        return Response(CompareSerializer(data, context=context).data)


urlpatterns = [
    path("catalog/scenarios/", ScenarioListApi.as_view(), name="api_catalog_scenarios"),
    path(
        "catalog/scenarios/<slug:code>/solutions/",
        ScenarioSolutionListApi.as_view(),
        name="api_catalog_scenario_solutions",
    ),
    path(
        "catalog/solutions/<uuid:solution_id>/",
        SolutionDetailApi.as_view(),
        name="api_catalog_solution",
    ),
    path(
        "catalog/solutions/<uuid:solution_id>/quote/",
        SolutionQuoteApi.as_view(),
        name="api_catalog_solution_quote",
    ),
    path("catalog/compare/", CompareApi.as_view(), name="api_catalog_compare"),
]
