"""Who is told, and when (DESIGN §3.4; issue 6 §3).

An alert follows the most specific escalation policy for its unit (an authority's own policy
over the platform's; scenario and unit kind over either alone). Each step names targets that
are resolved when the step fires: the unit's members and contacts, the park office above it,
the responder for the alert's kind covering its region (the fire station's duty desk on the
current roster), the subdistrict or district operations centre, the city platform's webhook.
The step's notification rows are written in the transaction that fires it, each with an
idempotency key, and sent after commit.

`escalations_run` (beat, every few seconds) fires steps that are due. It claims each with a
conditional UPDATE on the step it expects, so two ticks never fire a step twice.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.models import Membership
from alerts.models import (
    Alert,
    AlertEntry,
    Channel,
    EscalationPolicy,
    EscalationStep,
    Kind,
    Notification,
    NotificationPreference,
    Severity,
    Target,
    WebhookEndpoint,
)
from units.models import DutyShift, Region, Responder

RECEIVING_ROLES = (Membership.Role.OWNER, Membership.Role.MANAGER, Membership.Role.STAFF)
UNIT_SIDE = {Target.UNIT, Target.UNIT_BACKUP, Target.PARENT_UNIT}

# The responder that handles each kind on the ground.
RESPONDER_FOR_KIND = {
    Kind.FIRE: Responder.Kind.FIRE_STATION,
    Kind.GAS: Responder.Kind.FIRE_STATION,
    Kind.ELECTRICAL: Responder.Kind.FIRE_STATION,
    Kind.CHARGING: Responder.Kind.FIRE_STATION,
    Kind.ENTRAPMENT: Responder.Kind.ELEVATOR_MAINTENANCE,
    Kind.THROWN_OBJECT: Responder.Kind.PROPERTY_MANAGEMENT,
    Kind.CROWD: Responder.Kind.PROPERTY_MANAGEMENT,
    Kind.STRUCTURAL: Responder.Kind.PROPERTY_MANAGEMENT,
    Kind.VITALS: Responder.Kind.PROPERTY_MANAGEMENT,
    Kind.WATER: Responder.Kind.PROPERTY_MANAGEMENT,
    Kind.TAMPER: Responder.Kind.PROPERTY_MANAGEMENT,
}


# Policies -----------------------------------------------------------------------------------


def policies_all() -> list[EscalationPolicy]:
    """Every escalation policy with its steps: a few per authority, so a batch of alerts (or
    an escalation pass) reads them once and chooses for each alert in memory."""
    return list(
        EscalationPolicy.objects.select_related("authority__region").prefetch_related("steps")
    )


def policy_for(
    alert: Alert, *, policies: list[EscalationPolicy] | None = None
) -> EscalationPolicy | None:
    """The most specific policy: an authority over the unit's region before the platform;
    scenario and unit kind both matching, then scenario, then unit kind, then neither.
    `policies` is policies_all() when the caller already has it."""
    codes = alert.unit.region.ancestor_codes

    def applies(policy):
        return (
            (policy.authority_id is None or policy.authority.region.code in codes)
            and (policy.scenario_id is None or policy.scenario_id == alert.scenario_id)
            and policy.unit_kind in (alert.unit.kind, "")
        )

    def specificity(policy):
        depth = len(policy.authority.region.ancestor_codes) if policy.authority_id else 0
        return (depth, policy.scenario_id is not None, policy.unit_kind != "")

    candidates = policies_all() if policies is None else policies
    return max(filter(applies, candidates), key=specificity, default=None)


def _steps(policy: EscalationPolicy | None) -> list[EscalationStep]:
    return sorted(policy.steps.all(), key=lambda step: step.position) if policy else []


# Routing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    channel: str
    address: str
    name: str
    user_id: int | None = None
    responder_id: int | None = None


def _users_of(organisation_ids, alert: Alert) -> dict[int, list[Recipient]]:
    """Per organisation, its members who receive alerts: in the app always; e-mail and SMS
    unless they turned them off or muted the kind — which life-safety alerts ignore."""
    if not organisation_ids:
        return {}
    members = (
        Membership.objects.filter(organisation_id__in=organisation_ids, role__in=RECEIVING_ROLES)
        .select_related("user")
        .order_by("organisation_id", "pk")
    )
    preferences = {
        (p.user_id, p.organisation_id): p
        for p in NotificationPreference.objects.filter(organisation_id__in=organisation_ids)
    }
    found: dict[int, list[Recipient]] = {}
    for membership in members:
        user = membership.user
        if not user.is_active:
            continue
        recipients = found.setdefault(membership.organisation_id, [])
        name = user.full_name or user.email
        recipients.append(Recipient(Channel.IN_APP, f"user:{user.pk}", name, user_id=user.pk))
        preference = preferences.get((user.pk, membership.organisation_id))
        muted = (
            not alert.life_safety
            and preference is not None
            and alert.kind in preference.muted_kinds
        )
        if muted:
            continue
        if user.email and (alert.life_safety or preference is None or preference.email):
            recipients.append(Recipient(Channel.EMAIL, user.email, name, user_id=user.pk))
        if user.phone and (alert.life_safety or preference is None or preference.sms):
            recipients.append(Recipient(Channel.SMS, user.phone, name, user_id=user.pk))
    return found


def _contact_recipients(contacts) -> list[Recipient]:
    recipients = []
    for contact in contacts:
        recipients.append(Recipient(Channel.SMS, contact.phone, contact.name))
        if contact.email:
            recipients.append(Recipient(Channel.EMAIL, contact.email, contact.name))
    return recipients


@dataclass(frozen=True)
class _Desk:
    """A responder covering the unit, with the level of the region it covers it from."""

    responder_id: int
    organisation_id: int
    name: str
    phone: str
    kind: str
    level: str


def _desks(alert: Alert, kinds: set[str]) -> list[_Desk]:
    """The responders of `kinds` covering any region on the unit's path, in one query."""
    if not kinds:
        return []
    rows = (
        Responder.objects.filter(kind__in=kinds, regions__code__in=alert.unit.region.ancestor_codes)
        .order_by("pk")
        .values_list("pk", "organisation_id", "name", "phone", "kind", "regions__level")
    )
    return [_Desk(*row) for row in rows]


