"""`manage.py load_oversight_demo`: the Huangpu authority's first coverage programme, and the
coverage it starts from.

The reviewer (reviewer@demo.safeunit.cn) declares "田子坊商户消防安全全覆盖": every shop in the
Tianzifang grid (泰康路网格) has fire-safety monitoring by 1 March next year, through
oversight.services as in the browser. Coverage is then refreshed, so the programme page and
the shops' home pages show where things stand; as demo shops buy and onboard devices, beat's
refresh (every five minutes) moves the numbers.

Idempotent: the programme is found by authority and name first (one query); when it is
there, nothing else is done, so a second run writes nothing.
"""

from datetime import date

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from marketplace.models import Scenario
from oversight import coverage, rollups, services
from oversight.models import CoverageProgramme
from units.management.commands.load_demo import LOGINS, TAIKANG_ROAD_GRID
from units.models import Authority, Region, Unit

AUTHORITY = "黄浦区城市运行管理中心"
PROGRAMME = "田子坊商户消防安全全覆盖"
SCENARIO = "fire"


class Command(BaseCommand):
    help = "Declare the Tianzifang fire-safety coverage programme and refresh coverage."

    def handle(self, *args, **options):
        # One look-up when the programme is there already: a second run of the demo writes
        # nothing and stays within its query budget (beat keeps the coverage fresh).
        if CoverageProgramme.objects.filter(
            authority__organisation__name=AUTHORITY, name=PROGRAMME
        ).exists():
            self.stdout.write(_("Demo programme already there: %(name)s.") % {"name": PROGRAMME})
            return
        authority = (
            Authority.objects.filter(organisation__name=AUTHORITY)
            .select_related("organisation", "region")
            .first()
        )
        grid = Region.objects.filter(code=TAIKANG_ROAD_GRID).first()
        scenario = Scenario.objects.filter(code=SCENARIO).first()
        if authority is None or grid is None or scenario is None:
            self.stdout.write(
                _("Demo programme skipped: load the units and marketplace demo first.")
            )
            return
        reviewer = User.objects.get(email=LOGINS["reviewer"][1])
        programme = services.programme_create(
            authority=authority,
            by=reviewer,
            name=PROGRAMME,
            region=grid,
            unit_kind=Unit.Kind.SHOP,
            scenario=scenario,
            deadline=date(timezone.localdate().year + 1, 3, 1),
        )
        coverage.coverage_refresh()
        rollups.rollups_refresh_nightly()  # the dashboards show at once, not after beat's pass
        rollups.rollups_refresh_recent()
        units, covered = coverage.region_coverage_get(
            region=grid, scenario=scenario, unit_kind=Unit.Kind.SHOP
        )
        self.stdout.write(
            _(
                "Coverage programme declared: %(name)s, by %(deadline)s; "
                "%(covered)s of %(units)s shops covered so far."
            )
            % {
                "name": programme.name,
                "deadline": programme.deadline.isoformat(),
                "covered": covered,
                "units": units,
            }
        )
