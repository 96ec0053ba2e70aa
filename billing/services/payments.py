"""Paying for orders through Stripe, and refunds.

The browser (or an integrator) collects the card with Stripe.js against a SetupIntent, so the
card stays on the unit's Customer for lease instalments and monitoring fees; the server then
charges it with a PaymentIntent. The order becomes paid only when Stripe says so: by the
webhook, or by `payments_reconcile` if a webhook is lost. Either way the PaymentIntent is
fetched from Stripe and its current state applied, so duplicate or out-of-order events
converge on the same result.
"""

import contextlib
import logging
import uuid
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record, membership_require
from billing import gateway
from billing.models import Lease, Order, Payment, Refund, StripeCustomer
from billing.services import ledger
from billing.services.common import commission_of, first_status, status_change
from marketplace.templatetags.money import yuan
from units.models import Unit

Status = Order.Status
log = logging.getLogger(__name__)


def customer_for(*, unit: Unit, email: str = "", verify: bool = False) -> StripeCustomer:
    """The unit's Stripe Customer, created once (the idempotency key makes a retry or a race
    get the same one). With `verify`, a Customer that Stripe no longer has is made again:
    the demo's localstripe starts empty at every `make run` while our database remembers."""
    existing = StripeCustomer.objects.filter(unit=unit).first()
    if existing is not None:
        if not verify:
            return existing
        try:
            gateway.customer_retrieve(existing.stripe_id)
            return existing
        except gateway.ObjectMissing:
            pass
    data = gateway.customer_create(
        name=unit.name,
        email=email,
        unit_ref=str(unit.public_id),
        idempotency_key=f"unit-{unit.public_id}-customer"
        + (f"-{uuid.uuid4().hex}" if existing else ""),
    )
    if existing is not None:
        StripeCustomer.objects.filter(pk=existing.pk).update(
            stripe_id=data["id"], default_payment_method="", card_last4=""
        )
        existing.refresh_from_db()
        return existing
    customer, _created = StripeCustomer.objects.get_or_create(
        unit=unit, defaults={"stripe_id": data["id"]}
    )
    return customer


def _payable(order: Order, by: User) -> None:
    membership_require(organisation=order.unit.organisation, user=by, manage=False)
    if order.status != Status.AWAITING_PAYMENT:
        raise ValidationError(
            _("Only an order awaiting payment can be paid; this one is %(status)s.")
            % {"status": order.get_status_display()}
        )


def payment_setup(*, order: Order, by: User) -> dict:
    """A SetupIntent's client secret for Stripe.js to collect the card."""
    _payable(order, by)
    customer = customer_for(unit=order.unit, email=by.email, verify=True)
    intent = gateway.setup_intent_create(
        customer=customer.stripe_id,
        idempotency_key=f"order-{order.public_id}-setup-{uuid.uuid4().hex}",
    )
    return {"setup_intent": intent["id"], "client_secret": intent["client_secret"]}


def _record_failure(order: Order, message: str) -> None:
    """Kept even though the caller then raises: the unit must see why it failed."""
    Order.objects.filter(pk=order.pk, status=Status.AWAITING_PAYMENT).update(
        last_payment_error=message[:300]
    )
    order.last_payment_error = message[:300]


def _amounts(order: Order) -> dict:
    deposit = order.deposit_total if order.is_lease else 0
    return {
        "amount": order.amount_due,
        "deposit": deposit,
        "commissionable": order.amount_due - deposit,
    }


