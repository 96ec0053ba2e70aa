"""Every write in accounts. Keyword-only, atomic, audited; e-mail goes out after commit."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import (
    DEFAULT_LANGUAGE,
    ApiToken,
    AuditEntry,
    Invitation,
    Membership,
    Organisation,
    User,
)
from accounts.validators import phone_validator

INVITATION_SALT = "safeunit.invitation"
Role = Membership.Role


def audit_record(*, actor, action: str, target, organisation=None, changes=None) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        organisation=organisation,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        changes=changes or {},
    )


def _language_check(language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose one of the languages offered.")})


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    full_name: str,
    phone: str = "",
    language: str = DEFAULT_LANGUAGE,
) -> User:
    """`language` is what the person reads pages, e-mails and SMS in: the page's language
    when they sign up themselves."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _("An account with this e-mail address already exists.")})
    _language_check(language)
    user = User.objects.create_user(
        email=email, password=password, full_name=full_name, phone=phone, language=language
    )
    audit_record(actor=user, action="user.create", target=user)
    return user


@transaction.atomic
def user_profile_update(*, user: User, full_name: str, phone: str, language: str) -> User:
    """The person's own name, phone (for SMS alerts) and language."""
    errors = {}
    full_name, phone = full_name.strip(), phone.strip()
    if not full_name:
        errors["full_name"] = _("Enter your name.")
    if phone:
        try:
            phone_validator(phone)
        except ValidationError as error:
            errors["phone"] = error.messages
    try:
        _language_check(language)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    changes = {
        name: {"from": getattr(user, name), "to": value}
        for name, value in (("full_name", full_name), ("phone", phone), ("language", language))
        if getattr(user, name) != value
    }
    if changes:
        for name, change in changes.items():
            setattr(user, name, change["to"])
        user.save(update_fields=list(changes))
        audit_record(actor=user, action="user.update", target=user, changes=changes)
    return user


@transaction.atomic
def user_language_set(*, user: User, language: str) -> User:
    """Remember the language the person chose with the language switcher."""
    _language_check(language)
    if user.language != language:
        old_language = user.language
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language
        audit_record(
            actor=user,
            action="user.language_set",
            target=user,
            changes={"from": old_language, "to": language},
        )
    return user


@transaction.atomic
def organisation_create(*, name: str, kind: str, owner: User) -> Organisation:
    if kind not in Organisation.Kind.values:
        raise ValidationError({"kind": _("Choose a valid organisation kind.")})
    organisation = Organisation(name=name.strip(), kind=kind)
    organisation.group = Group.objects.create(name=f"org:{organisation.public_id}")
    organisation.full_clean()
    organisation.save()
    _membership_add(organisation=organisation, user=owner, role=Role.OWNER)
    audit_record(
        actor=owner,
        action="organisation.create",
        target=organisation,
        organisation=organisation,
        changes={"name": organisation.name, "kind": kind},
    )
    return organisation


@transaction.atomic
def account_sign_up(
    *,
    email: str,
    password: str,
    full_name: str,
    organisation_name: str,
    kind: str,
    language: str = DEFAULT_LANGUAGE,
) -> tuple[User, Organisation]:
    """A new person and the organisation they run (a unit or a vendor) in one step."""
    if kind not in (Organisation.Kind.UNIT, Organisation.Kind.VENDOR):
        raise ValidationError({"kind": _("Sign up as a unit or as a vendor.")})
    user = user_create(email=email, password=password, full_name=full_name, language=language)
    organisation = organisation_create(name=organisation_name, kind=kind, owner=user)
    return user, organisation


def _membership_add(*, organisation: Organisation, user: User, role: str) -> Membership:
    try:
        with transaction.atomic():
            membership = Membership.objects.create(organisation=organisation, user=user, role=role)
    except IntegrityError:
        raise ValidationError(
            {"email": _("%(email)s is already a member.") % {"email": user.email}}
        ) from None
    user.groups.add(organisation.group)
    return membership


@transaction.atomic
def organisation_group_sync(*, organisation: Organisation) -> None:
    """Make the organisation's auth group hold exactly its members. Guardian grants reach
    people through that group, so it must follow memberships edited as rows (the admin)."""
    members = User.objects.filter(memberships__organisation=organisation)
    organisation.group.user_set.set(members)


def _owners_left_after(membership: Membership, *, new_role: str | None) -> int:
    owners = Membership.objects.filter(organisation=membership.organisation, role=Role.OWNER)
    count = owners.exclude(pk=membership.pk).count()
    return count + (1 if new_role == Role.OWNER else 0)


def membership_require(*, organisation: Organisation, user: User, manage: bool) -> Membership:
    """The user's membership when their role allows the change: `manage` (owners, managers)
    or day-to-day writes (everyone but a viewer). PermissionDenied otherwise. Every app's
    services check roles through this one function."""
    membership = Membership.objects.filter(organisation=organisation, user=user).first()
    if membership is None or not (membership.can_manage if manage else membership.can_write):
        raise PermissionDenied("Your role in this organisation does not allow this change")
    return membership


