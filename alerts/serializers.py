"""Shapes of the alerts API. Alerts, units, devices and organisations are named by their
public ids; times are ISO 8601 with their UTC offset. Input serializers check shape only: who
may act, from which status and with which outcome is alerts.services.lifecycle's, and which
kinds may be muted is alerts.services.preferences'."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Organisation
from alerts import selectors
from alerts.models import (
    Alert,
    AlertEntry,
    EscalationPolicy,
    Kind,
    Notification,
    NotificationPreference,
    Target,
)
from devices.models import Placement
from devices.serializers.unit import PlacementSerializer
from marketplace.models import Scenario
from units.models import EmergencyContact, Unit

# A person picks one of these to resolve; `cleared` is only ever set by a health sweep.
PERSON_OUTCOME_CHOICES = [(outcome.value, outcome.label) for outcome in Alert.PERSON_OUTCOMES]

# Output ----------------------------------------------------------------------------------------


class _AlertUnitRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class _AlertDeviceRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    serial = serializers.CharField()
    model = serializers.CharField(source="device_model.name")


class AlertSerializer(serializers.ModelSerializer):
    """An alert as a list or the console shows it."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    unit = _AlertUnitRefSerializer(read_only=True)
    park = serializers.SerializerMethodField(help_text=_("The park or estate the unit is in."))
    device = _AlertDeviceRefSerializer(read_only=True)
    placement = serializers.SerializerMethodField()
    may_act = serializers.SerializerMethodField(
        help_text=_("Whether you may acknowledge, dispatch, resolve it or add a note.")
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "severity",
            "life_safety",
            "status",
            "outcome",
            "summary",
            "event_count",
            "first_event_at",
            "last_event_at",
            "raised_at",
            "first_notified_at",
            "acknowledged_at",
            "dispatched_at",
            "resolved_at",
            "unit",
            "park",
            "device",
            "placement",
            "may_act",
        ]

    @extend_schema_field(_AlertUnitRefSerializer(allow_null=True))
    def get_park(self, alert: Alert):
        parent = alert.unit.parent
        return _AlertUnitRefSerializer(parent).data if parent is not None else None

    @extend_schema_field(PlacementSerializer(allow_null=True))
    def get_placement(self, alert: Alert):
        try:
            placement = alert.device.placement
        except Placement.DoesNotExist:
            return None
        return PlacementSerializer(placement).data

    @extend_schema_field(serializers.BooleanField())
    def get_may_act(self, alert: Alert) -> bool:
        # Lists annotate it (one query for the page); a single alert asks the selector.
        if hasattr(alert, "may_act"):
            return bool(alert.may_act)
        return selectors.alert_can_act(user=self.context["request"].user, alert=alert)


class AlertEntrySerializer(serializers.ModelSerializer):
    by = serializers.SerializerMethodField(help_text=_("Who; null for SafeUnit itself."))

    class Meta:
        model = AlertEntry
        fields = ["at", "action", "by", "via", "from_status", "to_status", "note"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_by(self, entry: AlertEntry):
        return (entry.by.full_name or entry.by.email) if entry.by_id else None


class NotificationSerializer(serializers.ModelSerializer):
    responder = serializers.CharField(source="responder.name", default=None, allow_null=True)

    class Meta:
        model = Notification
        fields = ["step", "recipient", "responder", "channel", "status", "attempts", "sent_at"]


class _AlertContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmergencyContact
        fields = ["position", "name", "relation", "phone"]


class _AlertUnitSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    contacts = serializers.SerializerMethodField(help_text=_("Called in this order."))

    class Meta:
        model = Unit
        fields = [
            "id",
            "name",
            "kind",
            "address",
            "responsible_name",
            "responsible_phone",
            "contacts",
        ]

    @extend_schema_field(_AlertContactSerializer(many=True))
    def get_contacts(self, unit: Unit):
        return _AlertContactSerializer(unit.contacts.order_by("position"), many=True).data


class _AlertDeviceSerializer(_AlertDeviceRefSerializer):
    last_seen_at = serializers.DateTimeField(allow_null=True)
    battery_pct = serializers.IntegerField(allow_null=True)


class AlertDetailSerializer(AlertSerializer):
    """One alert with everything its page shows: the unit's contacts, the device's health,
    the timeline and who was told."""

    unit = _AlertUnitSerializer(read_only=True)
    device = _AlertDeviceSerializer(read_only=True)
    timeline = serializers.SerializerMethodField()
    notifications = serializers.SerializerMethodField()

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "timeline", "notifications"]

    @extend_schema_field(AlertEntrySerializer(many=True))
    def get_timeline(self, alert: Alert):
        return AlertEntrySerializer(selectors.alert_timeline(alert=alert), many=True).data

    @extend_schema_field(NotificationSerializer(many=True))
    def get_notifications(self, alert: Alert):
        return NotificationSerializer(selectors.alert_notifications(alert=alert), many=True).data


