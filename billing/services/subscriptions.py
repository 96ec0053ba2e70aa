"""Leases and monitoring subscriptions: monthly Stripe Subscriptions, their invoices, and
dunning (DESIGN §4).

A lease starts on delivery. Its deposit and first month were paid with the order, so its
Subscription's first invoice is due a month later; at the end of the term the unit returns
the devices, buys them out or renews. A failed instalment starts the dunning clock; after the
grace period the lease defaults. A monitoring subscription bills the unit's active devices of
one solution each month; unpaid past its grace it lapses. Neither default nor lapse ever
touches alarm routing (DESIGN §6): they notify the unit and the vendor, nothing more.
"""

import calendar
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from accounts.services import membership_require
from billing import gateway
from billing.models import Invoice, Lease, MonitoringSubscription, Order, Payment
from billing.services import ledger
from billing.services.common import commission_of, first_status, status_change
from billing.services.payments import customer_for, payment_refund
from marketplace.models import Solution
from units.models import Unit

LeaseStatus = Lease.Status
SubStatus = MonitoringSubscription.Status


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _timestamp(day: date) -> int:
    """Midday in Shanghai on `day`, as a Unix timestamp (Stripe's clock)."""
    local = datetime(day.year, day.month, day.day, 12, tzinfo=timezone.get_default_timezone())
    return int(local.timestamp())


def _from_timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _plan(*, reference: str, name: str, amount: int) -> str:
    plan = gateway.plan_create(
        product_name=name, amount=amount, reference=reference, idempotency_key=f"plan-{reference}"
    )
    return plan["id"]


def _commission_percent() -> float:
    return settings.PLATFORM_COMMISSION_BPS / 100


# Leases ---------------------------------------------------------------------------------------


def lease_start(*, lease: Lease, by: User | None, today: date) -> Lease:
    """Delivered: the term runs from today. The Subscription is opened after commit."""
    from billing.tasks import lease_subscription_open

    lease = status_change(
        lease,
        to=LeaseStatus.ACTIVE,
        allowed_from={LeaseStatus.PENDING},
        by=by,
        reason=_("Delivered."),
        start_date=today,
        end_date=add_months(today, lease.term_months),
    )
    transaction.on_commit(lambda: lease_subscription_open.delay(lease.pk))
    return lease


def lease_subscription_open(*, lease: Lease) -> Lease:
    """The monthly Subscription of a running lease, first billed a month after the start (the
    first month was paid with the order). Safe to repeat and to race: the lease row is locked
    while the Subscription is created, so a second caller finds it and creates none."""
    with transaction.atomic():
        lease = (
            Lease.objects.select_for_update()
            .select_related("order", "unit", "vendor")
            .get(pk=lease.pk)
        )
        if lease.stripe_subscription or lease.status not in Lease.RUNNING:
            return lease
        return _lease_subscription_create(lease)


def _lease_subscription_create(lease: Lease) -> Lease:
    order = lease.order
    customer = customer_for(unit=lease.unit)
    plan = _plan(
        reference=f"lease-revision-{order.revision_id}",
        name=f"{order.snapshot['name']} · lease",
        amount=order.snapshot["lease_monthly_fee"],
    )
    subscription = gateway.subscription_create(
        customer=customer.stripe_id,
        plan=plan,
        quantity=order.devices,
        metadata={"lease": str(lease.public_id), "order": order.number},
        idempotency_key=f"lease-{lease.public_id}-subscription",
        trial_end=_timestamp(add_months(lease.start_date, 1)),
        destination=lease.vendor.stripe_account,
        commission_percent=_commission_percent(),
    )
    Lease.objects.filter(pk=lease.pk).update(stripe_subscription=subscription["id"])
    lease.stripe_subscription = subscription["id"]
    return lease


def _lease_for_subscription(subscription: str) -> Lease | None:
    """The running lease billed by this Subscription (a renewal keeps its predecessor's)."""
    if not subscription:
        return None
    return (
        Lease.objects.select_for_update()
        .filter(stripe_subscription=subscription)
        .order_by("-created_at")
        .first()
    )


