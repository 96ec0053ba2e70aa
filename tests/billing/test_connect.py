"""Stripe Connect (destination charges), behind STRIPE_CONNECT_ENABLED. localstripe has no
Connect, so the requests the gateway would send are captured by a small local HTTP server
standing in for Stripe, and checked against Stripe's documented parameters."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from billing.models import Lease, StripeCustomer
from billing.services import orders, payments, subscriptions
from tests.billing.conftest import CARD_OK, order_paid

ACCOUNT = "acct_1VinceConnect"
CONNECT_KEYS = {
    "transfer_data[destination]",
    "on_behalf_of",
    "application_fee_amount",
    "application_fee_percent",
}


class _Stripe(BaseHTTPRequestHandler):
    """Answers every call with a minimal object of the kind asked for, and keeps each
    request: method, path, headers and the form-encoded parameters."""

    requests: list[dict]

    def _answer(self, params: dict) -> None:
        self.requests.append(
            {"method": self.command, "path": self.path, "headers": self.headers, "params": params}
        )
        parts = self.path.split("?")[0].strip("/").split("/")  # v1, kind[, id[, action]]
        kind = parts[1]
        prefixes = {
            "customers": "cus",
            "payment_methods": "pm",
            "payment_intents": "pi",
            "products": "prod",
            "plans": "plan",
            "subscriptions": "sub",
        }
        obj = {"id": parts[2] if len(parts) > 2 else f"{prefixes[kind]}_captured"}
        obj |= {"object": kind.rstrip("s"), "status": "processing", "metadata": {}}
        if kind == "payment_methods":
            obj |= {"customer": "cus_captured", "card": {"last4": "4242"}}
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._answer({})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        self._answer({key: values[0] for key, values in form.items()})

    def log_message(self, *args):
        pass


@pytest.fixture
def captured_stripe(settings):
    """settings.STRIPE_API_BASE points at the capturing server; yields its request list."""
    handler = type("Handler", (_Stripe,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    yield handler.requests
    server.shutdown()
    server.server_close()


def _sent(requests: list[dict], method: str, path: str) -> dict:
    (request,) = [r for r in requests if r["method"] == method and r["path"] == path]
    return request


@pytest.fixture
def connected_vendor(vendor):
    vendor.stripe_account = ACCOUNT
    vendor.save(update_fields=["stripe_account"])
    return vendor


@pytest.fixture
def customer_saved(purchase, alice):
    """The unit's Customer exists already (created at localstripe, before the switch)."""
    return payments.customer_for(unit=purchase.unit)


def test_with_connect_a_payment_is_a_destination_charge(
    connected_vendor, purchase, customer_saved, alice, settings, captured_stripe
):
    settings.STRIPE_CONNECT_ENABLED = True

    payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)

    sent = _sent(captured_stripe, "POST", "/v1/payment_intents")
    params = sent["params"]
    assert params["transfer_data[destination]"] == ACCOUNT
    assert params["on_behalf_of"] == ACCOUNT
    assert params["application_fee_amount"] == str(purchase.amount_due * 5 // 100)
    assert params["amount"] == str(purchase.amount_due) and params["currency"] == "cny"
    assert params["customer"] == customer_saved.stripe_id
    assert sent["headers"]["Idempotency-Key"] == (f"order-{purchase.public_id}-payment-1-{CARD_OK}")
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent["headers"]["Authorization"] == f"Bearer {settings.STRIPE_API_KEY}"


def test_with_connect_a_lease_deposit_is_not_commissioned(
    connected_vendor, lease_order, alice, settings, captured_stripe
):
    settings.STRIPE_CONNECT_ENABLED = True
    StripeCustomer.objects.create(unit=lease_order.unit, stripe_id="cus_captured")

    payments.order_pay(order=lease_order, by=alice, payment_method=CARD_OK)

    params = _sent(captured_stripe, "POST", "/v1/payment_intents")["params"]
    commissioned = lease_order.amount_due - lease_order.deposit_total
    assert params["application_fee_amount"] == str(commissioned * 5 // 100)
    assert params["amount"] == str(lease_order.amount_due)


@pytest.mark.parametrize("enabled, account", [(False, ACCOUNT), (True, "")])
def test_without_connect_a_payment_is_a_plain_charge(
    enabled, account, vendor, purchase, customer_saved, alice, settings, captured_stripe
):
    settings.STRIPE_CONNECT_ENABLED = enabled
    vendor.stripe_account = account
    vendor.save(update_fields=["stripe_account"])

    payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)

    sent = _sent(captured_stripe, "POST", "/v1/payment_intents")
    assert not CONNECT_KEYS & set(sent["params"])
    assert sent["params"]["amount"] == str(purchase.amount_due)
    assert sent["headers"]["Idempotency-Key"].startswith(f"order-{purchase.public_id}-")


@pytest.fixture
def delivered_lease(lease_order, alice, vince):
    """Paid and delivered at localstripe; its Subscription not opened yet."""
    order_paid(lease_order, alice)
    orders.order_prepare(order=lease_order, by=vince)
    orders.order_ship(order=lease_order, by=vince, carrier="SF", tracking_number="SF1")
    orders.order_deliver(order=lease_order, by=alice)
    return Lease.objects.get(order=lease_order)


@pytest.mark.parametrize("enabled", [True, False])
def test_a_lease_subscription_transfers_every_invoice_with_connect(
    enabled, connected_vendor, delivered_lease, settings, captured_stripe
):
    settings.STRIPE_CONNECT_ENABLED = enabled

    subscriptions.lease_subscription_open(lease=delivered_lease)

    sent = _sent(captured_stripe, "POST", "/v1/subscriptions")
    params = sent["params"]
    assert params["items[0][quantity]"] == str(delivered_lease.order.devices)
    assert sent["headers"]["Idempotency-Key"] == f"lease-{delivered_lease.public_id}-subscription"
    if enabled:
        assert params["transfer_data[destination]"] == ACCOUNT
        assert params["on_behalf_of"] == ACCOUNT
        assert float(params["application_fee_percent"]) == 5.0
    else:
        assert not CONNECT_KEYS & set(params)
    assert Lease.objects.get(pk=delivered_lease.pk).stripe_subscription == "sub_captured"
