"""Coverage maths (DESIGN §3.6, issue 7): which unit covers which scenario, and the sums per
region that the dashboards and programmes read.

A unit *covers* a scenario that applies to its kind when it has an active (online) device
bought with an order of a solution for that scenario, the solution is certified now (one of
its revisions is `certified` and still valid), and the unit's monitoring subscription for that
solution is active or past due (not lapsed, not cancelled).

Everything is computed in PostgreSQL, set-based. The beat pass (`coverage_refresh`) runs one
statement that computes every unit's coverage and writes only the rows that changed (an
unchanged row is neither rewritten nor locked, so a pass over 100k quiet units writes
nothing), one that deletes rows no longer applying, then sums every region into a temporary
table and writes the region rows that changed from it. A region's row sums its whole subtree:
each grid's sums are added to the regions whose codes are in its `path`
("/310000/310101/…/"), an index look-up per grid rather than a prefix comparison with every
region. With 100k units a quiet pass takes about 3 s. `coverage_refresh_unit` does the same
for one unit, then rolls its grid and each region above up from their children's rows, in
milliseconds. A transaction-level advisory lock makes concurrent passes queue.
"""

from datetime import datetime

from django.db import connection, transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from billing.models import MonitoringSubscription, Order, OrderLine
from devices.models import Device
from marketplace.models import Scenario, Solution, SolutionRevision
from oversight.models import RegionCoverage, UnitCoverage
from units.models import Region, Unit

# pg_advisory_xact_lock key: "coverage" in ASCII, so that it names itself in pg_locks.
COVERAGE_LOCK = 0x636F76657261

_TABLES = {
    "unit": Unit._meta.db_table,
    "region": Region._meta.db_table,
    "scenario": Scenario._meta.db_table,
    "solution": Solution._meta.db_table,
    "revision": SolutionRevision._meta.db_table,
    "order": Order._meta.db_table,
    "line": OrderLine._meta.db_table,
    "subscription": MonitoringSubscription._meta.db_table,
    "device": Device._meta.db_table,
    "unit_coverage": UnitCoverage._meta.db_table,
    "region_coverage": RegionCoverage._meta.db_table,
}

# What each unit covers now: (unit_id, scenario_id, covered, solution_id). `{unit_filter}` is
# empty for the whole city, or narrows both halves to one unit.
_COMPUTED = """
    SELECT a.unit_id, a.scenario_id, c.solution_id IS NOT NULL AS covered, c.solution_id
    FROM (
        SELECT u.id AS unit_id, s.id AS scenario_id
        FROM {unit} u JOIN {scenario} s ON u.kind = ANY (s.unit_kinds)
        WHERE TRUE {unit_filter_u}
    ) a
    LEFT JOIN (
        SELECT d.unit_id, sol.scenario_id, MIN(sol.id) AS solution_id
        FROM {device} d
        JOIN {line} l ON l.id = d.order_line_id
        JOIN {order} o ON o.id = l.order_id
        JOIN {revision} bought ON bought.id = o.revision_id
        JOIN {solution} sol ON sol.id = bought.solution_id
        WHERE d.state = 'active' AND d.unit_id IS NOT NULL {unit_filter_d}
          AND EXISTS (
              SELECT 1 FROM {revision} current
              WHERE current.solution_id = sol.id AND current.status = 'certified'
                AND (current.valid_until IS NULL OR current.valid_until >= %(today)s)
          )
          AND EXISTS (
              SELECT 1 FROM {subscription} ms
              WHERE ms.unit_id = d.unit_id AND ms.solution_id = sol.id
                AND ms.status IN ('active', 'past_due')
          )
        GROUP BY d.unit_id, sol.scenario_id
    ) c ON c.unit_id = a.unit_id AND c.scenario_id = a.scenario_id
"""

# Only the rows whose coverage changed (or that are new) are written; `covered_since` is kept
# while a unit stays covered, even if the covering solution changes.
_UNIT_UPSERT = """
    INSERT INTO {unit_coverage} AS uc
        (unit_id, scenario_id, covered, solution_id, covered_since, refreshed_at)
    SELECT computed.unit_id, computed.scenario_id, computed.covered, computed.solution_id,
           CASE WHEN computed.covered THEN %(now)s END, %(now)s
    FROM ({computed}) computed
    LEFT JOIN {unit_coverage} stored
      ON stored.unit_id = computed.unit_id AND stored.scenario_id = computed.scenario_id
    WHERE stored.id IS NULL
       OR stored.covered IS DISTINCT FROM computed.covered
       OR stored.solution_id IS DISTINCT FROM computed.solution_id
    ON CONFLICT (unit_id, scenario_id) DO UPDATE SET
        covered = EXCLUDED.covered,
        solution_id = EXCLUDED.solution_id,
        covered_since = CASE
            WHEN EXCLUDED.covered AND uc.covered THEN uc.covered_since
            ELSE EXCLUDED.covered_since
        END,
        refreshed_at = EXCLUDED.refreshed_at
"""

