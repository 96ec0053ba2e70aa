"""Dashboard benchmark (issue 7 §4, DESIGN §9), run by bench/run.py as `dashboard`.

A bench district (310199, ten subdistricts of twenty grids) with 100,000 units, about 96,000
devices of 30 certified solutions from five vendors, their monitoring subscriptions and
1,000,000 alerts spread over the last year. Written once and kept in `safeunit_bench`: units
and devices with COPY, the alerts generated inside PostgreSQL (INSERT … SELECT over
generate_series, seeded, so every run has the same data). Then the coverage and the
dashboards' roll-ups are refreshed (timed), and a reviewer of the district asks for the
dashboard page through Django's test client, REQUESTS times at the district and REQUESTS
times at a subdistrict.

Prints `dashboard.p50` and `dashboard.p95` over all the requests (budget: p95 ≤ 300 ms), the
same per level and for pages of the uncovered units, and the refresh times.
"""

import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

DISTRICT = "310199"
SUBDISTRICTS = 10
GRIDS_PER_SUBDISTRICT = 20
UNITS = int(os.environ.get("BENCH_DASHBOARD_UNITS", "100000"))
ALERTS = int(os.environ.get("BENCH_DASHBOARD_ALERTS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_DASHBOARD_REQUESTS", "50"))
VENDORS = 5
REVIEWER = "bench-dashboard@example.com"
LICENCE = "BENCHDASH{:09d}"
# Unit kinds in the proportions of a downtown district: mostly street shops.
KINDS = ["shop"] * 14 + ["estate"] * 3 + ["building"] * 2 + ["park"]
# Scenarios each vendor offers, with the alert kind its devices raise.
SCENARIO_KINDS = {
    "fire": "fire",
    "gas": "gas",
    "electrical": "electrical",
    "water": "water",
    "elevator": "entrapment",
    "ebike": "charging",
}


def _say(message: str) -> None:
    print(f"[dashboard] {message}", flush=True)


def _district(code: str, *, name: str, name_en: str, subdistricts: int, grids: int):
    """A bench district under Shanghai, `subdistricts` subdistricts of `grids` grids each,
    named after `name` (基准 → 基准区, 基准街道1, 基准网格1-1); kept between runs."""
    from units.models import Region

    city = Region.objects.get_or_create(
        code="310000",
        defaults={"name": "上海市", "name_en": "Shanghai", "level": "city", "path": "/310000/"},
    )[0]
    district = Region.objects.get_or_create(
        code=code,
        defaults={
            "name": f"{name}区",
            "name_en": name_en,
            "level": "district",
            "parent": city,
            "path": f"{city.path}{code}/",
        },
    )[0]
    subdistrict_list, grid_list = [], []
    for s in range(1, subdistricts + 1):
        subdistrict_code = f"{code}{s:03d}"
        subdistrict = Region.objects.get_or_create(
            code=subdistrict_code,
            defaults={
                "name": f"{name}街道{s}",
                "level": "subdistrict",
                "parent": district,
                "path": f"{district.path}{subdistrict_code}/",
            },
        )[0]
        subdistrict_list.append(subdistrict)
        for g in range(1, grids + 1):
            grid_code = f"{subdistrict_code}{g:03d}"
            grid_list.append(
                Region.objects.get_or_create(
                    code=grid_code,
                    defaults={
                        "name": f"{name}网格{s}-{g}",
                        "level": "grid",
                        "parent": subdistrict,
                        "path": f"{subdistrict.path}{grid_code}/",
                    },
                )[0]
            )
    return district, subdistrict_list, grid_list


def _user(email: str, name: str):
    from accounts import services as account_services
    from accounts.models import User

    return User.objects.filter(email=email).first() or account_services.user_create(
        email=email, password=None, full_name=name
    )


def _organisation(name: str, kind: str, owner):
    from accounts import services as account_services
    from accounts.models import Organisation

    return Organisation.objects.filter(name=name, kind=kind).first() or (
        account_services.organisation_create(name=name, kind=kind, owner=owner)
    )


