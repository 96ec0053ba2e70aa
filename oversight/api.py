"""The oversight API: an authority's coverage programmes (list, declare, read, change,
withdraw), their progress and the units still not covered.

Every programme is looked up through oversight.selectors, so another authority's programme
answers 404 on reads and writes alike; the service then decides whether the asker's role may
write (403 for a viewer) and whether the region, kind and deadline hold (400 keyed by field).
Errors are answered by accounts.exceptions.api_exception_handler.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.api import NOT_FOUND, PagePagination, write_responses
from oversight import selectors, services
from oversight.serializers import (
    ProgrammeCreateSerializer,
    ProgrammeSerializer,
    ProgrammeWriteSerializer,
    ProgressSerializer,
    UncoveredUnitSerializer,
)


class ProgrammeListApi(GenericAPIView):
    serializer_class = ProgrammeSerializer
    pagination_class = PagePagination

    @extend_schema(
        summary=_("Coverage programmes of my authorities, soonest deadline first"),
        responses=ProgrammeSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.programme_list_for(user=request.user))
        return self.get_paginated_response(ProgrammeSerializer(page, many=True).data)

    @extend_schema(
        summary=_("Declare a coverage programme (an authority's staff and above)"),
        request=ProgrammeCreateSerializer,
        responses=write_responses({201: ProgrammeSerializer}),
    )
    def post(self, request):
        serializer = ProgrammeCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        authority = selectors.programme_authority_by_id_for(
            user=request.user, organisation_public_id=data.pop("authority", None)
        )
        programme = services.programme_create(authority=authority, by=request.user, **data)
        programme = selectors.programme_get_for(user=request.user, public_id=programme.public_id)
        return Response(ProgrammeSerializer(programme).data, status=status.HTTP_201_CREATED)


class _OneProgramme(GenericAPIView):
    serializer_class = ProgrammeSerializer

    def get_programme(self, programme_id):
        return selectors.programme_get_for(user=self.request.user, public_id=programme_id)


class ProgrammeDetailApi(_OneProgramme):
    @extend_schema(
        summary=_("A coverage programme with its progress"),
        responses={200: ProgrammeSerializer, 404: NOT_FOUND},
    )
    def get(self, request, programme_id):
        return Response(ProgrammeSerializer(self.get_programme(programme_id)).data)

    @extend_schema(
        summary=_("Change a programme (moving the deadline starts the reminders over)"),
        request=ProgrammeWriteSerializer,
        responses=write_responses({200: ProgrammeSerializer}),
    )
    def patch(self, request, programme_id):
        programme = self.get_programme(programme_id)
        serializer = ProgrammeWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.programme_update(programme=programme, by=request.user, **serializer.validated_data)
        return Response(ProgrammeSerializer(self.get_programme(programme_id)).data)

    @extend_schema(
        summary=_("Withdraw a programme (an authority's staff and above)"),
        responses=write_responses({204: None}),
    )
    def delete(self, request, programme_id):
        services.programme_delete(programme=self.get_programme(programme_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProgrammeProgressApi(_OneProgramme):
    serializer_class = ProgressSerializer

    @extend_schema(
        operation_id="programmes_progress",
        summary=_("A programme's progress as of the last coverage refresh"),
        responses={200: ProgressSerializer, 404: NOT_FOUND},
    )
    def get(self, request, programme_id):
        progress = selectors.programme_progress(programme=self.get_programme(programme_id))
        return Response(ProgressSerializer(progress).data)


class ProgrammeUncoveredApi(_OneProgramme):
    serializer_class = UncoveredUnitSerializer
    pagination_class = PagePagination

    @extend_schema(
        operation_id="programmes_uncovered_list",
        summary=_("The units in a programme's scope that are not covered, by name"),
        responses={200: UncoveredUnitSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, programme_id):
        programme = self.get_programme(programme_id)
        page = self.paginate_queryset(selectors.programme_uncovered_units(programme=programme))
        return self.get_paginated_response(UncoveredUnitSerializer(page, many=True).data)
