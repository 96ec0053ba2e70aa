"""Stripe's webhooks: verified, stored once by event id, processed in a transaction.

The event only says *which* object changed; its state is fetched from Stripe again, because
events can arrive late, twice or out of order. So processing an event any number of times,
in any order, ends in the same state. A failed event keeps its error and is processed again
when Stripe retries it or by `manage.py billing_reprocess_events`.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import gateway
from billing.models import WebhookEvent
from billing.services.payments import payment_intent_sync
from billing.services.subscriptions import invoice_sync, subscription_sync

log = logging.getLogger(__name__)

HANDLERS = {
    "payment_intent.succeeded": lambda obj: payment_intent_sync(payment_intent=obj["id"]),
    "payment_intent.payment_failed": lambda obj: payment_intent_sync(payment_intent=obj["id"]),
    "payment_intent.canceled": lambda obj: payment_intent_sync(payment_intent=obj["id"]),
    "invoice.payment_succeeded": lambda obj: invoice_sync(invoice=obj["id"]),
    "invoice.payment_failed": lambda obj: invoice_sync(invoice=obj["id"]),
    "invoice.paid": lambda obj: invoice_sync(invoice=obj["id"]),
    "customer.subscription.created": lambda obj: subscription_sync(subscription=obj["id"]),
    "customer.subscription.updated": lambda obj: subscription_sync(subscription=obj["id"]),
    "customer.subscription.deleted": lambda obj: subscription_sync(subscription=obj["id"]),
}


def webhook_receive(*, payload: bytes, signature: str) -> WebhookEvent:
    """Verify and store the event (ValueError if the signature or body is bad), then process
    it unless it already was. Raises if processing failed, so that Stripe retries."""
    event = gateway.webhook_event(payload, signature)
    if not isinstance(event.get("id"), str) or not event["id"]:
        raise ValueError("The event has no id.")
    try:
        with transaction.atomic():
            stored = WebhookEvent.objects.create(
                stripe_event=event["id"], type=event.get("type", ""), payload=event
            )
    except IntegrityError:
        stored = WebhookEvent.objects.get(stripe_event=event["id"])
        if stored.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
            return stored  # a duplicate: answered 200, nothing done
    return webhook_process(event=stored)


def webhook_process(*, event: WebhookEvent) -> WebhookEvent:
    handler = HANDLERS.get(event.type)
    if handler is None:
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.IGNORED, processed_at=timezone.now()
        )
        event.status = WebhookEvent.Status.IGNORED
        return event
    obj = (event.payload.get("data") or {}).get("object") or {}
    try:
        with transaction.atomic():
            handler(obj)
            WebhookEvent.objects.filter(pk=event.pk).update(
                status=WebhookEvent.Status.PROCESSED,
                processed_at=timezone.now(),
                attempts=event.attempts + 1,
                error="",
            )
    except gateway.ObjectMissing as exc:
        # Stripe no longer has (or never had) the object: no retry can change that.
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.IGNORED,
            processed_at=timezone.now(),
            attempts=event.attempts + 1,
            error=repr(exc)[:2000],
        )
    except Exception as exc:
        log.exception("Stripe event %s failed", event.stripe_event)
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.FAILED, attempts=event.attempts + 1, error=repr(exc)[:2000]
        )
        raise
    event.refresh_from_db()
    return event


def webhooks_reprocess_failed(*, limit: int = 500) -> tuple[int, int]:
    """Process failed events again, oldest first: (processed now, still failing)."""
    done = failing = 0
    for event in WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).order_by(
        "received_at"
    )[:limit]:
        try:
            webhook_process(event=event)
            done += 1
        except Exception:
            failing += 1
    return done, failing
