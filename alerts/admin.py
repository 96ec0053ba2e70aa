"""The platform operator's admin for alerts.

Rules, escalation policies (with their steps) and webhook endpoints are configuration: the
operator edits them here. Alerts, their timelines and notifications are records written by
the services (an alert changes status only through alerts.services.lifecycle, with its
timeline row), so they are read-only here; a failed or dead notification can be sent again
with the "retry now" action, which calls the same service as the ops view.
"""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import ReadOnlyAdminMixin
from alerts.forms import MUTABLE_KINDS
from alerts.models import (
    AlarmRule,
    Alert,
    AlertEntry,
    DeliveryAttempt,
    EscalationPolicy,
    EscalationStep,
    Notification,
    NotificationPreference,
    Target,
    WebhookEndpoint,
)

# Configuration ---------------------------------------------------------------------------------


@admin.register(AlarmRule)
class AlarmRuleAdmin(admin.ModelAdmin):
    list_display = (
        "scenario",
        "device_model",
        "trigger",
        "event_type",
        "cause",
        "metric",
        "threshold",
        "for_seconds",
        "kind",
        "severity",
        "active",
    )
    list_filter = ("scenario", "trigger", "kind", "severity", "active")
    search_fields = ("scenario__code", "device_model__name", "event_type", "cause", "metric")
    list_select_related = ("scenario", "device_model")
    raw_id_fields = ("device_model",)


class EscalationStepForm(forms.ModelForm):
    # Tick boxes rather than a comma-separated list of codes.
    targets = forms.TypedMultipleChoiceField(
        label=_("who is told"), choices=Target.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = EscalationStep
        fields = ("position", "delay_s", "targets")


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    form = EscalationStepForm
    extra = 0
    ordering = ("position",)


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "authority", "scenario", "unit_kind", "step_count")
    list_filter = ("scenario", "unit_kind", "authority")
    search_fields = ("name",)
    list_select_related = ("authority__organisation", "scenario")
    inlines = [EscalationStepInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(step_total=Count("steps"))

    @admin.display(description=_("steps"), ordering="step_total")
    def step_count(self, policy):
        return policy.step_total


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "url", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("name", "url", "region__name", "region__code")
    list_select_related = ("region",)
    raw_id_fields = ("region",)
    readonly_fields = ("public_id", "created_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class NotificationPreferenceForm(forms.ModelForm):
    # Life-safety kinds are not offered: they always reach everyone (DESIGN §4).
    muted_kinds = forms.TypedMultipleChoiceField(
        label=_("muted kinds"),
        choices=MUTABLE_KINDS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = NotificationPreference
        fields = ("user", "organisation", "email", "sms", "muted_kinds")


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    form = NotificationPreferenceForm
    list_display = ("user", "organisation", "email", "sms", "muted_kinds")
    list_filter = ("email", "sms")
    search_fields = ("user__email", "user__full_name", "organisation__name")
    list_select_related = ("user", "organisation")
    raw_id_fields = ("user", "organisation")


# Records ---------------------------------------------------------------------------------------


class AlertEntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AlertEntry
    fields = ("at", "action", "from_status", "to_status", "by", "via", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("at", "pk")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


class NotificationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Notification
    fields = ("step", "channel", "recipient", "status", "attempts", "sent_at", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("step", "created_at")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "raised_at",
        "kind",
        "severity",
        "status",
        "outcome",
        "device",
        "unit",
        "event_count",
        "acknowledged_at",
    )
    list_filter = ("status", "kind", "severity", "outcome", "life_safety")
    search_fields = ("device__serial", "unit__name", "public_id")
    list_select_related = ("device", "unit")
    date_hierarchy = "raised_at"
    inlines = [AlertEntryInline, NotificationInline]
    fieldsets = (
        (None, {"fields": ("public_id", "kind", "severity", "life_safety", "summary")}),
        (_("Where"), {"fields": ("device", "unit", "region", "scenario", "rule")}),
        (
            _("Handling"),
            {
                "fields": (
                    "status",
                    "outcome",
                    "event_count",
                    "first_event_at",
                    "last_event_at",
                    "raised_at",
                    "first_notified_at",
                    ("acknowledged_at", "acknowledged_by"),
                    "dispatched_at",
                    ("resolved_at", "resolved_by"),
                )
            },
        ),
        (_("Escalation"), {"fields": ("policy", "next_step", "next_step_at")}),
    )


class DeliveryAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DeliveryAttempt
    fields = ("at", "ok", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "channel",
        "recipient",
        "status",
        "attempts",
        "step",
        "alert",
        "sent_at",
        "last_error",
    )
    list_filter = ("status", "channel")
    search_fields = ("recipient", "address", "idempotency_key", "alert__device__serial")
    list_select_related = ("alert__device",)
    raw_id_fields = ("alert", "user", "responder")
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]
    actions = ["retry_now"]

    @admin.action(description=_("Retry now (failed or given up)"))
    def retry_now(self, request, queryset):
        from alerts.services.delivery import notification_retry_now

        retried = sum(
            notification_retry_now(notification=notification, by=request.user)
            for notification in queryset
        )
        skipped = queryset.count() - retried
        if retried:
            self.message_user(
                request,
                ngettext(
                    "%(count)d notification queued to be sent again.",
                    "%(count)d notifications queued to be sent again.",
                    retried,
                )
                % {"count": retried},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d notification was not failed or given up: left as it is.",
                    "%(count)d notifications were not failed or given up: left as they are.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
