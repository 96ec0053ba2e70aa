"""The one module that talks to Stripe (the official `stripe` library).

Everything else in SafeUnit calls these functions and gets plain dicts back, so Stripe's
objects never leak into services or templates. Every create carries an idempotency key;
amounts are fen, currency CNY. Where the configured Stripe is localstripe (the demo and the
tests), the same calls go to it through `STRIPE_API_BASE`.
"""

import json
import urllib.request
from functools import cache

import stripe
from django.conf import settings

from billing import connect

CURRENCY = "cny"


class PaymentDeclined(Exception):
    """The card (or other method) was refused; `message` is Stripe's, fit to show the payer."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code


class GatewayError(Exception):
    """Stripe could not be reached or refused the request for another reason."""


class ObjectMissing(GatewayError):
    """Stripe has no such object (404): asking again will not make it appear."""


@cache
def _client_for(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=2)


def client() -> stripe.StripeClient:
    return _client_for(settings.STRIPE_API_KEY, settings.STRIPE_API_BASE)


def _call(fn, *args, **kwargs) -> dict:
    try:
        return fn(*args, **kwargs).to_dict()
    except stripe.CardError as exc:
        raise PaymentDeclined(exc.user_message or str(exc), exc.code or "") from exc
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            raise ObjectMissing(exc.user_message or str(exc)) from exc
        raise GatewayError(exc.user_message or str(exc)) from exc
    except stripe.StripeError as exc:
        raise GatewayError(exc.user_message or str(exc)) from exc


def _options(idempotency_key: str | None) -> dict:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


# Customers and cards ------------------------------------------------------------------------


def customer_create(*, name: str, email: str, unit_ref: str, idempotency_key: str) -> dict:
    return _call(
        client().v1.customers.create,
        params={"name": name, "email": email, "metadata": {"unit": unit_ref}},
        options=_options(idempotency_key),
    )


def customer_retrieve(customer: str) -> dict:
    return _call(client().v1.customers.retrieve, customer)


def setup_intent_create(*, customer: str, idempotency_key: str) -> dict:
    """For Stripe.js to collect a card and keep it on the customer for later instalments."""
    return _call(
        client().v1.setup_intents.create,
        params={"customer": customer, "usage": "off_session", "payment_method_types": ["card"]},
        options=_options(idempotency_key),
    )


def setup_intent_retrieve(setup_intent: str) -> dict:
    return _call(client().v1.setup_intents.retrieve, setup_intent)


def payment_method_retrieve(payment_method: str) -> dict:
    return _call(client().v1.payment_methods.retrieve, payment_method)


def payment_method_attach(*, payment_method: str, customer: str) -> dict:
    """Keep the method on the customer (Stripe checks the card here: a decline raises)."""
    method = payment_method_retrieve(payment_method)
    if method.get("customer") == customer:
        return method
    return _call(client().v1.payment_methods.attach, payment_method, params={"customer": customer})


def customer_default_method_set(*, customer: str, payment_method: str) -> dict:
    return _call(
        client().v1.customers.update,
        customer,
        params={"invoice_settings": {"default_payment_method": payment_method}},
    )


# Payments ------------------------------------------------------------------------------------


def payment_intent_create(
    *,
    amount: int,
    customer: str,
    payment_method: str,
    metadata: dict,
    idempotency_key: str,
    off_session: bool = False,
    destination: str = "",
    application_fee: int = 0,
) -> dict:
    """Charge now with a saved method. A decline raises PaymentDeclined."""
    params = {
        "amount": amount,
        "currency": CURRENCY,
        "customer": customer,
        "payment_method": payment_method,
        "payment_method_types": settings.STRIPE_PAYMENT_METHOD_TYPES,
        "confirm": True,
        "metadata": metadata,
    }
    if off_session:
        params["off_session"] = True
    params |= connect.destination_charge(destination=destination, application_fee=application_fee)
    return _call(
        client().v1.payment_intents.create, params=params, options=_options(idempotency_key)
    )


def payment_intent_retrieve(payment_intent: str) -> dict:
    return _call(client().v1.payment_intents.retrieve, payment_intent)


def payment_intent_cancel(payment_intent: str) -> dict:
    return _call(client().v1.payment_intents.cancel, payment_intent)


def payment_error(payment_intent: dict) -> str:
    """Stripe's reason for the last failed attempt, or ''."""
    error = payment_intent.get("last_payment_error") or {}
    return (error.get("message") or "")[:300]