def lease_choose(*, lease: Lease, by: User, choice: str) -> Lease:
    """The unit's choice for the end of the term, open from the notice period on. Buying out
    charges the saved card now; returning waits for the vendor to receive the devices;
    renewing starts a new term on the end date."""
    membership_require(organisation=lease.unit.organisation, user=by, manage=False)
    if choice not in Lease.Choice.values:
        raise ValidationError({"choice": _("Choose return, buy out or renew.")})
    # A lease waiting for delivery has no end date yet: the choice is not open.
    if lease.status not in Lease.RUNNING or timezone.localdate() < (
        lease.end_date - timedelta(days=settings.LEASE_ENDING_NOTICE_DAYS)
    ):
        raise ValidationError(
            {
                "choice": ngettext(
                    "The choice opens %(days)s day before the end of the term.",
                    "The choice opens %(days)s days before the end of the term.",
                    settings.LEASE_ENDING_NOTICE_DAYS,
                )
                % {"days": settings.LEASE_ENDING_NOTICE_DAYS}
            }
        )
    if choice == Lease.Choice.BUY_OUT and lease.buyout_price is None:
        raise ValidationError({"choice": _("This lease has no buy-out price.")})
    if lease.payments.filter(status=Payment.Status.PROCESSING).exists():
        raise ValidationError({"choice": _("The buy-out payment is being processed.")})
    if choice == Lease.Choice.BUY_OUT:
        _buyout_charge(lease)  # a declined card leaves the earlier choice as it was
    Lease.objects.filter(pk=lease.pk).update(end_choice=choice)
    lease.end_choice = choice
    return lease


def _buyout_charge(lease: Lease) -> Payment:
    order = lease.order
    customer = customer_for(unit=lease.unit)
    if not customer.default_payment_method:
        raise ValidationError({"choice": _("There is no saved card to charge.")})
    attempt = lease.payments.count() + 1
    try:
        intent = gateway.payment_intent_create(
            amount=lease.buyout_price,
            customer=customer.stripe_id,
            payment_method=customer.default_payment_method,
            metadata={
                "lease": str(lease.public_id),
                "order": str(order.public_id),
                "kind": "buyout",
            },
            idempotency_key=f"lease-{lease.public_id}-buyout-{attempt}",
            off_session=True,
            destination=lease.vendor.stripe_account,
            application_fee=commission_of(lease.buyout_price),
        )
    except gateway.PaymentDeclined as exc:
        raise ValidationError({"choice": exc.message}) from exc
    except gateway.GatewayError as exc:
        raise ValidationError(
            {"choice": _("The payment service did not answer; nothing was charged. Try again.")}
        ) from exc
    # get_or_create: the webhook may have recorded it already (from the metadata).
    payment, _created = Payment.objects.get_or_create(
        stripe_payment_intent=intent["id"],
        defaults={
            "order": order,
            "lease": lease,
            "kind": Payment.Kind.BUYOUT,
            "amount": lease.buyout_price,
            "commissionable": lease.buyout_price,
        },
    )
    return payment


def lease_bought_out(*, lease: Lease, payment: Payment) -> Lease:
    """The buy-out was paid (called inside the payment's transaction)."""
    lease = status_change(
        lease,
        to=LeaseStatus.BOUGHT_OUT,
        allowed_from=Lease.RUNNING | {LeaseStatus.DEFAULTED},
        by=None,
        reason=_("Buy-out paid."),
    )
    _lease_close(lease, refund_deposit=True)
    return lease


def lease_return_receive(*, lease: Lease, by: User) -> Lease:
    """The vendor has the devices back: the lease ends and the deposit goes back (unless it
    defaulted: then the vendor settles the arrears with the unit)."""
    membership_require(organisation=lease.vendor.organisation, user=by, manage=False)
    with transaction.atomic():
        refund = lease.status != LeaseStatus.DEFAULTED
        lease = status_change(
            lease,
            to=LeaseStatus.RETURNED,
            allowed_from={LeaseStatus.ENDING, LeaseStatus.DEFAULTED},
            by=by,
            reason=_("Devices received back."),
        )
        _lease_close(lease, refund_deposit=refund)
    return lease


def _lease_close(lease: Lease, *, refund_deposit: bool) -> None:
    from billing.tasks import lease_deposit_return, subscription_cancel

    if lease.stripe_subscription:
        subscription = lease.stripe_subscription
        transaction.on_commit(lambda: subscription_cancel.delay(subscription))
    if refund_deposit and lease.deposit:
        transaction.on_commit(lambda: lease_deposit_return.delay(lease.pk))


