"""Oversight: coverage programmes and the roll-ups behind the jurisdiction dashboards
(DESIGN §1, §3.6; issue 7). This app reads every app below it and is read by none.

A unit *covers* a scenario when it has at least one online (active) device of a solution for
that scenario which is certified now, and a monitoring subscription for that solution that has
not lapsed. Coverage is computed in the database by a beat pass into `UnitCoverage` (one row
per unit and applicable scenario) and summed per region into `RegionCoverage`, so that a
dashboard over 100k units reads a handful of small rows.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.models import Scenario, Solution, Vendor
from units.models import Authority, Region, Unit


class CoverageProgramme(models.Model):
    """ "Every unit of kind K in region R covers scenario S by date D", declared by an
    authority for a region inside its own."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    authority = models.ForeignKey(
        Authority, on_delete=models.CASCADE, related_name="programmes", verbose_name=_("authority")
    )
    name = models.CharField(_("name"), max_length=200)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="programmes", verbose_name=_("region")
    )
    unit_kind = models.CharField(_("unit kind"), max_length=16, choices=Unit.Kind.choices)
    scenario = models.ForeignKey(
        Scenario, on_delete=models.PROTECT, related_name="programmes", verbose_name=_("scenario")
    )
    deadline = models.DateField(_("deadline"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("coverage programme")
        verbose_name_plural = _("coverage programmes")
        ordering = ["deadline", "name"]

    def __str__(self):
        return self.name


class ProgrammeNotice(models.Model):
    """A reminder sent to an uncovered unit before the deadline, or the report sent to the
    authority after it: once each (the unique constraint makes beat's pass idempotent)."""

    class Kind(models.TextChoices):
        REMINDER_30 = "reminder_30", _("Reminder 30 days before")
        REMINDER_7 = "reminder_7", _("Reminder 7 days before")
        REMINDER_1 = "reminder_1", _("Reminder the day before")
        OVERDUE_REPORT = "overdue_report", _("Report of uncovered units after the deadline")

    programme = models.ForeignKey(
        CoverageProgramme, on_delete=models.CASCADE, related_name="notices", db_index=False
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "unit", "kind"],
                nulls_distinct=False,
                name="programme_notice_once",
            )
        ]

    def __str__(self):
        return f"{self.programme_id} {self.kind} {self.unit_id or ''}"


class UnitCoverage(models.Model):
    """Whether a unit covers a scenario that applies to its kind, as of the last refresh."""

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="coverage", db_index=False
    )
    scenario = models.ForeignKey(
        Scenario, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    covered = models.BooleanField(default=False)
    # The solution that covers it (the lowest id when several do); empty when uncovered.
    solution = models.ForeignKey(
        Solution, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    covered_since = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "scenario"], name="unit_coverage_once")
        ]
        indexes = [models.Index(fields=["scenario", "covered"], name="unit_coverage_idx")]

    def __str__(self):
        return f"{self.unit_id} {self.scenario_id} {'✓' if self.covered else '✗'}"


class RegionCoverage(models.Model):
    """Units and covered units per region (every level: a district's row sums its whole
    subtree), scenario and unit kind."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+", db_index=False)
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="+")
    unit_kind = models.CharField(max_length=16, choices=Unit.Kind.choices)
    units = models.PositiveIntegerField(default=0)
    covered = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "scenario", "unit_kind"], name="region_coverage_once"
            )
        ]

    def __str__(self):
        return f"{self.region_id} {self.scenario_id} {self.unit_kind} {self.covered}/{self.units}"


# Dashboard roll-ups (oversight.rollups writes them; oversight.dashboards reads them) ----------


class HandlingCounts(models.Model):
    """How a set of alerts has been handled: counts, and log-scale histograms of the time to
    acknowledge and to resolve as (bucket, count) pairs (oversight.rollups explains the
    buckets), which add up across days and regions."""

    alerts = models.PositiveIntegerField(default=0)
    acknowledged = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    false_alarms = models.PositiveIntegerField(default=0)
    ack_buckets = ArrayField(models.SmallIntegerField(), default=list)
    ack_counts = ArrayField(models.PositiveIntegerField(), default=list)
    resolve_buckets = ArrayField(models.SmallIntegerField(), default=list)
    resolve_counts = ArrayField(models.PositiveIntegerField(), default=list)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class AlertDailyRollup(HandlingCounts):
    """Alerts raised on one Shanghai day in a region (every level: a district's row sums its
    whole subtree) for one scenario, and how they have been handled so far. Summing histograms
    over days gives percentiles over any period without reading the alerts themselves."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    scenario = models.ForeignKey(
        Scenario, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "day", "scenario"],
                nulls_distinct=False,
                name="alert_daily_rollup_once",
            )
        ]

    def __str__(self):
        return f"{self.region_id} {self.day} {self.scenario_id} {self.alerts}"


class AlertSolutionRollup(models.Model):
    """Alerts raised on one Shanghai day in a region (every level), per vendor and solution of
    the device that raised them (no solution: a device not bought through an order), with how
    many are resolved and how many of those were false alarms."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+")
    solution = models.ForeignKey(
        Solution, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    alerts = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    false_alarms = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "day", "vendor", "solution"],
                nulls_distinct=False,
                name="alert_solution_rollup_once",
            )
        ]

    def __str__(self):
        return f"{self.region_id} {self.day} {self.vendor_id} {self.solution_id} {self.alerts}"


class AlertWindowRollup(HandlingCounts):
    """The daily rows of a region and scenario summed over the closed part of the dashboards'
    window (first_day..last_day, written nightly), so that a dashboard sums one row per
    scenario plus the few recent days instead of ninety days of histograms."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+", db_index=False)
    scenario = models.ForeignKey(
        Scenario, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    first_day = models.DateField()
    last_day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "scenario"],
                nulls_distinct=False,
                name="alert_window_rollup_once",
            )
        ]

    def __str__(self):
        return f"{self.region_id} {self.scenario_id} {self.first_day}..{self.last_day}"


class RegionSnapshot(models.Model):
    """Units and reporting devices in a region's whole subtree, as of the last refresh (every
    few minutes): what the dashboards' region table and online rate read."""

    region = models.OneToOneField(
        Region, on_delete=models.CASCADE, related_name="oversight_snapshot"
    )
    units = models.PositiveIntegerField(default=0)
    devices_active = models.PositiveIntegerField(default=0)
    devices_offline = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.region_id} {self.devices_active}/{self.devices_offline}"
