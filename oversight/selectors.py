"""Reads in oversight, scoped to the person asking: coverage programmes (an authority's own;
404 for anyone else's), their progress and gaps, what a unit's home page says about the
programmes it is in, and the reviewer's home. The jurisdiction dashboards read through
oversight.dashboards.

Progress is read from RegionCoverage (one row per programme: its region, scenario and kind),
so a programme over 100k units costs the same as one over ten.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from marketplace.models import TIER_ORDER, SolutionRevision, Tier
from oversight import coverage
from oversight.models import CoverageProgramme, RegionCoverage, UnitCoverage
from units.models import Authority, Region, Unit
from units.selectors import authority_get_for, authority_list_for

# A programme is at risk when its deadline is this close and fewer than this share of its
# units are covered (the reviewer's home lists it, the programme page says so).
AT_RISK_DAYS = 30
AT_RISK_BELOW_PCT = 80
# Certified options shown per tier on a unit's home page; the catalog lists them all.
OPTIONS_PER_TIER = 5


class Status:
    MET = "met"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    EMPTY = "empty"


# Programmes ----------------------------------------------------------------------------------


def _region_coverage(field: str) -> Coalesce:
    rows = RegionCoverage.objects.filter(
        region=OuterRef("region"), scenario=OuterRef("scenario"), unit_kind=OuterRef("unit_kind")
    ).values(field)[:1]
    return Coalesce(Subquery(rows), Value(0))


def programme_list_for(*, user: User) -> QuerySet[CoverageProgramme]:
    """Programmes of the authorities the user belongs to, soonest deadline first, each with
    `units_in_scope` and `units_covered` as of the last coverage refresh (one query)."""
    return (
        CoverageProgramme.objects.filter(authority__organisation__memberships__user=user)
        .select_related("authority__organisation", "region", "scenario")
        .annotate(
            units_in_scope=_region_coverage("units"), units_covered=_region_coverage("covered")
        )
        .order_by("deadline", "name", "pk")
    )


def programme_get_for(*, user: User, public_id) -> CoverageProgramme:
    """One of the user's authorities' programmes; 404 for another authority's or a missing one."""
    return get_object_or_404(programme_list_for(user=user), public_id=public_id)


def programme_authority_for(*, user: User, organisation: Organisation | None = None) -> Authority:
    """The authority a new programme belongs to: the current organisation when it is an
    authority, else the user's first. 404 for someone in no authority."""
    return authority_get_for(user=user, organisation=organisation)


def programme_authority_by_id_for(*, user: User, organisation_public_id=None) -> Authority:
    """The API's choice: the authority organisation named by its public id (404 when the user
    is not in it), or the user's first authority."""
    if organisation_public_id is None:
        return authority_get_for(user=user)
    return get_object_or_404(
        authority_list_for(user=user).select_related("organisation"),
        organisation__public_id=organisation_public_id,
    )


def programme_region_choices(*, authority: Authority) -> QuerySet[Region]:
    """Regions a programme of this authority may cover: its own and every one below it."""
    return Region.objects.filter(path__startswith=authority.region.path).order_by("path")


def programme_progress(*, programme: CoverageProgramme, today: date | None = None) -> dict:
    """Units in scope, covered and not, the share covered, days left and a status: `met`
    (every unit covered), `overdue` (deadline passed with gaps), `at_risk` (deadline within
    30 days and under 80 % covered), `on_track`, or `empty` (no unit in scope yet)."""
    today = today or timezone.localdate()
    if hasattr(programme, "units_in_scope"):
        units, covered = programme.units_in_scope, programme.units_covered
    else:
        units, covered = coverage.region_coverage_get(
            region=programme.region, scenario=programme.scenario, unit_kind=programme.unit_kind
        )
    days_left = (programme.deadline - today).days
    pct = coverage.coverage_pct(units=units, covered=covered)
    at_risk = 0 <= days_left <= AT_RISK_DAYS and units > 0 and pct < AT_RISK_BELOW_PCT
    if units == 0:
        status = Status.EMPTY
    elif covered >= units:
        status = Status.MET
    elif days_left < 0:
        status = Status.OVERDUE
    elif at_risk:
        status = Status.AT_RISK
    else:
        status = Status.ON_TRACK
    return {
        "units": units,
        "covered": covered,
        "uncovered": units - covered,
        "pct": pct,
        "deadline": programme.deadline,
        "days_left": days_left,
        "at_risk": at_risk,
        "overdue": status == Status.OVERDUE,
        "status": status,
    }


def programme_uncovered_units(*, programme: CoverageProgramme) -> QuerySet[Unit]:
    """Units in scope that were not covered at the last refresh, by name."""
    return coverage.uncovered_units(
        region=programme.region, scenario=programme.scenario, unit_kind=programme.unit_kind
    )


def programmes_needing_attention_for(
    *, user: User, today: date | None = None
) -> list[tuple[CoverageProgramme, dict]]:
    """The reviewer's home: the user's programmes at risk, and those past their deadline with
    units still uncovered, with their progress. The database picks them (one query)."""
    today = today or timezone.localdate()
    programmes = (
        programme_list_for(user=user)
        .annotate(shortfall=F("units_in_scope") * AT_RISK_BELOW_PCT - F("units_covered") * 100)
        .filter(
            Q(
                deadline__gte=today,
                deadline__lte=today + timedelta(days=AT_RISK_DAYS),
                units_in_scope__gt=0,
                shortfall__gt=0,
            )
            | Q(deadline__lt=today, units_covered__lt=F("units_in_scope"))
        )
    )
    return [
        (programme, programme_progress(programme=programme, today=today))
        for programme in programmes
    ]


