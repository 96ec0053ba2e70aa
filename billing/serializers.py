"""Shapes of the billing API. Money is integer fen, dates ISO 8601; orders and leases are named
by their public ids. Input serializers check shape only and turn opaque ids into rows the asker
may use; the rules (states, roles, amounts still refundable) live in billing.services."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Membership
from billing.models import (
    Invoice,
    Lease,
    LedgerEntry,
    MonitoringSubscription,
    Order,
    OrderLine,
    Payment,
    Refund,
    StatusChange,
)
from billing.services.subscriptions import add_months
from marketplace.models import AcquisitionMode, SolutionRevision
from units.models import Unit

# Input -----------------------------------------------------------------------------------------


class _OpaqueIdField(serializers.RelatedField):
    """A row named by its public UUID among `get_queryset()`: an id that is missing, one that
    is not the asker's and one that is not a UUID give the same error."""

    lookup = "public_id"
    default_error_messages = {"does_not_exist": _("No such object.")}

    def to_internal_value(self, data):
        try:
            public_id = uuid.UUID(str(data))
            return self.get_queryset().get(**{self.lookup: public_id})
        except (ValueError, AttributeError, self.get_queryset().model.DoesNotExist):
            self.fail("does_not_exist")

    def to_representation(self, value):
        return str(value.public_id)


@extend_schema_field(OpenApiTypes.UUID)
class MyUnitField(_OpaqueIdField):
    default_error_messages = {"does_not_exist": _("Choose one of your own units.")}

    def get_queryset(self):
        mine = Membership.objects.filter(user=self.context["request"].user)
        return Unit.objects.filter(organisation_id__in=mine.values("organisation_id"))


@extend_schema_field(OpenApiTypes.UUID)
class CatalogSolutionField(_OpaqueIdField):
    """A solution on the catalog; the order is made from its current certified revision."""

    lookup = "solution__public_id"
    default_error_messages = {"does_not_exist": _("This solution is not on the catalog.")}

    def get_queryset(self):
        return SolutionRevision.objects.filter(status=SolutionRevision.Status.CERTIFIED)


class OrderFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)
    unit = serializers.UUIDField(required=False, help_text=_("One of my units' ids."))


class VendorOrderFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)


class OrderCreateSerializer(serializers.Serializer):
    unit = MyUnitField(help_text=_("The unit the order is for (one of mine)."))
    solution = CatalogSolutionField(
        help_text=_("A solution's id on the catalog; its certified revision is ordered.")
    )
    mode = serializers.ChoiceField(choices=AcquisitionMode.choices)


class OrderCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class OrderPaySerializer(serializers.Serializer):
    """Pay with a PaymentMethod id (`pm_…`), or with the card of a SetupIntent confirmed by
    Stripe.js (`seti_…`): one of the two."""

    payment_method = serializers.CharField(max_length=64, required=False, allow_blank=True)
    setup_intent = serializers.CharField(max_length=64, required=False, allow_blank=True)

    def validate(self, attrs):
        method, setup = attrs.get("payment_method", ""), attrs.get("setup_intent", "")
        if method and setup:
            raise serializers.ValidationError(
                {"payment_method": _("Give a payment method or a set-up card, not both.")}
            )
        if not (method or setup):
            raise serializers.ValidationError({"payment_method": _("Enter a card to pay with.")})
        return {"payment_method": method, "setup_intent": setup}


class RefundCreateSerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=1, help_text=_("Fen."))
    reason = serializers.CharField(max_length=300)


class LeaseChoiceSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=Lease.Choice.choices)


# Orders ----------------------------------------------------------------------------------------


class StatusChangeSerializer(serializers.ModelSerializer):
    # Plain strings: "" before the first status, and a status of the subject's own kind.
    from_status = serializers.CharField(read_only=True)
    to_status = serializers.CharField(read_only=True)
    by = serializers.EmailField(source="by.email", read_only=True, allow_null=True)

    class Meta:
        model = StatusChange
        fields = ["from_status", "to_status", "by", "reason", "at"]
        read_only_fields = fields


class OrderLineSerializer(serializers.ModelSerializer):
    device_model = serializers.UUIDField(source="device_model.public_id", read_only=True)

    class Meta:
        model = OrderLine
        fields = ["device_model", "name", "model_number", "rule", "quantity"]
        read_only_fields = fields


