"""The billing API: a unit's orders (create, place, cancel, pay, confirm delivery), leases,
invoices and monitoring fees; a vendor's orders to fulfil, refunds, lease returns and monthly
settlements. Money is integer fen.

Every object is looked up through a billing selector scoped to the asker, so another unit's or
another vendor's order answers 404 on reads and writes alike; each write calls one service,
which refuses a viewer (403). A unit's money is seen by its own organisation's members only.
The vendor of the vendor lists is the one the asker belongs to (`?organisation=` when several),
as in the marketplace's vendor API. Errors are answered by accounts.exceptions.
"""

import contextlib
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from accounts.api import BAD_INPUT, NOT_FOUND, write_responses
from billing import selectors
from billing.models import OrderLine, Refund, StatusChange
from billing.serializers import (
    InvoiceSerializer,
    LeaseChoiceSerializer,
    LeaseDetailSerializer,
    LeaseSerializer,
    MonitoringSerializer,
    OrderCancelSerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderFilterSerializer,
    OrderPaySerializer,
    OrderSerializer,
    PaymentSerializer,
    RefundCreateSerializer,
    RefundSerializer,
    SettlementDetailSerializer,
    SettlementMonthSerializer,
    SetupIntentSerializer,
    VendorOrderDetailSerializer,
    VendorOrderFilterSerializer,
    VendorOrderSerializer,
)
from billing.services import orders, payments, subscriptions
from marketplace.api.vendor import ORGANISATION_PARAMETER, vendor_organisation_of


def _newest_first(*ordering: str) -> type[CursorPagination]:
    """A cursor stays fast however many months of orders or invoices a unit has."""
    return type(
        "NewestFirstPagination",
        (CursorPagination,),
        {
            "page_size": 50,
            "page_size_query_param": "page_size",
            "max_page_size": 200,
            "ordering": ordering,
        },
    )


