"""Every write in oversight: coverage programmes (declared by an authority's reviewers) and
the reminders beat sends about them. The coverage maths is in oversight.coverage.

A programme says "every unit of kind K in region R covers scenario S by date D"; R lies inside
the authority's own region, K is a kind S applies to, D is in the future. Reminders go to the
owners and managers of uncovered units' organisations 30, 7 and 1 day(s) before D, and one
report to the authority's members after it. Each is claimed by inserting its ProgrammeNotice
row (unique per programme, unit and kind), so two concurrent beat passes never send twice;
the e-mails leave after the commit, from a task, each in the language its reader saved.
"""

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.mail import Email, email_send_per_language
from accounts.models import User
from accounts.selectors import managers_by_organisation
from accounts.services import audit_record, membership_require
from marketplace.models import Scenario
from oversight import selectors
from oversight.models import CoverageProgramme, ProgrammeNotice, UnitCoverage
from units.models import Authority, Region, Unit

NoticeKind = ProgrammeNotice.Kind
PROGRAMME_FIELDS = ("name", "region", "unit_kind", "scenario", "deadline")
# Days before the deadline at which each reminder is due, latest first: a unit that comes into
# scope late (or a beat that missed a day) gets the reminder due now, not the ones it missed.
REMINDERS = [(1, NoticeKind.REMINDER_1), (7, NoticeKind.REMINDER_7), (30, NoticeKind.REMINDER_30)]
REMINDER_WINDOW_DAYS = REMINDERS[-1][0]


# Programmes ----------------------------------------------------------------------------------


def _require_reviewer(*, authority: Authority, by: User) -> None:
    """Staff and above of the authority declare programmes; a viewer only reads (403)."""
    membership_require(organisation=authority.organisation, user=by, manage=False)


def _validate(
    *,
    authority: Authority,
    name: str,
    region: Region,
    unit_kind: str,
    scenario: Scenario,
    deadline: date,
    check_deadline: bool = True,
) -> None:
    errors = {}
    if not name.strip():
        errors["name"] = _("Give the programme a name.")
    if not region.path.startswith(authority.region.path):
        errors["region"] = _("Choose a region inside %(region)s.") % {
            "region": authority.region.name
        }
    if unit_kind not in Unit.Kind.values:
        errors["unit_kind"] = _("Choose a valid unit kind.")
    elif unit_kind not in scenario.unit_kinds:
        errors["unit_kind"] = _("%(scenario)s does not apply to this kind of unit.") % {
            "scenario": scenario.name
        }
    if check_deadline and deadline <= timezone.localdate():
        errors["deadline"] = _("The deadline must be in the future.")
    if errors:
        raise ValidationError(errors)


def _snapshot(programme: CoverageProgramme) -> dict:
    return {
        "name": programme.name,
        "region": programme.region.code,
        "unit_kind": programme.unit_kind,
        "scenario": programme.scenario.code,
        "deadline": programme.deadline.isoformat(),
    }


@transaction.atomic
def programme_create(
    *,
    authority: Authority,
    by: User,
    name: str,
    region: Region,
    unit_kind: str,
    scenario: Scenario,
    deadline: date,
) -> CoverageProgramme:
    _require_reviewer(authority=authority, by=by)
    _validate(
        authority=authority,
        name=name,
        region=region,
        unit_kind=unit_kind,
        scenario=scenario,
        deadline=deadline,
    )
    programme = CoverageProgramme.objects.create(
        authority=authority,
        name=name.strip(),
        region=region,
        unit_kind=unit_kind,
        scenario=scenario,
        deadline=deadline,
        created_by=by,
    )
    audit_record(
        actor=by,
        action="programme.create",
        target=programme,
        organisation=authority.organisation,
        changes=_snapshot(programme),
    )
    return programme


