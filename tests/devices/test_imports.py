"""Bulk provisioning from a CSV: every bad row is reported with its row number and reason and
the rest is imported; the file is refused as a whole only when it is not a usable CSV; the
task records its progress per chunk, caps the refusals it lists, resumes after a dead worker,
and runs on a real Celery worker from the upload page."""

import os
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from devices import imports, services
from devices.ingest import token_hash
from devices.models import Device, DeviceTransition, InventoryImport
from marketplace import services as marketplace_services
from marketplace.models import DeviceModel
from tests.billing.conftest import wait_for
from tests.conftest import CHROMIUM

Status = InventoryImport.Status


def upload(vendor, by, text: str, *, name="stock.csv", encoding="utf-8") -> InventoryImport:
    return imports.inventory_import_create(
        vendor=vendor, by=by, name=name, content=text.encode(encoding)
    )


def run(inventory_import: InventoryImport) -> InventoryImport:
    imports.inventory_import_run(inventory_import_id=inventory_import.pk)
    inventory_import.refresh_from_db()
    return inventory_import


@pytest.fixture
def heat_detector(vendor, vince, fire):
    return marketplace_services.device_model_save(
        vendor=vendor,
        by=vince,
        scenarios=[fire],
        name="感温探测器",
        model_number="SA-H200",
        category=DeviceModel.Category.HEAT_DETECTOR,
        metrics=[{"name": "temperature", "unit": "°C"}],
        heartbeat_interval_s=3600,
        heartbeat_grace_s=600,
        protocol=DeviceModel.Protocol.HTTP,
        unit_cost=8000,
    )


@pytest.fixture
def wendys_model(other_vendor, wendy, fire):
    return marketplace_services.device_model_save(
        vendor=other_vendor,
        by=wendy,
        scenarios=[fire],
        name="浦江烟感",
        model_number="PJ-1",
        category=DeviceModel.Category.SMOKE_DETECTOR,
        metrics=[],
        heartbeat_interval_s=3600,
        heartbeat_grace_s=600,
        protocol=DeviceModel.Protocol.HTTP,
        unit_cost=5000,
    )


BAD_ROWS = "\n".join(
    [
        "serial,model_number,firmware",  # row 1
        "SA-0100,SA-S100,1.2.0",  # 2: good
        "SA-0101,SA-H200,",  # 3: good, no firmware
        "SA-0100,SA-S100,1.2.0",  # 4: the same serial as row 2
        "SA-0102,XX-999,1.0",  # 5: not one of vince's models
        ",SA-S100,1.0",  # 6: no serial
        "S" * 65 + ",SA-S100,1.0",  # 7: serial too long
        "",  # 8: blank, skipped
        "SA-0103,PJ-1,1.0",  # 9: wendy's model, not vince's
        "SA-0001,SA-S100,1.0",  # 10: already in stock (provisioned)
        "SA-0104,SA-S100," + "9" * 33,  # 11: firmware too long
        "SA-0105,,1.0",  # 12: no model number
        "  SA-0106 , SA-S100 , 2.0 ",  # 13: good, spaces trimmed
    ]
)


