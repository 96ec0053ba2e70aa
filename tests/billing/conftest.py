"""Billing tests talk to localstripe, started by `make test` (scripts/stack.py) on a loopback
port of the run's own; webhooks come back to the live test server."""

import hashlib
import hmac
import json
import time

import pytest
from django.conf import settings
from django.urls import reverse

from billing import gateway
from billing.services import orders

CARD_OK = "pm_card_visa"  # 4242 4242 4242 4242
CARD_DECLINED = "pm_card_visa_chargeDeclined"  # 4000 0000 0000 0002: refused when saved
CARD_CHARGE_FAILS = "pm_card_chargeCustomerFail"  # 4000 0000 0000 0341: saved, charges fail


@pytest.fixture(scope="session", autouse=True)
def _localstripe_running():
    if settings.STRIPE_API_BASE == "https://api.stripe.com":
        pytest.exit("Billing tests need localstripe: run them with `make test`.", returncode=2)


@pytest.fixture
def stripe_webhooks(live_server, transactional_db):
    """localstripe delivers its events to this test's live server."""
    gateway.localstripe_webhook_register(live_server.url + reverse("billing:stripe-webhook"))
    return live_server


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
