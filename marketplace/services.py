"""Every write in the marketplace: standards, vendors, device models, solutions, and the
certification workflow of DESIGN §4.

Status changes go through `_transition`, which claims the row with a conditional UPDATE
(only from the statuses the transition allows), writes the immutable RevisionTransition and
an audit entry, and tells the vendor after commit. Two reviewers deciding at once: one wins,
the other gets a clear error.
"""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organisation, User
from accounts.services import audit_record, membership_require
from marketplace.models import (
    AcquisitionMode,
    BomLine,
    DeviceModel,
    ReferenceStandard,
    Requirement,
    RequirementVerdict,
    Review,
    RevisionTransition,
    Scenario,
    Solution,
    SolutionRevision,
    TierBand,
    Vendor,
)
from marketplace.templatetags.money import yuan

Status = SolutionRevision.Status
CERTIFICATE_VALID_DAYS = 3 * 365

REVISION_FIELDS = [
    "name",
    "name_en",
    "description",
    "description_en",
    "purchase_price",
    "installation_fee",
    "lease_monthly_fee",
    "lease_min_months",
    "lease_deposit",
    "lease_buyout_price",
    "monitoring_fee",
    "warranty_months",
    "repair_sla_hours",
]


def _authority_member(*, by: User, authority: Organisation | None = None) -> Organisation:
    """The authority organisation `by` reviews for (staff and above)."""
    memberships = Membership.objects.filter(
        user=by, organisation__kind=Organisation.Kind.AUTHORITY
    ).exclude(role=Membership.Role.VIEWER)
    if authority is not None:
        memberships = memberships.filter(organisation=authority)
    membership = memberships.select_related("organisation").first()
    if membership is None:
        raise PermissionDenied("Only an authority's reviewers do this")
    return membership.organisation


# Reference standards -------------------------------------------------------------------------


@transaction.atomic
def standard_create(
    *,
    scenario: Scenario,
    authority: Organisation,
    by: User,
    title: str,
    title_en: str,
    allowed_modes: list[str],
    monitoring_fee_min: int,
    monitoring_fee_max: int,
) -> ReferenceStandard:
    _authority_member(by=by, authority=authority)
    last = scenario.standards.order_by("-version").values_list("version", flat=True).first()
    if not allowed_modes or set(allowed_modes) - set(AcquisitionMode.values):
        raise ValidationError({"allowed_modes": _("Choose purchase, lease or both.")})
    if monitoring_fee_max < monitoring_fee_min:
        raise ValidationError({"monitoring_fee_max": _("The ceiling must not be below the floor.")})
    standard = ReferenceStandard(
        scenario=scenario,
        version=(last or 0) + 1,
        authority=authority,
        title=title,
        title_en=title_en,
        allowed_modes=sorted(set(allowed_modes)),
        monitoring_fee_min=monitoring_fee_min,
        monitoring_fee_max=monitoring_fee_max,
    )
    standard.full_clean()
    standard.save()
    audit_record(actor=by, action="standard.create", target=standard, organisation=authority)
    return standard


def _editable_standard(standard: ReferenceStandard, by: User) -> None:
    _authority_member(by=by, authority=standard.authority)
    if standard.status != ReferenceStandard.Status.DRAFT:
        raise ValidationError(_("A published or retired standard cannot be changed."))


@transaction.atomic
def standard_requirement_add(
    *,
    standard: ReferenceStandard,
    by: User,
    code: str,
    text: str,
    text_en: str,
    kind: str,
    tiers: list[str],
    threshold=None,
    threshold_unit: str = "",
) -> Requirement:
    _editable_standard(standard, by)
    if kind == Requirement.Kind.PERFORMANCE and threshold is None:
        raise ValidationError({"threshold": _("A performance requirement needs a threshold.")})
    if not tiers:
        raise ValidationError({"tiers": _("Choose the tiers that must meet it.")})
    if standard.requirements.filter(code=code).exists():
        raise ValidationError(
            {"code": _("This standard already has a requirement %(code)s.") % {"code": code}}
        )
    requirement = Requirement(
        standard=standard,
        code=code,
        text=text,
        text_en=text_en,
        kind=kind,
        tiers=sorted(set(tiers)),
        threshold=threshold,
        threshold_unit=threshold_unit,
        position=standard.requirements.count() + 1,
    )
    requirement.full_clean()
    requirement.save()
    return requirement