@transaction.atomic
def programme_update(*, programme: CoverageProgramme, by: User, **changes) -> CoverageProgramme:
    """Change any of name, region, unit kind, scenario and deadline. A moved deadline must be
    in the future, and the reminders start over from it (the notices already sent are
    forgotten), so units are told the date that now holds."""
    unknown = set(changes) - set(PROGRAMME_FIELDS)
    if unknown:
        raise TypeError(f"programme_update() got unexpected fields {sorted(unknown)}")
    _require_reviewer(authority=programme.authority, by=by)
    fields = {field: changes.get(field, getattr(programme, field)) for field in PROGRAMME_FIELDS}
    deadline_moved = fields["deadline"] != programme.deadline
    _validate(authority=programme.authority, check_deadline=deadline_moved, **fields)
    before = _snapshot(programme)
    for field, value in fields.items():
        setattr(programme, field, value.strip() if field == "name" else value)
    programme.save(update_fields=list(PROGRAMME_FIELDS))
    if deadline_moved:
        programme.notices.all().delete()
    after = _snapshot(programme)
    audit_record(
        actor=by,
        action="programme.update",
        target=programme,
        organisation=programme.authority.organisation,
        changes={key: [before[key], after[key]] for key in after if before[key] != after[key]},
    )
    return programme


@transaction.atomic
def programme_delete(*, programme: CoverageProgramme, by: User) -> None:
    _require_reviewer(authority=programme.authority, by=by)
    audit_record(
        actor=by,
        action="programme.delete",
        target=programme,
        organisation=programme.authority.organisation,
        changes=_snapshot(programme),
    )
    programme.delete()


# Reminders and the report after the deadline ---------------------------------------------------


def reminder_due(days_left: int) -> str | None:
    """The reminder due with `days_left` days to the deadline (None after it or too early)."""
    if days_left < 0:
        return None
    for days, kind in REMINDERS:
        if days_left <= days:
            return kind
    return None


_CLAIM_REMINDERS = """
    INSERT INTO {notice} (programme_id, unit_id, kind, sent_at)
    SELECT %(programme)s, u.id, %(kind)s, %(now)s
    FROM {unit} u
    JOIN {region} r ON r.id = u.region_id
    JOIN {coverage} uc ON uc.unit_id = u.id AND uc.scenario_id = %(scenario)s
    WHERE u.kind = %(unit_kind)s AND r.path LIKE %(path)s AND NOT uc.covered
    ON CONFLICT DO NOTHING
    RETURNING unit_id
"""


