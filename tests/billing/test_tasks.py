"""What billing does after commit, through a real Celery worker: opening a lease's
Subscription on delivery, and telling buyers when a certificate is withdrawn."""

import pytest
from django.conf import settings
from django.core import mail

from billing import notifications
from billing.models import Lease
from billing.services import orders
from config.celery import app
from marketplace import services as marketplace_services
from tests import factories
from tests.billing.conftest import order_paid, stripe_subscription, wait_for, zh


def test_every_billing_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    names = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    billing = [name for name in names if name.startswith("billing.")]

    assert sorted(billing) == [
        "billing.tasks.dunning_sweep",
        "billing.tasks.leases_roll",
        "billing.tasks.payments_reconcile",
    ]
    assert set(billing) <= set(app.tasks)
    # The marketplace sends this one by name (it may not import billing).
    assert "billing.tasks.revision_buyers_notify" in app.tasks


@pytest.mark.celery
def test_delivery_opens_the_lease_subscription_after_commit(
    celery_worker, lease_order, alice, vince
):
    order_paid(lease_order, alice)
    orders.order_prepare(order=lease_order, by=vince)
    orders.order_ship(order=lease_order, by=vince, carrier="SF", tracking_number="SF1")

    orders.order_deliver(order=lease_order, by=alice)

    lease = wait_for(
        lambda: Lease.objects.exclude(stripe_subscription="").filter(order=lease_order).first(),
        timeout=20,
    )
    assert lease.status == Lease.Status.ACTIVE
    subscription = stripe_subscription(lease.stripe_subscription)
    assert subscription["quantity"] == lease_order.devices
    assert subscription["metadata"]["lease"] == str(lease.public_id)


def _buyers_told(purchase, alice, certified, rita):
    """alice has paid for the certified kit; charlie only ordered it, unpaid."""
    order_paid(purchase, alice)
    return marketplace_services.certificate_suspend(
        revision=certified, by=rita, reason="抽检不合格"
    )


def test_a_withdrawn_certificate_is_sent_to_the_managers_of_units_that_paid(
    purchase, alice, alice_org, bob, certified, rita, charlie, charlie_unit
):
    manager = factories.UserFactory(email="mia@example.cn")
    factories.member_add(alice_org, manager, "manager")
    charlie_order = orders.order_create(
        unit=charlie_unit, revision=certified, mode="purchase", by=charlie
    )
    orders.order_place(order=charlie_order, by=charlie)
    revision = _buyers_told(purchase, alice, certified, rita)

    assert notifications.revision_buyers_send(revision_id=revision.pk) is True

    (message,) = mail.outbox
    assert sorted(message.to) == sorted([alice.email, manager.email])  # not bob (staff)
    assert certified.name in message.subject
    assert (
        zh(
            "Your devices and their monitoring keep working; alarms are routed as before. "
            "New orders of this solution are not possible for now."
        )
        in message.body
    )


def test_the_order_paid_mail_reaches_each_vendor_manager_in_their_own_language(
    purchase, alice, vendor, vince
):
    """vince never chose a language (Chinese); his colleague Ewan reads English."""
    ewan = factories.UserFactory(email="ewan@example.cn", full_name="Ewan", language="en")
    factories.member_add(vendor.organisation, ewan, "manager")
    order_paid(purchase, alice)

    assert notifications.order_paid_send(order_id=purchase.pk) is True

    to_ewan = next(message for message in mail.outbox if message.to == [ewan.email])
    to_vince = next(message for message in mail.outbox if message.to == [vince.email])
    assert len(mail.outbox) == 2
    assert to_ewan.subject == f"New order {purchase.number} to fulfil"
    assert f"Alice's shop paid for {purchase.devices} devices of" in to_ewan.body
    assert to_vince.subject == zh("New order %(number)s to fulfil", number=purchase.number)
    assert "台设备付款" in to_vince.body and "paid for" not in to_vince.body


def test_nobody_is_told_when_nobody_paid(purchase, certified, rita):
    revision = marketplace_services.certificate_suspend(
        revision=certified, by=rita, reason="抽检不合格"
    )

    assert notifications.revision_buyers_send(revision_id=revision.pk) is False
    assert not mail.outbox


@pytest.mark.celery
def test_the_marketplace_tells_billing_by_name_and_the_worker_sends_it(
    celery_worker, purchase, alice, certified, rita
):
    _buyers_told(purchase, alice, certified, rita)

    message = wait_for(
        lambda: next((m for m in mail.outbox if alice.email in m.to), None), timeout=20
    )
    assert certified.name in message.subject
