"""The platform operator's admin for billing.

Everything here is money, or a copy of what Stripe holds: orders, payments, refunds, leases,
subscriptions, invoices, the settlement ledger and the webhook log are written by the billing
services only (each with its status change, audit row and ledger rows), so the operator may
find and read them but never add, edit or delete. The one thing the operator may do is process
a failed Stripe event again, through the same service the webhook uses.
"""

import json

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import ReadOnlyAdminMixin
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
    StripeCustomer,
    WebhookEvent,
)
from billing.services.webhooks import webhook_process
from marketplace.templatetags.money import yuan


def _money(field: str, description):
    """A list column showing `field` (fen) as yuan, sortable by the field."""

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        return yuan(getattr(obj, field))

    column.__name__ = f"{field}_yuan"
    return column


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


# Customers and orders --------------------------------------------------------------------------


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdmin):
    list_display = ("stripe_id", "unit", "card_last4", "created_at")
    search_fields = ("stripe_id", "unit__name", "unit__organisation__name")
    list_select_related = ("unit",)


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("name", "model_number", "rule", "quantity")
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = (
        "stripe_payment_intent",
        "kind",
        "status",
        "amount_yuan",
        "failure_message",
        "created_at",
        "succeeded_at",
    )
    readonly_fields = fields
    show_change_link = True
    amount_yuan = _money("amount", _("amount"))


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("stripe_refund", "amount_yuan", "deposit", "reason", "by", "created_at")
    readonly_fields = fields
    show_change_link = True
    amount_yuan = _money("amount", _("amount"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


class StatusChangeInline(ReadOnlyInline):
    model = StatusChange
    fields = ("at", "from_status", "to_status", "by", "reason")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "unit",
        "vendor",
        "mode",
        "status",
        "amount_due_yuan",
        "amount_paid_yuan",
        "amount_refunded_yuan",
        "created_at",
    )
    list_filter = ("status", "mode", "created_at")
    search_fields = (
        "number",
        "unit__name",
        "vendor__organisation__name",
        "snapshot__name",
        "payments__stripe_payment_intent",
        "tracking_number",
    )
    list_select_related = ("unit", "vendor__organisation")
    date_hierarchy = "created_at"
    readonly_fields = ("public_id",)
    inlines = [OrderLineInline, PaymentInline, RefundInline, StatusChangeInline]
    amount_due_yuan = _money("amount_due", _("due now"))
    amount_paid_yuan = _money("amount_paid", _("paid"))
    amount_refunded_yuan = _money("amount_refunded", _("refunded"))


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdmin):
    list_display = ("order", "name", "model_number", "rule", "quantity")
    search_fields = ("order__number", "name", "model_number")
    list_select_related = ("order",)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "stripe_payment_intent",
        "order",
        "kind",
        "status",
        "amount_yuan",
        "created_at",
        "succeeded_at",
    )
    list_filter = ("status", "kind", "created_at")
    search_fields = ("stripe_payment_intent", "order__number", "order__unit__name")
    list_select_related = ("order",)
    date_hierarchy = "created_at"
    inlines = [RefundInline]
    amount_yuan = _money("amount", _("amount"))


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("stripe_refund", "order", "amount_yuan", "deposit", "reason", "created_at")
    list_filter = ("deposit", "created_at")
    search_fields = ("stripe_refund", "order__number", "payment__stripe_payment_intent", "reason")
    list_select_related = ("order", "by")
    amount_yuan = _money("amount", _("amount"))


# Leases, monitoring, invoices ------------------------------------------------------------------


class InvoiceInline(ReadOnlyInline):
    model = Invoice
    fields = ("stripe_invoice", "status", "amount_due_yuan", "amount_paid_yuan", "issued_at")
    readonly_fields = fields
    show_change_link = True
    amount_due_yuan = _money("amount_due", _("amount due"))
    amount_paid_yuan = _money("amount_paid", _("amount paid"))


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    list_display = (
        "order",
        "unit",
        "vendor",
        "status",
        "monthly_fee_yuan",
        "start_date",
        "end_date",
        "end_choice",
        "past_due_since",
    )
    list_filter = ("status", "end_choice", "end_date")
    search_fields = (
        "order__number",
        "unit__name",
        "vendor__organisation__name",
        "stripe_subscription",
    )
    list_select_related = ("order", "unit", "vendor__organisation")
    readonly_fields = ("public_id",)
    inlines = [StatusChangeInline, InvoiceInline]
    monthly_fee_yuan = _money("monthly_fee", _("per month"))


