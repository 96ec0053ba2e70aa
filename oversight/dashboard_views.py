"""The jurisdiction dashboards (issue 7 §2): one page per region for an authority's members,
with a breadcrumb and the child regions to drill down into, tables with SVG charts beside
them, the uncovered units of a scenario (a sub-page, loaded into the page by htmx), and a CSV
export of every table.

Regions come from oversight.dashboards.dashboard_region_get_for (the /regions/ rule: an
authority sees its region and everything below it), so any other region answers 404. The
page and the CSV render the same Table rows (oversight.dashboards), so they agree.
"""

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from marketplace.models import Scenario
from oversight import charts, dashboards
from units.models import Region, Unit
from units.selectors import authority_get_for

TEMPLATE = "oversight/dashboard.html"
UNCOVERED_TEMPLATE = "oversight/dashboard_uncovered.html"
UNCOVERED_PER_PAGE = 25


def _dashboard_url(region: Region) -> str:
    return reverse("oversight:dashboard", args=[region.code])


@login_required
@require_GET
def dashboard_home(request: HttpRequest) -> HttpResponse:
    """The dashboard of the current authority's region (or the user's first authority's)."""
    organisation = request.membership.organisation if request.membership else None
    authority = authority_get_for(user=request.user, organisation=organisation)
    return redirect(_dashboard_url(authority.region))


@login_required
@require_GET
def dashboard(request: HttpRequest, code: str) -> HttpResponse:
    region = dashboards.dashboard_region_get_for(user=request.user, code=code)
    tables = dashboards.dashboard_tables(region=region)
    context = {
        "region": region,
        "region_name": dashboards.region_name(region),
        "breadcrumb": [
            {
                "name": dashboards.region_name(crumb["region"]),
                "url": _dashboard_url(crumb["region"]) if crumb["linked"] else "",
            }
            for crumb in dashboards.dashboard_breadcrumb_for(user=request.user, region=region)
        ],
        "tables": tables,
        "sections": _sections(region, tables),
        "as_of": dashboards.as_of(tables),
        "percentile_error": dashboards.percentile_error_pct(),
        "window_days": dashboards.WINDOW_DAYS,
        "weeks": dashboards.WEEKS,
    }
    return render(request, TEMPLATE, context)


def _sections(region: Region, tables: dict[str, dashboards.Table]) -> list[dict]:
    """Each table with its display rows (a link on the first cell where there is somewhere
    to go), its CSV link and the chart beside it."""
    uncovered_url = reverse("oversight:dashboard_uncovered", args=[region.code])
    sections = []
    for name, table in tables.items():
        rows = []
        for row, cells in zip(table.rows, table.display_rows(), strict=True):
            link = ""
            if name == "regions" and not row["is_self"]:
                link = reverse("oversight:dashboard", args=[row["code"]])
            elif name == "coverage" and row["uncovered"]:
                link = (
                    f"{uncovered_url}?scenario={row['scenario_code']}&kind={row['unit_kind_code']}"
                )
            rows.append({"cells": cells, "link": link, "total": row.get("is_self", False)})
        sections.append(
            {
                "name": name,
                "table": table,
                "rows": rows,
                "csv_url": reverse("oversight:dashboard_csv", args=[region.code, name]),
                "chart": _chart(name, table),
            }
        )
    return sections


def _pct_text(value: float | None) -> str:
    return "—" if value is None else f"{dashboards.display(value, dashboards.PERCENT)} %"


def _chart(name: str, table: dashboards.Table):
    if name == "coverage":
        bars = [
            charts.Bar(
                label=entry["scenario"],
                value=entry["pct"],
                text=f"{_pct_text(entry['pct'])} ({entry['covered']}/{entry['units']})",
            )
            for entry in dashboards.coverage_by_scenario(table)
        ]
        return charts.bar_chart(
            bars=bars, title=_("Units covered per scenario (%)"), chart_id="chart-coverage"
        )
    if name == "regions":
        bars = [
            charts.Bar(
                label=row["region"],
                value=row["online_pct"],
                text=_pct_text(row["online_pct"]),
            )
            for row in table.rows
        ]
        return charts.bar_chart(bars=bars, title=_("Devices online (%)"), chart_id="chart-online")
    if name == "weekly":
        series = [
            (column.label, [row[column.key] for row in table.rows])
            for column in table.columns
            if column.key.startswith("s_")
        ]
        return charts.stacked_columns_chart(
            weeks=[row["week"] for row in table.rows],
            series=[(label, values) for label, values in series if any(values)],
            title=_("Alerts per week by scenario"),
            chart_id="chart-weekly",
        )
    if name == "false_alarms_by_vendor":
        bars = [
            charts.Bar(
                label=row["vendor"],
                value=row["false_alarm_pct"],
                text=_pct_text(row["false_alarm_pct"]),
            )
            for row in table.rows
        ]
        return charts.bar_chart(
            bars=bars, title=_("False alarms by vendor (%)"), chart_id="chart-false-alarms"
        )
    return None


