"""The billing API against localstripe: alice's shop orders, pays and leases; vince's vendor
fulfils, refunds and reads its settlements. charlie (another shop) and wendy (another vendor)
get 404 on everything of theirs; vera (viewer) and val (vendor viewer) may only read."""

from datetime import timedelta
from itertools import count

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import gateway
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
from marketplace.models import BomLine
from tests.billing.conftest import CARD_DECLINED, CARD_OK, wait_for

API = "/api/v1"
PURCHASE_DUE = 2 * 180_00 + 2 * 20_00  # two detectors for 60 m², and their installation
LEASE_DUE = 2 * 20_00 + 2 * 50_00 + 2 * 8_00  # installation, deposit, first month


def order_url(order, tail=""):
    return f"{API}/orders/{order.public_id}/{tail}"


def vendor_order_url(order, tail=""):
    return f"{API}/vendor/orders/{order.public_id}/{tail}"


def paid(order, by, card=CARD_OK):
    """Pay through the services and apply Stripe's answer, as the webhook would."""
    payment = payments.order_pay(order=order, by=by, payment_method=card)
    payments.payment_intent_sync(payment_intent=payment.stripe_payment_intent)
    order.refresh_from_db()
    return order


def query_count(client, url) -> int:
    client.get(url)  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


@pytest.fixture
def paid_purchase(purchase, alice):
    return paid(purchase, alice)


@pytest.fixture
def paid_lease(lease_order, alice):
    return paid(lease_order, alice)


# Creating and paying an order -----------------------------------------------------------------


