"""Every read of alerts scoped to a user (DESIGN §5): an alert follows its unit. Members of the
unit's organisation, the office of the park it is in, the authority over its region and the
responders covering it see it; anyone else gets 404."""

from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import Permission
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Membership, Organisation, User
from alerts.models import (
    SEVERITY_RANK,
    Alert,
    AlertEntry,
    EscalationPolicy,
    EscalationStep,
    Notification,
    NotificationPreference,
)
from units.models import Authority, Responder, Unit, UnitGroupObjectPermission
from units.selectors import _granted_unit_ids

ACTING_ROLES = (Membership.Role.OWNER, Membership.Role.MANAGER, Membership.Role.STAFF)


def alert_list_for(*, user: User) -> QuerySet[Alert]:
    member_of = Membership.objects.filter(user=user).values("organisation_id")
    return Alert.objects.filter(
        Q(unit__organisation_id__in=member_of)
        | Q(unit_id__in=_granted_unit_ids(user=user, codename="view_unit"))
    )


def alert_get_for(*, user: User, public_id) -> Alert:
    return get_object_or_404(
        alert_list_for(user=user).select_related(
            "device__device_model", "unit__region", "unit__parent", "region", "scenario"
        ),
        public_id=public_id,
    )


def alert_can_act(*, user: User, alert: Alert) -> bool:
    """Who may acknowledge, dispatch, resolve or write a note: a non-viewer member of the unit's
    organisation or of the park office above it, or of a responder covering the unit.
    Authorities watch; they do not handle. (The rule itself is _may_act_condition.)"""
    return Alert.objects.filter(_may_act_condition(user=user), pk=alert.pk).exists()


# Pages and API ------------------------------------------------------------------------------

# A desk reads no more at once; the console says when there are more (the alert list pages).
CONSOLE_LIMIT = 200


def _member_of(user: User, roles=None) -> QuerySet[Membership]:
    memberships = Membership.objects.filter(user=user)
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    return memberships.values("organisation_id")


def _groups_of(user: User, roles=None) -> QuerySet[Membership]:
    """The auth groups of the user's organisations (where grants are given), as a subquery
    PostgreSQL plans from the user's few memberships rather than from the grants."""
    memberships = Membership.objects.filter(user=user)
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    return memberships.values("organisation__group_id")


def _permission(codename: str) -> QuerySet[Permission]:
    """A guardian permission on units as a one-row subquery, so that the grants are read
    through their (group, permission, unit) index rather than joined row by row."""
    return Permission.objects.filter(content_type__app_label="units", codename=codename).values(
        "pk"
    )


def _may_act_condition(*, user: User) -> Q:
    """alert_can_act as a condition on Alert rows, so a list knows per row whether the user
    may press its buttons without a query per row (the same rule as alert_can_act)."""
    acting = _member_of(user, ACTING_ROLES)
    # Asked of each row's unit (an index probe), not as the set of every unit the user's
    # responders cover, which PostgreSQL would build in full for each list: a district's
    # fire station covers tens of thousands of units, a console shows 200 rows.
    responding = UnitGroupObjectPermission.objects.filter(
        content_object_id=OuterRef("unit_id"),
        permission_id__in=_permission("respond_unit"),
        group_id__in=_groups_of(user, ACTING_ROLES),
    )
    return (
        Q(unit__organisation_id__in=acting)
        | Q(unit__parent__organisation_id__in=acting)
        | Exists(responding)
    )


