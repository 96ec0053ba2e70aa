"""Reads in accounts, always scoped to the person asking."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import ApiToken, Invitation, Membership, Organisation, User


def membership_list_for(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("organisation")
        .order_by("organisation__name")
    )


def organisation_membership_get(*, user: User, organisation_public_id) -> Membership:
    """The user's membership in that organisation; 404 when there is none."""
    return get_object_or_404(
        Membership.objects.select_related("organisation"),
        user=user,
        organisation__public_id=organisation_public_id,
    )


def member_list(*, organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def member_get(*, organisation: Organisation, membership_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "organisation"),
        organisation=organisation,
        pk=membership_id,
    )


def invitation_pending_list(*, organisation: Organisation) -> QuerySet[Invitation]:
    from django.utils import timezone

    return Invitation.objects.filter(
        organisation=organisation,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).select_related("invited_by")


def invitation_get(*, organisation: Organisation, public_id) -> Invitation:
    return get_object_or_404(
        Invitation.objects.select_related("organisation"),
        organisation=organisation,
        public_id=public_id,
    )


def api_token_list_for(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True)


def api_token_get_for(*, user: User, token_id: int) -> ApiToken:
    return get_object_or_404(ApiToken, user=user, pk=token_id, revoked_at__isnull=True)
