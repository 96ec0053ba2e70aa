"""The platform operator's admin for regions, units, authorities, responders and rosters.

Who may see or respond to a unit is decided by its region and parent, by authorities' regions
and by responders' coverage (DESIGN §5). Every edit here that touches one of those re-computes
the guardian grants through the services, so the admin can never leave a stale grant behind.
The grant rows themselves are shown read-only: they are an outcome, not an input.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdminMixin
from accounts.forms import form_add_service_errors
from accounts.models import Organisation
from units import services
from units.models import (
    Authority,
    DutyShift,
    EmergencyContact,
    Region,
    Responder,
    Unit,
    UnitGroupObjectPermission,
    UnitUserObjectPermission,
)


class ServiceCheckedForm(forms.ModelForm):
    """Runs a service's own rules after the model's validation, so the operator sees them as
    form errors (under the field they name) rather than as a server error on save."""

    def service_check(self, instance) -> None:
        raise NotImplementedError

    def _post_clean(self):
        super()._post_clean()
        if self._errors:
            return
        try:
            self.service_check(self.instance)
        except ValidationError as exc:
            form_add_service_errors(self, exc)


# Regions -------------------------------------------------------------------------------------


class RegionAdminForm(ServiceCheckedForm):
    def service_check(self, region: Region) -> None:
        if region.pk is None:
            services._validate_region_placement(
                code=region.code, level=region.level, parent=region.parent
            )


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    form = RegionAdminForm
    list_display = ("code", "name", "name_en", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("parent",)
    list_select_related = ("parent",)
    ordering = ("code",)

    def get_readonly_fields(self, request, obj=None):
        # Code, level and parent make up `path`, which every coverage query matches on; a
        # region is never moved, a new one is made and the units re-registered there.
        return ("code", "level", "parent", "path") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        region = services.region_create(
            code=obj.code, name=obj.name, name_en=obj.name_en, level=obj.level, parent=obj.parent
        )
        obj.pk, obj.path = region.pk, region.path


# Units ---------------------------------------------------------------------------------------


class AreaFilter(admin.SimpleListFilter):
    """Units anywhere below a district or subdistrict (units themselves sit in grids)."""

    title = _("district or subdistrict")
    parameter_name = "area"

    def lookups(self, request, model_admin):
        areas = Region.objects.filter(
            level__in=[Region.Level.DISTRICT, Region.Level.SUBDISTRICT]
        ).order_by("code")
        return [(area.code, f"{area.name} ({area.code})") for area in areas]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        area = Region.objects.filter(code=self.value()).first()
        if area is None:
            return queryset.none()
        return queryset.filter(region__path__startswith=area.path)


class UnitAdminForm(ServiceCheckedForm):
    def service_check(self, unit: Unit) -> None:
        services._validate_unit_placement(
            organisation=unit.organisation,
            region=unit.region,
            parent=unit.parent,
            unit=unit if unit.pk else None,
        )


class EmergencyContactInline(admin.TabularInline):
    model = EmergencyContact
    fields = ("position", "name", "relation", "phone", "email")
    ordering = ("position",)
    extra = 0


class UnitGrantInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = UnitGroupObjectPermission
    fk_name = "content_object"
    fields = ("organisation", "permission")
    readonly_fields = fields
    extra = 0
    verbose_name = _("grant")
    verbose_name_plural = _("other organisations that see this unit (follows regions)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group__organisation", "permission")

    @admin.display(description=_("organisation"))
    def organisation(self, grant):
        return getattr(grant.group, "organisation", grant.group)


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    form = UnitAdminForm
    list_display = ("name", "kind", "organisation", "region", "parent", "floor_area_m2")
    list_filter = ("kind", AreaFilter)
    search_fields = (
        "name",
        "address",
        "responsible_name",
        "organisation__name",
        "region__code",
        "region__name",
    )
    autocomplete_fields = ("organisation", "region", "parent")
    list_select_related = ("organisation", "region", "parent")
    readonly_fields = ("public_id", "created_at", "updated_at")
    inlines = [EmergencyContactInline, UnitGrantInline]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            kwargs["queryset"] = Organisation.objects.filter(kind=Organisation.Kind.UNIT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        unit = form.instance
        # Its region and parent decide its own grants; its organisation those of the units
        # directly inside it (a park office sees its shops).
        services.unit_grants_sync(units=[unit, *unit.children.all()])


# Authorities and responders ------------------------------------------------------------------


class AuthorityAdminForm(forms.ModelForm):
    def clean_region(self):
        region = self.cleaned_data["region"]
        if region.level == Region.Level.GRID:
            raise ValidationError(_("An authority oversees a city, district or subdistrict."))
        return region


@admin.register(Authority)
class AuthorityAdmin(admin.ModelAdmin):
    form = AuthorityAdminForm
    list_display = ("organisation", "region")
    search_fields = ("organisation__name", "region__code", "region__name")
    autocomplete_fields = ("organisation", "region")
    list_select_related = ("organisation", "region")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            kwargs["queryset"] = Organisation.objects.filter(kind=Organisation.Kind.AUTHORITY)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        before = Authority.objects.filter(pk=obj.pk).select_related("region").first()
        super().save_model(request, obj, form, change)
        regions = [obj.region] + ([before.region] if before else [])
        services.unit_grants_sync(units=services._units_under(regions))

    def delete_model(self, request, obj):
        self.delete_queryset(request, Authority.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        regions = [authority.region for authority in queryset.select_related("region")]
        super().delete_queryset(request, queryset)
        services.unit_grants_sync(units=services._units_under(regions))


@admin.register(Responder)
class ResponderAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "organisation", "phone", "coverage")
    list_filter = ("kind",)
    search_fields = ("name", "organisation__name", "phone")
    autocomplete_fields = ("organisation", "regions")
    list_select_related = ("organisation",)
    readonly_fields = ("public_id", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("regions")

    @admin.display(description=_("regions covered"))
    def coverage(self, responder):
        return ", ".join(region.code for region in responder.regions.all())

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            kwargs["queryset"] = Organisation.objects.filter(kind=Organisation.Kind.RESPONDER)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        # Coverage goes through the service, which re-computes the grants of the units under
        # both the old and the new regions; the form must not set the rows behind its back.
        regions = form.cleaned_data.pop("regions")
        super().save_related(request, form, formsets, change)
        services.responder_set_regions(responder=form.instance, regions=regions, by=request.user)

    def delete_model(self, request, obj):
        self.delete_queryset(request, Responder.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        regions = list(Region.objects.filter(responders__in=queryset).distinct())
        super().delete_queryset(request, queryset)
        services.unit_grants_sync(units=services._units_under(regions))


class DutyShiftAdminForm(ServiceCheckedForm):
    def service_check(self, shift: DutyShift) -> None:
        services._validate_shift(shift)


@admin.register(DutyShift)
class DutyShiftAdmin(admin.ModelAdmin):
    form = DutyShiftAdminForm
    list_display = ("responder", "starts_at", "ends_at", "contact_name", "contact_phone", "note")
    list_filter = ("responder__kind",)
    search_fields = ("responder__name", "contact_name", "contact_phone")
    autocomplete_fields = ("responder",)
    list_select_related = ("responder",)
    date_hierarchy = "starts_at"


# Grant rows: read-only, they are computed ----------------------------------------------------


@admin.register(UnitGroupObjectPermission)
class UnitGroupObjectPermissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("content_object", "organisation", "permission")
    list_filter = ("permission",)
    search_fields = ("content_object__name", "group__organisation__name")
    list_select_related = ("content_object", "group__organisation", "permission")

    @admin.display(description=_("organisation"))
    def organisation(self, grant):
        return getattr(grant.group, "organisation", grant.group)


@admin.register(UnitUserObjectPermission)
class UnitUserObjectPermissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("content_object", "user", "permission")
    list_filter = ("permission",)
    search_fields = ("content_object__name", "user__email")
    list_select_related = ("content_object", "user", "permission")