def alerts_with_may_act(alerts: QuerySet[Alert], *, user: User) -> QuerySet[Alert]:
    return alerts.annotate(
        may_act=Case(
            When(_may_act_condition(user=user), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def _severity_rank() -> Case:
    return Case(
        *[When(severity=severity, then=Value(rank)) for severity, rank in SEVERITY_RANK.items()],
        default=Value(len(SEVERITY_RANK)),
        output_field=IntegerField(),
    )


ROW_RELATED = ("device__device_model", "device__placement", "unit__parent", "region")


def _responder_kinds_condition(*, user: User) -> Q:
    """The alert kinds the user's responders handle on the ground (a fire station: fire, gas,
    electrical, charging; an elevator firm: entrapment…), as routing sends them
    (alerts.services.escalation.RESPONDER_FOR_KIND). An operations centre watches every kind."""
    from alerts.services.escalation import RESPONDER_FOR_KIND

    responder_kinds = set(
        Responder.objects.filter(organisation__memberships__user=user).values_list(
            "kind", flat=True
        )
    )
    if Responder.Kind.OPERATIONS_CENTRE in responder_kinds:
        return Q()
    return Q(kind__in=[kind for kind, by in RESPONDER_FOR_KIND.items() if by in responder_kinds])


def console_alerts_for(*, user: User) -> QuerySet[Alert]:
    """A duty desk's console: the unresolved alerts of the units its responder organisations
    respond to (guardian's `respond_unit`, given per covered region) and of the kinds they
    handle; for a unit's members or a park office, every alert of their own units and of the
    units inside them. Critical first, then newest. Authorities watch through the alert lists
    and a unit's history, not a console; a vendor's is empty."""
    member_of = _member_of(user)
    # Unit ids in subqueries, so PostgreSQL reads the partial index of unresolved alerts per unit.
    # The units inside the user's own (a park's shops) by their parent's id: an OR over the
    # join to the parent would make PostgreSQL read every unit of the platform.
    own_units = Unit.objects.filter(organisation_id__in=member_of).values("pk")
    units_inside = Unit.objects.filter(parent_id__in=own_units).values("pk")
    granted = UnitGroupObjectPermission.objects.filter(
        group_id__in=_groups_of(user), permission_id__in=_permission("respond_unit")
    ).values("content_object_id")
    responding = Q(unit_id__in=granted) & _responder_kinds_condition(user=user)
    order = ("severity_rank", "-raised_at", "-pk")
    # The rows shown are chosen from the alerts alone; only those are then joined to their
    # device, placement and unit and asked whether the user may act on them.
    shown = (
        Alert.objects.filter(status__in=Alert.UNRESOLVED)
        .filter(responding | Q(unit_id__in=own_units) | Q(unit_id__in=units_inside))
        .alias(severity_rank=_severity_rank())
        .order_by(*order)
        .values("pk")[:CONSOLE_LIMIT]
    )
    return (
        alerts_with_may_act(Alert.objects.filter(pk__in=shown), user=user)
        .annotate(severity_rank=_severity_rank())
        .select_related(*ROW_RELATED)
        .order_by(*order)
    )


def alert_row_get_for(*, user: User, public_id) -> Alert:
    """One alert as the console and the alert page show it, with `may_act`; 404 when the
    user may not see it."""
    return get_object_or_404(
        alerts_with_may_act(alert_list_for(user=user), user=user).select_related(
            *ROW_RELATED, "unit__organisation", "scenario", "acknowledged_by", "resolved_by"
        ),
        public_id=public_id,
    )


def alert_timeline(*, alert: Alert) -> QuerySet[AlertEntry]:
    return alert.entries.select_related("by").order_by("at", "pk")


def alert_notifications(*, alert: Alert) -> QuerySet[Notification]:
    """Who was told, on which channel, and whether it went out: the answer to "did the fire
    station get it?"."""
    return alert.notifications.select_related("user", "responder").order_by(
        "step", "created_at", "pk"
    )


def alert_search_for(
    *,
    user: User,
    unit: Unit | None = None,
    kind: str = "",
    status: str = "",
    outcome: str = "",
    since=None,
    until=None,
) -> QuerySet[Alert]:
    """The alerts the user may see, narrowed; newest first. `since`/`until` bound raised_at
    (datetimes, or dates taken as whole Shanghai days)."""
    alerts = alert_list_for(user=user)
    if unit is not None:
        alerts = alerts.filter(unit=unit)
    if kind:
        alerts = alerts.filter(kind=kind)
    if status:
        alerts = alerts.filter(status=status)
    if outcome:
        alerts = alerts.filter(outcome=outcome)
    if since is not None:
        alerts = alerts.filter(raised_at__gte=_start_of(since))
    if until is not None:
        alerts = alerts.filter(raised_at__lt=_end_of(until))
    return alerts.select_related(*ROW_RELATED).order_by("-raised_at", "-pk")


def _start_of(moment) -> datetime:
    if isinstance(moment, datetime):
        return moment
    return timezone.make_aware(datetime.combine(moment, time.min))


def _end_of(moment) -> datetime:
    if isinstance(moment, datetime):
        return moment
    return timezone.make_aware(datetime.combine(moment + timedelta(days=1), time.min))


def unit_alert_history_for(
    *,
    user: User,
    unit: Unit,
    kind: str = "",
    status: str = "",
    outcome: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[Alert]:
    """A unit's alerts, newest first, for anyone who may see the unit (its members, the park
    office, responders and the authority over it). The caller pages it."""
    return alert_search_for(
        user=user, unit=unit, kind=kind, status=status, outcome=outcome, since=since, until=until
    )


def false_alarm_rates(*, alerts: QuerySet[Alert]) -> dict[str, list[dict]]:
    """Of the resolved alerts among `alerts`, the share a person closed as a false alarm,
    per device and per solution the device was bought with (device → order line → order →
    revision → solution). Counted by PostgreSQL; the caller scopes `alerts` to what the user
    may see, so a unit only ever sees its own devices."""
    resolved = alerts.filter(status=Alert.Status.RESOLVED).order_by()
    counts = {
        "resolved": Count("pk"),
        "false_alarms": Count("pk", filter=Q(outcome=Alert.Outcome.FALSE_ALARM)),
    }
    rate = {
        "rate": Cast(F("false_alarms"), FloatField()) / Cast(F("resolved"), FloatField()),
    }
    by_device = (
        resolved.values("device_id")
        .annotate(
            serial=Min("device__serial"),
            device_public_id=Min(Cast("device__public_id", CharField())),
            model=Min("device__device_model__name"),
            **counts,
        )
        .annotate(**rate)
        .order_by("-rate", "serial")
    )
    solution = "device__order_line__order__revision__solution"
    by_solution = (
        resolved.filter(**{f"{solution}__isnull": False})
        .values(f"{solution}_id")
        .annotate(
            solution_public_id=Min(Cast(f"{solution}__public_id", CharField())),
            name=Min("device__order_line__order__revision__name"),
            tier=Min(f"{solution}__tier"),
            devices=Count("device_id", distinct=True),
            **counts,
        )
        .annotate(**rate)
        .order_by("-rate", "name")
    )
    return {"devices": list(by_device), "solutions": list(by_solution)}


def preference_list_for(*, user: User) -> list[dict]:
    """Each organisation the user belongs to with their channels for it (defaults where they
    never saved any), in two queries."""
    memberships = list(
        Membership.objects.filter(user=user)
        .select_related("organisation")
        .order_by("organisation__name", "pk")
    )
    saved = {
        preference.organisation_id: preference
        for preference in NotificationPreference.objects.filter(user=user)
    }
    return [
        {
            "organisation": membership.organisation,
            "preference": saved.get(membership.organisation_id)
            or NotificationPreference(user=user, organisation=membership.organisation),
        }
        for membership in memberships
    ]


def preference_organisation_get_for(*, user: User, public_id) -> Organisation:
    """An organisation the user belongs to; 404 for any other."""
    return get_object_or_404(
        Organisation.objects.filter(memberships__user=user), public_id=public_id
    )


# Escalation policies ------------------------------------------------------------------------


def _policies_related(policies: QuerySet[EscalationPolicy]) -> QuerySet[EscalationPolicy]:
    return policies.select_related(
        "authority__organisation", "authority__region", "scenario"
    ).prefetch_related(Prefetch("steps", queryset=EscalationStep.objects.order_by("position")))


def policy_list_for(*, user: User) -> QuerySet[EscalationPolicy]:
    """The policies of the authorities the user belongs to (any role may read them), then the
    platform's defaults (no authority: read-only for everyone, shown so an authority sees what
    its own policies replace). Steps prefetched: a page of policies is three queries."""
    authorities = policy_authority_list_for(user=user).values("pk")
    return _policies_related(
        EscalationPolicy.objects.filter(Q(authority__in=authorities) | Q(authority__isnull=True))
    ).order_by(
        F("authority_id").asc(nulls_last=True),
        F("scenario__code").asc(nulls_first=True),
        "unit_kind",
        "pk",
    )


def policy_visible_get_for(*, user: User, public_id) -> EscalationPolicy:
    """Any policy policy_list_for shows (the user's authorities' and the platform's); 404
    otherwise. Writing one is the service's to allow or refuse."""
    return get_object_or_404(policy_list_for(user=user), public_id=public_id)


def policy_get_for(*, user: User, public_id) -> EscalationPolicy:
    """A policy of one of the user's authorities; 404 for another authority's, for a platform
    default and for an id that does not exist alike."""
    authorities = policy_authority_list_for(user=user).values("pk")
    return get_object_or_404(
        _policies_related(EscalationPolicy.objects.filter(authority__in=authorities)),
        public_id=public_id,
    )


def policy_authority_list_for(*, user: User, manage: bool = False) -> QuerySet[Authority]:
    """The authorities the user belongs to (`manage`: as an owner or manager, those whose
    policies they may write), by name."""
    memberships = Membership.objects.filter(user=user)
    if manage:
        memberships = memberships.filter(role__in=(Membership.Role.OWNER, Membership.Role.MANAGER))
    return (
        Authority.objects.filter(organisation_id__in=memberships.values("organisation_id"))
        .select_related("organisation", "region")
        .order_by("organisation__name", "pk")
    )


# Notifications that did not go out (the ops view) ------------------------------------------

UNDELIVERED = (Notification.Status.FAILED, Notification.Status.DEAD)


def notification_undelivered_list(*, status: str = "") -> QuerySet[Notification]:
    """Failed and dead notifications (or only those of `status`), newest first."""
    statuses = [status] if status in UNDELIVERED else list(UNDELIVERED)
    return (
        Notification.objects.filter(status__in=statuses)
        .select_related("alert__unit")
        .order_by("-created_at", "-pk")
    )


def notification_get(*, raw_id: str) -> Notification:
    """One notification by its id as posted; 404 for anything else."""
    if not raw_id.isdigit():
        raise Http404
    return get_object_or_404(Notification.objects.select_related("alert__unit"), pk=raw_id)