def refund_create(*, payment_intent: str, amount: int, reason: str, idempotency_key: str) -> dict:
    return _call(
        client().v1.refunds.create,
        params={"payment_intent": payment_intent, "amount": amount, "metadata": {"reason": reason}},
        options=_options(idempotency_key),
    )


# Products, plans, subscriptions, invoices -------------------------------------------------------


def plan_create(*, product_name: str, amount: int, reference: str, idempotency_key: str) -> dict:
    """A Product and its monthly Plan (amount per device; the subscription's quantity counts
    devices)."""
    product = _call(
        client().v1.products.create,
        params={"name": product_name, "metadata": {"reference": reference}},
        options=_options(f"{idempotency_key}-product"),
    )
    return _call(
        client().v1.plans.create,
        params={
            "product": product["id"],
            "amount": amount,
            "currency": CURRENCY,
            "interval": "month",
            "metadata": {"reference": reference},
        },
        options=_options(f"{idempotency_key}-plan"),
    )


def subscription_create(
    *,
    customer: str,
    plan: str,
    quantity: int,
    metadata: dict,
    idempotency_key: str,
    trial_end: int | None = None,
    destination: str = "",
    commission_percent: float = 0,
) -> dict:
    params = {
        "customer": customer,
        "items": [{"plan": plan, "quantity": quantity}],
        "metadata": metadata,
    }
    if trial_end is not None:
        params["trial_end"] = trial_end
    params |= connect.destination_subscription(
        destination=destination, commission_percent=commission_percent
    )
    return _call(client().v1.subscriptions.create, params=params, options=_options(idempotency_key))


def subscription_retrieve(subscription: str) -> dict:
    return _call(client().v1.subscriptions.retrieve, subscription)


def subscription_quantity_set(*, subscription: str, quantity: int) -> dict:
    current = subscription_retrieve(subscription)
    item = current["items"]["data"][0]
    return _call(
        client().v1.subscriptions.update,
        subscription,
        params={"items": [{"id": item["id"], "quantity": quantity}]},
    )


def subscription_cancel(subscription: str) -> dict:
    try:
        return _call(client().v1.subscriptions.cancel, subscription)
    except GatewayError:
        current = subscription_retrieve(subscription)
        if current.get("status") == "canceled":
            return current
        raise


def invoice_retrieve(invoice: str) -> dict:
    return _call(client().v1.invoices.retrieve, invoice)


def invoice_error(invoice: dict) -> str:
    """Why the invoice's last payment attempt failed, fetched from its PaymentIntent."""
    payment_intent = invoice.get("payment_intent")
    if isinstance(payment_intent, dict):
        return payment_error(payment_intent)
    if payment_intent:
        return payment_error(payment_intent_retrieve(payment_intent))
    return ""


def id_of(value) -> str:
    """Stripe answers with an id or, expanded, the object; either way the id."""
    if isinstance(value, dict):
        return value.get("id", "")
    return value or ""


# Webhooks ------------------------------------------------------------------------------------


def webhook_event(payload: bytes, signature: str) -> dict:
    """The verified event; ValueError for a bad body, a bad or stale signature."""
    try:
        event = stripe.Webhook.construct_event(
            payload,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_S,
        )
    except stripe.SignatureVerificationError as exc:
        raise ValueError(str(exc)) from exc
    return event.to_dict()


def localstripe_webhook_register(url: str, *, events: list[str] | None = None) -> None:
    """Tell localstripe where to deliver events (all of them, or only `events`), signed with
    our secret (its /_config API; real Stripe's endpoints are configured in its dashboard)."""
    config = {"url": url, "secret": settings.STRIPE_WEBHOOK_SECRET}
    if events is not None:
        config["events"] = events
    body = json.dumps(config).encode()
    request = urllib.request.Request(
        f"{settings.STRIPE_API_BASE}/_config/webhooks/safeunit",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