def lease_deposit_return(*, lease: Lease) -> None:
    payment = lease.order.payments.filter(
        kind=Payment.Kind.ORDER, status=Payment.Status.SUCCEEDED
    ).first()
    if payment is None or payment.refunds.filter(deposit=True).exists():
        return
    payment_refund(
        payment=payment,
        amount=min(lease.deposit, payment.amount),
        reason=_("Lease deposit returned."),
        by=None,
        deposit=True,
    )


def _lease_renew(lease: Lease) -> Lease:
    renewal = Lease.objects.create(
        order=lease.order,
        unit=lease.unit,
        vendor=lease.vendor,
        renewed_from=lease,
        status=LeaseStatus.ACTIVE,
        term_months=lease.term_months,
        monthly_fee=lease.monthly_fee,
        deposit=lease.deposit,
        buyout_price=lease.buyout_price,
        start_date=lease.end_date,
        end_date=add_months(lease.end_date, lease.term_months),
        stripe_subscription=lease.stripe_subscription,
    )
    first_status(renewal, by=None, reason=_("Renewal of the previous term."))
    status_change(lease, to=LeaseStatus.RENEWED, allowed_from={LeaseStatus.ENDING}, by=None)
    return renewal


@transaction.atomic
def leases_roll(*, today: date | None = None) -> dict:
    """Daily: leases near their end start ending (the unit is asked to choose); ending leases
    whose unit chose to renew start their next term on the end date."""
    from billing.tasks import billing_notify

    today = today or timezone.localdate()
    notice = today + timedelta(days=settings.LEASE_ENDING_NOTICE_DAYS)
    ending = 0
    for lease in Lease.objects.select_for_update(skip_locked=True).filter(
        status=LeaseStatus.ACTIVE, end_date__lte=notice
    ):
        status_change(
            lease,
            to=LeaseStatus.ENDING,
            allowed_from={LeaseStatus.ACTIVE},
            by=None,
            reason=_("The term ends on %(date)s.") % {"date": lease.end_date},
        )
        transaction.on_commit(lambda pk=lease.pk: billing_notify.delay("lease_ending", pk))
        ending += 1
    renewed = 0
    for lease in Lease.objects.select_for_update(skip_locked=True).filter(
        status=LeaseStatus.ENDING, end_date__lte=today, end_choice=Lease.Choice.RENEW
    ):
        _lease_renew(lease)
        renewed += 1
    return {"ending": ending, "renewed": renewed}


# Monitoring ------------------------------------------------------------------------------------


def monitoring_quantity_set(*, unit: Unit, solution: Solution, quantity: int):
    """Keep the unit's monitoring subscription for `solution` at `quantity` active devices:
    opened with the first, its quantity following activations and retirements, cancelled
    with the last. The devices layer calls this; the price is the one the unit bought at."""
    live = (
        MonitoringSubscription.objects.filter(unit=unit, solution=solution)
        .exclude(status=SubStatus.CANCELLED)
        .first()
    )
    if quantity < 0:
        raise ValidationError({"quantity": _("A count of devices cannot be negative.")})
    if live is None and quantity == 0:
        return None
    if live is None:
        return _monitoring_open(unit=unit, solution=solution, quantity=quantity)
    if quantity == 0:
        gateway.subscription_cancel(live.stripe_subscription)
        with transaction.atomic():
            return status_change(
                live,
                to=SubStatus.CANCELLED,
                allowed_from=set(SubStatus.values) - {SubStatus.CANCELLED},
                by=None,
                reason=_("No active devices left."),
                cancelled_at=timezone.now(),
                quantity=0,
            )
    if quantity != live.quantity:
        gateway.subscription_quantity_set(subscription=live.stripe_subscription, quantity=quantity)
        MonitoringSubscription.objects.filter(pk=live.pk).update(quantity=quantity)
        live.quantity = quantity
    return live


