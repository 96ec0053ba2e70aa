"""Telemetry by time range: raw readings for short ranges, buckets averaged in PostgreSQL for
long ones (at most ~500 points), bad metrics and ranges refused by field, only the range's
partitions scanned, outsiders 404."""

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from devices import selectors, telemetry

pytestmark = pytest.mark.django_db


def telemetry_url(device):
    return f"/api/v1/devices/{device.public_id}/telemetry/"


def iso(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture
def two_days(placed):
    """(device, start): a reading every 2 minutes for 48 hours from `start` (a whole hour three
    days ago), cycling 0.0, 0.1, 0.2, 0.3, 0.4; plus values that are not numbers, which
    are skipped."""
    device, _token = placed
    start = (datetime.now(UTC) - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO devices_reading (device_id, event_id, ts, kind, "values", received_at)
            SELECT %(device)s, 'r' || n, %(start)s + n * interval '2 minutes', 'reading',
                   jsonb_build_object('smoke', (n %% 5) / 10.0), now()
            FROM generate_series(0, 1439) AS n
            """,
            {"device": device.pk, "start": start},
        )
        cursor.execute(
            """
            INSERT INTO devices_reading (device_id, event_id, ts, kind, "values", received_at)
            VALUES (%(device)s, 'odd-1', %(at)s, 'heartbeat', '{"smoke": "high"}', now()),
                   (%(device)s, 'odd-2', %(at)s, 'heartbeat', '{"smoke": true}', now()),
                   (%(device)s, 'odd-3', %(at)s, 'heartbeat', '{"battery_pct": 80}', now())
            """,
            {"device": device.pk, "at": start + timedelta(minutes=1)},
        )
    return device, start


def test_two_days_come_back_in_ten_minute_buckets_with_the_right_average(
    api_client_for, alice, two_days
):
    device, start = two_days

    response = api_client_for(alice).get(
        telemetry_url(device),
        {"metric": "smoke", "from": iso(start), "to": iso(start + timedelta(days=2))},
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["metric"], body["unit"], body["bucket_seconds"]) == ("smoke", "dB/m", 600)
    assert len(body["points"]) == 288  # 48 h / 10 min
    first = body["points"][0]
    assert datetime.fromisoformat(first["ts"]) == start
    assert first["count"] == 5  # the non-numbers are skipped, not cast
    assert first["value"] == pytest.approx(0.2)  # (0 + 0.1 + 0.2 + 0.3 + 0.4) / 5
    assert (first["min"], first["max"]) == (pytest.approx(0.0), pytest.approx(0.4))
    assert all(p["count"] == 5 for p in body["points"])


def test_buckets_keep_every_answer_at_500_points_or_fewer(api_client_for, alice, two_days):
    device, start = two_days
    client = api_client_for(alice)

    for days, bucket in [(7, 30 * 60), (31, 2 * 3600), (1, 5 * 60)]:
        end = start + timedelta(days=days)
        body = client.get(
            telemetry_url(device), {"from": iso(end - timedelta(days=days)), "to": iso(end)}
        ).json()
        assert body["bucket_seconds"] == bucket, days
        assert 0 < len(body["points"]) <= 500


def test_short_ranges_come_back_raw(api_client_for, alice, client, placed):
    device, token = placed
    now = datetime.now(UTC)
    events = [
        {
            "id": uuid.uuid4().hex,
            "ts": iso(now - timedelta(minutes=minutes)),
            "type": "reading",
            "values": {"smoke": value},
        }
        for minutes, value in [(50, 0.05), (30, 0.25), (10, 1.5)]
    ]
    posted = client.post(
        "/api/v1/ingest",
        json.dumps({"events": events}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
    )
    assert posted.status_code == 202

    body = (
        api_client_for(alice)
        .get(telemetry_url(device), {"from": iso(now - timedelta(hours=1)), "to": iso(now)})
        .json()
    )

    assert body["bucket_seconds"] is None
    assert [(p["value"], p["count"]) for p in body["points"]] == [(0.05, 1), (0.25, 1), (1.5, 1)]
    # Left out, the range is the last 24 hours, in 5-minute buckets.
    default = api_client_for(alice).get(telemetry_url(device)).json()
    assert default["bucket_seconds"] == 300 and len(default["points"]) == 3


@pytest.mark.parametrize(
    "query, field",
    [
        ({"metric": "temperature"}, "metric"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2025-03-02T00:00:00+08:00", "to": "2025-03-01T00:00:00+08:00"}, "to"),
        ({"from": "2025-01-01T00:00:00+08:00", "to": "2025-02-02T00:00:01+08:00"}, "from"),
    ],
    ids=["unknown-metric", "not-a-time", "backwards", "over-31-days"],
)
def test_a_bad_metric_or_range_is_refused_by_field(api_client_for, alice, placed, query, field):
    device, _token = placed

    response = api_client_for(alice).get(telemetry_url(device), query)

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_outsiders_get_404_and_viewers_may_read(api_client_for, charlie, vera, placed):
    device, _token = placed

    assert api_client_for(charlie).get(telemetry_url(device)).status_code == 404
    assert api_client_for(vera).get(telemetry_url(device)).status_code == 200


def test_only_the_partitions_of_the_range_are_scanned(placed):
    device, _token = placed
    today = datetime.now(UTC).date()
    start = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=3)
    assert len(telemetry.partitions()) > 10  # there are many days to skip

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN " + selectors.TELEMETRY_BUCKET_SQL,
            {
                "device": device.pk,
                "metric": "smoke",
                "start": start + timedelta(hours=12),
                "end": start + timedelta(hours=36),
                "bucket": timedelta(minutes=10),
                "origin": selectors.TELEMETRY_ORIGIN,
            },
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())

    scanned = set(re.findall(r"devices_reading_p(\d{8})", plan))
    assert scanned == {(start + timedelta(days=offset)).strftime("%Y%m%d") for offset in (0, 1)}
