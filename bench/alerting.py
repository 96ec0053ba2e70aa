"""Alerts benchmarks (DESIGN §9, issue 6), run by bench/run.py:

- `alarm`: 1,000 alarms, each from its own device, sent one per request through gunicorn while
  other devices keep up a background load of ~1,000 events/s; a real Celery worker on the
  configured broker processes and sends. Prints p50 / p99 of raised (the event's own time) →
  first notification sent.
- `sweep`: the offline sweep over a fleet of 1M reporting devices with 10,000 overdue, then over
  100k with the same 10,000 overdue (the cost must follow the overdue count).
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ALARMS = int(os.environ.get("BENCH_ALARMS", "1000"))
ALARM_RATE = float(os.environ.get("BENCH_ALARM_RATE", "20"))  # alarms per second
BACKGROUND_EVENTS_S = 1000
FLEET = 1_000_000
OVERDUE = 10_000
ALERTS_VENDOR = "BENCH0000000000001"


def _scene(devices: int, *, prefix: str) -> tuple[object, object, list[str]]:
    """A vendor, a fire-scenario model, a shop in a Huangpu grid with its owner, and `devices`
    active devices in it; their tokens."""
    from django.db import transaction

    from accounts import services as account_services
    from accounts.models import Organisation, User
    from devices import tokens
    from devices.models import Device
    from marketplace.models import DeviceModel, Scenario, Vendor
    from units.models import Region, Unit

    with transaction.atomic():
        vendor = Vendor.objects.filter(licence_number=ALERTS_VENDOR).first()
        if vendor is None:  # its own, so the ingest benchmark's clean-up never meets alerts
            owner = User.objects.filter(email="bench-alerts@example.com").first() or (
                account_services.user_create(
                    email="bench-alerts@example.com", password=None, full_name="bench"
                )
            )
            organisation = account_services.organisation_create(
                name="bench alerts vendor", kind=Organisation.Kind.VENDOR, owner=owner
            )
            vendor = Vendor.objects.create(
                organisation=organisation,
                licence_number=ALERTS_VENDOR,
                contact_name="bench",
                contact_phone="02100000000",
                contact_email="bench-alerts@example.com",
            )
        model, _ = DeviceModel.objects.get_or_create(
            vendor=vendor,
            model_number="BENCH-SMOKE",
            defaults={
                "name": "bench smoke detector",
                "category": DeviceModel.Category.SMOKE_DETECTOR,
                "metrics": [{"name": "smoke_density", "unit": "dB/m", "min": 0, "max": 2}],
                "heartbeat_interval_s": 3600,
                "heartbeat_grace_s": 600,
                "protocol": DeviceModel.Protocol.HTTP,
                "unit_cost": 1000,
            },
        )
        model.scenarios.add(Scenario.objects.get(code="fire"))
        unit = Unit.objects.filter(name="bench shop").first()
        if unit is None:
            city = Region.objects.get_or_create(
                code="310000", defaults={"name": "上海市", "level": "city", "path": "/310000/"}
            )[0]
            grid = Region.objects.get_or_create(
                code="310101999001",
                defaults={
                    "name": "bench grid",
                    "level": "grid",
                    "parent": city,
                    "path": f"{city.path}310101999001/",
                },
            )[0]
            owner = User.objects.filter(email="bench-shop@example.com").first() or (
                account_services.user_create(
                    email="bench-shop@example.com", password=None, full_name="bench owner"
                )
            )
            organisation = account_services.organisation_create(
                name="bench shop", kind=Organisation.Kind.UNIT, owner=owner
            )
            unit = Unit.objects.create(
                organisation=organisation,
                name="bench shop",
                kind=Unit.Kind.SHOP,
                region=grid,
                address="bench",
                floor_area_m2=50,
                responsible_name="bench",
                responsible_phone="13800000000",
            )
        Device.objects.filter(serial__startswith=prefix).delete()
        raw, rows = [], []
        now = datetime.now(UTC)
        for n in range(devices):
            token, digest, token_prefix = tokens.token_new()
            raw.append(token)
            rows.append(
                Device(
                    vendor=vendor,
                    device_model=model,
                    serial=f"{prefix}{n:07d}",
                    claim_code="BENCH",
                    state=Device.State.ACTIVE,
                    unit=unit,
                    token_hash=digest,
                    token_prefix=token_prefix,
                    last_seen_at=now,
                    next_heartbeat_due_at=now + timedelta(hours=1),
                )
            )
        Device.objects.bulk_create(rows, batch_size=5000)
    return unit, model, raw


def _post(url: str, token: str, events: list[dict]) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Device {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202, response.status


def _background(url: str, tokens: list[str], stop: threading.Event) -> None:
    """~1,000 heartbeat/reading events per second: 20 requests of 50 events."""
    n = 0
    while not stop.is_set():
        started = time.monotonic()
        for _ in range(20):
            n += 1
            ts = datetime.now(UTC).isoformat()
            events = [
                {
                    "id": f"bg-{n}-{i}",
                    "ts": ts,
                    "type": "reading",
                    "values": {"smoke_density": 0.01},
                }
                for i in range(BACKGROUND_EVENTS_S // 20)
            ]
            _post(url, tokens[n % len(tokens)], events)
        time.sleep(max(0.0, 1 - (time.monotonic() - started)))


def _worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            "alerts,default",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
        ],
        cwd=BASE_DIR,
        env=env,
    )


def bench_alarm(web_url: str, env: dict) -> None:
    from django.db.models import F

    from alerts.models import Alert

    # The previous run's alerts first: they protect the devices the scene replaces.
    Alert.objects.filter(device__serial__startswith="BENCH-ALARM-").delete()
    _unit, _model, tokens = _scene(ALARMS + 50, prefix="BENCH-ALARM-")
    alarm_tokens, background_tokens = tokens[:ALARMS], tokens[ALARMS:]
    worker = _worker(env | {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"})
    url = f"{web_url}/api/v1/ingest"
    stop = threading.Event()
    background = threading.Thread(target=_background, args=(url, background_tokens, stop))
    try:
        time.sleep(3)  # the worker connects
        background.start()
        run = uuid.uuid4().hex[:6]

        def alarm(n: int) -> None:
            event = {
                "id": f"alarm-{run}-{n}",
                "ts": datetime.now(UTC).isoformat(),
                "type": "alarm",
                "values": {"cause": "smoke", "smoke_density": 0.8},
            }
            _post(url, alarm_tokens[n], [event])

        # One alarm every 1/ALARM_RATE s, each on its own (a latency sample, not a storm).
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            for n in range(ALARMS):
                time.sleep(max(0.0, started + n / ALARM_RATE - time.monotonic()))
                pool.submit(alarm, n)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            notified = Alert.objects.filter(
                device__serial__startswith="BENCH-ALARM-", first_notified_at__isnull=False
            ).count()
            if notified >= ALARMS:
                break
            time.sleep(0.5)
    finally:
        stop.set()
        if background.is_alive():
            background.join()
        worker.terminate()
        worker.wait(timeout=30)
    latencies = sorted(
        (delta.total_seconds() * 1000)
        for delta in Alert.objects.filter(
            device__serial__startswith="BENCH-ALARM-", first_notified_at__isnull=False
        ).values_list(F("first_notified_at") - F("first_event_at"), flat=True)
    )
    if len(latencies) < ALARMS:
        print(f"alarm.missing: {ALARMS - len(latencies)} alarms not notified within 2 min")
    if latencies:
        quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
        print(f"alarm.rate: {ALARM_RATE:g} alarms/s", flush=True)
        print(f"alarm.p50: {statistics.median(latencies):.0f} ms", flush=True)
        print(f"alarm.p99: {quantiles[98]:.0f} ms", flush=True)


def _fleet(size: int) -> None:
    """`size` reporting devices with an hour to go, the rest out of the sweep's index."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE devices_device SET state = CASE WHEN serial < %s THEN 'active' ELSE"
            " 'in_stock' END, next_heartbeat_due_at = now() + interval '1 hour'"
            " WHERE serial LIKE 'BENCH-FLEET-%%'",
            [f"BENCH-FLEET-{size:07d}"],
        )
        cursor.execute(
            "UPDATE devices_device SET next_heartbeat_due_at = now() - interval '1 day'"
            " WHERE serial >= 'BENCH-FLEET-' AND serial < %s",
            [f"BENCH-FLEET-{OVERDUE:07d}"],
        )
        for table in ("alerts_alertentry", "alerts_notification"):
            cursor.execute(
                f"DELETE FROM {table} WHERE alert_id IN"
                " (SELECT id FROM alerts_alert WHERE kind = 'offline')"
            )
        cursor.execute("DELETE FROM alerts_alert WHERE kind = 'offline'")
        cursor.execute("ANALYZE devices_device")


