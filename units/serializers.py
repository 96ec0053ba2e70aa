"""Shapes of the units API. Input serializers check shape only (types, lengths, the model's
own field validators) and turn opaque ids into rows the asker may see; the rules (a grid,
a unit organisation, who may write) live in units.services."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Organisation
from accounts.selectors import membership_list_for
from units.models import DutyShift, EmergencyContact, Region, Responder, Unit
from units.selectors import unit_list_for
from units.services import UNIT_FACT_FIELDS


class _ScopedSlugField(serializers.SlugRelatedField):
    """A row named by its opaque id, looked up among the rows the asker may see only: an id
    that is missing and one that is not yours give the same error."""

    def scoped_queryset(self, user):
        raise NotImplementedError

    def get_queryset(self):
        return self.scoped_queryset(self.context["request"].user)


class MyUnitOrganisationField(_ScopedSlugField):
    default_error_messages = {
        "does_not_exist": _("Choose a unit organisation you belong to."),
        "invalid": _("Choose a unit organisation you belong to."),
    }

    def scoped_queryset(self, user):
        mine = membership_list_for(user=user).values("organisation_id")
        return Organisation.objects.filter(kind=Organisation.Kind.UNIT, pk__in=mine)


class VisibleUnitField(_ScopedSlugField):
    default_error_messages = {
        "does_not_exist": _("No unit you can see has this id."),
        "invalid": _("No unit you can see has this id."),
    }

    def scoped_queryset(self, user):
        return unit_list_for(user=user)


def _region_field(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        help_text=_("The grid's region code, for example 310101002001."),
        error_messages={"does_not_exist": _("No region has the code {value}.")},
        **kwargs,
    )


# Units ----------------------------------------------------------------------------------------


class UnitSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    organisation = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    parent = serializers.SlugRelatedField(slug_field="public_id", read_only=True)

    class Meta:
        model = Unit
        fields = [
            "id",
            "organisation",
            "region",
            "parent",
            *UNIT_FACT_FIELDS,
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class UnitUpdateSerializer(serializers.ModelSerializer):
    region = _region_field()
    parent = VisibleUnitField(
        slug_field="public_id",
        queryset=Unit.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("The park, estate or building this unit is part of, if any."),
    )

    class Meta:
        model = Unit
        fields = ["region", "parent", *UNIT_FACT_FIELDS]


class UnitCreateSerializer(UnitUpdateSerializer):
    organisation = MyUnitOrganisationField(
        slug_field="public_id",
        queryset=Organisation.objects.all(),
        help_text=_("The unit organisation (owner or manager) the unit belongs to."),
    )

    class Meta(UnitUpdateSerializer.Meta):
        fields = ["organisation", *UnitUpdateSerializer.Meta.fields]


# Emergency contacts ---------------------------------------------------------------------------


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmergencyContact
        fields = ["id", "position", "name", "relation", "phone", "email"]
        read_only_fields = fields


class ContactWriteSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmergencyContact
        fields = ["name", "relation", "phone", "email"]


class ContactMoveSerializer(serializers.Serializer):
    position = serializers.IntegerField(
        min_value=1, help_text=_("The new place in the calling order; 1 is called first.")
    )


# Responders and rosters -----------------------------------------------------------------------


class DutyShiftSerializer(serializers.ModelSerializer):
    class Meta:
        model = DutyShift
        fields = ["id", "starts_at", "ends_at", "contact_name", "contact_phone", "note"]
        read_only_fields = fields


class DutyShiftWriteSerializer(serializers.ModelSerializer):
    class Meta:
        model = DutyShift
        fields = ["starts_at", "ends_at", "contact_name", "contact_phone", "note"]


class ResponderSerializer(serializers.ModelSerializer):
    """A duty desk: the regions it covers and who answers right now."""

    # Reads `current_shifts`, prefetched for a whole page by units.api (no query per row).

    id = serializers.UUIDField(source="public_id", read_only=True)
    organisation = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    regions = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        read_only=True,
        help_text=_("Codes of the regions covered."),
    )
    on_duty_now = serializers.SerializerMethodField(
        help_text=_("Whether a shift of the roster covers this moment.")
    )
    current_shift = serializers.SerializerMethodField(
        help_text=_("Who answers right now, and until when.")
    )

    class Meta:
        model = Responder
        fields = [
            "id",
            "organisation",
            "name",
            "kind",
            "phone",
            "regions",
            "on_duty_now",
            "current_shift",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_on_duty_now(self, responder: Responder) -> bool:
        return bool(responder.current_shifts)

    @extend_schema_field(DutyShiftSerializer(allow_null=True))
    def get_current_shift(self, responder: Responder) -> dict | None:
        shifts = responder.current_shifts
        return DutyShiftSerializer(shifts[0]).data if shifts else None