def order_pay(
    *, order: Order, by: User, payment_method: str = "", setup_intent: str = ""
) -> Payment:
    """Charge the order's amount due with the card from a confirmed SetupIntent (the payment
    page) or a PaymentMethod id (the API). A decline leaves the order awaiting payment, with
    Stripe's reason on it, and raises ValidationError naming the field."""
    _payable(order, by)
    if order.payments.filter(status=Payment.Status.PROCESSING).exists():
        raise ValidationError(_("A payment for this order is already being processed."))
    customer = customer_for(unit=order.unit, email=by.email, verify=True)
    field = "setup_intent" if setup_intent else "payment_method"
    try:
        if setup_intent:
            intent = gateway.setup_intent_retrieve(setup_intent)
            if gateway.id_of(intent.get("customer")) != customer.stripe_id:
                raise ValidationError({field: _("This card was not set up for this unit.")})
            if intent.get("status") != "succeeded":
                error = (intent.get("last_setup_error") or {}).get("message")
                message = error or _("The card was declined.")
                _record_failure(order, message)
                raise ValidationError({field: message})
            payment_method = gateway.id_of(intent.get("payment_method"))
        if not payment_method:
            raise ValidationError({field: _("Enter a card to pay with.")})
        method = gateway.payment_method_attach(
            payment_method=payment_method, customer=customer.stripe_id
        )
        amounts = _amounts(order)
        attempt = order.payments.count() + 1
        intent = gateway.payment_intent_create(
            amount=amounts["amount"],
            customer=customer.stripe_id,
            payment_method=payment_method,
            metadata={"order": str(order.public_id), "number": order.number, "kind": "order"},
            # A declined attempt leaves no row behind, so the card is part of the key: a
            # retry with another card is a new request, a double click is the same one.
            idempotency_key=f"order-{order.public_id}-payment-{attempt}-{payment_method}",
            destination=order.vendor.stripe_account,
            application_fee=commission_of(amounts["commissionable"]),
        )
    except gateway.PaymentDeclined as exc:
        _record_failure(order, exc.message)
        raise ValidationError({field: exc.message}) from exc
    except gateway.ObjectMissing as exc:
        raise ValidationError({field: _("This card is not known; enter it again.")}) from exc
    except gateway.GatewayError as exc:
        raise ValidationError(
            {field: _("The payment service did not answer; nothing was charged. Try again.")}
        ) from exc
    payment, _created = Payment.objects.get_or_create(
        stripe_payment_intent=intent["id"], defaults={"order": order, **amounts}
    )
    Order.objects.filter(pk=order.pk).update(last_payment_error="")
    # Only a card that was accepted becomes the one instalments and fees are charged to.
    # The charge is made: Stripe failing here must not make it look as if it were not.
    try:
        gateway.customer_default_method_set(
            customer=customer.stripe_id, payment_method=payment_method
        )
    except gateway.GatewayError:
        log.warning("Default card of %s not updated", customer.stripe_id, exc_info=True)
    else:
        StripeCustomer.objects.filter(pk=customer.pk).update(
            default_payment_method=payment_method,
            card_last4=(method.get("card") or {}).get("last4", ""),
        )
    audit_record(
        actor=by,
        action="order.pay",
        target=order,
        organisation=order.unit.organisation,
        changes={"payment_intent": intent["id"], "amount": amounts["amount"]},
    )
    return payment


def _payment_from_metadata(intent: dict) -> Payment | None:
    """A PaymentIntent we have no row for (the process stopped between Stripe's answer and our
    insert, or it was declined at once): find its order, or lease, by the metadata we sent."""
    metadata = intent.get("metadata") or {}
    order = Order.objects.filter(public_id=metadata.get("order") or None).first()
    if order is None:
        return None
    if metadata.get("kind") == "order":
        defaults = {"order": order, **_amounts(order), "amount": intent["amount"]}
    elif metadata.get("kind") == "buyout":
        lease = order.leases.filter(public_id=metadata.get("lease") or None).first()
        if lease is None:
            return None
        defaults = {
            "order": order,
            "lease": lease,
            "kind": Payment.Kind.BUYOUT,
            "amount": intent["amount"],
            "commissionable": intent["amount"],
        }
    else:
        return None
    payment, _created = Payment.objects.get_or_create(
        stripe_payment_intent=intent["id"], defaults=defaults
    )
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("order", "lease")
        .get(pk=payment.pk)
    )