@transaction.atomic
def standard_update(
    *,
    standard: ReferenceStandard,
    by: User,
    title: str,
    title_en: str,
    allowed_modes: list[str],
    monitoring_fee_min: int,
    monitoring_fee_max: int,
) -> ReferenceStandard:
    """Change a draft's titles, acquisition modes and monitoring-fee band (set at creation,
    corrected before publishing)."""
    _editable_standard(standard, by)
    if not allowed_modes or set(allowed_modes) - set(AcquisitionMode.values):
        raise ValidationError({"allowed_modes": _("Choose purchase, lease or both.")})
    if monitoring_fee_max < monitoring_fee_min:
        raise ValidationError({"monitoring_fee_max": _("The ceiling must not be below the floor.")})
    standard.title = title
    standard.title_en = title_en
    standard.allowed_modes = sorted(set(allowed_modes))
    standard.monitoring_fee_min = monitoring_fee_min
    standard.monitoring_fee_max = monitoring_fee_max
    standard.full_clean()
    standard.save()
    audit_record(
        actor=by, action="standard.update", target=standard, organisation=standard.authority
    )
    return standard


@transaction.atomic
def standard_band_set(
    *, standard: ReferenceStandard, by: User, tier: str, price_min: int, price_max: int
) -> TierBand:
    _editable_standard(standard, by)
    if price_max < price_min:
        raise ValidationError({"price_max": _("The ceiling must not be below the floor.")})
    band, _created = TierBand.objects.update_or_create(
        standard=standard, tier=tier, defaults={"price_min": price_min, "price_max": price_max}
    )
    return band


@transaction.atomic
def standard_publish(*, standard: ReferenceStandard, by: User) -> ReferenceStandard:
    """Publish this version and retire the previous one. Certificates issued under the old
    version stay valid until they expire."""
    _editable_standard(standard, by)
    if not standard.requirements.exists():
        raise ValidationError(_("Add at least one requirement before publishing."))
    missing = {t for t, _label in TierBand._meta.get_field("tier").choices} - set(
        standard.bands.values_list("tier", flat=True)
    )
    if missing:
        raise ValidationError(_("Set a price band for every tier before publishing."))
    now = timezone.now()
    ReferenceStandard.objects.filter(
        scenario=standard.scenario, status=ReferenceStandard.Status.PUBLISHED
    ).update(status=ReferenceStandard.Status.RETIRED, retired_at=now)
    standard.status = ReferenceStandard.Status.PUBLISHED
    standard.published_at = now
    standard.save(update_fields=["status", "published_at"])
    audit_record(
        actor=by, action="standard.publish", target=standard, organisation=standard.authority
    )
    return standard


# Vendors and device models -------------------------------------------------------------------


@transaction.atomic
def vendor_profile_save(*, organisation: Organisation, by: User, **fields) -> Vendor:
    if organisation.kind != Organisation.Kind.VENDOR:
        raise ValidationError(_("Only a vendor organisation has a vendor profile."))
    membership_require(organisation=organisation, user=by, manage=True)
    vendor = Vendor.objects.filter(organisation=organisation).first() or Vendor(
        organisation=organisation
    )
    for field, value in fields.items():
        setattr(vendor, field, value)
    vendor.full_clean()
    vendor.save()
    audit_record(actor=by, action="vendor.save", target=vendor, organisation=organisation)
    return vendor


@transaction.atomic
def device_model_save(
    *, vendor: Vendor, by: User, device_model: DeviceModel | None = None, scenarios=None, **fields
) -> DeviceModel:
    membership_require(organisation=vendor.organisation, user=by, manage=False)
    device_model = device_model or DeviceModel(vendor=vendor)
    if device_model.vendor_id != vendor.pk:
        raise PermissionDenied("Not this vendor's device model")
    for field, value in fields.items():
        setattr(device_model, field, value)
    _validate_metrics(device_model.metrics)
    device_model.full_clean()
    device_model.save()
    if scenarios is not None:
        device_model.scenarios.set(scenarios)
    audit_record(
        actor=by, action="device_model.save", target=device_model, organisation=vendor.organisation
    )
    return device_model


