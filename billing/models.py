"""Money: orders (buy or lease) with a frozen snapshot of what was bought, payments through
Stripe, leases, monitoring subscriptions, invoices, and the vendors' settlement ledger.

Amounts are integer fen with a currency (DESIGN §6). Every status change writes a
`StatusChange` row (who, when, from, to, why).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.models import AcquisitionMode, DeviceModel, Solution, SolutionRevision, Vendor
from units.models import Unit


def _money(verbose_name, **kwargs):
    return models.BigIntegerField(verbose_name, **kwargs)


class StripeCustomer(models.Model):
    """A unit's Customer at Stripe, and the card it pays with by default."""

    unit = models.OneToOneField(Unit, on_delete=models.PROTECT, related_name="stripe_customer")
    stripe_id = models.CharField(max_length=64, unique=True)
    default_payment_method = models.CharField(max_length=64, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("Stripe customer")
        verbose_name_plural = _("Stripe customers")

    def __str__(self):
        return self.stripe_id


class Order(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        PAID = "paid", _("Paid")
        FULFILLING = "fulfilling", _("Being prepared")
        SHIPPED = "shipped", _("Shipped")
        COMPLETED = "completed", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    # Money has changed hands: refunds are possible from these states.
    PAID_STATES = {Status.PAID, Status.FULFILLING, Status.SHIPPED, Status.COMPLETED}

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("order number"), max_length=20, unique=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="orders", db_index=False)
    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    revision = models.ForeignKey(SolutionRevision, on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(_("purchase or lease"), max_length=8, choices=AcquisitionMode.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    # What was bought, as it was when the order was made (names, certificate, every price).
    snapshot = models.JSONField(_("snapshot"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    devices = models.PositiveIntegerField(_("devices"))
    hardware_total = _money(_("hardware (fen)"), default=0)
    installation_total = _money(_("installation (fen)"), default=0)
    deposit_total = _money(_("deposit (fen)"), default=0)
    lease_monthly_total = _money(_("lease per month (fen)"), default=0)
    lease_term_months = models.PositiveSmallIntegerField(_("lease term (months)"), null=True)
    lease_buyout_total = _money(_("buy-out at the end (fen)"), null=True, blank=True)
    monitoring_monthly_total = _money(_("monitoring per month (fen)"), default=0)
    amount_due = _money(_("due now (fen)"))
    amount_paid = _money(_("paid (fen)"), default=0)
    amount_refunded = _money(_("refunded (fen)"), default=0)
    last_payment_error = models.CharField(_("last payment error"), max_length=300, blank=True)
    carrier = models.CharField(_("carrier"), max_length=64, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    completed_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["unit", "-created_at"], name="order_unit_recent_idx"),
            models.Index(fields=["vendor", "status"], name="order_vendor_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=models.F("amount_paid")),
                name="order_refund_not_above_paid",
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_lease(self) -> bool:
        return self.mode == AcquisitionMode.LEASE

    @property
    def refundable(self) -> int:
        return self.amount_paid - self.amount_refunded


class OrderLine(models.Model):
    """One device model of the bill of materials, with the quantity this unit gets."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    device_model = models.ForeignKey(DeviceModel, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("device"), max_length=200)
    model_number = models.CharField(_("model number"), max_length=64)
    rule = models.CharField(_("quantity rule"), max_length=16)
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["pk"]

    def __str__(self):
        return f"{self.name} × {self.quantity}"


class Payment(models.Model):
    """One PaymentIntent: an order's payment, or a lease's buy-out."""

    class Kind(models.TextChoices):
        ORDER = "order", _("Order")
        BUYOUT = "buyout", _("Lease buy-out")

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    lease = models.ForeignKey(
        "Lease", on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.ORDER)
    stripe_payment_intent = models.CharField(max_length=64, unique=True)
    amount = _money(_("amount (fen)"))
    # The part of the amount the platform takes commission on (not deposits).
    commissionable = _money(_("commissionable (fen)"))
    deposit = _money(_("deposit (fen)"), default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING)
    failure_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="payment_processing_idx",
                condition=Q(status="processing"),
            ),
        ]

    def __str__(self):
        return self.stripe_payment_intent


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    stripe_refund = models.CharField(max_length=64, unique=True)
    amount = _money(_("amount (fen)"))
    deposit = models.BooleanField(_("deposit returned"), default=False)
    reason = models.CharField(_("reason"), max_length=300)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]

    def __str__(self):
        return self.stripe_refund


class Lease(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for delivery")
        ACTIVE = "active", _("Active")
        ENDING = "ending", _("Ending")
        RETURNED = "returned", _("Returned")
        BOUGHT_OUT = "bought_out", _("Bought out")
        RENEWED = "renewed", _("Renewed")
        DEFAULTED = "defaulted", _("Defaulted")

    class Choice(models.TextChoices):
        RETURN = "return", _("Return the devices")
        BUY_OUT = "buy_out", _("Buy them out")
        RENEW = "renew", _("Renew the lease")

    RUNNING = {Status.ACTIVE, Status.ENDING}

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="leases")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="leases")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="leases")
    renewed_from = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="renewal"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    term_months = models.PositiveSmallIntegerField(_("term (months)"))
    monthly_fee = _money(_("per month (fen)"))
    deposit = _money(_("deposit (fen)"))
    buyout_price = _money(_("buy-out price (fen)"), null=True, blank=True)
    start_date = models.DateField(_("starts"), null=True, blank=True)
    end_date = models.DateField(_("ends"), null=True, blank=True)
    end_choice = models.CharField(
        _("choice at the end"), max_length=8, choices=Choice.choices, blank=True
    )
    stripe_subscription = models.CharField(max_length=64, blank=True, db_index=True)
    # Set by the first failed instalment; cleared when one is paid (dunning, DESIGN §4).
    past_due_since = models.DateTimeField(_("payment overdue since"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("lease")
        verbose_name_plural = _("leases")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.order.number} lease"


class MonitoringSubscription(models.Model):
    """A unit's monthly monitoring fee for one solution: quantity = its active devices."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Payment overdue")
        LAPSED = "lapsed", _("Lapsed")
        CANCELLED = "cancelled", _("Cancelled")

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="monitoring")
    solution = models.ForeignKey(Solution, on_delete=models.PROTECT, related_name="+")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    unit_price = _money(_("per device per month (fen)"))
    quantity = models.PositiveIntegerField(_("active devices"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    stripe_subscription = models.CharField(max_length=64, unique=True)
    past_due_since = models.DateTimeField(_("payment overdue since"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    class Meta:
        verbose_name = _("monitoring subscription")
        verbose_name_plural = _("monitoring subscriptions")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "solution"],
                condition=~Q(status="cancelled"),
                name="monitoring_one_live_per_unit_solution",
            ),
        ]

    def __str__(self):
        return f"{self.unit} · {self.solution_id}"


class Invoice(models.Model):
    """A Stripe invoice of a lease or a monitoring subscription, as last fetched."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        VOID = "void", _("Void")
        UNCOLLECTIBLE = "uncollectible", _("Uncollectible")

    stripe_invoice = models.CharField(max_length=64, unique=True)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    lease = models.ForeignKey(
        Lease, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    subscription = models.ForeignKey(
        MonitoringSubscription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    currency = models.CharField(max_length=3, default="CNY")
    amount_due = _money(_("amount due (fen)"))
    amount_paid = _money(_("amount paid (fen)"), default=0)
    period_start = models.DateTimeField(_("period from"), null=True, blank=True)
    period_end = models.DateTimeField(_("period until"), null=True, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    issued_at = models.DateTimeField(_("issued"))
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["unit", "-issued_at"], name="invoice_unit_recent_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(lease__isnull=True, subscription__isnull=False)
                | Q(lease__isnull=False, subscription__isnull=True),
                name="invoice_lease_or_subscription",
            ),
        ]

    def __str__(self):
        return self.stripe_invoice


class StatusChange(models.Model):
    """Who moved an order, a lease or a subscription from one status to another, and why."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="transitions"
    )
    lease = models.ForeignKey(
        Lease, on_delete=models.CASCADE, null=True, blank=True, related_name="transitions"
    )
    subscription = models.ForeignKey(
        MonitoringSubscription,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="transitions",
    )
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(order__isnull=False, lease__isnull=True, subscription__isnull=True)
                | Q(order__isnull=True, lease__isnull=False, subscription__isnull=True)
                | Q(order__isnull=True, lease__isnull=True, subscription__isnull=False),
                name="status_change_one_subject",
            ),
        ]

    def __str__(self):
        return f"{self.from_status or '·'} → {self.to_status}"


class WebhookEvent(models.Model):
    """Each Stripe event, stored once by its id before it is processed."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    stripe_event = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]
        indexes = [
            models.Index(
                fields=["received_at"], name="webhook_failed_idx", condition=Q(status="failed")
            ),
        ]

    def __str__(self):
        return f"{self.type} {self.stripe_event}"


class LedgerEntry(models.Model):
    """A vendor's settlement ledger. Income rows are positive, the platform's commission and
    refund reversals negative: a vendor's payout is the sum of its rows, and
    payouts + commission = captured payments − refunds."""

    class Kind(models.TextChoices):
        SALE = "sale", _("Sale")
        LEASE_INSTALMENT = "lease_instalment", _("Lease instalment")
        MONITORING_FEE = "monitoring_fee", _("Monitoring fee")
        DEPOSIT = "deposit", _("Lease deposit held")
        COMMISSION = "commission", _("Platform commission")
        REFUND_REVERSAL = "refund_reversal", _("Refund reversal")

    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="ledger", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount = _money(_("amount (fen)"))
    currency = models.CharField(max_length=3, default="CNY")
    # The Stripe object the money moved with (charge, invoice, refund): one row per kind.
    source = models.CharField(max_length=64)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger"
    )
    lease = models.ForeignKey(
        Lease, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger"
    )
    subscription = models.ForeignKey(
        MonitoringSubscription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger",
    )
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    occurred_at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source"], name="ledger_once_per_source"),
        ]
        indexes = [models.Index(fields=["vendor", "occurred_at"], name="ledger_vendor_date_idx")]

    def __str__(self):
        return f"{self.kind} {self.amount}"
