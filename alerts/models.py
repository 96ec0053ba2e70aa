"""Alerts: what a device's events and health mean, who is told, and how the handling went.

DESIGN §3.4–3.5, §4, §6. An event in the devices' outbox (or a health sweep) opens an Alert
(one open alert per device and kind; repeats count). An escalation policy says who is told at
each step; every message is a Notification row (the outbox of this layer) sent by Celery at
least once, with an idempotency key. Every change of an alert writes an AlertEntry (the
timeline), like healthchecks' Flip.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organisation
from config.choices import ChoiceLabels
from devices.models import Device
from marketplace.models import DeviceModel, Scenario
from units.models import Authority, Region, Responder, Unit


class Kind(models.TextChoices):
    FIRE = "fire", _("Fire")
    GAS = "gas", _("Gas leak")
    ELECTRICAL = "electrical", _("Electrical fault")
    CHARGING = "charging", _("E-bike charging")
    THROWN_OBJECT = "thrown_object", _("Object thrown from height")
    ENTRAPMENT = "entrapment", _("Elevator entrapment")
    CROWD = "crowd", _("Crowd density")
    STRUCTURAL = "structural", _("Structural movement")
    VITALS = "vitals", _("Vital signs or fall")
    WATER = "water", _("Water leak")
    TAMPER = "tamper", _("Tamper")
    BATTERY = "battery", _("Low battery")
    FAULT = "fault", _("Device fault")
    OFFLINE = "offline", _("Device offline")
    TEST = "test", _("Test")


# Only a person resolves these (DESIGN §4); they cannot be muted (issue: preferences).
LIFE_SAFETY_KINDS = frozenset({Kind.FIRE, Kind.GAS, Kind.ENTRAPMENT, Kind.VITALS})
# These resolve themselves when the condition clears (a health sweep or a clearing event).
SELF_CLEARING_KINDS = frozenset({Kind.OFFLINE, Kind.BATTERY, Kind.FAULT})


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    MAJOR = "major", _("Major")
    MINOR = "minor", _("Minor")


SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2}


class AlarmRule(models.Model):
    """Maps a device event (type and, for alarms, its cause) or a reading crossing a threshold
    to an alert kind and severity, for a scenario's devices, optionally narrowed to one model.
    A model-specific rule wins over a scenario-wide one."""

    class Trigger(models.TextChoices):
        EVENT = "event", _("Device event")
        ABOVE = "above", _("Reading above a value")
        BELOW = "below", _("Reading below a value")

    scenario = models.ForeignKey(
        Scenario, on_delete=models.CASCADE, related_name="alarm_rules", verbose_name=_("scenario")
    )
    device_model = models.ForeignKey(
        DeviceModel,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alarm_rules",
        verbose_name=_("device model"),
        help_text=_("Empty: every device model of the scenario."),
    )
    trigger = models.CharField(_("trigger"), max_length=8, choices=Trigger.choices)
    event_type = models.CharField(
        _("event type"),
        max_length=8,
        blank=True,
        help_text=_("alarm, fault, tamper, battery or test (event rules)."),
    )
    cause = models.CharField(
        _("cause"),
        max_length=32,
        blank=True,
        help_text=_("The alarm's cause as the device reports it (smoke, gas, fall…); empty: any."),
    )
    metric = models.CharField(_("metric"), max_length=64, blank=True)
    threshold = models.FloatField(_("threshold"), null=True, blank=True)
    for_seconds = models.PositiveIntegerField(
        _("for (seconds)"), default=0, help_text=_("How long the reading must stay past it.")
    )
    kind = models.CharField(_("alert kind"), max_length=16, choices=Kind.choices)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("alarm rule")
        verbose_name_plural = _("alarm rules")
        ordering = ["scenario", "trigger", "event_type", "cause", "metric"]
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger="event", event_type__gt="")
                | (Q(trigger__in=["above", "below"], metric__gt="") & Q(threshold__isnull=False)),
                name="alarm_rule_complete",
            )
        ]

    def __str__(self):
        if self.trigger == self.Trigger.EVENT:
            what = f"{self.event_type}:{self.cause or '*'}"
        else:
            what = f"{self.metric} {self.trigger} {self.threshold:g} {self.for_seconds}s"
        return f"{self.scenario.code} {what} → {self.kind}/{self.severity}"


class EscalationPolicy(models.Model):
    """Who is told, step by step, until someone acknowledges. The most specific policy for an
    alert wins: scenario and unit kind both match, then one of them, then the default. An
    authority may keep its own policies for its region; the platform's have no authority."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    authority = models.ForeignKey(
        Authority,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="escalation_policies",
        verbose_name=_("authority"),
        db_index=False,
    )
    scenario = models.ForeignKey(
        Scenario,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="escalation_policies",
        verbose_name=_("scenario"),
    )
    unit_kind = models.CharField(
        _("unit kind"), max_length=16, choices=Unit.Kind.choices, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("escalation policy")
        verbose_name_plural = _("escalation policies")
        ordering = ["authority_id", "scenario_id", "unit_kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "scenario", "unit_kind"],
                nulls_distinct=False,
                name="escalation_policy_once",
            )
        ]

    def __str__(self):
        return self.name