def _validate_metrics(metrics) -> None:
    if not isinstance(metrics, list):
        raise ValidationError({"metrics": _("List the metrics as name, unit, min and max.")})
    for metric in metrics:
        if not isinstance(metric, dict) or not metric.get("name"):
            raise ValidationError({"metrics": _("Every metric needs a name.")})
        low, high = metric.get("min"), metric.get("max")
        if low is not None and high is not None and low > high:
            raise ValidationError(
                {
                    "metrics": _("%(name)s: the minimum is above the maximum.")
                    % {"name": metric["name"]}
                }
            )


# Solutions and revisions ---------------------------------------------------------------------


@transaction.atomic
def solution_create(
    *, vendor: Vendor, by: User, scenario: Scenario, tier: str, bom=(), **revision_fields
) -> SolutionRevision:
    """A new solution and its first revision, as a draft."""
    membership_require(organisation=vendor.organisation, user=by, manage=False)
    solution = Solution(vendor=vendor, scenario=scenario, tier=tier)
    solution.full_clean()
    solution.save()
    revision = SolutionRevision(solution=solution, number=1)
    _revision_apply(revision, revision_fields)
    revision.save()
    revision_bom_set(revision=revision, by=by, lines=bom)
    _record(revision, "", Status.DRAFT, by, "")
    return revision


def _revision_apply(revision: SolutionRevision, fields: dict) -> None:
    unknown = set(fields) - set(REVISION_FIELDS)
    if unknown:
        raise TypeError(f"unexpected revision fields {sorted(unknown)}")
    for field, value in fields.items():
        setattr(revision, field, value)
    lease = [revision.lease_monthly_fee, revision.lease_min_months, revision.lease_deposit]
    if any(value is not None for value in lease) and not all(v is not None for v in lease):
        raise ValidationError(
            {"lease_monthly_fee": _("A lease needs a monthly fee, a minimum term and a deposit.")}
        )
    revision.full_clean(exclude=["solution", "standard"])


@transaction.atomic
def revision_update(*, revision: SolutionRevision, by: User, **fields) -> SolutionRevision:
    membership_require(organisation=revision.solution.vendor.organisation, user=by, manage=False)
    if not revision.is_editable:
        raise ValidationError(
            _("Revision %(number)s is %(status)s and cannot be edited; start a new revision.")
            % {"number": revision.number, "status": revision.get_status_display()}
        )
    _revision_apply(revision, fields)
    revision.save()
    audit_record(
        actor=by,
        action="revision.update",
        target=revision,
        organisation=revision.solution.vendor.organisation,
    )
    return revision


@transaction.atomic
def revision_bom_set(*, revision: SolutionRevision, by: User, lines) -> list[BomLine]:
    """Replace the bill of materials. `lines`: dicts of device_model, rule, quantity,
    area_step_m2. Only the vendor's own device models may appear."""
    membership_require(organisation=revision.solution.vendor.organisation, user=by, manage=False)
    if not revision.is_editable:
        raise ValidationError(_("Only a draft's bill of materials can be changed."))
    built = []
    for line in lines:
        bom_line = BomLine(revision=revision, **line)
        if bom_line.device_model.vendor_id != revision.solution.vendor_id:
            raise ValidationError({"bom": _("Use your own device models only.")})
        if bom_line.rule == BomLine.Rule.PER_AREA and not bom_line.area_step_m2:
            raise ValidationError({"bom": _("A per-area rule needs the N in “per N m²”.")})
        bom_line.full_clean(exclude=["revision"])
        built.append(bom_line)
    revision.bom.all().delete()
    return BomLine.objects.bulk_create(built)


