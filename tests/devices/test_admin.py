"""The devices admin: every page opens for the operator with real rows, records stay records,
a token's hash is never shown whole, and a placement corrected here keeps the privacy rule."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.contrib import admin

from devices import services
from devices.models import (
    Device,
    DeviceEvent,
    DeviceTransition,
    InventoryImport,
    Placement,
    Reading,
)
from tests import factories
from tests.test_admin import admin_url, form_data
from units.models import Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client_for, django_user_model):
    operator = django_user_model.objects.create_superuser(
        email="ops@safeunit.cn", full_name="Operator"
    )
    return client_for(operator)


@pytest.fixture
def device_rows(client, shipped_to_alice, alice_unit, alice):
    """alice's first detector claimed, placed and reporting an alarm; the second on its way."""
    (device, token), _other = shipped_to_alice
    device = services.device_claim(
        unit=alice_unit, by=alice, serial=device.serial, claim_code=device.claim_code
    )
    services.device_place(
        device=device, by=alice, building="主楼", floor=1, space_type="kitchen", description="灶台"
    )
    event = {"id": uuid.uuid4().hex, "ts": datetime.now(UTC).isoformat(), "type": "alarm"}
    response = client.post(
        "/api/v1/ingest",
        json.dumps({"events": [event | {"values": {"smoke": 1.7}}]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
    )
    assert response.status_code == 202
    device.refresh_from_db()
    imported = InventoryImport.objects.create(
        vendor=device.vendor, name="stock.csv", source="serial,model_number\n", total_rows=1
    )
    imported.devices.add(device)
    return device


def test_every_devices_admin_page_opens_for_the_operator(operator_client, device_rows):
    registered = {
        model: model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "devices"
    }
    # Readings are the partitioned telemetry table: read on the device pages, not here.
    assert set(registered) == set(apps.get_app_config("devices").get_models()) - {Reading}

    for model in registered:
        changelist = operator_client.get(admin_url(model, "changelist"))
        assert changelist.status_code == 200, model
        assert changelist.context["cl"].result_count >= 1, model
        search = operator_client.get(admin_url(model, "changelist"), {"q": device_rows.serial})
        assert search.status_code == 200, model
        assert search.context["cl"].result_count >= 1, model
        assert operator_client.get(admin_url(model, "add")).status_code == 403, model
        first = model.objects.order_by("pk").first()
        assert operator_client.get(admin_url(model, "change", first.pk)).status_code == 200, model
        delete = operator_client.post(admin_url(model, "delete", first.pk), {"post": "yes"})
        assert delete.status_code == 403, model
        assert model.objects.filter(pk=first.pk).exists(), model

    found = operator_client.get(admin_url(Device, "changelist"), {"q": "SA-1002"})
    assert [device.serial for device in found.context["cl"].result_list] == ["SA-1002"]
    active = operator_client.get(admin_url(Device, "changelist"), {"state__exact": "active"})
    assert [device.serial for device in active.context["cl"].result_list] == [device_rows.serial]


def test_the_device_page_shows_its_history_and_placement_but_never_a_whole_token_hash(
    operator_client, device_rows
):
    page = operator_client.get(admin_url(Device, "change", device_rows.pk))

    html = page.content.decode()
    assert device_rows.token_hash not in html
    assert device_rows.token_prefix in html and device_rows.token_hash[:8] in html
    assert "灶台" in html  # the placement inline
    assert "first report after placement" in html  # the transitions inline
    assert {"token_hash", "state", "unit", "serial"}.isdisjoint(form_data(page))


def test_only_the_heartbeat_overrides_can_be_changed(operator_client, device_rows):
    url = admin_url(Device, "change", device_rows.pk)
    page = operator_client.get(url)
    assert set(page.context["adminform"].form.fields) == {
        "heartbeat_interval_s",
        "heartbeat_grace_s",
    }
    data = form_data(page)
    data |= {"heartbeat_interval_s": 600, "state": "retired", "token_hash": "0" * 64}

    response = operator_client.post(url, data)

    assert response.status_code == 302
    device = Device.objects.get(pk=device_rows.pk)
    assert device.heartbeat_interval_s == 600
    assert (device.state, device.token_hash) == ("active", device_rows.token_hash)


def test_a_placement_corrected_here_keeps_the_privacy_rule(
    operator_client, shipped, alice_org, alice, regions
):
    estate = factories.unit_for(
        alice_org, by=alice, region=regions["grid"], name="春江小区", kind=Unit.Kind.ESTATE
    )
    device, _token = shipped
    device = services.device_claim(
        unit=estate, by=alice, serial=device.serial, claim_code=device.claim_code
    )
    placement = services.device_place(
        device=device,
        by=alice,
        building="3号楼",
        floor=5,
        space_type="corridor",
        description="电梯厅",
    )
    url = admin_url(Placement, "change", placement.pk)
    data = form_data(operator_client.get(url))

    for private in ("kitchen", "inside_home"):
        response = operator_client.post(url, data | {"space_type": private})
        assert response.status_code == 200
        assert "space_type" in response.context["adminform"].form.errors, private
    assert Placement.objects.get(pk=placement.pk).space_type == "corridor"

    response = operator_client.post(url, data | {"space_type": "stairwell", "floor": 6})

    assert response.status_code == 302
    placement.refresh_from_db()
    assert (placement.space_type, placement.floor) == ("stairwell", 6)


def test_events_and_transitions_are_read_only(operator_client, device_rows):
    event = DeviceEvent.objects.get()
    transition = DeviceTransition.objects.filter(device=device_rows).last()

    for model, row in ((DeviceEvent, event), (DeviceTransition, transition)):
        page = operator_client.get(admin_url(model, "change", row.pk))
        assert not page.context["has_change_permission"], model
        assert operator_client.post(admin_url(model, "change", row.pk), {}).status_code == 403
    assert "1.7" in operator_client.get(admin_url(DeviceEvent, "change", event.pk)).content.decode()