def _uncovered_filter(request: HttpRequest) -> tuple[Scenario, str]:
    """?scenario=<code>&kind=<unit kind, optional>: an unknown scenario or kind is a 404."""
    scenario = get_object_or_404(Scenario, code=request.GET.get("scenario", ""))
    kind = request.GET.get("kind", "")
    if kind and kind not in Unit.Kind.values:
        raise Http404("Unknown unit kind")
    return scenario, kind


@login_required
@require_GET
@vary_on_headers("HX-Request")
def dashboard_uncovered(request: HttpRequest, code: str) -> HttpResponse:
    """The units of the region not covering a scenario, 25 a page (oldest first); the
    dashboard loads it into its coverage section with htmx, and it stands alone as a page
    without scripts."""
    region = dashboards.dashboard_region_get_for(user=request.user, code=code)
    scenario, kind = _uncovered_filter(request)
    units, covered = dashboards.coverage_counts(region=region, scenario=scenario, unit_kind=kind)
    page = dashboards.KnownCountPaginator(
        dashboards.uncovered_units(region=region, scenario=scenario, unit_kind=kind),
        UNCOVERED_PER_PAGE,
        count=units - covered,
    ).get_page(request.GET.get("page"))
    query = f"?scenario={scenario.code}&kind={kind}"
    context = {
        "region": region,
        "region_name": dashboards.region_name(region),
        "list_url": reverse("oversight:dashboard_uncovered", args=[region.code]) + query,
        "scenario": scenario,
        "kind": kind,
        "kind_label": Unit.Kind(kind).label if kind else "",
        "page_obj": page,
        "dashboard_url": _dashboard_url(region),
        "csv_url": reverse("oversight:dashboard_uncovered_csv", args=[region.code]) + query,
    }
    template = f"{UNCOVERED_TEMPLATE}#uncovered" if request.htmx else UNCOVERED_TEMPLATE
    return render(request, template, context)


class _Echo:
    def write(self, value):
        return value


def _csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    """A CSV download, streamed, with a byte-order mark so that Excel reads the Chinese names
    as UTF-8 (as the settlement CSV does)."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def dashboard_csv(request: HttpRequest, code: str, table: str) -> HttpResponse:
    """One table of the dashboard, the same cells as on the page."""
    region = dashboards.dashboard_region_get_for(user=request.user, code=code)
    if table not in dashboards.TABLES:
        raise Http404("Unknown table")
    found = dashboards.dashboard_table(name=table, region=region)
    return _csv_response(
        f"{region.code}-{table}.csv",
        [column.label for column in found.columns],
        found.display_rows(),
    )


@login_required
@require_GET
def dashboard_uncovered_csv(request: HttpRequest, code: str) -> HttpResponse:
    """Every uncovered unit of the scenario (and kind), streamed in pages of the query."""
    region = dashboards.dashboard_region_get_for(user=request.user, code=code)
    scenario, kind = _uncovered_filter(request)
    units = dashboards.uncovered_units(region=region, scenario=scenario, unit_kind=kind)
    rows = (
        [unit.name, unit.get_kind_display(), unit.region.name, unit.organisation.name, unit.address]
        for unit in units.iterator(chunk_size=2000)
    )
    return _csv_response(
        f"{region.code}-uncovered-{scenario.code}{'-' + kind if kind else ''}.csv",
        [_("Name"), _("Kind"), _("Grid"), _("Organisation"), _("Address")],
        rows,
    )


urlpatterns = [
    path("oversight/regions/", dashboard_home, name="dashboard_home"),
    path("oversight/regions/<str:code>/", dashboard, name="dashboard"),
    path(
        "oversight/regions/<str:code>/uncovered/", dashboard_uncovered, name="dashboard_uncovered"
    ),
    path(
        "oversight/regions/<str:code>/uncovered.csv",
        dashboard_uncovered_csv,
        name="dashboard_uncovered_csv",
    ),
    path("oversight/regions/<str:code>/<slug:table>.csv", dashboard_csv, name="dashboard_csv"),
]
