"""In headless Chromium on a phone-sized page: a unit buys a certified solution from its quote
and pays with a test card through localstripe's Stripe.js stand-in; Stripe's webhook (from
localstripe to the live server) marks the order paid while the page polls. A declined card
shows Stripe's reason and leaves the order awaiting payment."""

import os
import re

import pytest

from billing.models import Order
from tests.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is installed by make test"),
]

ORDER_PAGE = re.compile(r"/orders/[0-9a-f-]{36}/$")
PAY_PAGE = re.compile(r"/orders/[0-9a-f-]{36}/pay/$")


@pytest.fixture
def scene(stripe_webhooks, request):
    """Created in the test's own (committed) transaction so the live server sees it."""
    names = ["alice_unit", "certified", "vince"]
    return {name: request.getfixturevalue(name) for name in names}


def _order_from_the_quote(page, live_server, scene) -> Order:
    """Alice opens the quote for her shop, buys, places the order and opens the pay page."""
    solution, unit = scene["certified"].solution, scene["alice_unit"]
    page.goto(
        f"{live_server.url}/catalog/solutions/{solution.public_id}/quote/?unit={unit.public_id}"
    )
    page.click("#buy")
    page.wait_for_url(ORDER_PAGE)
    page.click("#place-order")
    page.locator("#pay-link").wait_for()
    order = Order.objects.get(unit=unit)
    assert order.status == Order.Status.AWAITING_PAYMENT
    page.click("#pay-link")
    page.wait_for_url(PAY_PAGE)
    return order


def _enter_card(page, number: str) -> None:
    """localstripe's card element: plain inputs named by their placeholders."""
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill(number)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("30")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("20000")
    page.click("#pay-submit")


def test_a_unit_pays_with_the_test_card_and_the_vendor_sees_the_order(
    live_server, phone, log_in, scene
):
    log_in(phone, "alice@example.cn")
    order = _order_from_the_quote(phone, live_server, scene)
    assert "¥400.00" in phone.locator("#pay-amount").inner_text()

    _enter_card(phone, "4242424242424242")

    phone.wait_for_url(ORDER_PAGE)
    # The page polls every 2 s; localstripe's webhook marks the order paid meanwhile.
    phone.locator("#receipt-link").wait_for(timeout=15_000)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.amount_paid == order.amount_due
    assert phone.locator("#order-status").inner_text() == "已付款"  # the phone reads Chinese
    assert phone.locator("#payment-processing").count() == 0

    phone.context.clear_cookies()
    log_in(phone, "vince@example.cn")
    phone.goto(f"{live_server.url}/vendor/orders/")
    row = phone.locator(f"#vendor-order-{order.public_id}")
    assert order.number in row.inner_text()
    assert "Alice's shop" in row.inner_text()


def test_a_declined_card_shows_the_reason_and_the_order_still_awaits_payment(
    live_server, phone, log_in, scene
):
    log_in(phone, "alice@example.cn")
    order = _order_from_the_quote(phone, live_server, scene)

    _enter_card(phone, "4000000000000002")

    # Shown by the page at once, then again by the server after it asked Stripe.
    server_error = phone.locator("#server-pay-error")
    server_error.wait_for(timeout=15_000)
    assert "Your card was declined." in server_error.inner_text()
    assert phone.locator("#card-element input[placeholder=number]").count() == 1  # try again
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert order.last_payment_error and not order.payments.exists()