def _desk_phones(desks: list[_Desk]) -> list[Recipient]:
    """Each desk by SMS: the contact on the current roster, else the desk phone."""
    if not desks:
        return []
    now = timezone.now()
    on_duty = {
        shift.responder_id: shift
        for shift in DutyShift.objects.filter(
            responder_id__in=[desk.responder_id for desk in desks],
            starts_at__lte=now,
            ends_at__gt=now,
        ).order_by("starts_at")
    }
    recipients = []
    for desk in desks:
        shift = on_duty.get(desk.responder_id)
        if shift is not None:
            name, phone = f"{desk.name} · {shift.contact_name}", shift.contact_phone
        else:
            name, phone = desk.name, desk.phone
        recipients.append(Recipient(Channel.SMS, phone, name, responder_id=desk.responder_id))
    return recipients


LOCAL_LEVELS = {Region.Level.SUBDISTRICT, Region.Level.GRID}
ALL_LEVELS = {Region.Level.CITY, Region.Level.DISTRICT, *LOCAL_LEVELS}


def _responder_targets(alert: Alert, targets: list[str]) -> dict[str, tuple[str, set[str]]]:
    """Each responder target of the step → (the responder kind it names, the region levels
    it covers the unit from)."""
    wanted = {}
    for target in targets:
        if target == Target.RESPONDER and alert.kind in RESPONDER_FOR_KIND:
            wanted[target] = (RESPONDER_FOR_KIND[alert.kind], ALL_LEVELS)
        elif target == Target.OPERATIONS_CENTRE:
            wanted[target] = (Responder.Kind.OPERATIONS_CENTRE, LOCAL_LEVELS)
        elif target == Target.DISTRICT:
            wanted[target] = (Responder.Kind.OPERATIONS_CENTRE, {Region.Level.DISTRICT})
    return wanted


def recipients_for(alert: Alert, targets: list[str]) -> list[Recipient]:
    """The recipients a step's targets name for this alert, each (channel, address) once.
    A fixed number of queries whatever the targets and however many responders cover the
    unit: responders, rosters, members and preferences are each read once."""
    unit = alert.unit
    if alert.severity == Severity.MINOR:
        targets = [target for target in targets if target in UNIT_SIDE]
    wanted = _responder_targets(alert, targets)
    desks = _desks(alert, {kind for kind, _levels in wanted.values()})
    desks_by_target = {}
    for target, (kind, levels) in wanted.items():
        chosen = {d.responder_id: d for d in desks if d.kind == kind and d.level in levels}
        desks_by_target[target] = list(chosen.values())
    phones = {
        r.responder_id: r for r in _desk_phones([d for ds in desks_by_target.values() for d in ds])
    }

    organisations = {desk.organisation_id for ds in desks_by_target.values() for desk in ds}
    if Target.UNIT in targets:
        organisations.add(unit.organisation_id)
    if Target.PARENT_UNIT in targets and unit.parent_id:
        organisations.add(unit.parent.organisation_id)
    members = _users_of(organisations, alert)
    contacts = (
        list(unit.contacts.order_by("position"))
        if {Target.UNIT, Target.UNIT_BACKUP} & set(targets)
        else []
    )

    found: list[Recipient] = []
    for target in targets:
        if target == Target.UNIT:
            found += members.get(unit.organisation_id, []) + _contact_recipients(contacts[:1])
        elif target == Target.UNIT_BACKUP:
            found += _contact_recipients(contacts[1:])
        elif target == Target.PARENT_UNIT and unit.parent_id:
            found += members.get(unit.parent.organisation_id, [])
        elif target in desks_by_target:
            for desk in desks_by_target[target]:
                found.append(phones[desk.responder_id])
                found += [  # the responder's members see it in their console
                    Recipient(
                        r.channel,
                        r.address,
                        r.name,
                        user_id=r.user_id,
                        responder_id=desk.responder_id,
                    )
                    for r in members.get(desk.organisation_id, [])
                    if r.channel == Channel.IN_APP
                ]
        elif target == Target.CITY_PLATFORM:
            found += [
                Recipient(Channel.WEBHOOK, endpoint.url, endpoint.name)
                for endpoint in WebhookEndpoint.objects.filter(
                    active=True, region__code__in=unit.region.ancestor_codes
                ).order_by("pk")
            ]
    unique: dict[tuple[str, str], Recipient] = {}
    for recipient in found:
        unique.setdefault((recipient.channel, recipient.address), recipient)
    return list(unique.values())