@transaction.atomic
def revision_edit(*, revision: SolutionRevision, by: User, bom=None, **fields) -> SolutionRevision:
    """A draft's fields and (when given) its bill of materials, saved together or not at all:
    the edit form and the API's PATCH change both in one go."""
    revision = revision_update(revision=revision, by=by, **fields)
    if bom is not None:
        revision_bom_set(revision=revision, by=by, lines=bom)
    return revision


@transaction.atomic
def revision_new_draft(*, solution: Solution, by: User) -> SolutionRevision:
    """Editing a certified solution: copy its latest revision into a new draft, which must be
    certified again. The certified one stays on the catalog meanwhile."""
    membership_require(organisation=solution.vendor.organisation, user=by, manage=False)
    latest = solution.revisions.order_by("-number").first()
    if latest.is_editable or latest.status in (Status.SUBMITTED, Status.IN_REVIEW):
        raise ValidationError(
            _("Revision %(number)s is still open; edit or withdraw it first.")
            % {"number": latest.number}
        )
    draft = SolutionRevision(solution=solution, number=latest.number + 1)
    _revision_apply(draft, {field: getattr(latest, field) for field in REVISION_FIELDS})
    draft.save()
    BomLine.objects.bulk_create(
        [
            BomLine(
                revision=draft,
                device_model_id=line.device_model_id,
                rule=line.rule,
                quantity=line.quantity,
                area_step_m2=line.area_step_m2,
            )
            for line in latest.bom.all()
        ]
    )
    _record(
        draft, "", Status.DRAFT, by, _("New revision of r%(number)s") % {"number": latest.number}
    )
    return draft


# Transitions ---------------------------------------------------------------------------------


def _record(revision, from_status, to_status, by, reason) -> None:
    RevisionTransition.objects.create(
        revision=revision, from_status=from_status, to_status=to_status, by=by, reason=reason
    )
    audit_record(
        actor=by,
        action=f"revision.{to_status}",
        target=revision,
        organisation=revision.solution.vendor.organisation,
        changes={"from": from_status, "to": to_status, "reason": reason},
    )


def _transition(
    revision: SolutionRevision,
    *,
    to: str,
    allowed_from: set[str],
    by: User | None,
    reason: str = "",
    **fields,
) -> SolutionRevision:
    """Claim the revision with a conditional UPDATE and record the change."""
    claimed = SolutionRevision.objects.filter(pk=revision.pk, status__in=allowed_from).update(
        status=to, **fields
    )
    if claimed != 1:
        current = SolutionRevision.objects.filter(pk=revision.pk).values_list("status", flat=True)
        raise ValidationError(
            _("A revision that is %(status)s cannot become %(to)s.")
            % {"status": Status(current.first()).label, "to": Status(to).label}
        )
    from_status = revision.status
    revision.refresh_from_db()
    _record(revision, from_status, to, by, reason)
    transaction.on_commit(lambda: _notify_vendor(revision.pk, to, reason))
    return revision


# Statuses that take a solution off the catalog: units that bought it are told as well.
WITHDRAWN = {Status.SUSPENDED, Status.REVOKED, Status.EXPIRED}


def _notify_vendor(revision_id: int, status: str, reason: str) -> None:
    from celery import current_app

    from marketplace.tasks import revision_status_notify

    revision_status_notify.delay(revision_id)
    if status in WITHDRAWN:
        # Billing sits above the marketplace and knows the buyers: sent by name, no import.
        current_app.send_task("billing.tasks.revision_buyers_notify", args=[revision_id])


def revision_submit(*, revision: SolutionRevision, by: User) -> SolutionRevision:
    with transaction.atomic():
        membership_require(
            organisation=revision.solution.vendor.organisation, user=by, manage=False
        )
        standard = ReferenceStandard.objects.filter(
            scenario=revision.solution.scenario, status=ReferenceStandard.Status.PUBLISHED
        ).first()
        if standard is None:
            raise ValidationError(
                _("There is no published reference standard for this scenario yet.")
            )
        if not revision.bom.exists():
            raise ValidationError({"bom": _("Add at least one device to the bill of materials.")})
        if revision.offers_lease and AcquisitionMode.LEASE not in standard.allowed_modes:
            raise ValidationError(
                {"lease_monthly_fee": _("The reference standard does not allow leasing.")}
            )
        return _transition(
            revision,
            to=Status.SUBMITTED,
            allowed_from=SolutionRevision.EDITABLE,
            by=by,
            standard=standard,
            submitted_at=timezone.now(),
        )


