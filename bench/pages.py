"""Pages benchmark (DESIGN §9), run by bench/run.py as `pages`.

The budget: a constant number of queries per page whatever the data size, and p95 ≤ 150 ms for
the catalog, the device list and the alert console with 10k solutions / 100k devices / 10k
alerts. Written once and kept in `safeunit_bench` (INSERT … SELECT inside PostgreSQL, seeded,
so every run has the same data), in a district of its own (310198, five subdistricts of twenty
grids):

- the catalog: 500 vendors, each with a device model per scenario and a gateway, and two
  certified solutions per scenario at two of the three tiers (10,000, current certificates,
  bills of materials, half of them also leased); beside them superseded revisions and 1,000
  solutions still in review or rejected, which the catalog must not show;
- 20,000 units (2 to 8 devices each) and a benched unit operator with a building of 400
  devices and two shops: 100,000 devices, placed, 40 % of them supplied by one vendor (its
  fleet view holds 40,000);
- 10,000 alerts: 8,000 resolved over the last 90 days and 2,000 unresolved, mostly of the
  kinds a fire station handles, so the benched fire station covering one subdistrict has
  several hundred on its console (which shows the first 200).

Then each page is asked for through Django's test client, signed in as the persona who uses
it, REQUESTS times after a warm-up: the catalog's scenario list, a scenario's solutions
(plain, filtered with quotes for the unit, and by vendor), the unit's device list (first
page, and a filtered later page), the vendor's fleet (first page, and filtered), the
responder's console (the full page, the htmx partial when the list changed, and the poll that
finds it unchanged).

Prints `pages.<name>.p50`, `pages.<name>.p95` and `pages.<name>.queries` per page, and
`pages.p50` / `pages.p95` over every request. Beside them `pages.<name>.cpu` is the median CPU
time a request costs this process and its PostgreSQL backend (when the server runs on this
machine): other work on a shared machine stretches the times, much less this.
"""

import os
import re
import statistics
import sys
import time
from pathlib import Path

from bench.dashboard import _district, _organisation, _percentiles, _user

DISTRICT = "310198"
SUBDISTRICTS = 5
GRIDS_PER_SUBDISTRICT = 20
VENDORS = int(os.environ.get("BENCH_PAGES_VENDORS", "500"))
SOLUTIONS = VENDORS * 10 * 2  # ten scenarios, two tiers each
UNITS = int(os.environ.get("BENCH_PAGES_UNITS", "20000"))
UNIT_ORGANISATIONS = UNITS // 10  # chains of ten shops, estates of ten buildings
DEVICES = int(os.environ.get("BENCH_PAGES_DEVICES", "100000"))
ALERTS = int(os.environ.get("BENCH_PAGES_ALERTS", "10000"))
UNRESOLVED = ALERTS // 5
BENCHED_UNIT_DEVICES = 400
REQUESTS = int(os.environ.get("BENCH_PAGES_REQUESTS", "50"))
BUDGET_MS = 150

LICENCE = "BENCHPAGE{:09d}"  # 18 characters, like a unified social credit code
SERIAL = "PG-"
UNIT_PERSONA = "bench-pages-unit@example.com"
VENDOR_PERSONA = "bench-pages-vendor@example.com"
DESK_PERSONA = "bench-pages-desk@example.com"
# Unit kinds in the proportions of a downtown district: mostly street shops.
KINDS = ["shop"] * 14 + ["estate"] * 3 + ["building"] * 2 + ["park"]
# Scenario → (device category, bill-of-materials rule, quantity, m² per step, alert kind).
SCENARIO_FACTS = {
    "fire": ("smoke_detector", "per_area", 1, 50, "fire"),
    "gas": ("gas_detector", "fixed", 2, None, "gas"),
    "electrical": ("residual_current", "per_floor", 1, None, "electrical"),
    "ebike": ("charging_monitor", "per_entrance", 2, None, "charging"),
    "height": ("camera", "per_entrance", 1, None, "thrown_object"),
    "elevator": ("elevator_monitor", "per_elevator", 1, None, "entrapment"),
    "crowd": ("people_counter", "per_entrance", 1, None, "crowd"),
    "structural": ("tilt_sensor", "per_floor", 2, None, "structural"),
    "elderly": ("wristband", "fixed", 1, None, "vitals"),
    "water": ("water_sensor", "per_area", 1, 100, "water"),
}
# What a fire station answers (alerts.services.escalation.RESPONDER_FOR_KIND).
FIRE_STATION_KINDS = ("fire", "gas", "electrical", "charging")


def _say(message: str) -> None:
    print(f"[pages] {message}", flush=True)


def _load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} cores"


def _execute(cursor, statement: str, params=None) -> None:
    """Every statement through psycopg's placeholders, so that `%%` is always a literal %."""
    cursor.execute(statement, params if params is not None else {})


# The place and the people -----------------------------------------------------------------


