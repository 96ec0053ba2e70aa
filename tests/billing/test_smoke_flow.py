from billing.models import Order
from billing.services import payments
from tests.billing.conftest import CARD_OK, wait_for


def test_card_payment_completes_the_order_through_the_webhook(stripe_webhooks, purchase, alice):
    payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)
    purchase.refresh_from_db()
    assert purchase.status == Order.Status.AWAITING_PAYMENT
    wait_for(lambda: Order.objects.get(pk=purchase.pk).status == Order.Status.PAID)
