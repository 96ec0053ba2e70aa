"""Scenarios, reference standards, vendors, device models, solutions and their certification.

Money is integer fen (CNY); a certified revision is immutable, and every status change of a
revision is an immutable `RevisionTransition` row (DESIGN §4).
"""

import math
import uuid

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from accounts.validators import phone_validator
from units.models import Unit


class Tier(models.TextChoices):
    LOW = "low", _("Low tier")
    MID = "mid", _("Mid tier")
    HIGH = "high", _("High tier")


TIER_ORDER = {Tier.LOW: 0, Tier.MID: 1, Tier.HIGH: 2}


class AcquisitionMode(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    LEASE = "lease", _("Lease")


def _money(verbose_name, **kwargs):
    """An amount in fen (1/100 yuan): integers only, never floats."""
    return models.PositiveBigIntegerField(verbose_name, **kwargs)


class Scenario(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("English description"), blank=True)
    unit_kinds = ArrayField(
        models.CharField(max_length=16, choices=Unit.Kind.choices),
        verbose_name=_("applies to unit kinds"),
    )
    life_safety = models.BooleanField(
        _("life safety"), default=False, help_text=_("Its alarms are only resolved by a person.")
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("scenario")
        verbose_name_plural = _("scenarios")
        ordering = ["position", "code"]

    def __str__(self):
        return self.name


class ReferenceStandard(models.Model):
    """One version of the reference standard for a scenario, written by an authority."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")

    scenario = models.ForeignKey(
        Scenario, on_delete=models.PROTECT, related_name="standards", db_index=False
    )
    version = models.PositiveSmallIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200)
    authority = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="standards",
        verbose_name=_("authority"),
    )
    allowed_modes = ArrayField(
        models.CharField(max_length=16, choices=AcquisitionMode.choices),
        verbose_name=_("acquisition modes allowed"),
    )
    monitoring_fee_min = _money(_("monitoring fee floor (fen per device per month)"))
    monitoring_fee_max = _money(_("monitoring fee ceiling (fen per device per month)"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        verbose_name = _("reference standard")
        verbose_name_plural = _("reference standards")
        ordering = ["scenario", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "version"], name="standard_version_unique"),
            models.UniqueConstraint(
                fields=["scenario"],
                condition=Q(status="published"),
                name="standard_one_published_per_scenario",
            ),
            models.CheckConstraint(
                condition=Q(monitoring_fee_max__gte=models.F("monitoring_fee_min")),
                name="standard_monitoring_band_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.title} v{self.version}"


class TierBand(models.Model):
    """The purchase-price band of a tier: the floor covers cost, the ceiling protects buyers."""

    standard = models.ForeignKey(
        ReferenceStandard, on_delete=models.CASCADE, related_name="bands", db_index=False
    )
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices)
    price_min = _money(_("price floor per device (fen)"))
    price_max = _money(_("price ceiling per device (fen)"))

    class Meta:
        verbose_name = _("tier price band")
        verbose_name_plural = _("tier price bands")
        constraints = [
            models.UniqueConstraint(fields=["standard", "tier"], name="band_one_per_tier"),
            models.CheckConstraint(
                condition=Q(price_max__gte=models.F("price_min")), name="band_ordered"
            ),
        ]

    def __str__(self):
        return f"{self.standard} {self.tier}"


class Requirement(models.Model):
    class Kind(models.TextChoices):
        CAPABILITY = "capability", _("Capability")
        PERFORMANCE = "performance", _("Performance")
        DOCUMENTATION = "documentation", _("Documentation")

    standard = models.ForeignKey(
        ReferenceStandard, on_delete=models.CASCADE, related_name="requirements", db_index=False
    )
    code = models.CharField(_("code"), max_length=16)
    text = models.TextField(_("text"))
    text_en = models.TextField(_("English text"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    threshold = models.DecimalField(
        _("threshold"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    threshold_unit = models.CharField(_("threshold unit"), max_length=16, blank=True)
    tiers = ArrayField(
        models.CharField(max_length=8, choices=Tier.choices),
        verbose_name=_("tiers that must meet it"),
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("requirement")
        verbose_name_plural = _("requirements")
        ordering = ["standard", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["standard", "code"], name="requirement_code_unique"),
            models.CheckConstraint(
                condition=~Q(kind="performance") | Q(threshold__isnull=False),
                name="requirement_performance_has_threshold",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.text[:40]}"


class Vendor(models.Model):
    """A vendor organisation's public profile."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="vendor"
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    licence_number = models.CharField(
        _("business licence number"),
        max_length=32,
        unique=True,
        help_text=_("The 18-character unified social credit code."),
    )
    description = models.TextField(_("description"), blank=True)
    contact_name = models.CharField(_("contact person"), max_length=100)
    contact_phone = models.CharField(
        _("contact phone"), max_length=32, validators=[phone_validator]
    )
    contact_email = models.EmailField(_("contact e-mail"))
    website = models.URLField(_("website"), blank=True)
    # Stripe Connect account that receives this vendor's payments (when Connect is enabled).
    stripe_account = models.CharField(
        _("Stripe connected account"),
        max_length=64,
        blank=True,
        help_text=_("acct_… — leave empty until the platform enables payouts through Stripe."),
    )

    class Meta:
        verbose_name = _("vendor")
        verbose_name_plural = _("vendors")
        ordering = ["organisation__name"]

    def __str__(self):
        return self.organisation.name


class DeviceModel(models.Model):
    class Category(models.TextChoices):
        SMOKE_DETECTOR = "smoke_detector", _("Smoke detector")
        HEAT_DETECTOR = "heat_detector", _("Heat detector")
        GAS_DETECTOR = "gas_detector", _("Gas detector")
        RESIDUAL_CURRENT = "residual_current", _("Residual-current monitor")
        CHARGING_MONITOR = "charging_monitor", _("E-bike charging monitor")
        CAMERA = "camera", _("Camera with detection")
        ELEVATOR_MONITOR = "elevator_monitor", _("Elevator monitor")
        PEOPLE_COUNTER = "people_counter", _("People counter")
        TILT_SENSOR = "tilt_sensor", _("Tilt sensor")
        CRACK_SENSOR = "crack_sensor", _("Crack sensor")
        WRISTBAND = "wristband", _("Wristband")
        WATER_SENSOR = "water_sensor", _("Water-leak sensor")
        GATEWAY = "gateway", _("Gateway")

    class Protocol(models.TextChoices):
        HTTP = "http", _("HTTP (SafeUnit ingest)")
        THINGSBOARD = "thingsboard", _("ThingsBoard-compatible HTTP")
        MQTT = "mqtt", _("MQTT")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="device_models", db_index=False
    )
    name = models.CharField(_("name"), max_length=200)
    model_number = models.CharField(_("model number"), max_length=64)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    scenarios = models.ManyToManyField(
        Scenario, related_name="device_models", verbose_name=_("scenarios")
    )
    # [{"name": "smoke_density", "unit": "dB/m", "min": 0, "max": 2}, ...]
    metrics = models.JSONField(_("metrics"), default=list, blank=True)
    heartbeat_interval_s = models.PositiveIntegerField(
        _("heartbeat interval (s)"), validators=[MinValueValidator(10)]
    )
    heartbeat_grace_s = models.PositiveIntegerField(_("heartbeat grace (s)"))
    battery_life_months = models.PositiveSmallIntegerField(
        _("battery life (months)"), null=True, blank=True
    )
    protocol = models.CharField(_("protocol"), max_length=16, choices=Protocol.choices)
    unit_cost = _money(_("unit cost (fen)"))
    datasheet = models.FileField(_("datasheet"), upload_to="datasheets/", blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("device model")
        verbose_name_plural = _("device models")
        ordering = ["vendor", "name"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "model_number"], name="device_model_unique"),
        ]

    def __str__(self):
        return f"{self.name} ({self.model_number})"


