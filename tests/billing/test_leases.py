"""Leases against localstripe: paid with the order, started at delivery, billed monthly by a
Stripe Subscription, dunned when an instalment fails, and ended by the unit's choice."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from billing import gateway
from billing.models import Invoice, Lease, LedgerEntry, Order, Payment, StripeCustomer
from billing.services import orders, payments, subscriptions
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

LeaseStatus = Lease.Status
Kind = LedgerEntry.Kind
SHANGHAI = ZoneInfo("Asia/Shanghai")

DEVICES = 2
MONTHLY = DEVICES * 8 * YUAN
DEPOSIT = DEVICES * 50 * YUAN
INSTALLATION = DEVICES * 20 * YUAN
BUYOUT = DEVICES * 30 * YUAN


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=SHANGHAI)


def _mail_about(text: str):
    return [message for message in mail.outbox if text in message.subject]


@pytest.fixture
def running_lease(paid_lease, alice, vince):
    """alice's lease, delivered today, with its monthly Subscription at Stripe."""
    orders.order_prepare(order=paid_lease, by=vince)
    orders.order_ship(order=paid_lease, by=vince, carrier="SF Express", tracking_number="SF100")
    orders.order_deliver(order=paid_lease, by=alice)
    # After commit, a task opens the Subscription; here it is called directly.
    return subscriptions.lease_subscription_open(lease=paid_lease.leases.get())


def _instalment_fails(lease: Lease, client) -> dict:
    """The next instalment is charged to a card that fails, and Stripe says so."""
    stripe_card_set(lease.unit, CARD_CHARGE_FAILS)
    invoice = stripe_invoice_next(lease.stripe_subscription)
    assert invoice["status"] == "open"
    response = post_event(client, "invoice.payment_failed", {"id": invoice["id"]})
    assert response.status_code == 200
    return invoice