@pytest.mark.django_db
def test_bad_rows_are_reported_by_row_and_the_rest_is_imported(
    vendor, vince, smoke_detector, heat_detector, wendys_model, provisioned
):
    inventory_import = upload(vendor, vince, BAD_ROWS)
    assert (inventory_import.status, inventory_import.total_rows) == (Status.QUEUED, 11)

    inventory_import = run(inventory_import)

    assert inventory_import.status == Status.DONE
    assert inventory_import.finished_at is not None
    assert (inventory_import.processed_rows, inventory_import.created_count) == (11, 3)
    assert inventory_import.error_count == 8
    refused = [(e["row"], e["serial"], e["code"]) for e in inventory_import.errors]
    assert refused == [
        (4, "SA-0100", "duplicate_in_file"),
        (5, "SA-0102", "model_unknown"),
        (6, "", "serial_missing"),
        (7, "S" * 64, "serial_too_long"),
        (9, "SA-0103", "model_unknown"),
        (10, "SA-0001", "serial_exists"),
        (11, "SA-0104", "firmware_too_long"),
        (12, "SA-0105", "model_missing"),
    ]
    messages = [imports.error_message(error) for error in inventory_import.errors]
    assert messages[0] == "The same serial number is on row 2."
    assert messages[1] == "XX-999 is not one of your device models."
    assert messages[5] == "You already have a device with this serial number."

    created = {d.serial: d for d in Device.objects.filter(vendor=vendor).exclude(serial="SA-0001")}
    assert set(created) == {"SA-0100", "SA-0101", "SA-0106"}
    assert created["SA-0100"].device_model == smoke_detector
    assert created["SA-0101"].device_model == heat_detector
    assert (created["SA-0100"].firmware_version, created["SA-0106"].firmware_version) == (
        "1.2.0",
        "2.0",
    )
    for device in created.values():
        assert device.state == Device.State.IN_STOCK
        assert len(device.claim_code) == 8
        assert device.token_hash and device.token_prefix.startswith("dv_")
        transition = DeviceTransition.objects.get(device=device)
        assert (transition.to_state, transition.by, transition.reason) == (
            Device.State.IN_STOCK,
            vince,
            "CSV stock.csv",
        )
    assert set(inventory_import.devices.values_list("serial", flat=True)) == set(created)
    assert not Device.objects.filter(vendor__organisation__name="浦江智能").exists()


@pytest.mark.django_db
def test_a_file_without_header_in_gb18030_and_a_chinese_header_both_import(
    vendor, vince, smoke_detector
):
    plain = run(upload(vendor, vince, "SA-0200,SA-S100\r\nSA-0201,SA-S100,3.1\r\n"))
    chinese = run(
        upload(vendor, vince, "型号,序列号\nSA-S100,SA-0300\n", encoding="gb18030", name="库存.csv")
    )

    assert (plain.total_rows, plain.created_count, plain.errors) == (2, 2, [])
    assert (chinese.total_rows, chinese.created_count, chinese.errors) == (1, 1, [])
    assert Device.objects.get(serial="SA-0201").firmware_version == "3.1"
    assert Device.objects.get(serial="SA-0300").device_model == smoke_detector
    # An Excel "UTF-8 CSV" starts with a byte-order mark: it is not part of the serial.
    with_bom = imports.inventory_import_create(
        vendor=vendor, by=vince, name="bom.csv", content="\ufeffSA-0400,SA-S100\n".encode()
    )
    assert run(with_bom).created_count == 1
    assert Device.objects.filter(serial="SA-0400").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04\x00\x00binary", "This is not a CSV file (save the sheet as CSV)."),
        (b"\n\n  \n", "The file has no rows."),
        (b"serial_number,firmware\nSA-1,1.0\n", "the columns serial and model_number"),
        (b"serial,model_number\n", "The file has no rows."),
    ],
)
def test_a_file_that_is_not_a_usable_csv_is_refused_as_a_whole(
    vendor, vince, smoke_detector, content, message
):
    with pytest.raises(ValidationError) as refused:
        imports.inventory_import_create(vendor=vendor, by=vince, name="x.csv", content=content)

    assert message in refused.value.message_dict["file"][0]
    assert not InventoryImport.objects.exists()


@pytest.mark.django_db
def test_too_many_rows_or_bytes_are_refused_and_viewers_import_nothing(
    vendor, vince, vendor_viewer, smoke_detector, monkeypatch
):
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    with pytest.raises(ValidationError) as refused:
        upload(vendor, vince, "A,SA-S100\nB,SA-S100\nC,SA-S100\n")
    assert refused.value.message_dict["file"] == ["At most 2 rows per file: split it."]
    monkeypatch.setattr(imports, "MAX_BYTES", 10)
    with pytest.raises(ValidationError) as refused:
        upload(vendor, vince, "SA-1,SA-S100\n")
    assert refused.value.message_dict["file"] == ["The file is larger than 8 MB: split it."]
    with pytest.raises(PermissionDenied):
        upload(vendor, vendor_viewer, "A,SA-S100\n")
    assert not InventoryImport.objects.exists()