class OrderSnapshotSerializer(serializers.Serializer):
    """The certified revision as it was when the order was made; prices per device, in fen."""

    name = serializers.CharField()
    name_en = serializers.CharField()
    revision = serializers.IntegerField()
    certificate_number = serializers.CharField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    scenario = serializers.CharField()
    scenario_name = serializers.CharField()
    scenario_name_en = serializers.CharField()
    tier = serializers.CharField()
    vendor = serializers.CharField()
    currency = serializers.CharField()
    purchase_price = serializers.IntegerField()
    installation_fee = serializers.IntegerField()
    lease_monthly_fee = serializers.IntegerField(allow_null=True)
    lease_min_months = serializers.IntegerField(allow_null=True)
    lease_deposit = serializers.IntegerField(allow_null=True)
    lease_buyout_price = serializers.IntegerField(allow_null=True)
    monitoring_fee = serializers.IntegerField()
    warranty_months = serializers.IntegerField(allow_null=True)
    repair_sla_hours = serializers.IntegerField(allow_null=True)


class PaymentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(
        source="stripe_payment_intent", read_only=True, help_text=_("Stripe's PaymentIntent id.")
    )

    class Meta:
        model = Payment
        fields = [
            "id",
            "kind",
            "status",
            "amount",
            "deposit",
            "failure_message",
            "created_at",
            "succeeded_at",
        ]
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    id = serializers.CharField(
        source="stripe_refund", read_only=True, help_text=_("Stripe's Refund id.")
    )
    payment = serializers.CharField(source="payment.stripe_payment_intent", read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "payment", "amount", "deposit", "reason", "created_at"]
        read_only_fields = fields


ORDER_FIELDS = [
    "id",
    "number",
    "unit",
    "unit_name",
    "vendor",
    "vendor_name",
    "solution",
    "solution_name",
    "mode",
    "status",
    "currency",
    "devices",
    "amount_due",
    "amount_paid",
    "amount_refunded",
    "created_at",
    "paid_at",
    "shipped_at",
    "completed_at",
]

ORDER_DETAIL_FIELDS = [
    *ORDER_FIELDS,
    "hardware_total",
    "installation_total",
    "deposit_total",
    "lease_monthly_total",
    "lease_term_months",
    "lease_buyout_total",
    "monitoring_monthly_total",
    "last_payment_error",
    "carrier",
    "tracking_number",
    "snapshot",
    "lines",
    "payments",
    "refunds",
    "transitions",
]