# CSV of the gaps -----------------------------------------------------------------------------


def uncovered_csv_header() -> list[str]:
    return [
        _("Unit"),
        _("Kind"),
        _("Address"),
        _("Grid"),
        _("Organisation"),
        _("Responsible person"),
        _("Phone"),
    ]


def _cell(value) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def uncovered_csv_rows(units: Iterable[Unit]) -> Iterator[list[str]]:
    for unit in units:
        yield [
            _cell(value)
            for value in (
                unit.name,
                unit.get_kind_display(),
                unit.address,
                unit.region.name,
                unit.organisation.name,
                unit.responsible_name,
                unit.responsible_phone,
            )
        ]


def programme_uncovered_csv(*, programme: CoverageProgramme) -> str:
    """Every uncovered unit of the programme as CSV text (header first), the same columns
    and order as the programme page's list."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(uncovered_csv_header())
    units = programme_uncovered_units(programme=programme).iterator(chunk_size=2000)
    writer.writerows(uncovered_csv_rows(units))
    return buffer.getvalue()


# A unit's home page --------------------------------------------------------------------------


def programmes_for_units(*, units: list[Unit]) -> list[CoverageProgramme]:
    """Programmes whose scope includes at least one of these units (their kind, a region on
    their path), in one query."""
    if not units:
        return []
    codes = {code for unit in units for code in unit.region.ancestor_codes}
    kinds = {unit.kind for unit in units}
    return list(
        CoverageProgramme.objects.filter(unit_kind__in=kinds, region__code__in=codes)
        .select_related("region", "scenario", "authority__organisation")
        .order_by("deadline", "name", "pk")
    )


def certified_options(*, scenario_ids: Iterable[int], sort: str = "tier") -> dict[int, dict]:
    """For each scenario: the certified solutions at every tier, up to OPTIONS_PER_TIER per
    tier chosen by price (lowest first, ties by the solution's id, which favours no one), and
    how many there are per tier. Ordered by tier then price, or by price alone (`sort`), the
    unit's choice; never by anything a vendor could pay for. One query."""
    tier_rank = Case(
        *[When(solution__tier=tier, then=Value(rank)) for tier, rank in TIER_ORDER.items()],
        output_field=IntegerField(),
    )
    per_tier = [F("solution__scenario_id"), F("solution__tier")]
    revisions = (
        SolutionRevision.objects.filter(
            status=SolutionRevision.Status.CERTIFIED, solution__scenario_id__in=list(scenario_ids)
        )
        .select_related("solution__vendor__organisation")
        .annotate(
            tier_rank=tier_rank,
            place=Window(
                RowNumber(),
                partition_by=per_tier,
                order_by=[F("purchase_price").asc(), F("solution_id").asc()],
            ),
            tier_total=Window(
                Count("pk"),
                partition_by=per_tier,
            ),
        )
        .filter(place__lte=OPTIONS_PER_TIER)
    )
    if sort == "price":
        revisions = revisions.order_by("purchase_price", "solution_id")
    else:
        revisions = revisions.order_by("tier_rank", "purchase_price", "solution_id")
    options: dict[int, dict] = {}
    for revision in revisions:
        entry = options.setdefault(
            revision.solution.scenario_id,
            {"revisions": [], "tier_totals": dict.fromkeys(Tier.values, 0)},
        )
        entry["revisions"].append(revision)
        entry["tier_totals"][revision.solution.tier] = revision.tier_total
    return options


def _quote_unit(in_scope: list[Unit], uncovered: list[Unit]) -> Unit | None:
    """The unit the options' quote links are for: the only one in scope, or the only one not
    covered; with several, the quote page asks which."""
    if len(in_scope) == 1:
        return in_scope[0]
    return uncovered[0] if len(uncovered) == 1 else None


def unit_home_requirements(*, units: list[Unit], sort: str = "tier") -> list[dict]:
    """What the programmes ask of these units (a unit organisation's home page): for each
    programme that has one of them in scope, its units in scope and whether each covers the
    scenario (as of the last refresh), and the certified options for the scenario at every
    tier. A fixed number of queries whatever the number of units and programmes."""
    programmes = programmes_for_units(units=units)
    if not programmes:
        return []
    scenario_ids = {programme.scenario_id for programme in programmes}
    covered = {
        (row.unit_id, row.scenario_id): row
        for row in UnitCoverage.objects.filter(unit__in=units, scenario_id__in=scenario_ids)
    }
    options = certified_options(scenario_ids=scenario_ids, sort=sort)
    empty = {"revisions": [], "tier_totals": dict.fromkeys(Tier.values, 0)}
    today = timezone.localdate()
    blocks = []
    for programme in programmes:
        in_scope = [
            unit
            for unit in units
            if unit.kind == programme.unit_kind
            and programme.region.code in unit.region.ancestor_codes
        ]
        if not in_scope:
            continue
        rows = [
            {"unit": unit, "coverage": covered.get((unit.pk, programme.scenario_id))}
            for unit in in_scope
        ]
        uncovered = [
            row["unit"] for row in rows if not (row["coverage"] and row["coverage"].covered)
        ]
        scenario_options = options.get(programme.scenario_id, empty)
        blocks.append(
            {
                "programme": programme,
                "days_left": (programme.deadline - today).days,
                "rows": rows,
                "all_covered": not uncovered,
                # Quotes are for the one unit concerned; with several, the quote page asks.
                "quote_unit": _quote_unit(in_scope, uncovered),
                "options": scenario_options["revisions"],
                "tier_totals": [
                    (label, scenario_options["tier_totals"][tier]) for tier, label in Tier.choices
                ],
            }
        )
    return blocks