def _monitoring_open(*, unit: Unit, solution: Solution, quantity: int) -> MonitoringSubscription:
    order = (
        Order.objects.filter(unit=unit, revision__solution=solution, paid_at__isnull=False)
        .order_by("-paid_at")
        .first()
    )
    if order is None:
        raise ValidationError(_("This unit has not bought or leased this solution."))
    price = order.snapshot["monitoring_fee"]
    customer = customer_for(unit=unit)
    plan = _plan(
        reference=f"monitoring-revision-{order.revision_id}",
        name=f"{order.snapshot['name']} · monitoring",
        amount=price,
    )
    opened = MonitoringSubscription.objects.filter(unit=unit, solution=solution).count() + 1
    subscription = gateway.subscription_create(
        customer=customer.stripe_id,
        plan=plan,
        quantity=quantity,
        metadata={"unit": str(unit.public_id), "solution": str(solution.pk), "kind": "monitoring"},
        idempotency_key=f"monitoring-{unit.public_id}-{solution.pk}-{opened}",
        destination=order.vendor.stripe_account,
        commission_percent=_commission_percent(),
    )
    with transaction.atomic():
        live = MonitoringSubscription.objects.create(
            unit=unit,
            solution=solution,
            vendor=order.vendor,
            unit_price=price,
            quantity=quantity,
            stripe_subscription=subscription["id"],
        )
        first_status(live, by=None, reason=_("First active device."))
    # The first invoice is paid at creation; its webhook may have come before this row.
    if subscription.get("latest_invoice"):
        invoice_sync(invoice=gateway.id_of(subscription["latest_invoice"]))
    return live


# Invoices, subscription events and dunning ---------------------------------------------------


def _subscription_of(invoice: dict) -> str:
    parent = (invoice.get("parent") or {}).get("subscription_details") or {}
    return gateway.id_of(invoice.get("subscription")) or gateway.id_of(parent.get("subscription"))


def invoice_sync(*, invoice: str) -> Invoice | None:
    """Apply an invoice as Stripe has it now: record it, put a paid one in the vendor's
    ledger, and start or stop dunning."""
    from billing.tasks import billing_notify

    data = gateway.invoice_retrieve(invoice)
    subscription = _subscription_of(data)
    paid = data.get("status") == "paid"
    failure = ""
    if data.get("status") == "open" and data.get("attempted"):
        failure = gateway.invoice_error(data) or _("The payment failed.")
    with transaction.atomic():
        lease = _lease_for_subscription(subscription)
        monitoring = (
            MonitoringSubscription.objects.select_for_update()
            .filter(stripe_subscription=subscription)
            .first()
        )
        if lease is None and monitoring is None:
            return None
        owner = lease or monitoring
        transitions = data.get("status_transitions") or {}
        row, _created = Invoice.objects.update_or_create(
            stripe_invoice=data["id"],
            defaults={
                "unit": owner.unit,
                "vendor": owner.vendor,
                "lease": lease,
                "subscription": monitoring if lease is None else None,
                "status": data.get("status") or Invoice.Status.OPEN,
                "amount_due": data.get("amount_due") or 0,
                "amount_paid": data.get("amount_paid") or 0,
                "period_start": _from_timestamp(data.get("period_start")),
                "period_end": _from_timestamp(data.get("period_end")),
                "failure_message": failure[:300],
                "issued_at": _from_timestamp(data.get("created") or data.get("date"))
                or timezone.now(),
                "paid_at": _from_timestamp(transitions.get("paid_at")),
            },
        )
        if paid and row.amount_paid:
            ledger.income_record(
                vendor=owner.vendor,
                kind=ledger.Kind.LEASE_INSTALMENT if lease else ledger.Kind.MONITORING_FEE,
                amount=row.amount_paid,
                source=row.stripe_invoice,
                memo=row.stripe_invoice,
                occurred_at=row.paid_at or timezone.now(),
                lease=lease,
                subscription=monitoring if lease is None else None,
            )
        if lease is not None:
            if paid and lease.past_due_since:
                Lease.objects.filter(pk=lease.pk).update(past_due_since=None)
            elif failure and lease.status in Lease.RUNNING and not lease.past_due_since:
                Lease.objects.filter(pk=lease.pk).update(past_due_since=timezone.now())
                transaction.on_commit(lambda: billing_notify.delay("lease_past_due", lease.pk))
        elif paid and monitoring.status in {SubStatus.PAST_DUE, SubStatus.LAPSED}:
            status_change(
                monitoring,
                to=SubStatus.ACTIVE,
                allowed_from={SubStatus.PAST_DUE, SubStatus.LAPSED},
                by=None,
                reason=_("Invoice %(id)s paid.") % {"id": row.stripe_invoice},
                past_due_since=None,
            )
        elif failure and monitoring.status == SubStatus.ACTIVE:
            status_change(
                monitoring,
                to=SubStatus.PAST_DUE,
                allowed_from={SubStatus.ACTIVE},
                by=None,
                reason=failure,
                past_due_since=timezone.now(),
            )
            transaction.on_commit(
                lambda: billing_notify.delay("monitoring_past_due", monitoring.pk)
            )
    return row


