"""The vendor API: the profile, device models, solutions and their revisions.

The vendor is the one the asker is a member of; a person in several vendors names it with
`?organisation=<uuid>`. Objects are looked up through selectors scoped to the asker (404 for
another vendor's), and each write calls one marketplace.services function, which refuses a
viewer (403). Prices are integer fen.
"""

import uuid

from django.http import Http404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.api import BAD_INPUT, NOT_FOUND, PagePagination, write_responses
from accounts.models import Membership, Organisation
from marketplace import selectors, services
from marketplace.models import Solution, Vendor
from marketplace.serializers.vendor import (
    VendorDeviceModelSerializer,
    VendorDeviceModelWriteSerializer,
    VendorRevisionSerializer,
    VendorRevisionWriteSerializer,
    VendorSerializer,
    VendorSolutionCreateSerializer,
    VendorSolutionDetailSerializer,
    VendorSolutionSerializer,
    VendorWriteSerializer,
)

ORGANISATION_PARAMETER = OpenApiParameter(
    "organisation",
    OpenApiTypes.UUID,
    description=_("Which of my vendor organisations, when I belong to several."),
)


def vendor_organisation_of(request) -> Organisation:
    """The vendor organisation the request speaks for: the only one the asker belongs to, or
    the one named by `?organisation=`; 404 when the asker belongs to no such vendor."""
    memberships = Membership.objects.filter(
        user=request.user, organisation__kind=Organisation.Kind.VENDOR
    ).select_related("organisation")
    wanted = request.query_params.get("organisation")
    if wanted:
        try:
            memberships = memberships.filter(organisation__public_id=uuid.UUID(wanted))
        except ValueError:  # not a UUID: the same answer as an unknown one
            raise Http404("No such vendor organisation") from None
    memberships = list(memberships[:2])
    if not memberships:
        raise Http404("No vendor organisation")
    if len(memberships) > 1:
        raise serializers.ValidationError(
            {"organisation": [_("You belong to several vendors: name one with ?organisation=.")]}
        )
    return memberships[0].organisation


class _AsVendor(GenericAPIView):
    def get_vendor(self) -> Vendor:
        organisation = vendor_organisation_of(self.request)
        vendor = selectors.vendor_profile_of(user=self.request.user, organisation=organisation)
        if vendor is None:
            raise Http404("The vendor profile is not filled in yet")
        return vendor


# Profile ---------------------------------------------------------------------------------------