def _benched_units(grid) -> list:
    """The benched operator's building (BENCHED_UNIT_DEVICES devices) and two shops, in the
    first subdistrict (which the benched fire station covers)."""
    from accounts.models import Organisation
    from units.models import Unit
    from units.services import unit_create

    owner = _user(UNIT_PERSONA, "页面基准业主")
    organisation = _organisation("页面基准商业楼宇", Organisation.Kind.UNIT, owner)
    units = list(Unit.objects.filter(organisation=organisation).order_by("pk"))
    facts = [
        ("页面基准大厦", Unit.Kind.BUILDING, 12000, 20, 4, 6),
        ("页面基准便利店", Unit.Kind.SHOP, 80, 1, 0, 1),
        ("页面基准餐馆", Unit.Kind.SHOP, 160, 2, 0, 1),
    ]
    for name, kind, area, floors, elevators, entrances in facts[len(units) :]:
        units.append(
            unit_create(
                organisation=organisation,
                by=owner,
                region=grid,
                name=name,
                kind=kind,
                address="页面基准路 1 号",
                floor_area_m2=area,
                floors=floors,
                elevators=elevators,
                entrances=entrances,
                responsible_name="页面基准",
                responsible_phone="13800000000",
            )
        )
    return units


def _fleet_vendor():
    """Vendor 0, whose owner is the fleet persona (the others are written in bulk)."""
    from accounts.models import Organisation
    from marketplace.models import Vendor

    owner = _user(VENDOR_PERSONA, "页面基准厂商")
    organisation = _organisation("页面基准厂商 0000", Organisation.Kind.VENDOR, owner)
    Vendor.objects.get_or_create(
        organisation=organisation,
        defaults={
            "licence_number": LICENCE.format(0),
            "contact_name": "bench",
            "contact_phone": "02100000000",
            "contact_email": VENDOR_PERSONA,
        },
    )


def _fire_station(subdistrict):
    """A fire station's duty desk covering the first subdistrict; its owner is the persona.
    Coverage is set (and the units' grants synced) after the units are written."""
    from accounts.models import Organisation
    from units.models import Responder

    owner = _user(DESK_PERSONA, "页面基准值班员")
    organisation = _organisation("页面基准消防站", Organisation.Kind.RESPONDER, owner)
    responder = Responder.objects.filter(organisation=organisation).first()
    if responder is None:
        from units.services import responder_create

        responder = responder_create(
            organisation=organisation,
            name="页面基准消防站",
            kind=Responder.Kind.FIRE_STATION,
            phone="02100000119",
            regions=[subdistrict],
        )
    return responder


# Data ---------------------------------------------------------------------------------------


def _generated(district) -> bool:
    from alerts.models import Alert
    from devices.models import Device
    from marketplace.models import SolutionRevision

    return (
        SolutionRevision.objects.filter(
            status=SolutionRevision.Status.CERTIFIED,
            solution__vendor__licence_number__startswith="BENCHPAGE",
        ).count()
        == SOLUTIONS
        and Device.objects.filter(serial__startswith=SERIAL).count() == DEVICES
        and Alert.objects.filter(region__path__startswith=district.path).count() == ALERTS
    )


def _clear(cursor, district) -> None:
    """Everything a previous (other-sized, or interrupted) run wrote, but the people, their
    organisations and units, the vendors and the regions, which are reused."""
    _execute(
        cursor,
        "CREATE TEMP TABLE bench_old_units ON COMMIT DROP AS SELECT u.id FROM units_unit u"
        " JOIN units_region r ON r.id = u.region_id WHERE r.path LIKE %s",
        [district.path + "%"],
    )
    _execute(
        cursor,
        "CREATE TEMP TABLE bench_old_devices ON COMMIT DROP AS"
        " SELECT id FROM devices_device WHERE serial LIKE %s",
        [SERIAL + "%"],
    )
    _execute(
        cursor,
        "CREATE TEMP TABLE bench_old_solutions ON COMMIT DROP AS SELECT s.id FROM"
        " marketplace_solution s JOIN marketplace_vendor v ON v.id = s.vendor_id"
        " WHERE v.licence_number LIKE 'BENCHPAGE%%'",
    )
    alerts = "SELECT id FROM alerts_alert WHERE unit_id IN (SELECT id FROM bench_old_units)"
    background = "SELECT id FROM units_unit WHERE name LIKE '页面基准单元%%'"
    revisions = (
        "SELECT id FROM marketplace_solutionrevision"
        " WHERE solution_id IN (SELECT id FROM bench_old_solutions)"
    )
    models = (
        "SELECT m.id FROM marketplace_devicemodel m JOIN marketplace_vendor v ON v.id ="
        " m.vendor_id WHERE v.licence_number LIKE 'BENCHPAGE%%'"
    )
    for statement in (
        f"DELETE FROM alerts_alertentry WHERE alert_id IN ({alerts})",
        f"DELETE FROM alerts_notification WHERE alert_id IN ({alerts})",
        "DELETE FROM alerts_alert WHERE unit_id IN (SELECT id FROM bench_old_units)"
        " OR device_id IN (SELECT id FROM bench_old_devices)",
        "DELETE FROM alerts_thresholdbreach WHERE device_id IN (SELECT id FROM bench_old_devices)",
        "DELETE FROM devices_deviceevent WHERE device_id IN (SELECT id FROM bench_old_devices)",
        "DELETE FROM devices_devicetransition WHERE device_id IN"
        " (SELECT id FROM bench_old_devices)",
        "DELETE FROM devices_placement WHERE device_id IN (SELECT id FROM bench_old_devices)",
        "DELETE FROM devices_device WHERE id IN (SELECT id FROM bench_old_devices)",
        "DELETE FROM oversight_unitcoverage WHERE unit_id IN (SELECT id FROM bench_old_units)"
        " OR solution_id IN (SELECT id FROM bench_old_solutions)",
        "DELETE FROM oversight_alertsolutionrollup WHERE solution_id IN"
        " (SELECT id FROM bench_old_solutions)",
        f"DELETE FROM oversight_programmenotice WHERE unit_id IN ({background})",
        f"DELETE FROM units_unitgroupobjectpermission WHERE content_object_id IN ({background})",
        f"DELETE FROM units_unit WHERE id IN ({background})",
        f"DELETE FROM marketplace_bomline WHERE revision_id IN ({revisions})",
        "DELETE FROM marketplace_solutionrevision WHERE solution_id IN"
        " (SELECT id FROM bench_old_solutions)",
        "DELETE FROM marketplace_solution WHERE id IN (SELECT id FROM bench_old_solutions)",
        f"DELETE FROM marketplace_devicemodel_scenarios WHERE devicemodel_id IN ({models})",
        f"DELETE FROM marketplace_devicemodel WHERE id IN ({models})",
    ):
        _execute(cursor, statement, {})


