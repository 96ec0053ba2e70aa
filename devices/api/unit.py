"""A unit's device API: the devices the asker may see (their units' and those granted to
them), claiming, placement, token rotation and telemetry by time range.

Every device is looked up through devices.selectors, so a device of another unit answers 404
on reads and writes alike; each write calls one service, which refuses a viewer or a granted
organisation (403). Errors are answered by accounts.exceptions (400 keyed by field).
"""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from accounts.api import BAD_INPUT, NOT_FOUND, write_responses
from devices import selectors, services
from devices.serializers.unit import (
    DeviceClaimSerializer,
    DeviceDetailSerializer,
    DeviceFilterSerializer,
    DeviceSerializer,
    DeviceTokenSerializer,
    PlacementInputSerializer,
    PlacementSerializer,
    TelemetryQuerySerializer,
    TelemetrySerializer,
)


class BySerialPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("serial", "pk")


class _UnitDevice(GenericAPIView):
    serializer_class = DeviceDetailSerializer

    def get_device(self, device_id):
        return selectors.device_detail_for(user=self.request.user, public_id=device_id)

    def detail(self, device_id) -> Response:
        return Response(DeviceDetailSerializer(self.get_device(device_id)).data)


class DeviceListApi(GenericAPIView):
    serializer_class = DeviceSerializer
    pagination_class = BySerialPagination

    @extend_schema(
        summary=_("The devices of my units and of the units granted to me"),
        parameters=[DeviceFilterSerializer],
        responses={200: DeviceSerializer(many=True), 400: BAD_INPUT},
    )
    def get(self, request):
        params = DeviceFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        devices = selectors.device_list_for(user=request.user)
        if "unit" in params.validated_data:
            devices = devices.filter(unit__public_id=params.validated_data["unit"])
        if "state" in params.validated_data:
            devices = devices.filter(state=params.validated_data["state"])
        page = self.paginate_queryset(devices)
        return self.get_paginated_response(DeviceSerializer(page, many=True).data)


class DeviceDetailApi(_UnitDevice):
    @extend_schema(
        summary=_("One device: state, health, placement and the metrics it reports"),
        responses={200: DeviceDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, device_id):
        return self.detail(device_id)


class DeviceClaimApi(_UnitDevice):
    @extend_schema(
        summary=_("Claim a delivered device for one of my units (staff and above)"),
        description=_(
            "By serial number and the claim code printed on its label. Five wrong codes lock "
            "the device for fifteen minutes. Place the device next: its first report after "
            "that activates it."
        ),
        request=DeviceClaimSerializer,
        responses=write_responses({201: DeviceDetailSerializer}),
    )
    def post(self, request):
        serializer = DeviceClaimSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        device = services.device_claim(by=request.user, **serializer.validated_data)
        response = self.detail(device.public_id)
        response.status_code = status.HTTP_201_CREATED
        return response


class DevicePlacementApi(_UnitDevice):
    serializer_class = PlacementSerializer

    @extend_schema(
        summary=_("Say where a device is (staff and above)"),
        description=_(
            "In a residential estate only common spaces are accepted; `inside_home` never is."
        ),
        request=PlacementInputSerializer,
        responses=write_responses({200: PlacementSerializer}),
    )
    def put(self, request, device_id):
        device = self.get_device(device_id)
        serializer = PlacementInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        placement = services.device_place(
            device=device, by=request.user, **serializer.validated_data
        )
        return Response(PlacementSerializer(placement).data)


class DeviceTokenApi(_UnitDevice):
    serializer_class = DeviceTokenSerializer

    @extend_schema(
        summary=_("Issue a new token for a device (owners and managers)"),
        description=_(
            "The old token stops working at once. The new one is in this answer only: it is "
            "stored hashed."
        ),
        request=None,
        responses=write_responses({200: DeviceTokenSerializer}),
    )
    def post(self, request, device_id):
        device = self.get_device(device_id)
        token = services.device_token_rotate(device=device, by=request.user)
        data = {"token": token, "token_prefix": token[:10]}
        response = Response(DeviceTokenSerializer(data).data)
        response["Cache-Control"] = "no-store"
        return response


class DeviceTelemetryApi(_UnitDevice):
    serializer_class = TelemetrySerializer

    @extend_schema(
        summary=_("One metric of a device over a time range"),
        description=_(
            "Raw readings for ranges up to 6 hours; beyond, buckets (average, lowest, highest) "
            "wide enough to keep the answer at about 500 points. At most 31 days per request."
        ),
        parameters=[TelemetryQuerySerializer],
        responses={200: TelemetrySerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request, device_id):
        device = self.get_device(device_id)
        metrics = [
            m for m in device.device_model.metrics or [] if isinstance(m, dict) and m.get("name")
        ]
        query = TelemetryQuerySerializer(
            data=request.query_params, context={"metrics": [m["name"] for m in metrics]}
        )
        query.is_valid(raise_exception=True)
        metric, start, end = (query.validated_data[k] for k in ("metric", "start", "end"))
        bucket = selectors.telemetry_bucket_for(start=start, end=end)
        points = selectors.device_telemetry(
            device=device, metric=metric, start=start, end=end, bucket=bucket
        )
        unit = next((str(m.get("unit") or "") for m in metrics if m["name"] == metric), "")
        data = {
            "metric": metric,
            "unit": unit,
            "start": start,
            "end": end,
            "bucket_seconds": int(bucket.total_seconds()) if bucket else None,
            "points": points,
        }
        return Response(TelemetrySerializer(data).data)


# Names carry "unit-": the vendor side keeps its own device routes in the same URL module.
urlpatterns = [
    path("devices/", DeviceListApi.as_view(), name="unit-device-list"),
    path("devices/claim/", DeviceClaimApi.as_view(), name="unit-device-claim"),
    path("devices/<uuid:device_id>/", DeviceDetailApi.as_view(), name="unit-device"),
    path(
        "devices/<uuid:device_id>/placement/",
        DevicePlacementApi.as_view(),
        name="unit-device-placement",
    ),
    path("devices/<uuid:device_id>/token/", DeviceTokenApi.as_view(), name="unit-device-token"),
    path(
        "devices/<uuid:device_id>/telemetry/",
        DeviceTelemetryApi.as_view(),
        name="unit-device-telemetry",
    ),
]