def payment_intent_sync(*, payment_intent: str) -> Payment | None:
    """Apply the PaymentIntent's state as Stripe has it now."""
    intent = gateway.payment_intent_retrieve(payment_intent)
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("order__vendor", "order__unit__organisation", "lease")
            .filter(stripe_payment_intent=intent["id"])
            .first()
        ) or _payment_from_metadata(intent)
        if payment is None:
            return None
        status = intent.get("status")
        if status == "succeeded" and payment.status != Payment.Status.SUCCEEDED:
            _payment_succeeded(payment, intent)
        elif status in ("requires_payment_method", "canceled") and (
            payment.status == Payment.Status.PROCESSING
        ):
            message = gateway.payment_error(intent) or _("The payment was cancelled.")
            payment.status = Payment.Status.FAILED
            payment.failure_message = message[:300]
            payment.save(update_fields=["status", "failure_message"])
            if payment.kind == Payment.Kind.ORDER:
                _record_failure(payment.order, message)
    return payment


def _payment_succeeded(payment: Payment, intent: dict) -> None:
    from billing.services.subscriptions import lease_bought_out
    from billing.tasks import order_paid_notify
    from billing.tasks import payment_duplicate_refund as payment_duplicate_refund_task

    now = timezone.now()
    payment.status = Payment.Status.SUCCEEDED
    payment.succeeded_at = now
    payment.failure_message = ""
    payment.save(update_fields=["status", "succeeded_at", "failure_message"])
    source = gateway.id_of(intent.get("latest_charge")) or intent["id"]
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    Order.objects.filter(pk=order.pk).update(amount_paid=F("amount_paid") + payment.amount)
    order.refresh_from_db()
    ledger.payment_income_record(payment, source=source)
    if payment.kind == Payment.Kind.BUYOUT:
        lease_bought_out(lease=payment.lease, payment=payment)
        return
    if order.status != Status.AWAITING_PAYMENT:
        # Paid twice (two tabs), or after it was cancelled: give this payment back at once
        # (a task, so that Stripe being away delays the refund instead of losing it).
        transaction.on_commit(lambda: payment_duplicate_refund_task.delay(payment.pk))
        return
    status_change(
        order,
        to=Status.PAID,
        allowed_from={Status.AWAITING_PAYMENT},
        by=None,
        reason=_("Payment %(id)s succeeded.") % {"id": intent["id"]},
        paid_at=now,
        last_payment_error="",
    )
    if order.is_lease:
        lease = Lease.objects.create(
            order=order,
            unit=order.unit,
            vendor=order.vendor,
            term_months=order.lease_term_months,
            monthly_fee=order.lease_monthly_total,
            deposit=order.deposit_total,
            buyout_price=order.lease_buyout_total,
        )
        first_status(lease, by=None, reason=_("Waiting for delivery."))
    transaction.on_commit(lambda: order_paid_notify.delay(order.pk))


def _refunded(payment: Payment) -> int:
    return payment.refunds.aggregate(total=Sum("amount"))["total"] or 0


def payment_duplicate_refund(*, payment: Payment) -> Refund | None:
    """Give back a payment that arrived after its order was already paid or cancelled: all
    of it that is not refunded yet (so running it again does nothing)."""
    remaining = payment.amount - _refunded(payment)
    if payment.status != Payment.Status.SUCCEEDED or remaining <= 0:
        return None
    return payment_refund(
        payment=payment,
        amount=remaining,
        reason=_("Duplicate payment, returned automatically."),
        by=None,
    )


