"""Devices fixtures: vince's stock, a device shipped and placed in alice's shop, and alice's
paid purchase fulfilled the real way (allocated and shipped by vince). Test modules may define
fixtures of the same names for their own needs (tests/devices/test_ingest.py does)."""

import pytest

from devices import services
from devices.models import Device
from tests.billing.conftest import order_paid, purchase  # noqa: F401  (a fixture, used below)


@pytest.fixture
def provisioned(vendor, smoke_detector, vince):
    """(device, token): one detector in vince's stock."""
    return services.device_provision(
        vendor=vendor, device_model=smoke_detector, serial="SA-0001", by=vince
    )


@pytest.fixture
def shipped(provisioned):
    """(device, token) on its way to a customer (marked shipped without an order)."""
    device, token = provisioned
    Device.objects.filter(pk=device.pk).update(state=Device.State.SHIPPED)
    device.refresh_from_db()
    return device, token


@pytest.fixture
def placed(shipped, alice_unit, alice):
    """(device, token) claimed by alice's shop and placed: its first report activates it."""
    device, token = shipped
    device = services.device_claim(
        unit=alice_unit, by=alice, serial=device.serial, claim_code=device.claim_code
    )
    services.device_place(
        device=device,
        by=alice,
        building="主楼",
        floor=1,
        space_type="shop_floor",
        description="收银台上方",
    )
    return device, token


@pytest.fixture
def paid_purchase(purchase, alice):  # noqa: F811
    """alice's purchase of two detectors, paid by card at localstripe."""
    order_paid(purchase, alice)
    return purchase


@pytest.fixture
def shipped_to_alice(paid_purchase, vendor, smoke_detector, vince):
    """[(device, token), …]: vince provisions, allocates and ships alice's paid purchase."""
    provisioned = [
        services.device_provision(
            vendor=vendor, device_model=smoke_detector, serial=f"SA-1{number:03}", by=vince
        )
        for number in range(1, paid_purchase.devices + 1)
    ]
    services.devices_allocate(
        order=paid_purchase, by=vince, serials=[device.serial for device, _ in provisioned]
    )
    services.order_ship(order=paid_purchase, by=vince, carrier="顺丰", tracking_number="SF100")
    for device, _token in provisioned:
        device.refresh_from_db()
    return provisioned
