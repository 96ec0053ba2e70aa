"""The units API: units, their emergency contacts, responders and their duty rosters.

Every object endpoint first looks its unit or responder up through a selector scoped to the
asker, so an outsider gets 404 on reads and writes alike; the service then decides whether
the asker's role may write (403 otherwise). Errors are answered by
accounts.exceptions.api_exception_handler.
"""

from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from accounts.api import BAD_INPUT, FORBIDDEN, NOT_FOUND, PagePagination, write_responses
from units import selectors, services
from units.models import DutyShift, Responder
from units.serializers import (
    ContactMoveSerializer,
    ContactSerializer,
    ContactWriteSerializer,
    DutyShiftSerializer,
    DutyShiftWriteSerializer,
    ResponderSerializer,
    UnitCreateSerializer,
    UnitSerializer,
    UnitUpdateSerializer,
)


class UnitCursorPagination(CursorPagination):
    """Units can run to tens of thousands for an authority: a cursor stays fast at any depth."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-pk")


# Units ----------------------------------------------------------------------------------------


class UnitListApi(GenericAPIView):
    serializer_class = UnitSerializer
    pagination_class = UnitCursorPagination

    @extend_schema(summary=_("Units I can see"), responses=UnitSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(selectors.unit_list_for(user=request.user))
        return self.get_paginated_response(UnitSerializer(page, many=True).data)

    @extend_schema(
        summary=_("Register a unit (owners and managers of a unit organisation)"),
        request=UnitCreateSerializer,
        responses={201: UnitSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    )
    def post(self, request):
        serializer = UnitCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        unit = services.unit_create(by=request.user, **serializer.validated_data)
        return Response(UnitSerializer(unit).data, status=status.HTTP_201_CREATED)


class UnitDetailApi(GenericAPIView):
    serializer_class = UnitSerializer

    @extend_schema(summary=_("A unit"), responses={200: UnitSerializer, 404: NOT_FOUND})
    def get(self, request, unit_id):
        unit = selectors.unit_get_for(user=request.user, public_id=unit_id)
        return Response(UnitSerializer(unit).data)

    @extend_schema(
        summary=_("Change a unit's facts or place (owners and managers)"),
        request=UnitUpdateSerializer,
        responses=write_responses({200: UnitSerializer}),
    )
    def patch(self, request, unit_id):
        unit = selectors.unit_get_for(user=request.user, public_id=unit_id)
        serializer = UnitUpdateSerializer(
            data=request.data, partial=True, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        unit = services.unit_update(unit=unit, by=request.user, **serializer.validated_data)
        return Response(UnitSerializer(unit).data)


# Emergency contacts ---------------------------------------------------------------------------


class _InUnit(GenericAPIView):
    def get_unit(self, unit_id):
        return selectors.unit_get_for(user=self.request.user, public_id=unit_id)

    def get_contact(self, unit_id, contact_id):
        return selectors.contact_get(unit=self.get_unit(unit_id), contact_id=contact_id)


class ContactListApi(_InUnit):
    serializer_class = ContactSerializer
    pagination_class = None  # a short call list, always read whole and in order

    @extend_schema(
        summary=_("A unit's emergency contacts, in calling order"),
        responses={200: ContactSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, unit_id):
        contacts = selectors.contact_list(unit=self.get_unit(unit_id))
        return Response(ContactSerializer(contacts, many=True).data)

    @extend_schema(
        summary=_("Add an emergency contact, called last (staff and above)"),
        request=ContactWriteSerializer,
        responses=write_responses({201: ContactSerializer}),
    )
    def post(self, request, unit_id):
        unit = self.get_unit(unit_id)
        serializer = ContactWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_create(unit=unit, by=request.user, **serializer.validated_data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class ContactDetailApi(_InUnit):
    serializer_class = ContactSerializer

    @extend_schema(
        summary=_("Change an emergency contact (staff and above)"),
        request=ContactWriteSerializer,
        responses=write_responses({200: ContactSerializer}),
    )
    def patch(self, request, unit_id, contact_id):
        contact = self.get_contact(unit_id, contact_id)
        serializer = ContactWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_update(
            contact=contact, by=request.user, **serializer.validated_data
        )
        return Response(ContactSerializer(contact).data)

    @extend_schema(
        summary=_("Remove an emergency contact (staff and above)"),
        responses=write_responses({204: None}),
    )
    def delete(self, request, unit_id, contact_id):
        services.contact_delete(contact=self.get_contact(unit_id, contact_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactMoveApi(_InUnit):
    serializer_class = ContactSerializer
    pagination_class = None

    @extend_schema(
        summary=_("Move a contact in the calling order (staff and above)"),
        description=_("Answers with the whole list in its new order."),
        request=ContactMoveSerializer,
        responses=write_responses({200: ContactSerializer(many=True)}),
    )
    def post(self, request, unit_id, contact_id):
        contact = self.get_contact(unit_id, contact_id)
        serializer = ContactMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.contact_move(
            contact=contact, by=request.user, position=serializer.validated_data["position"]
        )
        contacts = selectors.contact_list(unit=contact.unit)
        return Response(ContactSerializer(contacts, many=True).data)


# Responders and rosters -----------------------------------------------------------------------


def _prefetch_coverage_and_duty(responders: list[Responder]) -> list[Responder]:
    """Regions and the shift covering now, fetched in two queries for a whole page."""
    now = timezone.now()
    covering_now = DutyShift.objects.filter(starts_at__lte=now, ends_at__gt=now).order_by(
        "starts_at", "pk"
    )
    prefetch_related_objects(
        responders, "regions", Prefetch("shifts", queryset=covering_now, to_attr="current_shifts")
    )
    return responders


class ResponderListApi(GenericAPIView):
    serializer_class = ResponderSerializer
    pagination_class = PagePagination

    @extend_schema(
        summary=_("Duty desks I work for or oversee"),
        responses=ResponderSerializer(many=True),
    )
    def get(self, request):
        responders = selectors.responder_list_for(user=request.user).order_by("name", "pk")
        page = _prefetch_coverage_and_duty(self.paginate_queryset(responders))
        return self.get_paginated_response(ResponderSerializer(page, many=True).data)


class ResponderDetailApi(GenericAPIView):
    serializer_class = ResponderSerializer

    @extend_schema(
        summary=_("A duty desk: coverage and who is on duty now"),
        responses={200: ResponderSerializer, 404: NOT_FOUND},
    )
    def get(self, request, responder_id):
        responder = selectors.responder_get_for(user=request.user, public_id=responder_id)
        _prefetch_coverage_and_duty([responder])
        return Response(ResponderSerializer(responder).data)


class _InResponder(GenericAPIView):
    def get_responder(self, responder_id) -> Responder:
        return selectors.responder_get_for(user=self.request.user, public_id=responder_id)


class ShiftListApi(_InResponder):
    serializer_class = DutyShiftSerializer
    pagination_class = PagePagination

    @extend_schema(
        summary=_("A duty desk's roster, in time order"),
        responses={200: DutyShiftSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, responder_id):
        shifts = selectors.shift_list(responder=self.get_responder(responder_id))
        page = self.paginate_queryset(shifts.order_by("starts_at", "pk"))
        return self.get_paginated_response(DutyShiftSerializer(page, many=True).data)

    @extend_schema(
        summary=_("Add a shift to the roster (staff and above)"),
        request=DutyShiftWriteSerializer,
        responses=write_responses({201: DutyShiftSerializer}),
    )
    def post(self, request, responder_id):
        responder = self.get_responder(responder_id)
        serializer = DutyShiftWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shift = services.duty_shift_create(
            responder=responder, by=request.user, **serializer.validated_data
        )
        return Response(DutyShiftSerializer(shift).data, status=status.HTTP_201_CREATED)


class ShiftDetailApi(_InResponder):
    serializer_class = DutyShiftSerializer

    def get_shift(self, responder_id, shift_id):
        return selectors.shift_get(responder=self.get_responder(responder_id), shift_id=shift_id)

    @extend_schema(
        summary=_("Change a shift (staff and above)"),
        request=DutyShiftWriteSerializer,
        responses=write_responses({200: DutyShiftSerializer}),
    )
    def patch(self, request, responder_id, shift_id):
        shift = self.get_shift(responder_id, shift_id)
        serializer = DutyShiftWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        shift = services.duty_shift_update(
            shift=shift, by=request.user, **serializer.validated_data
        )
        return Response(DutyShiftSerializer(shift).data)

    @extend_schema(
        summary=_("Remove a shift (staff and above)"),
        responses=write_responses({204: None}),
    )
    def delete(self, request, responder_id, shift_id):
        services.duty_shift_delete(shift=self.get_shift(responder_id, shift_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
