"""An authority's own escalation policies (issue 6 §3: "seeded and editable by authorities").

The platform seeds a default policy per scenario (alerts.reference_data); an authority may keep
its own for its region, per scenario and unit kind, and `policy_for` prefers it for the alerts
of its units. Only an owner or manager of the authority's organisation writes them; the
platform's defaults (no authority) are read-only here and stay with platform staff.

A policy's steps are replaced as a whole, in the transaction that checks them: an alert
escalating meanwhile reads either the old steps or the new ones, never a mix.
"""

from collections.abc import Iterable, Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record, membership_require
from alerts.models import EscalationPolicy, EscalationStep, Target
from marketplace.models import Scenario
from units.models import Authority, Unit

MAX_STEPS = 10
# Past a week unacknowledged, escalating further tells nobody anything new.
MAX_DELAY_S = 7 * 24 * 3600


def _require_manager(*, authority: Authority | None, by: User) -> None:
    if authority is None:
        raise PermissionDenied("The platform's default policies are kept by platform staff")
    membership_require(organisation=authority.organisation, user=by, manage=True)


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the policy a name.")})
    if len(name) > 200:
        raise ValidationError({"name": _("A name has at most 200 characters.")})
    return name


def _clean_steps(steps: Iterable[Mapping]) -> list[tuple[int, list[str]]]:
    """(delay_s, targets) per step, in order; every problem at once, each naming its step
    the way the alert timeline does (step 0 fires when the alert is raised)."""
    steps = list(steps or [])
    if not steps:
        raise ValidationError({"steps": _("Add at least one step.")})
    if len(steps) > MAX_STEPS:
        raise ValidationError(
            {"steps": _("A policy has at most %(count)s steps.") % {"count": MAX_STEPS}}
        )
    problems: list[str] = []
    cleaned: list[tuple[int, list[str]]] = []
    previous_delay: int | None = None
    for position, step in enumerate(steps):
        delay = step.get("delay_s")
        if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_S:
            problems.append(
                _("Step %(step)s: the delay is a whole number of seconds from 0 to 7 days.")
                % {"step": position}
            )
            delay = None
        elif position == 0 and delay != 0:
            problems.append(
                _("Step 0 is sent as soon as the alert is raised: its delay must be 0.")
            )
        elif previous_delay is not None and delay <= previous_delay:
            problems.append(
                _(
                    "Step %(step)s must come later than step %(previous)s: each step's delay "
                    "must be longer than the one before."
                )
                % {"step": position, "previous": position - 1}
            )
        previous_delay = delay if delay is not None else previous_delay

        targets = step.get("targets") or []
        if isinstance(targets, str):
            targets = [targets]
        unknown = sorted({str(target) for target in targets} - set(Target.values))
        if unknown:
            problems.append(
                _("Step %(step)s: unknown recipients: %(targets)s.")
                % {"step": position, "targets": ", ".join(unknown)}
            )
        elif not targets:
            problems.append(_("Step %(step)s: choose who is told.") % {"step": position})
        # Each target once, in the order of Target (the order the page lists them).
        chosen = set(targets)
        cleaned.append((delay or 0, [target for target in Target.values if target in chosen]))
    if problems:
        raise ValidationError({"steps": problems})
    return cleaned


def _write_steps(policy: EscalationPolicy, steps: list[tuple[int, list[str]]]) -> None:
    policy.steps.all().delete()
    EscalationStep.objects.bulk_create(
        EscalationStep(policy=policy, position=position, delay_s=delay, targets=targets)
        for position, (delay, targets) in enumerate(steps)
    )


def _audit_changes(policy: EscalationPolicy, steps: list[tuple[int, list[str]]]) -> dict:
    return {
        "name": policy.name,
        "scenario": policy.scenario.code if policy.scenario_id else None,
        "unit_kind": policy.unit_kind,
        "steps": [{"delay_s": delay, "targets": targets} for delay, targets in steps],
    }


@transaction.atomic
def policy_create(
    *,
    authority: Authority,
    by: User,
    name: str,
    scenario: Scenario | None,
    unit_kind: str,
    steps: Iterable[Mapping],
) -> EscalationPolicy:
    """A policy of the authority's own for its region, for one scenario and unit kind (each
    blank for any). One per combination: editing the existing one is the way to change it."""
    _require_manager(authority=authority, by=by)
    name = _clean_name(name)
    unit_kind = unit_kind or ""
    if unit_kind and unit_kind not in Unit.Kind.values:
        raise ValidationError({"unit_kind": _("Choose a valid kind of unit.")})
    cleaned_steps = _clean_steps(steps)
    taken = _("Your authority already has a policy for this scenario and kind of unit: edit it.")
    if EscalationPolicy.objects.filter(
        authority=authority, scenario=scenario, unit_kind=unit_kind
    ).exists():
        raise ValidationError({"scenario": taken})
    try:
        with transaction.atomic():  # two managers saving the same combination at once
            policy = EscalationPolicy.objects.create(
                authority=authority, name=name, scenario=scenario, unit_kind=unit_kind
            )
    except IntegrityError:
        raise ValidationError({"scenario": taken}) from None
    _write_steps(policy, cleaned_steps)
    audit_record(
        actor=by,
        action="escalation_policy.create",
        target=policy,
        organisation=authority.organisation,
        changes=_audit_changes(policy, cleaned_steps),
    )
    return policy


@transaction.atomic
def policy_update(
    *, policy: EscalationPolicy, by: User, name: str, steps: Iterable[Mapping]
) -> EscalationPolicy:
    """Rename a policy and replace its steps. What it covers (scenario, unit kind) is fixed:
    a policy for other alerts is another policy."""
    _require_manager(authority=policy.authority, by=by)
    name = _clean_name(name)
    cleaned_steps = _clean_steps(steps)
    # One writer at a time: the steps are deleted and written again under the row's lock.
    policy = EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
    before = _audit_changes(policy, [(step.delay_s, step.targets) for step in policy.steps.all()])
    policy.name = name
    policy.save(update_fields=["name"])
    _write_steps(policy, cleaned_steps)
    audit_record(
        actor=by,
        action="escalation_policy.update",
        target=policy,
        organisation=policy.authority.organisation,
        changes={"from": before, "to": _audit_changes(policy, cleaned_steps)},
    )
    return policy


@transaction.atomic
def policy_delete(*, policy: EscalationPolicy, by: User) -> None:
    """Remove an authority's policy: its alerts fall back to the next most specific one (open
    alerts following it pick that one at their next step)."""
    _require_manager(authority=policy.authority, by=by)
    steps = [(step.delay_s, step.targets) for step in policy.steps.all()]
    audit_record(
        actor=by,
        action="escalation_policy.delete",
        target=policy,
        organisation=policy.authority.organisation,
        changes=_audit_changes(policy, steps),
    )
    policy.delete()
