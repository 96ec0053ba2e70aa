from django.urls import path, re_path

from billing import api

app_name = "billing_api"

ORDER = "orders/<uuid:order_id>/"
VENDOR_ORDER = "vendor/orders/<uuid:order_id>/"

urlpatterns = [
    path("orders/", api.OrderListApi.as_view(), name="orders"),
    path(ORDER, api.OrderDetailApi.as_view(), name="order"),
    path(f"{ORDER}place/", api.OrderPlaceApi.as_view(), name="order-place"),
    path(f"{ORDER}cancel/", api.OrderCancelApi.as_view(), name="order-cancel"),
    path(f"{ORDER}setup-intent/", api.OrderSetupIntentApi.as_view(), name="order-setup-intent"),
    path(f"{ORDER}pay/", api.OrderPayApi.as_view(), name="order-pay"),
    path(f"{ORDER}deliver/", api.OrderDeliverApi.as_view(), name="order-deliver"),
    path("leases/", api.LeaseListApi.as_view(), name="leases"),
    path("leases/<uuid:lease_id>/", api.LeaseDetailApi.as_view(), name="lease"),
    path("leases/<uuid:lease_id>/choice/", api.LeaseChoiceApi.as_view(), name="lease-choice"),
    path("invoices/", api.InvoiceListApi.as_view(), name="invoices"),
    path("monitoring/", api.MonitoringListApi.as_view(), name="monitoring"),
    path("vendor/orders/", api.VendorOrderListApi.as_view(), name="vendor-orders"),
    path(VENDOR_ORDER, api.VendorOrderDetailApi.as_view(), name="vendor-order"),
    path(
        f"{VENDOR_ORDER}prepare/", api.VendorOrderPrepareApi.as_view(), name="vendor-order-prepare"
    ),
    path(
        f"{VENDOR_ORDER}refunds/", api.VendorOrderRefundApi.as_view(), name="vendor-order-refunds"
    ),
    path("vendor/leases/", api.VendorLeaseListApi.as_view(), name="vendor-leases"),
    path("vendor/leases/<uuid:lease_id>/", api.VendorLeaseDetailApi.as_view(), name="vendor-lease"),
    path(
        "vendor/leases/<uuid:lease_id>/returned/",
        api.VendorLeaseReturnedApi.as_view(),
        name="vendor-lease-returned",
    ),
    path("vendor/settlements/", api.SettlementListApi.as_view(), name="vendor-settlements"),
    re_path(
        r"^vendor/settlements/(?P<month>[0-9]{4}-[0-9]{2})/$",
        api.SettlementDetailApi.as_view(),
        name="vendor-settlement",
    ),
]
