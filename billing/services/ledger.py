"""The vendors' settlement ledger. Rows are written once per (kind, Stripe object), so a
webhook processed twice cannot pay a vendor twice. By construction
payouts + commission = captured payments − refunds (see LedgerEntry)."""

from django.db.models import Sum
from django.utils import timezone

from billing.models import LedgerEntry, Payment, Refund
from billing.services.common import commission_of

Kind = LedgerEntry.Kind


def income_record(
    *,
    vendor,
    kind: str,
    amount: int,
    source: str,
    commissionable: int | None = None,
    deposit: int = 0,
    memo: str = "",
    occurred_at=None,
    **links,
) -> None:
    """Money captured for a vendor: `amount` of income (commission taken on
    `commissionable`, all of it by default), plus a deposit held, if any."""
    occurred_at = occurred_at or timezone.now()
    commissionable = amount if commissionable is None else commissionable
    common = {"vendor": vendor, "source": source, "occurred_at": occurred_at, **links}
    rows = []
    if amount:
        rows.append(LedgerEntry(kind=kind, amount=amount, memo=memo, **common))
    if deposit:
        rows.append(LedgerEntry(kind=Kind.DEPOSIT, amount=deposit, memo=memo, **common))
    commission = commission_of(commissionable)
    if commission:
        rows.append(LedgerEntry(kind=Kind.COMMISSION, amount=-commission, memo=memo, **common))
    LedgerEntry.objects.bulk_create(rows, ignore_conflicts=True)


def payment_income_record(payment: Payment, *, source: str) -> None:
    order = payment.order
    if payment.kind == Payment.Kind.BUYOUT:
        kind = Kind.SALE
    else:
        kind = Kind.LEASE_INSTALMENT if order.is_lease else Kind.SALE
    income_record(
        vendor=order.vendor,
        kind=kind,
        amount=payment.amount - payment.deposit,
        commissionable=payment.commissionable,
        deposit=payment.deposit,
        source=source,
        memo=order.number,
        occurred_at=payment.succeeded_at,
        order=order,
        lease=payment.lease,
    )


def refund_reversal_record(refund: Refund) -> None:
    """Take the refund back from the vendor, and give back the commission in proportion
    (none for a returned deposit, which was never commissioned).

    The proportion is of everything refunded so far, less what was already given back, so
    that rounding never adds up to more than was taken, and a payment refunded in full
    (in any number of parts) gives all of its commission back."""
    payment = refund.payment
    commission_back = 0
    if not refund.deposit and payment.commissionable:
        taken = commission_of(payment.commissionable)
        earlier = payment.refunds.exclude(pk=refund.pk)
        returned = (
            LedgerEntry.objects.filter(
                kind=Kind.COMMISSION,
                amount__gt=0,
                source__in=earlier.values("stripe_refund"),
            ).aggregate(total=Sum("amount"))["total"]
            or 0
        )
        refunded = refund.amount + (
            earlier.filter(deposit=False).aggregate(total=Sum("amount"))["total"] or 0
        )
        due_back = (
            taken
            if refunded >= payment.commissionable
            else refunded * taken // payment.commissionable
        )
        commission_back = max(0, min(taken, due_back) - returned)
    common = {
        "vendor": refund.order.vendor,
        "source": refund.stripe_refund,
        "occurred_at": refund.created_at,
        "order": refund.order,
        "lease": payment.lease,
        "memo": refund.order.number,
    }
    rows = [LedgerEntry(kind=Kind.REFUND_REVERSAL, amount=-refund.amount, **common)]
    if commission_back:
        rows.append(LedgerEntry(kind=Kind.COMMISSION, amount=commission_back, **common))
    LedgerEntry.objects.bulk_create(rows, ignore_conflicts=True)
