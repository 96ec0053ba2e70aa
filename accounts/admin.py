"""The platform operator's admin for accounts.

Memberships are edited inside their organisation, where the "at least one owner" rule is
checked and the organisation's auth group (through which guardian grants reach people) is kept
equal to its members. Tokens and the audit trail are read-only: a token's hash is never shown.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import ApiToken, AuditEntry, Invitation, Membership, Organisation, User


class ReadOnlyAdminMixin:
    """Rows written only by services: the operator may look, never add, edit or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Users ---------------------------------------------------------------------------------------


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "phone")


class UserChangeForm(BaseUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class UserMembershipInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Membership
    fields = ("organisation", "role", "created_at")
    readonly_fields = fields
    extra = 0
    verbose_name_plural = _("organisations (edited on the organisation's page)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organisation")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    # Groups mirror memberships (see OrganisationAdmin), so they are not edited here.
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "phone", "language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "full_name",
                    "phone",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    list_display = (
        "email",
        "full_name",
        "phone",
        "language",
        "is_staff",
        "is_active",
        "date_joined",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "language")
    search_fields = ("email", "full_name", "phone")
    ordering = ("email",)
    filter_horizontal = ("user_permissions",)
    readonly_fields = ("last_login", "date_joined")
    inlines = [UserMembershipInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj else []  # a new user belongs nowhere yet


# Organisations and memberships ---------------------------------------------------------------


class MembershipFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        roles = [
            form.cleaned_data.get("role")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if Membership.Role.OWNER not in roles:
            raise ValidationError(_("An organisation needs at least one owner."))


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)
    extra = 0

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0  # a new organisation starts with a row for its owner


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "member_count", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "public_id")
    readonly_fields = ("public_id", "group", "created_at")
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, organisation):
        return organisation.member_count

    def get_fields(self, request, obj=None):
        return ("name", "kind", "public_id", "group", "created_at") if obj else ("name", "kind")

    def get_readonly_fields(self, request, obj=None):
        # The kind decides what the organisation may do (units, solutions, reviews, alerts).
        return self.readonly_fields + (("kind",) if obj else ())

    def save_model(self, request, obj, form, change):
        if not change:
            obj.group = Group.objects.create(name=f"org:{obj.public_id}")
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.organisation_group_sync(organisation=form.instance)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Memberships and invitations are read-only on their own pages, but they go with the
        # organisation they belong to.
        perms_needed -= {Membership._meta.verbose_name, Invitation._meta.verbose_name}
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        self.delete_queryset(request, Organisation.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        # The group goes too: its grants (an authority's view of its region) would otherwise
        # keep working for the people still in it.
        group_ids = list(queryset.values_list("group_id", flat=True))
        super().delete_queryset(request, queryset)
        Group.objects.filter(pk__in=group_ids).delete()


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Find who belongs where; edit on the organisation's page, which keeps its group in step."""

    list_display = ("user", "organisation", "role", "created_at")
    list_filter = ("role", "organisation__kind")
    search_fields = ("user__email", "user__full_name", "organisation__name")
    list_select_related = ("user", "organisation")


# Invitations, tokens, audit ------------------------------------------------------------------


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Sent and revoked from the organisation's members page, which also sends the e-mail."""

    list_display = ("email", "organisation", "role", "created_at", "expires_at", "status")
    list_filter = ("role",)
    search_fields = ("email", "organisation__name")
    list_select_related = ("organisation",)
    date_hierarchy = "created_at"

    @admin.display(description=_("status"))
    def status(self, invitation):
        if invitation.accepted_at:
            return _("accepted")
        if invitation.revoked_at:
            return _("revoked")
        return _("pending") if invitation.is_pending else _("expired")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Never the hash: it is not needed to recognise a token, and it must not leak.
    fields = ("user", "name", "hint", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    list_display = ("name", "user", "hint", "created_at", "last_used_at", "revoked_at")
    search_fields = ("name", "user__email", "hint")
    list_select_related = ("user",)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "actor", "organisation", "action", "target_type", "target_id")
    list_filter = ("target_type",)
    search_fields = ("action", "target_id", "actor__email", "organisation__name")
    list_select_related = ("actor", "organisation")
    date_hierarchy = "at"
