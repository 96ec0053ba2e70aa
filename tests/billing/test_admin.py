"""The billing admin: every page opens for the operator with real rows (made against
localstripe), money and Stripe's copies cannot be added, changed or deleted here, and a failed
Stripe event can be processed again."""

import pytest
from django.apps import apps
from django.contrib import admin

from billing.models import (
    Invoice,
    LedgerEntry,
    MonitoringSubscription,
    Order,
    Payment,
    Refund,
    WebhookEvent,
)
from billing.services import payments, subscriptions
from tests.billing.conftest import CARD_OK, event
from tests.test_admin import admin_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client_for, django_user_model):
    operator = django_user_model.objects.create_superuser(
        email="ops@safeunit.cn", full_name="Operator"
    )
    return client_for(operator)


def _paid(order, by):
    payment = payments.order_pay(order=order, by=by, payment_method=CARD_OK)
    payments.payment_intent_sync(payment_intent=payment.stripe_payment_intent)
    order.refresh_from_db()
    return order


@pytest.fixture
def billing_rows(purchase, lease_order, alice, vince, alice_unit, certified):
    """A row of every billing model: a bought order partly refunded, a leased one, a
    monitoring subscription with its first invoice, and a Stripe event."""
    purchase = _paid(purchase, alice)
    payments.order_refund(order=purchase, by=vince, amount=10_00, reason="One label missing")
    _paid(lease_order, alice)
    subscriptions.monitoring_quantity_set(unit=alice_unit, solution=certified.solution, quantity=2)
    intent = purchase.payments.get().stripe_payment_intent
    WebhookEvent.objects.create(
        stripe_event="evt_admin_seen",
        type="payment_intent.succeeded",
        payload=event("payment_intent.succeeded", {"id": intent}, "evt_admin_seen"),
        status=WebhookEvent.Status.PROCESSED,
    )
    return purchase


def test_every_billing_admin_page_opens_and_nothing_can_be_added_or_deleted(
    operator_client, billing_rows
):
    registered = [model for model in admin.site._registry if model._meta.app_label == "billing"]
    assert set(registered) == set(apps.get_app_config("billing").get_models())

    for model in registered:
        changelist = operator_client.get(admin_url(model, "changelist"))
        assert changelist.status_code == 200, model
        assert changelist.context["cl"].result_count >= 1, model
        search = operator_client.get(admin_url(model, "changelist"), {"q": billing_rows.number})
        assert search.status_code == 200, model
        assert operator_client.get(admin_url(model, "add")).status_code == 403, model
        first = model.objects.order_by("pk").first()
        change = operator_client.get(admin_url(model, "change", first.pk))
        assert change.status_code == 200, model
        assert not change.context["has_change_permission"], model
        delete = operator_client.post(admin_url(model, "delete", first.pk), {"post": "yes"})
        assert delete.status_code == 403, model
        assert model.objects.filter(pk=first.pk).exists(), model


def test_the_order_page_shows_lines_payments_refunds_and_history(operator_client, billing_rows):
    page = operator_client.get(admin_url(Order, "change", billing_rows.pk))

    content = page.content.decode()
    inlines = {inline.opts.model for inline in page.context["inline_admin_formsets"]}
    assert {"OrderLine", "Payment", "Refund", "StatusChange"} <= {m.__name__ for m in inlines}
    assert billing_rows.payments.get().stripe_payment_intent in content
    assert billing_rows.refunds.get().stripe_refund in content
    assert "One label missing" in content
    assert "SA-S100" in content


def test_search_and_filters_find_the_rows_an_operator_looks_for(operator_client, billing_rows):
    intent = billing_rows.payments.get().stripe_payment_intent

    by_intent = operator_client.get(admin_url(Order, "changelist"), {"q": intent})
    assert list(by_intent.context["cl"].result_list) == [billing_rows]
    by_unit = operator_client.get(admin_url(Order, "changelist"), {"q": "Alice's shop"})
    assert by_unit.context["cl"].result_count == 2
    paid = operator_client.get(admin_url(Order, "changelist"), {"status__exact": "paid"})
    assert {order.mode for order in paid.context["cl"].result_list} == {"purchase", "lease"}
    refunds = operator_client.get(admin_url(Refund, "changelist"), {"q": "label"})
    assert refunds.context["cl"].result_count == 1
    commission = operator_client.get(
        admin_url(LedgerEntry, "changelist"), {"kind__exact": "commission"}
    )
    assert (
        commission.context["cl"].result_count
        == LedgerEntry.objects.filter(kind="commission").count()
    )
    invoice = Invoice.objects.get()
    found = operator_client.get(admin_url(Invoice, "changelist"), {"q": invoice.stripe_invoice})
    assert list(found.context["cl"].result_list) == [invoice]
    monitoring = operator_client.get(
        admin_url(MonitoringSubscription, "changelist"), {"status__exact": "active"}
    )
    assert monitoring.context["cl"].result_count == 1


