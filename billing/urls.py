from django.urls import path, re_path

from billing import webhooks
from billing.views import leases, orders, vendor

app_name = "billing"

MONTH = r"(?P<year>\d{4})-(?P<month>\d{2})"

urlpatterns = [
    path("billing/stripe/webhook/", webhooks.stripe_webhook, name="stripe-webhook"),
    # A unit's orders, payment and receipt.
    path("orders/", orders.order_list, name="orders"),
    path("orders/new/", orders.order_create, name="order-create"),
    path("orders/<uuid:public_id>/", orders.order_detail, name="order"),
    path("orders/<uuid:public_id>/status/", orders.order_status, name="order-status"),
    path("orders/<uuid:public_id>/place/", orders.order_place, name="order-place"),
    path("orders/<uuid:public_id>/cancel/", orders.order_cancel, name="order-cancel"),
    path("orders/<uuid:public_id>/pay/", orders.order_pay, name="order-pay"),
    path("orders/<uuid:public_id>/deliver/", orders.order_deliver, name="order-deliver"),
    path("orders/<uuid:public_id>/receipt/", orders.receipt, name="receipt"),
    # A unit's leases, invoices and monitoring subscriptions.
    path("leases/", leases.lease_list, name="leases"),
    path("leases/<uuid:public_id>/", leases.lease_detail, name="lease"),
    path("leases/<uuid:public_id>/choose/", leases.lease_choose_view, name="lease-choose"),
    path("invoices/", leases.invoice_list, name="invoices"),
    # A vendor's orders to fulfil and settlements.
    path("vendor/orders/", vendor.vendor_order_list, name="vendor-orders"),
    path("vendor/orders/<uuid:public_id>/", vendor.vendor_order_detail, name="vendor-order"),
    path(
        "vendor/orders/<uuid:public_id>/prepare/",
        vendor.vendor_order_prepare,
        name="vendor-order-prepare",
    ),
    path(
        "vendor/orders/<uuid:public_id>/refund/",
        vendor.vendor_order_refund,
        name="vendor-order-refund",
    ),
    path(
        "vendor/leases/<uuid:public_id>/returned/",
        vendor.vendor_lease_return,
        name="vendor-lease-return",
    ),
    path("vendor/settlements/", vendor.settlement_list, name="settlements"),
    re_path(rf"^vendor/settlements/{MONTH}/$", vendor.settlement_detail, name="settlement"),
    re_path(rf"^vendor/settlements/{MONTH}\.csv$", vendor.settlement_csv, name="settlement-csv"),
]