def payment_refund(
    *, payment: Payment, amount: int, reason: str, by: User | None, deposit: bool = False
) -> Refund:
    """Refund part or all of a payment at Stripe and record it (order totals, ledger). The
    order row is locked meanwhile, so two refunds at once cannot exceed what was paid."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=payment.order_id)
        already = _refunded(payment)
        errors = {}
        if amount <= 0:
            errors["amount"] = _("Enter an amount above zero.")
        elif amount > payment.amount - already:
            errors["amount"] = _("At most %(max)s of this payment can still be refunded.") % {
                "max": yuan(payment.amount - already)
            }
        if not reason.strip():
            errors["reason"] = _("Give the reason for the refund.")
        if errors:
            raise ValidationError(errors)
        try:
            data = gateway.refund_create(
                payment_intent=payment.stripe_payment_intent,
                amount=amount,
                reason=reason,
                idempotency_key=f"payment-{payment.pk}-refund-{payment.refunds.count() + 1}",
            )
        except (gateway.PaymentDeclined, gateway.GatewayError) as exc:
            raise ValidationError({"amount": str(exc)}) from exc
        refund = Refund.objects.create(
            order=order,
            payment=payment,
            stripe_refund=data["id"],
            amount=amount,
            deposit=deposit,
            reason=reason.strip()[:300],
            by=by,
        )
        Order.objects.filter(pk=order.pk).update(amount_refunded=F("amount_refunded") + amount)
        order.refresh_from_db()
        ledger.refund_reversal_record(refund)
        if order.amount_refunded == order.amount_paid and order.status in Order.PAID_STATES:
            status_change(
                order, to=Status.REFUNDED, allowed_from=Order.PAID_STATES, by=by, reason=reason
            )
            for lease in order.leases.filter(status=Lease.Status.PENDING):
                status_change(
                    lease,
                    to=Lease.Status.RETURNED,
                    allowed_from={Lease.Status.PENDING},
                    by=by,
                    reason=_("The order was refunded before delivery."),
                )
        audit_record(
            actor=by,
            action="order.refund",
            target=order,
            organisation=order.vendor.organisation,
            changes={"refund": data["id"], "amount": amount, "reason": reason},
        )
    return refund


def order_refund(*, order: Order, by: User, amount: int, reason: str) -> Refund:
    """A vendor refunds all or part of what the unit paid for the order."""
    membership_require(organisation=order.vendor.organisation, user=by, manage=True)
    if order.status not in Order.PAID_STATES:
        raise ValidationError(_("Only a paid order can be refunded."))
    # The order's payment that still has money to give back (a duplicate payment that was
    # returned automatically has none).
    payment = (
        order.payments.filter(kind=Payment.Kind.ORDER, status=Payment.Status.SUCCEEDED)
        .annotate(refunded=Coalesce(Sum("refunds__amount"), 0))
        .filter(amount__gt=F("refunded"))
        .order_by("created_at")
        .first()
    )
    if payment is None:
        raise ValidationError(_("This order has no captured payment to refund."))
    return payment_refund(payment=payment, amount=amount, reason=reason, by=by)


# A payment left waiting for the payer (3-D Secure abandoned, a wallet never confirmed)
# would keep its order from being paid or cancelled: after this long it is cancelled.
ABANDONED_AFTER = timedelta(hours=1)


def payments_reconcile(*, older_than_s: int = 60) -> int:
    """Ask Stripe about payments still processing after a minute (a lost webhook), and
    cancel those the payer abandoned. Returns how many were looked at."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_s)
    count = 0
    for intent, created_at in Payment.objects.filter(
        status=Payment.Status.PROCESSING, created_at__lt=cutoff
    ).values_list("stripe_payment_intent", "created_at")[:200]:
        try:
            payment = payment_intent_sync(payment_intent=intent)
            if (
                payment is not None
                and payment.status == Payment.Status.PROCESSING
                and created_at < now - ABANDONED_AFTER
            ):
                with contextlib.suppress(gateway.GatewayError):  # it may have moved on
                    gateway.payment_intent_cancel(intent)
                payment_intent_sync(payment_intent=intent)
        except gateway.ObjectMissing:
            # Stripe has no such PaymentIntent (another account, a test Stripe that was
            # reset): it can never succeed. Should it ever, its webhook still applies.
            Payment.objects.filter(
                stripe_payment_intent=intent, status=Payment.Status.PROCESSING
            ).update(
                status=Payment.Status.FAILED,
                failure_message=_("Stripe has no record of this payment."),
            )
        except gateway.GatewayError:
            break  # Stripe is unreachable; the next run tries again
        count += 1
    return count
