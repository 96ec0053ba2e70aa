"""The devices demo (`load_demo` → `load_devices_demo`): stock for the demo vendor, the
estate's order shipped, and a printed device that the estate manager can claim and the
simulator can bring online. Safe to run twice."""

import json
import re
import uuid
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from billing.models import Order
from devices import services
from devices.models import Device
from marketplace.models import Vendor
from units.models import Unit

pytestmark = pytest.mark.django_db
CLAIM = re.compile(r"claim (SA-DEMO-\d{4}) with claim code ([A-Z0-9]{8})")
SIMULATE = re.compile(
    r"python scripts/simulate_device\.py (dv_\S+) --url (\S+)((?: --metric \S+)+)"
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_demo() -> str:
    output = StringIO()
    call_command("load_demo", stdout=output)
    return output.getvalue()


def test_the_demo_vendor_has_stock_and_the_estates_order_is_on_its_way():
    first = load_demo()
    counts = Device.objects.count(), Device.objects.filter(state="shipped").count()
    second = load_demo()

    assert (Device.objects.count(), Device.objects.filter(state="shipped").count()) == counts
    vendor = Vendor.objects.get(organisation__name="申安消防科技（演示）")
    stock = Device.objects.filter(vendor=vendor, state=Device.State.IN_STOCK)
    assert stock.count() >= 40
    assert {device.serial[:8] for device in stock} == {"SA-DEMO-"}
    assert set(stock.values_list("device_model__model_number", flat=True)) == {
        "SA-S100",
        "SA-SH200",
        "SA-G10",
        "SA-E300",
    }
    order = Order.objects.get(unit__name="春江小区")
    assert (order.status, order.carrier) == (Order.Status.SHIPPED, "顺丰速运")
    shipped = Device.objects.filter(order_line__order=order)
    assert shipped.count() == order.devices == 19  # a monitor per floor and a gateway
    assert set(shipped.values_list("state", flat=True)) == {Device.State.SHIPPED}
    # The same device and token are printed on every run.
    assert CLAIM.search(first).groups() == CLAIM.search(second).groups()
    assert SIMULATE.search(first).groups() == SIMULATE.search(second).groups()


def test_the_printed_device_is_claimed_placed_and_brought_online(client):
    output = load_demo()
    serial, claim_code = CLAIM.search(output).groups()
    token, _url, metrics = SIMULATE.search(output).groups()
    assert "--metric residual_current=" in metrics

    manager = User.objects.get(email="estate@demo.safeunit.cn")
    estate = Unit.objects.get(name="春江小区")
    device = services.device_claim(unit=estate, by=manager, serial=serial, claim_code=claim_code)
    services.device_place(
        device=device,
        by=manager,
        building="1号楼",
        floor=1,
        space_type="corridor",
        description="一楼配电间外墙",
    )
    event = {"id": uuid.uuid4().hex, "ts": datetime.now(UTC).isoformat(), "type": "heartbeat"}
    response = client.post(
        "/api/v1/ingest",
        json.dumps({"events": [event]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
    )

    assert response.status_code == 202
    device.refresh_from_db()
    assert device.state == Device.State.ACTIVE and device.device_model.model_number == "SA-E300"
    # Claimed now: a later run no longer offers its claim code, but still prints its token.
    again = load_demo()
    assert serial not in (CLAIM.search(again) or [""])[0]
    assert token in again
