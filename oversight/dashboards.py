"""Reads for the jurisdiction dashboards (issue 7 §2): one region's tables, each computed by a
query or two over the roll-ups (oversight.rollups, RegionCoverage), so a dashboard costs the
same for a grid of 50 units as for a district of 100k units and 1M alerts.

A table is a list of rows of raw values (counts, percentages with one decimal, whole seconds)
and the columns that say how to show them. The page, the CSV export and the API all read the
same Table, so the numbers agree by construction: the page and the CSV show `display_rows()`,
the API the raw values.

Windows: alerts per week over the last WEEKS weeks (Monday to Sunday, Shanghai time, the
current week so far included); response times and false-alarm rates over the alerts raised
in the last WINDOW_DAYS days (today included).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from accounts.models import User
from marketplace.models import Scenario, SolutionRevision, Tier, Vendor
from marketplace.selectors import catalog_tier_counts
from oversight import coverage, rollups
from oversight.models import (
    AlertDailyRollup,
    AlertSolutionRollup,
    AlertWindowRollup,
    RegionCoverage,
)
from oversight.rollups import PERCENTILE_ERROR, WINDOW_DAYS, bucket_seconds
from units.models import Region, Unit
from units.selectors import region_breadcrumb_for, region_get_for

WEEKS = 12

TEXT, COUNT, PERCENT, DURATION, DATE = "text", "count", "percent", "duration", "date"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = TEXT


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)

    def cells(self, row: dict) -> list[str]:
        return [display(row.get(column.key), column.kind) for column in self.columns]

    def display_rows(self) -> list[list[str]]:
        return [self.cells(row) for row in self.rows]


def display(value, kind: str) -> str:
    """How a value reads on the page and in the CSV: counts as integers, percentages with one
    decimal, durations as H:MM:SS, dates as YYYY-MM-DD, a dash for "no data"."""
    if value is None:
        return "—"
    if kind == COUNT:
        return str(int(value))
    if kind == PERCENT:
        return f"{value:.1f}"
    if kind == DURATION:
        seconds = int(value)
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if kind == DATE:
        return value.isoformat()
    return str(value)


def percent(part: int, whole: int) -> float | None:
    """part / whole as a percentage with one decimal; None when there is no whole."""
    return round(100 * part / whole, 1) if whole else None


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _name(obj, field_name: str = "name") -> str:
    if _english():
        return getattr(obj, f"{field_name}_en", "") or getattr(obj, field_name)
    return getattr(obj, field_name)


def region_name(region: Region) -> str:
    return region.display_name("en" if _english() else None)


def _today() -> date:
    return timezone.localdate()


# Who sees what ----------------------------------------------------------------------------------


def dashboard_region_get_for(*, user: User, code: str) -> Region:
    """A region inside one of the user's authorities' jurisdictions (the /regions/ rule);
    404 for any other, and for someone in no authority."""
    return region_get_for(user=user, code=code)


def dashboard_breadcrumb_for(*, user: User, region: Region) -> list[dict]:
    return region_breadcrumb_for(user=user, region=region)


def scenario_list() -> list[Scenario]:
    return list(Scenario.objects.order_by("position", "code"))


# Regions: the region itself, then its children (drill-down) -------------------------------------


def regions_table(*, region: Region, today: date | None = None) -> Table:
    """Units, devices online and offline and the online rate (the snapshot), the share of
    (unit, applicable scenario) pairs covered, and alerts raised in the window, for the region
    and each child region. Three small grouped queries (a correlated subquery per child
    would look costly enough to the planner to be JIT-compiled, which costs more than it
    saves here)."""
    start = (today or _today()) - timedelta(days=WINDOW_DAYS - 1)
    regions = list(
        Region.objects.filter(Q(pk=region.pk) | Q(parent=region))
        .annotate(
            unit_total=Coalesce(F("oversight_snapshot__units"), 0),
            online=Coalesce(F("oversight_snapshot__devices_active"), 0),
            offline=Coalesce(F("oversight_snapshot__devices_offline"), 0),
            snapshot_at=F("oversight_snapshot__refreshed_at"),
        )
        .order_by("path")
    )
    ids = [row.pk for row in regions]
    pairs = {
        row["region_id"]: row
        for row in RegionCoverage.objects.filter(region_id__in=ids)
        .order_by()
        .values("region_id")
        .annotate(pairs=Sum("units"), pairs_covered=Sum("covered"))
    }
    alerts = dict(
        AlertDailyRollup.objects.filter(region_id__in=ids, day__gte=start)
        .order_by()
        .values("region_id")
        .annotate(total=Sum("alerts"))
        .values_list("region_id", "total")
    )
    rows = []
    for row in regions:
        coverage_sums = pairs.get(row.pk, {"pairs": 0, "pairs_covered": 0})
        rows.append(
            {
                "code": row.code,
                "region": region_name(row),
                "level": row.get_level_display(),
                "is_self": row.pk == region.pk,
                "refreshed_at": row.snapshot_at,
                "units": row.unit_total,
                "devices_active": row.online,
                "devices_offline": row.offline,
                "online_pct": percent(row.online, row.online + row.offline),
                "coverage_pct": percent(coverage_sums["pairs_covered"], coverage_sums["pairs"]),
                "alerts": alerts.get(row.pk, 0),
            }
        )
    return Table(
        name="regions",
        title=_("Regions, units and devices"),
        columns=[
            Column("region", _("Region")),
            Column("units", _("Units"), COUNT),
            Column("devices_active", _("Devices online"), COUNT),
            Column("devices_offline", _("Devices offline"), COUNT),
            Column("online_pct", _("Online (%)"), PERCENT),
            Column("coverage_pct", _("Scenarios covered (%)"), PERCENT),
            Column(
                "alerts",
                ngettext("Alerts (%(days)s day)", "Alerts (%(days)s days)", WINDOW_DAYS)
                % {"days": WINDOW_DAYS},
                COUNT,
            ),
        ],
        rows=rows,
    )


# Coverage per scenario and unit kind -----------------------------------------------------------


def coverage_table(*, region: Region, today: date | None = None) -> Table:
    kinds = dict(Unit.Kind.choices)
    rows = [
        {
            "scenario_code": row["scenario"].code,
            "scenario": _name(row["scenario"]),
            "unit_kind_code": row["unit_kind"],
            "unit_kind": str(kinds.get(row["unit_kind"], row["unit_kind"])),
            "units": row["units"],
            "covered": row["covered"],
            "uncovered": row["units"] - row["covered"],
            "covered_pct": percent(row["covered"], row["units"]),
        }
        for row in coverage.region_coverage(region=region)
        if row["units"]
    ]
    return Table(
        name="coverage",
        title=_("Coverage per scenario and unit kind"),
        columns=[
            Column("scenario", _("Scenario")),
            Column("unit_kind", _("Unit kind")),
            Column("units", _("Units"), COUNT),
            Column("covered", _("Covered"), COUNT),
            Column("uncovered", _("Uncovered"), COUNT),
            Column("covered_pct", _("Covered (%)"), PERCENT),
        ],
        rows=rows,
    )


def coverage_by_scenario(table: Table) -> list[dict]:
    """The coverage table summed over unit kinds, per scenario (for the bars)."""
    totals: dict[str, dict] = {}
    for row in table.rows:
        entry = totals.setdefault(
            row["scenario_code"], {"scenario": row["scenario"], "units": 0, "covered": 0}
        )
        entry["units"] += row["units"]
        entry["covered"] += row["covered"]
    return [entry | {"pct": percent(entry["covered"], entry["units"])} for entry in totals.values()]


# Alerts per scenario per week --------------------------------------------------------------------


def week_starts(today: date) -> list[date]:
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]


def weekly_table(
    *, region: Region, today: date | None = None, scenarios: list[Scenario] | None = None
) -> Table:
    """Alerts raised per week (rows, oldest first) and scenario (columns: those with alerts
    in the period, so that the table fits a phone), with the total."""
    weeks = week_starts(today or _today())
    scenarios = scenario_list() if scenarios is None else scenarios
    sums = (
        AlertDailyRollup.objects.filter(region=region, day__gte=weeks[0])
        .order_by()
        .annotate(week=TruncWeek("day"))
        .values("week", "scenario_id")
        .annotate(total=Sum("alerts"))
    )
    counts = {(_as_date(row["week"]), row["scenario_id"]): row["total"] for row in sums}
    present = {scenario_id for _week, scenario_id in counts}
    scenarios = [s for s in scenarios if s.pk in present]
    other = None in present
    columns = [Column("week", _("Week of"), DATE)]
    columns += [Column(f"s_{s.code}", _name(s), COUNT) for s in scenarios]
    if other:
        columns.append(Column("s_", _("No scenario"), COUNT))
    columns.append(Column("total", _("All alerts"), COUNT))
    rows = []
    for week in weeks:
        row = {"week": week}
        for scenario in scenarios:
            row[f"s_{scenario.code}"] = counts.get((week, scenario.pk), 0)
        if other:
            row["s_"] = counts.get((week, None), 0)
        row["total"] = sum(n for (w, _s), n in counts.items() if w == week)
        rows.append(row)
    return Table(
        name="weekly",
        title=_("Alerts per scenario per week"),
        columns=columns,
        rows=rows,
    )


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


# Time to acknowledge and to resolve ---------------------------------------------------------------

# Counts and nearest-rank p50/p90 per scenario and for all alerts raised since `start`: the
# window row of each scenario (the nightly sum of its closed days, when it is the one for
# this window) plus the daily rows after it; every daily row of the window when there is no
# such window row (before the first nightly pass, or right after midnight).
_RESPONSE = """
WITH closed AS MATERIALIZED (
    SELECT scenario_id, alerts, acknowledged, resolved, false_alarms,
           ack_buckets, ack_counts, resolve_buckets, resolve_counts
    FROM {window}
    WHERE region_id = %(region)s AND first_day = %(start)s AND last_day = %(closed)s
),
src AS MATERIALIZED (
    SELECT * FROM closed
    UNION ALL
    SELECT scenario_id, alerts, acknowledged, resolved, false_alarms,
           ack_buckets, ack_counts, resolve_buckets, resolve_counts
    FROM {daily}
    WHERE region_id = %(region)s AND day >= %(start)s
      AND (day > %(closed)s OR NOT EXISTS (SELECT 1 FROM closed))
),
counts AS (
    SELECT GROUPING(scenario_id) = 1 AS overall, scenario_id,
           sum(alerts) AS alerts, sum(acknowledged) AS acknowledged,
           sum(resolved) AS resolved, sum(false_alarms) AS false_alarms
    FROM src GROUP BY GROUPING SETS ((scenario_id), ())
),
per_scenario AS (
    SELECT s.scenario_id, 'ack' AS measure, u.bucket, sum(u.n) AS n
    FROM src s, unnest(s.ack_buckets, s.ack_counts) AS u(bucket, n)
    GROUP BY s.scenario_id, u.bucket
    UNION ALL
    SELECT s.scenario_id, 'resolve', u.bucket, sum(u.n)
    FROM src s, unnest(s.resolve_buckets, s.resolve_counts) AS u(bucket, n)
    GROUP BY s.scenario_id, u.bucket
),
sums AS (
    SELECT false AS overall, scenario_id, measure, bucket, n FROM per_scenario
    UNION ALL
    SELECT true, NULL, measure, bucket, sum(n) FROM per_scenario GROUP BY measure, bucket
),
running AS (
    SELECT overall, scenario_id, measure, bucket,
           sum(n) OVER (PARTITION BY overall, scenario_id, measure ORDER BY bucket) AS running,
           sum(n) OVER (PARTITION BY overall, scenario_id, measure) AS total
    FROM sums
),
percentiles AS (
    SELECT overall, scenario_id, measure,
           min(bucket) FILTER (WHERE running >= 0.5 * total) AS p50,
           min(bucket) FILTER (WHERE running >= 0.9 * total) AS p90
    FROM running GROUP BY overall, scenario_id, measure
)
SELECT c.overall, c.scenario_id, c.alerts, c.acknowledged, c.resolved, c.false_alarms,
       ack.p50, ack.p90, res.p50, res.p90
