"""The vendor's device API: stock (list, one device, provision one), bulk provisioning from a
CSV (queued, then polled), credentials, returns and restocking, fulfilment of an order (serials
to its lines, then the shipment) and the fleet's health at the units it supplied.

The vendor of the lists is the one the asker belongs to (`?organisation=` when several), as
in the marketplace's vendor API. A device, an import or an order is looked up through a
selector scoped to the asker, so another vendor's answers 404 on reads and writes alike; each
write calls one service, which refuses a viewer (403). Errors are answered by
accounts.exceptions (400 keyed by field). Tokens are in the answer that makes them only.
"""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from accounts.api import BAD_INPUT, NOT_FOUND, write_responses
from billing import selectors as billing_selectors
from devices import imports, selectors, services
from devices.models import DeviceTransition
from devices.serializers.vendor import (
    AllocateSerializer,
    AllocationSerializer,
    FleetDeviceSerializer,
    FleetFilterSerializer,
    FleetSummarySerializer,
    InventoryImportCreateSerializer,
    InventoryImportListSerializer,
    InventoryImportSerializer,
    ShipmentSerializer,
    VendorDeviceCreateSerializer,
    VendorDeviceDetailSerializer,
    VendorDeviceFilterSerializer,
    VendorDeviceSerializer,
    VendorDeviceTokenSerializer,
)
from marketplace import selectors as marketplace_selectors
from marketplace.api.vendor import ORGANISATION_PARAMETER, vendor_organisation_of
from marketplace.models import Vendor


class BySerialPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("serial", "pk")


class NewestFirstPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-pk")


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"  # a token must not stay in any cache
    return response