def _organisations(cursor, *, count: int, kind: str, name: str) -> None:
    """Organisations `name` + number, each with its auth group, for those still missing."""
    _execute(
        cursor,
        """
        WITH wanted AS (
            SELECT %(name)s || lpad(n::text, 4, '0') AS name, gen_random_uuid() AS public_id
            FROM generate_series(1, %(count)s) AS n
            WHERE NOT EXISTS (
                SELECT 1 FROM accounts_organisation o
                WHERE o.name = %(name)s || lpad(n::text, 4, '0') AND o.kind = %(kind)s
            )
        ), groups AS (
            INSERT INTO auth_group (name) SELECT 'org:' || public_id FROM wanted RETURNING id, name
        )
        INSERT INTO accounts_organisation (public_id, name, kind, created_at, group_id)
        SELECT w.public_id, w.name, %(kind)s, now(), g.id
        FROM wanted w JOIN groups g ON g.name = 'org:' || w.public_id
        """,
        {"name": name, "count": count, "kind": kind},
    )


def _catalog(cursor, standards: dict[str, int]) -> None:
    """Vendors 1…VENDORS-1 (vendor 0 is the fleet persona's), their models and solutions."""
    _organisations(cursor, count=VENDORS - 1, kind="vendor", name="页面基准厂商 ")
    _execute(
        cursor,
        """
        INSERT INTO marketplace_vendor (public_id, licence_number, description, contact_name,
            contact_phone, contact_email, website, organisation_id, stripe_account)
        SELECT gen_random_uuid(), 'BENCHPAGE' || lpad(substring(o.name from '\\d+$'), 9, '0'),
               '', 'bench', '02100000000', 'bench-pages@example.com', '', o.id, ''
        FROM accounts_organisation o
        WHERE o.kind = 'vendor' AND o.name ~ '^页面基准厂商 \\d{4}$'
          AND NOT EXISTS (SELECT 1 FROM marketplace_vendor v WHERE v.organisation_id = o.id)
        """,
    )
    _execute(
        cursor,
        "CREATE TEMP TABLE bench_vendors ON COMMIT DROP AS"
        " SELECT n, id FROM (SELECT substring(licence_number from 10)::int AS n, id"
        " FROM marketplace_vendor WHERE licence_number LIKE 'BENCHPAGE%%') AS numbered"
        " WHERE n < %(vendors)s",
        {"vendors": VENDORS},
    )
    _execute(cursor, "SELECT count(*) FROM bench_vendors")
    assert cursor.fetchone()[0] == VENDORS
    facts = " ".join(
        f"WHEN '{code}' THEN '{category}'" for code, (category, *_rest) in SCENARIO_FACTS.items()
    )  # constants of this module, not input
    _execute(
        cursor,
        f"""
        INSERT INTO marketplace_devicemodel (public_id, name, model_number, category, metrics,
            heartbeat_interval_s, heartbeat_grace_s, battery_life_months, protocol, unit_cost,
            datasheet, created_at, vendor_id)
        SELECT gen_random_uuid(), s.name_en || ' sensor ' || v.n, 'PG-' || s.code || '-' || v.n,
               CASE s.code {facts} END,
               '[{{"name": "value", "unit": "", "min": 0, "max": 100}}]'::jsonb, 3600, 600, 60,
               'http', 8000 + 100 * (v.n %% 50), '', now(), v.id
        FROM bench_vendors v CROSS JOIN marketplace_scenario s
        UNION ALL
        SELECT gen_random_uuid(), 'Gateway ' || v.n, 'PG-GW-' || v.n, 'gateway', '[]'::jsonb,
               600, 300, NULL, 'mqtt', 30000, '', now(), v.id
        FROM bench_vendors v
        """,
    )
    _execute(
        cursor,
        "CREATE TEMP TABLE bench_models ON COMMIT DROP AS"
        " SELECT m.id, m.vendor_id, s.id AS scenario_id FROM marketplace_devicemodel m"
        " JOIN bench_vendors v ON v.id = m.vendor_id"
        " JOIN marketplace_scenario s ON m.model_number = 'PG-' || s.code || '-' || v.n",
    )
    _execute(
        cursor,
        "INSERT INTO marketplace_devicemodel_scenarios (devicemodel_id, scenario_id)"
        " SELECT id, scenario_id FROM bench_models",
    )
    # Two certified solutions per vendor and scenario, at two of the three tiers (rotating);
    # one vendor in five also has one at the third tier that is not (yet) certified.
    _execute(
        cursor,
        """
        INSERT INTO marketplace_solution (public_id, tier, created_at, scenario_id, vendor_id)
        SELECT gen_random_uuid(), (ARRAY['low', 'mid', 'high'])[(v.n + s.position + k) %% 3 + 1],
               now() - (v.n + k) * interval '1 day', s.id, v.id
        FROM bench_vendors v CROSS JOIN marketplace_scenario s CROSS JOIN generate_series(0, 2) k
        WHERE k < 2 OR v.n %% 5 = 0
        """,
    )
    standard_cases = " ".join(f"WHEN {scenario} THEN {pk}" for scenario, pk in standards.items())
    _execute(
        cursor,
        f"""
        CREATE TEMP TABLE bench_solutions ON COMMIT DROP AS
        SELECT s.id, s.tier, s.scenario_id, s.vendor_id, v.n AS vendor_n, sc.code,
               row_number() OVER (ORDER BY s.id) AS rn,
               s.created_at > now() - (v.n + 1.5) * interval '1 day' AS certified,  -- k < 2
               CASE s.scenario_id {standard_cases} END AS standard_id,
               CASE s.tier WHEN 'low' THEN 10000 WHEN 'mid' THEN 30000 ELSE 80000 END
               + (s.id * 7919) %% CASE s.tier WHEN 'low' THEN 20000 WHEN 'mid' THEN 50000
                                               ELSE 120000 END AS price
        FROM marketplace_solution s
        JOIN bench_vendors v ON v.id = s.vendor_id
        JOIN marketplace_scenario sc ON sc.id = s.scenario_id
        """,
    )
    revision = """
        INSERT INTO marketplace_solutionrevision (number, status, name, name_en, description,
            description_en, currency, purchase_price, installation_fee, lease_monthly_fee,
            lease_min_months, lease_deposit, lease_buyout_price, monitoring_fee,
            warranty_months, repair_sla_hours, certificate_number, valid_from, valid_until,
            created_at, submitted_at, solution_id, standard_id)
        SELECT {number}, {status}, '页面基准方案 ' || b.vendor_n || '-' || b.code || '-' || b.tier,
               'Bench solution ' || b.vendor_n || '-' || b.code || '-' || b.tier, '', '', 'CNY',
               b.price, 2000 + b.price / 10,
               CASE WHEN b.rn %% 2 = 0 THEN b.price / 24 END,
               CASE WHEN b.rn %% 2 = 0 THEN 12 END,
               CASE WHEN b.rn %% 2 = 0 THEN b.price / 5 END,
               CASE WHEN b.rn %% 2 = 0 THEN b.price / 4 END,
               300 + (b.rn * 37) %% 1200, (ARRAY[12, 24, 36])[b.rn %% 3 + 1],
               (ARRAY[4, 8, 24, 48])[b.rn %% 4 + 1], {certificate},
               current_date - (b.rn %% 300)::int, current_date + 365 + (b.rn %% 300)::int,
               now() - interval '1 day', now() - interval '1 day', b.id, b.standard_id
        FROM bench_solutions b WHERE {where}
    """
    # Superseded first revisions of one solution in four, then the current ones.
    _execute(
        cursor,
        revision.format(
            number=1,
            status="'superseded'",
            certificate="'PG-OLD-' || b.id",
            where="b.certified AND b.rn %% 4 = 0",
        ),
    )
    _execute(
        cursor,
        revision.format(
            number="CASE WHEN b.rn %% 4 = 0 THEN 2 ELSE 1 END",
            status="'certified'",
            certificate="'PG-' || b.id",
            where="b.certified",
        ),
    )
    _execute(
        cursor,
        revision.format(
            number=1,
            status="(ARRAY['draft', 'submitted', 'in_review', 'rejected'])[b.rn %% 4 + 1]",
            certificate="NULL",
            where="NOT b.certified",
        ),
    )
    facts = {
        field: " ".join(f"WHEN '{code}' THEN {value}" for code, value in values.items())
        for field, values in {
            "rule": {code: f"'{f[1]}'" for code, f in SCENARIO_FACTS.items()},
            "quantity": {code: f[2] for code, f in SCENARIO_FACTS.items()},
            "step": {code: f[3] or "NULL" for code, f in SCENARIO_FACTS.items()},
        }.items()
    }
    # The scenario's device by its rule, and a gateway for the mid and high tiers.
    _execute(
        cursor,
        f"""
        INSERT INTO marketplace_bomline (rule, quantity, area_step_m2, device_model_id, revision_id)
        SELECT CASE b.code {facts["rule"]} END, CASE b.code {facts["quantity"]} END,
               CASE b.code {facts["step"]} END, m.id, r.id
        FROM marketplace_solutionrevision r
        JOIN bench_solutions b ON b.id = r.solution_id
        JOIN bench_models m ON m.vendor_id = b.vendor_id AND m.scenario_id = b.scenario_id
        WHERE r.status IN ('certified', 'superseded')
        UNION ALL
        SELECT 'fixed', 1, NULL, m.id, r.id
        FROM marketplace_solutionrevision r
        JOIN bench_solutions b ON b.id = r.solution_id
        JOIN bench_vendors v ON v.id = b.vendor_id
        JOIN marketplace_devicemodel m ON m.vendor_id = v.id AND m.model_number = 'PG-GW-' || v.n
        WHERE r.status IN ('certified', 'superseded') AND b.tier <> 'low'
        """,
    )