def _parse(serializer_class, request):
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@contextlib.contextmanager
def _fields_renamed(**names: str):
    """A service's error keyed by its own argument, answered under the field the client sent."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError(
            {names.get(field, field): errors for field, errors in exc.error_dict.items()}
        ) from exc


def _order_detail(order):
    """Everything the detail shows, in a fixed number of queries."""
    prefetch_related_objects(
        [order],
        "revision__solution",
        Prefetch("lines", queryset=OrderLine.objects.select_related("device_model")),
        "payments",
        Prefetch("refunds", queryset=Refund.objects.select_related("payment")),
        Prefetch("transitions", queryset=StatusChange.objects.select_related("by")),
    )
    return order


# A unit's orders ------------------------------------------------------------------------------


class _UnitOrder(GenericAPIView):
    serializer_class = OrderDetailSerializer

    def get_order(self, order_id):
        return selectors.order_get_for(user=self.request.user, public_id=order_id)

    def detail(self, order_id) -> Response:
        order = _order_detail(self.get_order(order_id))
        return Response(OrderDetailSerializer(order).data)


class OrderListApi(_UnitOrder):
    serializer_class = OrderSerializer
    pagination_class = _newest_first("-created_at", "-pk")

    @extend_schema(
        summary=_("My units' orders, newest first"),
        parameters=[OrderFilterSerializer],
        responses={200: OrderSerializer(many=True), 400: BAD_INPUT},
    )
    def get(self, request):
        params = _parse(OrderFilterSerializer, request)
        found = selectors.order_list_for(user=request.user).select_related("revision__solution")
        if "status" in params:
            found = found.filter(status=params["status"])
        if "unit" in params:
            found = found.filter(unit__public_id=params["unit"])
        page = self.paginate_queryset(found)
        return self.get_paginated_response(OrderSerializer(page, many=True).data)

    @extend_schema(
        summary=_("Order a certified solution for one of my units, as a draft (staff and above)"),
        request=OrderCreateSerializer,
        responses=write_responses({201: OrderDetailSerializer}),
    )
    def post(self, request):
        serializer = OrderCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with _fields_renamed(revision="solution"):
            order = orders.order_create(
                unit=data["unit"], revision=data["solution"], mode=data["mode"], by=request.user
            )
        response = self.detail(order.public_id)
        response.status_code = status.HTTP_201_CREATED
        return response


class OrderDetailApi(_UnitOrder):
    @extend_schema(
        summary=_("One of my orders: lines, what was bought, amounts, payments and history"),
        responses={200: OrderDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, order_id):
        return self.detail(order_id)


class OrderPlaceApi(_UnitOrder):
    @extend_schema(
        summary=_("Confirm a draft order: it then waits for payment (staff and above)"),
        request=None,
        responses=write_responses({200: OrderDetailSerializer}),
    )
    def post(self, request, order_id):
        orders.order_place(order=self.get_order(order_id), by=request.user)
        return self.detail(order_id)


class OrderCancelApi(_UnitOrder):
    @extend_schema(
        summary=_("Cancel an order before it is paid (staff and above)"),
        request=OrderCancelSerializer,
        responses=write_responses({200: OrderDetailSerializer}),
    )
    def post(self, request, order_id):
        order = self.get_order(order_id)
        serializer = OrderCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        orders.order_cancel(order=order, by=request.user, **serializer.validated_data)
        return self.detail(order_id)


class OrderSetupIntentApi(_UnitOrder):
    serializer_class = SetupIntentSerializer

    @extend_schema(
        summary=_("A SetupIntent for Stripe.js to collect the card that pays this order"),
        description=_(
            "Confirm it in the browser with `stripe.confirmCardSetup(client_secret)`, then pay "
            'the order with `{"setup_intent": …}`. The card stays on the unit for lease '
            "instalments and monitoring fees."
        ),
        request=None,
        responses=write_responses({200: SetupIntentSerializer}),
    )
    def post(self, request, order_id):
        setup = payments.payment_setup(order=self.get_order(order_id), by=request.user)
        data = setup | {"publishable_key": settings.STRIPE_PUBLISHABLE_KEY}
        return Response(SetupIntentSerializer(data).data)


class OrderPayApi(_UnitOrder):
    serializer_class = PaymentSerializer

    @extend_schema(
        summary=_("Pay an order awaiting payment (staff and above)"),
        description=_(
            "Answers 202 with the payment, still processing: the order becomes paid when Stripe "
            "confirms it. A declined card answers 400 with Stripe's reason under the field that "
            "named the card; the order keeps waiting, with the reason as `last_payment_error`."
        ),
        request=OrderPaySerializer,
        responses=write_responses({202: PaymentSerializer}),
    )
    def post(self, request, order_id):
        order = self.get_order(order_id)
        serializer = OrderPaySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = payments.order_pay(order=order, by=request.user, **serializer.validated_data)
        return Response(PaymentSerializer(payment).data, status=status.HTTP_202_ACCEPTED)


class OrderDeliverApi(_UnitOrder):
    @extend_schema(
        summary=_("Confirm a shipped order was delivered; a lease starts today"),
        request=None,
        responses=write_responses({200: OrderDetailSerializer}),
    )
    def post(self, request, order_id):
        orders.order_deliver(order=self.get_order(order_id), by=request.user)
        return self.detail(order_id)


# A unit's leases, invoices and monitoring -----------------------------------------------------


def _lease_detail(lease):
    prefetch_related_objects(
        [lease], Prefetch("transitions", queryset=StatusChange.objects.select_related("by"))
    )
    return LeaseDetailSerializer(lease).data


class LeaseListApi(GenericAPIView):
    serializer_class = LeaseSerializer
    pagination_class = _newest_first("-created_at", "-pk")

    @extend_schema(summary=_("My units' leases"), responses=LeaseSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(selectors.lease_list_for(user=request.user))
        return self.get_paginated_response(LeaseSerializer(page, many=True).data)


class LeaseDetailApi(GenericAPIView):
    serializer_class = LeaseDetailSerializer

    @extend_schema(
        summary=_("One of my leases, with its history"),
        responses={200: LeaseDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, lease_id):
        lease = selectors.lease_get_for(user=request.user, public_id=lease_id)
        return Response(_lease_detail(lease))


class LeaseChoiceApi(GenericAPIView):
    serializer_class = LeaseDetailSerializer

    @extend_schema(
        summary=_("Choose what happens at the end of the term (staff and above)"),
        description=_(
            "Open from `choice_opens_on`. Buying out charges the unit's saved card at once; "
            "returning waits for the vendor to receive the devices; renewing starts a new "
            "term on the end date."
        ),
        request=LeaseChoiceSerializer,
        responses=write_responses({200: LeaseDetailSerializer}),
    )
    def post(self, request, lease_id):
        lease = selectors.lease_get_for(user=request.user, public_id=lease_id)
        serializer = LeaseChoiceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscriptions.lease_choose(lease=lease, by=request.user, **serializer.validated_data)
        lease = selectors.lease_get_for(user=request.user, public_id=lease_id)
        return Response(_lease_detail(lease))


class InvoiceListApi(GenericAPIView):
    serializer_class = InvoiceSerializer
    pagination_class = _newest_first("-issued_at", "-pk")

    @extend_schema(
        summary=_("My units' invoices for lease instalments and monitoring fees"),
        responses=InvoiceSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.invoice_list_for(user=request.user))
        return self.get_paginated_response(InvoiceSerializer(page, many=True).data)


class MonitoringListApi(GenericAPIView):
    serializer_class = MonitoringSerializer
    pagination_class = _newest_first("-started_at", "-pk")

    @extend_schema(
        summary=_("My units' monitoring subscriptions"),
        responses=MonitoringSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.monitoring_list_for(user=request.user))
        return self.get_paginated_response(MonitoringSerializer(page, many=True).data)


# A vendor's orders and leases -----------------------------------------------------------------


class _VendorOrder(GenericAPIView):
    serializer_class = VendorOrderDetailSerializer

    def get_order(self, order_id):
        return selectors.vendor_order_get_for(user=self.request.user, public_id=order_id)

    def detail(self, order_id) -> Response:
        order = _order_detail(self.get_order(order_id))
        return Response(VendorOrderDetailSerializer(order).data)


class VendorOrderListApi(_VendorOrder):
    serializer_class = VendorOrderSerializer
    pagination_class = _newest_first("-created_at", "-pk")

    @extend_schema(
        summary=_("Orders placed with my vendor, newest first"),
        parameters=[VendorOrderFilterSerializer, ORGANISATION_PARAMETER],
        responses={200: VendorOrderSerializer(many=True), 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request):
        organisation = vendor_organisation_of(request)
        params = _parse(VendorOrderFilterSerializer, request)
        found = (
            selectors.vendor_order_list_for(user=request.user)
            .filter(vendor__organisation=organisation)
            .select_related("revision__solution")
        )
        if "status" in params:
            found = found.filter(status=params["status"])
        page = self.paginate_queryset(found)
        return self.get_paginated_response(VendorOrderSerializer(page, many=True).data)


class VendorOrderDetailApi(_VendorOrder):
    @extend_schema(
        summary=_("An order to fulfil: what, where to, paid and refunded, history"),
        responses={200: VendorOrderDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, order_id):
        return self.detail(order_id)


class VendorOrderPrepareApi(_VendorOrder):
    @extend_schema(
        summary=_("Start preparing a paid order (staff and above)"),
        request=None,
        responses=write_responses({200: VendorOrderDetailSerializer}),
    )
    def post(self, request, order_id):
        orders.order_prepare(order=self.get_order(order_id), by=request.user)
        return self.detail(order_id)


class VendorOrderRefundApi(_VendorOrder):
    serializer_class = RefundSerializer

    @extend_schema(
        summary=_("Refund all or part of what the unit paid (owners and managers)"),
        description=_("Refunding everything that was paid makes the order refunded."),
        request=RefundCreateSerializer,
        responses=write_responses({201: RefundSerializer}),
    )
    def post(self, request, order_id):
        order = self.get_order(order_id)
        serializer = RefundCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refund = payments.order_refund(order=order, by=request.user, **serializer.validated_data)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class VendorLeaseListApi(GenericAPIView):
    serializer_class = LeaseSerializer
    pagination_class = _newest_first("-created_at", "-pk")

    @extend_schema(
        summary=_("Leases of my vendor's devices"),
        parameters=[ORGANISATION_PARAMETER],
        responses={200: LeaseSerializer(many=True), 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request):
        organisation = vendor_organisation_of(request)
        found = (
            selectors.vendor_lease_list_for(user=request.user)
            .filter(vendor__organisation=organisation)
            .select_related("vendor__organisation")
        )
        page = self.paginate_queryset(found)
        return self.get_paginated_response(LeaseSerializer(page, many=True).data)


class VendorLeaseDetailApi(GenericAPIView):
    serializer_class = LeaseDetailSerializer

    @extend_schema(
        summary=_("A lease of my vendor's devices, with its history"),
        responses={200: LeaseDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, lease_id):
        lease = selectors.vendor_lease_get_for(user=request.user, public_id=lease_id)
        return Response(_lease_detail(lease))


class VendorLeaseReturnedApi(GenericAPIView):
    serializer_class = LeaseDetailSerializer

    @extend_schema(
        summary=_("The leased devices came back: the lease ends, the deposit is returned"),
        description=_(
            "For a lease that is ending (or that defaulted: then the deposit is kept and the "
            "arrears are settled with the unit). Staff and above."
        ),
        request=None,
        responses=write_responses({200: LeaseDetailSerializer}),
    )
    def post(self, request, lease_id):
        lease = selectors.vendor_lease_get_for(user=request.user, public_id=lease_id)
        subscriptions.lease_return_receive(lease=lease, by=request.user)
        lease = selectors.vendor_lease_get_for(user=request.user, public_id=lease_id)
        return Response(_lease_detail(lease))


# A vendor's settlements -----------------------------------------------------------------------

_TOTALS = ["sales", "instalments", "monitoring", "deposits", "commission", "refunds", "payout"]


class SettlementListApi(GenericAPIView):
    serializer_class = SettlementMonthSerializer
    pagination_class = None  # one row per month, read whole

    @extend_schema(
        summary=_("My vendor's monthly settlements, newest first"),
        parameters=[ORGANISATION_PARAMETER],
        responses={200: SettlementMonthSerializer(many=True), 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request):
        organisation = vendor_organisation_of(request)
        months = selectors.settlement_months(vendor_organisation=organisation)
        return Response(SettlementMonthSerializer(months, many=True).data)


class SettlementDetailApi(GenericAPIView):
    serializer_class = SettlementDetailSerializer

    @extend_schema(
        summary=_("One month's statement: totals and every ledger entry"),
        parameters=[
            ORGANISATION_PARAMETER,
            OpenApiParameter(
                "month",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description=_("YYYY-MM, in Shanghai time."),
            ),
        ],
        responses={200: SettlementDetailSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request, month):
        try:
            first_day = date.fromisoformat(f"{month}-01")
        except ValueError:
            raise Http404("No such month") from None
        organisation = vendor_organisation_of(request)
        start = timezone.make_aware(datetime(first_day.year, first_day.month, 1))
        totals = next(
            (
                row
                for row in selectors.settlement_months(vendor_organisation=organisation)
                if row["month"] == start
            ),
            {"month": start, "entries": 0} | dict.fromkeys(_TOTALS, 0),
        )
        entries = selectors.ledger_for(vendor_organisation=organisation, month=first_day)
        data = totals | {"entry_count": totals["entries"], "entries": entries}
        return Response(SettlementDetailSerializer(data).data)