def _reviewer(district):
    """The district's reviewer. The authority row is written directly: the dashboards read
    the authority's region, not the per-unit grants that authority_create would sync."""
    from accounts.models import Organisation
    from units.models import Authority

    user = _user(REVIEWER, "bench reviewer")
    organisation = _organisation("基准区城运中心", Organisation.Kind.AUTHORITY, user)
    Authority.objects.get_or_create(organisation=organisation, defaults={"region": district})
    return user


def _catalog(owner) -> list[dict]:
    """Five vendors, each with a device model and a certified solution per scenario (tiers
    rotate)."""
    from accounts.models import Organisation
    from marketplace.models import DeviceModel, Scenario, Solution, SolutionRevision, Vendor
    from marketplace.reference_data import scenarios_seed

    scenarios_seed(Scenario)
    scenarios = {s.code: s for s in Scenario.objects.filter(code__in=SCENARIO_KINDS)}
    tiers = ["low", "mid", "high"]
    solutions = []
    for v in range(VENDORS):
        organisation = _organisation(f"基准厂商{v + 1}", Organisation.Kind.VENDOR, owner)
        vendor = Vendor.objects.get_or_create(
            organisation=organisation,
            defaults={
                "licence_number": LICENCE.format(v),
                "contact_name": "bench",
                "contact_phone": "02100000000",
                "contact_email": "bench-vendor@example.com",
            },
        )[0]
        model = DeviceModel.objects.get_or_create(
            vendor=vendor,
            model_number=f"BD-{v}",
            defaults={
                "name": f"bench sensor {v}",
                "category": DeviceModel.Category.SMOKE_DETECTOR,
                "metrics": [],
                "heartbeat_interval_s": 3600,
                "heartbeat_grace_s": 600,
                "protocol": DeviceModel.Protocol.HTTP,
                "unit_cost": 1000,
            },
        )[0]
        model.scenarios.add(*scenarios.values())
        for index, (code, scenario) in enumerate(sorted(scenarios.items())):
            tier = tiers[(v + index) % 3]
            solution = Solution.objects.filter(vendor=vendor, scenario=scenario).first()
            if solution is None:
                solution = Solution.objects.create(vendor=vendor, scenario=scenario, tier=tier)
                SolutionRevision.objects.create(
                    solution=solution,
                    number=1,
                    status=SolutionRevision.Status.CERTIFIED,
                    name=f"基准方案 {v + 1}-{code}",
                    name_en=f"Bench solution {v + 1}-{code}",
                    purchase_price=20000,
                    monitoring_fee=500,
                    warranty_months=24,
                    repair_sla_hours=24,
                    certificate_number=f"BD-{v}-{code}",
                )
            solutions.append(
                {
                    "scenario": code,
                    "unit_kinds": scenario.unit_kinds,
                    "solution": solution.pk,
                    "revision": solution.revisions.get(number=1),
                    "vendor": vendor,
                    "model": model,
                }
            )
    return solutions


def _order_lines(solutions: list[dict], unit_id: int, owner) -> None:
    """One completed bench order per solution (on the first unit: an order needs one) whose
    line the solution's devices belong to, which is how a device's solution is known."""
    from billing.models import Order, OrderLine

    for number, entry in enumerate(solutions):
        order = Order.objects.create(
            number=f"BD-{number:04d}",
            unit_id=unit_id,
            vendor=entry["vendor"],
            revision=entry["revision"],
            mode="purchase",
            status=Order.Status.COMPLETED,
            snapshot={},
            devices=0,
            amount_due=0,
            created_by=owner,
        )
        model = entry["model"]
        entry["line"] = OrderLine.objects.create(
            order=order,
            device_model=model,
            name=model.name,
            model_number=model.model_number,
            rule="fixed",
            quantity=1,
        ).pk


def _generated(district) -> bool:
    from alerts.models import Alert
    from units.models import Unit

    path = district.path
    return (
        Unit.objects.filter(region__path__startswith=path).count() == UNITS
        and Alert.objects.filter(region__path__startswith=path).count() == ALERTS
    )


