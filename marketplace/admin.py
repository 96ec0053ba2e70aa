"""The platform operator's admin for the marketplace.

The certification workflow belongs to the services and to the people DESIGN §4 names: a
revision's status, certificate number and validity, a standard's publication, reviews with
their verdicts, and the transition log are read-only here. Suspending, reinstating or revoking a
certificate is an authority reviewer's decision, made on the review pages (the service records
which authority decided; a platform operator is none). What the operator may fix here carries no
certificate: scenario names, vendor profiles, device models, draft standards and draft revisions.
"""

from django import forms
from django.contrib import admin
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdminMixin
from accounts.models import Organisation
from marketplace import services
from marketplace.models import (
    BomLine,
    DeviceModel,
    ReferenceStandard,
    Requirement,
    RequirementVerdict,
    Review,
    RevisionTransition,
    Scenario,
    Solution,
    SolutionRevision,
    TierBand,
    Vendor,
)
from units.admin import ServiceCheckedForm


class ChoicesArrayMixin:
    """Lists of choices (unit kinds, tiers, acquisition modes) as checkboxes, not as text with
    commas that the operator would have to spell exactly."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, ArrayField) and db_field.base_field.choices:
            return forms.TypedMultipleChoiceField(
                choices=db_field.base_field.choices,
                widget=forms.CheckboxSelectMultiple,
                required=not db_field.blank,
                label=capfirst(db_field.verbose_name),
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


def without_bulk_delete(actions: dict) -> dict:
    actions.pop("delete_selected", None)
    return actions


# Scenarios and reference standards -----------------------------------------------------------


@admin.register(Scenario)
class ScenarioAdmin(ChoicesArrayMixin, admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "life_safety", "position")
    list_filter = ("life_safety",)
    search_fields = ("code", "name", "name_en")
    ordering = ("position", "code")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj else ()  # printed in every certificate number


class DraftOnlyInline(ChoicesArrayMixin, admin.TabularInline):
    """Rows of a standard that change only while it is a draft: certificates cite the rest."""

    extra = 0

    def _draft(self, obj) -> bool:
        return obj is None or obj.status == ReferenceStandard.Status.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


class RequirementInline(DraftOnlyInline):
    model = Requirement
    fields = ("position", "code", "kind", "text", "text_en", "threshold", "threshold_unit", "tiers")


class TierBandInline(DraftOnlyInline):
    model = TierBand
    fields = ("tier", "price_min", "price_max")
    max_num = 3


@admin.register(ReferenceStandard)
class ReferenceStandardAdmin(ChoicesArrayMixin, admin.ModelAdmin):
    list_display = ("title", "scenario", "version", "status", "authority", "published_at")
    list_filter = ("status", "scenario")
    search_fields = ("title", "title_en", "scenario__code", "scenario__name", "authority__name")
    list_select_related = ("scenario", "authority")
    autocomplete_fields = ("authority",)
    fields = (
        "scenario",
        "version",
        "status",
        "title",
        "title_en",
        "authority",
        "allowed_modes",
        "monitoring_fee_min",
        "monitoring_fee_max",
        "created_at",
        "published_at",
        "retired_at",
    )
    inlines = [RequirementInline, TierBandInline]

    def get_readonly_fields(self, request, obj=None):
        # Publishing (which retires the previous version) is the authority's, on its pages.
        workflow = ("version", "status", "created_at", "published_at", "retired_at")
        return workflow + (("scenario",) if obj else ())

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "authority":
            kwargs["queryset"] = Organisation.objects.filter(kind=Organisation.Kind.AUTHORITY)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        draft = obj is None or obj.status == ReferenceStandard.Status.DRAFT
        return draft and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        draft = obj is None or obj.status == ReferenceStandard.Status.DRAFT
        return draft and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        return without_bulk_delete(super().get_actions(request))

    def save_model(self, request, obj, form, change):
        if not change:  # the next version of its scenario, as standard_create numbers it
            last = obj.scenario.standards.order_by("-version").values_list("version", flat=True)
            obj.version = (last.first() or 0) + 1
        super().save_model(request, obj, form, change)


# Vendors and device models -------------------------------------------------------------------


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = (
        "organisation",
        "licence_number",
        "contact_name",
        "contact_phone",
        "model_count",
        "solution_count",
    )
    search_fields = (
        "organisation__name",
        "licence_number",
        "contact_name",
        "contact_phone",
        "contact_email",
    )
    autocomplete_fields = ("organisation",)
    list_select_related = ("organisation",)
    readonly_fields = ("public_id",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                model_count=Count("device_models", distinct=True),
                solution_count=Count("solutions", distinct=True),
            )
        )

    @admin.display(description=_("device models"), ordering="model_count")
    def model_count(self, vendor):
        return vendor.model_count

    @admin.display(description=_("solutions"), ordering="solution_count")
    def solution_count(self, vendor):
        return vendor.solution_count

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("organisation",) if obj else ())

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            kwargs["queryset"] = Organisation.objects.filter(kind=Organisation.Kind.VENDOR)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class DeviceModelAdminForm(ServiceCheckedForm):
    def service_check(self, device_model: DeviceModel) -> None:
        services._validate_metrics(device_model.metrics)


@admin.register(DeviceModel)
class DeviceModelAdmin(admin.ModelAdmin):
    form = DeviceModelAdminForm
    list_display = (
        "name",
        "model_number",
        "vendor",
        "category",
        "protocol",
        "heartbeat_interval_s",
        "cost",
    )
    list_filter = ("category", "protocol", "scenarios")
    search_fields = ("name", "model_number", "vendor__organisation__name")
    autocomplete_fields = ("vendor",)
    filter_horizontal = ("scenarios",)
    list_select_related = ("vendor__organisation",)
    readonly_fields = ("public_id", "created_at")

    @admin.display(description=_("unit cost"), ordering="unit_cost")
    def cost(self, device_model):
        return services.yuan(device_model.unit_cost)

    def get_readonly_fields(self, request, obj=None):
        # Bills of materials only ever use their own vendor's models.
        return self.readonly_fields + (("vendor",) if obj else ())


# Solutions and revisions ---------------------------------------------------------------------


class RevisionSummaryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SolutionRevision
    fields = ("number", "status", "name", "price", "certificate_number", "valid_until")
    readonly_fields = fields
    show_change_link = True
    extra = 0

    @admin.display(description=_("purchase price"))
    def price(self, revision):
        return services.yuan(revision.purchase_price)


@admin.register(Solution)
class SolutionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A solution is its revisions; drafts are fixed on the revision's page."""

    list_display = ("__str__", "vendor", "scenario", "tier", "revision_count", "created_at")
    list_filter = ("tier", "scenario")
    search_fields = (
        "vendor__organisation__name",
        "revisions__name",
        "revisions__name_en",
        "revisions__certificate_number",
    )
    list_select_related = ("vendor__organisation", "scenario")
    fields = ("public_id", "vendor", "scenario", "tier", "created_at")
    readonly_fields = fields
    inlines = [RevisionSummaryInline]

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(revision_count=Count("revisions", distinct=True))
        )

    @admin.display(description=_("revisions"), ordering="revision_count")
    def revision_count(self, solution):
        return solution.revision_count


class BomLineForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        device_model = cleaned.get("device_model")
        revision = self.instance.revision
        if device_model and device_model.vendor_id != revision.solution.vendor_id:
            self.add_error("device_model", _("Use the vendor's own device models only."))
        if cleaned.get("rule") == BomLine.Rule.PER_AREA and not cleaned.get("area_step_m2"):
            self.add_error("area_step_m2", _("A per-area rule needs the N in “per N m²”."))
        return cleaned


class BomLineInline(admin.TabularInline):
    model = BomLine
    form = BomLineForm
    fields = ("device_model", "rule", "quantity", "area_step_m2")
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("device_model")
        if obj is not None and field is not None:
            field.queryset = DeviceModel.objects.filter(vendor=obj.solution.vendor_id)
        return formset

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("device_model")

    def has_add_permission(self, request, obj=None):
        return obj is not None and obj.is_editable and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        editable = obj is None or obj.is_editable
        return editable and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        editable = obj is None or obj.is_editable
        return editable and super().has_delete_permission(request, obj)


class TransitionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RevisionTransition
    fields = ("at", "from_status", "to_status", "by", "reason")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


class RevisionAdminForm(ServiceCheckedForm):
    def service_check(self, revision: SolutionRevision) -> None:
        lease = [revision.lease_monthly_fee, revision.lease_min_months, revision.lease_deposit]
        if any(v is not None for v in lease) and not all(v is not None for v in lease):
            raise ValidationError(
                {
                    "lease_monthly_fee": _(
                        "A lease needs a monthly fee, a minimum term and a deposit."
                    )
                }
            )


@admin.register(SolutionRevision)
class SolutionRevisionAdmin(admin.ModelAdmin):
    form = RevisionAdminForm
    list_display = (
        "name",
        "number",
        "vendor",
        "scenario",
        "tier",
        "status",
        "price",
        "certificate_number",
        "valid_until",
    )
    list_filter = ("status", "solution__tier", "solution__scenario", "valid_until")
    search_fields = (
        "name",
        "name_en",
        "certificate_number",
        "solution__vendor__organisation__name",
        "solution__vendor__licence_number",
    )
    list_select_related = ("solution__vendor__organisation", "solution__scenario")
    readonly_fields = (
        "solution",
        "number",
        "status",
        "standard",
        "certificate_number",
        "valid_from",
        "valid_until",
        "currency",
        "created_at",
        "submitted_at",
    )
    inlines = [BomLineInline, TransitionInline]

    @admin.display(description=_("vendor"), ordering="solution__vendor__organisation__name")
    def vendor(self, revision):
        return revision.solution.vendor

    @admin.display(description=_("scenario"), ordering="solution__scenario")
    def scenario(self, revision):
        return revision.solution.scenario

    @admin.display(description=_("tier"), ordering="solution__tier")
    def tier(self, revision):
        return revision.solution.get_tier_display()

    @admin.display(description=_("purchase price"), ordering="purchase_price")
    def price(self, revision):
        return services.yuan(revision.purchase_price)

    def has_add_permission(self, request):
        return False  # vendors start solutions and revisions; each is a workflow step

    def has_change_permission(self, request, obj=None):
        # Only what is not yet submitted may change: a reviewer judged the rest as it stands.
        editable = obj is None or obj.is_editable
        return editable and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # its transitions are the audit trail


@admin.register(RevisionTransition)
class RevisionTransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "revision", "from_status", "to_status", "by", "reason")
    list_filter = ("to_status", "from_status")
    search_fields = (
        "revision__name",
        "revision__certificate_number",
        "revision__solution__vendor__organisation__name",
        "by__email",
        "reason",
    )
    list_select_related = ("revision", "by")
    date_hierarchy = "at"


# Reviews -------------------------------------------------------------------------------------


class VerdictInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RequirementVerdict
    fields = ("requirement", "verdict", "note", "evidence")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requirement")


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("revision", "reviewer", "authority", "decision", "started_at", "decided_at")
    list_filter = ("decision",)
    search_fields = (
        "revision__name",
        "revision__certificate_number",
        "revision__solution__vendor__organisation__name",
        "reviewer__email",
        "authority__name",
    )
    list_select_related = ("revision", "reviewer", "authority")
    date_hierarchy = "started_at"
    inlines = [VerdictInline]