def test_an_order_cannot_be_changed_in_the_admin(operator_client, billing_rows):
    response = operator_client.post(
        admin_url(Order, "change", billing_rows.pk), {"status": "refunded", "amount_paid": 0}
    )

    assert response.status_code == 403
    billing_rows.refresh_from_db()
    assert billing_rows.status == Order.Status.PAID
    assert billing_rows.amount_paid > 0


def test_processing_a_failed_event_again_pays_the_order(operator_client, purchase, alice):
    payment = payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)
    failed = WebhookEvent.objects.create(
        stripe_event="evt_admin_failed",
        type="payment_intent.succeeded",
        payload=event(
            "payment_intent.succeeded", {"id": payment.stripe_payment_intent}, "evt_admin_failed"
        ),
        status=WebhookEvent.Status.FAILED,
        attempts=1,
        error="OperationalError('the database went away')",
    )
    gone = WebhookEvent.objects.create(
        stripe_event="evt_admin_gone",
        type="payment_intent.succeeded",
        payload=event("payment_intent.succeeded", {"id": "pi_nobody"}, "evt_admin_gone"),
        status=WebhookEvent.Status.FAILED,
        attempts=1,
    )
    still_broken = WebhookEvent.objects.create(
        stripe_event="evt_admin_broken",
        type="payment_intent.succeeded",
        payload=event("payment_intent.succeeded", {}, "evt_admin_broken"),
        status=WebhookEvent.Status.FAILED,
        attempts=1,
    )

    response = operator_client.post(
        admin_url(WebhookEvent, "changelist"),
        {
            "action": "process_again",
            "index": "0",
            "_selected_action": [failed.pk, gone.pk, still_broken.pk],
        },
        follow=True,
    )

    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert shown == [
        "1 event processed.",
        "1 event ignored: Stripe no longer has its object.",
        "1 event failed again.",
    ]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error) == ("processed", 2, "")
    purchase.refresh_from_db()
    assert purchase.status == Order.Status.PAID
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SUCCEEDED
    gone.refresh_from_db()
    assert gone.status == "ignored"
    still_broken.refresh_from_db()
    assert (still_broken.status, still_broken.attempts) == ("failed", 2)
    assert "KeyError" in still_broken.error


def test_events_that_did_not_fail_are_left_alone(operator_client, purchase, alice):
    payment = payments.order_pay(order=purchase, by=alice, payment_method=CARD_OK)
    received = WebhookEvent.objects.create(
        stripe_event="evt_admin_received",
        type="payment_intent.succeeded",
        payload=event("payment_intent.succeeded", {"id": payment.stripe_payment_intent}),
        status=WebhookEvent.Status.IGNORED,
    )

    response = operator_client.post(
        admin_url(WebhookEvent, "changelist"),
        {"action": "process_again", "index": "0", "_selected_action": [received.pk]},
        follow=True,
    )

    shown = [str(message) for message in response.context["messages"]]
    assert shown == ["1 event had not failed and was left alone."]
    received.refresh_from_db()
    assert received.attempts == 0
    purchase.refresh_from_db()
    assert purchase.status == Order.Status.AWAITING_PAYMENT


def test_only_those_who_may_change_events_may_process_them_again(client_for, django_user_model):
    from django.contrib.auth.models import Permission

    reader = django_user_model.objects.create_user(
        email="reader@safeunit.cn", full_name="Reader", is_staff=True
    )
    reader.user_permissions.add(Permission.objects.get(codename="view_webhookevent"))

    page = client_for(reader).get(admin_url(WebhookEvent, "changelist"))

    assert page.status_code == 200
    action_form = page.context["action_form"]
    assert action_form is None or "process_again" not in dict(action_form.fields["action"].choices)