# Steps --------------------------------------------------------------------------------------


def _write_step(alert: Alert, step: EscalationStep, now: datetime) -> list[int]:
    recipients = recipients_for(alert, step.targets)
    rows = Notification.objects.bulk_create(
        Notification(
            alert=alert,
            step=step.position,
            channel=recipient.channel,
            user_id=recipient.user_id,
            responder_id=recipient.responder_id,
            recipient=recipient.name[:200],
            address=recipient.address[:300],
            idempotency_key=f"{alert.public_id}:{step.position}:{recipient.channel}:"
            f"{recipient.address}"[:200],
            created_at=now,
            next_attempt_at=now,
        )
        for recipient in recipients
    )
    names = sorted({recipient.name for recipient in recipients})
    AlertEntry.objects.create(
        alert=alert,
        at=now,
        action=AlertEntry.Action.NOTIFIED if step.position == 0 else AlertEntry.Action.ESCALATED,
        note=(
            ngettext(
                "Step %(step)s: %(count)s message to %(names)s",
                "Step %(step)s: %(count)s messages to %(names)s",
                len(rows),
            )
            % {"step": step.position, "count": len(rows), "names": ", ".join(names)}
        )[:500],
    )
    return [row.pk for row in rows]


def _next_step_at(alert: Alert, steps: list[EscalationStep], position: int) -> datetime | None:
    """When step `position` is due; None when there is none (or the alert is minor)."""
    if position >= len(steps) or (position > 0 and alert.severity == Severity.MINOR):
        return None
    return alert.raised_at + timedelta(seconds=steps[position].delay_s)


def alert_first_step(
    *, alert: Alert, now: datetime, policies: list[EscalationPolicy] | None = None
) -> list[int]:
    """For a newly raised alert, in its raising transaction: pick its policy, write step 0
    and schedule step 1. Returns the notification ids to send after commit."""
    policy = policy_for(alert, policies=policies)
    steps = _steps(policy)
    ids = _write_step(alert, steps[0], now) if steps else []
    Alert.objects.filter(pk=alert.pk).update(
        policy=policy, next_step=1, next_step_at=_next_step_at(alert, steps, 1)
    )
    return ids


def escalations_run(*, now: datetime | None = None, limit: int = 500) -> int:
    """Fire the steps that are due, each in its own transaction. Alerts raised by a sweep
    arrive here at step 0 (their policy not yet chosen)."""
    from alerts.services.delivery import notifications_dispatch

    now = now or timezone.now()
    due = list(
        Alert.objects.filter(next_step_at__lte=now, status=Alert.Status.OPEN)
        .order_by("next_step_at")
        .values_list("pk", "next_step")[:limit]
    )
    fired = 0
    policies = policies_all() if due else []
    for pk, position in due:
        with transaction.atomic():
            claimed = Alert.objects.filter(
                pk=pk, next_step=position, next_step_at__lte=now, status=Alert.Status.OPEN
            ).update(next_step=F("next_step") + 1, next_step_at=None)
            if not claimed:
                continue  # acknowledged meanwhile, or another tick took it
            alert = Alert.objects.select_related("unit__region", "unit__parent").get(pk=pk)
            policy = next((p for p in policies if p.pk == alert.policy_id), None) or policy_for(
                alert, policies=policies
            )
            steps = _steps(policy)
            ids = _write_step(alert, steps[position], now) if position < len(steps) else []
            Alert.objects.filter(pk=pk).update(
                policy=policy, next_step_at=_next_step_at(alert, steps, position + 1)
            )
            if ids:
                transaction.on_commit(lambda ids=ids: notifications_dispatch(ids))
            fired += 1
    return fired
