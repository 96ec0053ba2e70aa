import uuid

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.models import Organisation
from accounts.validators import phone_validator


class Region(models.Model):
    """An administrative area: city › district › subdistrict › grid.

    Codes follow the national statistical style (310000 Shanghai, 310101 Huangpu,
    310101002 a subdistrict, 310101002001 a grid). `path` lists the codes from the city
    down, so a whole subtree is one indexed prefix match.
    """

    class Level(models.TextChoices):
        CITY = "city", _("City")
        DISTRICT = "district", _("District")
        SUBDISTRICT = "subdistrict", _("Subdistrict")
        GRID = "grid", _("Grid")

    CHILD_LEVEL = {
        Level.CITY: Level.DISTRICT,
        Level.DISTRICT: Level.SUBDISTRICT,
        Level.SUBDISTRICT: Level.GRID,
    }

    code = models.CharField(
        _("code"),
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^\d{6,12}$", _("A region code is 6 to 12 digits."))],
    )
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    path = models.CharField(max_length=255, editable=False)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["path"], name="region_path_idx", opclasses=["varchar_pattern_ops"])
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(level="city", parent__isnull=True)
                | (~Q(level="city") & Q(parent__isnull=False)),
                name="region_only_cities_are_roots",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def display_name(self, language: str | None = None) -> str:
        if language == "en" and self.name_en:
            return self.name_en
        return self.name

    @property
    def ancestor_codes(self) -> list[str]:
        """Codes from the city down to this region, itself included."""
        return [code for code in self.path.split("/") if code]


class Unit(models.Model):
    """A smallest management unit: the first party responsible for its own safety."""

    class Kind(models.TextChoices):
        SHOP = "shop", _("Street shop")
        ESTATE = "estate", _("Residential estate")
        SCENIC_AREA = "scenic_area", _("Scenic area")
        BUILDING = "building", _("Building")
        PARK = "park", _("Creative park")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="units",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("inside unit"),
        help_text=_("The park, estate or building this unit is part of, if any."),
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="units",
        verbose_name=_("grid"),
        limit_choices_to={"level": Region.Level.GRID},
    )
    address = models.CharField(_("address"), max_length=300)
    # The facts that size a solution (quantities in a bill of materials derive from them).
    floor_area_m2 = models.PositiveIntegerField(
        _("floor area (m²)"), validators=[MinValueValidator(1)]
    )
    floors = models.PositiveSmallIntegerField(
        _("floors"), default=1, validators=[MinValueValidator(1)]
    )
    shops_inside = models.PositiveIntegerField(_("shops inside"), default=0)
    households = models.PositiveIntegerField(_("households"), default=0)
    elevators = models.PositiveIntegerField(_("elevators"), default=0)
    entrances = models.PositiveIntegerField(
        _("entrances and exits"), default=1, validators=[MinValueValidator(1)]
    )
    daily_visitors = models.PositiveIntegerField(_("daily visitors"), default=0)
    responsible_name = models.CharField(_("first responsible person"), max_length=100)
    responsible_phone = models.CharField(
        _("responsible person's phone"),
        max_length=32,
        validators=[phone_validator],
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["name"]
        permissions = [("respond_unit", _("Can respond to the unit's alerts"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(floor_area_m2__gte=1), name="unit_floor_area_positive"
            ),
            models.CheckConstraint(condition=Q(floors__gte=1), name="unit_floors_positive"),
            models.CheckConstraint(condition=Q(entrances__gte=1), name="unit_entrances_positive"),
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="unit_not_its_own_parent"
            ),
        ]

    def __str__(self):
        return self.name


class UnitUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Unit, on_delete=models.CASCADE)


class UnitGroupObjectPermission(GroupObjectPermissionBase):
    """Cross-organisation grants on a unit, given to the organisation's group."""

    content_object = models.ForeignKey(Unit, on_delete=models.CASCADE)


class EmergencyContact(models.Model):
    """Called in `position` order when the unit's alarms need a person."""

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="contacts", db_index=False
    )
    position = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=100)
    relation = models.CharField(
        _("role"),
        max_length=100,
        blank=True,
        help_text=_("For example: shop manager, night guard."),
    )
    phone = models.CharField(
        _("phone"),
        max_length=32,
        validators=[phone_validator],
    )
    email = models.EmailField(_("e-mail address"), blank=True)

    class Meta:
        verbose_name = _("emergency contact")
        verbose_name_plural = _("emergency contacts")
        ordering = ["unit", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "position"],
                name="contact_position_unique",
                deferrable=models.Deferrable.DEFERRED,
            )
        ]

    def __str__(self):
        return f"{self.position}. {self.name}"


class Authority(models.Model):
    """A government reviewer organisation and the region it oversees."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="authority"
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="authorities", verbose_name=_("region")
    )

    class Meta:
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")

    def __str__(self):
        return str(self.organisation)


class Responder(models.Model):
    class Kind(models.TextChoices):
        FIRE_STATION = "fire_station", _("Fire station")
        PROPERTY_MANAGEMENT = "property_management", _("Property management")
        ELEVATOR_MAINTENANCE = "elevator_maintenance", _("Elevator maintenance")
        OPERATIONS_CENTRE = "operations_centre", _("Operations centre")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="responders"
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    phone = models.CharField(
        _("duty desk phone"),
        max_length=32,
        validators=[phone_validator],
    )
    regions = models.ManyToManyField(
        Region, related_name="responders", verbose_name=_("regions covered"), blank=True
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("responder")
        verbose_name_plural = _("responders")
        ordering = ["name"]

    def __str__(self):
        return self.name


class DutyShift(models.Model):
    """A stretch of time in a responder's roster, with who answers during it."""

    responder = models.ForeignKey(
        Responder, on_delete=models.CASCADE, related_name="shifts", db_index=False
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    contact_name = models.CharField(_("on-duty contact"), max_length=100)
    contact_phone = models.CharField(
        _("on-duty phone"),
        max_length=32,
        validators=[phone_validator],
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty shifts")
        ordering = ["responder", "starts_at"]
        indexes = [
            models.Index(fields=["responder", "starts_at", "ends_at"], name="shift_time_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            )
        ]

    def __str__(self):
        return f"{self.responder}: {self.contact_name} {self.starts_at:%Y-%m-%d %H:%M}"