class _AsVendor(GenericAPIView):
    def get_vendor(self) -> Vendor:
        organisation = vendor_organisation_of(self.request)
        vendor = marketplace_selectors.vendor_profile_of(
            user=self.request.user, organisation=organisation
        )
        if vendor is None:
            raise Http404("The vendor profile is not filled in yet")
        return vendor

    def parse(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class _VendorDevice(GenericAPIView):
    serializer_class = VendorDeviceDetailSerializer

    def get_device(self, device_id):
        return selectors.vendor_device_detail_for(user=self.request.user, public_id=device_id)

    def detail_data(self, device_id) -> dict:
        device = selectors.vendor_device_detail_for(user=self.request.user, public_id=device_id)
        transitions = DeviceTransition.objects.order_by("at", "pk")
        # One query for the history, whatever its length.
        prefetch_related_objects([device], Prefetch("transitions", queryset=transitions))
        return VendorDeviceDetailSerializer(device).data


# Stock ---------------------------------------------------------------------------------------


class VendorDeviceListApi(_AsVendor, _VendorDevice):
    serializer_class = VendorDeviceSerializer
    pagination_class = BySerialPagination

    @extend_schema(
        summary=gettext_lazy("My vendor's devices, by serial number"),
        parameters=[VendorDeviceFilterSerializer, ORGANISATION_PARAMETER],
        responses={200: VendorDeviceSerializer(many=True), 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request):
        vendor = self.get_vendor()
        params = self.parse(VendorDeviceFilterSerializer)
        inventory_import = None
        if "import" in params:
            inventory_import = selectors.inventory_import_get_for(
                user=request.user, public_id=params["import"]
            )
        devices = selectors.vendor_inventory_for(
            user=request.user,
            vendor=vendor,
            state=params.get("state", ""),
            serial=params.get("serial", ""),
            inventory_import=inventory_import,
        ).select_related("unit__region__parent__parent")
        if "model" in params:
            devices = devices.filter(device_model__model_number=params["model"])
        page = self.paginate_queryset(devices)
        return self.get_paginated_response(VendorDeviceSerializer(page, many=True).data)

    @extend_schema(
        summary=gettext_lazy("Provision one device (staff and above)"),
        description=gettext_lazy(
            "The answer holds the device's token, once: it is stored hashed. For many devices, "
            "upload a CSV to /vendor/imports/."
        ),
        parameters=[ORGANISATION_PARAMETER],
        request=VendorDeviceCreateSerializer,
        responses=write_responses({201: VendorDeviceTokenSerializer}),
    )
    def post(self, request):
        vendor = self.get_vendor()
        serializer = VendorDeviceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        device_model = selectors.vendor_device_model_get(
            vendor=vendor, model_number=data["model_number"]
        )
        if device_model is None:
            raise ValidationError({"model_number": _("Choose one of your device models.")})
        device, token = services.device_provision(
            vendor=vendor, device_model=device_model, serial=data["serial"], by=request.user
        )
        body = {"device": self.detail_data(device.public_id), "token": token}
        return _no_store(Response(body, status=status.HTTP_201_CREATED))


class VendorDeviceDetailApi(_VendorDevice):
    @extend_schema(
        summary=gettext_lazy("One of my vendor's devices, with its history"),
        responses={200: VendorDeviceDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, device_id):
        return Response(self.detail_data(device_id))


class VendorDeviceTokenApi(_VendorDevice):
    serializer_class = VendorDeviceTokenSerializer

    @extend_schema(
        summary=gettext_lazy("Issue a new token for a device (owners and managers)"),
        description=gettext_lazy(
            "The old token stops working at once; the new one is in this answer only."
        ),
        request=None,
        responses=write_responses({200: VendorDeviceTokenSerializer}),
    )
    def post(self, request, device_id):
        token = services.device_token_rotate(device=self.get_device(device_id), by=request.user)
        return _no_store(Response({"device": self.detail_data(device_id), "token": token}))


class VendorDeviceReturnedApi(_VendorDevice):
    @extend_schema(
        summary=gettext_lazy("A device is back with me (staff and above)"),
        description=gettext_lazy(
            "It leaves its unit, order and lease, and its token stops working. Restock it "
            "once refurbished."
        ),
        request=None,
        responses=write_responses({200: VendorDeviceDetailSerializer}),
    )
    def post(self, request, device_id):
        services.device_return(device=self.get_device(device_id), by=request.user)
        return Response(self.detail_data(device_id))


class VendorDeviceRestockApi(_VendorDevice):
    serializer_class = VendorDeviceTokenSerializer

    @extend_schema(
        summary=gettext_lazy("A returned device is refurbished and back in stock (staff+)"),
        description=gettext_lazy(
            "It gets a new claim code (print it a new label) and a new token, in this answer only."
        ),
        request=None,
        responses=write_responses({200: VendorDeviceTokenSerializer}),
    )
    def post(self, request, device_id):
        _device, token = services.device_restock(device=self.get_device(device_id), by=request.user)
        return _no_store(Response({"device": self.detail_data(device_id), "token": token}))


# Bulk provisioning ---------------------------------------------------------------------------


class InventoryImportListApi(_AsVendor):
    serializer_class = InventoryImportListSerializer
    pagination_class = NewestFirstPagination

    @extend_schema(
        summary=gettext_lazy("My vendor's CSV imports, newest first"),
        parameters=[ORGANISATION_PARAMETER],
        responses={200: InventoryImportListSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request):
        found = selectors.inventory_import_list_for(user=request.user, vendor=self.get_vendor())
        page = self.paginate_queryset(found)
        return self.get_paginated_response(InventoryImportListSerializer(page, many=True).data)

    @extend_schema(
        summary=gettext_lazy("Upload a CSV of devices to provision (staff and above)"),
        description=gettext_lazy(
            "Answered 202 at once: the rows are checked and the devices created in the "
            "background. Poll the import for its progress and the rows it refused (row "
            "number, serial, reason); the good rows are imported whatever the bad ones. The "
            "devices' tokens are not shown: issue one when a device needs it."
        ),
        parameters=[ORGANISATION_PARAMETER],
        request={"multipart/form-data": InventoryImportCreateSerializer},
        responses=write_responses({202: InventoryImportSerializer}),
    )
    def post(self, request):
        vendor = self.get_vendor()
        serializer = InventoryImportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if upload.size > imports.MAX_BYTES:
            raise ValidationError({"file": _("The file is larger than 8 MB: split it.")})
        inventory_import = imports.inventory_import_create(
            vendor=vendor, by=request.user, name=upload.name, content=upload.read()
        )
        return Response(
            InventoryImportSerializer(inventory_import).data, status=status.HTTP_202_ACCEPTED
        )


class InventoryImportDetailApi(GenericAPIView):
    serializer_class = InventoryImportSerializer

    @extend_schema(
        summary=gettext_lazy("An import's progress and the rows it refused"),
        responses={200: InventoryImportSerializer, 404: NOT_FOUND},
    )
    def get(self, request, import_id):
        inventory_import = selectors.inventory_import_get_for(
            user=request.user, public_id=import_id
        )
        return Response(InventoryImportSerializer(inventory_import).data)


# Fulfilment ----------------------------------------------------------------------------------


class _OrderDevices(GenericAPIView):
    serializer_class = AllocationSerializer

    def get_order(self, order_id):
        return billing_selectors.vendor_order_get_for(user=self.request.user, public_id=order_id)

    def allocation(self, order) -> Response:
        lines = selectors.order_allocation(order=order)
        missing = sum(max(0, line.quantity - len(line.allocated)) for line in lines)
        data = {"order": order, "missing": missing, "lines": lines}
        return Response(AllocationSerializer(data).data)


class VendorOrderDevicesApi(_OrderDevices):
    @extend_schema(
        summary=gettext_lazy("An order's lines and the devices allocated to each"),
        responses={200: AllocationSerializer, 404: NOT_FOUND},
    )
    def get(self, request, order_id):
        return self.allocation(self.get_order(order_id))

    @extend_schema(
        summary=gettext_lazy("Allocate in-stock devices to a paid order (staff and above)"),
        description=gettext_lazy(
            "By serial number. Each must be yours, in stock and of a model on the order, and "
            "no line gets more than its quantity; otherwise nothing is allocated."
        ),
        request=AllocateSerializer,
        responses=write_responses({200: AllocationSerializer}),
    )
    def post(self, request, order_id):
        order = self.get_order(order_id)
        serializer = AllocateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.devices_allocate(
            order=order, by=request.user, serials=serializer.validated_data["serials"]
        )
        return self.allocation(order)


class VendorOrderShipmentApi(_OrderDevices):
    @extend_schema(
        summary=gettext_lazy("Ship an order with its devices (staff and above)"),
        description=gettext_lazy(
            "Refused while devices are missing. The order and each of its devices become "
            "shipped; the unit then claims them with their claim codes."
        ),
        request=ShipmentSerializer,
        responses=write_responses({200: AllocationSerializer}),
    )
    def post(self, request, order_id):
        order = self.get_order(order_id)
        serializer = ShipmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_ship(order=order, by=request.user, **serializer.validated_data)
        return self.allocation(order)


# Fleet ---------------------------------------------------------------------------------------


class _Fleet(_AsVendor):
    def fleet(self, params: dict | None = None):
        params = params or {}
        devices = selectors.vendor_fleet_for(
            user=self.request.user,
            vendor=self.get_vendor(),
            state=params.get("state", ""),
            low_battery=params.get("low_battery", False),
            stale=params.get("stale", False),
        )
        if params.get("model"):
            devices = devices.filter(device_model__model_number=params["model"])
        return devices


class VendorFleetApi(_Fleet):
    serializer_class = FleetDeviceSerializer
    pagination_class = BySerialPagination

    @extend_schema(
        summary=gettext_lazy("Health of the devices I supplied that are with units"),
        description=gettext_lazy(
            "State, last report, battery, signal and firmware, with the unit's name and "
            "district; never where a device is placed, nor its alerts."
        ),
        parameters=[FleetFilterSerializer, ORGANISATION_PARAMETER],
        responses={200: FleetDeviceSerializer(many=True), 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request):
        devices = self.fleet(self.parse(FleetFilterSerializer))
        page = self.paginate_queryset(devices)
        return self.get_paginated_response(FleetDeviceSerializer(page, many=True).data)


class VendorFleetSummaryApi(_Fleet):
    serializer_class = FleetSummarySerializer

    @extend_schema(
        summary=gettext_lazy("Counts over my fleet, and its online rate"),
        parameters=[ORGANISATION_PARAMETER],
        responses={200: FleetSummarySerializer, 404: NOT_FOUND},
    )
    def get(self, request):
        summary = selectors.fleet_summary(devices=self.fleet())
        return Response(FleetSummarySerializer(summary).data)


DEVICE = "vendor/devices/<uuid:device_id>/"
ORDER = "vendor/orders/<uuid:order_id>/"

# Names carry "vendor-inventory-": the unit side keeps its own device routes in this module.
# The shipment is /shipment/ because billing's API has /vendor/orders/{id}/ship/.
urlpatterns = [
    path("vendor/devices/", VendorDeviceListApi.as_view(), name="vendor-inventory-devices"),
    path(DEVICE, VendorDeviceDetailApi.as_view(), name="vendor-inventory-device"),
    path(f"{DEVICE}token/", VendorDeviceTokenApi.as_view(), name="vendor-inventory-token"),
    path(f"{DEVICE}returned/", VendorDeviceReturnedApi.as_view(), name="vendor-inventory-returned"),
    path(f"{DEVICE}restock/", VendorDeviceRestockApi.as_view(), name="vendor-inventory-restock"),
    path("vendor/imports/", InventoryImportListApi.as_view(), name="vendor-inventory-imports"),
    path(
        "vendor/imports/<uuid:import_id>/",
        InventoryImportDetailApi.as_view(),
        name="vendor-inventory-import",
    ),
    path(f"{ORDER}devices/", VendorOrderDevicesApi.as_view(), name="vendor-order-devices"),
    path(f"{ORDER}shipment/", VendorOrderShipmentApi.as_view(), name="vendor-order-shipment"),
    path("vendor/fleet/", VendorFleetApi.as_view(), name="vendor-fleet"),
    path("vendor/fleet/summary/", VendorFleetSummaryApi.as_view(), name="vendor-fleet-summary"),
]