def test_a_lease_is_paid_with_its_deposit_and_first_month(paid_lease):
    assert paid_lease.status == Order.Status.PAID
    assert paid_lease.amount_paid == DEPOSIT + INSTALLATION + MONTHLY
    lease = paid_lease.leases.get()
    assert lease.status == LeaseStatus.PENDING
    assert (lease.term_months, lease.monthly_fee, lease.deposit, lease.buyout_price) == (
        12,
        MONTHLY,
        DEPOSIT,
        BUYOUT,
    )
    assert lease.start_date is None and lease.stripe_subscription == ""
    # The deposit is held for the vendor, not commissioned; the rest is.
    commissioned = INSTALLATION + MONTHLY
    assert sorted(paid_lease.ledger.values_list("kind", "amount")) == sorted(
        [
            (Kind.LEASE_INSTALMENT, commissioned),
            (Kind.DEPOSIT, DEPOSIT),
            (Kind.COMMISSION, -(commissioned * 5 // 100)),
        ]
    )


def test_delivery_starts_the_lease_and_opens_its_subscription(running_lease):
    lease = running_lease
    lease.refresh_from_db()
    order = lease.order
    today = timezone.localdate()

    assert order.status == Order.Status.COMPLETED and order.completed_at is not None
    assert lease.status == LeaseStatus.ACTIVE
    assert lease.start_date == today
    assert lease.end_date == subscriptions.add_months(today, 12)
    assert list(lease.transitions.values_list("from_status", "to_status")) == [
        ("", "pending"),
        ("pending", "active"),
    ]
    subscription = stripe_subscription(lease.stripe_subscription)
    assert subscription["customer"] == lease.unit.stripe_customer.stripe_id
    assert subscription["quantity"] == DEVICES
    plan = subscription["items"]["data"][0]["plan"]
    assert (plan["amount"], plan["currency"], plan["interval"]) == (8 * YUAN, "cny", "month")
    assert subscription["metadata"]["lease"] == str(lease.public_id)
    # The first month was paid with the order: Stripe bills from a month after the start.
    first_bill = datetime.fromtimestamp(subscription["trial_end"], tz=SHANGHAI).date()
    assert first_bill == subscriptions.add_months(today, 1)

    # Opening again (a retried task) keeps the same Subscription.
    again = subscriptions.lease_subscription_open(lease=Lease.objects.get(pk=lease.pk))
    assert again.stripe_subscription == lease.stripe_subscription


def test_an_instalment_paid_at_stripe_is_recorded_through_the_webhook(
    stripe_webhooks, running_lease
):
    lease = running_lease
    invoice = stripe_invoice_next(lease.stripe_subscription)
    assert invoice["status"] == "paid"

    row = wait_for(
        lambda: Invoice.objects.filter(stripe_invoice=invoice["id"], status="paid").first(),
        timeout=20,
    )
    assert row.lease == lease and row.subscription is None
    assert row.unit == lease.unit and row.vendor == lease.vendor
    assert row.amount_due == row.amount_paid == MONTHLY
    assert row.paid_at is not None and row.issued_at is not None
    assert row.period_start is not None and row.period_end > row.period_start
    entries = LedgerEntry.objects.filter(source=invoice["id"])
    assert sorted(entries.values_list("kind", "amount")) == sorted(
        [(Kind.LEASE_INSTALMENT, MONTHLY), (Kind.COMMISSION, -(MONTHLY * 5 // 100))]
    )
    assert set(entries.values_list("lease", flat=True)) == {lease.pk}


def test_a_failed_instalment_starts_dunning(client, running_lease):
    before = timezone.now()
    invoice = _instalment_fails(running_lease, client)

    lease = Lease.objects.get(pk=running_lease.pk)
    assert lease.status == LeaseStatus.ACTIVE
    assert lease.past_due_since >= before
    row = Invoice.objects.get(stripe_invoice=invoice["id"])
    assert row.status == Invoice.Status.OPEN and row.amount_paid == 0
    assert row.failure_message == "Your card was declined."
    assert not LedgerEntry.objects.filter(source=invoice["id"]).exists()

    # A second failure (Stripe retries the same invoice) does not restart the clock.
    post_event(client, "invoice.payment_failed", {"id": invoice["id"]})
    assert Lease.objects.get(pk=lease.pk).past_due_since == lease.past_due_since


@pytest.mark.celery
def test_unpaid_past_the_grace_the_lease_defaults(
    client, celery_worker, running_lease, alice, vince
):
    _instalment_fails(running_lease, client)
    lease = Lease.objects.get(pk=running_lease.pk)
    grace = timedelta(days=settings.LEASE_DUNNING_GRACE_DAYS)

    with time_machine.travel(lease.past_due_since + grace - timedelta(hours=1)):
        assert subscriptions.dunning_sweep() == {"defaulted": 0, "lapsed": 0}
    assert Lease.objects.get(pk=lease.pk).status == LeaseStatus.ACTIVE

    with time_machine.travel(lease.past_due_since + grace + timedelta(hours=1)):
        assert subscriptions.dunning_sweep() == {"defaulted": 1, "lapsed": 0}

    lease.refresh_from_db()
    assert lease.status == LeaseStatus.DEFAULTED
    assert lease.transitions.last().reason == "Instalments unpaid for 14 days."
    # After commit: the Subscription is cancelled at Stripe, and the unit and the vendor told.
    wait_for(
        lambda: stripe_subscription(lease.stripe_subscription)["status"] == "canceled",
        timeout=20,
    )
    number = lease.order.number
    defaulted = zh("Lease %(number)s has defaulted", number=number)
    wait_for(lambda: _mail_about(defaulted), timeout=20)
    (notice,) = _mail_about(defaulted)
    assert sorted(notice.to) == sorted([alice.email, vince.email])
    past_due = zh("A lease instalment for %(number)s could not be collected", number=number)
    (reminder,) = _mail_about(past_due)
    assert reminder.to == [alice.email]  # the unit only, while it can still pay
    # The deposit is not returned on a default (the vendor settles the arrears).
    assert not lease.order.refunds.exists()
    # A second sweep finds nothing more to do.
    with time_machine.travel(lease.past_due_since + grace + timedelta(days=1)):
        assert subscriptions.dunning_sweep() == {"defaulted": 0, "lapsed": 0}


def test_an_instalment_paid_within_the_grace_ends_dunning(client, running_lease):
    invoice = _instalment_fails(running_lease, client)
    lease = Lease.objects.get(pk=running_lease.pk)
    assert lease.past_due_since is not None

    # The unit puts in a working card; Stripe retries the same invoice.
    stripe_card_set(lease.unit, CARD_OK)
    gateway.client().v1.invoices.pay(invoice["id"])
    post_event(client, "invoice.payment_succeeded", {"id": invoice["id"]})

    lease.refresh_from_db()
    assert lease.past_due_since is None
    row = Invoice.objects.get(stripe_invoice=invoice["id"])
    assert row.status == Invoice.Status.PAID and row.amount_paid == MONTHLY
    assert row.failure_message == ""
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        assert subscriptions.dunning_sweep()["defaulted"] == 0
    assert Lease.objects.get(pk=lease.pk).status == LeaseStatus.ACTIVE


def test_a_lease_starts_ending_inside_the_notice_window(running_lease):
    lease = running_lease
    lease.refresh_from_db()
    window = timedelta(days=settings.LEASE_ENDING_NOTICE_DAYS)

    assert subscriptions.leases_roll(today=lease.end_date - window - timedelta(days=1)) == {
        "ending": 0,
        "renewed": 0,
    }
    assert subscriptions.leases_roll(today=lease.end_date - window) == {"ending": 1, "renewed": 0}

    lease.refresh_from_db()
    assert lease.status == LeaseStatus.ENDING
    assert lease.transitions.last().reason == f"The term ends on {lease.end_date}."
    assert subscriptions.leases_roll(today=lease.end_date - window) == {"ending": 0, "renewed": 0}


def test_the_choice_opens_with_the_notice_window(running_lease, alice):
    lease = Lease.objects.get(pk=running_lease.pk)
    window = timedelta(days=settings.LEASE_ENDING_NOTICE_DAYS)

    too_early = _noon(lease.end_date - window - timedelta(days=1))
    with time_machine.travel(too_early), pytest.raises(ValidationError) as error:
        subscriptions.lease_choose(lease=lease, by=alice, choice="renew")
    assert list(error.value.message_dict) == ["choice"]

    with time_machine.travel(_noon(lease.end_date - window)):
        subscriptions.lease_choose(lease=lease, by=alice, choice="renew")
    assert Lease.objects.get(pk=lease.pk).end_choice == Lease.Choice.RENEW


def test_the_choice_is_the_units_and_one_of_three(running_lease, paid_lease, charlie, vera, alice):
    lease = Lease.objects.get(pk=running_lease.pk)
    with time_machine.travel(_noon(lease.end_date - timedelta(days=5))):
        for user in (charlie, vera):
            with pytest.raises(PermissionDenied):
                subscriptions.lease_choose(lease=lease, by=user, choice="renew")
        with pytest.raises(ValidationError) as error:
            subscriptions.lease_choose(lease=lease, by=alice, choice="keep")
        assert list(error.value.message_dict) == ["choice"]
    assert Lease.objects.get(pk=lease.pk).end_choice == ""


def test_a_lease_not_yet_delivered_has_no_choice(paid_lease, alice):
    lease = paid_lease.leases.get()

    with pytest.raises(ValidationError) as error:
        subscriptions.lease_choose(lease=lease, by=alice, choice="return")

    assert list(error.value.message_dict) == ["choice"]


def test_renewing_starts_a_new_term_on_the_end_date(running_lease, alice):
    lease = Lease.objects.get(pk=running_lease.pk)
    with time_machine.travel(_noon(lease.end_date - timedelta(days=10))):
        subscriptions.lease_choose(lease=lease, by=alice, choice="renew")

    assert subscriptions.leases_roll(today=lease.end_date - timedelta(days=1)) == {
        "ending": 1,
        "renewed": 0,
    }
    assert subscriptions.leases_roll(today=lease.end_date) == {"ending": 0, "renewed": 1}

    lease.refresh_from_db()
    renewal = lease.renewal
    assert lease.status == LeaseStatus.RENEWED
    assert renewal.status == LeaseStatus.ACTIVE and renewal.renewed_from == lease
    assert renewal.start_date == lease.end_date
    assert renewal.end_date == subscriptions.add_months(lease.end_date, 12)
    assert (renewal.monthly_fee, renewal.deposit) == (lease.monthly_fee, lease.deposit)
    # The same Subscription goes on billing; its invoices now belong to the renewal.
    assert renewal.stripe_subscription == lease.stripe_subscription
    assert stripe_subscription(renewal.stripe_subscription)["status"] != "canceled"
    invoice = stripe_invoice_next(renewal.stripe_subscription)
    row = subscriptions.invoice_sync(invoice=invoice["id"])
    assert row.lease == renewal and row.status == Invoice.Status.PAID
    assert not lease.order.refunds.exists()  # the deposit stays for the new term


@pytest.mark.celery
def test_buying_out_charges_the_saved_card_and_returns_the_deposit(
    celery_worker, running_lease, alice
):
    lease = Lease.objects.get(pk=running_lease.pk)
    with time_machine.travel(_noon(lease.end_date - timedelta(days=10))):
        subscriptions.lease_choose(lease=lease, by=alice, choice="buy_out")

        buyout = lease.payments.get(kind=Payment.Kind.BUYOUT)
        assert buyout.amount == BUYOUT and buyout.status == Payment.Status.PROCESSING
        intent = gateway.payment_intent_retrieve(buyout.stripe_payment_intent)
        assert intent["amount"] == BUYOUT and intent["status"] == "succeeded"
        assert intent["metadata"]["kind"] == "buyout"
        # Its webhook's work:
        payments.payment_intent_sync(payment_intent=buyout.stripe_payment_intent)

    lease.refresh_from_db()
    assert lease.status == LeaseStatus.BOUGHT_OUT and lease.end_choice == Lease.Choice.BUY_OUT
    charge = gateway.id_of(intent["latest_charge"])
    assert sorted(LedgerEntry.objects.filter(source=charge).values_list("kind", "amount")) == [
        (Kind.COMMISSION, -(BUYOUT * 5 // 100)),
        (Kind.SALE, BUYOUT),
    ]
    # After commit: the deposit comes back and the Subscription ends.
    refund = wait_for(lambda: lease.order.refunds.filter(deposit=True).first(), timeout=20)
    assert refund.amount == DEPOSIT
    assert list(LedgerEntry.objects.filter(source=refund.stripe_refund).values_list("kind")) == [
        (Kind.REFUND_REVERSAL,)
    ]
    wait_for(
        lambda: stripe_subscription(lease.stripe_subscription)["status"] == "canceled",
        timeout=20,
    )
    order = Order.objects.get(pk=lease.order_id)
    assert order.amount_paid == DEPOSIT + INSTALLATION + MONTHLY + BUYOUT
    assert order.amount_refunded == DEPOSIT
    assert order.status == Order.Status.COMPLETED


def test_a_declined_buy_out_keeps_the_lease_running(running_lease, alice):
    lease = Lease.objects.get(pk=running_lease.pk)
    # The card saved on the unit now fails.
    StripeCustomer.objects.filter(unit=lease.unit).update(default_payment_method=CARD_CHARGE_FAILS)
    gateway.payment_method_attach(
        payment_method=CARD_CHARGE_FAILS, customer=lease.unit.stripe_customer.stripe_id
    )

    in_window = _noon(lease.end_date - timedelta(days=10))
    with time_machine.travel(in_window), pytest.raises(ValidationError) as error:
        subscriptions.lease_choose(lease=lease, by=alice, choice="buy_out")

    assert error.value.message_dict == {"choice": ["Your card was declined."]}
    lease.refresh_from_db()
    assert lease.status == LeaseStatus.ACTIVE and lease.end_choice == ""
    assert not lease.payments.exists()


@pytest.mark.celery
def test_returned_devices_end_the_lease_and_the_deposit_comes_back(
    celery_worker, running_lease, alice, vince
):
    lease = Lease.objects.get(pk=running_lease.pk)
    with pytest.raises(ValidationError):  # not ending yet
        subscriptions.lease_return_receive(lease=lease, by=vince)

    with time_machine.travel(_noon(lease.end_date - timedelta(days=10))):
        subscriptions.lease_choose(lease=lease, by=alice, choice="return")
        subscriptions.leases_roll()
    lease.refresh_from_db()
    assert lease.status == LeaseStatus.ENDING and lease.end_choice == Lease.Choice.RETURN

    with pytest.raises(PermissionDenied):  # the vendor receives the devices, not the unit
        subscriptions.lease_return_receive(lease=lease, by=alice)
    subscriptions.lease_return_receive(lease=lease, by=vince)

    lease.refresh_from_db()
    assert lease.status == LeaseStatus.RETURNED
    assert lease.transitions.get(to_status=LeaseStatus.RETURNED).by == vince
    refund = wait_for(lambda: lease.order.refunds.filter(deposit=True).first(), timeout=20)
    assert refund.amount == DEPOSIT and refund.reason == "Lease deposit returned."
    wait_for(
        lambda: stripe_subscription(lease.stripe_subscription)["status"] == "canceled",
        timeout=20,
    )
    charge = gateway.payment_intent_retrieve(lease.order.payments.get().stripe_payment_intent)
    assert charge["latest_charge"]["amount_refunded"] == DEPOSIT


def test_an_invoice_of_a_subscription_that_is_not_ours_is_skipped(running_lease):
    """A Subscription at Stripe that no lease or monitoring row knows."""
    customer = running_lease.unit.stripe_customer.stripe_id
    plan = gateway.plan_create(
        product_name="Elsewhere", amount=100, reference="test-elsewhere", idempotency_key="x1"
    )
    other = gateway.subscription_create(
        customer=customer, plan=plan["id"], quantity=1, metadata={}, idempotency_key="x2"
    )

    assert subscriptions.invoice_sync(invoice=gateway.id_of(other["latest_invoice"])) is None
    assert not Invoice.objects.exists()
