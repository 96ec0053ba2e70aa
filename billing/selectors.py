"""Reads of billing data, scoped to the user. Money is private: a unit's orders, leases and
invoices are seen by its own organisation's members only (never by a park office or an
authority that may view the unit); a vendor sees the orders placed with it and its ledger."""

from datetime import date

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404

from accounts.models import Membership, Organisation, User
from billing.models import Invoice, Lease, LedgerEntry, MonitoringSubscription, Order


def _member_of(user: User):
    return Membership.objects.filter(user=user).values("organisation_id")


def order_list_for(*, user: User) -> QuerySet[Order]:
    return Order.objects.filter(unit__organisation_id__in=_member_of(user)).select_related(
        "unit", "vendor__organisation"
    )


def order_get_for(*, user: User, public_id) -> Order:
    return get_object_or_404(order_list_for(user=user), public_id=public_id)


def vendor_order_list_for(*, user: User) -> QuerySet[Order]:
    """Orders placed with the user's vendors (drafts are the unit's business until placed)."""
    return (
        Order.objects.filter(vendor__organisation_id__in=_member_of(user))
        .exclude(status=Order.Status.DRAFT)
        .select_related("unit__region", "vendor__organisation")
    )


def vendor_order_get_for(*, user: User, public_id) -> Order:
    return get_object_or_404(vendor_order_list_for(user=user), public_id=public_id)


def lease_list_for(*, user: User) -> QuerySet[Lease]:
    return Lease.objects.filter(unit__organisation_id__in=_member_of(user)).select_related(
        "order", "unit", "vendor__organisation"
    )


def lease_get_for(*, user: User, public_id) -> Lease:
    return get_object_or_404(lease_list_for(user=user), public_id=public_id)


def vendor_lease_list_for(*, user: User) -> QuerySet[Lease]:
    return Lease.objects.filter(vendor__organisation_id__in=_member_of(user)).select_related(
        "order", "unit"
    )


def vendor_lease_get_for(*, user: User, public_id) -> Lease:
    return get_object_or_404(vendor_lease_list_for(user=user), public_id=public_id)


def invoice_list_for(*, user: User) -> QuerySet[Invoice]:
    return Invoice.objects.filter(unit__organisation_id__in=_member_of(user)).select_related(
        "unit", "vendor__organisation", "lease__order", "subscription"
    )


def monitoring_list_for(*, user: User) -> QuerySet[MonitoringSubscription]:
    return MonitoringSubscription.objects.filter(
        unit__organisation_id__in=_member_of(user)
    ).select_related("unit", "solution", "vendor__organisation")


def ledger_for(*, vendor_organisation: Organisation, month: date | None = None):
    entries = LedgerEntry.objects.filter(vendor__organisation=vendor_organisation)
    if month is not None:
        entries = entries.filter(
            occurred_at__date__gte=month,
            occurred_at__date__lt=date(month.year + month.month // 12, month.month % 12 + 1, 1),
        )
    return entries.select_related("order", "lease__order")


def settlement_months(*, vendor_organisation: Organisation) -> list[dict]:
    """One row per month: income by kind, commission, refunds and the payout, summed in
    the database."""
    kinds = LedgerEntry.Kind
    return list(
        LedgerEntry.objects.filter(vendor__organisation=vendor_organisation)
        .annotate(month=TruncMonth("occurred_at"))
        .values("month")
        .annotate(
            sales=Sum("amount", filter=Q(kind=kinds.SALE), default=0),
            instalments=Sum("amount", filter=Q(kind=kinds.LEASE_INSTALMENT), default=0),
            monitoring=Sum("amount", filter=Q(kind=kinds.MONITORING_FEE), default=0),
            deposits=Sum("amount", filter=Q(kind=kinds.DEPOSIT), default=0),
            commission=Sum("amount", filter=Q(kind=kinds.COMMISSION), default=0),
            refunds=Sum("amount", filter=Q(kind=kinds.REFUND_REVERSAL), default=0),
            payout=Sum("amount"),
            entries=Count("pk"),
        )
        .order_by("-month")
    )