class Target(models.TextChoices):
    """Who a step tells; resolved against the alert's unit and region when the step fires.
    A minor alert (low battery, offline, a fault) is the unit's own business: it reaches only
    the unit's side (unit, backup contacts, park office) at step 0 and does not escalate."""

    UNIT = "unit", _("The unit's members and first emergency contact")
    UNIT_BACKUP = "unit_backup", _("The unit's other emergency contacts")
    PARENT_UNIT = "parent_unit", _("The office of the park or estate the unit is in")
    RESPONDER = "responder", _("The responder for the alert's kind (fire station on duty…)")
    OPERATIONS_CENTRE = "operations_centre", _("The subdistrict operations centre")
    DISTRICT = "district", _("The district operations centre")
    CITY_PLATFORM = "city_platform", _("The city operations platform (webhook)")


class EscalationStep(models.Model):
    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.CASCADE, related_name="steps", db_index=False
    )
    position = models.PositiveSmallIntegerField(_("step"))
    delay_s = models.PositiveIntegerField(
        _("after (seconds) unacknowledged"),
        help_text=_("Counted from the alert being raised; step 0 is immediate."),
    )
    targets = ArrayField(
        models.CharField(max_length=24, choices=Target.choices), verbose_name=_("who is told")
    )

    class Meta:
        verbose_name = _("escalation step")
        verbose_name_plural = _("escalation steps")
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="escalation_step_once")
        ]

    def __str__(self):
        return f"{self.policy} #{self.position} +{self.delay_s}s"