def _fleet_create() -> None:
    """1M devices, written once with COPY and kept in the bench database between runs."""
    from django.db import connection, transaction

    from devices.models import Device

    if Device.objects.filter(serial__startswith="BENCH-FLEET-").count() == FLEET:
        return
    unit, model, _tokens = _scene(0, prefix="BENCH-FLEET-")
    vendor_id = model.vendor_id
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM devices_device WHERE serial LIKE 'BENCH-FLEET-%%'")
        columns = (
            "public_id, vendor_id, device_model_id, serial, claim_code, state, unit_id,"
            " firmware_version, token_prefix, claim_failures, created_at"
        )
        with cursor.copy(f"COPY devices_device ({columns}) FROM STDIN") as copy:
            now = datetime.now(UTC)
            for n in range(FLEET):
                copy.write_row(
                    (
                        uuid.uuid4(),
                        vendor_id,
                        model.pk,
                        f"BENCH-FLEET-{n:07d}",
                        "BENCH",
                        "active",
                        unit.pk,
                        "",
                        "",
                        0,
                        now,
                    )
                )


def bench_sweep() -> None:
    from alerts.services.sweeps import offline_sweep

    _fleet_create()
    for size, name in ((FLEET, "fleet_1m"), (100_000, "fleet_100k")):
        _fleet(size)
        started = time.monotonic()
        result = offline_sweep()
        elapsed = time.monotonic() - started
        assert result["opened"] == OVERDUE, result
        print(f"sweep.{name}: {elapsed:.2f} s", flush=True)