# Rows of scenarios that no longer apply to the unit's kind (the unit or the scenario changed).
_UNIT_DELETE_STALE = """
    DELETE FROM {unit_coverage} uc
    USING {unit} u, {scenario} s
    WHERE u.id = uc.unit_id AND s.id = uc.scenario_id
      AND NOT (u.kind = ANY (s.unit_kinds)) {unit_filter_u}
"""

# Units and covered units per region (every level), scenario and unit kind: summed per grid
# first, then each grid's sums added to every region on its path. Computed once per pass into
# a temporary table, which the upsert and the clean-up below both read.
_REGION_SUMS = """
    CREATE TEMPORARY TABLE oversight_region_sums ON COMMIT DROP AS
    SELECT ancestor.id AS region_id, per_grid.scenario_id, per_grid.unit_kind,
           SUM(per_grid.units)::integer AS units, SUM(per_grid.covered)::integer AS covered
    FROM (
        SELECT u.region_id, uc.scenario_id, u.kind AS unit_kind,
               COUNT(*) AS units, COUNT(*) FILTER (WHERE uc.covered) AS covered
        FROM {unit_coverage} uc JOIN {unit} u ON u.id = uc.unit_id
        GROUP BY u.region_id, uc.scenario_id, u.kind
    ) per_grid
    JOIN {region} grid ON grid.id = per_grid.region_id
    JOIN {region} ancestor
      ON ancestor.code = ANY (string_to_array(trim(BOTH '/' FROM grid.path), '/'))
    GROUP BY ancestor.id, per_grid.scenario_id, per_grid.unit_kind
"""

_REGION_UPSERT = """
    INSERT INTO {region_coverage} AS rc
        (region_id, scenario_id, unit_kind, units, covered, refreshed_at)
    SELECT sums.region_id, sums.scenario_id, sums.unit_kind, sums.units, sums.covered, %(now)s
    FROM oversight_region_sums sums
    LEFT JOIN {region_coverage} stored
      ON stored.region_id = sums.region_id AND stored.scenario_id = sums.scenario_id
     AND stored.unit_kind = sums.unit_kind
    WHERE stored.id IS NULL OR stored.units <> sums.units OR stored.covered <> sums.covered
    ON CONFLICT (region_id, scenario_id, unit_kind) DO UPDATE SET
        units = EXCLUDED.units, covered = EXCLUDED.covered, refreshed_at = EXCLUDED.refreshed_at
"""

# Region rows with no unit left behind them (units moved away, a kind changed).
_REGION_DELETE_STALE = """
    DELETE FROM {region_coverage} rc
    WHERE NOT EXISTS (
        SELECT 1 FROM oversight_region_sums sums
        WHERE sums.region_id = rc.region_id AND sums.scenario_id = rc.scenario_id
          AND sums.unit_kind = rc.unit_kind
    )
"""

# One region's rows from its children's rows plus the units placed in it directly: after one
# unit changed, its grid and each region above it in turn (a handful of small rows each,
# rather than every unit of the city again). `parts` is shared by the upsert and clean-up.
_REGION_PARTS = """
    SELECT child_rows.scenario_id, child_rows.unit_kind, child_rows.units, child_rows.covered
    FROM {region_coverage} child_rows JOIN {region} child ON child.id = child_rows.region_id
    WHERE child.parent_id = %(region_id)s
    UNION ALL
    SELECT uc.scenario_id, u.kind, 1, CASE WHEN uc.covered THEN 1 ELSE 0 END
    FROM {unit_coverage} uc JOIN {unit} u ON u.id = uc.unit_id
    WHERE u.region_id = %(region_id)s
"""

_REGION_ROLL_UP = """
    INSERT INTO {region_coverage} AS rc
        (region_id, scenario_id, unit_kind, units, covered, refreshed_at)
    SELECT %(region_id)s, parts.scenario_id, parts.unit_kind,
           SUM(parts.units)::integer, SUM(parts.covered)::integer, %(now)s
    FROM ({region_parts}) AS parts (scenario_id, unit_kind, units, covered)
    GROUP BY parts.scenario_id, parts.unit_kind
    ON CONFLICT (region_id, scenario_id, unit_kind) DO UPDATE SET
        units = EXCLUDED.units, covered = EXCLUDED.covered, refreshed_at = EXCLUDED.refreshed_at
    WHERE rc.units <> EXCLUDED.units OR rc.covered <> EXCLUDED.covered
"""

_REGION_ROLL_UP_DELETE = """
    DELETE FROM {region_coverage} rc
    WHERE rc.region_id = %(region_id)s
      AND NOT EXISTS (
          SELECT 1 FROM ({region_parts}) AS parts (scenario_id, unit_kind, units, covered)
          WHERE parts.scenario_id = rc.scenario_id AND parts.unit_kind = rc.unit_kind
      )
"""


