"""Refunds: partial and full, by the vendor, never more than was paid, with the ledger
reversed (and the commission given back, except on a returned deposit)."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from billing import gateway
from billing.models import Lease, LedgerEntry, Order, Refund
from billing.services import payments
from tests.billing.conftest import order_paid
from tests.marketplace_fixtures import YUAN

Status = Order.Status
Kind = LedgerEntry.Kind

PRICE = 2 * (180 + 20) * YUAN
COMMISSION = PRICE * 5 // 100


def _rows(order: Order, kind: str) -> list[int]:
    return list(order.ledger.filter(kind=kind).order_by("pk").values_list("amount", flat=True))


def _stripe_refunded(order: Order) -> int:
    payment = order.payments.get()
    charge = gateway.payment_intent_retrieve(payment.stripe_payment_intent)["latest_charge"]
    return charge["amount_refunded"]


def test_a_partial_then_a_full_refund(paid_purchase, vince):
    order = paid_purchase

    first = payments.order_refund(order=order, by=vince, amount=100 * YUAN, reason="One broken")

    order.refresh_from_db()
    assert order.status == Status.PAID
    assert (order.amount_paid, order.amount_refunded, order.refundable) == (
        PRICE,
        100 * YUAN,
        PRICE - 100 * YUAN,
    )
    assert first.reason == "One broken" and first.by == vince and not first.deposit
    assert _rows(order, Kind.REFUND_REVERSAL) == [-100 * YUAN]
    assert _rows(order, Kind.COMMISSION) == [-COMMISSION, 5 * YUAN]
    assert _stripe_refunded(order) == 100 * YUAN

    second = payments.order_refund(order=order, by=vince, amount=PRICE - 100 * YUAN, reason="All")

    order.refresh_from_db()
    assert order.status == Status.REFUNDED
    assert order.amount_refunded == order.amount_paid == PRICE
    assert list(order.refunds.order_by("pk")) == [first, second]
    assert _rows(order, Kind.REFUND_REVERSAL) == [-100 * YUAN, -(PRICE - 100 * YUAN)]
    # The whole commission came back; the vendor is owed nothing for this order.
    assert sum(_rows(order, Kind.COMMISSION)) == 0
    assert sum(order.ledger.values_list("amount", flat=True)) == 0
    assert _stripe_refunded(order) == PRICE
    assert order.transitions.last().to_status == Status.REFUNDED
    # Nothing left to give back.
    with pytest.raises(ValidationError):
        payments.order_refund(order=order, by=vince, amount=1, reason="More")


def test_more_than_was_paid_cannot_be_refunded(paid_purchase, vince):
    with pytest.raises(ValidationError) as error:
        payments.order_refund(order=paid_purchase, by=vince, amount=PRICE + 1, reason="Too much")
    assert list(error.value.message_dict) == ["amount"]

    payments.order_refund(order=paid_purchase, by=vince, amount=PRICE - 1, reason="Nearly all")
    with pytest.raises(ValidationError) as error:
        payments.order_refund(order=paid_purchase, by=vince, amount=2, reason="Once more")
    assert list(error.value.message_dict) == ["amount"]

    paid_purchase.refresh_from_db()
    assert paid_purchase.amount_refunded == PRICE - 1
    assert paid_purchase.status == Status.PAID
    assert _stripe_refunded(paid_purchase) == PRICE - 1


def test_a_refund_needs_an_amount_and_a_reason(paid_purchase, vince):
    with pytest.raises(ValidationError) as error:
        payments.order_refund(order=paid_purchase, by=vince, amount=0, reason=" ")

    assert sorted(error.value.message_dict) == ["amount", "reason"]
    assert not Refund.objects.exists()


def test_only_the_vendors_managers_refund(paid_purchase, alice, vendor_staff, wendy, other_vendor):
    for user in (alice, vendor_staff, wendy):
        with pytest.raises(PermissionDenied):
            payments.order_refund(order=paid_purchase, by=user, amount=100, reason="Mine")

    assert not Refund.objects.exists()


def test_an_unpaid_order_cannot_be_refunded(purchase, vince):
    with pytest.raises(ValidationError):
        payments.order_refund(order=purchase, by=vince, amount=100, reason="Nothing paid")


def test_a_lease_refunded_before_delivery_ends_its_lease(paid_lease, vince):
    lease = paid_lease.leases.get()
    assert lease.status == Lease.Status.PENDING

    payments.order_refund(order=paid_lease, by=vince, amount=paid_lease.amount_paid, reason="Gone")

    paid_lease.refresh_from_db()
    lease.refresh_from_db()
    assert paid_lease.status == Status.REFUNDED
    assert lease.status == Lease.Status.RETURNED
    assert sum(paid_lease.ledger.values_list("amount", flat=True)) == 0


def test_a_returned_deposit_gives_back_no_commission(paid_lease):
    payment = paid_lease.payments.get()
    deposit = paid_lease.deposit_total
    assert deposit == 2 * 50 * YUAN and payment.deposit == deposit

    refund = payments.payment_refund(
        payment=payment, amount=deposit, reason="Deposit", by=None, deposit=True
    )

    rows = LedgerEntry.objects.filter(source=refund.stripe_refund)
    assert list(rows.values_list("kind", "amount")) == [(Kind.REFUND_REVERSAL, -deposit)]
    paid_lease.refresh_from_db()
    assert paid_lease.status == Status.PAID and paid_lease.amount_refunded == deposit
    # What the vendor keeps: installation and the first month, less their commission.
    kept = paid_lease.amount_paid - deposit
    assert sum(paid_lease.ledger.values_list("amount", flat=True)) == kept - kept * 5 // 100


def test_sequential_refunds_never_exceed_the_payment(paid_purchase, vince):
    for _ in range(3):
        payments.order_refund(order=paid_purchase, by=vince, amount=PRICE // 3, reason="Part")
    with pytest.raises(ValidationError):
        payments.order_refund(order=paid_purchase, by=vince, amount=PRICE // 3, reason="Part")

    paid_purchase.refresh_from_db()
    assert paid_purchase.amount_refunded == 3 * (PRICE // 3) <= paid_purchase.amount_paid


def test_two_refunds_at_once_cannot_exceed_what_was_paid(transactional_db, purchase, alice, vince):
    order_paid(purchase, alice)
    amount = PRICE * 3 // 4
    barrier = threading.Barrier(2)
    outcomes = []

    def refund():
        try:
            barrier.wait(timeout=10)
            payments.order_refund(order=purchase, by=vince, amount=amount, reason="Twice")
            outcomes.append("refunded")
        except ValidationError as exc:
            outcomes.append(exc.message_dict)
        finally:
            connection.close()

    threads = [threading.Thread(target=refund) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outcomes) == 2 and outcomes.count("refunded") == 1
    refused = next(outcome for outcome in outcomes if outcome != "refunded")
    assert list(refused) == ["amount"]
    purchase.refresh_from_db()
    assert purchase.amount_refunded == amount
    assert Refund.objects.filter(order=purchase).count() == 1
    assert _stripe_refunded(purchase) == amount