def _clear(district) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_units ON COMMIT DROP AS SELECT u.id FROM units_unit u"
            " JOIN units_region r ON r.id = u.region_id WHERE r.path LIKE %s",
            [district.path + "%"],
        )
        for statement in (
            "DELETE FROM alerts_alertentry WHERE alert_id IN"
            " (SELECT id FROM alerts_alert WHERE unit_id IN (SELECT id FROM bench_units))",
            "DELETE FROM alerts_notification WHERE alert_id IN"
            " (SELECT id FROM alerts_alert WHERE unit_id IN (SELECT id FROM bench_units))",
            "DELETE FROM alerts_alert WHERE unit_id IN (SELECT id FROM bench_units)",
            "DELETE FROM devices_device WHERE unit_id IN (SELECT id FROM bench_units)",
            "DELETE FROM billing_monitoringsubscription WHERE unit_id IN"
            " (SELECT id FROM bench_units)",
            "DELETE FROM oversight_unitcoverage WHERE unit_id IN (SELECT id FROM bench_units)",
            "DELETE FROM billing_orderline WHERE order_id IN"
            " (SELECT id FROM billing_order WHERE number LIKE 'BD-%%')",
            "DELETE FROM billing_order WHERE number LIKE 'BD-%%'",
            "DELETE FROM units_unitgroupobjectpermission WHERE content_object_id IN"
            " (SELECT id FROM bench_units)",
            "DELETE FROM units_unit WHERE id IN (SELECT id FROM bench_units)",
        ):
            cursor.execute(statement, {})


