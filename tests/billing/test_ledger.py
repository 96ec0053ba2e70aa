"""The vendors' settlement ledger balances: vendor payouts + the platform's commission =
captured payments − refunds, whatever the payments, deposits and refunds, and in any order.

The property test writes Payment and Refund rows directly (no Stripe): it checks the ledger's
arithmetic, which the service tests exercise with real money movements at localstripe."""

import uuid

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import selectors
from billing.models import LedgerEntry, Order, Payment, Refund
from billing.services import ledger, orders
from billing.services.common import commission_of

Kind = LedgerEntry.Kind

AMOUNTS = st.one_of(st.integers(1, 60), st.integers(1, 5_000_000))


@pytest.fixture
def other_lease_order(db, bulk_solutions, other_vendor, alice_unit, alice):
    """alice also leases from wendy's vendor: two vendors, one buying, one leasing."""
    (revision,) = bulk_solutions(vendor=other_vendor)
    order = orders.order_create(unit=alice_unit, revision=revision, mode="lease", by=alice)
    return orders.order_place(order=order, by=alice)


def _payment(order: Order, amount: int, deposit: int) -> Payment:
    payment = Payment.objects.create(
        order=order,
        stripe_payment_intent=f"pi_{uuid.uuid4().hex}",
        amount=amount,
        deposit=deposit,
        commissionable=amount - deposit,
        status=Payment.Status.SUCCEEDED,
        succeeded_at=timezone.now(),
    )
    ledger.payment_income_record(payment, source=f"ch_{uuid.uuid4().hex}")
    return payment


def _refund(payment: Payment, amount: int, *, deposit: bool) -> Refund:
    refund = Refund.objects.create(
        order=payment.order,
        payment=payment,
        stripe_refund=f"re_{uuid.uuid4().hex}",
        amount=amount,
        deposit=deposit,
        reason="test",
    )
    ledger.refund_reversal_record(refund)
    return refund


def _total(queryset) -> int:
    return queryset.aggregate(total=Sum("amount"))["total"] or 0


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_the_ledger_balances(purchase, other_lease_order, data):
    orders_ = [purchase, other_lease_order]
    with transaction.atomic():
        made: list[Payment] = []
        for _step in range(data.draw(st.integers(1, 14), label="steps")):
            refundable = [p for p in made if p.amount > _total(p.refunds.all())]
            if not refundable or data.draw(st.booleans(), label="pay?"):
                order = data.draw(st.sampled_from(orders_), label="order")
                amount = data.draw(AMOUNTS, label="amount")
                deposit = data.draw(st.integers(0, amount), label="deposit")
                made.append(_payment(order, amount, deposit))
                continue
            payment = data.draw(st.sampled_from(refundable), label="payment")
            left = payment.amount - _total(payment.refunds.all())
            deposit_left = min(left, payment.deposit - _total(payment.refunds.filter(deposit=True)))
            if deposit_left > 0 and data.draw(st.booleans(), label="deposit refund?"):
                _refund(payment, data.draw(st.integers(1, deposit_left)), deposit=True)
            elif data.draw(st.booleans(), label="in full?"):
                _refund(payment, left, deposit=False)
            else:
                _refund(payment, data.draw(st.integers(1, left)), deposit=False)

        rows = LedgerEntry.objects.filter(order__in=orders_)
        captured = _total(Payment.objects.filter(order__in=orders_))
        refunded = _total(Refund.objects.filter(order__in=orders_))
        platform_commission = -_total(rows.filter(kind=Kind.COMMISSION))
        payouts = 0
        for order in orders_:
            vendor_rows = rows.filter(vendor=order.vendor)
            payout = _total(vendor_rows)
            payouts += payout
            # The vendor's statement says the same, month by month.
            months = selectors.settlement_months(vendor_organisation=order.vendor.organisation)
            assert sum(month["payout"] for month in months) == payout
            assert _total(selectors.ledger_for(vendor_organisation=order.vendor.organisation)) == (
                payout
            )

        assert payouts + platform_commission == captured - refunded
        assert platform_commission >= 0
        for payment in made:
            sources = [*payment.refunds.values_list("stripe_refund", flat=True)]
            given_back = _total(rows.filter(kind=Kind.COMMISSION, source__in=sources))
            taken = commission_of(payment.commissionable)
            assert 0 <= given_back <= taken
            if _total(payment.refunds.all()) == payment.amount:
                assert given_back == taken  # refunded in full: no commission kept
        transaction.set_rollback(True)


def test_commission_is_rounded_half_up_in_whole_fen(settings):
    settings.PLATFORM_COMMISSION_BPS = 500
    assert [commission_of(amount) for amount in (0, 9, 10, 29, 30, 40_000)] == [
        0,
        0,
        1,
        1,
        2,
        2_000,
    ]


def test_the_same_money_is_recorded_once(purchase):
    payment = _payment(purchase, 40_000, 0)
    source = purchase.ledger.values_list("source", flat=True).first()
    ledger.payment_income_record(payment, source=source)  # the webhook, again
    refund = _refund(payment, 10_000, deposit=False)
    ledger.refund_reversal_record(refund)

    assert sorted(purchase.ledger.values_list("kind", "amount")) == sorted(
        [
            (Kind.SALE, 40_000),
            (Kind.COMMISSION, -2_000),
            (Kind.REFUND_REVERSAL, -10_000),
            (Kind.COMMISSION, 500),
        ]
    )


def test_refunds_in_small_parts_give_back_the_whole_commission(purchase):
    """Rounding each part down would leave the platform a commission on money it returned."""
    payment = _payment(purchase, 10, 0)  # 5 % of 10 fen rounds up to 1 fen
    for _ in range(10):
        _refund(payment, 1, deposit=False)

    commission = purchase.ledger.filter(kind=Kind.COMMISSION)
    assert sorted(commission.values_list("amount", flat=True)) == [-1, 1]
    assert _total(purchase.ledger.all()) == 0


def test_lease_payments_hold_the_deposit_apart(other_lease_order):
    payment = _payment(other_lease_order, 15_600, 10_000)

    assert sorted(other_lease_order.ledger.values_list("kind", "amount")) == sorted(
        [(Kind.LEASE_INSTALMENT, 5_600), (Kind.DEPOSIT, 10_000), (Kind.COMMISSION, -280)]
    )
    _refund(payment, 10_000, deposit=True)
    assert _total(other_lease_order.ledger.filter(kind=Kind.COMMISSION)) == -280
