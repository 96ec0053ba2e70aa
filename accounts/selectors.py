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


MANAGING_ROLES = [Membership.Role.OWNER, Membership.Role.MANAGER]


def managers_of(*organisation_ids: int) -> QuerySet[User]:
    """The owners and managers of these organisations, each once, with what a message to
    them needs (their address and language): who is told about orders, leases, revisions
    and programmes."""
    return (
        User.objects.filter(
            memberships__organisation_id__in=organisation_ids,
            memberships__role__in=MANAGING_ROLES,
        )
        .distinct()
        .only("email", "language")
        .order_by("email")
    )


def managers_by_organisation(organisation_ids) -> dict[int, list[User]]:
    """managers_of for many organisations in one query, grouped by organisation."""
    memberships = (
        Membership.objects.filter(organisation_id__in=organisation_ids, role__in=MANAGING_ROLES)
        .select_related("user")
        .only("organisation", "user__email", "user__language")
        .order_by("user__email")
    )
    managers: dict[int, list[User]] = {}
    for membership in memberships:
        managers.setdefault(membership.organisation_id, []).append(membership.user)
    return managers