def _standards() -> dict[int, int]:
    """{scenario id: the published standard's id}: the scenario's own when it has one, else
    the bench's (tier bands and three requirements)."""
    from accounts.models import Organisation
    from marketplace.models import ReferenceStandard, Requirement, Scenario, TierBand

    owner = _user("bench-pages-standards@example.com", "页面基准审核员")
    authority = _organisation("页面基准市场监管局", Organisation.Kind.AUTHORITY, owner)
    found = {}
    for scenario in Scenario.objects.all():
        standard = ReferenceStandard.objects.filter(
            scenario=scenario, status=ReferenceStandard.Status.PUBLISHED
        ).first()
        if standard is None:
            version = 1 + (
                ReferenceStandard.objects.filter(scenario=scenario)
                .order_by("-version")
                .values_list("version", flat=True)
                .first()
                or 0
            )
            standard = ReferenceStandard.objects.create(
                scenario=scenario,
                version=version,
                status=ReferenceStandard.Status.PUBLISHED,
                title=f"{scenario.name}基准规范",
                title_en=f"{scenario.name_en} bench standard",
                authority=authority,
                allowed_modes=["purchase", "lease"],
                monitoring_fee_min=200,
                monitoring_fee_max=2000,
            )
            for tier, low, high in (("low", 5000, 30000), ("mid", 30000, 80000)):
                TierBand.objects.create(standard=standard, tier=tier, price_min=low, price_max=high)
            TierBand.objects.create(
                standard=standard, tier="high", price_min=80000, price_max=200000
            )
            for position, (code, kind) in enumerate(
                (("R1", "capability"), ("R2", "documentation"), ("R3", "capability"))
            ):
                Requirement.objects.create(
                    standard=standard,
                    code=code,
                    text=f"基准要求 {code}",
                    text_en=f"Bench requirement {code}",
                    kind=kind,
                    tiers=["low", "mid", "high"],
                    position=position,
                )
        found[scenario.pk] = standard.pk
    return found


