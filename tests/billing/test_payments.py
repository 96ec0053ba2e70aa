"""Paying for an order through Stripe (localstripe): the card, the webhook that confirms it,
declines, duplicates, and the reconciliation that stands in for a lost webhook."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from billing import gateway
from billing.models import LedgerEntry, Order, Payment, StripeCustomer, WebhookEvent
from billing.services import orders, payments
from tests.billing.conftest import (
    CARD_CHARGE_FAILS,
    CARD_DECLINED,
    CARD_OK,
    order_paid,
    wait_for,
)
from tests.marketplace_fixtures import YUAN

Status = Order.Status
Kind = LedgerEntry.Kind

PRICE = 2 * (180 + 20) * YUAN  # two detectors for alice's 60 m² shop, installed
COMMISSION = PRICE * 5 // 100  # PLATFORM_COMMISSION_BPS = 500


def _mail_about(text: str):
    return next((message for message in mail.outbox if text in message.subject), None)


def _ledger(order: Order) -> list[tuple[str, int]]:
    return sorted(order.ledger.values_list("kind", "amount"))


@pytest.mark.celery
def test_a_card_payment_completes_the_order_through_the_webhook(
    stripe_webhooks, celery_worker, purchase, alice, vince
):
    assert purchase.amount_due == PRICE

    payment = payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)

    # Charged at Stripe, but the order is paid only when Stripe's event says so.
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT
    assert payment.status == Payment.Status.PROCESSING
    order = wait_for(
        lambda: Order.objects.filter(pk=purchase.pk, status=Status.PAID).first(), timeout=20
    )
    assert order.amount_paid == PRICE and order.paid_at is not None
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert WebhookEvent.objects.filter(
        type="payment_intent.succeeded",
        payload__data__object__id=payment.stripe_payment_intent,
        status=WebhookEvent.Status.PROCESSED,
    ).exists()
    assert _ledger(order) == sorted([(Kind.SALE, PRICE), (Kind.COMMISSION, -COMMISSION)])
    assert list(order.transitions.values_list("to_status", flat=True)) == [
        "draft",
        "awaiting_payment",
        "paid",
    ]
    # The vendor is told by e-mail (a real worker runs the notification after commit).
    message = wait_for(lambda: _mail_about(order.number), timeout=20)
    assert message.to == [vince.email]
    assert str(order.public_id) in message.body
    # The card is kept for the next instalments and fees.
    customer = StripeCustomer.objects.get(unit=order.unit)
    assert customer.default_payment_method == CARD_OK and customer.card_last4 == "4242"


def test_a_declined_card_leaves_the_order_awaiting_payment_with_the_reason(purchase, alice):
    with pytest.raises(ValidationError) as error:
        payments.order_pay(order=purchase, by=alice, payment_method=CARD_DECLINED)

    assert error.value.message_dict == {"payment_method": ["Your card was declined."]}
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT
    assert purchase.last_payment_error == "Your card was declined."
    assert not purchase.payments.exists()
    assert not purchase.ledger.exists()
    # A refused card never becomes the one instalments are charged to.
    assert StripeCustomer.objects.get(unit=purchase.unit).default_payment_method == ""


def test_a_charge_that_fails_leaves_the_order_awaiting_payment_and_its_webhook_agrees(
    stripe_webhooks, purchase, alice
):
    with pytest.raises(ValidationError) as error:
        payments.order_pay(order=purchase, by=alice, payment_method=CARD_CHARGE_FAILS)

    assert error.value.message_dict == {"payment_method": ["Your card was declined."]}
    # Stripe's payment_intent.payment_failed arrives afterwards: it records the failed
    # attempt and changes nothing else.
    failed = wait_for(
        lambda: Payment.objects.filter(order=purchase, status=Payment.Status.FAILED).first(),
        timeout=20,
    )
    assert failed.failure_message == "Your card was declined."
    assert (
        WebhookEvent.objects.get(
            type="payment_intent.payment_failed",
            payload__data__object__id=failed.stripe_payment_intent,
        ).status
        == WebhookEvent.Status.PROCESSED
    )
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT
    assert purchase.last_payment_error == "Your card was declined."
    assert purchase.amount_paid == 0 and not purchase.ledger.exists()
    assert StripeCustomer.objects.get(unit=purchase.unit).default_payment_method == ""

    # Another card then works, and clears the reason.
    payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)
    wait_for(lambda: Order.objects.get(pk=purchase.pk).status == Status.PAID, timeout=20)
    purchase.refresh_from_db()
    assert purchase.last_payment_error == ""
    assert purchase.amount_paid == PRICE


def test_a_card_from_a_setup_intent_pays_the_order(purchase, alice):
    setup = payments.payment_setup(order=purchase, by=alice)
    # What Stripe.js does in the browser with the client secret and the card typed in.
    gateway.client().v1.setup_intents.confirm(
        setup["setup_intent"], params={"payment_method": CARD_OK}
    )

    payment = payments.order_pay(order=purchase, by=alice, setup_intent=setup["setup_intent"])
    payments.payment_intent_sync(payment_intent=payment.stripe_payment_intent)

    purchase.refresh_from_db()
    assert purchase.status == Status.PAID
    customer = StripeCustomer.objects.get(unit=purchase.unit)
    assert customer.default_payment_method.startswith("pm_") and customer.card_last4 == "4242"


def test_a_card_declined_while_set_up_is_refused_by_name(purchase, alice):
    setup = payments.payment_setup(order=purchase, by=alice)
    with pytest.raises(gateway.stripe.CardError):
        gateway.client().v1.setup_intents.confirm(
            setup["setup_intent"], params={"payment_method": CARD_DECLINED}
        )

    with pytest.raises(ValidationError) as error:
        payments.order_pay(order=purchase, by=alice, setup_intent=setup["setup_intent"])

    assert list(error.value.message_dict) == ["setup_intent"]
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT
    assert purchase.last_payment_error


def test_a_setup_intent_of_another_unit_is_refused(
    purchase, alice, charlie, charlie_unit, certified
):
    other = orders.order_place(
        order=orders.order_create(
            unit=charlie_unit, revision=certified, mode="purchase", by=charlie
        ),
        by=charlie,
    )
    setup = payments.payment_setup(order=other, by=charlie)
    gateway.client().v1.setup_intents.confirm(
        setup["setup_intent"], params={"payment_method": CARD_OK}
    )

    with pytest.raises(ValidationError) as error:
        payments.order_pay(order=purchase, by=alice, setup_intent=setup["setup_intent"])

    assert list(error.value.message_dict) == ["setup_intent"]
    assert not purchase.payments.exists()


def test_an_unknown_card_is_refused_by_name(purchase, alice):
    with pytest.raises(ValidationError) as error:
        payments.order_pay(order=purchase, by=alice, payment_method="pm_does_not_exist")

    assert list(error.value.message_dict) == ["payment_method"]


def test_a_unit_cannot_pay_another_units_order(purchase, charlie, charlie_unit):
    with pytest.raises(PermissionDenied):
        payments.order_pay(order=purchase, by=charlie, payment_method=CARD_OK)
    with pytest.raises(PermissionDenied):
        payments.payment_setup(order=purchase, by=charlie)

    assert not purchase.payments.exists()
    assert not StripeCustomer.objects.filter(unit=purchase.unit).exists()


def test_a_viewer_cannot_pay(purchase, vera):
    with pytest.raises(PermissionDenied):
        payments.order_pay(order=purchase, by=vera, payment_method=CARD_OK)


def test_only_an_order_awaiting_payment_can_be_paid(certified, alice_unit, alice):
    draft = orders.order_create(unit=alice_unit, revision=certified, mode="purchase", by=alice)
    with pytest.raises(ValidationError):
        payments.order_pay(order=draft, by=alice, payment_method=CARD_OK)

    placed = orders.order_place(order=draft, by=alice)
    order_paid(placed, alice)
    with pytest.raises(ValidationError):
        payments.order_pay(order=placed, by=alice, payment_method=CARD_OK)
    assert placed.payments.count() == 1


def test_a_second_payment_waits_for_the_first(purchase, alice):
    payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)

    with pytest.raises(ValidationError):
        payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)
    with pytest.raises(ValidationError):
        orders.order_cancel(order=purchase, by=alice)

    assert purchase.payments.count() == 1


@pytest.mark.celery
def test_a_duplicate_payment_is_given_back_at_once(celery_worker, purchase, alice, vince):
    """Two tabs both charged the card before either answer was recorded: the second payment
    Stripe confirms finds the order paid and is refunded in full."""
    first = payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)
    # The other tab's request, as order_pay sends it.
    second_intent = gateway.payment_intent_create(
        amount=PRICE,
        customer=purchase.unit.stripe_customer.stripe_id,
        payment_method=CARD_OK,
        metadata={"order": str(purchase.public_id), "number": purchase.number, "kind": "order"},
        idempotency_key=f"test-second-tab-{purchase.public_id}",
    )

    payments.payment_intent_sync(payment_intent=first.stripe_payment_intent)
    second = payments.payment_intent_sync(payment_intent=second_intent["id"])

    assert second.status == Payment.Status.SUCCEEDED and second.pk != first.pk
    refund = wait_for(lambda: second.refunds.first(), timeout=20)
    assert refund.amount == PRICE and refund.by is None
    purchase.refresh_from_db()
    assert purchase.status == Status.PAID
    assert (purchase.amount_paid, purchase.amount_refunded) == (2 * PRICE, PRICE)
    assert sum(purchase.ledger.values_list("amount", flat=True)) == PRICE - COMMISSION
    charge = gateway.payment_intent_retrieve(second_intent["id"])["latest_charge"]
    assert charge["amount_refunded"] == PRICE
    # The order's own payment is still there to refund.
    payments.order_refund(order=purchase, by=vince, amount=10 * YUAN, reason="Scratched")
    assert first.refunds.get().amount == 10 * YUAN


def test_reconcile_confirms_a_payment_whose_webhook_was_lost(purchase, alice):
    payment = payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)

    # A payment younger than the threshold is left to its webhook.
    assert payments.payments_reconcile() == 0
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PROCESSING

    assert payments.payments_reconcile(older_than_s=0) == 1

    purchase.refresh_from_db()
    assert purchase.status == Status.PAID and purchase.amount_paid == PRICE
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SUCCEEDED
    assert _ledger(purchase) == sorted([(Kind.SALE, PRICE), (Kind.COMMISSION, -COMMISSION)])
    # Nothing left to ask about.
    assert payments.payments_reconcile(older_than_s=0) == 0


def test_reconcile_stops_when_stripe_is_away(purchase, alice, settings):
    payment = payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    assert payments.payments_reconcile(older_than_s=0) == 0

    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PROCESSING
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT


def test_a_payment_abandoned_at_3d_secure_is_cancelled_and_frees_the_order(purchase, alice):
    needs_3ds = gateway.client().v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    payment = payments.order_pay(order=purchase, by=alice, payment_method=needs_3ds.id)
    intent = gateway.payment_intent_retrieve(payment.stripe_payment_intent)
    assert intent["status"] == "requires_action"

    # Within the hour the payer may still be confirming: left alone.
    assert payments.payments_reconcile(older_than_s=0) == 1
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PROCESSING
    with pytest.raises(ValidationError):
        payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)

    with time_machine.travel(timedelta(hours=1, minutes=1)):
        assert payments.payments_reconcile() == 1

    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    intent = gateway.payment_intent_retrieve(payment.stripe_payment_intent)
    assert intent["status"] == "canceled"
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT and purchase.last_payment_error
    # The order can be paid again (or cancelled).
    order_paid(purchase, alice)
    assert purchase.status == Status.PAID


def test_a_payment_stripe_has_no_record_of_is_failed(purchase, alice):
    payments.customer_for(unit=purchase.unit)
    lost = Payment.objects.create(
        order=purchase,
        stripe_payment_intent="pi_from_a_stripe_since_reset",
        amount=PRICE,
        commissionable=PRICE,
        created_at=timezone.now() - timedelta(minutes=5),
    )

    assert payments.payments_reconcile() == 1

    lost.refresh_from_db()
    assert lost.status == Payment.Status.FAILED
    assert lost.failure_message == "Stripe has no record of this payment."
    order_paid(purchase, alice)
    assert purchase.status == Status.PAID


def test_a_customer_that_stripe_forgot_is_made_again(purchase, alice):
    """The demo's localstripe starts empty at each `make run`; our database remembers."""
    StripeCustomer.objects.create(unit=purchase.unit, stripe_id="cus_forgotten")
    setup = payments.payment_setup(order=purchase, by=alice)

    customer = StripeCustomer.objects.get(unit=purchase.unit)
    assert customer.stripe_id != "cus_forgotten"
    assert setup["client_secret"]