@transaction.atomic
def review_start(*, revision: SolutionRevision, by: User) -> Review:
    authority = _authority_member(by=by)
    if revision.solution.vendor.organisation.memberships.filter(user=by).exists():
        raise PermissionDenied("No one reviews their own organisation's solution")
    _transition(revision, to=Status.IN_REVIEW, allowed_from={Status.SUBMITTED}, by=by)
    # A revision sent back for changes and resubmitted is reviewed again on the same checklist:
    # the earlier verdicts stay (not-met ones still block), the earlier decision is cleared
    # (it stays in the revision's transitions).
    review, _created = Review.objects.update_or_create(
        revision=revision,
        defaults={
            "reviewer": by,
            "authority": authority,
            "started_at": timezone.now(),
            "decision": "",
            "reasons": "",
            "decided_at": None,
        },
    )
    return review


@transaction.atomic
def review_verdict_set(
    *,
    review: Review,
    by: User,
    requirement: Requirement,
    verdict: str,
    note: str = "",
    evidence=None,
) -> RequirementVerdict:
    _reviewer_of(review, by)
    if requirement.standard_id != review.revision.standard_id:
        raise ValidationError({"requirement": _("That requirement is not in this standard.")})
    if verdict == RequirementVerdict.Verdict.NOT_MET and not note.strip():
        raise ValidationError({"note": _("Say why the requirement is not met.")})
    defaults = {"verdict": verdict, "note": note}
    if evidence is not None:
        defaults["evidence"] = evidence
    row, _created = RequirementVerdict.objects.update_or_create(
        review=review, requirement=requirement, defaults=defaults
    )
    row.full_clean()
    return row


def _reviewer_of(review: Review, by: User) -> None:
    _authority_member(by=by, authority=review.authority)
    if review.decided_at is not None:
        raise ValidationError(_("This review has been decided."))
    if review.revision.status != Status.IN_REVIEW:
        raise ValidationError(_("This revision is not in review."))


def certification_problems(revision: SolutionRevision, review: Review) -> list[str]:
    """Why this revision cannot be certified yet (empty when it can)."""
    problems = []
    standard = revision.standard
    required = [r for r in standard.requirements.all() if revision.solution.tier in r.tiers]
    verdicts = {v.requirement_id: v.verdict for v in review.verdicts.all()}
    unchecked = [r.code for r in required if r.pk not in verdicts]
    if unchecked:
        problems.append(
            _("Requirements without a verdict: %(codes)s.") % {"codes": ", ".join(unchecked)}
        )
    not_met = [r.code for r in required if verdicts.get(r.pk) == RequirementVerdict.Verdict.NOT_MET]
    if not_met:
        problems.append(_("Requirements not met: %(codes)s.") % {"codes": ", ".join(not_met)})
    band = standard.bands.filter(tier=revision.solution.tier).first()
    if band and not band.price_min <= revision.purchase_price <= band.price_max:
        problems.append(
            _("The purchase price %(price)s is outside the %(tier)s band %(low)s–%(high)s.")
            % {
                "price": yuan(revision.purchase_price),
                "tier": revision.solution.get_tier_display(),
                "low": yuan(band.price_min),
                "high": yuan(band.price_max),
            }
        )
    if not standard.monitoring_fee_min <= revision.monitoring_fee <= standard.monitoring_fee_max:
        problems.append(
            _("The monitoring fee %(fee)s is outside the band %(low)s–%(high)s.")
            % {
                "fee": yuan(revision.monitoring_fee),
                "low": yuan(standard.monitoring_fee_min),
                "high": yuan(standard.monitoring_fee_max),
            }
        )
    return problems