def test_create_place_and_pay_with_a_card_makes_the_order_paid(
    api_client_for, alice, alice_unit, certified
):
    client = api_client_for(alice)

    created = client.post(
        f"{API}/orders/",
        {
            "unit": str(alice_unit.public_id),
            "solution": str(certified.solution.public_id),
            "mode": "purchase",
        },
        format="json",
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft"
    assert body["amount_due"] == PURCHASE_DUE
    assert body["solution"] == str(certified.solution.public_id)
    assert body["snapshot"]["name_en"] == "Small-shop smoke kit"
    assert body["snapshot"]["certificate_number"] == certified.certificate_number
    assert "solution_id" not in body["snapshot"]  # integer keys stay internal
    assert [(line["model_number"], line["quantity"]) for line in body["lines"]] == [("SA-S100", 2)]
    order = Order.objects.get(public_id=body["id"])

    placed = client.post(order_url(order, "place/"))
    assert placed.status_code == 200
    assert placed.json()["status"] == "awaiting_payment"

    paying = client.post(order_url(order, "pay/"), {"payment_method": CARD_OK}, format="json")

    assert paying.status_code == 202, paying.json()
    assert paying.json()["status"] == "processing"
    assert paying.json()["amount"] == PURCHASE_DUE
    assert client.get(order_url(order)).json()["status"] == "awaiting_payment"

    payments.payment_intent_sync(payment_intent=paying.json()["id"])

    detail = client.get(order_url(order)).json()
    assert detail["status"] == "paid"
    assert detail["amount_paid"] == PURCHASE_DUE
    assert detail["last_payment_error"] == ""
    assert [p["status"] for p in detail["payments"]] == ["succeeded"]
    assert [(t["from_status"], t["to_status"]) for t in detail["transitions"]] == [
        ("", "draft"),
        ("draft", "awaiting_payment"),
        ("awaiting_payment", "paid"),
    ]


def test_a_card_payment_completes_the_order_through_the_webhook(
    stripe_webhooks, api_client_for, purchase, alice
):
    client = api_client_for(alice)

    response = client.post(order_url(purchase, "pay/"), {"payment_method": CARD_OK})

    assert response.status_code == 202
    wait_for(lambda: client.get(order_url(purchase)).json()["status"] == "paid")


def test_a_declined_card_answers_400_and_the_order_keeps_waiting_with_the_reason(
    api_client_for, purchase, alice
):
    client = api_client_for(alice)

    response = client.post(
        order_url(purchase, "pay/"), {"payment_method": CARD_DECLINED}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"payment_method": ["Your card was declined."]}
    message = "Your card was declined."
    detail = client.get(order_url(purchase)).json()
    assert detail["status"] == "awaiting_payment"
    assert detail["last_payment_error"] == message
    assert detail["amount_paid"] == 0


def test_paying_needs_exactly_one_card(api_client_for, purchase, alice):
    client = api_client_for(alice)

    nothing = client.post(order_url(purchase, "pay/"), {}, format="json")
    both = client.post(
        order_url(purchase, "pay/"),
        {"payment_method": CARD_OK, "setup_intent": "seti_123"},
        format="json",
    )

    assert nothing.status_code == 400 and "payment_method" in nothing.json()
    assert both.status_code == 400 and "payment_method" in both.json()
    assert not Payment.objects.exists()


def test_a_card_set_up_with_stripe_js_pays_the_order(api_client_for, purchase, alice):
    client = api_client_for(alice)

    setup = client.post(order_url(purchase, "setup-intent/"))

    assert setup.status_code == 200
    body = setup.json()
    assert body["setup_intent"].startswith("seti_") and body["client_secret"]
    assert body["publishable_key"] == settings.STRIPE_PUBLISHABLE_KEY
    # What Stripe.js does in the browser with the client secret and the card typed in.
    gateway.client().v1.setup_intents.confirm(
        body["setup_intent"], params={"payment_method": CARD_OK}
    )

    response = client.post(
        order_url(purchase, "pay/"), {"setup_intent": body["setup_intent"]}, format="json"
    )

    assert response.status_code == 202, response.json()
    payments.payment_intent_sync(payment_intent=response.json()["id"])
    assert client.get(order_url(purchase)).json()["status"] == "paid"


def test_a_paid_order_cannot_be_paid_or_cancelled_again(api_client_for, paid_purchase, alice):
    client = api_client_for(alice)

    again = client.post(order_url(paid_purchase, "pay/"), {"payment_method": CARD_OK})
    cancel = client.post(order_url(paid_purchase, "cancel/"), {"reason": "changed my mind"})

    assert again.status_code == 400 and cancel.status_code == 400
    paid_purchase.refresh_from_db()
    assert paid_purchase.status == Order.Status.PAID
    assert paid_purchase.payments.count() == 1


def test_cancel_before_payment_records_the_reason(api_client_for, purchase, alice):
    response = api_client_for(alice).post(
        order_url(purchase, "cancel/"), {"reason": "Found a cheaper tier"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["transitions"][-1]["reason"] == "Found a cheaper tier"


# Bad input and other people -------------------------------------------------------------------


def test_bad_order_input_is_400_by_field_and_writes_nothing(
    api_client_for, alice, alice_unit, certified, charlie_unit, bulk_solutions, vendor
):
    client = api_client_for(alice)
    good = {
        "unit": str(alice_unit.public_id),
        "solution": str(certified.solution.public_id),
        "mode": "purchase",
    }
    [no_lease] = bulk_solutions(
        vendor=vendor, lease_monthly_fee=None, lease_min_months=None, lease_deposit=None
    )

    cases = {
        "mode": good | {"mode": "rent"},
        "unit": good | {"unit": str(charlie_unit.public_id)},
        "solution": good | {"solution": "not-a-uuid"},
    }
    for field, payload in cases.items():
        response = client.post(f"{API}/orders/", payload, format="json")
        assert response.status_code == 400, field
        assert field in response.json(), (field, response.json())
    no_lease_order = client.post(
        f"{API}/orders/",
        good | {"solution": str(no_lease.solution.public_id), "mode": "lease"},
        format="json",
    )
    assert no_lease_order.status_code == 400 and "mode" in no_lease_order.json()
    assert not Order.objects.exists()


def test_a_solution_this_unit_needs_none_of_is_refused_under_solution(
    api_client_for, alice, alice_unit, bulk_solutions, vendor
):
    [per_elevator] = bulk_solutions(vendor=vendor)
    BomLine.objects.filter(revision=per_elevator).update(rule=BomLine.Rule.PER_ELEVATOR)

    response = api_client_for(alice).post(
        f"{API}/orders/",
        {
            "unit": str(alice_unit.public_id),
            "solution": str(per_elevator.solution.public_id),
            "mode": "purchase",
        },
        format="json",
    )

    assert response.status_code == 400
    assert "solution" in response.json() and "revision" not in response.json()
    assert not Order.objects.exists()


def test_an_outsider_gets_404_on_every_order_endpoint(api_client_for, charlie, purchase):
    client = api_client_for(charlie)

    assert client.get(order_url(purchase)).status_code == 404
    for tail, payload in [
        ("pay/", {"payment_method": CARD_OK}),
        ("cancel/", {"reason": "mine now"}),
        ("place/", {}),
        ("setup-intent/", {}),
        ("deliver/", {}),
    ]:
        assert client.post(order_url(purchase, tail), payload).status_code == 404, tail
    assert client.get(f"{API}/orders/").json()["results"] == []
    purchase.refresh_from_db()
    assert purchase.status == Order.Status.AWAITING_PAYMENT
    assert not Payment.objects.exists()


def test_a_viewer_reads_but_may_not_order_pay_or_cancel(
    api_client_for, vera, alice_unit, certified, purchase
):
    client = api_client_for(vera)

    assert client.get(order_url(purchase)).status_code == 200
    assert client.post(order_url(purchase, "pay/"), {"payment_method": CARD_OK}).status_code == 403
    assert client.post(order_url(purchase, "cancel/"), {"reason": "no"}).status_code == 403
    created = client.post(
        f"{API}/orders/",
        {
            "unit": str(alice_unit.public_id),
            "solution": str(certified.solution.public_id),
            "mode": "purchase",
        },
    )
    assert created.status_code == 403
    assert Order.objects.count() == 1
    purchase.refresh_from_db()
    assert purchase.status == Order.Status.AWAITING_PAYMENT
    assert not Payment.objects.exists()


def test_orders_filter_by_status_and_unit(
    api_client_for, alice, alice_org, alice_unit, regions, certified, purchase
):
    from tests import factories

    other_unit = factories.unit_for(alice_org, by=alice, region=regions["grid"], name="二号店")
    draft = orders.order_create(unit=other_unit, revision=certified, mode="lease", by=alice)
    client = api_client_for(alice)

    def ids(query):
        response = client.get(f"{API}/orders/", query)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids({}) == {str(purchase.public_id), str(draft.public_id)}
    assert ids({"status": "draft"}) == {str(draft.public_id)}
    assert ids({"unit": str(alice_unit.public_id)}) == {str(purchase.public_id)}
    bad = client.get(f"{API}/orders/", {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()


def test_order_list_query_count_is_constant(
    api_client_for, alice, alice_unit, certified, django_assert_max_num_queries
):
    client = api_client_for(alice)
    orders.order_create(unit=alice_unit, revision=certified, mode="purchase", by=alice)
    one = query_count(client, f"{API}/orders/")
    for _ in range(4):
        orders.order_create(unit=alice_unit, revision=certified, mode="lease", by=alice)

    with django_assert_max_num_queries(one):
        assert len(client.get(f"{API}/orders/").json()["results"]) == 5


# Fulfilment, refunds -------------------------------------------------------------------------


def test_vendor_prepares_and_ships_and_the_unit_confirms_delivery(
    api_client_for, vince, alice, paid_purchase
):
    vendor_client = api_client_for(vince)
    listed = vendor_client.get(f"{API}/vendor/orders/", {"status": "paid"}).json()["results"]
    assert [row["id"] for row in listed] == [str(paid_purchase.public_id)]
    assert listed[0]["ship_to"]["address"] == "泰康路210弄"

    assert vendor_client.post(vendor_order_url(paid_purchase, "prepare/")).json()["status"] == (
        "fulfilling"
    )
    # Shipping goes with the devices (devices API, tested there); here the service does it.
    orders.order_ship(
        order=paid_purchase, by=vince, carrier="SF Express", tracking_number="SF1234567890"
    )
    shipped = vendor_client.get(vendor_order_url(paid_purchase, ""))
    assert (shipped.json()["status"], shipped.json()["tracking_number"]) == (
        "shipped",
        "SF1234567890",
    )
    delivered = api_client_for(alice).post(order_url(paid_purchase, "deliver/"))
    assert delivered.status_code == 200 and delivered.json()["status"] == "completed"


def test_partial_then_full_refund_makes_the_order_refunded(api_client_for, vince, paid_purchase):
    client = api_client_for(vince)
    url = vendor_order_url(paid_purchase, "refunds/")

    first = client.post(url, {"amount": 100_00, "reason": "One detector not needed"})

    assert first.status_code == 201, first.json()
    assert first.json()["amount"] == 100_00 and first.json()["id"].startswith("re_")
    detail = client.get(vendor_order_url(paid_purchase)).json()
    assert (detail["status"], detail["amount_refunded"]) == ("paid", 100_00)

    too_much = client.post(url, {"amount": PURCHASE_DUE, "reason": "Everything"})
    assert too_much.status_code == 400 and "amount" in too_much.json()
    assert Refund.objects.count() == 1

    rest = client.post(url, {"amount": PURCHASE_DUE - 100_00, "reason": "Cancelled the shop"})

    assert rest.status_code == 201
    detail = client.get(vendor_order_url(paid_purchase)).json()
    assert detail["status"] == "refunded"
    assert detail["amount_refunded"] == detail["amount_paid"] == PURCHASE_DUE
    assert [r["amount"] for r in detail["refunds"]] == [PURCHASE_DUE - 100_00, 100_00]


def test_refund_input_is_checked_by_field(api_client_for, vince, paid_purchase):
    client = api_client_for(vince)
    url = vendor_order_url(paid_purchase, "refunds/")

    zero = client.post(url, {"amount": 0, "reason": "x"})
    no_reason = client.post(url, {"amount": 100})

    assert zero.status_code == 400 and "amount" in zero.json()
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert not Refund.objects.exists()


def test_vendor_roles_and_other_vendors(
    api_client_for, vendor_staff, vendor_viewer, wendy, other_vendor, alice, paid_purchase
):
    viewer = api_client_for(vendor_viewer)
    staff = api_client_for(vendor_staff)
    outsider = api_client_for(wendy)

    assert viewer.get(vendor_order_url(paid_purchase)).status_code == 200
    assert viewer.post(vendor_order_url(paid_purchase, "prepare/")).status_code == 403
    refund = {"amount": 100, "reason": "goodwill"}
    assert staff.post(vendor_order_url(paid_purchase, "refunds/"), refund).status_code == 403
    for tail in ["", "prepare/", "refunds/"]:
        method = outsider.get if not tail else outsider.post
        assert method(vendor_order_url(paid_purchase, tail), refund).status_code == 404, tail
    assert outsider.get(f"{API}/vendor/orders/").json()["results"] == []
    # A unit is no vendor: its own order is not on the vendor side.
    assert api_client_for(alice).get(vendor_order_url(paid_purchase)).status_code == 404
    assert api_client_for(alice).get(f"{API}/vendor/orders/").status_code == 404
    assert not Refund.objects.exists()
    paid_purchase.refresh_from_db()
    assert paid_purchase.status == Order.Status.PAID
    assert staff.post(vendor_order_url(paid_purchase, "prepare/")).status_code == 200


def test_drafts_are_not_on_the_vendor_side(api_client_for, vince, alice, alice_unit, certified):
    draft = orders.order_create(unit=alice_unit, revision=certified, mode="purchase", by=alice)
    client = api_client_for(vince)

    assert client.get(f"{API}/vendor/orders/").json()["results"] == []
    assert client.get(vendor_order_url(draft)).status_code == 404


def test_vendor_order_list_query_count_is_constant(
    api_client_for, vince, alice, alice_unit, certified, django_assert_max_num_queries
):
    def placed():
        order = orders.order_create(unit=alice_unit, revision=certified, mode="purchase", by=alice)
        orders.order_place(order=order, by=alice)

    client = api_client_for(vince)
    placed()
    one = query_count(client, f"{API}/vendor/orders/")
    for _ in range(4):
        placed()

    with django_assert_max_num_queries(one):
        assert len(client.get(f"{API}/vendor/orders/").json()["results"]) == 5


# Leases ---------------------------------------------------------------------------------------


def test_a_lease_from_payment_through_delivery_choice_and_return(
    api_client_for, alice, vince, vendor_viewer, wendy, charlie, paid_lease
):
    unit = api_client_for(alice)
    vendor = api_client_for(vince)
    [lease] = unit.get(f"{API}/leases/").json()["results"]
    assert lease["status"] == "pending" and lease["order"] == str(paid_lease.public_id)
    assert (lease["monthly_fee"], lease["deposit"]) == (2 * 8_00, 2 * 50_00)
    lease_url = f"{API}/leases/{lease['id']}/"
    assert api_client_for(charlie).get(lease_url).status_code == 404

    orders.order_ship(order=paid_lease, by=vince, carrier="SF", tracking_number="1")
    assert unit.post(order_url(paid_lease, "deliver/")).json()["status"] == "completed"
    started = unit.get(lease_url).json()
    today = timezone.localdate()
    assert started["status"] == "active" and started["start_date"] == today.isoformat()
    assert started["next_payment_on"] == subscriptions.add_months(today, 1).isoformat()

    too_early = unit.post(f"{lease_url}choice/", {"choice": "return"})
    assert too_early.status_code == 400 and "choice" in too_early.json()
    bad = unit.post(f"{lease_url}choice/", {"choice": "keep"})
    assert bad.status_code == 400 and "choice" in bad.json()

    end = subscriptions.add_months(today, 12)
    with time_machine.travel(end - timedelta(days=10)):
        chosen = unit.post(f"{lease_url}choice/", {"choice": "return"})
        assert chosen.status_code == 200, chosen.json()
        assert chosen.json()["end_choice"] == "return"
        subscriptions.leases_roll()

        returned_url = f"{API}/vendor/leases/{lease['id']}/returned/"
        assert api_client_for(wendy).post(returned_url).status_code == 404
        assert api_client_for(vendor_viewer).post(returned_url).status_code == 403
        returned = vendor.post(returned_url)

    assert returned.status_code == 200, returned.json()
    assert returned.json()["status"] == "returned"
    transitions = unit.get(lease_url).json()["transitions"]
    assert [(t["from_status"], t["to_status"]) for t in transitions] == [
        ("", "pending"),
        ("pending", "active"),
        ("active", "ending"),
        ("ending", "returned"),
    ]


def _leases(order, how_many):
    return Lease.objects.bulk_create(
        Lease(
            order=order,
            unit=order.unit,
            vendor=order.vendor,
            term_months=12,
            monthly_fee=1600,
            deposit=10000,
        )
        for _ in range(how_many)
    )


def test_lease_lists_query_count_is_constant(
    api_client_for, alice, vince, lease_order, django_assert_max_num_queries
):
    _leases(lease_order, 1)
    unit, vendor = api_client_for(alice), api_client_for(vince)
    unit_one = query_count(unit, f"{API}/leases/")
    vendor_one = query_count(vendor, f"{API}/vendor/leases/")
    _leases(lease_order, 4)

    with django_assert_max_num_queries(unit_one):
        assert len(unit.get(f"{API}/leases/").json()["results"]) == 5
    with django_assert_max_num_queries(vendor_one):
        assert len(vendor.get(f"{API}/vendor/leases/").json()["results"]) == 5


# Invoices and monitoring ----------------------------------------------------------------------


def test_monitoring_and_its_invoice_are_listed_for_the_unit_only(
    api_client_for, alice, charlie, charlie_unit, alice_unit, certified, paid_purchase
):
    subscriptions.monitoring_quantity_set(unit=alice_unit, solution=certified.solution, quantity=2)
    client = api_client_for(alice)

    [monitoring] = client.get(f"{API}/monitoring/").json()["results"]
    [invoice] = client.get(f"{API}/invoices/").json()["results"]

    assert monitoring["status"] == "active" and monitoring["quantity"] == 2
    assert monitoring["monthly_total"] == 2 * 5_00
    assert monitoring["solution"] == str(certified.solution.public_id)
    assert invoice["subscription"] == monitoring["id"]
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 2 * 5_00)
    outsider = api_client_for(charlie)
    assert outsider.get(f"{API}/monitoring/").json()["results"] == []
    assert outsider.get(f"{API}/invoices/").json()["results"] == []


def test_invoice_and_monitoring_lists_query_count_is_constant(
    api_client_for, alice, alice_unit, certified, lease_order, django_assert_max_num_queries
):
    [lease] = _leases(lease_order, 1)
    numbers = count()

    def grow(how_many):
        for _ in range(how_many):
            number = next(numbers)
            subscription = MonitoringSubscription.objects.create(
                unit=alice_unit,
                solution=certified.solution,
                vendor=lease.vendor,
                unit_price=500,
                quantity=2,
                status=MonitoringSubscription.Status.CANCELLED,
                stripe_subscription=f"sub_test_{number}",
            )
            Invoice.objects.create(
                stripe_invoice=f"in_test_lease_{number}",
                unit=alice_unit,
                vendor=lease.vendor,
                lease=lease,
                status=Invoice.Status.PAID,
                amount_due=1600,
                amount_paid=1600,
                issued_at=timezone.now(),
            )
            Invoice.objects.create(
                stripe_invoice=f"in_test_monitoring_{number}",
                unit=alice_unit,
                vendor=lease.vendor,
                subscription=subscription,
                status=Invoice.Status.OPEN,
                amount_due=1000,
                issued_at=timezone.now(),
            )

    client = api_client_for(alice)
    grow(1)
    invoices_one = query_count(client, f"{API}/invoices/")
    monitoring_one = query_count(client, f"{API}/monitoring/")
    grow(4)

    with django_assert_max_num_queries(invoices_one):
        assert len(client.get(f"{API}/invoices/").json()["results"]) == 10
    with django_assert_max_num_queries(monitoring_one):
        assert len(client.get(f"{API}/monitoring/").json()["results"]) == 5


# Settlements ----------------------------------------------------------------------------------


def test_a_months_settlement_totals_are_the_sum_of_its_entries(
    api_client_for, vince, wendy, other_vendor, paid_purchase, paid_lease
):
    client = api_client_for(vince)
    client.post(vendor_order_url(paid_purchase, "refunds/"), {"amount": 50_00, "reason": "dent"})

    [month] = client.get(f"{API}/vendor/settlements/").json()
    statement = client.get(f"{API}/vendor/settlements/{month['month']}/").json()

    assert month["month"] == f"{timezone.localdate():%Y-%m}"
    entries = statement["entries"]
    assert statement["entry_count"] == month["entry_count"] == len(entries)
    assert statement["payout"] == month["payout"] == sum(e["amount"] for e in entries)
    for total, kind in [
        ("sales", "sale"),
        ("instalments", "lease_instalment"),
        ("deposits", "deposit"),
        ("commission", "commission"),
        ("refunds", "refund_reversal"),
    ]:
        assert (
            statement[total]
            == month[total]
            == sum(e["amount"] for e in entries if e["kind"] == kind)
        ), total
    assert statement["refunds"] == -50_00
    assert statement["sales"] == PURCHASE_DUE
    assert statement["deposits"] == 2 * 50_00
    received = PURCHASE_DUE + LEASE_DUE - 50_00
    assert statement["payout"] + -statement["commission"] == received
    # Another vendor sees none of it.
    assert api_client_for(wendy).get(f"{API}/vendor/settlements/").json() == []


def test_an_empty_month_is_zero_and_a_nonsense_month_is_404(api_client_for, vince, vendor):
    client = api_client_for(vince)

    empty = client.get(f"{API}/vendor/settlements/2020-02/")
    assert empty.status_code == 200
    assert (empty.json()["payout"], empty.json()["entries"]) == (0, [])
    assert client.get(f"{API}/vendor/settlements/2020-13/").status_code == 404
    assert client.get(f"{API}/vendor/settlements/2020-2/").status_code == 404


def test_settlement_query_counts_are_constant(
    api_client_for, vince, vendor, django_assert_max_num_queries
):
    sources = count()

    def months(how_many):
        LedgerEntry.objects.bulk_create(
            LedgerEntry(
                vendor=vendor,
                kind=kind,
                amount=amount,
                source=f"ch_test_{next(sources)}",
                occurred_at=timezone.now() - timedelta(days=31 * month),
            )
            for month in range(how_many)
            for kind, amount in [("sale", 100_00), ("commission", -5_00)]
        )

    client = api_client_for(vince)
    months(1)
    month = f"{timezone.localdate():%Y-%m}"
    list_one = query_count(client, f"{API}/vendor/settlements/")
    detail_one = query_count(client, f"{API}/vendor/settlements/{month}/")
    months(5)

    with django_assert_max_num_queries(list_one):
        assert len(client.get(f"{API}/vendor/settlements/").json()) >= 5
    with django_assert_max_num_queries(detail_one):
        assert client.get(f"{API}/vendor/settlements/{month}/").json()["entry_count"] == 4