class Solution(models.Model):
    """A vendor's offer for one scenario at one tier; what it is, price and all, lives in its
    revisions. Units see the current certified revision."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="solutions")
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="solutions")
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("solution")
        verbose_name_plural = _("solutions")
        ordering = ["scenario", "tier", "pk"]

    def __str__(self):
        return f"{self.vendor} · {self.scenario} · {self.get_tier_display()}"


class SolutionRevision(models.Model):
    """One version of a solution. Prices are per installed device (per 点位), so a quote for a
    unit is the bill of materials' device count for that unit times these prices, and the
    standard's tier band compares like with like across vendors."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        IN_REVIEW = "in_review", _("In review")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        REJECTED = "rejected", _("Rejected")
        CERTIFIED = "certified", _("Certified")
        SUSPENDED = "suspended", _("Suspended")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")
        SUPERSEDED = "superseded", _("Superseded")

    EDITABLE = {Status.DRAFT, Status.CHANGES_REQUESTED}

    solution = models.ForeignKey(
        Solution, on_delete=models.CASCADE, related_name="revisions", db_index=False
    )
    number = models.PositiveSmallIntegerField(_("revision"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("English description"), blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    purchase_price = _money(_("purchase price per device (fen)"))
    installation_fee = _money(_("installation fee per device (fen)"), default=0)
    lease_monthly_fee = _money(_("lease fee per device per month (fen)"), null=True, blank=True)
    lease_min_months = models.PositiveSmallIntegerField(
        _("minimum lease term (months)"), null=True, blank=True
    )
    lease_deposit = _money(_("lease deposit per device (fen)"), null=True, blank=True)
    lease_buyout_price = _money(
        _("buy-out price per device at the end (fen)"), null=True, blank=True
    )
    monitoring_fee = _money(_("monitoring fee (fen per device per month)"))
    warranty_months = models.PositiveSmallIntegerField(_("warranty (months)"))
    repair_sla_hours = models.PositiveSmallIntegerField(_("repair SLA (hours)"))
    standard = models.ForeignKey(
        ReferenceStandard,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="revisions",
        verbose_name=_("submitted against"),
    )
    certificate_number = models.CharField(
        _("certificate number"), max_length=32, unique=True, null=True, blank=True
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)

    class Meta:
        verbose_name = _("solution revision")
        verbose_name_plural = _("solution revisions")
        ordering = ["solution", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["solution", "number"], name="revision_number_unique"),
            # At most one revision per solution is on the catalog at a time.
            models.UniqueConstraint(
                fields=["solution"],
                condition=Q(status="certified"),
                name="revision_one_certified_per_solution",
            ),
            models.CheckConstraint(
                condition=Q(lease_monthly_fee__isnull=True)
                | Q(lease_min_months__gte=1, lease_deposit__isnull=False),
                name="revision_lease_terms_complete",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "valid_until"],
                name="revision_certified_expiry_idx",
                condition=Q(status="certified"),
            ),
        ]

    def __str__(self):
        return f"{self.name} r{self.number}"

    @property
    def offers_lease(self) -> bool:
        return self.lease_monthly_fee is not None

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE


class BomLine(models.Model):
    """A line of a bill of materials: a device model and how many a unit needs."""

    class Rule(models.TextChoices):
        FIXED = "fixed", _("Fixed quantity")
        PER_AREA = "per_area", _("Per N m² of floor area")
        PER_FLOOR = "per_floor", _("Per floor")
        PER_ELEVATOR = "per_elevator", _("Per elevator")
        PER_SHOP = "per_shop", _("Per shop inside")
        PER_ENTRANCE = "per_entrance", _("Per entrance")

    revision = models.ForeignKey(SolutionRevision, on_delete=models.CASCADE, related_name="bom")
    device_model = models.ForeignKey(DeviceModel, on_delete=models.PROTECT, related_name="+")
    rule = models.CharField(_("quantity rule"), max_length=16, choices=Rule.choices)
    quantity = models.PositiveSmallIntegerField(
        _("quantity"),
        validators=[MinValueValidator(1)],
        help_text=_("Devices per step of the rule (or in all, for a fixed quantity)."),
    )
    area_step_m2 = models.PositiveIntegerField(
        _("N m²"), null=True, blank=True, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("bill-of-materials line")
        verbose_name_plural = _("bill of materials")
        ordering = ["revision", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(rule="per_area") | Q(area_step_m2__gte=1),
                name="bom_per_area_has_step",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="bom_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.device_model} × {self.quantity} ({self.rule})"

    def quantity_for(self, unit: Unit) -> int:
        """How many of this device the unit needs (pure arithmetic on the unit's facts)."""
        return bom_quantity(
            rule=self.rule, quantity=self.quantity, area_step_m2=self.area_step_m2, unit=unit
        )


def bom_quantity(*, rule: str, quantity: int, area_step_m2: int | None, unit) -> int:
    steps = {
        BomLine.Rule.FIXED: 1,
        BomLine.Rule.PER_AREA: math.ceil(unit.floor_area_m2 / area_step_m2) if area_step_m2 else 0,
        BomLine.Rule.PER_FLOOR: unit.floors,
        BomLine.Rule.PER_ELEVATOR: unit.elevators,
        BomLine.Rule.PER_SHOP: unit.shops_inside,
        BomLine.Rule.PER_ENTRANCE: unit.entrances,
    }[rule]
    return steps * quantity


class RevisionTransition(models.Model):
    """An immutable record of one status change: who, when, from, to, why."""

    revision = models.ForeignKey(
        SolutionRevision, on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(max_length=20, choices=SolutionRevision.Status.choices)
    to_status = models.CharField(max_length=20, choices=SolutionRevision.Status.choices)
    by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("revision transition")
        verbose_name_plural = _("revision transitions")
        ordering = ["revision", "at", "pk"]

    def __str__(self):
        return f"{self.revision}: {self.from_status} → {self.to_status}"


class Review(models.Model):
    """A reviewer's checklist for one submitted revision, and the decision."""

    class Decision(models.TextChoices):
        CERTIFY = "certify", _("Certify")
        CHANGES_REQUESTED = "changes_requested", _("Request changes")
        REJECT = "reject", _("Reject")

    revision = models.OneToOneField(
        SolutionRevision, on_delete=models.CASCADE, related_name="review"
    )
    reviewer = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    authority = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    decision = models.CharField(_("decision"), max_length=20, choices=Decision.choices, blank=True)
    reasons = models.TextField(_("reasons"), blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self):
        return f"Review of {self.revision}"


class RequirementVerdict(models.Model):
    class Verdict(models.TextChoices):
        MET = "met", _("Met")
        NOT_MET = "not_met", _("Not met")
        NOT_APPLICABLE = "na", _("Not applicable")

    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, related_name="verdicts", db_index=False
    )
    requirement = models.ForeignKey(Requirement, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(_("verdict"), max_length=8, choices=Verdict.choices)
    note = models.TextField(_("note"), blank=True)
    evidence = models.FileField(_("evidence"), upload_to="evidence/", blank=True)

    class Meta:
        verbose_name = _("requirement verdict")
        verbose_name_plural = _("requirement verdicts")
        constraints = [
            models.UniqueConstraint(fields=["review", "requirement"], name="verdict_unique"),
        ]

    def __str__(self):
        return f"{self.requirement.code}: {self.verdict}"