def _claim_reminders(programme: CoverageProgramme, kind: str, now) -> list[int]:
    """Insert the notice of every uncovered unit in scope not told `kind` yet; the ids of the
    units whose row this call inserted (a concurrent pass gets the others)."""
    sql = _CLAIM_REMINDERS.format(
        notice=ProgrammeNotice._meta.db_table,
        unit=Unit._meta.db_table,
        region=Region._meta.db_table,
        coverage=UnitCoverage._meta.db_table,
    )
    params = {
        "programme": programme.pk,
        "kind": kind,
        "now": now,
        "scenario": programme.scenario_id,
        "unit_kind": programme.unit_kind,
        "path": programme.region.path.replace("%", r"\%").replace("_", r"\_") + "%",
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def programmes_remind(*, now=None) -> dict:
    """Beat, daily: the reminders due today for programmes whose deadline is within 30 days,
    and the report of programmes whose deadline has passed. Each programme in a transaction
    of its own; set-based inside it. Returns how many notices were claimed."""
    from oversight import tasks

    now = now or timezone.now()
    today = timezone.localdate(now)
    claimed = {"reminders": 0, "reports": 0}
    upcoming = CoverageProgramme.objects.filter(
        deadline__gte=today, deadline__lte=today + timedelta(days=REMINDER_WINDOW_DAYS)
    ).select_related("region")
    for programme in upcoming:
        kind = reminder_due((programme.deadline - today).days)
        with transaction.atomic():
            unit_ids = _claim_reminders(programme, kind, now)
            if unit_ids:
                transaction.on_commit(
                    lambda p=programme.pk, k=kind, ids=unit_ids: (
                        tasks.programme_reminders_send.delay(p, k, ids)
                    )
                )
        claimed["reminders"] += len(unit_ids)
    overdue = CoverageProgramme.objects.filter(deadline__lt=today).exclude(
        notices__kind=NoticeKind.OVERDUE_REPORT
    )
    for programme_id in overdue.values_list("pk", flat=True):
        with transaction.atomic():
            _notice, created = ProgrammeNotice.objects.get_or_create(
                programme_id=programme_id,
                unit=None,
                kind=NoticeKind.OVERDUE_REPORT,
                defaults={"sent_at": now},
            )
            if created:
                transaction.on_commit(lambda p=programme_id: tasks.programme_report_send.delay(p))
                claimed["reports"] += 1
    return claimed


def requirement_sentence(programme: CoverageProgramme) -> str:
    """ "By 1 March 2026 every shop in 泰康路网格 must have fire safety covered.", in the
    active language."""
    english = (translation.get_language() or "").startswith("en")
    return _("By %(deadline)s every %(kind)s in %(region)s must be covered for %(scenario)s.") % {
        "deadline": programme.deadline.isoformat(),
        "kind": str(Unit.Kind(programme.unit_kind).label).lower(),
        "region": programme.region.display_name("en" if english else None),
        "scenario": (programme.scenario.name_en if english else "") or programme.scenario.name,
    }


def programme_reminders_send(*, programme_id: int, kind: str, unit_ids: list[int]) -> int:
    """One e-mail per organisation, to its owners and managers (one per language they read),
    naming its units that are not covered yet and where to compare the certified options.
    Returns e-mails sent."""
    programme = CoverageProgramme.objects.select_related("region", "scenario").get(pk=programme_id)
    units = Unit.objects.filter(pk__in=unit_ids).order_by("organisation_id", "name", "pk")
    by_organisation: dict[int, list[Unit]] = {}
    for unit in units:
        by_organisation.setdefault(unit.organisation_id, []).append(unit)
    managers = managers_by_organisation(by_organisation)
    days_left = max((programme.deadline - timezone.localdate()).days, 0)

    def compose(org_units: list[Unit]) -> Email:
        subject = ngettext(
            "%(programme)s: %(days)s day left", "%(programme)s: %(days)s days left", days_left
        ) % {"programme": programme.name, "days": days_left}
        lines = [
            requirement_sentence(programme),
            _("Not covered yet:"),
            "\n".join(f"- {unit.name} ({unit.address})" for unit in org_units),
            _(
                "A unit is covered when a device of a certified solution for this scenario "
                "is online and its monitoring is paid. Compare every certified option, at "
                "every tier, on your home page:"
            ),
            settings.SITE_URL + reverse("home"),
        ]
        return Email(subject, "\n\n".join(lines))

    sent = 0
    for organisation_id, org_units in by_organisation.items():
        sent += email_send_per_language(
            recipients=managers.get(organisation_id, []),
            compose=lambda org_units=org_units: compose(org_units),
        )
    return sent


def programme_report_send(*, programme_id: int) -> int:
    """After the deadline, one report to every member of the authority (one per language
    they read): how many units are covered, and the uncovered ones as an attached CSV (the
    same file the programme page exports). Returns e-mails sent."""
    programme = CoverageProgramme.objects.select_related(
        "region", "scenario", "authority__organisation"
    ).get(pk=programme_id)
    members = User.objects.filter(
        memberships__organisation_id=programme.authority.organisation_id
    ).order_by("email")
    progress = selectors.programme_progress(programme=programme)

    def compose() -> Email:
        subject = ngettext(
            "%(programme)s: %(uncovered)s unit still not covered after the deadline",
            "%(programme)s: %(uncovered)s units still not covered after the deadline",
            progress["uncovered"],
        ) % {"programme": programme.name, "uncovered": progress["uncovered"]}
        lines = [
            requirement_sentence(programme),
            ngettext(
                "%(covered)s of %(units)s unit covered (%(pct)s %%).",
                "%(covered)s of %(units)s units covered (%(pct)s %%).",
                progress["units"],
            )
            % progress,
            _("The units still not covered are attached, and listed on the programme's page:"),
            settings.SITE_URL + reverse("oversight:programme", args=[programme.public_id]),
        ]
        csv_text = selectors.programme_uncovered_csv(programme=programme)
        return Email(
            subject,
            "\n\n".join(lines),
            attachments=[(f"uncovered-{programme.public_id}.csv", csv_text, "text/csv")],
        )

    return email_send_per_language(recipients=members.only("email", "language"), compose=compose)
