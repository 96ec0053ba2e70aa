"""The monitoring subscription follows the unit's reporting devices (against localstripe): it
opens when devices first report, at the price in alice's order, shrinks as devices retire and
is cancelled with the last one. Activation at ingest wakes the sync through Celery."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from billing import gateway
from billing.models import MonitoringSubscription
from billing.services import orders
from devices import services
from devices.models import Device
from tests.billing.conftest import wait_for

SubStatus = MonitoringSubscription.Status


def report(client, token):
    event = {"id": uuid.uuid4().hex, "ts": datetime.now(UTC).isoformat(), "type": "heartbeat"}
    response = client.post(
        "/api/v1/ingest",
        json.dumps({"events": [event]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
    )
    assert response.status_code == 202, response.content
    return response


@pytest.fixture
def installed(shipped_to_alice, paid_purchase, alice_unit, alice):
    """alice received her order, claimed both detectors and placed them; none has reported."""
    orders.order_deliver(order=paid_purchase, by=alice)
    installed = []
    for floor, (device, token) in enumerate(shipped_to_alice, start=1):
        device = services.device_claim(
            unit=alice_unit, by=alice, serial=device.serial, claim_code=device.claim_code
        )
        services.device_place(
            device=device,
            by=alice,
            building="主楼",
            floor=floor,
            space_type="shop_floor",
            description="吊顶",
        )
        installed.append((device, token))
    return installed


def at_stripe(subscription: MonitoringSubscription) -> dict:
    return gateway.subscription_retrieve(subscription.stripe_subscription)


@pytest.mark.django_db
def test_the_subscription_follows_the_active_devices(
    client, installed, paid_purchase, alice_unit, alice, vince, certified
):
    solution = certified.solution
    # Placed but silent: nothing to monitor yet.
    assert services.monitoring_sync(unit=alice_unit) == {}
    assert not MonitoringSubscription.objects.exists()

    for _device, token in installed:
        report(client, token)
    assert set(Device.objects.values_list("state", flat=True)) == {Device.State.ACTIVE}

    assert services.monitoring_sync(unit=alice_unit) == {solution.pk: 2}

    subscription = MonitoringSubscription.objects.get(unit=alice_unit)
    price = paid_purchase.snapshot["monitoring_fee"]
    assert (subscription.status, subscription.quantity) == (SubStatus.ACTIVE, 2)
    assert (subscription.unit_price, subscription.vendor) == (price, paid_purchase.vendor)
    stripe = at_stripe(subscription)
    assert (stripe["status"], stripe["quantity"]) == ("active", 2)
    assert stripe["items"]["data"][0]["plan"]["amount"] == price

    # Running it again changes nothing.
    services.monitoring_sync(unit=alice_unit)
    assert MonitoringSubscription.objects.get().quantity == 2

    (first, _token), (second, _token) = installed
    services.device_retire(device=first, by=alice, reason="外壳损坏")
    assert services.monitoring_sync(unit=alice_unit) == {solution.pk: 1}
    subscription.refresh_from_db()
    assert subscription.quantity == 1 and at_stripe(subscription)["quantity"] == 1

    services.device_retire(device=second, by=vince, reason="召回")
    assert services.monitoring_sync(unit=alice_unit) == {solution.pk: 0}
    subscription.refresh_from_db()
    assert (subscription.status, subscription.quantity) == (SubStatus.CANCELLED, 0)
    assert at_stripe(subscription)["status"] == "canceled"


@pytest.mark.celery
def test_activation_at_ingest_opens_the_subscription_through_the_worker(
    celery_worker, client, installed, alice_unit, alice
):
    (device, token), _other = installed

    report(client, token)  # the first report after placement wakes devices.tasks.monitoring_sync

    subscription = wait_for(
        lambda: MonitoringSubscription.objects.filter(unit=alice_unit).first(), timeout=20
    )
    assert subscription.quantity == 1 and at_stripe(subscription)["quantity"] == 1

    # Retiring it syncs again after commit: the last device gone, the subscription ends.
    services.device_retire(device=Device.objects.get(pk=device.pk), by=alice, reason="停用")

    wait_for(
        lambda: MonitoringSubscription.objects.filter(
            pk=subscription.pk, status=SubStatus.CANCELLED
        ).exists(),
        timeout=20,
    )
    assert at_stripe(subscription)["status"] == "canceled"
