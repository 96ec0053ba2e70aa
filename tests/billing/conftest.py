"""Billing tests talk to localstripe, started by `make test` (scripts/stack.py) on a loopback
port of the run's own; webhooks come back to the live test server."""

import hashlib
import hmac
import json
import time

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from billing import gateway
from billing.models import Order, Payment
from billing.services import orders, payments

CARD_OK = "pm_card_visa"  # 4242 4242 4242 4242
CARD_DECLINED = "pm_card_visa_chargeDeclined"  # 4000 0000 0000 0002: refused when saved
CARD_CHARGE_FAILS = "pm_card_chargeCustomerFail"  # 4000 0000 0000 0341: saved, charges fail


@pytest.fixture(scope="session", autouse=True)
def _localstripe_running():
    if settings.STRIPE_API_BASE == "https://api.stripe.com":
        pytest.exit("Billing tests need localstripe: run them with `make test`.", returncode=2)


@pytest.fixture
def stripe_webhooks(live_server, transactional_db):
    """localstripe delivers its events to this test's live server (and, after the test, to
    nobody: later tests without this fixture must not receive events they did not cause)."""
    url = live_server.url + reverse("billing:stripe-webhook")
    gateway.localstripe_webhook_register(url)
    yield live_server
    gateway.localstripe_webhook_register(url, events=["safeunit.no-event"])


def wait_for(predicate, timeout=15.0, interval=0.2):
    """Webhooks arrive about a second after the change at localstripe."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def signed(event: dict, *, secret: str | None = None, at: int | None = None) -> dict:
    """Headers and body of a webhook delivery, signed as Stripe signs them."""
    body = json.dumps(event).encode()
    timestamp = int(time.time()) if at is None else at
    signature = hmac.new(
        (secret or settings.STRIPE_WEBHOOK_SECRET).encode(),
        f"{timestamp}.".encode() + body,
        hashlib.sha256,
    ).hexdigest()
    return {
        "data": body,
        "content_type": "application/json",
        "HTTP_STRIPE_SIGNATURE": f"t={timestamp},v1={signature}",
    }


def event(type_: str, obj: dict, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{time.monotonic_ns()}",
        "object": "event",
        "type": type_,
        "created": int(time.time()),
        "data": {"object": obj},
    }


@pytest.fixture
def purchase(certified, alice_unit, alice):
    """alice's placed order to buy vince's certified smoke kit (2 detectors for 60 m²)."""
    order = orders.order_create(unit=alice_unit, revision=certified, mode="purchase", by=alice)
    return orders.order_place(order=order, by=alice)


@pytest.fixture
def lease_order(certified, alice_unit, alice):
    order = orders.order_create(unit=alice_unit, revision=certified, mode="lease", by=alice)
    return orders.order_place(order=order, by=alice)


def zh(message: str, **params) -> str:
    """A message as billing's e-mails say it: in Chinese, the platform's language."""
    with translation.override("zh-hans"):
        return gettext(message) % params if params else gettext(message)


def order_paid(order: Order, by, payment_method: str = CARD_OK) -> Payment:
    """Pay the order by card and apply Stripe's answer as the webhook would (without
    waiting for it)."""
    payment = payments.order_pay(order=order, by=by, payment_method=payment_method)
    payment = payments.payment_intent_sync(payment_intent=payment.stripe_payment_intent)
    order.refresh_from_db()
    return payment


def stripe_card_set(unit, payment_method: str) -> None:
    """The unit changes its card at Stripe: later invoices are charged to this one."""
    gateway.customer_default_method_set(
        customer=unit.stripe_customer.stripe_id, payment_method=payment_method
    )


def stripe_invoice_next(subscription: str) -> dict:
    """Stripe's clock, in tests: the subscription's next monthly invoice, created and charged
    now to the customer's default card (localstripe bills only when asked)."""
    client = gateway.client()
    customer = client.v1.subscriptions.retrieve(subscription)["customer"]
    invoice = client.v1.invoices.create(params={"customer": customer, "subscription": subscription})
    return client.v1.invoices.pay(invoice.id).to_dict()


def stripe_subscription(subscription: str) -> dict:
    return gateway.client().v1.subscriptions.retrieve(subscription).to_dict()


def post_event(client, type_: str, obj: dict, event_id: str | None = None):
    """Deliver an event to the webhook endpoint, signed as Stripe signs it."""
    return client.post(reverse("billing:stripe-webhook"), **signed(event(type_, obj, event_id)))


@pytest.fixture
def paid_purchase(purchase, alice):
    order_paid(purchase, alice)
    return purchase


@pytest.fixture
def paid_lease(lease_order, alice):
    order_paid(lease_order, alice)
    return lease_order
