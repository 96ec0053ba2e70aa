"""Stripe's webhooks: signed, stored once by event id, processed by fetching the object again,
so that duplicates and events out of order converge; failures are processed again later."""

import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from billing import gateway
from billing.models import LedgerEntry, Order, Payment, WebhookEvent
from billing.services import payments
from tests.billing.conftest import CARD_OK, event, post_event, signed

Status = Order.Status
URL = reverse("billing:stripe-webhook")


@pytest.fixture
def charged(purchase, alice):
    """alice's card is charged; Stripe's event has not been delivered yet."""
    return payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)


def test_a_failed_event_after_the_succeeded_one_leaves_the_order_paid(client, charged, purchase):
    intent = {"id": charged.stripe_payment_intent, "object": "payment_intent"}

    assert post_event(client, "payment_intent.succeeded", intent, "evt_ok").status_code == 200
    ledger_rows = LedgerEntry.objects.count()
    assert post_event(client, "payment_intent.payment_failed", intent, "evt_ko").status_code == 200

    purchase.refresh_from_db()
    assert purchase.status == Status.PAID and purchase.last_payment_error == ""
    charged.refresh_from_db()
    assert charged.status == Payment.Status.SUCCEEDED
    assert LedgerEntry.objects.count() == ledger_rows == 2
    events = WebhookEvent.objects.filter(stripe_event__in=["evt_ok", "evt_ko"])
    assert sorted(events.values_list("status", flat=True)) == ["processed", "processed"]


def test_the_failed_event_arriving_first_does_not_hide_the_success(client, charged, purchase):
    """Events arrive out of order: whatever the event says, Stripe's current state wins."""
    intent = {"id": charged.stripe_payment_intent, "object": "payment_intent"}

    post_event(client, "payment_intent.payment_failed", intent)

    purchase.refresh_from_db()
    assert purchase.status == Status.PAID


def test_the_same_event_twice_is_stored_and_processed_once(client, charged, purchase):
    intent = {"id": charged.stripe_payment_intent, "object": "payment_intent"}

    first = post_event(client, "payment_intent.succeeded", intent, event_id="evt_once")
    ledger_rows = LedgerEntry.objects.count()
    transitions = purchase.transitions.count()
    second = post_event(client, "payment_intent.succeeded", intent, event_id="evt_once")

    assert first.status_code == second.status_code == 200
    stored = WebhookEvent.objects.get(stripe_event="evt_once")
    assert stored.status == WebhookEvent.Status.PROCESSED and stored.attempts == 1
    assert LedgerEntry.objects.count() == ledger_rows == 2
    assert purchase.transitions.count() == transitions
    purchase.refresh_from_db()
    assert purchase.amount_paid == purchase.amount_due


def test_an_event_for_a_payment_intent_stripe_does_not_have_is_stored_and_ignored(client, db):
    response = post_event(client, "payment_intent.succeeded", {"id": "pi_nowhere"}, "evt_x")

    assert response.status_code == 200
    stored = WebhookEvent.objects.get(stripe_event="evt_x")
    assert stored.status == WebhookEvent.Status.IGNORED
    assert stored.error  # kept for whoever looks
    assert not Payment.objects.exists()


def test_an_event_for_someone_elses_payment_intent_changes_nothing(client, purchase, alice):
    """A PaymentIntent at Stripe that is not one of ours (no order in its metadata)."""
    customer = payments.customer_for(unit=purchase.unit)
    foreign = gateway.payment_intent_create(
        amount=100,
        customer=customer.stripe_id,
        payment_method=CARD_OK,
        metadata={},
        idempotency_key="test-foreign-intent",
    )

    response = post_event(client, "payment_intent.succeeded", {"id": foreign["id"]}, "evt_f")

    assert response.status_code == 200
    assert WebhookEvent.objects.get(stripe_event="evt_f").status == WebhookEvent.Status.PROCESSED
    assert not Payment.objects.exists()
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT


def test_an_event_type_we_do_not_handle_is_stored_and_ignored(client, db):
    response = post_event(client, "customer.created", {"id": "cus_whoever"}, "evt_c")

    assert response.status_code == 200
    assert WebhookEvent.objects.get(stripe_event="evt_c").status == WebhookEvent.Status.IGNORED


def test_a_forged_signature_is_refused_and_nothing_is_stored(client, charged, purchase):
    body = event("payment_intent.succeeded", {"id": charged.stripe_payment_intent}, "evt_forged")

    response = client.post(URL, **signed(body, secret="whsec_someone_else"))

    assert response.status_code == 400
    assert not WebhookEvent.objects.filter(stripe_event="evt_forged").exists()
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT


def test_an_event_signed_too_long_ago_is_refused(client, charged, purchase):
    body = event("payment_intent.succeeded", {"id": charged.stripe_payment_intent}, "evt_old")

    response = client.post(URL, **signed(body, at=int(time.time()) - 301))

    assert response.status_code == 400
    assert not WebhookEvent.objects.filter(stripe_event="evt_old").exists()
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT
    # Within the tolerance, the same event is accepted.
    assert client.post(URL, **signed(body, at=int(time.time()) - 200)).status_code == 200


def test_a_malformed_body_is_refused(client, db):
    garbage = signed({"id": "evt_garbage"})
    garbage["data"] = b"{not json"
    unsigned = {"data": b"{}", "content_type": "application/json"}
    without_id = signed({"object": "event", "type": "payment_intent.succeeded"})

    assert client.post(URL, **garbage).status_code == 400
    assert client.post(URL, **unsigned).status_code == 400
    assert client.post(URL, **without_id).status_code == 400
    assert client.get(URL).status_code == 405
    assert not WebhookEvent.objects.filter(stripe_event="evt_garbage").exists()
    assert not WebhookEvent.objects.filter(type="payment_intent.succeeded").exists()


def test_an_event_that_failed_is_processed_again_by_the_command(
    client, charged, purchase, settings, capsys
):
    """Stripe was unreachable while the event was processed: it is kept as failed, answered
    500 (so that Stripe retries), and the management command finishes the job later."""
    intent = {"id": charged.stripe_payment_intent, "object": "payment_intent"}
    stripe_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    response = post_event(client, "payment_intent.succeeded", intent, event_id="evt_retry")

    assert response.status_code == 500
    stored = WebhookEvent.objects.get(stripe_event="evt_retry")
    assert stored.status == WebhookEvent.Status.FAILED and stored.attempts == 1
    assert stored.error
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT

    # Still away: the command says so and exits non-zero (for cron or the operator).
    with pytest.raises(SystemExit):
        call_command("billing_reprocess_events")
    assert "0 failed events; 1 still failing" in capsys.readouterr().out

    settings.STRIPE_API_BASE = stripe_base
    call_command("billing_reprocess_events")

    assert "processed 1 failed events; 0 still failing" in capsys.readouterr().out
    stored.refresh_from_db()
    assert stored.status == WebhookEvent.Status.PROCESSED and stored.error == ""
    assert stored.attempts == 3
    purchase.refresh_from_db()
    assert purchase.status == Status.PAID
    # Stripe's own retry of the same event is now a duplicate that changes nothing.
    assert post_event(client, "payment_intent.succeeded", intent, "evt_retry").status_code == 200
    stored.refresh_from_db()
    assert stored.attempts == 3


def test_stripe_retrying_a_failed_event_processes_it(client, charged, purchase, settings):
    intent = {"id": charged.stripe_payment_intent, "object": "payment_intent"}
    stripe_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    assert post_event(client, "payment_intent.succeeded", intent, "evt_again").status_code == 500
    settings.STRIPE_API_BASE = stripe_base

    assert post_event(client, "payment_intent.succeeded", intent, "evt_again").status_code == 200

    stored = WebhookEvent.objects.get(stripe_event="evt_again")
    assert stored.status == WebhookEvent.Status.PROCESSED and stored.attempts == 2
    purchase.refresh_from_db()
    assert purchase.status == Status.PAID
