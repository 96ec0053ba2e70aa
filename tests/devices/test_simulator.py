"""scripts/simulate_device.py against a live server: what it posts is stored, and a placed
device comes online."""

import subprocess
import sys
from pathlib import Path

from django.db import connection

from devices import services
from devices.models import Device, DeviceEvent

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "simulate_device.py"


def simulate(live_server, token, *options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), token, "--url", live_server.url, "--interval", "0.1"]
        + ["--metric", "smoke=0:0.1", *options],
        capture_output=True,
        text=True,
        timeout=60,
    )


def stored(device) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind FROM devices_reading WHERE device_id = %s ORDER BY kind", [device.pk]
        )
        return [kind for (kind,) in cursor.fetchall()]


def test_the_simulator_heartbeats_and_reads_until_its_count(live_server, transactional_db, placed):
    device, token = placed

    run = simulate(live_server, token, "--count", "2")

    assert run.returncode == 0, run.stdout + run.stderr
    answers = [line for line in run.stdout.splitlines() if "POST /api/v1/ingest" in line]
    assert len(answers) == 2 and all("→ 202" in line for line in answers)
    assert token not in run.stdout  # only its prefix is printed
    assert stored(device) == ["heartbeat", "heartbeat", "reading", "reading"]
    device.refresh_from_db()
    assert device.state == Device.State.ACTIVE
    assert device.firmware_version == "sim-1.0" and device.battery_pct is not None


def test_the_simulator_speaks_thingsboard_and_raises_one_alarm(
    live_server, transactional_db, placed
):
    device, token = placed

    run = simulate(live_server, token, "--thingsboard", "--smoke-alarm", "--count", "1")

    assert run.returncode == 0, run.stdout + run.stderr
    assert "POST /api/v1/<token>/telemetry → 200" in run.stdout
    assert stored(device) == ["alarm", "heartbeat", "reading"]
    assert list(DeviceEvent.objects.values_list("device", "type")) == [(device.pk, "alarm")]


def test_a_revoked_token_makes_the_simulator_fail(live_server, transactional_db, placed, alice):
    device, token = placed
    services.device_retire(device=device, by=alice, reason="测试")

    run = simulate(live_server, token, "--count", "1")

    assert run.returncode == 1
    assert "→ 401" in run.stdout
    assert stored(device) == []
