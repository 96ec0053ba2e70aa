"""Thin Celery tasks: ids in, services called. Stripe calls that follow a commit (opening
and cancelling subscriptions, returning deposits) retry with backoff when Stripe is away."""

from celery import shared_task

from billing import gateway


def _retry(task, exc):
    return task.retry(exc=exc, countdown=30 * 2**task.request.retries)


@shared_task
def payments_reconcile() -> int:
    from billing.services.payments import payments_reconcile as reconcile

    return reconcile()


@shared_task
def dunning_sweep() -> dict:
    from billing.services.subscriptions import dunning_sweep as sweep

    return sweep()


@shared_task
def leases_roll() -> dict:
    from billing.services.subscriptions import leases_roll as roll

    return roll()


@shared_task(bind=True, max_retries=8)
def lease_subscription_open(self, lease_id: int) -> None:
    from billing.models import Lease
    from billing.services.subscriptions import lease_subscription_open as open_

    try:
        open_(lease=Lease.objects.select_related("order", "unit", "vendor").get(pk=lease_id))
    except gateway.GatewayError as exc:
        raise _retry(self, exc) from exc


@shared_task(bind=True, max_retries=8)
def subscription_cancel(self, subscription: str) -> None:
    try:
        gateway.subscription_cancel(subscription)
    except gateway.GatewayError as exc:
        raise _retry(self, exc) from exc


@shared_task(bind=True, max_retries=8)
def lease_deposit_return(self, lease_id: int) -> None:
    from django.core.exceptions import ValidationError

    from billing.models import Lease
    from billing.services.subscriptions import lease_deposit_return as deposit_return

    try:
        deposit_return(lease=Lease.objects.select_related("order").get(pk=lease_id))
    except ValidationError as exc:
        raise _retry(self, exc) from exc


@shared_task(bind=True, max_retries=8)
def payment_duplicate_refund(self, payment_id: int) -> None:
    from django.core.exceptions import ValidationError

    from billing.models import Payment
    from billing.services.payments import payment_duplicate_refund as refund

    try:
        refund(payment=Payment.objects.select_related("order").get(pk=payment_id))
    except ValidationError as exc:
        raise _retry(self, exc) from exc


@shared_task(bind=True, max_retries=5)
def order_paid_notify(self, order_id: int) -> None:
    from billing.notifications import order_paid_send

    try:
        order_paid_send(order_id=order_id)
    except OSError as exc:
        raise _retry(self, exc) from exc


@shared_task(bind=True, max_retries=5)
def billing_notify(self, kind: str, object_id: int) -> None:
    from billing.notifications import notice_send

    try:
        notice_send(kind=kind, object_id=object_id)
    except OSError as exc:
        raise _retry(self, exc) from exc


@shared_task(bind=True, max_retries=5)
def revision_buyers_notify(self, revision_id: int) -> None:
    """Sent by the marketplace (by name: it sits below billing) when a certificate is
    suspended, revoked or expires: units that bought the solution are told."""
    from billing.notifications import revision_buyers_send

    try:
        revision_buyers_send(revision_id=revision_id)
    except OSError as exc:
        raise _retry(self, exc) from exc