def review_decide(
    *, review: Review, by: User, decision: str, reasons: str, today: date | None = None
) -> SolutionRevision:
    with transaction.atomic():
        _reviewer_of(review, by)
        revision = review.revision
        if not reasons.strip() and decision != Review.Decision.CERTIFY:
            raise ValidationError({"reasons": _("Give the vendor your reasons.")})
        if decision == Review.Decision.CERTIFY:
            problems = certification_problems(revision, review)
            if problems:
                raise ValidationError({"decision": problems})
            today = today or timezone.localdate()
            revision = _certify(revision, by=by, reasons=reasons, today=today)
        elif decision == Review.Decision.CHANGES_REQUESTED:
            revision = _transition(
                revision,
                to=Status.CHANGES_REQUESTED,
                allowed_from={Status.IN_REVIEW},
                by=by,
                reason=reasons,
            )
        elif decision == Review.Decision.REJECT:
            revision = _transition(
                revision, to=Status.REJECTED, allowed_from={Status.IN_REVIEW}, by=by, reason=reasons
            )
        else:
            raise ValidationError({"decision": _("Choose certify, request changes or reject.")})
        review.decision = decision
        review.reasons = reasons
        review.decided_at = timezone.now()
        review.save(update_fields=["decision", "reasons", "decided_at"])
        return revision


def _certify(revision: SolutionRevision, *, by: User, reasons: str, today: date):
    previous = (
        SolutionRevision.objects.filter(solution=revision.solution, status=Status.CERTIFIED)
        .exclude(pk=revision.pk)
        .first()
    )
    if previous is not None:
        _transition(
            previous,
            to=Status.SUPERSEDED,
            allowed_from={Status.CERTIFIED},
            by=by,
            reason=_("Superseded by revision %(number)s") % {"number": revision.number},
        )
    return _transition(
        revision,
        to=Status.CERTIFIED,
        allowed_from={Status.IN_REVIEW},
        by=by,
        reason=reasons,
        certificate_number=_certificate_number(revision, today),
        valid_from=today,
        valid_until=today + timedelta(days=CERTIFICATE_VALID_DAYS),
    )


def _certificate_number(revision: SolutionRevision, today: date) -> str:
    """Human-friendly and unique: SU-2026-FIRE-000042."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('marketplace_certificate_seq')")
        (sequence,) = cursor.fetchone()
    return f"SU-{today.year}-{revision.solution.scenario.code.upper()}-{sequence:06d}"


def certificate_suspend(*, revision: SolutionRevision, by: User, reason: str):
    return _authority_change(revision, by, reason, to=Status.SUSPENDED, allowed={Status.CERTIFIED})


def certificate_reinstate(*, revision: SolutionRevision, by: User, reason: str):
    return _authority_change(revision, by, reason, to=Status.CERTIFIED, allowed={Status.SUSPENDED})


def certificate_revoke(*, revision: SolutionRevision, by: User, reason: str):
    return _authority_change(
        revision, by, reason, to=Status.REVOKED, allowed={Status.CERTIFIED, Status.SUSPENDED}
    )


@transaction.atomic
def _authority_change(revision, by, reason, *, to, allowed):
    _authority_member(by=by)
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason; the vendor and its buyers are told.")})
    return _transition(revision, to=to, allowed_from=allowed, by=by, reason=reason)


@transaction.atomic
def certificates_expire(*, today: date | None = None) -> int:
    """Beat: certified or suspended revisions past `valid_until` expire (one row at a time,
    each claimed by a conditional UPDATE, so concurrent runs never double-record)."""
    today = today or timezone.localdate()
    due = SolutionRevision.objects.filter(
        status__in=[Status.CERTIFIED, Status.SUSPENDED], valid_until__lt=today
    )
    expired = 0
    for revision in due.select_related("solution__vendor__organisation"):
        try:
            _transition(
                revision,
                to=Status.EXPIRED,
                allowed_from={Status.CERTIFIED, Status.SUSPENDED},
                by=None,
                reason=_("Validity ended on %(date)s") % {"date": revision.valid_until},
            )
        except ValidationError:
            continue  # another sweep got there first
        expired += 1
    return expired