@admin.register(MonitoringSubscription)
class MonitoringSubscriptionAdmin(ReadOnlyAdmin):
    list_display = (
        "unit",
        "solution",
        "vendor",
        "status",
        "quantity",
        "unit_price_yuan",
        "started_at",
        "past_due_since",
    )
    list_filter = ("status",)
    search_fields = ("unit__name", "vendor__organisation__name", "stripe_subscription")
    list_select_related = (
        "unit",
        "solution__vendor__organisation",
        "solution__scenario",
        "vendor__organisation",
    )
    inlines = [StatusChangeInline, InvoiceInline]
    unit_price_yuan = _money("unit_price", _("per device per month"))


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = (
        "stripe_invoice",
        "unit",
        "vendor",
        "status",
        "amount_due_yuan",
        "amount_paid_yuan",
        "issued_at",
        "paid_at",
    )
    list_filter = ("status", "issued_at")
    search_fields = (
        "stripe_invoice",
        "unit__name",
        "lease__order__number",
        "subscription__stripe_subscription",
    )
    list_select_related = ("unit", "vendor__organisation")
    date_hierarchy = "issued_at"
    amount_due_yuan = _money("amount_due", _("amount due"))
    amount_paid_yuan = _money("amount_paid", _("amount paid"))


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "subject", "from_status", "to_status", "by", "reason")
    list_filter = ("to_status",)
    search_fields = ("order__number", "lease__order__number", "reason", "by__email")
    list_select_related = ("order", "lease__order", "subscription__unit", "by")
    date_hierarchy = "at"

    @admin.display(description=_("order, lease or subscription"))
    def subject(self, change):
        return change.order or change.lease or change.subscription


# The settlement ledger and Stripe's events -----------------------------------------------------


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "vendor", "kind", "amount_yuan", "order", "source", "memo")
    list_filter = ("kind", "occurred_at")
    search_fields = ("vendor__organisation__name", "source", "memo", "order__number")
    list_select_related = ("vendor__organisation", "order")
    date_hierarchy = "occurred_at"
    amount_yuan = _money("amount", _("amount"))


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "type", "stripe_event", "status", "attempts", "processed_at")
    list_filter = ("status", "type")
    search_fields = ("stripe_event", "type", "error")
    date_hierarchy = "received_at"
    fields = (
        "stripe_event",
        "type",
        "status",
        "attempts",
        "error",
        "received_at",
        "processed_at",
        "payload_shown",
    )
    readonly_fields = fields
    actions = ["process_again"]

    @admin.display(description=_("payload"))
    def payload_shown(self, event):
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, ensure_ascii=False))

    def has_reprocess_permission(self, request):
        return request.user.has_perm("billing.change_webhookevent")

    @admin.action(description=_("Process failed events again"), permissions=["reprocess"])
    def process_again(self, request, queryset):
        """The same processing as the webhook's: the object is fetched from Stripe again, so
        processing twice does no harm."""
        Status = WebhookEvent.Status
        outcomes = {Status.PROCESSED: 0, Status.IGNORED: 0, Status.FAILED: 0}
        failed = queryset.filter(status=Status.FAILED).order_by("received_at")
        outcomes["skipped"] = queryset.count() - failed.count()
        for event in failed:
            try:
                outcomes[webhook_process(event=event).status] += 1
            except Exception:  # kept on the event with its error, shown in the list
                outcomes[Status.FAILED] += 1
        number = outcomes[Status.PROCESSED]
        if number:
            message = ngettext("%d event processed.", "%d events processed.", number)
            self.message_user(request, message % number, messages.SUCCESS)
        number = outcomes[Status.IGNORED]
        if number:
            message = ngettext(
                "%d event ignored: Stripe no longer has its object.",
                "%d events ignored: Stripe no longer has their objects.",
                number,
            )
            self.message_user(request, message % number, messages.WARNING)
        number = outcomes[Status.FAILED]
        if number:
            message = ngettext("%d event failed again.", "%d events failed again.", number)
            self.message_user(request, message % number, messages.ERROR)
        number = outcomes["skipped"]
        if number:
            message = ngettext(
                "%d event had not failed and was left alone.",
                "%d events had not failed and were left alone.",
                number,
            )
            self.message_user(request, message % number, messages.WARNING)