def _require_manager(*, organisation: Organisation, by: User) -> Membership:
    return membership_require(organisation=organisation, user=by, manage=True)


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, by: User) -> Membership:
    acting = _require_manager(organisation=membership.organisation, by=by)
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a valid role.")})
    if Role.OWNER in (role, membership.role) and acting.role != Role.OWNER:
        raise ValidationError({"role": _("Only an owner can make or unmake an owner.")})
    if membership.role == Role.OWNER and _owners_left_after(membership, new_role=role) == 0:
        raise ValidationError({"role": _("An organisation needs at least one owner.")})
    old_role = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=by,
        action="membership.change_role",
        target=membership,
        organisation=membership.organisation,
        changes={"from": old_role, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, by: User) -> None:
    if membership.user_id != by.pk:  # anyone may leave; removing others needs a manager
        acting = _require_manager(organisation=membership.organisation, by=by)
        if membership.role == Role.OWNER and acting.role != Role.OWNER:
            raise ValidationError({"role": _("Only an owner can remove an owner.")})
    if membership.role == Role.OWNER and _owners_left_after(membership, new_role=None) == 0:
        raise ValidationError({"role": _("An organisation needs at least one owner.")})
    membership.user.groups.remove(membership.organisation.group)
    audit_record(
        actor=by,
        action="membership.remove",
        target=membership,
        organisation=membership.organisation,
        changes={"user": membership.user.email, "role": membership.role},
    )
    membership.delete()


def invitation_link_token(invitation: Invitation) -> str:
    return signing.dumps(str(invitation.public_id), salt=INVITATION_SALT, compress=True)


def invitation_from_token(token: str) -> Invitation | None:
    """The invitation a link names, or None for a forged or malformed link."""
    max_age = timedelta(days=settings.INVITATION_VALID_DAYS)
    try:
        public_id = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    return Invitation.objects.select_related("organisation").filter(public_id=public_id).first()


@transaction.atomic
def invitation_create(
    *, organisation: Organisation, email: str, role: str, by: User, language: str = "zh-hans"
) -> Invitation:
    acting = _require_manager(organisation=organisation, by=by)
    email = User.objects.normalize_email(email).strip().lower()
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a valid role.")})
    if role == Role.OWNER and acting.role != Role.OWNER:
        raise ValidationError({"role": _("Only an owner can invite another owner.")})
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
        raise ValidationError({"email": _("%(email)s is already a member.") % {"email": email}})
    # Inviting again replaces the pending invitation: the newest link is the only one valid.
    Invitation.objects.filter(
        organisation=organisation,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).update(revoked_at=timezone.now())
    invitation = Invitation.objects.create(
        organisation=organisation,
        email=email,
        role=role,
        language=language,
        invited_by=by,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    audit_record(
        actor=by,
        action="invitation.create",
        target=invitation,
        organisation=organisation,
        changes={"email": email, "role": role},
    )
    from accounts.tasks import invitation_send

    transaction.on_commit(lambda: invitation_send.delay(invitation.pk))
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: User) -> None:
    _require_manager(organisation=invitation.organisation, by=by)
    updated = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if updated:
        audit_record(
            actor=by,
            action="invitation.revoke",
            target=invitation,
            organisation=invitation.organisation,
        )


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Claim the invitation with a conditional UPDATE: a second use changes no row."""
    if invitation.email.lower() != user.email.lower():
        raise ValidationError(
            {"email": _("This invitation was sent to %(email)s.") % {"email": invitation.email}}
        )
    now = timezone.now()
    claimed = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(accepted_at=now, accepted_by=user)
    if claimed != 1:
        raise ValidationError(_("This invitation has expired or has already been used."))
    membership = _membership_add(
        organisation=invitation.organisation, user=user, role=invitation.role
    )
    audit_record(
        actor=user,
        action="invitation.accept",
        target=invitation,
        organisation=invitation.organisation,
        changes={"role": invitation.role},
    )
    return membership


def invitation_send_email(*, invitation: Invitation) -> bool:
    """Send the invitation e-mail in the invitee's language when they already have an account,
    else in the inviter's; False when no longer pending."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import translation

    if not invitation.is_pending:
        return False
    link = settings.SITE_URL + reverse(
        "accounts:invitation_accept", args=[invitation_link_token(invitation)]
    )
    invitee_language = (
        User.objects.filter(email__iexact=invitation.email)
        .values_list("language", flat=True)
        .first()
    )
    with translation.override(invitee_language or invitation.language):
        context = {"invitation": invitation, "link": link, "site_name": settings.SITE_NAME}
        subject = _("You are invited to join %(organisation)s on SafeUnit") % {
            "organisation": invitation.organisation.name
        }
        body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])
    return True


@transaction.atomic
def invitations_purge_expired(*, older_than_days: int = 30) -> int:
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _counts = Invitation.objects.filter(
        accepted_at__isnull=True, expires_at__lt=cutoff
    ).delete()
    return deleted


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token and its secret; the secret is never stored and never shown again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    raw_key = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=ApiToken.hash_key(raw_key), hint=raw_key[:8]
    )
    audit_record(actor=user, action="api_token.create", target=token)
    return token, raw_key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: User) -> None:
    if token.user_id != by.pk:
        raise PermissionDenied("A token is revoked by its owner")
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ):
        audit_record(actor=by, action="api_token.revoke", target=token)
