"""Monitoring subscriptions against localstripe: opened with the first active device, its
quantity following the unit's active devices, dunned to a lapse that only notifies."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError

from billing import gateway
from billing.models import Invoice, LedgerEntry, MonitoringSubscription
from billing.services import subscriptions
from tests.billing.conftest import (
    CARD_CHARGE_FAILS,
    CARD_OK,
    post_event,
    stripe_card_set,
    stripe_invoice_next,
    stripe_subscription,
    wait_for,
    zh,
)
from tests.marketplace_fixtures import YUAN

SubStatus = MonitoringSubscription.Status
Kind = LedgerEntry.Kind
FEE = 5 * YUAN  # per device per month, as alice bought it


@pytest.fixture
def monitored(paid_purchase, certified, alice_unit):
    """alice's two detectors are active: her monitoring subscription is open."""
    return subscriptions.monitoring_quantity_set(
        unit=alice_unit, solution=certified.solution, quantity=2
    )


def _failed_invoice(subscription: MonitoringSubscription, client) -> dict:
    stripe_card_set(subscription.unit, CARD_CHARGE_FAILS)
    invoice = stripe_invoice_next(subscription.stripe_subscription)
    assert invoice["status"] == "open"
    assert post_event(client, "invoice.payment_failed", {"id": invoice["id"]}).status_code == 200
    return invoice