class Alert(ChoiceLabels, models.Model):
    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("alert status", "Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        DISPATCHED = "dispatched", _("Dispatched")
        RESOLVED = "resolved", _("Resolved")

    class Outcome(models.TextChoices):
        INCIDENT = "incident", _("Incident handled")
        FALSE_ALARM = "false_alarm", _("False alarm")
        TEST = "test", _("Test")
        DEVICE_FAULT = "device_fault", _("Device fault")
        CLEARED = "cleared", _("Condition cleared by itself")

    UNRESOLVED = (Status.OPEN, Status.ACKNOWLEDGED, Status.DISPATCHED)
    # A person picks one of these; `cleared` is only ever set by a sweep.
    PERSON_OUTCOMES = (Outcome.INCIDENT, Outcome.FALSE_ALARM, Outcome.TEST, Outcome.DEVICE_FAULT)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="alerts")
    # Denormalised from the device when raised: tenancy and the consoles filter on them.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="alerts", db_index=False)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="alerts", db_index=False
    )
    scenario = models.ForeignKey(
        Scenario, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    rule = models.ForeignKey(
        AlarmRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    life_safety = models.BooleanField(_("life safety"), default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    event_count = models.PositiveIntegerField(_("events"), default=1)
    first_event_at = models.DateTimeField(_("first event"))
    last_event_at = models.DateTimeField(_("last event"))
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    first_notified_at = models.DateTimeField(_("first notified"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Escalation: the next step to fire and when; cleared once acknowledged or out of steps.
    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    next_step = models.PositiveSmallIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-raised_at"]
        constraints = [
            # One open alert per device and kind; repeats increment its count (DESIGN §4).
            models.UniqueConstraint(
                fields=["device", "kind"],
                condition=~Q(status="resolved"),
                name="alert_one_open_per_device_kind",
            ),
            models.CheckConstraint(
                condition=Q(status="resolved", resolved_at__isnull=False) & ~Q(outcome="")
                | ~Q(status="resolved") & Q(outcome=""),
                name="alert_resolved_with_outcome",
            ),
        ]
        indexes = [
            # The escalation tick reads only alerts with a step due (healthchecks' partial index).
            models.Index(
                fields=["next_step_at"],
                name="alert_step_due_idx",
                condition=Q(next_step_at__isnull=False),
            ),
            models.Index(
                fields=["unit", "-raised_at"],
                name="alert_unit_recent_idx",
            ),
            # Consoles: unresolved alerts of the units a responder covers.
            models.Index(
                fields=["unit", "status"],
                name="alert_unit_open_idx",
                condition=~Q(status="resolved"),
            ),
            models.Index(fields=["region", "-raised_at"], name="alert_region_recent_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.device}"

    @property
    def resolved_only_by_person(self) -> bool:
        return self.life_safety


class AlertEntry(models.Model):
    """A line of an alert's timeline: raised, repeated, notified, escalated, acknowledged,
    dispatched, resolved, a note. Immutable."""

    class Action(models.TextChoices):
        RAISED = "raised", _("Raised")
        REPEATED = "repeated", _("Repeated")
        ESCALATED = "escalated", _("Escalated")
        NOTIFIED = "notified", _("Notified")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        DISPATCHED = "dispatched", _("Dispatched")
        RESOLVED = "resolved", _("Resolved")
        NOTE = "note", _("Note")

    class Via(models.TextChoices):
        SYSTEM = "system", _("SafeUnit")
        CONSOLE = "console", _("Console")
        LINK = "link", _("Link in a message")
        API = "api", _("API")

    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, related_name="entries", db_index=False
    )
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=12, choices=Action.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.SYSTEM)
    from_status = models.CharField(max_length=12, choices=Alert.Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Alert.Status.choices, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("alert timeline entry")
        verbose_name_plural = _("alert timeline entries")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["alert", "at"], name="alert_entry_idx")]

    def __str__(self):
        return f"{self.alert_id} {self.action} {self.at:%Y-%m-%d %H:%M:%S}"


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In the app")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("Webhook")


class Notification(models.Model):
    """One message to one recipient on one channel: the outbox. Written in the transaction
    that raises or escalates the alert; sent at least once by a task; the idempotency key
    (alert, step, channel, address) makes a retry harmless."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed, will retry")
        DEAD = "dead", _("Given up")

    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    step = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # Who: a user (in-app, e-mail, SMS to their phone), or a contact, responder duty desk or
    # webhook endpoint known only by its address.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    responder = models.ForeignKey(
        Responder, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    recipient = models.CharField(_("recipient"), max_length=200)
    address = models.CharField(_("address"), max_length=300)
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # The signed action link in this message was used (links are single-use; alerts.links).
    link_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            # The retry sweep reads only what still has to go out.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due_idx",
                condition=Q(status__in=["pending", "failed"]),
            ),
            models.Index(fields=["alert", "step"], name="notification_alert_idx"),
            models.Index(
                fields=["user", "-created_at"],
                name="notification_inbox_idx",
                condition=Q(channel="in_app"),
            ),
        ]

    def __str__(self):
        return f"{self.channel} → {self.recipient}"


class DeliveryAttempt(models.Model):
    """One try at sending a notification: the log behind the ops view."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at"]

    def __str__(self):
        return f"{self.notification_id} {'ok' if self.ok else self.error}"


class NotificationPreference(models.Model):
    """A member's channels for alerts that are not life-safety (those cannot be muted)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="alert_preferences",
        db_index=False,
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    email = models.BooleanField(_("e-mail"), default=True)
    sms = models.BooleanField(_("SMS"), default=True)
    muted_kinds = ArrayField(
        models.CharField(max_length=16, choices=Kind.choices),
        default=list,
        blank=True,
        verbose_name=_("muted kinds"),
    )

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="alert_preference_once")
        ]

    def __str__(self):
        return f"{self.user} @ {self.organisation}"


class WebhookEndpoint(models.Model):
    """A city operations platform that receives every alert in a region, signed with HMAC."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, related_name="webhooks", verbose_name=_("region")
    )
    url = models.URLField(_("URL"), max_length=300)
    secret = models.CharField(_("signing secret"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.name


class ThresholdBreach(models.Model):
    """A reading past a threshold rule, since when; the rule fires once it has lasted
    `for_seconds`, and the row goes when the reading comes back."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+", db_index=False)
    rule = models.ForeignKey(AlarmRule, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField()
    fired = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "rule"], name="threshold_breach_once")
        ]

    def __str__(self):
        return f"{self.device_id} {self.rule_id} since {self.since}"


class ProcessorState(models.Model):
    """Watermarks of the background passes (the threshold evaluator reads readings received
    after its mark), one row per name."""

    name = models.CharField(max_length=32, primary_key=True)
    mark = models.DateTimeField()

    def __str__(self):
        return f"{self.name} @ {self.mark}"