FROM counts c
LEFT JOIN percentiles ack ON ack.measure = 'ack' AND ack.overall = c.overall
     AND ack.scenario_id IS NOT DISTINCT FROM c.scenario_id
LEFT JOIN percentiles res ON res.measure = 'resolve' AND res.overall = c.overall
     AND res.scenario_id IS NOT DISTINCT FROM c.scenario_id
"""


def response_figures(*, region: Region, today: date) -> dict:
    """{scenario_id or "all": {alerts, acknowledged, resolved, false_alarms, ack_p50_s,
    ack_p90_s, resolve_p50_s, resolve_p90_s}} for the alerts raised in the window ending
    `today`. Percentiles are nearest-rank, read from the summed histograms: each within
    PERCENTILE_ERROR of the exact value; None where nothing was acknowledged (resolved).
    One query."""
    start, closed = rollups.window_bounds(today)
    with connection.cursor() as cursor:
        cursor.execute(
            _RESPONSE.format(
                window=AlertWindowRollup._meta.db_table, daily=AlertDailyRollup._meta.db_table
            ),
            {"region": region.pk, "start": start, "closed": closed},
        )
        found = cursor.fetchall()

    def seconds(bucket: int | None) -> int | None:
        return None if bucket is None else round(bucket_seconds(bucket))

    return {
        "all" if overall else scenario_id: {
            "alerts": alerts,
            "acknowledged": acknowledged,
            "resolved": resolved,
            "false_alarms": false_alarms,
            "ack_p50_s": seconds(ack_p50),
            "ack_p90_s": seconds(ack_p90),
            "resolve_p50_s": seconds(resolve_p50),
            "resolve_p90_s": seconds(resolve_p90),
        }
        for (
            overall,
            scenario_id,
            alerts,
            acknowledged,
            resolved,
            false_alarms,
            ack_p50,
            ack_p90,
            resolve_p50,
            resolve_p90,
        ) in found
        if alerts
    }


def response_table(
    *, region: Region, today: date | None = None, scenarios: list[Scenario] | None = None
) -> Table:
    """Per scenario and for all alerts raised in the window: how many, how many acknowledged
    and resolved, p50/p90 time to acknowledge and to resolve, and the false-alarm rate."""
    scenarios = scenario_list() if scenarios is None else scenarios
    figures = response_figures(region=region, today=today or _today())
    labels = [(s.pk, s.code, _name(s)) for s in scenarios if s.pk in figures]
    if None in figures:
        labels.append((None, "", _("No scenario")))
    if figures:
        labels.append(("all", "", _("All scenarios")))
    rows = [
        {
            "scenario_code": code,
            "scenario": label,
            **{key: value for key, value in figures[group].items() if key != "false_alarms"},
            "false_alarm_pct": percent(figures[group]["false_alarms"], figures[group]["resolved"]),
        }
        for group, code, label in labels
    ]
    return Table(
        name="response",
        title=ngettext(
            "Time to acknowledge and to resolve (last %(days)s day)",
            "Time to acknowledge and to resolve (last %(days)s days)",
            WINDOW_DAYS,
        )
        % {"days": WINDOW_DAYS},
        columns=[
            Column("scenario", _("Scenario")),
            Column("alerts", _("Alerts"), COUNT),
            Column("acknowledged", _("Acknowledged"), COUNT),
            Column("ack_p50_s", _("Acknowledge p50"), DURATION),
            Column("ack_p90_s", _("Acknowledge p90"), DURATION),
            Column("resolved", _("Resolved"), COUNT),
            Column("resolve_p50_s", _("Resolve p50"), DURATION),
            Column("resolve_p90_s", _("Resolve p90"), DURATION),
            Column("false_alarm_pct", _("False alarms (%)"), PERCENT),
        ],
        rows=rows,
    )


def percentile_error_pct() -> int:
    """The bound quoted on the page, rounded up to a whole percent."""
    return int(PERCENTILE_ERROR * 100) + 1


# False alarms by solution and by vendor ---------------------------------------------------------


def _solution_sums(*, region: Region, today: date | None, by_solution: bool) -> list[dict]:
    """The region's rolled-up alerts summed per vendor (and solution), ordered by vendor name.
    Summed over the roll-up alone, which its (region, day, …) index serves, then named: joined
    to the vendors first, the query let PostgreSQL walk the whole roll-up in vendor order."""
    start = (today or _today()) - timedelta(days=WINDOW_DAYS - 1)
    keys = ["vendor_id", "solution_id"] if by_solution else ["vendor_id"]
    sums = list(
        AlertSolutionRollup.objects.filter(region=region, day__gte=start)
        .values(*keys)
        .annotate(
            alerts_sum=Sum("alerts"),
            resolved_sum=Sum("resolved"),
            false_alarms_sum=Sum("false_alarms"),
        )
        .order_by()
    )
    vendor_names = dict(
        Vendor.objects.filter(pk__in={row["vendor_id"] for row in sums}).values_list(
            "pk", "organisation__name"
        )
    )
    for row in sums:
        row["vendor_name"] = vendor_names.get(row["vendor_id"], "")
    sums.sort(key=lambda row: (row["vendor_name"], row["vendor_id"], row.get("solution_id") or 0))
    return sums


def false_alarms_by_solution_table(*, region: Region, today: date | None = None) -> Table:
    """Resolved alerts and false alarms among them, per solution of the devices that raised
    them (a device not bought through an order counts under its vendor, without solution)."""
    sums = _solution_sums(region=region, today=today, by_solution=True)
    # Each solution as its latest revision names it: one query for all of them.
    latest = {
        revision.solution_id: revision
        for revision in SolutionRevision.objects.filter(
            solution_id__in={row["solution_id"] for row in sums if row["solution_id"]}
        )
        .order_by("solution_id", "-number")
        .distinct("solution_id")
        .select_related("solution__scenario")
        .only(
            "solution_id",
            "name",
            "name_en",
            "solution__public_id",
            "solution__tier",
            "solution__scenario__name",
            "solution__scenario__name_en",
        )
    }
    tiers = dict(Tier.choices)
    rows = []
    for row in sums:
        revision = latest.get(row["solution_id"])
        solution = revision.solution if revision else None
        rows.append(
            {
                "vendor": row["vendor_name"],
                "solution_id": solution.public_id if solution else None,
                "solution": _name(revision) if revision else _("No solution (device not ordered)"),
                "scenario": _name(solution.scenario) if solution else "",
                "tier": str(tiers.get(solution.tier, "")) if solution else "",
                "alerts": row["alerts_sum"],
                "resolved": row["resolved_sum"],
                "false_alarms": row["false_alarms_sum"],
                "false_alarm_pct": percent(row["false_alarms_sum"], row["resolved_sum"]),
            }
        )
    return Table(
        name="false_alarms_by_solution",
        title=ngettext(
            "False alarms by solution (last %(days)s day)",
            "False alarms by solution (last %(days)s days)",
            WINDOW_DAYS,
        )
        % {"days": WINDOW_DAYS},
        columns=[
            Column("vendor", _("Vendor")),
            Column("solution", _("Solution")),
            Column("scenario", _("Scenario")),
            Column("tier", _("Tier")),
            Column("alerts", _("Alerts"), COUNT),
            Column("resolved", _("Resolved"), COUNT),
            Column("false_alarms", _("False alarms"), COUNT),
            Column("false_alarm_pct", _("False alarms (%)"), PERCENT),
        ],
        rows=rows,
    )


def false_alarms_by_vendor_table(*, region: Region, today: date | None = None) -> Table:
    sums = _solution_sums(region=region, today=today, by_solution=False)
    rows = [
        {
            "vendor": row["vendor_name"],
            "alerts": row["alerts_sum"],
            "resolved": row["resolved_sum"],
            "false_alarms": row["false_alarms_sum"],
            "false_alarm_pct": percent(row["false_alarms_sum"], row["resolved_sum"]),
        }
        for row in sums
    ]
    return Table(
        name="false_alarms_by_vendor",
        title=ngettext(
            "False alarms by vendor (last %(days)s day)",
            "False alarms by vendor (last %(days)s days)",
            WINDOW_DAYS,
        )
        % {"days": WINDOW_DAYS},
        columns=[
            Column("vendor", _("Vendor")),
            Column("alerts", _("Alerts"), COUNT),
            Column("resolved", _("Resolved"), COUNT),
            Column("false_alarms", _("False alarms"), COUNT),
            Column("false_alarm_pct", _("False alarms (%)"), PERCENT),
        ],
        rows=rows,
    )


# Certified solutions (the catalog now) ----------------------------------------------------------


def catalog_table(
    *, region: Region, today: date | None = None, scenarios: list[Scenario] | None = None
) -> Table:
    """Solutions certified now per scenario and tier. The catalog is the city's, the same in
    every region: certification is not per region."""
    scenarios = scenario_list() if scenarios is None else scenarios
    counts = catalog_tier_counts()
    rows = []
    for scenario in scenarios:
        per_tier = counts.get(scenario.pk, dict.fromkeys(Tier.values, 0))
        rows.append(
            {"scenario_code": scenario.code, "scenario": _name(scenario)}
            | {tier: per_tier.get(tier, 0) for tier in Tier.values}
            | {"total": sum(per_tier.values())}
        )
    return Table(
        name="catalog",
        title=_("Certified solutions per scenario and tier"),
        columns=[Column("scenario", _("Scenario"))]
        + [Column(tier, str(label), COUNT) for tier, label in Tier.choices]
        + [Column("total", _("All tiers"), COUNT)],
        rows=rows,
    )


# All of them -------------------------------------------------------------------------------------

TABLES: dict[str, Callable[..., Table]] = {
    "regions": regions_table,
    "coverage": coverage_table,
    "weekly": weekly_table,
    "response": response_table,
    "false_alarms_by_solution": false_alarms_by_solution_table,
    "false_alarms_by_vendor": false_alarms_by_vendor_table,
    "catalog": catalog_table,
}
_TAKES_SCENARIOS = {"weekly", "response", "catalog"}


def dashboard_table(*, name: str, region: Region, today: date | None = None) -> Table:
    """One table by name (the CSV export); KeyError for an unknown name."""
    return TABLES[name](region=region, today=today)


def dashboard_tables(*, region: Region, today: date | None = None) -> dict[str, Table]:
    """Every table of a region's dashboard, in page order, with the scenarios read once."""
    today = today or _today()
    scenarios = scenario_list()
    tables = {}
    for name, build in TABLES.items():
        extra = {"scenarios": scenarios} if name in _TAKES_SCENARIOS else {}
        tables[name] = build(region=region, today=today, **extra)
    return tables