def test_the_first_active_device_opens_the_subscription_at_the_price_bought(
    monitored, paid_purchase, certified
):
    assert monitored.status == SubStatus.ACTIVE
    assert (monitored.quantity, monitored.unit_price) == (2, FEE)
    assert monitored.vendor == paid_purchase.vendor
    assert list(monitored.transitions.values_list("from_status", "to_status")) == [("", "active")]
    at_stripe = stripe_subscription(monitored.stripe_subscription)
    assert at_stripe["status"] == "active" and at_stripe["quantity"] == 2
    plan = at_stripe["items"]["data"][0]["plan"]
    assert (plan["amount"], plan["currency"], plan["interval"]) == (FEE, "cny", "month")
    # The first month is invoiced and paid at once, and goes to the vendor's ledger.
    invoice = monitored.invoices.get()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_paid == 2 * FEE
    assert sorted(
        LedgerEntry.objects.filter(source=invoice.stripe_invoice).values_list("kind", "amount")
    ) == [(Kind.COMMISSION, -(2 * FEE * 5 // 100)), (Kind.MONITORING_FEE, 2 * FEE)]


def test_the_price_is_the_one_in_the_order_not_a_later_revision(
    paid_purchase, certified, alice_unit
):
    """The vendor raises the monitoring fee in the live revision: alice keeps her price."""
    type(certified).objects.filter(pk=certified.pk).update(monitoring_fee=9 * YUAN)

    subscription = subscriptions.monitoring_quantity_set(
        unit=alice_unit, solution=certified.solution, quantity=1
    )

    assert subscription.unit_price == FEE
    plan = stripe_subscription(subscription.stripe_subscription)["items"]["data"][0]["plan"]
    assert plan["amount"] == FEE


def test_the_quantity_follows_the_active_devices(monitored, certified, alice_unit):
    solution = certified.solution

    again = subscriptions.monitoring_quantity_set(unit=alice_unit, solution=solution, quantity=3)

    assert again.pk == monitored.pk and again.quantity == 3
    assert MonitoringSubscription.objects.get(pk=monitored.pk).quantity == 3
    assert stripe_subscription(monitored.stripe_subscription)["quantity"] == 3

    subscriptions.monitoring_quantity_set(unit=alice_unit, solution=solution, quantity=1)
    assert stripe_subscription(monitored.stripe_subscription)["quantity"] == 1

    # The last device retired: cancelled here and at Stripe.
    cancelled = subscriptions.monitoring_quantity_set(
        unit=alice_unit, solution=solution, quantity=0
    )
    assert cancelled.status == SubStatus.CANCELLED and cancelled.cancelled_at is not None
    assert stripe_subscription(monitored.stripe_subscription)["status"] == "canceled"
    assert (
        subscriptions.monitoring_quantity_set(unit=alice_unit, solution=solution, quantity=0)
        is None
    )

    # A device active again opens a new subscription.
    reopened = subscriptions.monitoring_quantity_set(unit=alice_unit, solution=solution, quantity=1)
    assert reopened.pk != monitored.pk and reopened.status == SubStatus.ACTIVE
    assert reopened.stripe_subscription != monitored.stripe_subscription
    assert MonitoringSubscription.objects.exclude(status=SubStatus.CANCELLED).count() == 1


def test_no_subscription_without_a_paid_order(purchase, certified, alice_unit):
    with pytest.raises(ValidationError):
        subscriptions.monitoring_quantity_set(
            unit=alice_unit, solution=certified.solution, quantity=1
        )
    with pytest.raises(ValidationError) as error:
        subscriptions.monitoring_quantity_set(
            unit=alice_unit, solution=certified.solution, quantity=-1
        )
    assert list(error.value.message_dict) == ["quantity"]
    assert (
        subscriptions.monitoring_quantity_set(
            unit=alice_unit, solution=certified.solution, quantity=0
        )
        is None
    )
    assert not MonitoringSubscription.objects.exists()


def test_a_failed_invoice_makes_it_past_due(client, monitored):
    invoice = _failed_invoice(monitored, client)

    monitored.refresh_from_db()
    assert monitored.status == SubStatus.PAST_DUE and monitored.past_due_since is not None
    assert monitored.transitions.last().reason == "Your card was declined."
    row = Invoice.objects.get(stripe_invoice=invoice["id"])
    assert row.status == Invoice.Status.OPEN and row.subscription == monitored
    assert row.failure_message == "Your card was declined."


@pytest.mark.celery
def test_unpaid_past_the_grace_it_lapses_and_only_notifies(
    client, celery_worker, monitored, alice, vince
):
    _failed_invoice(monitored, client)
    subscription = MonitoringSubscription.objects.get(pk=monitored.pk)
    grace = timedelta(days=settings.MONITORING_DUNNING_GRACE_DAYS)

    with time_machine.travel(subscription.past_due_since + grace - timedelta(hours=1)):
        assert subscriptions.dunning_sweep() == {"defaulted": 0, "lapsed": 0}
    with time_machine.travel(subscription.past_due_since + grace + timedelta(hours=1)):
        assert subscriptions.dunning_sweep() == {"defaulted": 0, "lapsed": 1}

    subscription.refresh_from_db()
    assert subscription.status == SubStatus.LAPSED
    assert subscription.transitions.last().reason == "Monitoring fees unpaid for 7 days."
    subject = zh("Monitoring for %(unit)s has lapsed", unit=subscription.unit.name)
    notice = wait_for(
        lambda: next((m for m in mail.outbox if m.subject == subject), None), timeout=20
    )
    assert sorted(notice.to) == sorted([alice.email, vince.email])
    assert (
        zh(
            "Alarms are still routed to responders; the unit shows as not covered "
            "until the fee is paid."
        )
        in notice.body
    )
    # A lapse only notifies: the subscription stays at Stripe with its quantity, to be paid.
    at_stripe = stripe_subscription(subscription.stripe_subscription)
    assert at_stripe["status"] != "canceled" and at_stripe["quantity"] == 2
    assert subscription.quantity == 2 and subscription.cancelled_at is None


def test_a_paid_invoice_makes_it_active_again(client, monitored):
    invoice = _failed_invoice(monitored, client)
    with time_machine.travel(timedelta(days=settings.MONITORING_DUNNING_GRACE_DAYS + 1), tick=True):
        subscriptions.dunning_sweep()
    assert MonitoringSubscription.objects.get(pk=monitored.pk).status == SubStatus.LAPSED

    stripe_card_set(monitored.unit, CARD_OK)
    gateway.client().v1.invoices.pay(invoice["id"])
    post_event(client, "invoice.payment_succeeded", {"id": invoice["id"]})

    monitored.refresh_from_db()
    assert monitored.status == SubStatus.ACTIVE and monitored.past_due_since is None
    assert list(monitored.transitions.order_by("pk").values_list("to_status", flat=True)) == [
        "active",
        "past_due",
        "lapsed",
        "active",
    ]
    assert LedgerEntry.objects.filter(source=invoice["id"], kind=Kind.MONITORING_FEE).exists()


def test_a_subscription_cancelled_at_stripe_is_cancelled_here(client, monitored):
    gateway.subscription_cancel(monitored.stripe_subscription)

    post_event(client, "customer.subscription.deleted", {"id": monitored.stripe_subscription})

    monitored.refresh_from_db()
    assert monitored.status == SubStatus.CANCELLED and monitored.cancelled_at is not None