class VendorProfileApi(_AsVendor):
    serializer_class = VendorSerializer

    @extend_schema(
        summary=_("My vendor profile"),
        parameters=[ORGANISATION_PARAMETER],
        responses={200: VendorSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request):
        return Response(VendorSerializer(self.get_vendor()).data)

    @extend_schema(
        summary=_("Create or replace my vendor profile (owners and managers)"),
        parameters=[ORGANISATION_PARAMETER],
        request=VendorWriteSerializer,
        responses=write_responses({200: VendorSerializer}),
    )
    def put(self, request):
        organisation = vendor_organisation_of(request)
        serializer = VendorWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        vendor = services.vendor_profile_save(
            organisation=organisation, by=request.user, **serializer.validated_data
        )
        return Response(VendorSerializer(vendor).data)


# Device models ---------------------------------------------------------------------------------


class DeviceModelListApi(_AsVendor):
    serializer_class = VendorDeviceModelSerializer
    pagination_class = PagePagination

    @extend_schema(
        summary=_("My device models"),
        parameters=[ORGANISATION_PARAMETER],
        responses={200: VendorDeviceModelSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request):
        models = selectors.device_model_list_for_vendor(vendor=self.get_vendor())
        page = self.paginate_queryset(models.order_by("name", "pk"))
        return self.get_paginated_response(VendorDeviceModelSerializer(page, many=True).data)

    @extend_schema(
        summary=_("Add a device model (staff and above)"),
        parameters=[ORGANISATION_PARAMETER],
        request=VendorDeviceModelWriteSerializer,
        responses=write_responses({201: VendorDeviceModelSerializer}),
    )
    def post(self, request):
        vendor = self.get_vendor()
        serializer = VendorDeviceModelWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device_model = services.device_model_save(
            vendor=vendor, by=request.user, **serializer.validated_data
        )
        return Response(
            VendorDeviceModelSerializer(device_model).data, status=status.HTTP_201_CREATED
        )


class DeviceModelDetailApi(GenericAPIView):
    serializer_class = VendorDeviceModelSerializer

    @extend_schema(
        summary=_("One of my device models"),
        responses={200: VendorDeviceModelSerializer, 404: NOT_FOUND},
    )
    def get(self, request, device_model_id):
        device_model = selectors.device_model_get_for_vendor(
            user=request.user, public_id=device_model_id
        )
        return Response(VendorDeviceModelSerializer(device_model).data)

    @extend_schema(
        summary=_("Change a device model (staff and above)"),
        request=VendorDeviceModelWriteSerializer,
        responses=write_responses({200: VendorDeviceModelSerializer}),
    )
    def patch(self, request, device_model_id):
        device_model = selectors.device_model_get_for_vendor(
            user=request.user, public_id=device_model_id
        )
        serializer = VendorDeviceModelWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        device_model = services.device_model_save(
            vendor=device_model.vendor,
            by=request.user,
            device_model=device_model,
            **serializer.validated_data,
        )
        return Response(VendorDeviceModelSerializer(device_model).data)


# Solutions and revisions -----------------------------------------------------------------------


def _solution_detail(solution: Solution) -> dict:
    solution.revision_list = list(selectors.revision_list_for_solution(solution=solution))
    return VendorSolutionDetailSerializer(solution).data


class SolutionListApi(_AsVendor):
    serializer_class = VendorSolutionSerializer
    pagination_class = PagePagination

    @extend_schema(
        summary=_("My solutions, each with its revisions"),
        parameters=[ORGANISATION_PARAMETER],
        responses={200: VendorSolutionSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request):
        solutions = selectors.solution_list_for_vendor(vendor=self.get_vendor())
        page = self.paginate_queryset(solutions)
        return self.get_paginated_response(VendorSolutionSerializer(page, many=True).data)

    @extend_schema(
        summary=_("Create a solution and its first revision, as a draft (staff and above)"),
        parameters=[ORGANISATION_PARAMETER],
        request=VendorSolutionCreateSerializer,
        responses=write_responses({201: VendorSolutionDetailSerializer}),
    )
    def post(self, request):
        vendor = self.get_vendor()
        serializer = VendorSolutionCreateSerializer(data=request.data, context={"vendor": vendor})
        serializer.is_valid(raise_exception=True)
        revision = services.solution_create(
            vendor=vendor, by=request.user, **serializer.validated_data
        )
        return Response(_solution_detail(revision.solution), status=status.HTTP_201_CREATED)


class SolutionDetailApi(GenericAPIView):
    serializer_class = VendorSolutionDetailSerializer

    @extend_schema(
        summary=_("One of my solutions, with every revision, its bill of materials and timeline"),
        responses={200: VendorSolutionDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, solution_id):
        solution = selectors.solution_get_for_vendor(user=request.user, public_id=solution_id)
        return Response(_solution_detail(solution))


class _InSolution(GenericAPIView):
    serializer_class = VendorRevisionSerializer

    def get_revision(self, solution_id, number):
        solution = selectors.solution_get_for_vendor(user=self.request.user, public_id=solution_id)
        return selectors.revision_get(solution=solution, number=number)

    @staticmethod
    def revision_data(revision) -> dict:
        revision = selectors.revision_list_for_solution(solution=revision.solution).get(
            pk=revision.pk
        )
        return VendorRevisionSerializer(revision).data


class RevisionDetailApi(_InSolution):
    @extend_schema(
        summary=_("One revision of my solution"),
        responses={200: VendorRevisionSerializer, 404: NOT_FOUND},
    )
    def get(self, request, solution_id, number):
        return Response(self.revision_data(self.get_revision(solution_id, number)))

    @extend_schema(
        summary=_("Change a draft; `bom`, when given, replaces the bill of materials"),
        request=VendorRevisionWriteSerializer,
        responses=write_responses({200: VendorRevisionSerializer}),
    )
    def patch(self, request, solution_id, number):
        revision = self.get_revision(solution_id, number)
        serializer = VendorRevisionWriteSerializer(
            data=request.data, partial=True, context={"vendor": revision.solution.vendor}
        )
        serializer.is_valid(raise_exception=True)
        revision = services.revision_edit(
            revision=revision, by=request.user, **serializer.validated_data
        )
        return Response(self.revision_data(revision))


class RevisionSubmitApi(_InSolution):
    @extend_schema(
        summary=_("Submit a draft for certification against the published standard"),
        request=None,
        responses=write_responses({200: VendorRevisionSerializer}),
    )
    def post(self, request, solution_id, number):
        revision = self.get_revision(solution_id, number)
        revision = services.revision_submit(revision=revision, by=request.user)
        return Response(self.revision_data(revision))


class RevisionNewApi(_InSolution):
    @extend_schema(
        summary=_("Start a new draft revision from the latest one"),
        request=None,
        responses=write_responses({201: VendorRevisionSerializer}),
    )
    def post(self, request, solution_id):
        solution = selectors.solution_get_for_vendor(user=request.user, public_id=solution_id)
        draft = services.revision_new_draft(solution=solution, by=request.user)
        return Response(self.revision_data(draft), status=status.HTTP_201_CREATED)


urlpatterns = [
    path("vendor/profile/", VendorProfileApi.as_view(), name="vendor-profile"),
    path("vendor/device-models/", DeviceModelListApi.as_view(), name="vendor-device-models"),
    path(
        "vendor/device-models/<uuid:device_model_id>/",
        DeviceModelDetailApi.as_view(),
        name="vendor-device-model",
    ),
    path("vendor/solutions/", SolutionListApi.as_view(), name="vendor-solutions"),
    path(
        "vendor/solutions/<uuid:solution_id>/",
        SolutionDetailApi.as_view(),
        name="vendor-solution",
    ),
    path(
        "vendor/solutions/<uuid:solution_id>/revisions/<int:number>/",
        RevisionDetailApi.as_view(),
        name="vendor-revision",
    ),
    path(
        "vendor/solutions/<uuid:solution_id>/revisions/<int:number>/submit/",
        RevisionSubmitApi.as_view(),
        name="vendor-revision-submit",
    ),
    path(
        "vendor/solutions/<uuid:solution_id>/new-revision/",
        RevisionNewApi.as_view(),
        name="vendor-revision-new",
    ),
]