class OrderSerializer(serializers.ModelSerializer):
    """An order in a list; amounts in fen."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    unit = serializers.UUIDField(source="unit.public_id", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    vendor = serializers.UUIDField(source="vendor.public_id", read_only=True)
    vendor_name = serializers.CharField(source="vendor.organisation.name", read_only=True)
    solution = serializers.UUIDField(source="revision.solution.public_id", read_only=True)
    solution_name = serializers.CharField(source="snapshot.name", read_only=True)

    class Meta:
        model = Order
        fields = ORDER_FIELDS
        read_only_fields = fields


class OrderDetailSerializer(OrderSerializer):
    snapshot = OrderSnapshotSerializer(read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)
    transitions = StatusChangeSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = ORDER_DETAIL_FIELDS
        read_only_fields = fields


class ShipToSerializer(serializers.Serializer):
    """Where the vendor delivers, and whom to call."""

    name = serializers.CharField(source="unit.name")
    address = serializers.CharField(source="unit.address")
    region = serializers.CharField(source="unit.region.name")
    contact_name = serializers.CharField(source="unit.responsible_name")
    contact_phone = serializers.CharField(source="unit.responsible_phone")


class VendorOrderSerializer(OrderSerializer):
    ship_to = ShipToSerializer(source="*", read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*ORDER_FIELDS, "ship_to"]
        read_only_fields = fields


class VendorOrderDetailSerializer(OrderDetailSerializer):
    ship_to = ShipToSerializer(source="*", read_only=True)

    class Meta(OrderDetailSerializer.Meta):
        fields = [*ORDER_DETAIL_FIELDS, "ship_to"]
        read_only_fields = fields


class SetupIntentSerializer(serializers.Serializer):
    """For Stripe.js: `stripe.confirmCardSetup(client_secret, …)` with the publishable key,
    then pay the order with the `setup_intent`."""

    setup_intent = serializers.CharField()
    client_secret = serializers.CharField()
    publishable_key = serializers.CharField()


# Leases, invoices, monitoring ------------------------------------------------------------------


class LeaseSerializer(serializers.ModelSerializer):
    """A lease; fees in fen. The end-of-term choice opens on `choice_opens_on`."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    order = serializers.UUIDField(source="order.public_id", read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    unit = serializers.UUIDField(source="unit.public_id", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    vendor_name = serializers.CharField(source="vendor.organisation.name", read_only=True)
    choice_opens_on = serializers.SerializerMethodField()
    next_payment_on = serializers.SerializerMethodField()

    class Meta:
        model = Lease
        fields = [
            "id",
            "order",
            "order_number",
            "unit",
            "unit_name",
            "vendor_name",
            "status",
            "term_months",
            "monthly_fee",
            "deposit",
            "buyout_price",
            "start_date",
            "end_date",
            "end_choice",
            "choice_opens_on",
            "next_payment_on",
            "past_due_since",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_choice_opens_on(self, lease):
        """From this day the unit may choose to return, buy out or renew."""
        if lease.end_date is None:
            return None
        return lease.end_date - timedelta(days=settings.LEASE_ENDING_NOTICE_DAYS)

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_next_payment_on(self, lease):
        """The next monthly instalment's day (the first month was paid with the order)."""
        if lease.status not in Lease.RUNNING or lease.start_date is None:
            return None
        today = timezone.localdate()
        month = 1
        while (due := add_months(lease.start_date, month)) < today:
            month += 1
        return due if due < lease.end_date else None


class LeaseDetailSerializer(LeaseSerializer):
    transitions = StatusChangeSerializer(many=True, read_only=True)

    class Meta(LeaseSerializer.Meta):
        fields = [*LeaseSerializer.Meta.fields, "transitions"]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    """A monthly invoice of a lease or of a monitoring subscription; amounts in fen."""

    id = serializers.CharField(
        source="stripe_invoice", read_only=True, help_text=_("Stripe's Invoice id.")
    )
    unit = serializers.UUIDField(source="unit.public_id", read_only=True)
    vendor_name = serializers.CharField(source="vendor.organisation.name", read_only=True)
    lease = serializers.UUIDField(source="lease.public_id", read_only=True, allow_null=True)
    order_number = serializers.CharField(
        source="lease.order.number", read_only=True, allow_null=True
    )
    subscription = serializers.CharField(
        source="subscription.stripe_subscription", read_only=True, allow_null=True
    )

    class Meta:
        model = Invoice
        fields = [
            "id",
            "unit",
            "vendor_name",
            "lease",
            "order_number",
            "subscription",
            "status",
            "currency",
            "amount_due",
            "amount_paid",
            "period_start",
            "period_end",
            "failure_message",
            "issued_at",
            "paid_at",
        ]
        read_only_fields = fields


class MonitoringSerializer(serializers.ModelSerializer):
    """A unit's monthly monitoring fee for one solution: quantity × unit price, in fen."""

    id = serializers.CharField(
        source="stripe_subscription", read_only=True, help_text=_("Stripe's Subscription id.")
    )
    unit = serializers.UUIDField(source="unit.public_id", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    solution = serializers.UUIDField(source="solution.public_id", read_only=True)
    tier = serializers.CharField(source="solution.tier", read_only=True)
    vendor_name = serializers.CharField(source="vendor.organisation.name", read_only=True)
    monthly_total = serializers.SerializerMethodField()

    class Meta:
        model = MonitoringSubscription
        fields = [
            "id",
            "unit",
            "unit_name",
            "solution",
            "tier",
            "vendor_name",
            "status",
            "unit_price",
            "quantity",
            "monthly_total",
            "past_due_since",
            "started_at",
            "cancelled_at",
        ]
        read_only_fields = fields

    def get_monthly_total(self, subscription) -> int:
        """Fen per month at the current quantity."""
        return subscription.unit_price * subscription.quantity


# Settlements -----------------------------------------------------------------------------------


class SettlementMonthSerializer(serializers.Serializer):
    """One month of a vendor's ledger, summed: income by kind, the platform's commission and
    refunds (negative), and the payout (their sum). Fen."""

    month = serializers.SerializerMethodField()
    sales = serializers.IntegerField()
    instalments = serializers.IntegerField()
    monitoring = serializers.IntegerField()
    deposits = serializers.IntegerField()
    commission = serializers.IntegerField()
    refunds = serializers.IntegerField()
    payout = serializers.IntegerField()
    entry_count = serializers.IntegerField(source="entries")

    def get_month(self, row) -> str:
        """YYYY-MM, in Shanghai time."""
        return f"{timezone.localtime(row['month']):%Y-%m}"


class LedgerEntrySerializer(serializers.ModelSerializer):
    order = serializers.UUIDField(source="order.public_id", read_only=True, allow_null=True)
    order_number = serializers.CharField(source="order.number", read_only=True, allow_null=True)
    reference = serializers.CharField(
        source="source", read_only=True, help_text=_("The Stripe charge, invoice or refund.")
    )

    class Meta:
        model = LedgerEntry
        fields = [
            "kind",
            "amount",
            "currency",
            "order",
            "order_number",
            "reference",
            "memo",
            "occurred_at",
        ]
        read_only_fields = fields


class SettlementDetailSerializer(SettlementMonthSerializer):
    """A month's statement: its totals and every ledger row behind them, oldest first."""

    entry_count = serializers.IntegerField()
    entries = LedgerEntrySerializer(many=True)