def as_of(tables: dict[str, Table]) -> datetime | None:
    """When the region's snapshot (and the recent alert roll-ups with it) was last refreshed."""
    own = [row for row in tables["regions"].rows if row["is_self"]]
    return own[0]["refreshed_at"] if own else None


def uncovered_units(*, region: Region, scenario: Scenario, unit_kind: str = "") -> QuerySet[Unit]:
    """Units under the region not covering the scenario at the last refresh, oldest first:
    the order of an index walk that stops after the page asked for (a district can have tens
    of thousands of them; sorting them all by name for each page would not)."""
    units = Unit.objects.filter(
        region__path__startswith=region.path,
        coverage__scenario=scenario,
        coverage__covered=False,
    )
    if unit_kind:
        units = units.filter(kind=unit_kind)
    return units.select_related("region", "organisation").order_by("pk")


class KnownCountPaginator(Paginator):
    """A paginator told how many items there are (from the coverage sums), instead of
    counting tens of thousands of joined rows for every page."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def coverage_counts(*, region: Region, scenario: Scenario, unit_kind: str = "") -> tuple[int, int]:
    """(units, covered) for one scenario (and kind, or every kind) as of the last refresh:
    written with the units' rows, so units − covered is the length of uncovered_units without
    counting them."""
    rows = RegionCoverage.objects.filter(region=region, scenario=scenario)
    if unit_kind:
        rows = rows.filter(unit_kind=unit_kind)
    found = rows.aggregate(
        units_sum=Coalesce(Sum("units"), Value(0)), covered_sum=Coalesce(Sum("covered"), Value(0))
    )
    return found["units_sum"], found["covered_sum"]
