"""The billing pages: a unit's orders (quote → order → pay → receipt), leases and invoices; a
vendor's orders to fulfil and settlements. Each page for its owner, each flow through the
pages, the outsiders' 404s, the viewer's 403s, bad input, and constant query counts."""

import csv
import io
import json
import re
import urllib.request
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import (
    Invoice,
    Lease,
    LedgerEntry,
    MonitoringSubscription,
    Order,
    Payment,
    Refund,
)
from billing.services import orders, payments, subscriptions
from tests.billing.conftest import order_paid
from tests.marketplace_fixtures import YUAN

Status = Order.Status
PRICE = 2 * (180 + 20) * YUAN  # two detectors for alice's 60 m² shop, installed
LEASE_FIRST = 2 * (20 + 50 + 8) * YUAN  # installation, deposit and first month


def url(name, *args, **kwargs):
    return reverse(f"billing:{name}", args=args, kwargs=kwargs)


def text(response) -> str:
    return response.content.decode()


def query_count(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries.captured_queries)


def stripe_js_confirm(client_secret: str, number: str) -> dict:
    """What localstripe's Stripe.js stand-in does in the browser on confirmCardSetup: the
    card goes to (local) Stripe with the publishable key, never to SafeUnit."""
    setup_intent = client_secret.split("_secret_")[0]
    body = json.dumps(
        {
            "key": settings.STRIPE_PUBLISHABLE_KEY,
            "use_stripe_sdk": True,
            "client_secret": client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": number, "exp_month": "12", "exp_year": "2030", "cvc": "123"},
            },
        }
    ).encode()
    request = urllib.request.Request(
        f"{settings.STRIPE_API_BASE}/v1/setup_intents/{setup_intent}/confirm",
        data=body,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def placed(unit, revision, by, mode="purchase") -> Order:
    order = orders.order_create(unit=unit, revision=revision, mode=mode, by=by)
    return orders.order_place(order=order, by=by)


def shipped(order: Order, vendor_user) -> Order:
    return orders.order_ship(order=order, by=vendor_user, carrier="顺丰", tracking_number="SF1")


# Navigation -----------------------------------------------------------------------------------


def test_the_nav_links_billing_pages_by_organisation_kind(
    client_for, alice, alice_unit, vince, vendor
):
    unit_page = text(client_for(alice).get(reverse("home")))
    for name in ("orders", "leases", "invoices"):
        assert f'href="{url(name)}"' in unit_page
    assert url("vendor-orders") not in unit_page and url("settlements") not in unit_page

    vendor_page = text(client_for(vince).get(reverse("home")))
    assert f'href="{url("vendor-orders")}"' in vendor_page
    assert f'href="{url("settlements")}"' in vendor_page
    assert f'href="{url("orders")}"' not in vendor_page


# Quote → order ----------------------------------------------------------------------------------


def _quote(client, revision, unit):
    quote_url = reverse("marketplace:catalog_quote", args=[revision.solution.public_id])
    return client.get(quote_url, {"unit": str(unit.public_id)})


def _create(client, revision, unit, /, mode="purchase", **overrides):
    data = {
        "solution": str(revision.solution.public_id),
        "revision": revision.number,
        "unit": str(unit.public_id),
        "mode": mode,
    } | overrides
    return client.post(url("order-create"), data)


def test_the_quote_offers_buy_and_lease_buttons(client_for, alice, alice_unit, certified):
    page = text(_quote(client_for(alice), certified, alice_unit))

    assert 'id="order-form"' in page and url("order-create") in page
    assert 'name="mode" value="purchase"' in page and 'name="mode" value="lease"' in page


def test_a_purchase_only_solution_has_no_lease_button(
    client_for, alice, alice_unit, vendor, bulk_solutions
):
    (revision,) = bulk_solutions(
        vendor=vendor,
        lease_monthly_fee=None,
        lease_min_months=None,
        lease_deposit=None,
        lease_buyout_price=None,
    )
    client = client_for(alice)
    page = text(_quote(client, revision, alice_unit))

    assert 'value="purchase"' in page and 'value="lease"' not in page
    # And a forged lease request is refused with the reason, nothing created.
    response = _create(client, revision, alice_unit, mode="lease")
    assert response.status_code == 302
    follow = text(client.get(response["Location"]))
    assert "Purchase or lease: This solution is not offered for lease." in follow
    assert not Order.objects.exists()


def test_buying_from_the_quote_makes_a_draft_order_to_review(
    client_for, alice, alice_unit, certified
):
    client = client_for(alice)
    response = _create(client, certified, alice_unit)

    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == url("order", order.public_id)
    assert order.status == Status.DRAFT and order.unit == alice_unit
    assert order.amount_due == PRICE
    page = text(client.get(response["Location"]))
    assert "Small-shop smoke kit" in page and "¥400.00" in page
    assert 'id="place-order"' in page and 'id="cancel-order"' in page
    assert 'id="pay-link"' not in page


def test_leasing_from_the_quote_asks_for_installation_deposit_and_first_month(
    client_for, alice, alice_unit, certified
):
    response = _create(client_for(alice), certified, alice_unit, mode="lease")

    order = Order.objects.get()
    assert response.status_code == 302
    assert order.mode == "lease" and order.amount_due == LEASE_FIRST
    page = text(client_for(alice).get(url("order", order.public_id)))
    assert "Due now (installation, deposit and first month)" in page
    assert "¥156.00" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mode": "rent"}, "Purchase or lease: Choose purchase or lease."),
        ({"unit": "00000000-0000-0000-0000-000000000000"}, "Unit: Choose one of your units."),
        ({"revision": 7}, "Solution: A newer revision of this solution was certified"),
        ({"solution": "not-a-uuid"}, "Solution: Enter a valid UUID."),
    ],
)
def test_bad_order_requests_say_which_field_and_create_nothing(
    client_for, alice, alice_unit, certified, overrides, message
):
    client = client_for(alice)
    response = _create(client, certified, alice_unit, **overrides)

    assert response.status_code == 302
    assert message in text(client.get(response["Location"]))
    assert not Order.objects.exists()