def _units(cursor, grids, benched: list) -> None:
    """UNITS units of UNIT_ORGANISATIONS operators round the grids, their facts varying with
    their number; then how many devices each unit gets (bench_unit_devices)."""
    _organisations(cursor, count=UNIT_ORGANISATIONS, kind="unit", name="页面基准商户 ")
    _execute(
        cursor,
        "SELECT id FROM accounts_organisation WHERE kind = 'unit' AND name ~ '^页面基准商户 '"
        " ORDER BY name LIMIT %(count)s",
        {"count": UNIT_ORGANISATIONS},
    )
    organisations = [row[0] for row in cursor.fetchall()]
    grid_ids = [grid.pk for grid in grids]
    _execute(
        cursor,
        """
        INSERT INTO units_unit (public_id, organisation_id, name, kind, region_id, address,
            floor_area_m2, floors, shops_inside, households, elevators, entrances,
            daily_visitors, responsible_name, responsible_phone, created_at, updated_at)
        SELECT gen_random_uuid(), (%(organisations)s::bigint[])[n %% %(orgs)s + 1],
               '页面基准单元' || lpad(n::text, 6, '0'), kind,
               (%(grids)s::bigint[])[n %% %(grid_count)s + 1], '页面基准路 ' || n || ' 号',
               40 + n %% 400, 1 + n %% 5, 0, CASE kind WHEN 'estate' THEN 200 ELSE 0 END,
               CASE WHEN kind IN ('estate', 'building') THEN 2 ELSE 0 END, 1 + n %% 3, 0,
               '页面基准', '13800000000', now(), now()
        FROM (SELECT n, (%(kinds)s::text[])[n %% %(kind_count)s + 1] AS kind
              FROM generate_series(0, %(units)s - 1) AS n) AS numbered
        """,
        {
            "organisations": organisations,
            "orgs": len(organisations),
            "grids": grid_ids,
            "grid_count": len(grid_ids),
            "kinds": KINDS,
            "kind_count": len(KINDS),
            "units": UNITS,
        },
    )
    # How many devices each unit has: the benched ones first, then 2 to 8 per unit until the
    # fleet is DEVICES (the last few units have none yet).
    _execute(
        cursor, "SELECT id, kind FROM units_unit WHERE name LIKE '页面基准单元%%' ORDER BY name"
    )
    rows = [(unit.pk, unit.kind, count) for unit, count in zip(benched, (400, 4, 6), strict=True)]
    left = DEVICES - sum(count for _pk, _kind, count in rows)
    for n, (unit_id, kind) in enumerate(cursor.fetchall()):
        count = min(2 + n % 7, left)
        left -= count
        rows.append((unit_id, kind, count))
    assert left == 0, f"{left} devices left over: more units needed"
    _execute(
        cursor,
        "CREATE TEMP TABLE bench_unit_devices (unit_id bigint, kind text, devices int,"
        " n int GENERATED ALWAYS AS IDENTITY) ON COMMIT DROP",
    )
    with cursor.copy("COPY bench_unit_devices (unit_id, kind, devices) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _devices(cursor) -> None:
    """The devices: unit n's k-th device is of the k-th scenario that applies to its kind
    (fire first), from one vendor per unit and scenario (vendor 0 for 40 % of them)."""
    _execute(
        cursor,
        """
        CREATE TEMP TABLE bench_kind_scenarios ON COMMIT DROP AS
        SELECT k.kind, s.id AS scenario_id, s.code,
               row_number() OVER (PARTITION BY k.kind ORDER BY s.position) - 1 AS idx,
               count(*) OVER (PARTITION BY k.kind) AS total
        FROM (SELECT DISTINCT kind FROM bench_unit_devices) k
        JOIN marketplace_scenario s ON k.kind = ANY(s.unit_kinds)
        """,
    )
    _execute(
        cursor,
        f"""
        CREATE TEMP TABLE bench_devices ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY u.n, k) AS rn, u.unit_id, ks.scenario_id, ks.code,
               CASE WHEN (u.n * 31 + ks.idx * 7) %% 10 < 4 THEN 0
                    ELSE 1 + (u.n * 13 + ks.idx) %% {VENDORS - 1} END AS vendor_n
        FROM bench_unit_devices u
        CROSS JOIN LATERAL generate_series(0, u.devices - 1) AS k
        JOIN bench_kind_scenarios ks ON ks.kind = u.kind AND ks.idx = k %% ks.total
        """,
    )
    # No heartbeat due: the data is kept between runs, and devices falling due while it waits
    # would be found by the offline sweep that `sweep` times in the same database.
    _execute(
        cursor,
        """
        INSERT INTO devices_device (public_id, serial, claim_code, state, firmware_version,
            last_seen_at, next_heartbeat_due_at, battery_pct, signal_dbm, token_hash,
            token_prefix, claim_failures, created_at, device_model_id, unit_id, vendor_id)
        SELECT gen_random_uuid(), %(serial)s || lpad(d.rn::text, 7, '0'), 'PG', d.state,
               '1.' || d.rn %% 5, d.seen, NULL,
               10 + (d.rn * 37) %% 91, -50 - (d.rn %% 60)::int,
               encode(sha256(('pg-' || d.rn)::bytea), 'hex'), 'pg' || d.rn %% 1000, 0,
               now() - (d.rn %% 400) * interval '1 day', m.id, d.unit_id, v.id
        FROM (
            SELECT *,
                   CASE WHEN rn %% 17 = 0 THEN 'offline' WHEN rn %% 101 = 0 THEN 'faulty'
                        WHEN rn %% 211 = 0 THEN 'maintenance' ELSE 'active' END AS state,
                   now() - CASE WHEN rn %% 17 = 0 THEN (86400 + rn %% 86400) * interval '1 s'
                                ELSE rn %% 3000 * interval '1 s' END AS seen
            FROM bench_devices
        ) d
        JOIN bench_vendors v ON v.n = d.vendor_n
        JOIN bench_models m ON m.vendor_id = v.id AND m.scenario_id = d.scenario_id
        ORDER BY d.rn
        """,
        {"serial": SERIAL},
    )
    # Nine in ten placed (the rest wait for their unit to say where they are).
    _execute(
        cursor,
        """
        INSERT INTO devices_placement (building, floor, space_type, description, placed_at,
            device_id)
        SELECT (1 + d.id %% 3) || '号楼', 1 + (d.id %% 6)::int,
               (ARRAY['corridor', 'stairwell', 'entrance', 'shop_floor', 'kitchen',
                      'storeroom', 'office', 'plant_room'])[d.id %% 8 + 1],
               '页面基准位置 ' || d.id %% 100, d.created_at, d.id
        FROM devices_device d
        WHERE d.serial LIKE %(serial)s AND d.id %% 10 <> 0
        """,
        {"serial": SERIAL + "%"},
    )


def _alerts(cursor) -> None:
    """ALERTS alerts: UNRESOLVED unresolved ones, each on its own device (one open alert per
    device and kind), three in four of the kinds a fire station handles; the others resolved
    over the last 90 days."""
    kinds = " ".join(
        f"WHEN '{code}' THEN '{facts[4]}'" for code, facts in SCENARIO_FACTS.items()
    )  # constants of this module, not input
    _execute(
        cursor,
        f"""
        CREATE TEMP TABLE bench_alerting ON COMMIT DROP AS
        SELECT d.id, d.unit_id, u.region_id, b.scenario_id, CASE b.code {kinds} END AS kind,
               b.rn
        FROM bench_devices b
        JOIN devices_device d ON d.serial = %(serial)s || lpad(b.rn::text, 7, '0')
        JOIN units_unit u ON u.id = d.unit_id
        """,
        {"serial": SERIAL},
    )
    _execute(
        cursor,
        """
        CREATE TEMP TABLE bench_alert_rows ON COMMIT DROP AS
        (SELECT *, true AS unresolved FROM bench_alerting WHERE kind = ANY(%(station)s)
         ORDER BY (rn * 7919) %% 100003 LIMIT %(station_open)s)
        UNION ALL
        (SELECT *, true FROM bench_alerting WHERE NOT kind = ANY(%(station)s)
         ORDER BY (rn * 7919) %% 100003 LIMIT %(other_open)s)
        UNION ALL
        (SELECT *, false FROM bench_alerting ORDER BY (rn * 104729) %% 100019
         LIMIT %(resolved)s)
        """,
        {
            "station": list(FIRE_STATION_KINDS),
            "station_open": UNRESOLVED * 3 // 4,
            "other_open": UNRESOLVED - UNRESOLVED * 3 // 4,
            "resolved": ALERTS - UNRESOLVED,
        },
    )
    _execute(cursor, "SELECT setseed(0.17)")
    _execute(
        cursor,
        """
        INSERT INTO alerts_alert (public_id, device_id, unit_id, region_id, scenario_id, kind,
            severity, life_safety, status, outcome, summary, event_count, first_event_at,
            last_event_at, raised_at, first_notified_at, acknowledged_at, dispatched_at,
            resolved_at, next_step)
        SELECT gen_random_uuid(), a.id, a.unit_id, a.region_id, a.scenario_id, a.kind,
               CASE WHEN a.kind IN ('fire', 'gas', 'entrapment', 'vitals') THEN 'critical'
                    WHEN a.rn %% 3 = 0 THEN 'minor' ELSE 'major' END,
               a.kind IN ('fire', 'gas', 'entrapment', 'vitals'), a.status,
               CASE WHEN a.status <> 'resolved' THEN ''
                    ELSE (ARRAY['false_alarm', 'incident', 'test', 'device_fault'])[a.rn %% 4 + 1]
               END,
               '', 1 + a.rn %% 4, a.raised, a.raised + a.rn %% 60 * interval '1 second', a.raised,
               a.raised + interval '2 seconds',
               CASE WHEN a.status <> 'open' THEN a.raised + interval '90 seconds' END,
               CASE WHEN a.status IN ('dispatched', 'resolved') THEN a.raised + interval '3 min'
               END,
               CASE WHEN a.status = 'resolved' THEN a.raised + interval '30 minutes' END, 0
        FROM (
            SELECT r.*,
                   CASE WHEN NOT r.unresolved THEN 'resolved'
                        WHEN r.rn %% 7 < 4 THEN 'open'
                        WHEN r.rn %% 7 < 6 THEN 'acknowledged' ELSE 'dispatched' END AS status,
                   CASE WHEN r.unresolved THEN now() - random() * interval '12 hours'
                        ELSE now() - interval '1 day' - random() * interval '89 days'
                   END AS raised
            FROM bench_alert_rows r
        ) a
        """,
    )


def _analyze(cursor) -> None:
    """Fresh planner statistics and visibility maps after bulk writes, as autovacuum leaves
    them on a live database (some plans, index-only scans among them, change with them)."""
    for table in (
        "accounts_organisation",
        "marketplace_vendor",
        "marketplace_devicemodel",
        "marketplace_solution",
        "marketplace_solutionrevision",
        "marketplace_bomline",
        "units_unit",
        "units_unitgroupobjectpermission",
        "devices_device",
        "devices_placement",
        "alerts_alert",
        "auth_group",
        "accounts_membership",
        "accounts_user_groups",
    ):
        _execute(cursor, f"VACUUM ANALYZE {table}")


def _generate(district, grids, benched, responder) -> None:
    from django.db import connection, transaction

    from units.services import unit_grants_sync

    standards = _standards()
    with transaction.atomic(), connection.cursor() as cursor:
        _clear(cursor, district)
        started = time.monotonic()
        _catalog(cursor, standards)
        _say(f"{SOLUTIONS} certified solutions written in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        _units(cursor, grids, benched)
        _devices(cursor)
        _say(f"{UNITS} units and {DEVICES} devices written in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        _alerts(cursor)
        _say(f"{ALERTS} alerts written in {time.monotonic() - started:.1f} s")
        # The new units' grants: the fire station responds in its subdistrict.
        from units.models import Unit

        unit_grants_sync(units=Unit.objects.filter(region__path__startswith=district.path))


# The requests -------------------------------------------------------------------------------


def _client(email: str):
    from django.test import Client

    from accounts.models import User

    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(email=email))
    return client


def _targets(benched) -> dict[str, tuple]:
    """{name: (client, path, headers)}: what each persona asks for."""
    from alerts.selectors import CONSOLE_LIMIT
    from marketplace.models import Vendor

    unit_client, vendor_client, desk_client = (
        _client(UNIT_PERSONA),
        _client(VENDOR_PERSONA),
        _client(DESK_PERSONA),
    )
    some_vendor = Vendor.objects.get(licence_number=LICENCE.format(7))
    building = benched[0]
    htmx = {"HTTP_HX_REQUEST": "true"}
    console = desk_client.get("/console/", **htmx)
    assert console.status_code == 200, console.status_code
    rows = console.content.count(b'class="alert-row ')
    if rows < CONSOLE_LIMIT:  # only with BENCH_PAGES_ALERTS below the default
        print(f"[pages] the console shows {rows} alerts, not {CONSOLE_LIMIT}", file=sys.stderr)
    version = re.search(rb'data-version="(\w+)"', console.content).group(1).decode()
    return {
        "catalog": (unit_client, "/catalog/", {}),
        "catalog_scenario": (unit_client, "/catalog/fire/", {}),
        # A tier, leasable, under ¥1,000 per device, by tier, quoted for the building, page 2.
        "catalog_filtered": (
            unit_client,
            f"/catalog/fire/?tier=mid&mode=lease&max_price=1000&sort=tier"
            f"&unit={building.public_id}&months=36&page=2",
            {},
        ),
        "catalog_vendor": (unit_client, f"/catalog/fire/?vendor={some_vendor.public_id}", {}),
        "devices": (unit_client, "/devices/", {}),
        "devices_filtered": (
            unit_client,
            f"/devices/?unit={building.public_id}&state=active&q=PG-00003&page=2",
            {},
        ),
        "fleet": (vendor_client, "/vendor/fleet/", {}),
        "fleet_filtered": (vendor_client, "/vendor/fleet/?stale=on&page=5", {}),
        "console": (desk_client, "/console/", {}),
        "console_partial": (desk_client, "/console/?v=changed", htmx),
        "console_poll": (desk_client, f"/console/?v={version}", htmx),
    }


_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _backend_cpu_s(pid: int | None) -> float:
    """CPU seconds the PostgreSQL backend serving this process has used (0 when the server
    runs on another machine): with this process's own, a cost that other work on the
    machine does not skew, unlike the times."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) * _TICK_S


def _requests(targets: dict[str, tuple]) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from config.wsgi import loaded_objects_freeze

    expected = {"console_poll": 204}
    for name, (client, path, headers) in targets.items():  # warm up: connections, templates
        for _ in range(3):
            status = client.get(path, **headers).status_code
            assert status == expected.get(name, 200), (name, status)
    loaded_objects_freeze()  # as config/wsgi.py does in each web process
    queries: dict[str, int] = {}
    for name, (client, path, headers) in targets.items():
        with CaptureQueriesContext(connection) as captured:
            client.get(path, **headers)
        queries[name] = len(captured.captured_queries)
    with connection.cursor() as cursor:  # the connection stays open (CONN_MAX_AGE)
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    timings: dict[str, list[float]] = {name: [] for name in targets}
    cpu: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(REQUESTS):  # round the pages, so that a busy moment spreads over all
        for name, (client, path, headers) in targets.items():
            cpu_before = time.process_time() + _backend_cpu_s(backend)
            started = time.perf_counter()
            response = client.get(path, **headers)
            timings[name].append((time.perf_counter() - started) * 1000)
            cpu[name].append((time.process_time() + _backend_cpu_s(backend) - cpu_before) * 1000)
            assert response.status_code == expected.get(name, 200), (name, response.status_code)
    everything = [ms for values in timings.values() for ms in values]
    _percentiles("pages", everything)
    over = []
    for name, values in timings.items():
        _percentiles(f"pages.{name}", values)
        print(f"pages.{name}.queries: {queries[name]}", flush=True)
        print(f"pages.{name}.cpu: {statistics.median(cpu[name]):.0f} ms", flush=True)
        p95 = statistics.quantiles(sorted(values), n=100, method="inclusive")[94]
        if p95 > BUDGET_MS:
            over.append(f"{name} ({p95:.0f} ms)")
    if over:
        print(f"[pages] over the {BUDGET_MS} ms budget: {', '.join(over)}", file=sys.stderr)
    return over


def bench_pages(_url: str = "") -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import override_settings

    _say(_load())
    district, subdistricts, grids = _district(
        DISTRICT,
        name="页面基准",
        name_en="Pages bench district",
        subdistricts=SUBDISTRICTS,
        grids=GRIDS_PER_SUBDISTRICT,
    )
    benched = _benched_units(grids[0])
    _fleet_vendor()
    responder = _fire_station(subdistricts[0])
    if _generated(district):
        _say("bench data found, reusing it")
    else:
        started = time.monotonic()
        _generate(district, grids, benched, responder)
        print(f"pages.generate: {time.monotonic() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        _analyze(cursor)
    # Hashed static names need collectstatic's manifest; the pages' cost does not depend on it.
    plain_static = override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    )
    with plain_static:
        _requests(_targets(benched))
    _say(_load())