class _PreferenceOrganisationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = Organisation
        fields = ["id", "name", "kind"]


class PreferenceSerializer(serializers.ModelSerializer):
    organisation = _PreferenceOrganisationSerializer(read_only=True)
    muted_kinds = serializers.ListField(child=serializers.ChoiceField(choices=Kind.choices))

    class Meta:
        model = NotificationPreference
        fields = ["organisation", "email", "sms", "muted_kinds"]


# Input -----------------------------------------------------------------------------------------


class AlertFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Alert.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Kind.choices, required=False)
    unit = serializers.UUIDField(required=False, help_text=_("A unit's id."))
    since = serializers.DateTimeField(required=False, help_text=_("Raised at or after."))


class AlertNoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class AlertResolveInputSerializer(AlertNoteInputSerializer):
    outcome = serializers.ChoiceField(
        choices=PERSON_OUTCOME_CHOICES,
        help_text=_("What it turned out to be."),
    )


class AlertTimelineNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500)


class PreferenceInputSerializer(serializers.Serializer):
    organisation = serializers.UUIDField(help_text=_("One of your organisations."))
    email = serializers.BooleanField()
    sms = serializers.BooleanField()
    muted_kinds = serializers.ListField(
        child=serializers.CharField(max_length=16),
        allow_empty=True,
        help_text=_(
            "Kinds to receive no e-mail or SMS for. Life-safety kinds (fire, gas, entrapment, "
            "vitals) are refused: they always reach everyone."
        ),
    )


# Escalation policies ---------------------------------------------------------------------------


class _PolicyAuthoritySerializer(serializers.Serializer):
    id = serializers.UUIDField(
        source="organisation.public_id", help_text=_("The organisation's id.")
    )
    name = serializers.CharField(source="organisation.name")
    region = serializers.CharField(source="region.code", help_text=_("The region it oversees."))


class PolicyStepInputSerializer(serializers.Serializer):
    delay_s = serializers.IntegerField(
        help_text=_(
            "Seconds after the alert was raised, if nobody has acknowledged it by then. Step 0 "
            "is 0; each later step's is longer than the one before."
        )
    )
    targets = serializers.ListField(
        child=serializers.ChoiceField(choices=Target.choices),
        allow_empty=True,
        help_text=_("Who is told at this step; at least one."),
    )


class PolicyStepSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text=_("Step 0 is sent when the alert is raised."))
    delay_s = serializers.IntegerField(
        help_text=_("Seconds after the alert was raised, if nobody has acknowledged it by then.")
    )
    targets = serializers.ListField(child=serializers.ChoiceField(choices=Target.choices))


class PolicySerializer(serializers.ModelSerializer):
    """A policy and its steps. The platform's defaults have no authority and are read-only."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    authority = _PolicyAuthoritySerializer(
        read_only=True, allow_null=True, help_text=_("Null for the platform's defaults.")
    )
    scenario = serializers.SlugRelatedField(
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text=_("A scenario's code; null for any scenario."),
    )
    steps = serializers.SerializerMethodField()
    editable = serializers.SerializerMethodField(
        help_text=_("Whether you may change or delete it (an owner or manager of its authority).")
    )

    class Meta:
        model = EscalationPolicy
        fields = ["id", "name", "authority", "scenario", "unit_kind", "editable", "steps"]

    @extend_schema_field(PolicyStepSerializer(many=True))
    def get_steps(self, policy: EscalationPolicy):
        return [
            {"position": step.position, "delay_s": step.delay_s, "targets": list(step.targets)}
            for step in policy.steps.all()
        ]

    @extend_schema_field(serializers.BooleanField())
    def get_editable(self, policy: EscalationPolicy) -> bool:
        return policy.authority_id is not None and policy.authority_id in self.context.get(
            "managed", ()
        )


class PolicyUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    steps = PolicyStepInputSerializer(many=True, allow_empty=True)


class PolicyCreateInputSerializer(PolicyUpdateInputSerializer):
    authority = serializers.UUIDField(
        required=False,
        help_text=_(
            "The id of your authority's organisation; needed only if you belong to several."
        ),
    )
    scenario = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Scenario.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text=_("A scenario's code; null or absent for any scenario."),
    )
    unit_kind = serializers.ChoiceField(
        choices=Unit.Kind.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Empty or absent for any kind of unit."),
    )