def test_nobody_orders_for_another_organisations_unit(
    client_for, charlie, charlie_unit, alice_unit, certified
):
    client = client_for(charlie)
    response = _create(client, certified, alice_unit)

    assert "Unit: Choose one of your units." in text(client.get(response["Location"]))
    assert not Order.objects.exists()


# A unit's orders --------------------------------------------------------------------------------


def test_my_orders_lists_the_units_orders(client_for, alice, purchase, charlie, charlie_unit):
    response = client_for(alice).get(url("orders"))

    page = text(response)
    assert response.status_code == 200
    assert purchase.number in page and "Awaiting payment" in page and "¥400.00" in page
    assert purchase.number not in text(client_for(charlie).get(url("orders")))


def test_my_orders_takes_the_same_queries_for_1_and_5_orders(
    client_for, alice, alice_unit, certified, django_assert_num_queries
):
    client = client_for(alice)
    placed(alice_unit, certified, alice)
    one = query_count(client, url("orders"))
    for _ in range(4):
        placed(alice_unit, certified, alice, mode="lease")

    with django_assert_num_queries(one):
        response = client.get(url("orders"))
    assert len(response.context["rows"]) == 5


def test_placing_then_cancelling_a_draft_through_the_page(client_for, alice, alice_unit, certified):
    client = client_for(alice)
    order = orders.order_create(unit=alice_unit, revision=certified, mode="purchase", by=alice)

    response = client.post(url("order-place", order.public_id))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Status.AWAITING_PAYMENT
    page = text(client.get(url("order", order.public_id)))
    assert 'id="pay-link"' in page and url("order-pay", order.public_id) in page

    response = client.post(url("order-cancel", order.public_id), {"reason": "Chose another kit"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    page = text(client.get(url("order", order.public_id)))
    assert "Cancelled" in page and "Chose another kit" in page
    assert 'id="pay-link"' not in page and 'id="cancel-order"' not in page


def test_a_cancel_reason_too_long_is_refused_naming_the_field(client_for, alice, purchase):
    response = client_for(alice).post(
        url("order-cancel", purchase.public_id), {"reason": "x" * 301}
    )

    assert response.status_code == 400
    assert "Reason (optional): Ensure this value has at most 300 characters" in text(response)
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT


def test_placing_twice_says_why_and_changes_nothing(client_for, alice, purchase):
    client = client_for(alice)
    response = client.post(url("order-place", purchase.public_id), follow=True)

    assert "This cannot become Awaiting payment while it is Awaiting payment." in text(response)
    assert purchase.transitions.count() == 2


# Paying ---------------------------------------------------------------------------------------


def test_the_pay_page_shows_what_is_due_and_loads_stripe_js(client_for, alice, lease_order):
    response = client_for(alice).get(url("order-pay", lease_order.public_id))

    page = text(response)
    assert response.status_code == 200
    assert "Amount due now" in page and "¥156.00" in page
    assert "Deposit (returned at the end)" in page and "First month of the lease" in page
    assert f'<script src="{settings.STRIPE_JS_URL}" defer></script>' in page
    assert "js/billing-pay.js" in page
    config = response.context["stripe_config"]
    assert config["publishableKey"] == settings.STRIPE_PUBLISHABLE_KEY
    assert config["clientSecret"].startswith(config["setupIntent"] + "_secret_")
    assert 'id="stripe-config" type="application/json"' in page
    # No inline script but the JSON block.
    assert len(re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", page)) == 0


def test_paying_with_a_confirmed_card_then_the_page_polls_until_paid(client_for, alice, purchase):
    client = client_for(alice)
    config = client.get(url("order-pay", purchase.public_id)).context["stripe_config"]
    assert stripe_js_confirm(config["clientSecret"], "4242424242424242")["status"] == "succeeded"

    response = client.post(
        url("order-pay", purchase.public_id), {"setup_intent": config["setupIntent"]}
    )

    assert response.status_code == 302 and response["Location"] == url("order", purchase.public_id)
    payment = Payment.objects.get(order=purchase)
    assert payment.status == Payment.Status.PROCESSING and payment.amount == PRICE
    page = text(client.get(url("order", purchase.public_id)))
    assert 'hx-trigger="every 2s"' in page and 'id="payment-processing"' in page
    assert 'id="pay-link"' not in page

    # Stripe's answer arrives (the webhook's work, done here directly).
    payments.payment_intent_sync(payment_intent=payment.stripe_payment_intent)
    partial = client.get(url("order-status", purchase.public_id), HTTP_HX_REQUEST="true")
    fragment = text(partial)
    assert partial.status_code == 200 and "<html" not in fragment
    assert '<strong class="badge" id="order-status">Paid</strong>' in fragment
    assert "every 2s" not in fragment and 'id="receipt-link"' in fragment
    assert partial["Vary"] and "HX-Request" in partial["Vary"]


def test_the_status_partial_without_htmx_goes_to_the_order_page(client_for, alice, purchase):
    response = client_for(alice).get(url("order-status", purchase.public_id))

    assert response.status_code == 302 and response["Location"] == url("order", purchase.public_id)


def test_a_declined_card_shows_the_reason_and_the_order_still_awaits_payment(
    client_for, alice, purchase
):
    client = client_for(alice)
    config = client.get(url("order-pay", purchase.public_id)).context["stripe_config"]
    declined = stripe_js_confirm(config["clientSecret"], "4000000000000002")
    assert declined["error"]["message"] == "Your card was declined."

    response = client.post(
        url("order-pay", purchase.public_id),
        {"setup_intent": config["setupIntent"], "client_error": "Your card was declined."},
    )

    page = text(response)
    assert response.status_code == 200
    assert "The payment did not go through:" in page and "Your card was declined." in page
    # A fresh SetupIntent to try again with.
    assert response.context["stripe_config"]["setupIntent"] != config["setupIntent"]
    purchase.refresh_from_db()
    assert purchase.status == Status.AWAITING_PAYMENT
    assert purchase.last_payment_error == "The card was declined."
    assert not Payment.objects.exists()
    order_page = text(client.get(url("order", purchase.public_id)))
    assert 'id="payment-error"' in order_page and "The card was declined." in order_page
    assert 'id="pay-link"' in order_page


def test_posting_the_pay_form_without_a_card_says_so_and_writes_nothing(
    client_for, alice, purchase
):
    response = client_for(alice).post(url("order-pay", purchase.public_id), {"setup_intent": ""})

    assert response.status_code == 200
    assert "Enter your card details and try again." in text(response)
    purchase.refresh_from_db()
    assert purchase.last_payment_error == "" and not Payment.objects.exists()


def test_a_paid_order_has_no_pay_page(client_for, alice, paid_purchase):
    response = client_for(alice).get(url("order-pay", paid_purchase.public_id), follow=True)

    assert response.redirect_chain[-1][0] == url("order", paid_purchase.public_id)
    assert "Only an order awaiting payment can be paid; this one is Paid." in text(response)


# Receipt --------------------------------------------------------------------------------------


def test_the_receipt_shows_what_was_paid_and_refunded(client_for, alice, vince, paid_purchase):
    payments.order_refund(order=paid_purchase, by=vince, amount=50 * YUAN, reason="少装一个")
    paid_purchase.refresh_from_db()

    response = client_for(alice).get(url("receipt", paid_purchase.public_id))

    page = text(response)
    assert response.status_code == 200
    assert paid_purchase.number in page and "Alice&#x27;s shop" in page
    assert "申安消防科技" in page and "NB-IoT 独立式烟感" in page
    assert '<th id="receipt-paid">¥400.00</th>' in page
    assert '<th id="receipt-refunded">¥50.00</th>' in page
    assert '<th id="receipt-net">¥350.00</th>' in page
    paid_at = timezone.localtime(paid_purchase.paid_at)
    assert f"{paid_at:%Y-%m-%d %H:%M}" in page and "少装一个" in page


def test_there_is_no_receipt_before_payment(client_for, alice, purchase):
    assert client_for(alice).get(url("receipt", purchase.public_id)).status_code == 404
    page = text(client_for(alice).get(url("order", purchase.public_id)))
    assert 'id="receipt-link"' not in page


# Viewers and outsiders ------------------------------------------------------------------------


def test_a_viewer_sees_the_order_but_cannot_place_pay_or_cancel(
    client_for, vera, alice, alice_unit, certified, purchase
):
    client = client_for(vera)
    draft = orders.order_create(unit=alice_unit, revision=certified, mode="purchase", by=alice)

    page = text(client.get(url("order", purchase.public_id)))
    assert purchase.number in page and 'id="view-only"' in page
    assert 'id="pay-link"' not in page and 'id="cancel-order"' not in page
    assert client.post(url("order-place", draft.public_id)).status_code == 403
    assert client.post(url("order-cancel", purchase.public_id)).status_code == 403
    assert client.get(url("order-pay", purchase.public_id)).status_code == 403
    assert (
        client.post(url("order-pay", purchase.public_id), {"setup_intent": "seti_x"}).status_code
        == 403
    )
    assert _create(client, certified, alice_unit).status_code == 403
    draft.refresh_from_db()
    purchase.refresh_from_db()
    assert draft.status == Status.DRAFT and purchase.status == Status.AWAITING_PAYMENT


def test_an_outsider_gets_404_on_alices_order_lease_and_receipt(
    client_for, charlie, charlie_unit, alice, vince, paid_lease
):
    lease = paid_lease.leases.get()
    client = client_for(charlie)
    order_id = paid_lease.public_id

    for path in [
        url("order", order_id),
        url("order-status", order_id),
        url("order-pay", order_id),
        url("receipt", order_id),
        url("lease", lease.public_id),
        url("vendor-order", order_id),
    ]:
        assert client.get(path, HTTP_HX_REQUEST="true").status_code == 404, path
    for path in [
        url("order-place", order_id),
        url("order-cancel", order_id),
        url("order-deliver", order_id),
        url("order-pay", order_id),
        url("lease-choose", lease.public_id),
        url("vendor-order-prepare", order_id),
        url("vendor-order-refund", order_id),
        url("vendor-lease-return", lease.public_id),
    ]:
        assert client.post(path, {"choice": "return"}).status_code == 404, path


def test_another_vendor_gets_404_on_vinces_orders(client_for, wendy, other_vendor, paid_purchase):
    client = client_for(wendy)
    order_id = paid_purchase.public_id

    assert client.get(url("vendor-order", order_id)).status_code == 404
    assert client.post(url("vendor-order-prepare", order_id)).status_code == 404
    assert client.post(url("vendor-order-refund", order_id), {"amount": "1"}).status_code == 404
    assert paid_purchase.number not in text(client.get(url("vendor-orders")))
    paid_purchase.refresh_from_db()
    assert paid_purchase.status == Status.PAID and paid_purchase.amount_refunded == 0


# A vendor's orders ------------------------------------------------------------------------------


def test_the_vendor_sees_orders_to_fulfil_newest_paid_first(
    client_for, vince, alice, alice_unit, certified, paid_purchase
):
    later = placed(alice_unit, certified, alice, mode="lease")
    order_paid(later, alice)
    draft = orders.order_create(unit=alice_unit, revision=certified, mode="purchase", by=alice)

    response = client_for(vince).get(url("vendor-orders"))

    assert response.status_code == 200
    numbers = [row["order"].number for row in response.context["rows"]]
    assert numbers == [later.number, paid_purchase.number]
    assert draft.number not in text(response)
    assert "Alice&#x27;s shop" in text(response)


def test_the_vendor_filters_orders_by_status_unit_name_and_district(
    client_for, vince, alice, alice_unit, certified, paid_purchase, charlie, charlie_unit
):
    awaiting = placed(charlie_unit, certified, charlie)
    client = client_for(vince)

    def numbers(**query):
        return {
            row["order"].number for row in client.get(url("vendor-orders"), query).context["rows"]
        }

    assert numbers() == {paid_purchase.number, awaiting.number}
    assert numbers(status="paid") == {paid_purchase.number}
    assert numbers(q="charlie") == {awaiting.number}
    assert numbers(district="310101") == {paid_purchase.number}  # Huangpu
    assert numbers(district="310106") == {awaiting.number}  # Jing'an
    partial = client.get(
        url("vendor-orders"), {"status": "awaiting_payment"}, HTTP_HX_REQUEST="true"
    )
    assert "<html" not in text(partial) and awaiting.number in text(partial)
    bad = client.get(url("vendor-orders"), {"status": "lost"})
    assert "Status: Select a valid choice." in text(bad)


def test_vendor_order_lists_take_the_same_queries_for_1_and_5_orders(
    client_for, vince, alice, alice_unit, certified, django_assert_num_queries
):
    client = client_for(vince)
    placed(alice_unit, certified, alice)
    one = query_count(client, url("vendor-orders"))
    for _ in range(4):
        placed(alice_unit, certified, alice)

    with django_assert_num_queries(one):
        response = client.get(url("vendor-orders"))
    assert len(response.context["rows"]) == 5


def test_prepare_ship_and_deliver_through_the_pages(client_for, vince, alice, paid_purchase):
    vendor_client, unit_client = client_for(vince), client_for(alice)
    order_id = paid_purchase.public_id

    assert vendor_client.post(url("vendor-order-prepare", order_id)).status_code == 302
    paid_purchase.refresh_from_db()
    assert paid_purchase.status == Status.FULFILLING

    # The page sends the vendor to the devices' fulfilment page to allocate and ship.
    page = text(vendor_client.get(url("vendor-order", order_id)))
    assert reverse("devices:fulfil", args=[order_id]) in page
    orders.order_ship(order=paid_purchase, by=vince, carrier="顺丰速运", tracking_number="SF123")
    paid_purchase.refresh_from_db()
    assert paid_purchase.status == Status.SHIPPED
    page = text(unit_client.get(url("order", order_id)))
    assert "顺丰速运 · SF123" in page and 'id="confirm-delivery"' in page

    assert unit_client.post(url("order-deliver", order_id)).status_code == 302
    paid_purchase.refresh_from_db()
    assert paid_purchase.status == Status.COMPLETED
    page = text(unit_client.get(url("order", order_id)))
    assert "Delivered" in page and 'id="confirm-delivery"' not in page
    steps = [row["to"] for row in unit_client.get(url("order", order_id)).context["timeline"]]
    assert steps == ["Draft", "Awaiting payment", "Paid", "Being prepared", "Shipped", "Delivered"]


def test_a_vendor_viewer_sees_the_order_but_has_no_buttons(
    client_for, vendor_viewer, paid_purchase
):
    client = client_for(vendor_viewer)
    page = text(client.get(url("vendor-order", paid_purchase.public_id)))

    assert paid_purchase.number in page
    assert 'id="prepare"' not in page and 'id="ship-form"' not in page
    assert 'id="refund-form"' not in page
    assert client.post(url("vendor-order-prepare", paid_purchase.public_id)).status_code == 403


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1.234", "Amount to refund (¥): Ensure that there are no more than 2 decimal places."),
        ("0", "Amount to refund (¥): Ensure this value is greater than or equal to 0.01."),
        ("400.01", "Amount to refund (¥): At most ¥400.00 can still be refunded."),
        ("abc", "Amount to refund (¥): Enter a number."),
        ("NaN", "Amount to refund (¥): Enter a number."),
    ],
)
def test_bad_refund_amounts_are_refused_naming_the_field(
    client_for, vince, paid_purchase, amount, message
):
    response = client_for(vince).post(
        url("vendor-order-refund", paid_purchase.public_id), {"amount": amount, "reason": "退货"}
    )

    assert response.status_code == 400
    assert message in text(response)
    assert not Refund.objects.exists()


def test_a_refund_needs_a_reason(client_for, vince, paid_purchase):
    response = client_for(vince).post(
        url("vendor-order-refund", paid_purchase.public_id), {"amount": "10", "reason": " "}
    )

    assert response.status_code == 400
    assert "Reason: This field is required." in text(response)
    assert not Refund.objects.exists()


def test_a_partial_then_full_refund_through_the_page(client_for, vince, alice, paid_purchase):
    client = client_for(vince)
    order_id = paid_purchase.public_id

    response = client.post(
        url("vendor-order-refund", order_id), {"amount": "100.50", "reason": "少装一个"}
    )
    assert response.status_code == 302
    paid_purchase.refresh_from_db()
    assert paid_purchase.amount_refunded == 10050 and paid_purchase.status == Status.PAID
    page = text(client.get(url("vendor-order", order_id)))
    assert "Up to ¥299.50 can be refunded." in page and "少装一个" in page

    client.post(url("vendor-order-refund", order_id), {"amount": "299.5", "reason": "退货"})
    paid_purchase.refresh_from_db()
    assert paid_purchase.amount_refunded == PRICE and paid_purchase.status == Status.REFUNDED
    page = text(client.get(url("vendor-order", order_id)))
    assert 'id="refund-form"' not in page
    assert "¥400.00" in text(client_for(alice).get(url("order", order_id)))


def test_vendor_staff_prepare_but_only_managers_refund(client_for, vendor_staff, paid_purchase):
    client = client_for(vendor_staff)
    page = text(client.get(url("vendor-order", paid_purchase.public_id)))

    assert 'id="prepare"' in page and 'id="refund-form"' not in page
    response = client.post(
        url("vendor-order-refund", paid_purchase.public_id), {"amount": "1", "reason": "x"}
    )
    assert response.status_code == 403
    assert not Refund.objects.exists()


# Leases ---------------------------------------------------------------------------------------


@pytest.fixture
def delivered_lease(paid_lease, alice, vince) -> Lease:
    shipped(paid_lease, vince)
    orders.order_deliver(order=paid_lease, by=alice)
    return paid_lease.leases.get()


def test_my_leases_show_the_next_payment_end_date_and_fee(client_for, alice, delivered_lease):
    response = client_for(alice).get(url("leases"))

    page = text(response)
    start = delivered_lease.start_date
    assert response.status_code == 200
    assert delivered_lease.order.number in page and "Active" in page
    assert "¥16.00" in page  # 2 devices × ¥8 a month
    assert f"{subscriptions.add_months(start, 1):%Y-%m-%d}" in page  # first instalment
    assert f"{subscriptions.add_months(start, 12):%Y-%m-%d}" in page  # end of the term


def test_my_leases_take_the_same_queries_for_1_and_5_leases(
    client_for, alice, alice_unit, certified, django_assert_num_queries
):
    client = client_for(alice)

    def lease():
        order = placed(alice_unit, certified, alice, mode="lease")
        Lease.objects.create(
            order=order,
            unit=alice_unit,
            vendor=order.vendor,
            term_months=12,
            monthly_fee=order.lease_monthly_total,
            deposit=order.deposit_total,
            status=Lease.Status.ACTIVE,
            start_date=timezone.localdate(),
            end_date=subscriptions.add_months(timezone.localdate(), 12),
        )

    lease()
    one = query_count(client, url("leases"))
    for _ in range(4):
        lease()

    with django_assert_num_queries(one):
        response = client.get(url("leases"))
    assert len(response.context["rows"]) == 5


def test_the_end_of_term_choice_opens_before_the_end_and_the_vendor_takes_devices_back(
    client_for, alice, vince, delivered_lease
):
    unit_client, vendor_client = client_for(alice), client_for(vince)
    lease_url = url("lease", delivered_lease.public_id)
    page = text(unit_client.get(lease_url))
    assert 'id="lease-choice-form"' not in page and 'id="choice-not-open"' in page

    # Eleven and a half months later (the term moved back rather than the clock, which would
    # also expire the session): the lease starts ending and the unit may choose.
    today = timezone.localdate()
    Lease.objects.filter(pk=delivered_lease.pk).update(
        start_date=subscriptions.add_months(today + timedelta(days=10), -12),
        end_date=today + timedelta(days=10),
    )
    subscriptions.leases_roll(today=today)
    page = text(unit_client.get(lease_url))
    assert 'id="lease-choice-form"' in page and "Ending" in page

    bad = unit_client.post(url("lease-choose", delivered_lease.public_id), {"choice": "keep"})
    assert bad.status_code == 400
    assert "At the end of the term: Choose return, buy out or renew." in text(bad)
    delivered_lease.refresh_from_db()
    assert delivered_lease.end_choice == ""

    chosen = unit_client.post(url("lease-choose", delivered_lease.public_id), {"choice": "return"})
    assert chosen.status_code == 302
    delivered_lease.refresh_from_db()
    assert delivered_lease.end_choice == Lease.Choice.RETURN
    assert "Return the devices" in text(unit_client.get(lease_url))

    order_page = text(vendor_client.get(url("vendor-order", delivered_lease.order.public_id)))
    assert "Ending" in order_page and "Return the devices" in order_page
    assert f'id="return-{delivered_lease.public_id}"' in order_page
    response = vendor_client.post(url("vendor-lease-return", delivered_lease.public_id))
    assert response.status_code == 302
    delivered_lease.refresh_from_db()
    assert delivered_lease.status == Lease.Status.RETURNED
    page = text(unit_client.get(lease_url))
    assert "Returned" in page and "Devices received back." in page


def test_choosing_before_the_notice_period_is_refused_with_the_reason(
    client_for, alice, delivered_lease
):
    response = client_for(alice).post(
        url("lease-choose", delivered_lease.public_id), {"choice": "renew"}
    )

    assert response.status_code == 400
    assert "The choice opens 30 days before the end of the term." in text(response)
    delivered_lease.refresh_from_db()
    assert delivered_lease.end_choice == ""


def test_devices_received_back_only_when_the_lease_is_ending(client_for, vince, delivered_lease):
    client = client_for(vince)
    page = text(client.get(url("vendor-order", delivered_lease.order.public_id)))
    assert f'id="return-{delivered_lease.public_id}"' not in page

    response = client.post(url("vendor-lease-return", delivered_lease.public_id), follow=True)
    assert "This cannot become Returned while it is Active." in text(response)
    delivered_lease.refresh_from_db()
    assert delivered_lease.status == Lease.Status.ACTIVE


# Invoices and monitoring ----------------------------------------------------------------------


def _monitoring(unit, revision, quantity=2) -> MonitoringSubscription:
    return MonitoringSubscription.objects.create(
        unit=unit,
        solution=revision.solution,
        vendor=revision.solution.vendor,
        unit_price=revision.monitoring_fee,
        quantity=quantity,
        stripe_subscription=f"sub_test_{MonitoringSubscription.objects.count()}",
    )


def _invoice(subscription, number: int, status=Invoice.Status.PAID) -> Invoice:
    return Invoice.objects.create(
        stripe_invoice=f"in_test_{subscription.pk}_{number}",
        unit=subscription.unit,
        vendor=subscription.vendor,
        subscription=subscription,
        status=status,
        amount_due=subscription.unit_price * subscription.quantity,
        amount_paid=subscription.unit_price * subscription.quantity
        if status == Invoice.Status.PAID
        else 0,
        issued_at=timezone.now() - timedelta(days=30 * number),
        failure_message="" if status == Invoice.Status.PAID else "Your card was declined.",
    )


def test_my_invoices_show_invoices_and_monitoring_subscriptions(
    client_for, alice, alice_unit, certified, charlie
):
    subscription = _monitoring(alice_unit, certified, quantity=3)
    _invoice(subscription, 1)
    _invoice(subscription, 2, status=Invoice.Status.OPEN)

    response = client_for(alice).get(url("invoices"))

    page = text(response)
    assert response.status_code == 200
    assert '<td class="quantity">3</td>' in page and "¥5.00" in page and "¥15.00" in page
    assert "Active" in page and "Paid" in page and "Open" in page
    assert "Your card was declined." in page
    assert "in_test" not in text(client_for(charlie).get(url("invoices")))
    assert "sub_test" not in page  # Stripe ids are ours, not the unit's business


def test_my_invoices_take_the_same_queries_for_1_and_5_rows(
    client_for, alice, alice_unit, certified, vendor, bulk_solutions, django_assert_num_queries
):
    client = client_for(alice)
    _invoice(_monitoring(alice_unit, certified), 1)
    one = query_count(client, url("invoices"))
    for number, revision in enumerate(bulk_solutions(vendor=vendor, count=4), start=2):
        _invoice(_monitoring(alice_unit, revision), number)

    with django_assert_num_queries(one):
        response = client.get(url("invoices"))
    assert len(response.context["invoices"]) == 5
    assert len(response.context["subscriptions"]) == 5


# Settlements ----------------------------------------------------------------------------------


def test_settlements_show_the_months_figures_and_the_csv_has_the_same(
    client_for, vince, paid_purchase
):
    payments.order_refund(order=paid_purchase, by=vince, amount=100 * YUAN, reason="少装一个")
    client = client_for(vince)
    month = timezone.localdate()

    listing = client.get(url("settlements"))
    (row,) = listing.context["months"]
    commission = -(PRICE * 5 // 100) + 100 * YUAN * 5 // 100
    assert row["sales"] == PRICE and row["refunds"] == -100 * YUAN
    assert row["commission"] == commission
    assert row["payout"] == PRICE - 100 * YUAN + commission
    page = text(listing)
    assert f'<td class="payout"><strong>{_yuan(row["payout"])}</strong></td>' in page

    detail = client.get(url("settlement", year=f"{month:%Y}", month=f"{month:%m}"))
    assert detail.status_code == 200
    assert detail.context["totals"]["payout"] == row["payout"]
    assert paid_purchase.number in text(detail)

    response = client.get(url("settlement-csv", year=f"{month:%Y}", month=f"{month:%m}"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"settlement-{month:%Y-%m}.csv" in response["Content-Disposition"]
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["Date", "Kind", "Order", "Memo", "Amount (¥)"]
    body = rows[1:]
    assert (
        len(body) == len(detail.context["rows"]) == 4
    )  # sale, commission, refund, commission back
    assert all(re.fullmatch(r"-?\d+\.\d{2}", line[4]) for line in body)
    assert ["Sale", paid_purchase.number, "400.00"] == [body[0][1], body[0][2], body[0][4]]
    total_fen = sum(round(float(line[4]) * 100) for line in body)
    assert total_fen == row["payout"]
    by_kind = {}
    for line in body:
        by_kind[line[1]] = by_kind.get(line[1], 0) + round(float(line[4]) * 100)
    assert by_kind["Refund reversal"] == row["refunds"]
    assert by_kind["Platform commission"] == row["commission"]


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def test_settlements_take_the_same_queries_for_1_and_5_months(
    client_for, vince, vendor, django_assert_num_queries
):
    client = client_for(vince)

    def entry(months_ago: int):
        at = timezone.now().replace(day=15) - timedelta(days=31 * months_ago)
        LedgerEntry.objects.create(
            vendor=vendor, kind="sale", amount=1000, source=f"ch_{months_ago}", occurred_at=at
        )

    entry(0)
    one = query_count(client, url("settlements"))
    for months_ago in range(1, 5):
        entry(months_ago)

    with django_assert_num_queries(one):
        response = client.get(url("settlements"))
    assert len(response.context["months"]) == 5


def test_a_months_ledger_takes_the_same_queries_for_1_and_5_entries(
    client_for, vince, alice, alice_unit, certified, vendor, django_assert_num_queries
):
    client = client_for(vince)
    month = timezone.localdate()
    path = url("settlement", year=f"{month:%Y}", month=f"{month:%m}")

    def entry(number: int):
        order = placed(alice_unit, certified, alice)
        LedgerEntry.objects.create(
            vendor=vendor, kind="sale", amount=1000, source=f"ch_{number}", order=order
        )

    entry(0)
    one = query_count(client, path)
    for number in range(1, 5):
        entry(number)

    with django_assert_num_queries(one):
        response = client.get(path)
    assert len(response.context["rows"]) == 5


def test_settlements_are_for_vendors_only_and_months_must_exist(
    client_for, alice, alice_unit, vince, vendor
):
    assert client_for(alice).get(url("settlements")).status_code == 404
    assert client_for(vince).get("/vendor/settlements/2025-13/").status_code == 404
    assert client_for(vince).get("/vendor/settlements/2025-13.csv").status_code == 404


def test_another_vendor_does_not_see_vinces_settlement(
    client_for, wendy, other_vendor, paid_purchase
):
    month = timezone.localdate()
    client = client_for(wendy)

    assert client.get(url("settlements")).context["months"] == []
    csv_text = client.get(url("settlement-csv", year=f"{month:%Y}", month=f"{month:%m}"))
    assert paid_purchase.number not in csv_text.content.decode("utf-8-sig")