def subscription_sync(*, subscription: str) -> None:
    """A Subscription created, updated or deleted at Stripe: apply its current state. Past
    due here or by the failed invoice (whichever Stripe sends first), the unit is told once."""
    from billing.tasks import billing_notify

    data = gateway.subscription_retrieve(subscription)
    status = data.get("status")
    with transaction.atomic():
        monitoring = (
            MonitoringSubscription.objects.select_for_update()
            .filter(stripe_subscription=data["id"])
            .first()
        )
        if monitoring is not None:
            if status == "canceled" and monitoring.status != SubStatus.CANCELLED:
                status_change(
                    monitoring,
                    to=SubStatus.CANCELLED,
                    allowed_from=set(SubStatus.values) - {SubStatus.CANCELLED},
                    by=None,
                    reason=_("Cancelled at Stripe."),
                    cancelled_at=timezone.now(),
                )
            elif status in ("past_due", "unpaid") and monitoring.status == SubStatus.ACTIVE:
                status_change(
                    monitoring,
                    to=SubStatus.PAST_DUE,
                    allowed_from={SubStatus.ACTIVE},
                    by=None,
                    reason=_("Stripe reports the subscription past due."),
                    past_due_since=timezone.now(),
                )
                transaction.on_commit(
                    lambda: billing_notify.delay("monitoring_past_due", monitoring.pk)
                )
            return
        lease = _lease_for_subscription(data["id"])
        if (
            lease is not None
            and status in ("past_due", "unpaid")
            and lease.status in Lease.RUNNING
            and not lease.past_due_since
        ):
            Lease.objects.filter(pk=lease.pk).update(past_due_since=timezone.now())
            transaction.on_commit(lambda: billing_notify.delay("lease_past_due", lease.pk))


@transaction.atomic
def dunning_sweep(*, now: datetime | None = None) -> dict:
    """Leases unpaid past their grace default; monitoring unpaid past its grace lapses. Both
    tell the unit and the vendor; neither touches alarm routing."""
    from billing.tasks import billing_notify

    now = now or timezone.now()
    defaulted = 0
    lease_cutoff = now - timedelta(days=settings.LEASE_DUNNING_GRACE_DAYS)
    for lease in Lease.objects.select_for_update(skip_locked=True).filter(
        status__in=Lease.RUNNING, past_due_since__lte=lease_cutoff
    ):
        status_change(
            lease,
            to=LeaseStatus.DEFAULTED,
            allowed_from=Lease.RUNNING,
            by=None,
            reason=ngettext(
                "Instalments unpaid for %(days)s day.",
                "Instalments unpaid for %(days)s days.",
                settings.LEASE_DUNNING_GRACE_DAYS,
            )
            % {"days": settings.LEASE_DUNNING_GRACE_DAYS},
        )
        _lease_close(lease, refund_deposit=False)
        transaction.on_commit(lambda pk=lease.pk: billing_notify.delay("lease_defaulted", pk))
        defaulted += 1
    lapsed = 0
    monitoring_cutoff = now - timedelta(days=settings.MONITORING_DUNNING_GRACE_DAYS)
    for subscription in MonitoringSubscription.objects.select_for_update(skip_locked=True).filter(
        status=SubStatus.PAST_DUE, past_due_since__lte=monitoring_cutoff
    ):
        status_change(
            subscription,
            to=SubStatus.LAPSED,
            allowed_from={SubStatus.PAST_DUE},
            by=None,
            reason=ngettext(
                "Monitoring fees unpaid for %(days)s day.",
                "Monitoring fees unpaid for %(days)s days.",
                settings.MONITORING_DUNNING_GRACE_DAYS,
            )
            % {"days": settings.MONITORING_DUNNING_GRACE_DAYS},
        )
        transaction.on_commit(
            lambda pk=subscription.pk: billing_notify.delay("monitoring_lapsed", pk)
        )
        lapsed += 1
    return {"defaulted": defaulted, "lapsed": lapsed}
