"""Stripe Connect: paying vendors through destination charges (behind STRIPE_CONNECT_ENABLED).

With Connect, a payment is charged on the platform and transferred to the vendor's connected
account, less the platform's commission as the application fee
(https://docs.stripe.com/connect/destination-charges). localstripe has no Connect, so with the
setting off (the default) these return nothing and the ledger alone records what each vendor
is owed; the parameters are tested on the request they would send.
"""

from django.conf import settings


def enabled_for(destination: str) -> bool:
    return settings.STRIPE_CONNECT_ENABLED and bool(destination)


def destination_charge(*, destination: str, application_fee: int) -> dict:
    """Extra PaymentIntent parameters: the vendor's account receives the charge, the platform
    keeps `application_fee` fen."""
    if not enabled_for(destination):
        return {}
    return {
        "transfer_data": {"destination": destination},
        "on_behalf_of": destination,
        "application_fee_amount": application_fee,
    }


def destination_subscription(*, destination: str, commission_percent: float) -> dict:
    """Extra Subscription parameters: every invoice is transferred the same way."""
    if not enabled_for(destination):
        return {}
    return {
        "transfer_data": {"destination": destination},
        "on_behalf_of": destination,
        "application_fee_percent": commission_percent,
    }