@pytest.mark.django_db
def test_progress_is_recorded_chunk_by_chunk(vendor, vince, smoke_detector, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 2)
    seen_by_the_page = []
    chunk_import = imports._chunk_import

    def recording(inventory_import, *args):
        chunk_import(inventory_import, *args)
        stored = InventoryImport.objects.get(pk=inventory_import.pk)
        seen_by_the_page.append((stored.processed_rows, stored.created_count, stored.percent))

    monkeypatch.setattr(imports, "_chunk_import", recording)
    rows = "\n".join(f"SA-{n:04},SA-S100" for n in range(5))

    inventory_import = run(upload(vendor, vince, rows + "\nSA-0000,SA-S100\n"))

    assert seen_by_the_page == [(2, 2, 33), (4, 4, 66), (6, 5, 100)]
    assert (inventory_import.status, inventory_import.error_count) == (Status.DONE, 1)


@pytest.mark.django_db
def test_refusals_beyond_the_cap_are_counted_not_listed(vendor, vince, smoke_detector, monkeypatch):
    monkeypatch.setattr(InventoryImport, "ERRORS_KEPT", 3)
    monkeypatch.setattr(imports, "CHUNK", 2)
    rows = ["GOOD-1,SA-S100", *[f"BAD-{n},NOPE" for n in range(5)], "GOOD-2,SA-S100"]

    inventory_import = run(upload(vendor, vince, "\n".join(rows)))

    assert (inventory_import.created_count, inventory_import.error_count) == (2, 5)
    assert [error["row"] for error in inventory_import.errors] == [2, 3, 4]