def _sql(template: str, *, unit_id: int | None = None) -> str:
    one_unit = unit_id is not None
    parts = {
        **_TABLES,
        "unit_filter_u": "AND u.id = %(unit_id)s" if one_unit else "",
        "unit_filter_d": "AND d.unit_id = %(unit_id)s" if one_unit else "",
    }
    parts["computed"] = _COMPUTED.format(**parts)
    parts["region_parts"] = _REGION_PARTS.format(**parts)
    return template.format(**parts)


def _run(cursor, template: str, params: dict, **filters) -> int:
    cursor.execute(_sql(template, **filters), params)
    return cursor.rowcount


def _params(now: datetime | None) -> dict:
    now = now or timezone.now()
    return {"now": now, "today": timezone.localdate(now)}


@transaction.atomic
def coverage_refresh(*, now: datetime | None = None) -> dict:
    """Recompute every unit's coverage and every region's sums (beat, every five minutes).
    Returns how many rows of each table were written and deleted."""
    params = _params(now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COVERAGE_LOCK])
        units_deleted = _run(cursor, _UNIT_DELETE_STALE, params)
        units_written = _run(cursor, _UNIT_UPSERT, params)
        _run(cursor, _REGION_SUMS, params)
        cursor.execute("ANALYZE oversight_region_sums")
        regions_deleted = _run(cursor, _REGION_DELETE_STALE, params)
        regions_written = _run(cursor, _REGION_UPSERT, params)
        cursor.execute("DROP TABLE oversight_region_sums")
    return {
        "units_written": units_written,
        "units_deleted": units_deleted,
        "regions_written": regions_written,
        "regions_deleted": regions_deleted,
    }


@transaction.atomic
def coverage_refresh_unit(*, unit: Unit, now: datetime | None = None) -> dict:
    """Recompute one unit's coverage and the sums of the regions on its path, right after
    something changed for it (a purchase paid, a device activated), instead of waiting for the
    next beat pass: its grid from its units, then each region above from its children's rows,
    so the cost does not grow with the city. (A unit moved to another grid leaves its old
    grid's sums to the next full pass.)"""
    params = _params(now) | {"unit_id": unit.pk}
    region_path = Region.objects.filter(pk=unit.region_id).values_list("path", flat=True).get()
    codes = [code for code in region_path.split("/") if code]
    path_ids = dict(Region.objects.filter(code__in=codes).values_list("code", "pk"))
    result = dict.fromkeys(
        ("units_written", "units_deleted", "regions_written", "regions_deleted"), 0
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COVERAGE_LOCK])
        result["units_deleted"] = _run(cursor, _UNIT_DELETE_STALE, params, unit_id=unit.pk)
        result["units_written"] = _run(cursor, _UNIT_UPSERT, params, unit_id=unit.pk)
        for code in reversed(codes):  # the grid first, the city last
            region_params = params | {"region_id": path_ids[code]}
            result["regions_deleted"] += _run(cursor, _REGION_ROLL_UP_DELETE, region_params)
            result["regions_written"] += _run(cursor, _REGION_ROLL_UP, region_params)
    return result


# Reads for dashboards and programmes -----------------------------------------------------------

KIND_ORDER = {kind: index for index, kind in enumerate(Unit.Kind.values)}


def coverage_pct(*, units: int, covered: int) -> float:
    """Covered units as a percentage with one decimal; 0.0 when there is nothing to cover."""
    return round(100 * covered / units, 1) if units else 0.0


def region_coverage(*, region: Region) -> list[dict]:
    """The region's coverage per scenario and unit kind, as of the last refresh: one small
    query over RegionCoverage whatever the number of units below. Ordered by the scenario's
    position, then unit kind in their declared order."""
    kind_rank = Case(
        *[When(unit_kind=kind, then=Value(rank)) for kind, rank in KIND_ORDER.items()],
        output_field=IntegerField(),
    )
    rows = (
        RegionCoverage.objects.filter(region=region)
        .select_related("scenario")
        .order_by("scenario__position", "scenario__code", kind_rank)
    )
    return [
        {
            "scenario": row.scenario,
            "unit_kind": row.unit_kind,
            "units": row.units,
            "covered": row.covered,
            "pct": coverage_pct(units=row.units, covered=row.covered),
        }
        for row in rows
    ]


def region_coverage_get(*, region: Region, scenario: Scenario, unit_kind: str) -> tuple[int, int]:
    """(units, covered) of one region, scenario and kind as of the last refresh."""
    row = (
        RegionCoverage.objects.filter(region=region, scenario=scenario, unit_kind=unit_kind)
        .values_list("units", "covered")
        .first()
    )
    return row or (0, 0)


def uncovered_units(
    *, region: Region, scenario: Scenario, unit_kind: str | None = None
) -> QuerySet[Unit]:
    """Units under the region that did not cover the scenario at the last refresh, by name."""
    units = Unit.objects.filter(
        region__path__startswith=region.path,
        coverage__scenario=scenario,
        coverage__covered=False,
    )
    if unit_kind:
        units = units.filter(kind=unit_kind)
    return units.select_related("region", "organisation").order_by("name", "pk")