def _generate(district, grids, solutions, owner) -> None:
    """Units and devices with COPY, subscriptions and alerts set-based in PostgreSQL."""
    from django.db import connection, transaction

    from accounts.models import Organisation

    organisation = _organisation("基准区商户", Organisation.Kind.UNIT, owner)
    now = datetime.now(UTC)
    with transaction.atomic():
        _clear(district)
        started = time.monotonic()
        with connection.cursor() as cursor:
            columns = (
                "public_id, organisation_id, name, kind, region_id, address, floor_area_m2,"
                " floors, shops_inside, households, elevators, entrances, daily_visitors,"
                " responsible_name, responsible_phone, created_at, updated_at"
            )
            with cursor.copy(f"COPY units_unit ({columns}) FROM STDIN") as copy:
                for n in range(UNITS):
                    copy.write_row(
                        (
                            uuid.uuid4(),
                            organisation.pk,
                            f"基准单元{n:06d}",
                            KINDS[n % len(KINDS)],
                            grids[n % len(grids)].pk,
                            "bench",
                            40 + n % 400,
                            1 + n % 5,
                            0,
                            0,
                            0,
                            1,
                            0,
                            "bench",
                            "13800000000",
                            now,
                            now,
                        )
                    )
            cursor.execute(
                "SELECT u.id, u.kind FROM units_unit u JOIN units_region r ON r.id = u.region_id"
                " WHERE r.path LIKE %s ORDER BY u.id",
                [district.path + "%"],
            )
            units = cursor.fetchall()
            _say(f"{len(units)} units written in {time.monotonic() - started:.1f} s")
            _order_lines(solutions, units[0][0], owner)
            started = time.monotonic()
            by_kind = {
                kind: [s for s in solutions if kind in s["unit_kinds"]] for kind in set(KINDS)
            }
            columns = (
                "public_id, vendor_id, device_model_id, serial, claim_code, state, unit_id,"
                " order_line_id, firmware_version, token_prefix, claim_failures, created_at"
            )
            serial = 0
            with cursor.copy(f"COPY devices_device ({columns}) FROM STDIN") as copy:
                for n, (unit_id, kind) in enumerate(units):
                    if n % 5 == 0:
                        continue  # a fifth of the units have no device yet
                    choices = by_kind[kind]
                    picks = [choices[n % len(choices)]]
                    if n % 7 == 0:
                        picks.append(choices[(n // 7) % len(choices)])
                    for pick in picks:
                        serial += 1
                        copy.write_row(
                            (
                                uuid.uuid4(),
                                pick["vendor"].pk,
                                pick["model"].pk,
                                f"BD-{serial:07d}",
                                "BENCH",
                                "offline" if serial % 12 == 0 else "active",
                                unit_id,
                                pick["line"],
                                "",
                                "",
                                0,
                                now,
                            )
                        )
            _say(f"{serial} devices written in {time.monotonic() - started:.1f} s")
            started = time.monotonic()
            # One subscription per unit and solution it has devices of; one in eleven lapsed.
            cursor.execute(
                """
                INSERT INTO billing_monitoringsubscription (
                    unit_id, solution_id, vendor_id, unit_price, quantity, status,
                    stripe_subscription, started_at
                )
                SELECT d.unit_id, rev.solution_id, d.vendor_id, 500, count(*),
                       CASE WHEN d.unit_id %% 11 = 0 THEN 'lapsed' ELSE 'active' END,
                       'bd_sub_' || d.unit_id || '_' || rev.solution_id, now()
                FROM devices_device d
                JOIN billing_orderline l ON l.id = d.order_line_id
                JOIN billing_order o ON o.id = l.order_id
                JOIN marketplace_solutionrevision rev ON rev.id = o.revision_id
                WHERE d.serial LIKE %(bench)s
                GROUP BY d.unit_id, rev.solution_id, d.vendor_id
                """,
                {"bench": "BD-%"},
            )
            _alerts(cursor, district)
            _say(f"subscriptions and {ALERTS} alerts written in {time.monotonic() - started:.1f} s")
    _analyze()


def _alerts(cursor, district) -> None:
    """ALERTS alerts over the last 365 days from the bench devices, in PostgreSQL. Times to
    acknowledge and to resolve are log-normal (median 90 s and 30 min later); one in ten is
    never acknowledged (cleared by itself); a quarter of the resolved are false alarms. The
    newest 2,000 are still open, each on its own device (one open alert per device and kind)."""
    kinds = " ".join(
        f"WHEN '{code}' THEN '{kind}'" for code, kind in SCENARIO_KINDS.items()
    )  # constants of this module, not input
    cursor.execute("SELECT setseed(0.42)")
    cursor.execute(
        "CREATE TEMP TABLE bench_devices ON COMMIT DROP AS"
        " SELECT row_number() OVER (ORDER BY d.id) AS rn, d.id, d.unit_id, u.region_id,"
        " sol.scenario_id, s.code AS scenario_code"
        " FROM devices_device d JOIN units_unit u ON u.id = d.unit_id"
        " JOIN units_region r ON r.id = u.region_id"
        " JOIN billing_orderline l ON l.id = d.order_line_id"
        " JOIN billing_order o ON o.id = l.order_id"
        " JOIN marketplace_solutionrevision rev ON rev.id = o.revision_id"
        " JOIN marketplace_solution sol ON sol.id = rev.solution_id"
        " JOIN marketplace_scenario s ON s.id = sol.scenario_id"
        " WHERE r.path LIKE %s",
        [district.path + "%"],
    )
    cursor.execute("CREATE UNIQUE INDEX ON bench_devices (rn)")
    cursor.execute("SELECT count(*) FROM bench_devices")
    devices = cursor.fetchone()[0]
    cursor.execute(
        f"""
        INSERT INTO alerts_alert (
            public_id, device_id, unit_id, region_id, scenario_id, kind, severity, life_safety,
            status, outcome, summary, event_count, first_event_at, last_event_at, raised_at,
            first_notified_at, acknowledged_at, resolved_at, next_step
        )
        SELECT gen_random_uuid(), d.id, d.unit_id, d.region_id, d.scenario_id,
               CASE d.scenario_code {kinds} END, 'major',
               d.scenario_code IN ('fire', 'gas', 'elevator'),
               CASE WHEN NOT g.open THEN 'resolved'
                    WHEN g.ack IS NULL THEN 'open' ELSE 'acknowledged' END,
               CASE WHEN g.open THEN ''
                    WHEN g.ack IS NULL THEN 'cleared'
                    WHEN g.r_outcome < 0.25 THEN 'false_alarm'
                    WHEN g.r_outcome < 0.33 THEN 'test'
                    WHEN g.r_outcome < 0.38 THEN 'device_fault'
                    ELSE 'incident' END,
               '', 1, g.raised, g.raised, g.raised, g.raised + interval '2 seconds',
               g.raised + g.ack * interval '1 second',
               CASE WHEN g.open THEN NULL
                    ELSE g.raised + (coalesce(g.ack, 0) + g.resolve) * interval '1 second' END,
               0
        FROM (
            SELECT n,
                   n <= 2000 AS open,
                   CASE WHEN n <= 2000 THEN now() - random() * interval '1 day'
                        ELSE now() - random() * interval '365 days' END AS raised,
                   CASE WHEN random() < 0.1 THEN NULL
                        ELSE exp(ln(90) + 1.2 * sqrt(-2 * ln(1 - random()))
                                 * cos(2 * pi() * random())) END AS ack,
                   exp(ln(1800) + 1.0 * sqrt(-2 * ln(1 - random()))
                       * cos(2 * pi() * random())) AS resolve,
                   random() AS r_outcome
            FROM generate_series(1, %(alerts)s) AS n
        ) g
        JOIN bench_devices d ON d.rn = (g.n - 1) %% %(devices)s + 1
        """,
        {"alerts": ALERTS, "devices": devices},
    )


def _analyze() -> None:
    """Fresh planner statistics after bulk writes (autovacuum would get there in a while)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "units_region",
            "units_unit",
            "devices_device",
            "billing_monitoringsubscription",
            "billing_order",
            "billing_orderline",
            "marketplace_solutionrevision",
            "alerts_alert",
            "oversight_unitcoverage",
            "oversight_regioncoverage",
            "oversight_alertdailyrollup",
            "oversight_alertsolutionrollup",
            "oversight_alertwindowrollup",
            "oversight_regionsnapshot",
        ):
            cursor.execute(f"ANALYZE {table}")


def _timed(label: str, action):
    started = time.monotonic()
    result = action()
    elapsed = time.monotonic() - started
    print(f"dashboard.{label}: {elapsed:.2f} s", flush=True)
    return result


def _percentiles(name: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p95 = statistics.quantiles(ordered, n=100, method="inclusive")[94]
    print(f"{name}.p50: {statistics.median(ordered):.0f} ms", flush=True)
    print(f"{name}.p95: {p95:.0f} ms", flush=True)


def bench_dashboard(_url: str = "") -> None:
    from django.conf import settings
    from django.test import override_settings
    from django.utils import timezone

    from oversight import coverage, rollups

    district, subdistricts, grids = _district(
        DISTRICT,
        name="基准",
        name_en="Bench district",
        subdistricts=SUBDISTRICTS,
        grids=GRIDS_PER_SUBDISTRICT,
    )
    reviewer = _reviewer(district)
    solutions = _catalog(reviewer)
    if _generated(district):
        _say("bench data found, reusing it")
    else:
        started = time.monotonic()
        _generate(district, grids, solutions, reviewer)
        print(f"dashboard.generate: {time.monotonic() - started:.1f} s", flush=True)

    _analyze()  # fresh statistics first: the coverage statement's plan depends on them
    _timed("coverage_refresh", coverage.coverage_refresh)
    _analyze()
    today = timezone.localdate()
    _timed(
        "rollup_year",
        lambda: rollups.alert_rollups_refresh(
            first_day=today - timedelta(days=366), last_day=today
        ),
    )
    _timed("rollup_recent", rollups.rollups_refresh_recent)
    _timed("rollup_nightly", rollups.rollups_refresh_nightly)
    _analyze()

    # Hashed static names need collectstatic's manifest; the page's cost does not depend on it.
    plain_static = override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    )
    with plain_static:
        _requests(reviewer, district, subdistricts[0])


def _requests(reviewer, district, subdistrict) -> None:
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(reviewer)
    targets = {
        "district": f"/oversight/regions/{district.code}/",
        "subdistrict": f"/oversight/regions/{subdistrict.code}/",
    }
    for path in targets.values():  # warm up: connections, templates, the buffer cache
        for _ in range(3):
            assert client.get(path).status_code == 200
    timings: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(REQUESTS):
        for name, path in targets.items():
            started = time.perf_counter()
            response = client.get(path)
            timings[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
    everything = [ms for values in timings.values() for ms in values]
    _percentiles("dashboard", everything)
    for name, values in timings.items():
        _percentiles(f"dashboard.{name}", values)
    # The uncovered fire-safety shops of the district, first and a middle page (htmx part).
    uncovered = f"/oversight/regions/{district.code}/uncovered/?scenario=fire&kind=shop"
    pages = []
    for n in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(f"{uncovered}&page={1 + n % 20}", HTTP_HX_REQUEST="true")
        pages.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    _percentiles("dashboard.uncovered", pages)