@pytest.mark.django_db
def test_a_run_after_a_dead_worker_resumes_after_the_last_recorded_chunk(
    vendor, vince, smoke_detector, monkeypatch
):
    monkeypatch.setattr(imports, "CHUNK", 2)
    inventory_import = upload(vendor, vince, "\n".join(f"SA-{n:04},SA-S100" for n in range(5)))
    chunk_import = imports._chunk_import
    calls = []

    def dies_on_the_second_chunk(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker is killed mid-import: nothing catches this
        return chunk_import(*args)

    monkeypatch.setattr(imports, "_chunk_import", dies_on_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        imports.inventory_import_run(inventory_import_id=inventory_import.pk)
    inventory_import.refresh_from_db()
    assert (inventory_import.status, inventory_import.processed_rows) == (Status.RUNNING, 2)

    monkeypatch.setattr(imports, "_chunk_import", chunk_import)
    inventory_import = run(inventory_import)

    assert (inventory_import.status, inventory_import.processed_rows) == (Status.DONE, 5)
    assert (inventory_import.created_count, inventory_import.errors) == (5, [])
    assert Device.objects.filter(vendor=vendor).count() == 5
    # A finished import is left alone by a late duplicate of its task.
    assert imports.inventory_import_run(inventory_import_id=inventory_import.pk) is None


@pytest.mark.django_db
def test_a_serial_provisioned_during_the_import_is_reported_not_duplicated(
    vendor, vince, smoke_detector, monkeypatch
):
    inventory_import = upload(vendor, vince, "SA-0500,SA-S100\nSA-0501,SA-S100\n")
    existing_serials = imports._existing_serials
    checks = []

    def provisioned_meanwhile(vendor_, serials):
        found = existing_serials(vendor_, serials)
        if not checks:  # someone adds SA-0501 by hand after the check, before the insert
            services.device_provision(
                vendor=vendor, device_model=smoke_detector, serial="SA-0501", by=vince
            )
        checks.append(found)
        return found

    monkeypatch.setattr(imports, "_existing_serials", provisioned_meanwhile)
    inventory_import = run(inventory_import)

    assert checks == [set(), {"SA-0501"}]  # the chunk was checked again
    assert inventory_import.status == Status.DONE
    assert inventory_import.created_count == 1
    assert [(e["row"], e["code"]) for e in inventory_import.errors] == [(2, "serial_exists")]
    assert Device.objects.filter(serial="SA-0501").count() == 1


@pytest.mark.django_db
def test_five_thousand_rows_import_in_chunks(vendor, vince, smoke_detector):
    rows = "\n".join(f"BULK-{n:06},SA-S100,1.0" for n in range(5000))

    inventory_import = run(upload(vendor, vince, "serial,model_number,firmware\n" + rows))

    assert (inventory_import.created_count, inventory_import.error_count) == (5000, 0)
    assert Device.objects.filter(vendor=vendor).count() == 5000
    assert DeviceTransition.objects.filter(device__vendor=vendor).count() == 5000
    assert inventory_import.devices.count() == 5000
    # Tokens are stored hashed and are all different; none is ever shown.
    assert Device.objects.values("token_hash").distinct().count() == 5000
    assert token_hash("dv_") not in set(Device.objects.values_list("token_hash", flat=True))


@pytest.mark.celery
def test_an_upload_through_the_page_is_imported_by_a_real_worker(
    celery_worker, client_for, vendor, vince, smoke_detector
):
    csv_file = SimpleUploadedFile(
        "batch.csv", b"serial,model_number\nW-1,SA-S100\nW-2,SA-S100\nW-1,SA-S100\n"
    )
    response = client_for(vince).post(reverse("devices:import_create"), {"file": csv_file})
    assert response.status_code == 302
    inventory_import = InventoryImport.objects.get()
    assert response.url == reverse("devices:import", args=[inventory_import.public_id])

    wait_for(lambda: InventoryImport.objects.get().status == Status.DONE)

    page = client_for(vince).get(response.url).content.decode()
    assert "2 devices added" in page and "1 row refused" in page
    assert "The same serial number is on row 2." in page
    assert 'hx-trigger="every 1s"' not in page
    assert set(Device.objects.values_list("serial", flat=True)) == {"W-1", "W-2"}


@pytest.mark.browser
@pytest.mark.celery
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is installed by make test")
def test_on_a_phone_the_progress_bar_moves_until_the_report_shows(
    celery_worker, live_server, phone, log_in, request, tmp_path
):
    request.getfixturevalue("smoke_detector")
    rows = [f"P-{n:05},SA-S100" for n in range(3000)] + ["P-00001,SA-S100", ",SA-S100"]
    csv_path = tmp_path / "batch.csv"
    csv_path.write_text("serial,model_number\n" + "\n".join(rows))
    log_in(phone, "vince@example.cn")

    phone.goto(f"{live_server.url}{reverse('devices:import_create')}")
    phone.set_input_files("#id_file", str(csv_path))
    phone.click("#import-submit")
    phone.wait_for_url(re.compile(r"/vendor/devices/imports/[0-9a-f-]{36}/$"))

    # No reload: htmx polls the report every second until the import is done (refused rows
    # show while it runs; the labels only once it has finished).
    phone.locator("#import-labels").wait_for(timeout=30_000)
    progress = phone.locator("#import-progress")
    assert progress.get_attribute("value") == progress.get_attribute("max") == "3002"
    assert phone.locator(".refused-row").count() == 2
    assert phone.locator(".import-labels").count() == 6  # 3,000 labels, 500 per PDF
    inventory_import = InventoryImport.objects.get()
    assert (inventory_import.status, inventory_import.created_count) == (Status.DONE, 3000)
    # A phone's width: nothing but the tables' own scrolling is wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
