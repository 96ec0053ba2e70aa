"""The platform operator's admin for oversight.

Programmes are an authority's decisions, written through oversight.services (with their
audit rows and rules): the operator may look them up and withdraw one, not write them here.
Notices and coverage rows are records written by beat passes: read-only.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdminMixin
from oversight.models import CoverageProgramme, ProgrammeNotice, RegionCoverage, UnitCoverage


class ProgrammeNoticeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ProgrammeNotice
    fields = ("kind", "unit", "sent_at")
    readonly_fields = fields
    extra = 0
    ordering = ("-sent_at",)
    show_change_link = False


@admin.register(CoverageProgramme)
class CoverageProgrammeAdmin(admin.ModelAdmin):
    list_display = ("name", "authority", "region", "unit_kind", "scenario", "deadline")
    list_filter = ("scenario", "unit_kind", "authority")
    search_fields = ("name", "region__name", "region__code")
    list_select_related = ("authority__organisation", "region", "scenario")
    readonly_fields = (
        "public_id",
        "authority",
        "name",
        "region",
        "unit_kind",
        "scenario",
        "deadline",
        "created_by",
        "created_at",
    )
    inlines = [ProgrammeNoticeInline]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProgrammeNotice)
class ProgrammeNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("programme", "kind", "unit", "sent_at")
    list_filter = ("kind",)
    list_select_related = ("programme", "unit")
    search_fields = ("programme__name", "unit__name")
    date_hierarchy = "sent_at"


@admin.register(UnitCoverage)
class UnitCoverageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("unit", "scenario", "covered", "solution", "covered_since", "refreshed_at")
    list_filter = ("scenario", "covered")
    list_select_related = ("unit", "scenario", "solution__vendor__organisation")
    search_fields = ("unit__name",)
    show_full_result_count = False  # one row per unit and scenario: skip the second COUNT


@admin.register(RegionCoverage)
class RegionCoverageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("region", "scenario", "unit_kind", "units", "covered", "pct", "refreshed_at")
    list_filter = ("scenario", "unit_kind", "region__level")
    list_select_related = ("region", "scenario")
    search_fields = ("region__name", "region__code")

    @admin.display(description=_("covered (%)"))
    def pct(self, row: RegionCoverage) -> str:
        return f"{100 * row.covered / row.units:.1f}" if row.units else "—"
