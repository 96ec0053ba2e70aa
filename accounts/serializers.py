"""Shapes of the accounts API. Input serializers check shape only; the rules live in services."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import ApiToken, Invitation, Membership, Organisation, User

# Output ---------------------------------------------------------------------------------------


class MyOrganisationSerializer(serializers.ModelSerializer):
    """One of my memberships, seen from the organisation's side."""

    id = serializers.UUIDField(source="organisation.public_id", read_only=True)
    name = serializers.CharField(source="organisation.name", read_only=True)
    kind = serializers.ChoiceField(
        source="organisation.kind", choices=Organisation.Kind.choices, read_only=True
    )
    role = serializers.ChoiceField(
        choices=Membership.Role.choices, read_only=True, help_text=_("My role there.")
    )

    class Meta:
        model = Membership
        fields = ["id", "name", "kind", "role"]


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "joined_at"]
        read_only_fields = fields


class InvitationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    invited_by = serializers.SlugRelatedField(slug_field="email", read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "invited_by", "created_at", "expires_at"]
        read_only_fields = fields


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "hint", "created_at", "last_used_at"]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text=_("Send it as `Authorization: Bearer <secret>`. It is shown this once only."),
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "secret"]
        read_only_fields = fields


# Input ----------------------------------------------------------------------------------------


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text=_("What the token is for."))


class MeSerializer(serializers.ModelSerializer):
    """The signed-in person's own account."""

    class Meta:
        model = User
        fields = ["email", "full_name", "phone", "language"]
        read_only_fields = ["email"]
