"""The alerts API: the alerts the asker may see, one alert with its timeline and who was told,
the buttons (acknowledge, dispatch, resolve, a note), the console list and the asker's
notification preferences.

Every alert is looked up through alerts.selectors, so another unit's alert answers 404 on
reads and writes alike. Each button calls one alerts.services.lifecycle function with
`via=api`: a viewer or an authority gets 403 (PermissionDenied), a missing outcome 400 keyed
by `outcome`, and pressing a button whose moment has passed (already acknowledged, already
resolved) 409 with the reason. Other errors are answered by accounts.exceptions.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from accounts.api import BAD_INPUT, NOT_FOUND, write_responses
from alerts import selectors
from alerts.models import AlertEntry
from alerts.serializers import (
    AlertDetailSerializer,
    AlertEntrySerializer,
    AlertFilterSerializer,
    AlertNoteInputSerializer,
    AlertResolveInputSerializer,
    AlertSerializer,
    AlertTimelineNoteSerializer,
    PreferenceInputSerializer,
    PreferenceSerializer,
)
from alerts.services import lifecycle
from alerts.services.preferences import preference_update

API = AlertEntry.Via.API
CONFLICT = OpenApiResponse(
    description=_("The alert is past that point already (acknowledged, resolved…).")
)


class NewestFirstPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-raised_at", "-pk")


class AlertListApi(GenericAPIView):
    serializer_class = AlertSerializer
    pagination_class = NewestFirstPagination

    @extend_schema(
        summary=_("The alerts I may see: my units', those inside my park, those I respond to"),
        parameters=[AlertFilterSerializer],
        responses={200: AlertSerializer(many=True), 400: BAD_INPUT},
    )
    def get(self, request):
        params = AlertFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        criteria = params.validated_data
        alerts = selectors.alert_search_for(
            user=request.user,
            kind=criteria.get("kind", ""),
            status=criteria.get("status", ""),
            since=criteria.get("since"),
        )
        if "unit" in criteria:
            alerts = alerts.filter(unit__public_id=criteria["unit"])
        alerts = selectors.alerts_with_may_act(alerts, user=request.user)
        page = self.paginate_queryset(alerts)
        return self.get_paginated_response(AlertSerializer(page, many=True).data)


class ConsoleApi(GenericAPIView):
    serializer_class = AlertSerializer
    pagination_class = None

    @extend_schema(
        operation_id="console_list",
        summary=_("My console: the unresolved alerts of my area, critical first, then newest"),
        description=_("At most 200; poll it every few seconds."),
        responses={200: AlertSerializer(many=True)},
    )
    def get(self, request):
        alerts = selectors.console_alerts_for(user=request.user)[: selectors.CONSOLE_LIMIT]
        return Response(AlertSerializer(alerts, many=True).data)


class _OneAlert(GenericAPIView):
    serializer_class = AlertDetailSerializer

    def get_alert(self, alert_id):
        return selectors.alert_row_get_for(user=self.request.user, public_id=alert_id)

    def detail(self, alert_id) -> Response:
        return Response(
            AlertDetailSerializer(self.get_alert(alert_id), context={"request": self.request}).data
        )


class AlertDetailApi(_OneAlert):
    @extend_schema(
        summary=_("One alert: device, placement, unit contacts, timeline, who was told"),
        responses={200: AlertDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, alert_id):
        return self.detail(alert_id)


class _AlertButton(_OneAlert):
    """POST: the same service the console's button calls."""

    input_serializer = AlertNoteInputSerializer

    def act(self, alert, data):
        raise NotImplementedError

    def post(self, request, alert_id):
        alert = self.get_alert(alert_id)
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            self.act(alert, serializer.validated_data)
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise  # a field's error: 400 keyed by the field
            # The only error without a field: the alert has moved on already.
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return self.detail(alert_id)


def _button_schema(summary, request, description=""):
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        responses=write_responses({200: AlertDetailSerializer, 409: CONFLICT}),
    )


class AlertAcknowledgeApi(_AlertButton):
    @_button_schema(
        _("Acknowledge: I have it (escalation stops)"),
        AlertNoteInputSerializer,
    )
    def post(self, request, alert_id):
        return super().post(request, alert_id)

    def act(self, alert, data):
        lifecycle.alert_acknowledge(alert=alert, by=self.request.user, via=API, note=data["note"])


class AlertDispatchApi(_AlertButton):
    @_button_schema(
        _("Dispatch: someone is on the way"),
        AlertNoteInputSerializer,
        _("An open alert is acknowledged at the same time."),
    )
    def post(self, request, alert_id):
        return super().post(request, alert_id)

    def act(self, alert, data):
        lifecycle.alert_dispatch(alert=alert, by=self.request.user, via=API, note=data["note"])


class AlertResolveApi(_AlertButton):
    input_serializer = AlertResolveInputSerializer

    @_button_schema(
        _("Resolve, with what it turned out to be"),
        AlertResolveInputSerializer,
        _("`outcome` is required: incident, false_alarm, test or device_fault."),
    )
    def post(self, request, alert_id):
        return super().post(request, alert_id)

    def act(self, alert, data):
        lifecycle.alert_resolve(
            alert=alert, by=self.request.user, via=API, outcome=data["outcome"], note=data["note"]
        )


class AlertNoteApi(_OneAlert):
    serializer_class = AlertEntrySerializer

    @extend_schema(
        summary=_("Add a note to the alert's timeline"),
        request=AlertTimelineNoteSerializer,
        responses=write_responses({201: AlertEntrySerializer}),
    )
    def post(self, request, alert_id):
        alert = self.get_alert(alert_id)
        serializer = AlertTimelineNoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = lifecycle.alert_note(
            alert=alert, by=request.user, via=API, note=serializer.validated_data["note"]
        )
        return Response(AlertEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class PreferenceApi(GenericAPIView):
    serializer_class = PreferenceSerializer
    pagination_class = None

    @extend_schema(
        operation_id="alert_preferences_list",
        summary=_("My alert channels, per organisation I belong to"),
        description=_(
            "For alerts that are not life-safety only: fire, gas, entrapment and vitals alerts "
            "always reach everyone."
        ),
        responses={200: PreferenceSerializer(many=True)},
    )
    def get(self, request):
        preferences = [
            item["preference"] for item in selectors.preference_list_for(user=request.user)
        ]
        return Response(PreferenceSerializer(preferences, many=True).data)

    @extend_schema(
        operation_id="alert_preferences_update",
        summary=_("Set my alert channels for one of my organisations"),
        request=PreferenceInputSerializer,
        responses=write_responses({200: PreferenceSerializer}),
    )
    def put(self, request):
        serializer = PreferenceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organisation = selectors.preference_organisation_get_for(
            user=request.user, public_id=data["organisation"]
        )
        preference = preference_update(
            user=request.user,
            organisation=organisation,
            email=data["email"],
            sms=data["sms"],
            muted_kinds=data["muted_kinds"],
        )
        return Response(PreferenceSerializer(preference).data)
